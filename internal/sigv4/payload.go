package sigv4

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
)

// maxBufferedBody is how much of a body Verify holds in memory to hash it
// before the handler sees it. It is a variable so tests can lower it.
var maxBufferedBody int64 = 32 << 20

// hashBody reads the body of a request to a service that signs the body
// itself, puts it back for the handler and returns its hex SHA-256.
func hashBody(r *http.Request, a *auth) (string, error) {
	buf, complete, err := readUpTo(r.Body, maxBufferedBody)
	if err != nil {
		return "", fmt.Errorf("read request body: %w", err)
	}
	if !complete {
		return "", newError(ErrMalformed, a.presigned(), fmt.Sprintf("The request body is larger than the %d bytes this endpoint accepts.", maxBufferedBody))
	}
	restoreBody(r, buf)
	sum := sha256.Sum256(buf)
	payload := hex.EncodeToString(sum[:])
	// A client that states the hash must state this one; the signature
	// below covers the computed hash either way.
	if hdr := r.Header.Values(headerContentSHA256); len(hdr) > 1 || (len(hdr) == 1 && hdr[0] != payload) {
		return "", newError(ErrContentSHA256Mismatch, a.presigned(), "")
	}
	return payload, nil
}

// checkBody compares the body of an S3 request with the literal
// X-Amz-Content-Sha256 it was signed with. Bodies up to maxBufferedBody are
// checked now and put back; larger ones as the handler reads them.
func checkBody(r *http.Request, want string, presigned bool) error {
	buf, complete, err := readUpTo(r.Body, maxBufferedBody)
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	if complete {
		sum := sha256.Sum256(buf)
		if hex.EncodeToString(sum[:]) != want {
			return newError(ErrContentSHA256Mismatch, presigned, "")
		}
		restoreBody(r, buf)
		return nil
	}
	// The bytes already read are read again through the hash.
	r.Body = &hashedBody{
		r:         io.MultiReader(bytes.NewReader(buf), r.Body),
		c:         r.Body,
		h:         sha256.New(),
		want:      want,
		presigned: presigned,
	}
	return nil
}

// readUpTo reads body until EOF or until it has read more than max bytes;
// complete reports which.
func readUpTo(body io.Reader, max int64) (buf []byte, complete bool, err error) {
	if body == nil || body == http.NoBody {
		return nil, true, nil
	}
	buf, err = io.ReadAll(io.LimitReader(body, max+1))
	if err != nil {
		return nil, false, err
	}
	return buf, int64(len(buf)) <= max, nil
}

// restoreBody gives the handler the bytes Verify read, keeping the
// original body's Close.
func restoreBody(r *http.Request, buf []byte) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	r.Body = readCloser{bytes.NewReader(buf), r.Body}
}

type readCloser struct {
	io.Reader
	io.Closer
}

// hashedBody passes a body through and fails the read that reaches its end
// if the bytes do not hash to want.
type hashedBody struct {
	r         io.Reader
	c         io.Closer
	h         hash.Hash
	want      string
	presigned bool
	err       error
}

func (b *hashedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	if err == io.EOF && hex.EncodeToString(b.h.Sum(nil)) != b.want {
		err = newError(ErrContentSHA256Mismatch, b.presigned, "")
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *hashedBody) Close() error { return b.c.Close() }
