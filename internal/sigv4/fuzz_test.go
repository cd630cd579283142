package sigv4

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fuzzRequest builds a request from fuzzed parts without the validation
// net/http's server applies, so Verify also meets what no server would
// pass on.
func fuzzRequest(method, target, host, authz, amzDate, token, extra string, body []byte) *http.Request {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		path, query, _ := strings.Cut(target, "?")
		u = &url.URL{Path: path, RawQuery: query}
	}
	r := &http.Request{
		Method:        method,
		URL:           u,
		RequestURI:    target,
		Host:          host,
		Header:        http.Header{},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
	}
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	if amzDate != "" {
		r.Header.Set("X-Amz-Date", amzDate)
	}
	if token != "" {
		r.Header.Set("X-Amz-Security-Token", token)
	}
	for _, line := range strings.Split(extra, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			r.Header.Add(k, v)
		}
	}
	return r
}

func fuzzSeeds(f *testing.F) {
	add := func(r *http.Request, body []byte) {
		var extra []string
		for k, vs := range r.Header {
			switch k {
			case "Authorization", "X-Amz-Date", "X-Amz-Security-Token":
				continue
			}
			for _, v := range vs {
				extra = append(extra, k+":"+v)
			}
		}
		f.Add(r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date"), r.Header.Get("X-Amz-Security-Token"), strings.Join(extra, "\n"), body)
	}
	add(sdkSigned(f, http.MethodPost, "/", "sts", staticSecret, "", []byte("Action=GetCallerIdentity&Version=2011-06-15"), false), []byte("Action=GetCallerIdentity&Version=2011-06-15"))
	add(sdkSigned(f, http.MethodGet, "/b/dir/a%20b%2Bc?list-type=2&prefix=a%2Fb&a=1&a=2", "s3", staticSecret, "", nil, false), nil)
	add(sdkSigned(f, http.MethodGet, "/b/k", "s3", staticSecret, "", nil, true), nil)
	add(sdkSigned(f, http.MethodPut, "/b/k", "s3", staticSecret, "", []byte("hello"), false), []byte("hello"))
	add(sdkSigned(f, http.MethodGet, "/clusters/a//b/../c", "eks", staticSecret, "", nil, false), nil)
	f.Add("GET", "/", "localhost", "AWS4-HMAC-SHA256 Credential=A/20240304/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=00", "20240304T050607Z", "", "", []byte(nil))
	f.Add("GET", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%2F%2F%2F%2F&X-Amz-Signature=&X-Amz-Date=x&X-Amz-SignedHeaders=", "h", "", "", "", "", []byte(nil))
	f.Add("PUT", "/b/k", "h", "AWS4-HMAC-SHA256 Credential=, SignedHeaders=;;, Signature", "", "", "X-Amz-Content-Sha256:STREAMING-AWS4-HMAC-SHA256-PAYLOAD\nX-Amz-Decoded-Content-Length:-1", []byte("0;chunk-signature=zz\r\n"))
	f.Add("GET", "/?AWSAccessKeyId=x&Signature=y", "h", "AWS x:y", "", "", "", []byte(nil))
}

// FuzzVerify: whatever arrives, Verify must not panic, must classify every
// refusal as one of this package's kinds, and must never accept a request
// whose signature a wrong secret would also pass.
func FuzzVerify(f *testing.F) {
	fuzzSeeds(f)
	creds := StaticCredentials{staticKey: {Secret: staticSecret}, "A": {Secret: "s"}}
	wrong := StaticCredentials{staticKey: {Secret: staticSecret + "x"}, "A": {Secret: "t"}}
	f.Fuzz(func(t *testing.T, method, target, host, authz, amzDate, token, extra string, body []byte) {
		r := fuzzRequest(method, target, host, authz, amzDate, token, extra, body)
		v, err := Verify(context.Background(), r, creds, unitTime)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind == nil || e.Message == "" {
				t.Fatalf("unclassified refusal: %#v", err)
			}
			return
		}
		if v.AccessKeyID == "" || v.Region == "" || v.Service == "" {
			t.Fatalf("verified request without identity: %+v", v)
		}
		io.Copy(io.Discard, r.Body)
		again := fuzzRequest(method, target, host, authz, amzDate, token, extra, body)
		if _, err := Verify(context.Background(), again, wrong, unitTime); err == nil {
			t.Fatalf("verified with a wrong secret too: %s %s", method, target)
		}
	})
}

// FuzzParse: Parse must not panic, and what it reports must be a full
// scope.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, method, target, host, authz, amzDate, token, extra string, body []byte) {
		r := fuzzRequest(method, target, host, authz, amzDate, token, extra, body)
		s, ok, err := Parse(r)
		if err != nil {
			if ok {
				t.Fatalf("Parse returned ok with an error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("unclassified Parse error: %#v", err)
			}
			return
		}
		if ok && (s.AccessKeyID == "" || len(s.Date) != 8 || s.Region == "" || s.Service == "") {
			t.Fatalf("Parse reported a partial scope: %+v", s)
		}
	})
}

// FuzzChunkedBody feeds arbitrary bodies under intact signed headers: the
// decoder must not panic, and every byte it hands over must be a byte the
// client signed, in order.
func FuzzChunkedBody(f *testing.F) {
	data := []byte("The quick brown fox jumps over the lazy dog, twice over: the quick brown fox.")
	trailers := map[string]string{"x-amz-checksum-crc32": "AAAAAA=="}
	seeds := []*http.Request{
		signedStream(f, data, 16, nil, len(data)),
		signedStream(f, data, 16, trailers, len(data)),
	}
	var headers []http.Header
	for _, r := range seeds {
		body, _ := io.ReadAll(r.Body)
		f.Add(len(headers), body)
		headers = append(headers, r.Header.Clone())
	}
	f.Add(2, []byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"))
	f.Add(2, []byte("ffffffffffffffff\r\n"))
	unsigned := seeds[0].Clone(context.Background())
	unsigned.Header.Set("X-Amz-Content-Sha256", payloadStreamingUnsignedTrailer)
	unsigned.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	unsigned.Header.Set("X-Amz-Decoded-Content-Length", "5")
	unsigned.Header.Del("Authorization")
	ownSignedStream(f, unsigned)
	headers = append(headers, unsigned.Header)

	creds := StaticCredentials{"AKIDSTREAM": {Secret: "stream-secret"}}
	now := time.Date(2024, 1, 2, 3, 10, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, which int, body []byte) {
		if which < 0 || which >= len(headers) {
			return
		}
		r, _ := http.NewRequest(http.MethodPut, "http://bucket.localhost:4566/key", bytes.NewReader(body))
		r.RequestURI = "/key"
		r.Header = headers[which].Clone()
		if _, err := Verify(context.Background(), r, creds, now); err != nil {
			t.Fatalf("Verify refused intact headers: %v", err)
		}
		got, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if which == 2 {
			if len(got) > 5 {
				t.Fatalf("decoded %d bytes, 5 were announced", len(got))
			}
			return
		}
		if !bytes.HasPrefix(data, got) {
			t.Fatalf("decoder handed over bytes the client did not sign: %q", got)
		}
		if err == nil && !bytes.Equal(got, data) {
			t.Fatalf("decoder ended cleanly after %d of %d bytes", len(got), len(data))
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("unclassified read failure: %v", err)
			}
		}
	})
}

// ownSignedStream signs an unsigned-trailer upload's headers for the
// stream key.
func ownSignedStream(t testing.TB, r *http.Request) {
	t.Helper()
	names := []string{"content-encoding", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-decoded-content-length", "x-amz-trailer"}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSTREAM/20240102/us-east-1/s3/aws4_request, SignedHeaders="+strings.Join(names, ";")+", Signature="+strings.Repeat("0", 64))
	r.RequestURI = "/key"
	a, err := parseAuth(r)
	if err != nil {
		t.Fatal(err)
	}
	in := newSigningInput(r, a, payloadStreamingUnsignedTrailer)
	sig := in.ownSignature(signingKey("stream-secret", in.scope), in.uris[0])
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSTREAM/20240102/us-east-1/s3/aws4_request, SignedHeaders="+strings.Join(names, ";")+", Signature="+sig)
}
