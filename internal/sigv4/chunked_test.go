package sigv4

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The S3 API reference's chunked-upload examples ("Transferring Payload in
// Multiple Chunks" and "Including Trailing Headers"): 66560 bytes of 'a' in
// chunks of 64 KiB, 1 KiB and 0 bytes, with AWS's seed, chunk and trailer
// signatures.
var (
	docSignedChunks = []docChunk{
		{65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"},
		{1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"},
		{0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"},
	}
	docTrailerChunks = []docChunk{
		{65536, "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"},
		{1024, "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"},
		{0, "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"},
	}
)

const (
	docSignedSeed     = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	docTrailerSeed    = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
	docTrailer        = "x-amz-checksum-crc32c:sOO8/Q=="
	docTrailerSig     = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
	docDecodedLength  = 66560
	docSignedBodySize = 66824
)

type docChunk struct {
	size int
	sig  string
}

func docChunkedBody(chunks []docChunk, trailer string) []byte {
	var b bytes.Buffer
	for _, c := range chunks {
		b.WriteString(strconv.FormatInt(int64(c.size), 16) + ";chunk-signature=" + c.sig + "\r\n")
		if c.size > 0 {
			b.Write(bytes.Repeat([]byte{'a'}, c.size))
			b.WriteString("\r\n")
		}
	}
	b.WriteString(trailer)
	return b.Bytes()
}

func docSignedRequest(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPut, "/examplebucket/chunkObject.txt", bytes.NewReader(body))
	r.Host = "s3.amazonaws.com"
	r.Header.Set("X-Amz-Date", s3DocDate)
	r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	r.Header.Set("X-Amz-Content-Sha256", payloadStreamingSigned)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(docDecodedLength))
	r.Header.Set("Content-Length", strconv.Itoa(docSignedBodySize))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+s3DocCred+",SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature="+docSignedSeed)
	return r
}

func docTrailerRequest(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPut, "/examplebucket/chunkObject.txt", bytes.NewReader(body))
	r.Host = "s3.amazonaws.com"
	r.Header.Set("X-Amz-Date", s3DocDate)
	r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	r.Header.Set("X-Amz-Content-Sha256", payloadStreamingSignedTrailer)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(docDecodedLength))
	r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+s3DocCred+",SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer,Signature="+docTrailerSeed)
	return r
}

func TestChunkedDocVectors(t *testing.T) {
	creds := docCredentials()
	want := bytes.Repeat([]byte{'a'}, docDecodedLength)

	t.Run("signed chunks", func(t *testing.T) {
		body := docChunkedBody(docSignedChunks, "\r\n")
		if len(body) != docSignedBodySize {
			t.Fatalf("encoded example is %d bytes, AWS's is %d", len(body), docSignedBodySize)
		}
		r := docSignedRequest(body)
		got, err := Verify(context.Background(), r, creds, s3DocTime)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if got.PayloadHash != payloadStreamingSigned {
			t.Errorf("PayloadHash = %q", got.PayloadHash)
		}
		data, err := io.ReadAll(r.Body)
		if err != nil {
			t.Fatalf("read decoded body: %v", err)
		}
		if !bytes.Equal(data, want) {
			t.Fatalf("decoded %d bytes, want %d of 'a'", len(data), len(want))
		}
		if r.ContentLength != docDecodedLength || r.Header.Get("Content-Length") != strconv.Itoa(docDecodedLength) {
			t.Errorf("ContentLength = %d, header %q; want the decoded length", r.ContentLength, r.Header.Get("Content-Length"))
		}
		if ce := r.Header.Values("Content-Encoding"); len(ce) != 0 {
			t.Errorf("Content-Encoding still %q after decoding", ce)
		}
	})

	t.Run("signed chunks with trailer", func(t *testing.T) {
		body := docChunkedBody(docTrailerChunks, docTrailer+"\r\nx-amz-trailer-signature:"+docTrailerSig+"\r\n\r\n")
		r := docTrailerRequest(body)
		if _, err := Verify(context.Background(), r, creds, s3DocTime); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if v, ok := r.Trailer["X-Amz-Checksum-Crc32c"]; !ok || v != nil {
			t.Errorf("before EOF the trailer is %q (declared %v), want declared with no value", v, ok)
		}
		data, err := io.ReadAll(r.Body)
		if err != nil {
			t.Fatalf("read decoded body: %v", err)
		}
		if !bytes.Equal(data, want) {
			t.Fatalf("decoded %d bytes, want %d of 'a'", len(data), len(want))
		}
		if got := r.Trailer.Get("X-Amz-Checksum-Crc32c"); got != "sOO8/Q==" {
			t.Errorf("trailer after EOF = %q, want sOO8/Q==", got)
		}
	})
}

// TestChunkedTampering changes one byte at a time in the documented bodies;
// every change must fail the read, and nothing from a chunk whose signature
// failed may reach the reader.
func TestChunkedTampering(t *testing.T) {
	creds := docCredentials()
	signedBody := docChunkedBody(docSignedChunks, "\r\n")
	trailerBody := docChunkedBody(docTrailerChunks, docTrailer+"\r\nx-amz-trailer-signature:"+docTrailerSig+"\r\n\r\n")
	chunk1 := len("10000;chunk-signature=") + 64 + 2
	chunk2 := chunk1 + 65536 + 2 + len("400;chunk-signature=") + 64 + 2

	cases := []struct {
		name     string
		req      func([]byte) *http.Request
		body     []byte
		mutate   func([]byte) []byte
		kind     error
		maxBytes int // the most decoded bytes the handler may see
	}{
		{"byte in the middle of chunk 1", docSignedRequest, signedBody, flipAt(chunk1 + 30000), ErrSignatureMismatch, 0},
		{"byte in the middle of chunk 2", docSignedRequest, signedBody, flipAt(chunk2 + 500), ErrSignatureMismatch, 65536},
		{"chunk 1 signature", docSignedRequest, signedBody, flipAt(chunk1 - 3), ErrSignatureMismatch, 0},
		{"final chunk signature", docSignedRequest, signedBody, flipAt(len(signedBody) - 5), ErrSignatureMismatch, docDecodedLength},
		{"chunks swapped", docSignedRequest, signedBody, swapChunks, ErrSignatureMismatch, 0},
		{"body cut inside chunk 2", docSignedRequest, signedBody, func(b []byte) []byte { return b[:chunk2+100] }, ErrMalformed, 65536},
		{"final chunk missing", docSignedRequest, signedBody, func(b []byte) []byte { return b[:chunk2+1024+2] }, ErrMalformed, docDecodedLength},
		{"byte in the middle of a trailer chunk", docTrailerRequest, trailerBody, flipAt(chunk1 + 100), ErrSignatureMismatch, 0},
		{"trailer value", docTrailerRequest, trailerBody, replace("sOO8/Q==", "sOO8/Q=A"), ErrSignatureMismatch, docDecodedLength},
		{"trailer name", docTrailerRequest, trailerBody, replace("crc32c:", "crc32:"), ErrMalformed, docDecodedLength},
		{"trailer signature", docTrailerRequest, trailerBody, replace(docTrailerSig, strings.Repeat("0", 64)), ErrSignatureMismatch, docDecodedLength},
		{"trailer signature missing", docTrailerRequest, trailerBody, replace("x-amz-trailer-signature:"+docTrailerSig+"\r\n", ""), ErrSignatureMismatch, docDecodedLength},
		{"extra trailer", docTrailerRequest, trailerBody, replace(docTrailer+"\r\n", docTrailer+"\r\nx-amz-meta-evil:1\r\n"), ErrMalformed, docDecodedLength},
		{"data after the end", docSignedRequest, signedBody, func(b []byte) []byte { return append(b, "junk"...) }, ErrMalformed, docDecodedLength},
		{"oversized chunk header", docSignedRequest, signedBody, func(b []byte) []byte {
			return append([]byte("10000;chunk-signature="+strings.Repeat("f", 5000)+"\r\n"), b[chunk1:]...)
		}, ErrMalformed, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req(tc.mutate(bytes.Clone(tc.body)))
			if _, err := Verify(context.Background(), r, creds, s3DocTime); err != nil {
				t.Fatalf("Verify (headers are intact, so it must pass): %v", err)
			}
			data, err := io.ReadAll(r.Body)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("read = %v after %d bytes, want %v", err, len(data), tc.kind)
			}
			if len(data) > tc.maxBytes {
				t.Errorf("handler saw %d bytes, at most %d were verified", len(data), tc.maxBytes)
			}
			if _, err2 := r.Body.Read(make([]byte, 10)); !errors.Is(err2, tc.kind) {
				t.Errorf("a later read = %v, want the same failure", err2)
			}
		})
	}
}

func flipAt(i int) func([]byte) []byte {
	return func(b []byte) []byte {
		b[i] ^= 0x01
		return b
	}
}

func replace(old, new string) func([]byte) []byte {
	return func(b []byte) []byte {
		return bytes.Replace(b, []byte(old), []byte(new), 1)
	}
}

// swapChunks puts the 1 KiB chunk first; each chunk keeps its own
// signature, so only the chaining can catch it.
func swapChunks(b []byte) []byte {
	first := len("10000;chunk-signature=") + 64 + 2 + 65536 + 2
	second := first + len("400;chunk-signature=") + 64 + 2 + 1024 + 2
	out := append([]byte{}, b[first:second]...)
	out = append(out, b[:first]...)
	return append(out, b[second:]...)
}

// signedStream encodes data as a signed aws-chunked upload the way a
// client does: the seed from the SDK's SignHTTP, chunks from its stream
// signer. It returns a request ready for Verify.
func signedStream(t testing.TB, data []byte, chunkSize int, trailer map[string]string, signedDecodedLength int) *http.Request {
	t.Helper()
	mode := payloadStreamingSigned
	if trailer != nil {
		mode = payloadStreamingSignedTrailer
	}
	r := httptest.NewRequest(http.MethodPut, "http://bucket.localhost:4566/key", nil)
	r.Header.Set("X-Amz-Content-Sha256", mode)
	r.Header.Set("Content-Encoding", "aws-chunked")
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(signedDecodedLength))
	if trailer != nil {
		var names []string
		for k := range trailer {
			names = append(names, k)
		}
		r.Header.Set("X-Amz-Trailer", strings.Join(names, ","))
	}
	creds := aws.Credentials{AccessKeyID: "AKIDSTREAM", SecretAccessKey: "stream-secret"}
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, mode, "s3", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	seed := authComponent(r.Header.Get("Authorization"), "Signature=")
	seedBytes := mustHex(t, seed)
	ss := v4.NewStreamSigner(creds, "s3", "us-east-1", seedBytes)
	var body bytes.Buffer
	var last []byte
	for off := 0; ; off += chunkSize {
		var chunk []byte
		if off < len(data) {
			chunk = data[off:min(off+chunkSize, len(data))]
		}
		sig, err := ss.GetSignature(context.Background(), nil, chunk, now)
		if err != nil {
			t.Fatal(err)
		}
		last = sig
		body.WriteString(strconv.FormatInt(int64(len(chunk)), 16) + ";chunk-signature=" + hexString(sig) + "\r\n")
		if len(chunk) > 0 {
			body.Write(chunk)
			body.WriteString("\r\n")
		}
		if len(chunk) == 0 {
			break
		}
	}
	if trailer == nil {
		body.WriteString("\r\n")
	} else {
		scope := Scope{Date: "20240102", Region: "us-east-1", Service: "s3"}
		var canon, lines strings.Builder
		for _, k := range sortedKeys(trailer) {
			canon.WriteString(k + ":" + trailer[k] + "\n")
			lines.WriteString(k + ":" + trailer[k] + "\r\n")
		}
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + now.Format(timeFormat) + "\n" + scope.String() + "\n" + hexString(last) + "\n" + sha256Hex([]byte(canon.String()))
		sig := hexString(hmacSHA256(signingKey("stream-secret", scope), sts))
		body.WriteString(lines.String() + "x-amz-trailer-signature:" + sig + "\r\n\r\n")
	}
	r.Body = io.NopCloser(&body)
	r.ContentLength = int64(body.Len())
	return r
}

func TestChunkedStreams(t *testing.T) {
	creds := StaticCredentials{"AKIDSTREAM": {Secret: "stream-secret"}}
	now := time.Date(2024, 1, 2, 3, 10, 0, 0, time.UTC)
	data := make([]byte, 200_000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	trailers := map[string]string{"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-sha256": "x"}

	for _, tc := range []struct {
		name      string
		r         *http.Request
		want      []byte
		readErr   error
		trailerOK bool
	}{
		{"one chunk", signedStream(t, data, len(data), nil, len(data)), data, nil, false},
		{"8 KiB chunks", signedStream(t, data, 8<<10, nil, len(data)), data, nil, false},
		{"empty object", signedStream(t, nil, 8<<10, nil, 0), nil, nil, false},
		{"two trailers", signedStream(t, data, 64<<10, trailers, len(data)), data, nil, true},
		{"decoded length larger than sent", signedStream(t, data, 64<<10, nil, len(data)+1), nil, ErrMalformed, false},
		{"decoded length smaller than sent", signedStream(t, data, 64<<10, nil, len(data)-1), nil, ErrMalformed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Verify(context.Background(), tc.r, creds, now); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got, err := io.ReadAll(tc.r.Body)
			if tc.readErr != nil {
				if !errors.Is(err, tc.readErr) {
					t.Fatalf("read = %v, want %v", err, tc.readErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("decoded %d bytes, want %d", len(got), len(tc.want))
			}
			if tc.trailerOK {
				for k, v := range trailers {
					if g := tc.r.Trailer.Get(k); g != v {
						t.Errorf("trailer %s = %q, want %q", k, g, v)
					}
				}
			}
		})
	}
}

// TestUnsignedTrailerStream decodes the framing the SDKs use over HTTPS:
// unsigned chunks and a checksum trailer.
func TestUnsignedTrailerStream(t *testing.T) {
	body := "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
	r := httptest.NewRequest(http.MethodPut, "http://localhost:4566/bucket/key", strings.NewReader(body))
	r.Header.Set("X-Amz-Content-Sha256", payloadStreamingUnsignedTrailer)
	r.Header.Set("Content-Encoding", "aws-chunked,gzip")
	r.Header.Set("X-Amz-Decoded-Content-Length", "11")
	r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	creds := aws.Credentials{AccessKeyID: "AKIDSTREAM", SecretAccessKey: "stream-secret"}
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, payloadStreamingUnsignedTrailer, "s3", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), r, StaticCredentials{"AKIDSTREAM": {Secret: "stream-secret"}}, now); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	got, err := io.ReadAll(r.Body)
	if err != nil || string(got) != "hello world" {
		t.Fatalf("read = %q, %v", got, err)
	}
	if r.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("Content-Encoding = %q, want gzip left", r.Header.Get("Content-Encoding"))
	}
	if r.Trailer.Get("X-Amz-Checksum-Crc32") != "DUoRhQ==" {
		t.Errorf("trailer = %q", r.Trailer)
	}
}
