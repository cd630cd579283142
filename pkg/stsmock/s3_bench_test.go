package stsmock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// BenchmarkGetObject compares small-object GetObject through irsa-local's
// S3 front (SigV4 verification, session token, IAM evaluation of the role's
// policies, audit record) with the same in-memory storage reached directly.
// The request is signed once and replayed, so client-side signing is not
// measured.
func BenchmarkGetObject(b *testing.B) {
	f := newFixture(b, WithInMemoryS3(), WithTrail(filepath.Join(b.TempDir(), "trail.jsonl")))
	sf := &s3Fixture{fixture: f, roleARN: f.setup()}
	ctx := context.Background()
	if _, err := f.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("app"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")}); err != nil {
		b.Fatal(err)
	}
	admin := s3.NewFromConfig(f.cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		b.Fatal(err)
	}
	if _, err := admin.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String("small"), Body: strings.NewReader(strings.Repeat("x", 1024))}); err != nil {
		b.Fatal(err)
	}
	sf.assumeCreds(b)

	signed := func() *http.Request {
		req := httptest.NewRequest(http.MethodGet, "http://"+strings.TrimPrefix(f.http.URL, "http://")+"/"+testBucket+"/small", nil)
		sum := sha256.Sum256(nil)
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		if err := v4.NewSigner().SignHTTP(ctx, sf.creds, req, hex.EncodeToString(sum[:]), "s3", "us-east-1", time.Now()); err != nil {
			b.Fatal(err)
		}
		return req
	}()
	run := func(b *testing.B, h http.Handler, template *http.Request) {
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := template.Clone(ctx)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || rec.Body.Len() != 1024 {
					b.Fatalf("status %d, %d bytes: %s", rec.Code, rec.Body.Len(), rec.Body)
				}
			}
		})
	}
	b.Run("with-auth", func(b *testing.B) { run(b, f.srv, signed) })
	b.Run("storage-only", func(b *testing.B) {
		run(b, f.srv.s3.handler, httptest.NewRequest(http.MethodGet, "/"+testBucket+"/small", nil))
	})
}
