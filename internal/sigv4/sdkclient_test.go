package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// The identities the real-client tests sign with. The secrets and token
// hold "/", "+" and "=", which clients must carry through unchanged.
const (
	staticKey     = "AKIAIRSALOCALTEST01"
	staticSecret  = "irsa/local+test/Secret0123456789abcdefgh"
	sessionKey    = "ASIAIRSALOCALSESSION"
	sessionSecret = "session/Secret+value0123456789abcdefghij"
	sessionToken  = "IQoJb3JpZ2luX2VjEXAMPLE//token+with/special=="
	expiredKey    = "ASIAIRSALOCALEXPIRED"
)

// testCredentials knows the static key, the session key with its token, and
// a session key whose session has expired.
func testCredentials() Credentials {
	static := StaticCredentials{
		staticKey:  {Secret: staticSecret},
		sessionKey: {Secret: sessionSecret, SessionToken: sessionToken},
	}
	return CredentialsFunc(func(ctx context.Context, id, token string) (string, error) {
		if id == expiredKey {
			return "", fmt.Errorf("session of %s ended at 2024-01-01T00:00:00Z: %w", id, ErrExpiredToken)
		}
		return static.Lookup(ctx, id, token)
	})
}

type identity struct {
	name, key, secret, token string
}

var (
	staticIdentity  = identity{"static", staticKey, staticSecret, ""}
	sessionIdentity = identity{"session", sessionKey, sessionSecret, sessionToken}
)

func sdkConfig(e *testEndpoint, id identity) aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(id.key, id.secret, id.token),
		HTTPClient:  e.httpClient(),
		// One attempt, so a refusal is seen as the client's error at once.
		Retryer: func() aws.Retryer { return aws.NopRetryer{} },
	}
}

func s3Client(e *testEndpoint, id identity, endpoint string, pathStyle bool, calc aws.RequestChecksumCalculation) *s3.Client {
	return s3.NewFromConfig(sdkConfig(e, id), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = pathStyle
		o.RequestChecksumCalculation = calc
	})
}

func patterned(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i/7)
	}
	return b
}

// TestSDKClients drives aws-sdk-go-v2's STS, IAM and S3 clients against a
// real endpoint wrapping Verify, over HTTP, HTTPS and HTTP/2, with long-term
// and session credentials, and checks what Verify reported for each request.
func TestSDKClients(t *testing.T) {
	ctx := context.Background()
	for _, scheme := range []string{"http", "https", "h2"} {
		useTLS := scheme != "http"
		e := newTestEndpoint(t, testCredentials(), useTLS)
		if scheme == "h2" {
			e = newHTTP2Endpoint(t, testCredentials())
		}
		for _, id := range []identity{staticIdentity, sessionIdentity} {
			prefix := scheme + "/" + id.name

			t.Run(prefix+"/sts GetCallerIdentity", func(t *testing.T) {
				e.reset()
				client := sts.NewFromConfig(sdkConfig(e, id), func(o *sts.Options) { o.BaseEndpoint = aws.String(e.URL) })
				out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				if err != nil {
					t.Fatalf("GetCallerIdentity: %v", err)
				}
				if aws.ToString(out.UserId) != id.key {
					t.Errorf("UserId = %q, want %q", aws.ToString(out.UserId), id.key)
				}
				checkQueryRecords(t, e.lastRecords(), "sts", id)
			})

			t.Run(prefix+"/iam ListRoles", func(t *testing.T) {
				e.reset()
				client := iam.NewFromConfig(sdkConfig(e, id), func(o *iam.Options) { o.BaseEndpoint = aws.String(e.URL) })
				out, err := client.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/a b+c/")})
				if err != nil {
					t.Fatalf("ListRoles: %v", err)
				}
				if len(out.Roles) != 1 {
					t.Errorf("ListRoles returned %d roles", len(out.Roles))
				}
				checkQueryRecords(t, e.lastRecords(), "iam", id)
			})

			addressing := []struct {
				name      string
				endpoint  string
				pathStyle bool
				sizes     []int
			}{
				{"path-style", e.URL, true, []int{1 << 10, 6 << 20}},
				{"virtual-hosted localhost", e.hostURL(localhostDomain), false, []int{1 << 10}},
				{"virtual-hosted nip.io", e.hostURL(nipDomain), false, []int{1 << 10, 3 << 20}},
			}
			for _, a := range addressing {
				for _, calc := range []aws.RequestChecksumCalculation{aws.RequestChecksumCalculationWhenSupported, aws.RequestChecksumCalculationWhenRequired} {
					calcName := map[aws.RequestChecksumCalculation]string{aws.RequestChecksumCalculationWhenSupported: "when_supported", aws.RequestChecksumCalculationWhenRequired: "when_required"}[calc]
					t.Run(fmt.Sprintf("%s/s3 %s %s", prefix, a.name, calcName), func(t *testing.T) {
						client := s3Client(e, id, a.endpoint, a.pathStyle, calc)
						for _, size := range a.sizes {
							s3RoundTrip(t, e, client, "objects", fmt.Sprintf("size-%d", size), patterned(size), useTLS, calc)
							checkAddressing(t, e.lastRecords(), !a.pathStyle)
						}
					})
				}
				t.Run(fmt.Sprintf("%s/s3 %s special keys and queries", prefix, a.name), func(t *testing.T) {
					client := s3Client(e, id, a.endpoint, a.pathStyle, aws.RequestChecksumCalculationWhenSupported)
					s3SpecialKeys(t, e, client)
					checkAddressing(t, e.lastRecords(), !a.pathStyle)
				})
				t.Run(fmt.Sprintf("%s/s3 %s presigned", prefix, a.name), func(t *testing.T) {
					client := s3Client(e, id, a.endpoint, a.pathStyle, aws.RequestChecksumCalculationWhenSupported)
					s3Presigned(t, e, client)
					checkAddressing(t, e.lastRecords(), !a.pathStyle)
				})
			}
		}
	}
}

// checkQueryRecords checks that one Query-protocol request verified with
// the body hash computed from its form body and the right identity.
func checkQueryRecords(t *testing.T, recs []record, service string, id identity) {
	t.Helper()
	got := verifiedOnly(t, recs)
	if len(got) != 1 {
		t.Fatalf("endpoint saw %d requests, want 1", len(got))
	}
	v := got[0]
	sum := sha256.Sum256(recs[0].body)
	if v.Service != service || v.AccessKeyID != id.key || v.SessionToken != id.token || v.Presigned {
		t.Errorf("verified %+v, want service %s for %s", v, service, id.name)
	}
	if v.PayloadHash != hex.EncodeToString(sum[:]) {
		t.Errorf("PayloadHash = %s, want the body's hash", v.PayloadHash)
	}
	if !strings.HasPrefix(recs[0].header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		t.Errorf("Content-Type = %q, want a form body", recs[0].header.Get("Content-Type"))
	}
	if v.signer != "sdk" {
		t.Errorf("signature computed by %q, want the SDK signer", v.signer)
	}
}

// s3RoundTrip puts data, checks how its payload was signed, and gets it
// back.
func s3RoundTrip(t *testing.T, e *testEndpoint, client *s3.Client, bucket, key string, data []byte, useTLS bool, calc aws.RequestChecksumCalculation) {
	t.Helper()
	ctx := context.Background()
	e.reset()
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
		t.Fatalf("PutObject %s (%d bytes): %v", key, len(data), err)
	}
	recs := e.lastRecords()
	got := verifiedOnly(t, recs)
	if len(got) != 1 {
		t.Fatalf("PutObject made %d requests", len(got))
	}
	wantMode := "literal sha256"
	switch {
	case useTLS && calc == aws.RequestChecksumCalculationWhenSupported:
		wantMode = payloadStreamingUnsignedTrailer
	case useTLS:
		wantMode = payloadUnsigned
	}
	mode := got[0].PayloadHash
	if isHexSignature(mode) {
		mode = "literal sha256"
		if got[0].PayloadHash != sha256Hex(data) {
			t.Errorf("literal PayloadHash %s is not the object's hash", got[0].PayloadHash)
		}
	}
	if mode != wantMode {
		t.Errorf("PutObject payload signed as %s, want %s", mode, wantMode)
	}
	if got[0].signer != "sdk" {
		t.Errorf("signature computed by %q, want the SDK signer", got[0].signer)
	}
	if wantMode == payloadStreamingUnsignedTrailer {
		if !strings.Contains(string(recs[0].body), "x-amz-checksum-crc32:") {
			t.Errorf("aws-chunked body has no CRC32 trailer")
		}
	}

	e.reset()
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s: %v", key, err)
	}
	back, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		t.Fatalf("read object: %v", err)
	}
	if !bytes.Equal(back, data) {
		t.Fatalf("GetObject %s returned %d bytes differing from the %d put", key, len(back), len(data))
	}
	verifiedOnly(t, e.lastRecords())
}

// s3SpecialKeys uses keys and query values that need escaping: spaces,
// "+", "~", UTF-8, "%", "&", "=", "?" and a double slash.
func s3SpecialKeys(t *testing.T, e *testEndpoint, client *s3.Client) {
	ctx := context.Background()
	keys := []string{
		"dir/a b+c~d/ü/ß.txt",
		"double//slash/./x",
		"percent%2Fliteral&eq=1?q#h",
		"emoji-\U0001F600 !$'()*,;:@[]",
	}
	for _, key := range keys {
		data := []byte("object " + key)
		e.reset()
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("special"), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
			t.Fatalf("PutObject %q: %v", key, err)
		}
		verifiedOnly(t, e.lastRecords())
		e.reset()
		out, err := client.GetObject(ctx, &s3.GetObjectInput{
			Bucket:                     aws.String("special"),
			Key:                        aws.String(key),
			ResponseContentDisposition: aws.String(`attachment; filename="a b+c~ü.txt"; x=1&y=2`),
		})
		if err != nil {
			t.Fatalf("GetObject %q: %v", key, err)
		}
		back, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(back, data) {
			t.Errorf("GetObject %q = %q", key, back)
		}
		if cd := aws.ToString(out.ContentDisposition); cd != `attachment; filename="a b+c~ü.txt"; x=1&y=2` {
			t.Errorf("Content-Disposition came back as %q", cd)
		}
		verifiedOnly(t, e.lastRecords())
	}
	e.reset()
	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("special"), Prefix: aws.String("dir/a b+c~d/"), StartAfter: aws.String("a=b&c")})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != keys[0] {
		t.Errorf("ListObjectsV2 found %d objects", len(out.Contents))
	}
	verifiedOnly(t, e.lastRecords())
}

// s3Presigned presigns GET and PUT with the SDK's presign client and uses
// the URLs with a plain HTTP client, as a browser or curl would.
func s3Presigned(t *testing.T, e *testEndpoint, client *s3.Client) {
	ctx := context.Background()
	presign := s3.NewPresignClient(client)
	data := []byte("presigned body ü+ ~")
	key := "presigned/a b+c.txt"

	put, err := presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("presign"), Key: aws.String(key)}, s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatalf("PresignPutObject: %v", err)
	}
	e.reset()
	req, _ := http.NewRequest(put.Method, put.URL, bytes.NewReader(data))
	for k, v := range put.SignedHeader {
		if !strings.EqualFold(k, "Host") {
			req.Header[k] = v
		}
	}
	resp, err := e.httpClient().Do(req)
	if err != nil {
		t.Fatalf("presigned PUT: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("presigned PUT: %s (%v)", resp.Status, e.lastRecords()[0].err)
	}
	for _, v := range verifiedOnly(t, e.lastRecords()) {
		if !v.Presigned || v.PayloadHash != payloadUnsigned || v.signer != "sdk" {
			t.Errorf("presigned PUT verified as %+v", v)
		}
	}

	get, err := presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("presign"), Key: aws.String(key)}, s3.WithPresignExpires(15*time.Minute))
	if err != nil {
		t.Fatalf("PresignGetObject: %v", err)
	}
	e.reset()
	resp, err = e.httpClient().Get(get.URL)
	if err != nil {
		t.Fatalf("presigned GET: %v", err)
	}
	back, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(back, data) {
		t.Fatalf("presigned GET: %s %q", resp.Status, back)
	}
	for _, v := range verifiedOnly(t, e.lastRecords()) {
		if !v.Presigned {
			t.Errorf("presigned GET verified as %+v", v)
		}
	}
}

// TestSDKClientRefusals checks that the real clients see the error codes
// AWS sends when their credentials are wrong.
func TestSDKClientRefusals(t *testing.T) {
	ctx := context.Background()
	e := newTestEndpoint(t, testCredentials(), false)
	cases := []struct {
		name            string
		id              identity
		kind            error
		stsCode, s3Code string
	}{
		{"wrong secret", identity{"x", staticKey, staticSecret + "x", ""}, ErrSignatureMismatch, "SignatureDoesNotMatch", "SignatureDoesNotMatch"},
		{"secret of another key", identity{"x", staticKey, sessionSecret, ""}, ErrSignatureMismatch, "SignatureDoesNotMatch", "SignatureDoesNotMatch"},
		{"unknown key", identity{"x", "AKIAUNKNOWNKEY000000", staticSecret, ""}, ErrUnknownAccessKey, "InvalidClientTokenId", "InvalidAccessKeyId"},
		{"wrong session token", identity{"x", sessionKey, sessionSecret, sessionToken + "x"}, ErrInvalidToken, "InvalidClientTokenId", "InvalidToken"},
		{"session key without its token", identity{"x", sessionKey, sessionSecret, ""}, ErrInvalidToken, "InvalidClientTokenId", "InvalidToken"},
		{"token with a long-term key", identity{"x", staticKey, staticSecret, sessionToken}, ErrInvalidToken, "InvalidClientTokenId", "InvalidToken"},
		{"expired session", identity{"x", expiredKey, sessionSecret, sessionToken}, ErrExpiredToken, "ExpiredToken", "ExpiredToken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.reset()
			client := sts.NewFromConfig(sdkConfig(e, tc.id), func(o *sts.Options) { o.BaseEndpoint = aws.String(e.URL) })
			_, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if code := apiErrorCode(err); code != tc.stsCode {
				t.Errorf("STS error = %v, want code %s", err, tc.stsCode)
			}
			s3c := s3Client(e, tc.id, e.URL, true, aws.RequestChecksumCalculationWhenSupported)
			_, err = s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Body: strings.NewReader("data")})
			if code := apiErrorCode(err); code != tc.s3Code {
				t.Errorf("S3 error = %v, want code %s", err, tc.s3Code)
			}
			for _, k := range errorKinds(e.lastRecords()) {
				if k != tc.kind {
					t.Errorf("endpoint recorded %v, want %v", k, tc.kind)
				}
			}
			if n := len(e.lastRecords()); n != 2 {
				t.Errorf("endpoint saw %d requests, want 2", n)
			}
		})
	}
}

func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
