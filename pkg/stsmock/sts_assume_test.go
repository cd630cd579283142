package stsmock

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/internal/trail"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// The chain these tests build, as a cross-account IRSA set-up has it:
//
//	pod default/app → role app in 000000000000 (web identity)
//	               → role data in 111111111111 (AssumeRole, tag team)
//	               → object in bucket shared-data, owned by 111111111111,
//	                 whose policy grants data only for team=payments.
const (
	accountA = "000000000000"
	accountB = "111111111111"
)

type chainFixture struct {
	*fixture
	appARN, dataARN string
	iamB            *iam.Client
	s3B             *s3.Client
	tokenFile       string
	trailPath       string
}

func newChainFixture(t testing.TB) *chainFixture {
	t.Helper()
	trailPath := filepath.Join(t.TempDir(), "trail.jsonl")
	f := &chainFixture{fixture: newFixture(t, WithTrail(trailPath)), trailPath: trailPath}
	ctx := context.Background()
	f.appARN = f.setup()
	f.putRolePolicy(f.iam, "app", "assume-data", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"],"Resource":"arn:aws:iam::`+accountB+`:role/data"}]}`)

	cfgB := f.config(credentials.NewStaticCredentialsProvider(accountB, "any-secret", ""))
	f.iamB = iam.NewFromConfig(cfgB)
	f.s3B = s3.NewFromConfig(cfgB, func(o *s3.Options) { o.UsePathStyle = true })
	out, err := f.iamB.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("data"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + f.appARN + `"},"Action":["sts:AssumeRole","sts:TagSession","sts:SetSourceIdentity"]}]}`)})
	if err != nil {
		t.Fatalf("create role in account B: %v", err)
	}
	f.dataARN = *out.Role.Arn
	if _, err := f.s3B.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("shared-data")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s3B.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("shared-data"), Key: aws.String("report.csv"), Body: strings.NewReader("q3")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s3B.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("shared-data"), Policy: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + f.dataARN + `"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared-data/*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"payments"}}}]}`)}); err != nil {
		t.Fatal(err)
	}
	f.tokenFile = filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f.tokenFile, []byte(f.token("default", "app")), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *chainFixture) putRolePolicy(c *iam.Client, role, name, doc string) {
	f.t.Helper()
	if _, err := c.PutRolePolicy(context.Background(), &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)}); err != nil {
		f.t.Fatal(err)
	}
}

// webIdentity is the pod's first hop, as the SDK's default chain makes it.
func (f *chainFixture) webIdentity() aws.CredentialsProvider {
	return aws.NewCredentialsCache(stscreds.NewWebIdentityRoleProvider(f.sts, f.appARN, stscreds.IdentityTokenFile(f.tokenFile)))
}

// hop assumes role with the credentials of from, as aws-sdk-go-v2's
// AssumeRoleProvider does for a profile with source_profile.
func (f *chainFixture) hop(from aws.CredentialsProvider, role string, opts ...func(*stscreds.AssumeRoleOptions)) aws.CredentialsProvider {
	client := sts.NewFromConfig(f.config(from))
	return aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, role, opts...))
}

func withTeam(team string) func(*stscreds.AssumeRoleOptions) {
	return func(o *stscreds.AssumeRoleOptions) {
		o.Tags = []ststypes.Tag{{Key: aws.String("team"), Value: aws.String(team)}}
		o.TransitiveTagKeys = []string{"team"}
	}
}

func (f *chainFixture) getObject(creds aws.CredentialsProvider) error {
	c := s3.NewFromConfig(f.config(creds), func(o *s3.Options) { o.UsePathStyle = true })
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("shared-data"), Key: aws.String("report.csv")})
	if err != nil {
		return err
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	if string(b) != "q3" {
		return errors.New("object reads " + string(b))
	}
	return nil
}

// lastRecord returns the newest trail record of eventName.
func (f *chainFixture) lastRecord(eventName string) trail.Record {
	f.t.Helper()
	recs, err := trail.Read(f.trailPath, timeZero)
	if err != nil {
		f.t.Fatal(err)
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].EventName == eventName {
			return recs[i]
		}
	}
	f.t.Fatalf("no %s record in the trail", eventName)
	return trail.Record{}
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestChainAcrossAccountsWithSessionTag(t *testing.T) {
	f := newChainFixture(t)
	ctx := context.Background()
	data := f.hop(f.webIdentity(), f.dataARN, withTeam("payments"), func(o *stscreds.AssumeRoleOptions) { o.SourceIdentity = aws.String("alice") })

	id, err := sts.NewFromConfig(f.config(data)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *id.Account != accountB || !strings.HasPrefix(*id.Arn, "arn:aws:sts::"+accountB+":assumed-role/data/") {
		t.Fatalf("GetCallerIdentity = %s %s, want a session of data in %s", *id.Account, *id.Arn, accountB)
	}
	if err := f.getObject(data); err != nil {
		t.Fatalf("GetObject with team=payments: %v", err)
	}
	rec := f.lastRecord("GetObject")
	sc := rec.UserIdentity.SessionContext
	if sc == nil || len(sc.Chain) != 2 || sc.Chain[0].Type != "WebIdentity" || sc.Chain[0].Subject != "system:serviceaccount:default:app" ||
		!strings.HasPrefix(sc.Chain[1].ARN, "arn:aws:sts::"+accountA+":assumed-role/app/") {
		t.Fatalf("trail chain = %+v, want the web identity then app's session", sc)
	}
	if rec.RecipientAccountID != accountB {
		t.Errorf("recipient account = %s, want the bucket's, %s", rec.RecipientAccountID, accountB)
	}
	if sc.SourceIdentity != "alice" || sc.SessionTags["team"] != "payments" {
		t.Errorf("trail session = source identity %q, tags %v", sc.SourceIdentity, sc.SessionTags)
	}
	if !strings.Contains(rec.IrsaLocal.Reason, "cross-account call from "+accountB) && !strings.Contains(rec.IrsaLocal.Reason, "bucket policy") {
		t.Errorf("reason = %q", rec.IrsaLocal.Reason)
	}

	// Another team: the bucket policy's condition fails, on B's side.
	other := f.hop(f.webIdentity(), f.dataARN, withTeam("marketing"))
	if err := f.getObject(other); errorCode(err) != "AccessDenied" {
		t.Fatalf("GetObject with team=marketing: %v, want AccessDenied", err)
	}
	// The bucket is B's and the session is B's: one account, so the
	// bucket policy alone decides and its condition names the tag.
	if r := f.lastRecord("GetObject").IrsaLocal.Reason; !strings.Contains(r, "aws:PrincipalTag/team") {
		t.Errorf("denial reason %q does not name aws:PrincipalTag/team", r)
	}
}

func TestCrossAccountS3NamesTheSideThatRefused(t *testing.T) {
	f := newChainFixture(t)
	ctx := context.Background()
	// app (account A) reads B's bucket directly. Neither side allows it
	// at first: the reason names both.
	app := f.webIdentity()
	if err := f.getObject(app); errorCode(err) != "AccessDenied" {
		t.Fatalf("GetObject from A: %v, want AccessDenied", err)
	}
	if r := f.lastRecord("GetObject").IrsaLocal.Reason; !strings.Contains(r, "the caller's account ("+accountA+") refuses it") || !strings.Contains(r, "the resource's account refuses it too") {
		t.Errorf("reason %q does not name both sides", r)
	}
	// A's identity allows; B's bucket policy names only data: B refuses.
	f.putRolePolicy(f.iam, "app", "read-shared", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared-data/*"}]}`)
	if err := f.getObject(app); errorCode(err) != "AccessDenied" {
		t.Fatalf("GetObject from A without a bucket grant: %v, want AccessDenied", err)
	}
	if r := f.lastRecord("GetObject").IrsaLocal.Reason; !strings.Contains(r, "the resource's account ("+accountB+") refuses it") {
		t.Errorf("reason %q does not say account B refused", r)
	}
	// The bucket policy names app; A's identity no longer allows: A refuses.
	if _, err := f.s3B.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("shared-data"), Policy: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + f.appARN + `"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared-data/*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("read-shared")}); err != nil {
		t.Fatal(err)
	}
	if err := f.getObject(app); errorCode(err) != "AccessDenied" {
		t.Fatalf("GetObject from A without an identity grant: %v, want AccessDenied", err)
	}
	if r := f.lastRecord("GetObject").IrsaLocal.Reason; !strings.Contains(r, "the caller's account ("+accountA+") refuses it") || strings.Contains(r, "too") {
		t.Errorf("reason %q does not say account A (alone) refused", r)
	}
	// Both sides allow.
	f.putRolePolicy(f.iam, "app", "read-shared", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared-data/*"}]}`)
	if err := f.getObject(app); err != nil {
		t.Fatalf("GetObject with both sides allowing: %v", err)
	}
	// B's root reads its own bucket; A's root may not without a grant.
	if err := f.getObject(credentials.NewStaticCredentialsProvider(accountB, "x", "")); err != nil {
		t.Fatalf("B's root: %v", err)
	}
	if err := f.getObject(credentials.NewStaticCredentialsProvider("test", "test", "")); errorCode(err) != "AccessDenied" {
		t.Fatalf("A's root: %v, want AccessDenied", err)
	}
}

// TestAssumeRoleErrors pins the wire answer of each refusal, with the
// reason irsa-local records for it.
func TestAssumeRoleErrors(t *testing.T) {
	f := newChainFixture(t)
	ctx := context.Background()
	// A role in B trusting A's app without sts:TagSession, and one that
	// wants an external ID.
	if _, err := f.iamB.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("untagged"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + accountA + `:root"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.iamB.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("vendor"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + accountA + `:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"expected-id"}}}]}`)}); err != nil {
		t.Fatal(err)
	}
	// A role in B that A's app may not assume by its own identity policy.
	if _, err := f.iamB.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("elsewhere"), AssumeRolePolicyDocument: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + f.appARN + `"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	f.putRolePolicy(f.iam, "app", "assume-b", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":["arn:aws:iam::`+accountB+`:role/untagged","arn:aws:iam::`+accountB+`:role/vendor","arn:aws:iam::`+accountB+`:role/data"]}]}`)

	app, err := f.webIdentity().Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tagged, err := f.hop(f.webIdentity(), f.dataARN, withTeam("payments")).Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	role := func(name string) string { return "arn:aws:iam::" + accountB + ":role/" + name }
	cases := []struct {
		name  string
		creds aws.Credentials
		form  url.Values
	}{
		{"assume-role-chained-duration", app, url.Values{"RoleArn": {f.dataARN}, "DurationSeconds": {"7200"}}},
		{"assume-role-no-tag-session", app, url.Values{"RoleArn": {role("untagged")}, "Tags.member.1.Key": {"team"}, "Tags.member.1.Value": {"payments"}}},
		{"assume-role-external-id-mismatch", app, url.Values{"RoleArn": {role("vendor")}, "ExternalId": {"wrong-id"}}},
		{"assume-role-external-id-missing", app, url.Values{"RoleArn": {role("vendor")}}},
		{"assume-role-refused-by-caller-account", app, url.Values{"RoleArn": {role("elsewhere")}}},
		{"assume-role-refused-by-trust", tagged, url.Values{"RoleArn": {role("elsewhere")}}},
		{"assume-role-transitive-override", tagged, url.Values{"RoleArn": {role("untagged")}, "Tags.member.1.Key": {"Team"}, "Tags.member.1.Value": {"marketing"}}},
		{"assume-role-duplicate-tags", app, url.Values{"RoleArn": {f.dataARN}, "Tags.member.1.Key": {"team"}, "Tags.member.1.Value": {"a"}, "Tags.member.2.Key": {"TEAM"}, "Tags.member.2.Value": {"b"}}},
		{"assume-role-no-such-role", app, url.Values{"RoleArn": {role("missing")}}},
		{"assume-role-bad-session-name", app, url.Values{"RoleArn": {f.dataARN}, "RoleSessionName": {"has space"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleSessionName": {"hop"}}
			for k, v := range c.form {
				form[k] = v
			}
			status, body := f.signedAs(c.creds, form)
			if status == 200 {
				t.Fatalf("AssumeRole succeeded: %s", body)
			}
			reason := ""
			if rec := f.lastRecord("AssumeRole"); rec.IrsaLocal != nil {
				reason = rec.IrsaLocal.Reason
			}
			// Session names are the SDK's, made of the time.
			out := sessionNamePart.ReplaceAllString(body+"\nreason: "+reason, "assumed-role/$1/SESSION")
			checkGolden(t, c.name, status, out, nil)
		})
	}
}

// signedAs sends a Query request to STS signed with creds.
func (f *chainFixture) signedAs(creds aws.Credentials, form url.Values) (int, string) {
	f.t.Helper()
	body := form.Encode()
	req, err := newPost(f.http.URL, body)
	if err != nil {
		f.t.Fatal(err)
	}
	signRequest(f.t, req, []byte(body), "sts", creds)
	return do(f.t, req)
}

func TestAssumeRoleRules(t *testing.T) {
	f := newChainFixture(t)
	ctx := context.Background()
	web := f.webIdentity()

	t.Run("transitive tags pass on and cannot be overridden", func(t *testing.T) {
		// data (B) trusts itself to chain into a second role in B.
		if _, err := f.iamB.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("reader"), AssumeRolePolicyDocument: aws.String(
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + f.dataARN + `"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"aws:PrincipalTag/team":"payments"}}}]}`)}); err != nil {
			t.Fatal(err)
		}
		data := f.hop(web, f.dataARN, withTeam("payments"), func(o *stscreds.AssumeRoleOptions) { o.SourceIdentity = aws.String("alice") })
		reader := f.hop(data, "arn:aws:iam::"+accountB+":role/reader")
		id, err := sts.NewFromConfig(f.config(reader)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("second hop: %v", err)
		}
		if !strings.Contains(*id.Arn, ":assumed-role/reader/") {
			t.Fatalf("caller = %s", *id.Arn)
		}
		rec := f.lastRecord("GetCallerIdentity")
		sc := rec.UserIdentity.SessionContext
		if sc.SessionTags["team"] != "payments" || len(sc.TransitiveTagKeys) != 1 || sc.SourceIdentity != "alice" || len(sc.Chain) != 3 {
			t.Errorf("third session = tags %v transitive %v source %q chain %+v", sc.SessionTags, sc.TransitiveTagKeys, sc.SourceIdentity, sc.Chain)
		}
		changed := f.hop(data, "arn:aws:iam::"+accountB+":role/reader", func(o *stscreds.AssumeRoleOptions) { o.SourceIdentity = aws.String("bob") })
		if _, err := changed.Retrieve(ctx); errorCode(err) != "ValidationError" {
			t.Errorf("changing the source identity: %v, want ValidationError", err)
		}
	})

	t.Run("duration is capped by the role, not by chaining, for a root", func(t *testing.T) {
		root := credentials.NewStaticCredentialsProvider(accountB, "x", "")
		if _, err := f.iamB.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("long"), MaxSessionDuration: aws.Int32(7200), AssumeRolePolicyDocument: aws.String(
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + accountB + `:root"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
			t.Fatal(err)
		}
		long := "arn:aws:iam::" + accountB + ":role/long"
		if _, err := f.hop(root, long, func(o *stscreds.AssumeRoleOptions) { o.Duration = 7200e9 }).Retrieve(ctx); err != nil {
			t.Fatalf("two hours from the root: %v", err)
		}
		if _, err := f.hop(root, long, func(o *stscreds.AssumeRoleOptions) { o.Duration = 10800e9 }).Retrieve(ctx); errorCode(err) != "ValidationError" {
			t.Fatalf("three hours: %v, want ValidationError", err)
		}
		if _, err := f.iamB.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String("long"), MaxSessionDuration: aws.Int32(10800)}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.hop(root, long, func(o *stscreds.AssumeRoleOptions) { o.Duration = 10800e9 }).Retrieve(ctx); err != nil {
			t.Fatalf("three hours after UpdateRole: %v", err)
		}
	})

	t.Run("same account: a trust naming the role needs no identity grant", func(t *testing.T) {
		// helper (A) trusts app (A) by ARN; app has no grant for it.
		f.createRole("helper", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"`+f.appARN+`"},"Action":"sts:AssumeRole"}]}`)
		if _, err := f.hop(web, "arn:aws:iam::"+accountA+":role/helper").Retrieve(ctx); err != nil {
			t.Fatalf("trust naming the role: %v", err)
		}
		f.createRole("delegated", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+accountA+`:root"},"Action":"sts:AssumeRole"}]}`)
		if _, err := f.hop(web, "arn:aws:iam::"+accountA+":role/delegated").Retrieve(ctx); errorCode(err) != "AccessDenied" {
			t.Fatalf("trust naming the account without an identity grant: %v, want AccessDenied", err)
		}
	})

	t.Run("session policies narrow the new session", func(t *testing.T) {
		data := f.hop(web, f.dataARN, withTeam("payments"), func(o *stscreds.AssumeRoleOptions) {
			o.Policy = aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}`)
		})
		if err := f.getObject(data); errorCode(err) != "AccessDenied" {
			t.Fatalf("GetObject under a denying session policy: %v", err)
		}
	})

	t.Run("accounts are listed and isolated", func(t *testing.T) {
		if got := strings.Join(f.srv.Accounts(), ","); got != accountA+","+accountB {
			t.Errorf("accounts = %s", got)
		}
		roles, err := f.iamB.ListRoles(ctx, &iam.ListRolesInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range roles.Roles {
			if *r.RoleName == "app" {
				t.Errorf("account B lists A's role app")
			}
		}
		// Bucket names are global; listings are per account.
		if _, err := s3.NewFromConfig(f.cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("a-bucket")}); err != nil {
			t.Fatal(err)
		}
		for cfg, want := range map[*aws.Config]string{&f.cfg: "a-bucket", ptr(f.config(credentials.NewStaticCredentialsProvider(accountB, "x", ""))): "shared-data"} {
			out, err := s3.NewFromConfig(*cfg, func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(ctx, &s3.ListBucketsInput{})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Buckets) != 1 || *out.Buckets[0].Name != want {
				t.Errorf("ListBuckets = %+v, want only %s", out.Buckets, want)
			}
		}
	})
}

func TestWebIdentityTokenSessionTags(t *testing.T) {
	f := newChainFixture(t)
	claims := f.claims()
	claims["https://aws.amazon.com/tags"] = map[string]any{"principal_tags": map[string][]string{"team": {"payments"}}, "transitive_tag_keys": []string{"team"}}
	tok := f.signClaims(claims)
	// The EKS trust policy has no sts:TagSession: refused.
	status, body := f.wire(assumeForm(f.appARN, tok))
	if status != 403 || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("tags without sts:TagSession: %d %s", status, body)
	}
	trust := eksTrust(policyARN(f), f.hostPath(false), "default", "app")
	trust = strings.Replace(trust, `"Action":"sts:AssumeRoleWithWebIdentity"`, `"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"]`, 1)
	if _, err := f.iam.UpdateAssumeRolePolicy(context.Background(), &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"), PolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	status, body = f.wire(assumeForm(f.appARN, tok))
	if status != 200 {
		t.Fatalf("tags with sts:TagSession: %d %s", status, body)
	}
	rec := f.lastRecord("AssumeRoleWithWebIdentity")
	if rec.ErrorCode != "" {
		t.Fatal(rec.ErrorCode)
	}
	// The tag passes into data's session, which B's bucket reads.
	var out struct {
		Result struct {
			Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
		} `xml:"AssumeRoleWithWebIdentityResult"`
	}
	if err := xmlUnmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	c := out.Result.Credentials
	web := credentials.NewStaticCredentialsProvider(c.AccessKeyId, c.SecretAccessKey, c.SessionToken)
	data := f.hop(web, f.dataARN)
	if err := f.getObject(data); err != nil {
		t.Fatalf("GetObject with the token's transitive tag: %v", err)
	}
	var sc bytes.Buffer
	_ = json.NewEncoder(&sc).Encode(f.lastRecord("GetObject").UserIdentity.SessionContext)
	if !strings.Contains(sc.String(), `"team":"payments"`) {
		t.Errorf("session context %s lacks the tag", sc.String())
	}
}

var timeZero time.Time

func ptr[T any](v T) *T { return &v }

var sessionNamePart = regexp.MustCompile(`assumed-role/([\w+=,.@-]+)/[\w+=,.@-]+`)

func policyARN(f *chainFixture) string { return policy.ProviderARN(accountA, f.issuerURL) }

func xmlUnmarshal(b []byte, v any) error { return xml.Unmarshal(b, v) }

func newPost(url, body string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return req, nil
}

func do(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAccountsPersistAndReset(t *testing.T) {
	f := newChainFixture(t)
	ctx := context.Background()
	// A restarted endpoint keeps account B, its roles and its bucket's
	// owner: A's root still may not read B's bucket, B's root may.
	f.startServer()
	if got := strings.Join(f.srv.Accounts(), ","); got != accountA+","+accountB {
		t.Fatalf("accounts after restart = %s", got)
	}
	iamB := iam.NewFromConfig(f.config(credentials.NewStaticCredentialsProvider(accountB, "x", "")))
	if _, err := iamB.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("data")}); err != nil {
		t.Fatalf("B's role after restart: %v", err)
	}
	if err := f.getObject(credentials.NewStaticCredentialsProvider("test", "test", "")); errorCode(err) != "AccessDenied" {
		t.Fatalf("A's root after restart: %v, want AccessDenied", err)
	}
	if err := f.srv.Reset(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.srv.Accounts(), ","); got != accountA {
		t.Fatalf("accounts after reset = %s", got)
	}
	if entries, _ := os.ReadDir(filepath.Join(f.stateDir, "accounts")); len(entries) != 0 {
		t.Errorf("account files left after reset: %v", entries)
	}
}

// TestAccountLimit: a client cannot create accounts without end by
// signing with ever new 12-digit keys.
func TestAccountLimit(t *testing.T) {
	f := newFixture(t)
	for i := 1; i < maxAccounts; i++ {
		if err := f.srv.CreateAccount(fmt.Sprintf("%012d", i)); err != nil {
			t.Fatalf("account %d: %v", i, err)
		}
	}
	c := sts.NewFromConfig(f.config(credentials.NewStaticCredentialsProvider("999999999999", "x", "")))
	_, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if errorCode(err) != "InvalidClientTokenId" {
		t.Fatalf("the 101st account: %v, want InvalidClientTokenId", err)
	}
	if err := f.srv.CreateAccount("12345"); err == nil {
		t.Error("CreateAccount accepted a 5-digit id")
	}
}

func TestGetSessionTokenAndAccessKeyInfo(t *testing.T) {
	f := newChainFixture(t)
	ctx := context.Background()
	rootB := sts.NewFromConfig(f.config(credentials.NewStaticCredentialsProvider(accountB, "x", "")))
	out, err := rootB.GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(7200)})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if d := time.Until(*c.Expiration); d > time.Hour+time.Minute {
		t.Errorf("a root's session lasts %v, want one hour at most", d)
	}
	temp := credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)
	id, err := sts.NewFromConfig(f.config(temp)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *id.Arn != "arn:aws:iam::"+accountB+":root" {
		t.Errorf("caller = %s", *id.Arn)
	}
	// It acts as B's root: B's bucket is readable.
	if err := f.getObject(temp); err != nil {
		t.Errorf("GetObject with B's root session: %v", err)
	}
	if _, err := sts.NewFromConfig(f.config(temp)).GetSessionToken(ctx, &sts.GetSessionTokenInput{}); errorCode(err) != "AccessDenied" {
		t.Errorf("GetSessionToken with session credentials: %v", err)
	}
	if _, err := sts.NewFromConfig(f.config(f.webIdentity())).GetSessionToken(ctx, &sts.GetSessionTokenInput{}); errorCode(err) != "AccessDenied" {
		t.Errorf("GetSessionToken by a role session: %v", err)
	}

	// Every key names its account.
	data, err := f.hop(f.webIdentity(), f.dataARN, withTeam("payments")).Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{*c.AccessKeyId: accountB, data.AccessKeyID: accountB, "test": accountA, accountB: accountB} {
		info, err := f.sts.GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(key)})
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if *info.Account != want {
			t.Errorf("GetAccessKeyInfo(%s) = %s, want %s", key, *info.Account, want)
		}
	}
	// AWS's own documentation example decodes to its account.
	if acct, ok := accessKeyAccount("ASIAY34FZKBOKMUTVV7A"); !ok || acct != "609629065308" {
		t.Errorf("decode ASIAY34FZKBOKMUTVV7A = %s %v", acct, ok)
	}
	if _, err := f.sts.GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String("ASIA!!!!!!!!!!!!!!!!")}); errorCode(err) != "ValidationError" {
		t.Errorf("a malformed key: %v", err)
	}
}

// FuzzAssumeRole sends AssumeRole whatever parameters a hostile caller
// might: it must answer with an AWS error or credentials, never panic or
// fail as a server, and what it issues must hold at most 50 tags, keep an
// inherited transitive tag and open again.
func FuzzAssumeRole(f *testing.F) {
	fx := newChainFixture(f)
	creds, err := fx.hop(fx.webIdentity(), fx.dataARN, withTeam("payments")).Retrieve(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	sess, err := fx.srv.seal.open(creds.AccessKeyID, creds.SessionToken)
	if err != nil {
		f.Fatal(err)
	}
	c := &caller{session: sess}
	f.Add("arn:aws:iam::111111111111:role/data", "s", "team", "x", "team", "3600", "", "")
	f.Add("arn:aws:iam::000000000000:role/app", "a b", "aws:x", "", "nope", "99999", "ab", "{")
	f.Add("arn:aws:iam::111111111111:role/../data", "ok", "k", strings.Repeat("v", 300), "", "-1", "../../etc", "not json")
	f.Fuzz(func(t *testing.T, role, name, key, value, transitive, duration, source, sessPolicy string) {
		p := awsquery.Params{"RoleArn": {role}, "RoleSessionName": {name}, "Tags.member.1.Key": {key}, "Tags.member.1.Value": {value},
			"TransitiveTagKeys.member.1": {transitive}, "DurationSeconds": {duration}}
		if source != "" {
			p["SourceIdentity"] = []string{source}
		}
		if sessPolicy != "" {
			p["Policy"] = []string{sessPolicy}
		}
		out, _, e := fx.srv.assumeRole(c, p)
		if e != nil {
			if e.Status >= 500 || e.Code == "" || e.Message == "" {
				t.Fatalf("error %+v", e)
			}
			return
		}
		res := out.(*assumeRoleResult)
		issued, err := fx.srv.seal.open(res.Credentials.AccessKeyID, res.Credentials.SessionToken)
		if err != nil {
			t.Fatalf("issued session does not open: %v", err)
		}
		if len(issued.Tags) > maxSessionTags || issued.Tags["team"] != "payments" {
			t.Fatalf("issued tags %v", issued.Tags)
		}
	})
}

// TestRoleTagsArePrincipalTags: aws:PrincipalTag reads the role's tags
// too, and a session tag of the same key wins.
func TestRoleTagsArePrincipalTags(t *testing.T) {
	f := newChainFixture(t)
	ctx := context.Background()
	if _, err := f.iamB.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("data"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}}); err != nil {
		t.Fatal(err)
	}
	// No session tag: the role's tag satisfies the bucket policy.
	if err := f.getObject(f.hop(f.webIdentity(), f.dataARN)); err != nil {
		t.Fatalf("GetObject with the role's tag: %v", err)
	}
	// A session tag of the same key, another case, overrides it.
	if err := f.getObject(f.hop(f.webIdentity(), f.dataARN, func(o *stscreds.AssumeRoleOptions) {
		o.Tags = []ststypes.Tag{{Key: aws.String("Team"), Value: aws.String("marketing")}}
	})); errorCode(err) != "AccessDenied" {
		t.Fatalf("GetObject with an overriding session tag: %v, want AccessDenied", err)
	}
}

// TestCrossAccountS3RefusalGolden pins S3's answer to a cross-account read
// refused on each side, with the reason the trail records.
func TestCrossAccountS3RefusalGolden(t *testing.T) {
	f := newChainFixture(t)
	ctx := context.Background()
	app, err := f.webIdentity().Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, f.http.URL+"/shared-data/report.csv", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
		signRequest(t, req, nil, "s3", app)
		status, body := do(t, req)
		reason := f.lastRecord("GetObject").IrsaLocal.Reason
		out := sessionNamePart.ReplaceAllString(body+"\nreason: "+reason, "assumed-role/$1/SESSION")
		out = regexp.MustCompile(`<HostId>[^<]*</HostId>`).ReplaceAllString(out, "<HostId>HOST-ID</HostId>")
		checkGolden(t, name, status, out, nil)
	}
	// A's identity allows; B's bucket policy names only data.
	f.putRolePolicy(f.iam, "app", "read-shared", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared-data/*"}]}`)
	get("cross-account-s3-refused-by-owner")
	// B's bucket policy names app; A's identity no longer allows.
	if _, err := f.s3B.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("shared-data"), Policy: aws.String(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + f.appARN + `"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared-data/*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("read-shared")}); err != nil {
		t.Fatal(err)
	}
	get("cross-account-s3-refused-by-caller")
}
