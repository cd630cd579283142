package stsmock

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/irsa-local/irsa-local/internal/trail"
)

// The S3 condition keys each request carries decide real policies: every
// key irsa-local sets is checked once allowing and once refusing.
func TestS3ConditionKeysDecide(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	tlsSrv := httptest.NewUnstartedServer(sf.srv)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	sf.writerSession(t, testBucket) // role "writer"; sf.creds are its session's
	creds := sf.creds
	client := func(url string) *s3.Client {
		cfg := sf.config(credentials.StaticCredentialsProvider{Value: creds})
		cfg.BaseEndpoint = aws.String(url)
		cfg.HTTPClient = tlsSrv.Client()
		return s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	}
	policyWith := func(action, resource, condition string) {
		doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":%q,"Resource":%q,"Condition":%s}]}`, action, resource, condition)
		if _, err := sf.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("writer"), PolicyName: aws.String("objects"), PolicyDocument: aws.String(doc)}); err != nil {
			t.Fatal(err)
		}
	}
	object := "arn:aws:s3:::" + testBucket + "/*"
	bucket := "arn:aws:s3:::" + testBucket
	get := func(c *s3.Client) error {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("reports/a.txt")})
		if err == nil {
			out.Body.Close()
		}
		return err
	}
	list := func(prefix string) func(c *s3.Client) error {
		return func(c *s3.Client) error {
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket), Prefix: aws.String(prefix)})
			return err
		}
	}
	put := func(acl s3types.ObjectCannedACL) func(c *s3.Client) error {
		return func(c *s3.Client) error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("k"), Body: strings.NewReader("x"), ACL: acl})
			return err
		}
	}
	for _, c := range []struct {
		name, action, resource, condition string
		url                               string
		call                              func(*s3.Client) error
		allowed                           bool
	}{
		{"SecureTransport over HTTPS", "s3:GetObject", object, `{"Bool":{"aws:SecureTransport":"true"}}`, tlsSrv.URL, get, true},
		{"SecureTransport over HTTP", "s3:GetObject", object, `{"Bool":{"aws:SecureTransport":"true"}}`, sf.http.URL, get, false},
		{"SourceIp in range", "s3:GetObject", object, `{"IpAddress":{"aws:SourceIp":"127.0.0.1/32"}}`, sf.http.URL, get, true},
		{"SourceIp out of range", "s3:GetObject", object, `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, sf.http.URL, get, false},
		{"UserAgent matches", "s3:GetObject", object, `{"StringLike":{"aws:UserAgent":"*aws-sdk-go-v2*"}}`, sf.http.URL, get, true},
		{"UserAgent differs", "s3:GetObject", object, `{"StringLike":{"aws:UserAgent":"curl/*"}}`, sf.http.URL, get, false},
		{"s3:prefix matches", "s3:ListBucket", bucket, `{"StringEquals":{"s3:prefix":"reports/"}}`, sf.http.URL, list("reports/"), true},
		{"s3:prefix differs", "s3:ListBucket", bucket, `{"StringEquals":{"s3:prefix":"reports/"}}`, sf.http.URL, list("other/"), false},
		{"s3:x-amz-acl given", "s3:PutObject", object, `{"StringEquals":{"s3:x-amz-acl":"private"}}`, sf.http.URL, put(s3types.ObjectCannedACLPrivate), true},
		{"s3:x-amz-acl missing", "s3:PutObject", object, `{"StringEquals":{"s3:x-amz-acl":"private"}}`, sf.http.URL, put(""), false},
		{"s3:authType header", "s3:GetObject", object, `{"StringEquals":{"s3:authType":"REST-HEADER","s3:signatureversion":"AWS4-HMAC-SHA256"}}`, sf.http.URL, get, true},
		{"s3:authType query", "s3:GetObject", object, `{"StringEquals":{"s3:authType":"REST-QUERY-STRING"}}`, sf.http.URL, get, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			policyWith(c.action, c.resource, c.condition)
			err := c.call(client(c.url))
			if c.allowed && err != nil {
				t.Fatalf("want allowed: %v", err)
			}
			if !c.allowed && apiCode(err) != "AccessDenied" {
				t.Fatalf("want AccessDenied: %v", err)
			}
		})
	}
	// A presigned URL is REST-QUERY-STRING.
	policyWith("s3:GetObject", object, `{"StringEquals":{"s3:authType":"REST-QUERY-STRING"}}`)
	pre, err := s3.NewPresignClient(client(sf.http.URL)).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("reports/a.txt")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(pre.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("presigned GET under an authType REST-QUERY-STRING condition: %s", resp.Status)
	}
}

// HeadBucket names the bucket's region even when it refuses, as S3 does:
// SDKs look the region up that way.
func TestRefusedHeadBucketStillNamesTheRegion(t *testing.T) {
	sf := newS3Fixture(t)
	w := sf.writerSession(t, "elsewhere")
	_, err := w.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String(testBucket)})
	if !denied(err) {
		t.Fatalf("HeadBucket without s3:ListBucket: %v", err)
	}
	req, _ := http.NewRequest(http.MethodHead, sf.http.URL+"/"+testBucket, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amz-Bucket-Region") != "us-east-1" {
		t.Fatalf("anonymous HeadBucket: %s, region %q", resp.Status, resp.Header.Get("X-Amz-Bucket-Region"))
	}
}

// What storage answers is recorded, and a failed DeleteBucket forgets
// nothing about the bucket.
func TestStorageOutcomesReachTheTrailAndState(t *testing.T) {
	trailPath := filepath.Join(t.TempDir(), "trail.jsonl")
	sf := newS3Fixture(t, WithTrail(trailPath))
	ctx := context.Background()
	if _, code := get(t, sf.admin, testBucket, "missing"); code != "NoSuchKey" {
		t.Fatalf("GET of a missing key: %q", code)
	}
	recs, err := trail.Read(trailPath, time.Time{})
	if err != nil || len(recs) == 0 {
		t.Fatal(recs, err)
	}
	if last := recs[len(recs)-1]; last.EventName != "GetObject" || last.ErrorCode != "NoSuchKey" {
		t.Fatalf("trail: %s %q", last.EventName, last.ErrorCode)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::` + testBucket + `/keep"}]}`
	if _, err := sf.admin.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(testBucket), Policy: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sf.admin.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(testBucket)}); apiCode(err) != "BucketNotEmpty" {
		t.Fatalf("DeleteBucket of a bucket with objects: %v", err)
	}
	if _, code := get(t, sf.admin, testBucket, "reports/a.txt"); code != "" {
		t.Fatalf("GET after a refused DeleteBucket: %s", code)
	}
	if _, err := sf.admin.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatalf("the bucket policy after a refused DeleteBucket and a GET: %v", err)
	}
	// A bucket that is deleted takes its policy with it: a new bucket of
	// the same name starts without one.
	if _, err := sf.admin.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String("reports/a.txt")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sf.admin.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sf.admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sf.admin.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(testBucket)}); apiCode(err) != "NoSuchBucketPolicy" {
		t.Fatalf("a recreated bucket's policy: %v, want NoSuchBucketPolicy", err)
	}
}

func TestBucketPolicySizeLimit(t *testing.T) {
	sf := newS3Fixture(t)
	ctx := context.Background()
	sized := func(n int) string {
		tmpl := `{"Version":"2012-10-17","Statement":[{"Sid":"%s","Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::` + testBucket + `/k"}]}`
		return fmt.Sprintf(tmpl, strings.Repeat("s", n-len(fmt.Sprintf(tmpl, ""))))
	}
	if _, err := sf.admin.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(testBucket), Policy: aws.String(sized(20 << 10))}); err != nil {
		t.Fatalf("a 20 KiB bucket policy: %v", err)
	}
	_, err := sf.admin.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(testBucket), Policy: aws.String(sized(20<<10 + 1))})
	if apiCode(err) != "PolicyTooLarge" {
		t.Fatalf("a 20 KiB + 1 bucket policy: %v", err)
	}
}

// An aws-chunked upload sent with HTTP chunked transfer (no Content-Length,
// as botocore sends over HTTPS) is stored whole.
func TestChunkedTransferWithoutContentLength(t *testing.T) {
	sf := newS3Fixture(t)
	for _, payload := range []string{"hello, chunks", ""} {
		chunkedPut(t, sf, payload)
	}
}

func chunkedPut(t *testing.T, sf *s3Fixture, payload string) {
	t.Helper()
	sum := make([]byte, 4)
	binary.BigEndian.PutUint32(sum, crc32.ChecksumIEEE([]byte(payload)))
	body := fmt.Sprintf("0\r\nx-amz-checksum-crc32:%s\r\n\r\n", base64.StdEncoding.EncodeToString(sum))
	if payload != "" {
		body = fmt.Sprintf("%x\r\n%s\r\n", len(payload), payload) + body
	}
	req, _ := http.NewRequest(http.MethodPut, sf.http.URL+"/"+testBucket+"/chunked", io.NopCloser(strings.NewReader(body)))
	req.ContentLength = -1 // sent with Transfer-Encoding: chunked
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(payload)))
	req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, req, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("chunked PUT: %s %s", resp.Status, msg)
	}
	if got, code := get(t, sf.admin, testBucket, "chunked"); got != payload || code != "" {
		t.Fatalf("read back %q %q, want %q", got, code, payload)
	}
}

// The trail names a web identity caller as CloudTrail does: its principal
// ID is provider:audience:subject, and empty when the token said nothing.
func TestTrailNamesTheWebIdentity(t *testing.T) {
	trailPath := filepath.Join(t.TempDir(), "trail.jsonl")
	f := newFixture(t, WithTrail(trailPath))
	roleARN := f.setup()
	form := assumeForm(roleARN, f.token("default", "app"))
	form.Set("DurationSeconds", "900")
	if status, body := f.wire(form); status != http.StatusOK {
		t.Fatalf("assume: %d %s", status, body)
	}
	if status, _ := f.wire(assumeForm(roleARN, "not.a.token")); status != http.StatusBadRequest {
		t.Fatalf("assume with garbage: %d", status)
	}
	recs, err := trail.Read(trailPath, time.Time{})
	if err != nil || len(recs) < 2 {
		t.Fatal(recs, err)
	}
	ok, bad := recs[len(recs)-2].UserIdentity, recs[len(recs)-1].UserIdentity
	want := f.hostPath(false) + ":sts.amazonaws.com:system:serviceaccount:default:app"
	if ok.Type != "WebIdentityUser" || !strings.HasSuffix(ok.PrincipalID, want) || ok.UserName != "system:serviceaccount:default:app" {
		t.Errorf("allowed call's identity: %+v, want principal ID ending %s", ok, want)
	}
	if bad.Type != "WebIdentityUser" || bad.PrincipalID != "" || bad.UserName != "" {
		t.Errorf("unparsable token's identity: %+v", bad)
	}
	if d := recs[len(recs)-2].RequestParameters["durationSeconds"]; d != "900" {
		t.Errorf("durationSeconds in the trail: %v", d)
	}
	if _, has := recs[len(recs)-1].RequestParameters["durationSeconds"]; has {
		t.Errorf("durationSeconds recorded for a call without it")
	}
}
