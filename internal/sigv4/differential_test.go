package sigv4

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// randomRequest builds a request with awkward paths, queries and headers:
// repeated keys, reserved and UTF-8 characters, runs of spaces, multiple
// values, an occasional header the SDK signer refuses to sign.
func randomRequest(rng *rand.Rand) (r *http.Request, names []string) {
	pieces := []string{"a", "B", "0", "-", "_", ".", "~", "%20", "+", "%2B", "%2F", "%25", "!", "$", "'", "(", ")", "*", ",", ";", ":", "@", "=", "&", "\u00fc", "%C3%BC", "%e2%82%ac"}
	pick := func(n int) string {
		var b strings.Builder
		for range rng.IntN(n) + 1 {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	var path strings.Builder
	for range rng.IntN(4) {
		path.WriteString("/")
		switch rng.IntN(6) {
		case 0:
			path.WriteString(".")
		case 1:
			path.WriteString("..")
		case 2:
			// an empty segment: "//"
		default:
			path.WriteString(strings.NewReplacer("&", "%26", "=", "%3D").Replace(pick(5)))
		}
	}
	if path.Len() == 0 {
		path.WriteString("/")
	}

	q := url.Values{}
	for range rng.IntN(5) {
		k := pick(3)
		for range rng.IntN(3) + 1 {
			q.Add(k, pick(4))
		}
	}
	target := path.String()
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	methods := []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead}
	r = httptest.NewRequest(methods[rng.IntN(len(methods))], target, nil)
	r.Host = []string{"localhost:4566", "bucket.127.0.0.1.nip.io:4566", "bucket.localhost", "[::1]:8443"}[rng.IntN(4)]

	values := []string{"v", "a  b", " lead", "trail  ", "in\tside", "x   y  z", "", "\"q  q\"", "ü", "a,b"}
	headerNames := []string{"content-type", "x-amz-meta-a", "x-amz-meta-b_c", "x-custom", "range", "content-md5", "x-amz-acl", "if-match"}
	if rng.IntN(4) == 0 {
		headerNames = append(headerNames, "user-agent", "expect", "x-amzn-trace-id")
	}
	names = []string{"host", "x-amz-date"}
	for _, h := range headerNames {
		if rng.IntN(2) == 0 {
			continue
		}
		for range rng.IntN(3) + 1 {
			r.Header.Add(h, values[rng.IntN(len(values))])
		}
		names = append(names, h)
	}
	if rng.IntN(3) == 0 {
		r.Header.Set("Content-Length", fmt.Sprint(rng.IntN(3)))
		names = append(names, "content-length")
	}
	sort.Strings(names)
	return r, names
}

// TestSDKAndOwnCanonicalAgree holds the package's own canonical request to
// the SDK signer's over generated requests: wherever the SDK can sign what
// the client listed, both must produce the same signature for every
// canonical URI form.
func TestSDKAndOwnCanonicalAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	compared, refused := 0, 0
	for i := range 3000 {
		r, names := randomRequest(rng)
		service := []string{"s3", "execute-api", "eks"}[rng.IntN(3)]
		date := "20240203T040506Z"
		cred := "AKIDDIFF/20240203/us-east-1/" + service + "/aws4_request"
		presigned := rng.IntN(3) == 0
		if presigned {
			q, _ := url.ParseQuery(r.URL.RawQuery)
			q.Set("X-Amz-Algorithm", algorithm)
			q.Set("X-Amz-Credential", cred)
			q.Set("X-Amz-Date", date)
			q.Set("X-Amz-Expires", "300")
			q.Set("X-Amz-SignedHeaders", strings.Join(names, ";"))
			q.Set("X-Amz-Signature", strings.Repeat("0", 64))
			path, _, _ := strings.Cut(r.RequestURI, "?")
			r.RequestURI = path + "?" + q.Encode()
			r.URL, _ = url.ParseRequestURI(r.RequestURI)
			r.Header.Set("X-Amz-Date", date)
		} else {
			r.Header.Set("X-Amz-Date", date)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+cred+", SignedHeaders="+strings.Join(names, ";")+", Signature="+strings.Repeat("0", 64))
		}
		a, err := parseAuth(r)
		if err != nil {
			t.Fatalf("case %d: parse: %v\n%s %s", i, err, r.Method, r.RequestURI)
		}
		in := newSigningInput(r, a, sha256Hex([]byte(fmt.Sprint(i))))
		key := signingKey("secret/+=", in.scope)
		for _, uri := range in.uris {
			own := in.ownSignature(key, uri)
			if !in.sdkCanSign() {
				refused++
				continue
			}
			sdk, ok := in.sdkSignature(context.Background(), "secret/+=", uri)
			if !ok {
				refused++
				continue
			}
			compared++
			if sdk != own {
				t.Fatalf("case %d: SDK signature %s, own %s\n%s %s\nheaders %q\ncanonical:\n%s", i, sdk, own, r.Method, r.RequestURI, r.Header, in.canonicalRequest(uri))
			}
		}
	}
	t.Logf("compared %d signatures; the SDK could not reproduce %d", compared, refused)
	if compared < 2000 || refused == 0 {
		t.Fatalf("compared %d and refused %d: the generator no longer covers both paths", compared, refused)
	}
}

// TestVerifySDKSignedRandomRequests signs generated requests with the SDK
// as a client would and checks Verify accepts them and refuses them with a
// wrong secret.
func TestVerifySDKSignedRandomRequests(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	creds := StaticCredentials{"AKIDRAND": {Secret: "rand/secret+="}}
	now := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	for i := range 500 {
		r, _ := randomRequest(rng)
		for _, h := range []string{"User-Agent", "Expect", "X-Amzn-Trace-Id", "Content-Length"} {
			r.Header.Del(h)
		}
		service := []string{"s3", "sts", "eks"}[rng.IntN(3)]
		payload := emptySHA256
		if service == "s3" {
			r.Header.Set("X-Amz-Content-Sha256", payload)
		}
		// Sign over the path as sent: the SDK takes it from Opaque.
		path, _, _ := strings.Cut(r.RequestURI, "?")
		signReq := r.Clone(context.Background())
		signReq.URL = &url.URL{Opaque: "//" + r.Host + path, RawQuery: r.URL.RawQuery}
		err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDRAND", SecretAccessKey: "rand/secret+="},
			signReq, payload, service, "us-east-1", now, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" })
		if err != nil {
			t.Fatal(err)
		}
		r.Header = signReq.Header
		if _, err := Verify(context.Background(), r, creds, now); err != nil {
			t.Fatalf("case %d: Verify(%s %s, %s) = %v\nheaders %q", i, r.Method, r.RequestURI, service, err, r.Header)
		}
		if !ownSignatureMatches(t, r, creds) {
			t.Fatalf("case %d: own canonical request does not reproduce the SDK client's signature", i)
		}
		wrong := StaticCredentials{"AKIDRAND": {Secret: "rand/secret+=x"}}
		if _, err := Verify(context.Background(), r, wrong, now); err == nil {
			t.Fatalf("case %d: verified with the wrong secret", i)
		}
	}
}
