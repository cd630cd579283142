package harness

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/irsa-local/irsa-local/internal/advisor"
	"github.com/irsa-local/irsa-local/internal/trail"
	"github.com/irsa-local/irsa-local/pkg/issuer"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// s3Call is one call of a workload: an operation on a bucket and key.
type s3Call struct {
	op, bucket, key string
}

func (c s3Call) run(ctx context.Context, client *s3.Client) error {
	b, k := aws.String(c.bucket), aws.String(c.key)
	var err error
	switch c.op {
	case "list":
		_, err = client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b})
	case "get":
		var out *s3.GetObjectOutput
		if out, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: k}); err == nil {
			out.Body.Close()
		}
	case "put":
		_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: strings.NewReader("x")})
	case "delete":
		_, err = client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: k})
	}
	return err
}

func accessDenied(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied"
}

// TestPolicySuggestion runs two workloads as a role with a broad policy,
// suggests the least-privilege policy from the trail, and proves it: with
// it alone the same workload runs without a refusal, calls beside the
// workload's are refused, and without any one of its statements a
// recorded call is refused.
func TestPolicySuggestion(t *testing.T) {
	for _, tc := range []struct {
		name     string
		buckets  map[string][]string // bucket -> keys that exist
		workload []s3Call
		// beside are calls the workload did not make; the suggestion must
		// refuse each.
		beside []s3Call
		// used and broad: what the comparison must report of the
		// role's broad policy.
		wantSuggested int
	}{{
		name:          "the walkthrough's workload",
		buckets:       map[string][]string{"demo-bucket": {"hello.txt"}},
		workload:      []s3Call{{"list", "demo-bucket", ""}},
		beside:        []s3Call{{"get", "demo-bucket", "hello.txt"}, {"put", "demo-bucket", "new.txt"}},
		wantSuggested: 1,
	}, {
		name: "a workload on several buckets and prefixes",
		buckets: map[string][]string{
			"reports": {"2026/jan.csv", "2026/feb.csv", "raw/dump.bin"},
			"exports": {"tmp/old.txt"},
		},
		workload: []s3Call{
			{"list", "reports", ""},
			{"get", "reports", "2026/jan.csv"},
			{"get", "reports", "2026/feb.csv"},
			{"put", "exports", "out/summary.csv"},
			{"delete", "exports", "tmp/old.txt"},
		},
		beside: []s3Call{
			{"get", "reports", "raw/dump.bin"},       // same action, a key not read
			{"put", "reports", "2026/jan.csv"},       // an action not used, on a key read
			{"list", "exports", ""},                  // an action used elsewhere
			{"get", "exports", "out/summary.csv"},    // a key written, not read
			{"delete", "exports", "out/summary.csv"}, // a delete elsewhere
		},
		wantSuggested: 4, // ListBucket; GetObject on two keys; PutObject; DeleteObject
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := start(t, t.TempDir(), WithInMemoryS3())
			admin := e.AdminAWSConfig()
			adminS3 := s3.NewFromConfig(admin, func(o *s3.Options) { o.UsePathStyle = true })
			for b, keys := range tc.buckets {
				if _, err := adminS3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
					t.Fatal(err)
				}
				for _, k := range keys {
					if _, err := adminS3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: strings.NewReader("data")}); err != nil {
						t.Fatal(err)
					}
				}
			}
			roleARN, err := e.CreateRole(ctx, "app", TrustServiceAccount("demo", "app"), "arn:aws:iam::aws:policy/AmazonS3FullAccess")
			if err != nil {
				t.Fatal(err)
			}
			tok, err := e.Token(issuer.TokenRequest{Namespace: "demo", ServiceAccount: "app", Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			tokenFile := filepath.Join(t.TempDir(), "token")
			if err := os.WriteFile(tokenFile, []byte(tok), 0o600); err != nil {
				t.Fatal(err)
			}
			pod := func() *s3.Client {
				return s3.NewFromConfig(e.WebIdentityAWSConfig(roleARN, tokenFile), func(o *s3.Options) { o.UsePathStyle = true })
			}
			since := time.Now().Add(-time.Minute)
			client := pod()
			for _, c := range tc.workload {
				if err := c.run(ctx, client); err != nil {
					t.Fatalf("%v with S3 full access: %v", c, err)
				}
			}

			records, err := trail.Read(layoutOf(e).TrailFile(), since)
			if err != nil {
				t.Fatal(err)
			}
			calls := advisor.Calls(records, roleARN, since)
			suggested := advisor.Suggest(calls)
			if len(suggested.Statement) != tc.wantSuggested {
				t.Errorf("suggested %d statements, want %d:\n%s", len(suggested.Statement), tc.wantSuggested, suggested.JSON())
			}
			for _, st := range suggested.Statement {
				for _, r := range st.Resource {
					if r == "*" {
						t.Errorf("statement %s allows resource *, though the trail names every resource", st.Sid)
					}
				}
			}

			// The comparison with the broad policy: it is used, but wider
			// than the use; nothing is missing.
			full, err := policy.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]}`, policy.Identity)
			if err != nil {
				t.Fatal(err)
			}
			cmp := advisor.Compare([]policy.NamedDocument{{Name: "AmazonS3FullAccess", Doc: full}}, calls)
			if len(cmp.Broader) != 1 || len(cmp.Unused) != 0 || len(cmp.Missing) != 0 {
				t.Errorf("comparison with S3 full access: %+v, want one broader grant and nothing unused or missing", cmp)
			}

			// Minimal: without any one statement, a recorded call is refused.
			for i := range suggested.Statement {
				without := suggested
				without.Statement = append(append([]advisor.Statement{}, suggested.Statement[:i]...), suggested.Statement[i+1:]...)
				if len(without.Statement) == 0 {
					continue // an empty policy allows nothing
				}
				doc, err := policy.Parse(without.JSON(), policy.Identity)
				if err != nil {
					t.Fatal(err)
				}
				refused := false
				for _, c := range calls {
					res := policy.Evaluate(policy.Request{Action: c.Action, Resource: c.Resource, Context: policy.NewContext()}, policy.NamedDocument{Name: "without", Doc: doc})
					refused = refused || res.Decision != policy.Allow
				}
				if !refused {
					t.Errorf("statement %s is not needed: every recorded call is allowed without it", suggested.Statement[i].Sid)
				}
			}

			// Applied alone: the same workload runs without a refusal, and
			// what it did not do is refused.
			iamc := iam.NewFromConfig(admin)
			if _, err := iamc.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3FullAccess")}); err != nil {
				t.Fatal(err)
			}
			if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("suggested"), PolicyDocument: aws.String(suggested.JSON())}); err != nil {
				t.Fatalf("put the suggested policy: %v\n%s", err, suggested.JSON())
			}
			client = pod()
			for _, c := range tc.workload {
				if err := c.run(ctx, client); err != nil {
					t.Errorf("%v with the suggested policy: %v", c, err)
				}
			}
			for _, c := range tc.beside {
				if err := c.run(ctx, client); !accessDenied(err) {
					t.Errorf("%v beside the workload: %v, want AccessDenied", c, err)
				}
			}
		})
	}
}
