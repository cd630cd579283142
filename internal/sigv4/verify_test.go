package sigv4

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var unitTime = time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)

// sdkSigned returns a request signed by the SDK as a client, with the
// given secret.
func sdkSigned(t testing.TB, method, target, service, secret, token string, body []byte, presign bool) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, "http://localhost:4566"+target, bytes.NewReader(body))
	payload := sha256Hex(body)
	if service == "s3" {
		if presign {
			payload = payloadUnsigned
		} else {
			r.Header.Set("X-Amz-Content-Sha256", payload)
		}
	}
	creds := aws.Credentials{AccessKeyID: staticKey, SecretAccessKey: secret, SessionToken: token}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
	if presign {
		q := r.URL.Query()
		q.Set("X-Amz-Expires", "900")
		r.URL.RawQuery = q.Encode()
		u, _, err := signer.PresignHTTP(context.Background(), creds, r, payload, service, "us-east-1", unitTime)
		if err != nil {
			t.Fatal(err)
		}
		r = httptest.NewRequest(method, u, bytes.NewReader(body))
	} else if err := signer.SignHTTP(context.Background(), creds, r, payload, service, "us-east-1", unitTime); err != nil {
		t.Fatal(err)
	}
	r.RequestURI = r.URL.RequestURI()
	return r
}

// TestChangedSecretIsHonoured guards against the SDK signer's derived-key
// cache, which ignores the secret: once a key's secret changes, the old one
// must stop verifying at once, on the same day, in the same region.
func TestChangedSecretIsHonoured(t *testing.T) {
	secret := "first/secret"
	creds := CredentialsFunc(func(context.Context, string, string) (string, error) { return secret, nil })
	for _, presign := range []bool{false, true} {
		old := sdkSigned(t, http.MethodGet, "/b/k", "s3", "first/secret", "", nil, presign)
		if _, err := Verify(context.Background(), old, creds, unitTime); err != nil {
			t.Fatalf("presign=%v: Verify with the current secret: %v", presign, err)
		}
		secret = "second/secret"
		stale := sdkSigned(t, http.MethodGet, "/b/k", "s3", "first/secret", "", nil, presign)
		if _, err := Verify(context.Background(), stale, creds, unitTime); !errors.Is(err, ErrSignatureMismatch) {
			t.Fatalf("presign=%v: Verify with the replaced secret = %v, want ErrSignatureMismatch", presign, err)
		}
		fresh := sdkSigned(t, http.MethodGet, "/b/k", "s3", "second/secret", "", nil, presign)
		if _, err := Verify(context.Background(), fresh, creds, unitTime); err != nil {
			t.Fatalf("presign=%v: Verify with the new secret: %v", presign, err)
		}
		secret = "first/secret"
	}
}

// TestSDKSignerCacheIgnoresSecret records why signerFor keys signers by
// secret: one SDK signer, asked for two secrets of one key on one day,
// signs with the first for both. If this starts failing the SDK has fixed
// its cache and one shared signer would do.
func TestSDKSignerCacheIgnoresSecret(t *testing.T) {
	signer := v4.NewSigner()
	sign := func(secret string) string {
		r := httptest.NewRequest(http.MethodGet, "http://localhost/", nil)
		err := signer.SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: secret}, r, emptySHA256, "sts", "us-east-1", unitTime)
		if err != nil {
			t.Fatal(err)
		}
		return r.Header.Get("Authorization")
	}
	if a, b := sign("one"), sign("two"); a != b {
		t.Fatalf("the SDK signer now tells secrets apart:\n%s\n%s", a, b)
	}
}

func TestParse(t *testing.T) {
	header := sdkSigned(t, http.MethodPost, "/", "sts", staticSecret, "", []byte("Action=GetCallerIdentity"), false)
	presigned := sdkSigned(t, http.MethodGet, "/bucket/key", "s3", staticSecret, "", nil, true)
	cases := []struct {
		name   string
		r      *http.Request
		want   Scope
		ok     bool
		errKnd error
	}{
		{"header", header, Scope{AccessKeyID: staticKey, Date: "20240304", Region: "us-east-1", Service: "sts"}, true, nil},
		{"presigned", presigned, Scope{AccessKeyID: staticKey, Date: "20240304", Region: "us-east-1", Service: "s3", Presigned: true}, true, nil},
		{"unsigned", httptest.NewRequest(http.MethodGet, "/bucket/key?list-type=2", nil), Scope{}, false, nil},
		{"unparseable query, unsigned", httptest.NewRequest(http.MethodGet, "/?a=%zz", nil), Scope{}, false, nil},
		{"Signature Version 2 query", httptest.NewRequest(http.MethodGet, "/b/k?AWSAccessKeyId=AKID&Signature=x&Expires=1", nil), Scope{}, false, ErrMalformed},
		{"garbage header", withHeader("Authorization", "AWS4-HMAC-SHA256 Credential=x"), Scope{}, false, ErrMalformed},
		{"Signature Version 4A", withHeader("Authorization", "AWS4-ECDSA-P256-SHA256 Credential=x"), Scope{}, false, ErrMalformed},
		{"bad region characters", withHeader("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240304/us-east-1, Signature=x/s3/aws4_request, SignedHeaders=host, Signature=00"), Scope{}, false, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := Parse(tc.r)
			if tc.errKnd != nil {
				if !errors.Is(err, tc.errKnd) {
					t.Fatalf("Parse error = %v, want %v", err, tc.errKnd)
				}
				return
			}
			if err != nil || ok != tc.ok || got != tc.want {
				t.Fatalf("Parse = %+v, %v, %v; want %+v, %v", got, ok, err, tc.want, tc.ok)
			}
		})
	}
}

func withHeader(k, v string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set(k, v)
	r.Header.Set("X-Amz-Date", unitTime.Format(timeFormat))
	return r
}

func TestToWire(t *testing.T) {
	cases := []struct {
		err    error
		p      Protocol
		code   string
		status int
	}{
		{newError(ErrUnknownAccessKey, false, ""), ProtocolS3, "InvalidAccessKeyId", 403},
		{newError(ErrUnknownAccessKey, false, ""), ProtocolQuery, "InvalidClientTokenId", 403},
		{newError(ErrUnknownAccessKey, false, ""), ProtocolJSON, "UnrecognizedClientException", 403},
		{newError(ErrInvalidToken, false, ""), ProtocolS3, "InvalidToken", 400},
		{newError(ErrInvalidToken, false, ""), ProtocolQuery, "InvalidClientTokenId", 403},
		{newError(ErrExpiredToken, false, ""), ProtocolS3, "ExpiredToken", 400},
		{newError(ErrExpiredToken, false, ""), ProtocolQuery, "ExpiredToken", 403},
		{newError(ErrExpiredToken, false, ""), ProtocolJSON, "ExpiredTokenException", 400},
		{newError(ErrSignatureMismatch, false, ""), ProtocolS3, "SignatureDoesNotMatch", 403},
		{newError(ErrSignatureMismatch, false, ""), ProtocolQuery, "SignatureDoesNotMatch", 403},
		{newError(ErrSignatureMismatch, false, ""), ProtocolJSON, "InvalidSignatureException", 403},
		{newError(ErrRequestExpired, false, "Signature expired: x"), ProtocolS3, "RequestTimeTooSkewed", 403},
		{newError(ErrRequestExpired, true, msgPresignExpired), ProtocolS3, "AccessDenied", 403},
		{newError(ErrRequestExpired, false, "Signature expired: x"), ProtocolQuery, "SignatureDoesNotMatch", 403},
		{newError(ErrContentSHA256Mismatch, false, ""), ProtocolS3, "XAmzContentSHA256Mismatch", 400},
		{newError(ErrContentSHA256Mismatch, false, ""), ProtocolQuery, "SignatureDoesNotMatch", 403},
		{newError(ErrMalformed, false, "x"), ProtocolS3, "AuthorizationHeaderMalformed", 400},
		{newError(ErrMalformed, true, "x"), ProtocolS3, "AuthorizationQueryParametersError", 400},
		{newError(ErrMalformed, false, "x"), ProtocolQuery, "IncompleteSignature", 400},
		{newError(ErrMissingAuthentication, false, ""), ProtocolS3, "AccessDenied", 403},
		{newError(ErrMissingAuthentication, false, ""), ProtocolQuery, "MissingAuthenticationToken", 403},
		{newError(ErrUnsignedHeaders, false, msgUnsignedHeaders+": x-amz-acl"), ProtocolS3, "AccessDenied", 403},
	}
	for _, tc := range cases {
		w, ok := ToWire(tc.err, tc.p)
		if !ok || w.Code != tc.code || w.Status != tc.status || w.Message == "" {
			t.Errorf("ToWire(%v, %d) = %+v, %v; want %s %d", tc.err, tc.p, w, ok, tc.code, tc.status)
		}
	}
	if w, _ := ToWire(newError(ErrSignatureMismatch, false, ""), ProtocolQuery); w.Message != msgSignatureMismatch {
		t.Errorf("Query signature message = %q", w.Message)
	}
	if _, ok := ToWire(errors.New("database down"), ProtocolS3); ok {
		t.Errorf("ToWire mapped an error that is no verification failure")
	}
	if w, ok := ToWire(io.EOF, ProtocolQuery); ok {
		t.Errorf("ToWire(io.EOF) = %+v", w)
	}
}

func TestCredentialsErrors(t *testing.T) {
	cause := errors.New("session 42 ended")
	cases := []struct {
		name    string
		lookup  func() (string, error)
		kind    error
		mapped  bool
		keepErr error
	}{
		{"wrapped expired", func() (string, error) { return "", errors.Join(cause, ErrExpiredToken) }, ErrExpiredToken, true, cause},
		{"bare unknown", func() (string, error) { return "", ErrUnknownAccessKey }, ErrUnknownAccessKey, true, nil},
		{"own *Error", func() (string, error) {
			return "", &Error{Kind: ErrInvalidToken, Message: "The security token included in the request is invalid."}
		}, ErrInvalidToken, true, nil},
		{"other failure", func() (string, error) { return "", cause }, nil, false, cause},
		{"empty secret", func() (string, error) { return "", nil }, nil, false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			creds := CredentialsFunc(func(context.Context, string, string) (string, error) { return tc.lookup() })
			r := sdkSigned(t, http.MethodGet, "/b/k", "s3", staticSecret, "", nil, true)
			_, err := Verify(context.Background(), r, creds, unitTime)
			if err == nil {
				t.Fatal("Verify succeeded")
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("Verify = %v, want kind %v", err, tc.kind)
			}
			if tc.keepErr != nil && !errors.Is(err, tc.keepErr) {
				t.Errorf("Verify = %v lost the original error", err)
			}
			var e *Error
			if errors.As(err, &e) != tc.mapped {
				t.Errorf("Verify = %#v, *Error %v, want %v", err, !tc.mapped, tc.mapped)
			}
			if tc.mapped && !e.Presigned {
				t.Errorf("Verify error does not say the request was presigned")
			}
		})
	}
}

func TestStaticCredentials(t *testing.T) {
	c := StaticCredentials{"A": {Secret: "s"}, "B": {Secret: "t", SessionToken: "tok"}}
	for _, tc := range []struct {
		id, token, secret string
		kind              error
	}{
		{"A", "", "s", nil},
		{"A", "tok", "", ErrInvalidToken},
		{"B", "tok", "t", nil},
		{"B", "", "", ErrInvalidToken},
		{"B", "tok2", "", ErrInvalidToken},
		{"C", "", "", ErrUnknownAccessKey},
	} {
		s, err := c.Lookup(context.Background(), tc.id, tc.token)
		if s != tc.secret || !errors.Is(err, tc.kind) || (tc.kind == nil && err != nil) {
			t.Errorf("Lookup(%s, %q) = %q, %v", tc.id, tc.token, s, err)
		}
	}
}

// TestLargeBodies checks the bodies Verify does not hold whole.
func TestLargeBodies(t *testing.T) {
	defer func(n int64) { maxBufferedBody = n }(maxBufferedBody)
	maxBufferedBody = 1024
	creds := StaticCredentials{staticKey: {Secret: staticSecret}}
	body := patterned(5000)

	r := sdkSigned(t, http.MethodPut, "/b/k", "s3", staticSecret, "", body, false)
	if _, err := Verify(context.Background(), r, creds, unitTime); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got, err := io.ReadAll(r.Body); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read = %d bytes, %v", len(got), err)
	}

	r = sdkSigned(t, http.MethodPut, "/b/k", "s3", staticSecret, "", body, false)
	tampered := bytes.Clone(body)
	tampered[4000] ^= 1
	r.Body = io.NopCloser(bytes.NewReader(tampered))
	if _, err := Verify(context.Background(), r, creds, unitTime); err != nil {
		t.Fatalf("Verify (checked while read): %v", err)
	}
	if _, err := io.ReadAll(r.Body); !errors.Is(err, ErrContentSHA256Mismatch) {
		t.Fatalf("read of a tampered large body = %v, want ErrContentSHA256Mismatch", err)
	}

	r = sdkSigned(t, http.MethodPost, "/", "sts", staticSecret, "", body, false)
	if _, err := Verify(context.Background(), r, creds, unitTime); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Verify of an oversized Query body = %v, want ErrMalformed", err)
	}
}

// ownSigned signs r through the package's own canonical request, for the
// request shapes the SDK signer cannot produce.
func ownSigned(t testing.TB, r *http.Request, names []string, payload string) {
	t.Helper()
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+staticKey+"/20240304/us-east-1/s3/aws4_request, SignedHeaders="+strings.Join(names, ";")+", Signature="+strings.Repeat("0", 64))
	a, err := parseAuth(r)
	if err != nil {
		t.Fatal(err)
	}
	in := newSigningInput(r, a, payload)
	sig := in.ownSignature(signingKey(staticSecret, in.scope), in.uris[0])
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+staticKey+"/20240304/us-east-1/s3/aws4_request, SignedHeaders="+strings.Join(names, ";")+", Signature="+sig)
}

// TestDateHeaderAuthentication covers requests dated by Date alone, which
// SigV4 allows and the SDK signer cannot reproduce.
func TestDateHeaderAuthentication(t *testing.T) {
	creds := StaticCredentials{staticKey: {Secret: staticSecret}}
	build := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://localhost:4566/b/k", nil)
		r.RequestURI = "/b/k"
		r.Header.Set("Date", unitTime.Format(http.TimeFormat))
		r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
		ownSigned(t, r, []string{"date", "host", "x-amz-content-sha256"}, emptySHA256)
		return r
	}
	v, err := Verify(context.Background(), build(), creds, unitTime.Add(time.Minute))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if v.signer != "own" || !v.SigningTime.Equal(unitTime) {
		t.Errorf("verified %+v", v)
	}
	r := build()
	r.Header.Set("Date", unitTime.Add(time.Second).Format(http.TimeFormat))
	if _, err := Verify(context.Background(), r, creds, unitTime); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("Verify with Date changed = %v", err)
	}
	if _, err := Verify(context.Background(), build(), creds, unitTime.Add(16*time.Minute)); !errors.Is(err, ErrRequestExpired) {
		t.Errorf("Verify 16 minutes after Date = %v", err)
	}
}

// TestPresignedQueryServiceWithoutExpiry: outside S3, X-Amz-Expires may be
// left out; the URL then lives as long as a header signature would.
func TestPresignedQueryServiceWithoutExpiry(t *testing.T) {
	creds := StaticCredentials{staticKey: {Secret: staticSecret}}
	r := httptest.NewRequest(http.MethodGet, "http://localhost:4566/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: staticKey, SecretAccessKey: staticSecret}, r, emptySHA256, "sts", "us-east-1", unitTime)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		after time.Duration
		want  error
	}{{14 * time.Minute, nil}, {16 * time.Minute, ErrRequestExpired}} {
		r := httptest.NewRequest(http.MethodGet, u, nil)
		r.RequestURI = r.URL.RequestURI()
		if _, err := Verify(context.Background(), r, creds, unitTime.Add(tc.after)); !errors.Is(err, tc.want) && (tc.want != nil || err != nil) {
			t.Errorf("after %s: Verify = %v, want %v", tc.after, err, tc.want)
		}
	}
}

func TestS3PayloadRules(t *testing.T) {
	creds := StaticCredentials{staticKey: {Secret: staticSecret}}
	r := sdkSigned(t, http.MethodGet, "/b/k", "s3", staticSecret, "", nil, false)
	r.Header.Del("X-Amz-Content-Sha256")
	if _, err := Verify(context.Background(), r, creds, unitTime); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "x-amz-content-sha256") {
		t.Errorf("S3 without x-amz-content-sha256: %v", err)
	}
	for _, v := range []string{"STREAMING-AWS4-HMAC-SHA256-EVENTS", "streaming-unsigned-payload-trailer", strings.ToUpper(emptySHA256), "abc"} {
		r := sdkSigned(t, http.MethodGet, "/b/k", "s3", staticSecret, "", nil, false)
		r.Header.Set("X-Amz-Content-Sha256", v)
		if _, err := Verify(context.Background(), r, creds, unitTime); !errors.Is(err, ErrMalformed) {
			t.Errorf("x-amz-content-sha256 %q: %v", v, err)
		}
	}
	// A streaming payload cannot be presigned: there is no seed signature
	// to chain chunks from.
	r = sdkSigned(t, http.MethodPut, "/b/k", "s3", staticSecret, "", nil, true)
	q, _ := url.ParseQuery(r.URL.RawQuery)
	q.Set("X-Amz-Content-Sha256", payloadStreamingSigned)
	r.URL.RawQuery = q.Encode()
	r.RequestURI = r.URL.RequestURI()
	if _, err := Verify(context.Background(), r, creds, unitTime); !errors.Is(err, ErrMalformed) {
		t.Errorf("presigned streaming payload: %v", err)
	}
	// Outside S3 the body is hashed whatever the header claims.
	r = sdkSigned(t, http.MethodPost, "/", "sts", staticSecret, "", []byte("Action=GetCallerIdentity"), false)
	r.Header.Set("X-Amz-Content-Sha256", payloadUnsigned)
	if _, err := Verify(context.Background(), r, creds, unitTime); !errors.Is(err, ErrContentSHA256Mismatch) {
		t.Errorf("STS with UNSIGNED-PAYLOAD: %v", err)
	}
}

// TestHostAsReceived: the Host header is signed exactly as sent, port and
// case included.
func TestHostAsReceived(t *testing.T) {
	creds := StaticCredentials{staticKey: {Secret: staticSecret}}
	for _, host := range []string{"localhost:4566", "Bucket.LocalHost:4566", "bucket.127.0.0.1.nip.io:4566", "[::1]:8443", "localhost:80", "localhost"} {
		r := httptest.NewRequest(http.MethodGet, "/b/k", nil)
		r.Host = host
		r.Header.Set("X-Amz-Date", unitTime.Format(timeFormat))
		r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
		ownSigned(t, r, []string{"host", "x-amz-content-sha256", "x-amz-date"}, emptySHA256)
		v, err := Verify(context.Background(), r, creds, unitTime)
		if err != nil {
			t.Errorf("host %s: %v", host, err)
			continue
		}
		if v.signer != "sdk" {
			t.Errorf("host %s verified by %q, want the SDK signer", host, v.signer)
		}
		for _, other := range []string{strings.ToLower(host), host + "0", "localhost:4567"} {
			if other == host {
				continue
			}
			r2 := r.Clone(context.Background())
			r2.Host = other
			if _, err := Verify(context.Background(), r2, creds, unitTime); !errors.Is(err, ErrSignatureMismatch) {
				t.Errorf("signed for %s, sent to %s: %v", host, other, err)
			}
		}
	}
}

// TestSessionTokenPlacement: the token may travel in the header or, signed
// with the rest of the query, in the query string; either way Credentials
// gets it, and decides even for keys that take none.
func TestSessionTokenPlacement(t *testing.T) {
	var seen []string
	creds := CredentialsFunc(func(_ context.Context, id, token string) (string, error) {
		seen = append(seen, token)
		return staticSecret, nil
	})
	header := sdkSigned(t, http.MethodGet, "/b/k", "s3", staticSecret, "tok/+=", nil, false)
	presigned := sdkSigned(t, http.MethodGet, "/b/k", "s3", staticSecret, "tok/+=", nil, true)
	inQuery := httptest.NewRequest(http.MethodPost, "http://localhost:4566/?X-Amz-Security-Token=tok%2F%2B%3D", strings.NewReader("Action=GetCallerIdentity"))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: staticKey, SecretAccessKey: staticSecret}, inQuery,
		sha256Hex([]byte("Action=GetCallerIdentity")), "sts", "us-east-1", unitTime)
	if err != nil {
		t.Fatal(err)
	}
	inQuery.RequestURI = inQuery.URL.RequestURI()
	for name, r := range map[string]*http.Request{"header": header, "presigned": presigned, "query with header auth": inQuery} {
		seen = nil
		v, err := Verify(context.Background(), r, creds, unitTime)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v.SessionToken != "tok/+=" || len(seen) != 1 || seen[0] != "tok/+=" {
			t.Errorf("%s: Request token %q, Credentials saw %q", name, v.SessionToken, seen)
		}
	}
}
