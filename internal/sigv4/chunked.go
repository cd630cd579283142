package sigv4

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The x-amz-content-sha256 values of S3's aws-chunked uploads.
const (
	// Each chunk carries a signature chained from the request's.
	payloadStreamingSigned = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	// As above, followed by trailing headers with their own signature.
	payloadStreamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	// Unsigned chunks followed by unsigned trailing headers (checksums);
	// what the SDKs send over HTTPS.
	payloadStreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	payloadUnsigned                 = "UNSIGNED-PAYLOAD"

	headerDecodedLength = "X-Amz-Decoded-Content-Length"
	headerTrailer       = "X-Amz-Trailer"
	trailerSignature    = "x-amz-trailer-signature"
)

const (
	// maxChunkSize bounds the memory a signed chunk takes: it is held whole
	// until its signature is checked, so no unverified byte reaches the
	// handler.
	maxChunkSize = 16 << 20
	// maxLineLength bounds a chunk header or trailer line.
	maxLineLength = 4096
	// maxTrailers bounds the number of trailing header lines.
	maxTrailers = 64
)

// chunkedReader decodes an aws-chunked body, checking each chunk's
// signature and the trailer's before anything it covers is returned.
type chunkedReader struct {
	ctx    context.Context
	src    *bufio.Reader
	closer io.Closer

	signed bool // chunks carry signatures
	// anySecret: the key signs with any secret, so chunk signatures are
	// read but cannot be checked.
	anySecret bool
	trailer   bool // trailing headers follow the last chunk
	// signer computes chunk signatures: aws-chunked chunks are signed as
	// event-stream messages with empty headers, so the SDK's stream signer
	// produces exactly their signature and chains it from the seed.
	signer   *v4.StreamSigner
	key      []byte // signing key, for the trailer signature
	scope    Scope
	amzDate  string
	signTime time.Time
	prevSig  []byte // the latest chunk signature

	declared []string    // trailer names announced in X-Amz-Trailer, lower case
	trailers http.Header // the request's Trailer map, filled at the end

	want, got int64  // decoded length announced and framed so far
	pending   []byte // verified bytes of a signed chunk not yet returned
	left      int64  // bytes of an unsigned chunk not yet returned
	done      bool
	err       error
}

func (c *chunkedReader) Close() error { return c.closer.Close() }

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if len(c.pending) > 0 {
			n := copy(p, c.pending)
			c.pending = c.pending[n:]
			return n, nil
		}
		if c.left > 0 {
			if int64(len(p)) > c.left {
				p = p[:c.left]
			}
			n, err := c.src.Read(p)
			c.left -= int64(n)
			if err == io.EOF {
				err = c.malformed("The aws-chunked body ended inside a chunk.")
			}
			if err == nil && c.left == 0 {
				err = c.readCRLF()
			}
			if err != nil {
				return n, c.fail(err)
			}
			return n, nil
		}
		if c.done {
			c.err = io.EOF
			return 0, io.EOF
		}
		if err := c.nextChunk(); err != nil {
			return 0, c.fail(err)
		}
	}
}

func (c *chunkedReader) fail(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		err = fmt.Errorf("read aws-chunked body: %w", err)
	}
	c.err = err
	return err
}

func (c *chunkedReader) malformed(msg string) error {
	return newError(ErrMalformed, false, msg)
}

// nextChunk reads one chunk header and, for signed chunks, the chunk itself.
func (c *chunkedReader) nextChunk() error {
	line, err := c.readLine()
	if errors.Is(err, io.EOF) {
		return c.malformed("The aws-chunked body ended before its final chunk.")
	}
	if err != nil {
		return err
	}
	sizeHex, ext, _ := strings.Cut(line, ";")
	size, err := strconv.ParseUint(sizeHex, 16, 63)
	if err != nil || sizeHex == "" || len(sizeHex) > 16 {
		return c.malformed(fmt.Sprintf("The aws-chunked body has an invalid chunk size '%s'.", sizeHex))
	}
	if int64(size) > c.want-c.got {
		return c.malformed(fmt.Sprintf("The aws-chunked body holds more than the %d bytes X-Amz-Decoded-Content-Length announced.", c.want))
	}
	c.got += int64(size)

	if !c.signed {
		// Unsigned chunks: extensions carry nothing we rely on.
		if size == 0 {
			return c.finish()
		}
		c.left = int64(size)
		return nil
	}

	sigHex, found := strings.CutPrefix(ext, "chunk-signature=")
	if !found {
		return c.malformed("Each aws-chunked chunk must carry a chunk-signature.")
	}
	if size > maxChunkSize {
		return c.malformed(fmt.Sprintf("An aws-chunked chunk of %d bytes is larger than the %d this endpoint accepts.", size, maxChunkSize))
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(c.src, data); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return c.malformed("The aws-chunked body ended inside a chunk.")
		}
		return err
	}
	if size > 0 {
		if err := c.readCRLF(); err != nil {
			return err
		}
	}
	if !c.anySecret {
		want, err := c.signer.GetSignature(c.ctx, nil, data, c.signTime)
		if err != nil {
			return fmt.Errorf("sign chunk: %w", err)
		}
		got, err := hex.DecodeString(sigHex)
		if err != nil || !hmac.Equal(got, want) {
			return newError(ErrSignatureMismatch, false, "")
		}
		c.prevSig = want
	}
	if size == 0 {
		return c.finish()
	}
	c.pending = data
	return nil
}

// finish reads what follows the last chunk: the trailing headers, or the
// final CRLF.
func (c *chunkedReader) finish() error {
	c.done = true
	if c.got != c.want {
		return c.malformed(fmt.Sprintf("You did not provide the number of bytes specified by the X-Amz-Decoded-Content-Length header: %d announced, %d sent.", c.want, c.got))
	}
	if c.trailer {
		if err := c.readTrailers(); err != nil {
			return err
		}
	} else if err := c.readFinalCRLF(); err != nil {
		return err
	}
	if _, err := c.src.ReadByte(); err != io.EOF {
		if err != nil {
			return err
		}
		return c.malformed("The aws-chunked body continues after its last chunk.")
	}
	return nil
}

func (c *chunkedReader) readTrailers() error {
	type field struct{ name, value string }
	var fields []field
	var sig string
	for n := 0; ; n++ {
		if n > maxTrailers {
			return c.malformed("The aws-chunked body has too many trailing headers.")
		}
		line, err := c.readLine()
		if errors.Is(err, io.EOF) {
			break // some clients omit the final CRLF
		}
		if err != nil {
			return err
		}
		if line == "" {
			break
		}
		if sig != "" {
			return c.malformed("The trailer signature must be the last trailing header.")
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || name == "" {
			return c.malformed(fmt.Sprintf("The aws-chunked body has a malformed trailing header '%s'.", line))
		}
		value = strings.TrimSpace(value)
		if name == trailerSignature {
			if !c.signed {
				return c.malformed("An unsigned aws-chunked body cannot carry a trailer signature.")
			}
			sig = value
			continue
		}
		if !c.isDeclared(name) {
			return c.malformed(fmt.Sprintf("The trailing header '%s' was not announced in X-Amz-Trailer.", name))
		}
		for _, f := range fields {
			if f.name == name {
				return c.malformed(fmt.Sprintf("The trailing header '%s' appears more than once.", name))
			}
		}
		fields = append(fields, field{name, value})
	}
	if len(fields) != len(c.declared) {
		return c.malformed("The aws-chunked body lacks a trailing header announced in X-Amz-Trailer.")
	}
	if c.signed && !c.anySecret {
		sort.Slice(fields, func(i, j int) bool { return fields[i].name < fields[j].name })
		var canon strings.Builder
		for _, f := range fields {
			canon.WriteString(f.name)
			canon.WriteByte(':')
			canon.WriteString(f.value)
			canon.WriteByte('\n')
		}
		sum := sha256.Sum256([]byte(canon.String()))
		sts := "AWS4-HMAC-SHA256-TRAILER\n" + c.amzDate + "\n" + c.scope.String() + "\n" +
			hex.EncodeToString(c.prevSig) + "\n" + hex.EncodeToString(sum[:])
		want := hmacSHA256(c.key, sts)
		got, err := hex.DecodeString(sig)
		if sig == "" || err != nil || !hmac.Equal(got, want) {
			return newError(ErrSignatureMismatch, false, "")
		}
	}
	for _, f := range fields {
		c.trailers[textproto.CanonicalMIMEHeaderKey(f.name)] = []string{f.value}
	}
	return nil
}

func (c *chunkedReader) isDeclared(name string) bool {
	for _, d := range c.declared {
		if d == name {
			return true
		}
	}
	return false
}

// readLine reads one CRLF-terminated line, without the CRLF.
func (c *chunkedReader) readLine() (string, error) {
	line, err := c.src.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || len(line) > maxLineLength:
		return "", c.malformed("The aws-chunked body has a line that is too long.")
	case errors.Is(err, io.EOF) && len(line) == 0:
		return "", io.EOF
	case errors.Is(err, io.EOF):
		return "", c.malformed("The aws-chunked body ended inside a line.")
	case err != nil:
		return "", err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return "", c.malformed("The aws-chunked body has a line not ended by CRLF.")
	}
	return string(line[:len(line)-2]), nil
}

func (c *chunkedReader) readCRLF() error {
	var b [2]byte
	if _, err := io.ReadFull(c.src, b[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return c.malformed("The aws-chunked body ended after a chunk's data.")
		}
		return err
	}
	if b != [2]byte{'\r', '\n'} {
		return c.malformed("An aws-chunked chunk's data is not followed by CRLF.")
	}
	return nil
}

// readFinalCRLF reads the CRLF that ends a body without trailers; some
// clients end the body right after the last chunk instead.
func (c *chunkedReader) readFinalCRLF() error {
	line, err := c.readLine()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	if line != "" {
		return c.malformed("The aws-chunked body continues after its last chunk.")
	}
	return nil
}

// wrapChunked replaces r.Body with a decoder of its aws-chunked payload and
// makes the request look, to the handler, like a plain upload of the decoded
// bytes.
func wrapChunked(ctx context.Context, r *http.Request, a *auth, mode, secret string, anySecret bool) error {
	lengths := r.Header.Values(headerDecodedLength)
	if len(lengths) != 1 {
		return newError(ErrMalformed, false, "Missing required header for this request: x-amz-decoded-content-length")
	}
	want, err := strconv.ParseInt(lengths[0], 10, 64)
	if err != nil || want < 0 {
		return newError(ErrMalformed, false, fmt.Sprintf("Invalid x-amz-decoded-content-length '%s'.", lengths[0]))
	}
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	c := &chunkedReader{
		ctx:       ctx,
		src:       bufio.NewReaderSize(body, 32<<10),
		closer:    body,
		signed:    mode != payloadStreamingUnsignedTrailer,
		trailer:   mode != payloadStreamingSigned,
		scope:     a.scope,
		amzDate:   a.amzDate,
		signTime:  a.time,
		want:      want,
		anySecret: anySecret,
	}
	if c.signed && !anySecret {
		seed, err := hex.DecodeString(a.signature)
		if err != nil {
			return newError(ErrSignatureMismatch, false, "")
		}
		creds := aws.Credentials{AccessKeyID: a.scope.AccessKeyID, SecretAccessKey: secret}
		c.signer = v4.NewStreamSigner(creds, a.scope.Service, a.scope.Region, seed)
		c.key = signingKey(secret, a.scope)
		c.prevSig = seed
	}
	if c.trailer {
		c.trailers = make(http.Header)
		for _, v := range r.Header.Values(headerTrailer) {
			for name := range strings.SplitSeq(v, ",") {
				name = strings.ToLower(strings.TrimSpace(name))
				if name == "" || c.isDeclared(name) {
					continue
				}
				c.declared = append(c.declared, name)
				// Declared with no value yet, as net/http does for
				// chunked trailers until the body reaches EOF.
				c.trailers[textproto.CanonicalMIMEHeaderKey(name)] = nil
			}
		}
		r.Trailer = c.trailers
	}

	r.Body = c
	r.ContentLength = want
	if r.Header.Get("Content-Length") != "" {
		r.Header.Set("Content-Length", strconv.FormatInt(want, 10))
	}
	stripAWSChunked(r.Header)
	return nil
}

// stripAWSChunked removes "aws-chunked" from Content-Encoding: it describes
// the framing Verify has undone, not the object.
func stripAWSChunked(h http.Header) {
	vals := h.Values("Content-Encoding")
	if len(vals) == 0 {
		return
	}
	var keep []string
	for _, v := range vals {
		for enc := range strings.SplitSeq(v, ",") {
			enc = strings.TrimSpace(enc)
			if enc != "" && !strings.EqualFold(enc, "aws-chunked") {
				keep = append(keep, enc)
			}
		}
	}
	if len(keep) == 0 {
		h.Del("Content-Encoding")
		return
	}
	h.Set("Content-Encoding", strings.Join(keep, ","))
}

// isStreaming reports whether payload names an aws-chunked body.
func isStreaming(payload string) bool {
	switch payload {
	case payloadStreamingSigned, payloadStreamingSignedTrailer, payloadStreamingUnsignedTrailer:
		return true
	}
	return false
}
