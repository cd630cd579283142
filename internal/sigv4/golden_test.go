package sigv4

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The credentials of AWS's published examples: the SigV4 test suite (the
// aws-sig-v4-test-suite cases, as kept in awslabs/aws-c-auth) and the S3 API
// reference's signature examples. The expected signatures below are AWS's,
// not computed by this package.
const (
	suiteKey    = "AKIDEXAMPLE"
	suiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	suiteDate   = "20150830T123600Z"
	suiteCred   = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
	suiteToken  = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"

	s3DocKey    = "AKIAIOSFODNN7EXAMPLE"
	s3DocSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	s3DocDate   = "20130524T000000Z"
	s3DocCred   = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

var (
	suiteTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	s3DocTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
)

func docCredentials() StaticCredentials {
	return StaticCredentials{
		suiteKey: {Secret: suiteSecret},
		s3DocKey: {Secret: s3DocSecret},
	}
}

// readRequest parses raw as a server would, so RequestURI, Host and the
// header map are exactly what a handler sees.
func readRequest(t testing.TB, raw string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("read request: %v\n%s", err, raw)
	}
	return r
}

func suiteAuth(signedHeaders, sig string) string {
	return "Authorization: AWS4-HMAC-SHA256 Credential=" + suiteCred + ", SignedHeaders=" + signedHeaders + ", Signature=" + sig + "\r\n"
}

func TestGoldenVectors(t *testing.T) {
	const host = "Host: example.amazonaws.com\r\n"
	const date = "X-Amz-Date: " + suiteDate + "\r\n"
	cases := []struct {
		name string
		raw  string
		now  time.Time
		// body is what the handler must read after Verify.
		body string
	}{
		{"get-vanilla", "GET / HTTP/1.1\r\n" + host + date +
			suiteAuth("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31") + "\r\n", suiteTime, ""},
		{"get-vanilla-query-order-key-case", "GET /?Param2=value2&Param1=value1 HTTP/1.1\r\n" + host + date +
			suiteAuth("host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500") + "\r\n", suiteTime, ""},
		{"get-vanilla-query-unreserved", "GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\r\n" + host + date +
			suiteAuth("host;x-amz-date", "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197") + "\r\n", suiteTime, ""},
		{"get-vanilla-query-order-encoded", "GET /?Param-3=Value3&Param=Value2&%E1%88%B4=Value1 HTTP/1.1\r\n" + host + date +
			suiteAuth("host;x-amz-date", "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac") + "\r\n", suiteTime, ""},
		{"get-vanilla-utf8-query", "GET /?\u1234=bar HTTP/1.1\r\n" + host + date +
			suiteAuth("host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04") + "\r\n", suiteTime, ""},
		{"get-utf8", "GET /\u1234 HTTP/1.1\r\n" + host + date +
			suiteAuth("host;x-amz-date", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85") + "\r\n", suiteTime, ""},
		{"get-unreserved", "GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\r\n" + host + date +
			suiteAuth("host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f") + "\r\n", suiteTime, ""},
		{"get-slashes-normalized", "GET //example// HTTP/1.1\r\n" + host + date +
			suiteAuth("host;x-amz-date", "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84") + "\r\n", suiteTime, ""},
		{"get-slashes-unnormalized", "GET //example// HTTP/1.1\r\n" + host + date +
			suiteAuth("host;x-amz-date", "87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5") + "\r\n", suiteTime, ""},
		{"get-relative-relative-normalized", "GET /example1/example2/../.. HTTP/1.1\r\n" + host + date +
			suiteAuth("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31") + "\r\n", suiteTime, ""},
		{"get-relative-relative-unnormalized", "GET /example1/example2/../.. HTTP/1.1\r\n" + host + date +
			suiteAuth("host;x-amz-date", "dc33e0856fd4baca4d7aa2146c38958283844764f38c74252a333df5e613003b") + "\r\n", suiteTime, ""},
		{"get-slash-dot-slash-normalized", "GET /./ HTTP/1.1\r\n" + host + date +
			suiteAuth("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31") + "\r\n", suiteTime, ""},
		{"get-header-value-trim", "GET / HTTP/1.1\r\n" + host + "My-Header1: value1\r\nMy-Header2: \"a   b   c\"\r\n" + date +
			suiteAuth("host;my-header1;my-header2;x-amz-date", "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736") + "\r\n", suiteTime, ""},
		{"get-header-key-duplicate", "GET / HTTP/1.1\r\n" + host + "My-Header1:value2\r\nMy-Header1:value2\r\nMy-Header1:value1\r\n" + date +
			suiteAuth("host;my-header1;x-amz-date", "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea") + "\r\n", suiteTime, ""},
		{"get-header-value-order", "GET / HTTP/1.1\r\n" + host + "My-Header1:value4\r\nMy-Header1:value1\r\nMy-Header1:value3\r\nMy-Header1:value2\r\n" + date +
			suiteAuth("host;my-header1;x-amz-date", "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01") + "\r\n", suiteTime, ""},
		{"post-vanilla", "POST / HTTP/1.1\r\n" + host + date +
			suiteAuth("host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b") + "\r\n", suiteTime, ""},
		{"post-vanilla-query", "POST /?Param1=value1 HTTP/1.1\r\n" + host + date +
			suiteAuth("host;x-amz-date", "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11") + "\r\n", suiteTime, ""},
		{"post-header-value-case", "POST / HTTP/1.1\r\n" + host + "My-Header1:VALUE1\r\n" + date +
			suiteAuth("host;my-header1;x-amz-date", "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d") + "\r\n", suiteTime, ""},
		{"get-vanilla-with-session-token", "GET / HTTP/1.1\r\n" + host + "X-Amz-Security-Token: " + suiteToken + "\r\n" + date +
			suiteAuth("host;x-amz-date;x-amz-security-token", "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8") + "\r\n", suiteTime, ""},
		{"post-x-www-form-urlencoded-parameters", "POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n" + host +
			"Content-Length: 13\r\n" + date + "X-Amz-Content-Sha256: 9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\r\n" +
			suiteAuth("content-length;content-type;host;x-amz-content-sha256;x-amz-date", "328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422") +
			"\r\nParam1=value1", suiteTime, "Param1=value1"},
		{"post-x-www-form-urlencoded", "POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n" + host +
			"Content-Length: 13\r\n" + date + "X-Amz-Content-Sha256: 9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\r\n" +
			suiteAuth("content-length;content-type;host;x-amz-content-sha256;x-amz-date", "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b") +
			"\r\nParam1=value1", suiteTime, "Param1=value1"},

		// Query-string (presigned) forms of the same suite cases.
		{"get-vanilla presigned", "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d HTTP/1.1\r\n" + host + "\r\n",
			suiteTime.Add(time.Hour), ""},
		{"get-vanilla-with-session-token presigned", "GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Security-Token=" + suiteToken + "&X-Amz-Signature=7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c HTTP/1.1\r\n" + host + "\r\n",
			suiteTime, ""},
		{"post-x-www-form-urlencoded-parameters presigned", "POST /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost&X-Amz-Expires=3600&X-Amz-Signature=0dbeb9b026c7b6675f266b8427efec9b4fa8b1f6ef1477d717aea231106eab4d HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n" + host + "Content-Length: 13\r\n\r\nParam1=value1",
			suiteTime, "Param1=value1"},

		// S3 API reference, "Signature Calculations for the Authorization
		// Header" and "Authenticating Requests: Using Query Parameters".
		{"s3 GET object", "GET /test.txt HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\nRange: bytes=0-9\r\nx-amz-content-sha256: " + emptySHA256 + "\r\nx-amz-date: " + s3DocDate + "\r\n" +
			"Authorization: AWS4-HMAC-SHA256 Credential=" + s3DocCred + ",SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41\r\n\r\n", s3DocTime, ""},
		{"s3 PUT object", "PUT /test%24file.text HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\nDate: Fri, 24 May 2013 00:00:00 GMT\r\nx-amz-date: " + s3DocDate + "\r\nx-amz-storage-class: REDUCED_REDUNDANCY\r\n" +
			"x-amz-content-sha256: 44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\r\nContent-Length: 21\r\n" +
			"Authorization: AWS4-HMAC-SHA256 Credential=" + s3DocCred + ",SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd\r\n\r\nWelcome to Amazon S3.", s3DocTime, "Welcome to Amazon S3."},
		{"s3 GET bucket lifecycle", "GET /?lifecycle HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\nx-amz-date: " + s3DocDate + "\r\nx-amz-content-sha256: " + emptySHA256 + "\r\n" +
			"Authorization: AWS4-HMAC-SHA256 Credential=" + s3DocCred + ",SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543\r\n\r\n", s3DocTime, ""},
		{"s3 GET bucket list objects", "GET /?max-keys=2&prefix=J HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\nx-amz-date: " + s3DocDate + "\r\nx-amz-content-sha256: " + emptySHA256 + "\r\n" +
			"Authorization: AWS4-HMAC-SHA256 Credential=" + s3DocCred + ",SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7\r\n\r\n", s3DocTime, ""},
		{"s3 presigned GET object", "GET /test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404 HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\n\r\n",
			s3DocTime.Add(23 * time.Hour), ""},
	}
	creds := docCredentials()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := readRequest(t, tc.raw)
			c := creds
			if strings.Contains(tc.name, "session-token") {
				c = StaticCredentials{suiteKey: {Secret: suiteSecret, SessionToken: suiteToken}}
			}
			got, err := Verify(context.Background(), r, c, tc.now)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			body, err := io.ReadAll(r.Body)
			if err != nil {
				t.Fatalf("read body after Verify: %v", err)
			}
			if string(body) != tc.body {
				t.Errorf("body after Verify = %q, want %q", body, tc.body)
			}
			if got.signer != "sdk" {
				t.Errorf("signature computed by %q, want the SDK signer", got.signer)
			}
			// The package's own canonical request must reproduce AWS's
			// signature too: it is what verifies requests the SDK
			// signer cannot reproduce.
			if !ownSignatureMatches(t, readRequest(t, tc.raw), c) {
				t.Errorf("own canonical request does not reproduce the signature")
			}

			// The same request with one signature hex digit changed
			// must fail: the vector is only a test if it can fail.
			bad := readRequest(t, flipLastSignatureDigit(tc.raw))
			if _, err := Verify(context.Background(), bad, c, tc.now); !errors.Is(err, ErrSignatureMismatch) {
				t.Errorf("Verify with a changed signature = %v, want ErrSignatureMismatch", err)
			}
		})
	}
}

// ownSignatureMatches reports whether the package's own canonical request
// reproduces r's signature for one of its canonical URI forms.
func ownSignatureMatches(t testing.TB, r *http.Request, creds Credentials) bool {
	t.Helper()
	a, err := parseAuth(r)
	if err != nil || a == nil {
		t.Fatalf("parse auth: %v", err)
	}
	secret, err := creds.Lookup(context.Background(), a.scope.AccessKeyID, a.token)
	if err != nil {
		t.Fatalf("lookup: %v", err)
	}
	var payload string
	if a.scope.Service == serviceS3 {
		payload, err = s3Payload(r, a)
	} else {
		payload, err = hashBody(r, a)
	}
	if err != nil {
		t.Fatalf("payload: %v", err)
	}
	in := newSigningInput(r, a, payload)
	key := signingKey(secret, in.scope)
	for _, uri := range in.uris {
		if in.ownSignature(key, uri) == a.signature {
			return true
		}
	}
	return false
}

// flipLastSignatureDigit changes the last hex digit of the signature in a
// raw request.
func flipLastSignatureDigit(raw string) string {
	i := strings.LastIndex(raw, "Signature=")
	j := i + len("Signature=") + 63
	c := byte('0')
	if raw[j] == '0' {
		c = '1'
	}
	return raw[:j] + string(c) + raw[j+1:]
}
