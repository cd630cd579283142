package stsmock

import (
	"bytes"
	"context"
	"crypto/rand"

	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/irsa-local/irsa-local/internal/trail"
)

// s3Fixture adds a bucket with an object and a web identity session whose
// role has AmazonS3ReadOnlyAccess.
type s3Fixture struct {
	*fixture
	admin   *s3.Client
	session *s3.Client
	creds   aws.Credentials
	roleARN string
}

const testBucket = "data"

func newS3Fixture(t *testing.T, opts ...Option) *s3Fixture {
	t.Helper()
	f := newFixture(t, append([]Option{WithTrail(filepath.Join(t.TempDir(), "trail.jsonl"))}, opts...)...)
	sf := &s3Fixture{fixture: f, roleARN: f.setup()}
	ctx := context.Background()
	if _, err := f.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")}); err != nil {
		t.Fatal(err)
	}
	sf.admin = s3.NewFromConfig(f.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := sf.admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sf.admin.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("reports/a.txt"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatal(err)
	}
	sf.session = sf.assume(t, "")
	return sf
}

// assume returns an S3 client for a fresh web identity session, optionally
// narrowed by a session policy.
func (sf *s3Fixture) assume(t *testing.T, sessionPolicy string) *s3.Client {
	t.Helper()
	in := &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(sf.roleARN), RoleSessionName: aws.String("pod"), WebIdentityToken: aws.String(sf.token("default", "app"))}
	if sessionPolicy != "" {
		in.Policy = aws.String(sessionPolicy)
	}
	sf.assumeWith(t, in)
	return s3.NewFromConfig(sf.config(credentials.StaticCredentialsProvider{Value: sf.creds}), func(o *s3.Options) { o.UsePathStyle = true })
}

// assumeCreds sets sf.creds to a fresh web identity session's.
func (sf *s3Fixture) assumeCreds(t testing.TB) {
	sf.assumeWith(t, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(sf.roleARN), RoleSessionName: aws.String("pod"), WebIdentityToken: aws.String(sf.token("default", "app"))})
}

func (sf *s3Fixture) assumeWith(t testing.TB, in *sts.AssumeRoleWithWebIdentityInput) {
	t.Helper()
	out, err := sf.sts.AssumeRoleWithWebIdentity(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	sf.creds = aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}
}

func TestReadOnlyRoleReadsButCannotWrite(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	list, err := sf.session.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket)})
	if err != nil || len(list.Contents) != 1 || *list.Contents[0].Key != "reports/a.txt" {
		t.Fatalf("ListObjectsV2: %+v %v", list, err)
	}
	obj, err := sf.session.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("reports/a.txt")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(obj.Body)
	if string(b) != "hello" {
		t.Fatalf("GetObject: %q", b)
	}
	if _, err := sf.session.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Errorf("ListBuckets with s3:List*: %v", err)
	}
	_, err = sf.session.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("x"), Body: strings.NewReader("no")})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("PutObject with read-only: %v, want AccessDenied", err)
	}
	_, err = sf.session.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String("reports/a.txt")})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("DeleteObject with read-only: %v", err)
	}
	_, err = sf.session.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("other")})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("CreateBucket with read-only: %v", err)
	}
}

func TestExplicitDenyWinsOverAllow(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/reports/*"}]}`
	if _, err := sf.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("app"), PolicyName: aws.String("no-reports"), PolicyDocument: aws.String(deny)}); err != nil {
		t.Fatal(err)
	}
	_, err := sf.session.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("reports/a.txt")})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("GetObject under an explicit Deny: %v", err)
	}
	if _, err := sf.session.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket)}); err != nil {
		t.Errorf("ListObjectsV2 is not denied: %v", err)
	}
}

func TestSessionPolicyNarrowsAccess(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	narrow := sf.assume(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	if _, err := narrow.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("reports/a.txt")}); err != nil {
		t.Errorf("GetObject allowed by role and session policy: %v", err)
	}
	_, err := narrow.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket)})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("ListObjectsV2 outside the session policy: %v", err)
	}
	// A session policy never adds what the role lacks.
	wide := sf.assume(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	_, err = wide.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("x"), Body: strings.NewReader("x")})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("PutObject allowed only by the session policy: %v", err)
	}
}

func TestBucketPolicies(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	put := func(doc string) error {
		_, err := sf.admin.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(testBucket), Policy: aws.String(doc)})
		return err
	}
	if _, err := sf.admin.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(testBucket)}); apiCode(err) != "NoSuchBucketPolicy" {
		t.Errorf("GetBucketPolicy without one: %v", err)
	}
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}]}`
	if err := put(deny); err != nil {
		t.Fatal(err)
	}
	got, err := sf.admin.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(testBucket)})
	if err != nil || *got.Policy != deny {
		t.Fatalf("GetBucketPolicy: %v %v", got, err)
	}
	if _, err := sf.session.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("reports/a.txt")}); apiCode(err) != "AccessDenied" {
		t.Errorf("bucket policy Deny over role Allow: %v", err)
	}
	// The admin is the account root: no bucket policy stops it here.
	if _, err := sf.admin.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("reports/a.txt")}); err != nil {
		t.Errorf("admin GetObject: %v", err)
	}
	// A bucket policy naming the session grants what the role lacks.
	who, err := sts.NewFromConfig(sf.config(credentials.StaticCredentialsProvider{Value: sf.creds})).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	grant := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + *who.Arn + `"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::data/uploads/*"}]}`
	if err := put(grant); err != nil {
		t.Fatal(err)
	}
	if _, err := sf.session.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("uploads/u"), Body: strings.NewReader("u")}); err != nil {
		t.Errorf("PutObject granted by the bucket policy to the session: %v", err)
	}
	if err := put(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}]}`); apiCode(err) != "MalformedPolicy" {
		t.Errorf("bucket policy without Principal: %v, want MalformedPolicy", err)
	}
	if err := put(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}`); apiCode(err) != "MalformedPolicy" {
		t.Errorf("bucket policy on another bucket: %v, want MalformedPolicy", err)
	}
	if _, err := sf.admin.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sf.session.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("uploads/v"), Body: strings.NewReader("v")}); apiCode(err) != "AccessDenied" {
		t.Errorf("PutObject after the grant was deleted: %v", err)
	}
}

func TestAnonymousAccessNeedsABucketPolicy(t *testing.T) {
	sf := newS3Fixture(t)
	get := func() int {
		resp, err := http.Get(sf.http.URL + "/data/reports/a.txt")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != 403 {
		t.Errorf("anonymous GET without a policy: %d", code)
	}
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}]}`
	if _, err := sf.admin.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String(testBucket), Policy: aws.String(public)}); err != nil {
		t.Fatal(err)
	}
	if code := get(); code != 200 {
		t.Errorf("anonymous GET with a public-read policy: %d", code)
	}
}

func TestPresignedURLs(t *testing.T) {
	sf := newS3Fixture(t)
	pre, err := s3.NewPresignClient(sf.session).PresignGetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("reports/a.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(pre.URL, "X-Amz-Security-Token=") {
		t.Fatalf("presigned URL carries no session token: %s", pre.URL)
	}
	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(pre.URL); code != 200 || body != "hello" {
		t.Errorf("presigned GET: %d %s", code, body)
	}
	tampered := strings.Replace(pre.URL, "reports/a.txt", "reports/b.txt", 1)
	if code, body := get(tampered); code != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Errorf("tampered presigned GET: %d %s", code, body)
	}
}

func TestExpiredSessionIsRefusedWithExpiredToken(t *testing.T) {
	sf := newS3Fixture(t)
	mustAdvance(t, sf.srv.Clock(), 2*time.Hour)
	_, err := sf.session.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(testBucket)})
	if apiCode(err) != "ExpiredToken" {
		t.Errorf("expired session: %v, want ExpiredToken", err)
	}
}

func TestS3AuthenticationErrors(t *testing.T) {
	sf := newS3Fixture(t)
	for _, tc := range []struct {
		name  string
		creds aws.Credentials
		code  string
	}{
		{"wrong secret", aws.Credentials{AccessKeyID: sf.creds.AccessKeyID, SecretAccessKey: "wrong", SessionToken: sf.creds.SessionToken}, "SignatureDoesNotMatch"},
		{"unknown key", aws.Credentials{AccessKeyID: "AKIAUNKNOWN000000000", SecretAccessKey: "x"}, "InvalidAccessKeyId"},
		{"session key without its token", aws.Credentials{AccessKeyID: sf.creds.AccessKeyID, SecretAccessKey: sf.creds.SecretAccessKey}, "InvalidAccessKeyId"},
		{"session key with a forged token", aws.Credentials{AccessKeyID: sf.creds.AccessKeyID, SecretAccessKey: sf.creds.SecretAccessKey, SessionToken: sessionTokenPrefix + "AAAA"}, "InvalidToken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3.NewFromConfig(sf.config(credentials.StaticCredentialsProvider{Value: tc.creds}), func(o *s3.Options) { o.UsePathStyle = true })
			_, err := c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(testBucket)})
			if apiCode(err) != tc.code {
				t.Errorf("got %v, want %s", err, tc.code)
			}
		})
	}
}

// Uploads as the SDK sends them (checksum trailers, aws-chunked) over HTTP
// and HTTPS read back byte-identical.
func TestUploadsReadBackByteIdentical(t *testing.T) {
	sf := newS3Fixture(t)
	tlsSrv := httptest.NewUnstartedServer(sf.srv)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	payload := make([]byte, 5<<20+123)
	if _, err := rand.Read(payload); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		url      string
		checksum aws.RequestChecksumCalculation
	}{
		{"http when_supported", sf.http.URL, aws.RequestChecksumCalculationWhenSupported},
		{"http when_required", sf.http.URL, aws.RequestChecksumCalculationWhenRequired},
		{"https when_supported", tlsSrv.URL, aws.RequestChecksumCalculationWhenSupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sf.cfg.Copy()
			cfg.BaseEndpoint = aws.String(tc.url)
			cfg.HTTPClient = tlsSrv.Client()
			cfg.RequestChecksumCalculation = tc.checksum
			c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
			key := "upload/" + strings.ReplaceAll(tc.name, " ", "-")
			if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: bytes.NewReader(payload)}); err != nil {
				t.Fatal(err)
			}
			obj, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(obj.Body)
			if !bytes.Equal(got, payload) {
				t.Fatalf("read back %d bytes that differ from the %d uploaded", len(got), len(payload))
			}
		})
	}
}

func TestVirtualHostedStyle(t *testing.T) {
	sf := newS3Fixture(t)
	// Every host name resolves to the test server.
	addr := strings.TrimPrefix(sf.http.URL, "http://")
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	cfg := sf.config(credentials.StaticCredentialsProvider{Value: sf.creds})
	cfg.BaseEndpoint = aws.String("http://localhost:" + strings.Split(addr, ":")[1])
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: dial}}
	c := s3.NewFromConfig(cfg)
	obj, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("reports/a.txt")})
	if err != nil {
		t.Fatalf("virtual-hosted GetObject: %v", err)
	}
	b, _ := io.ReadAll(obj.Body)
	if string(b) != "hello" {
		t.Fatalf("read %q", b)
	}
	// Buckets named like other services' paths still route to S3.
	for _, name := range []string{"clusters", "tags"} {
		if _, err := sf.admin.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Errorf("bucket %q: %v", name, err)
		}
	}
}

func TestS3PersistsAcrossRestart(t *testing.T) {
	sf := newS3Fixture(t)
	if err := sf.srv.Close(); err != nil {
		t.Fatal(err)
	}
	sf.http.Close()
	sf.startServer()
	c := s3.NewFromConfig(sf.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	obj, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("reports/a.txt")})
	if err != nil {
		t.Fatalf("object after restart: %v", err)
	}
	obj.Body.Close()
}

func TestDescribeCluster(t *testing.T) {
	f := newFixture(t, WithEKSCluster(EKSCluster{Name: "demo", IssuerURL: "https://127.0.0.1:1234/id/X", CertificateAuthority: []byte("-----BEGIN CERTIFICATE-----\n"), CreatedAt: time.Now()}))
	c := eks.NewFromConfig(f.cfg)
	out, err := c.DescribeCluster(context.Background(), &eks.DescribeClusterInput{Name: aws.String("demo")})
	if err != nil {
		t.Fatal(err)
	}
	cl := out.Cluster
	if *cl.Identity.Oidc.Issuer != "https://127.0.0.1:1234/id/X" || cl.Status != "ACTIVE" || *cl.Arn != "arn:aws:eks:us-east-1:000000000000:cluster/demo" || cl.CertificateAuthority.Data == nil || cl.Endpoint == nil {
		t.Errorf("cluster %+v", cl)
	}
	if _, err := c.DescribeCluster(context.Background(), &eks.DescribeClusterInput{Name: aws.String("nope")}); apiCode(err) != "ResourceNotFoundException" {
		t.Errorf("unknown cluster: %v", err)
	}
	list, err := c.ListClusters(context.Background(), &eks.ListClustersInput{})
	if err != nil || len(list.Clusters) != 1 || list.Clusters[0] != "demo" {
		t.Errorf("ListClusters: %+v %v", list, err)
	}
	if _, err := c.TagResource(context.Background(), &eks.TagResourceInput{ResourceArn: cl.Arn, Tags: map[string]string{"k": "v"}}); err != nil {
		t.Errorf("TagResource: %v", err)
	}
	out, _ = c.DescribeCluster(context.Background(), &eks.DescribeClusterInput{Name: aws.String("demo")})
	if out.Cluster.Tags["k"] != "v" {
		t.Errorf("tags after TagResource: %v", out.Cluster.Tags)
	}
}

func TestTrailRecordsDecisionsWithoutSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trail.jsonl")
	sf := newS3Fixture(t, WithTrail(path))
	ctx := context.Background()
	_, _ = sf.session.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("x"), Body: strings.NewReader("x")})
	recs, err := trail.Read(path, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var assume, denied, created *trail.Record
	for i := range recs {
		r := &recs[i]
		switch {
		case r.EventName == "AssumeRoleWithWebIdentity" && r.ErrorCode == "":
			assume = r
		case r.EventName == "PutObject" && r.ErrorCode == "AccessDenied":
			denied = r
		case r.EventName == "CreateRole":
			created = r
		}
	}
	if assume == nil || assume.UserIdentity.Type != "WebIdentityUser" || assume.UserIdentity.UserName != "system:serviceaccount:default:app" || assume.IrsaLocal == nil || assume.IrsaLocal.Decision != "allow" {
		t.Errorf("AssumeRoleWithWebIdentity record: %+v", assume)
	}
	if denied == nil || denied.UserIdentity.Type != "AssumedRole" || denied.UserIdentity.SessionContext == nil || denied.UserIdentity.SessionContext.WebIDFederationData == nil ||
		denied.IrsaLocal == nil || denied.IrsaLocal.Decision != "deny" || !strings.Contains(denied.IrsaLocal.Reason, "s3:PutObject") {
		t.Errorf("denied PutObject record: %+v", denied)
	}
	if created == nil || created.EventSource != "iam.amazonaws.com" {
		t.Errorf("CreateRole record: %+v", created)
	}
	raw, _ := os.ReadFile(path)
	for _, secret := range []string{sf.creds.SecretAccessKey, sf.creds.SessionToken, sf.token("default", "app")[:40]} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the trail holds a secret: %.20s…", secret)
		}
	}
	for _, r := range recs {
		if r.EventName == "GetRole" {
			t.Error("IAM reads are recorded; only writes should be")
		}
	}
}

// S3 has no directories: once the last object under a prefix is deleted,
// the prefix is gone from listings and the bucket can be deleted.
func TestDeletingTheLastObjectUnderAPrefixLeavesNothing(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	b := aws.String(testBucket)
	if _, err := sf.admin.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("reports/2026/x.txt"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sf.admin.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("reports/2026/x.txt")}); err != nil {
		t.Fatal(err)
	}
	list, err := sf.admin.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, Prefix: aws.String("reports/"), Delimiter: aws.String("/")})
	if err != nil || len(list.CommonPrefixes) != 0 || len(list.Contents) != 1 {
		t.Fatalf("listing after deleting reports/2026/x.txt: %+v %v", list, err)
	}
	_, err = sf.admin.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: b, Delete: &s3types.Delete{Objects: []s3types.ObjectIdentifier{{Key: aws.String("reports/a.txt")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sf.admin.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}); err != nil {
		t.Errorf("DeleteBucket once every object is deleted: %v", err)
	}
}
