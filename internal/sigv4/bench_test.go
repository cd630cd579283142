package sigv4

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// benchRequest signs a small request the way the SDK clients do.
func benchRequest(b *testing.B, method, target, service string, body []byte, header http.Header, presign bool) (*http.Request, time.Time) {
	b.Helper()
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	r := httptest.NewRequest(method, "http://localhost:4566"+target, bytes.NewReader(body))
	for k, v := range header {
		r.Header[k] = v
	}
	payload := sha256Hex(body)
	if service == "s3" {
		payload = payloadUnsigned
		if !presign {
			payload = sha256Hex(body)
			r.Header.Set("X-Amz-Content-Sha256", payload)
		}
	}
	creds := aws.Credentials{AccessKeyID: staticKey, SecretAccessKey: staticSecret}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
	if presign {
		q := r.URL.Query()
		q.Set("X-Amz-Expires", "900")
		r.URL.RawQuery = q.Encode()
		u, _, err := signer.PresignHTTP(context.Background(), creds, r, payload, service, "us-east-1", now)
		if err != nil {
			b.Fatal(err)
		}
		r = httptest.NewRequest(method, u, nil)
	} else if err := signer.SignHTTP(context.Background(), creds, r, payload, service, "us-east-1", now); err != nil {
		b.Fatal(err)
	}
	r.RequestURI = r.URL.RequestURI()
	return r, now
}

func benchmarkVerify(b *testing.B, r *http.Request, body []byte, now time.Time, wantSigner string) {
	creds := StaticCredentials{staticKey: {Secret: staticSecret}}
	ctx := context.Background()
	r.Body = io.NopCloser(bytes.NewReader(body))
	v, err := Verify(ctx, r, creds, now)
	if err != nil {
		b.Fatalf("Verify: %v", err)
	}
	if v.signer != wantSigner {
		b.Fatalf("verified by %q, want %q", v.signer, wantSigner)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if _, err := Verify(ctx, r, creds, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures Verify on small signed requests. The target is
// under 20 µs per request.
func BenchmarkVerify(b *testing.B) {
	b.Run("s3 GET header", func(b *testing.B) {
		h := http.Header{"Amz-Sdk-Invocation-Id": {"6f1c7a4e-3b4c-4bb1-9e7e-2f0c8e1a2b3c"}, "Amz-Sdk-Request": {"attempt=1; max=3"}, "Accept-Encoding": {"identity"}}
		r, now := benchRequest(b, http.MethodGet, "/bucket/dir/key.txt?x-id=GetObject", "s3", nil, h, false)
		benchmarkVerify(b, r, nil, now, "sdk")
	})
	b.Run("sts POST form", func(b *testing.B) {
		body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
		h := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}, "Amz-Sdk-Invocation-Id": {"6f1c7a4e-3b4c-4bb1-9e7e-2f0c8e1a2b3c"}}
		r, now := benchRequest(b, http.MethodPost, "/", "sts", body, h, false)
		benchmarkVerify(b, r, body, now, "sdk")
	})
	b.Run("s3 presigned GET", func(b *testing.B) {
		r, now := benchRequest(b, http.MethodGet, "/bucket/dir/key.txt", "s3", nil, nil, true)
		benchmarkVerify(b, r, nil, now, "sdk")
	})
	b.Run("s3 GET own canonical", func(b *testing.B) {
		// A signed User-Agent makes the SDK signer unusable.
		h := http.Header{"User-Agent": {"aws-sdk-java/1.12"}}
		r, now := benchRequest(b, http.MethodGet, "/bucket/dir/key.txt", "s3", nil, h, false)
		// The SDK refuses to sign User-Agent, so sign as such a client
		// would, through the own canonical request.
		a, err := parseAuth(r)
		if err != nil {
			b.Fatal(err)
		}
		a.signedHeaders = append([]string{"host", "user-agent"}, a.signedHeaders[1:]...)
		in := newSigningInput(r, a, emptySHA256)
		sig := in.ownSignature(signingKey(staticSecret, in.scope), in.uris[0])
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+staticKey+"/20240506/us-east-1/s3/aws4_request, SignedHeaders="+joinNames(a.signedHeaders)+", Signature="+sig)
		benchmarkVerify(b, r, nil, now, "own")
	})
}

func joinNames(n []string) string {
	var b bytes.Buffer
	for i, s := range n {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(s)
	}
	return b.String()
}
