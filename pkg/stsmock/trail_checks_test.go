package stsmock

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/irsa-local/irsa-local/internal/trail"
)

// TestTrailRecordsEachAuthorization checks that a call's record lists the
// authorizations it needed, with their outcome: the input of
// irsa-local policy suggest.
func TestTrailRecordsEachAuthorization(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trail.jsonl")
	f := newFixture(t, WithTrail(path))
	ctx := context.Background()
	roleARN := f.setup()
	if _, err := f.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("one"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::bkt/a"}]}`)}); err != nil {
		t.Fatal(err)
	}
	admin := s3.NewFromConfig(f.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(f.token("default", "app")), 0o600); err != nil {
		t.Fatal(err)
	}
	pod := f.config(aws.NewCredentialsCache(stscreds.NewWebIdentityRoleProvider(f.sts, roleARN, stscreds.IdentityTokenFile(file))))
	// DeleteObjects needs s3:DeleteObject on each key: a is allowed, b is
	// not, and the record stops at the refusal.
	_, _ = s3.NewFromConfig(pod, func(o *s3.Options) { o.UsePathStyle = true }).DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String("bkt"), Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("a")}, {Key: aws.String("b")}}},
	})
	// IAM writes are recorded (reads are not in the trail).
	_, _ = iam.NewFromConfig(pod).CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)})

	recs, err := trail.Read(path, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]trail.Check{}
	for _, r := range recs {
		if r.UserIdentity.Type == "AssumedRole" && r.IrsaLocal != nil {
			got[r.EventName] = r.IrsaLocal.Checks
		}
	}
	want := map[string][]trail.Check{
		"DeleteObjects": {{Action: "s3:DeleteObject", Resource: "arn:aws:s3:::bkt/a", Allowed: true}, {Action: "s3:DeleteObject", Resource: "arn:aws:s3:::bkt/b", Allowed: false}},
		"CreatePolicy":  {{Action: "iam:CreatePolicy", Resource: "arn:aws:iam::000000000000:policy/p", Allowed: false}},
	}
	for name, checks := range want {
		if !slices.Equal(got[name], checks) {
			t.Errorf("%s recorded checks %+v, want %+v", name, got[name], checks)
		}
	}
}
