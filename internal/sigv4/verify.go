package sigv4

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Credentials resolves an access key to its secret. sessionToken is the
// X-Amz-Security-Token the request carried ("" if none), passed even for keys
// that take no token, so the implementation decides whether it belongs.
//
// Lookup returns an error of this package's kinds (ErrUnknownAccessKey,
// ErrInvalidToken, ErrExpiredToken; bare or wrapped) for a key or token it
// refuses, or any other error, which Verify passes through wrapped.
type Credentials interface {
	Lookup(ctx context.Context, accessKeyID, sessionToken string) (secret string, err error)
}

// CredentialsFunc adapts a function to Credentials.
type CredentialsFunc func(ctx context.Context, accessKeyID, sessionToken string) (string, error)

// Lookup calls f.
func (f CredentialsFunc) Lookup(ctx context.Context, accessKeyID, sessionToken string) (string, error) {
	return f(ctx, accessKeyID, sessionToken)
}

// Request describes a request whose signature verified.
type Request struct {
	AccessKeyID  string
	SessionToken string
	Region       string
	Service      string
	// SignedHeaders is the client's list of signed headers, lower case.
	SignedHeaders []string
	// Presigned is true when the signature was in the query string.
	Presigned bool
	// SigningTime is the time the client signed at (X-Amz-Date).
	SigningTime time.Time
	// PayloadHash is what the signature covers of the body: its hex
	// SHA-256, UNSIGNED-PAYLOAD, or one of the STREAMING-* values.
	PayloadHash string

	// signer records which implementation produced the matching
	// signature, "sdk" or "own", for tests.
	signer string
}

// Verify checks r's AWS Signature Version 4. now is the current time: the
// 15-minute skew allowed for header authentication and the expiry of
// presigned URLs are measured against it. It returns the verified request's
// identity, or an *Error whose Kind says why verification failed, or (for
// failures of Credentials or of reading the body) another error.
//
// Verify must run before anything reads r.Body. What it does with the body
// depends on what the client signed:
//
//   - Services other than S3 sign the body itself: it is read (up to
//     32 MiB), hashed, and put back for the handler, so an
//     application/x-www-form-urlencoded Query request can still be parsed
//     with r.ParseForm afterwards.
//   - S3 with a literal X-Amz-Content-Sha256: after the signature checks,
//     the body is read, hashed and compared (ErrContentSHA256Mismatch), then
//     put back. A body over 32 MiB is checked as it is read instead: the read
//     that reaches its end fails with ErrContentSHA256Mismatch.
//   - S3 with UNSIGNED-PAYLOAD: the body is passed through.
//   - S3 aws-chunked uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
//     STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER,
//     STREAMING-UNSIGNED-PAYLOAD-TRAILER): r.Body is replaced by a reader of
//     the decoded bytes, which checks every chunk's signature and the
//     trailer's before returning what they cover and fails the read with
//     ErrSignatureMismatch (or ErrMalformed for broken framing).
//     "aws-chunked" is removed from Content-Encoding, r.ContentLength and
//     Content-Length become X-Amz-Decoded-Content-Length, and trailing
//     headers (checksums) are declared in r.Trailer and filled in once the
//     body reaches EOF, as net/http does for chunked trailers. Checksum
//     values, in headers or trailers, are S3's to check, not Verify's.
func Verify(ctx context.Context, r *http.Request, creds Credentials, now time.Time) (*Request, error) {
	a, err := parseAuth(r)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, newError(ErrMissingAuthentication, false, "")
	}
	// net/http only admits tokens and valid hosts; a request built some
	// other way must not smuggle line breaks into the canonical request.
	if !isToken(r.Method) || !printable(r.Host) {
		return nil, newError(ErrMalformed, a.presigned(), "The request method or Host header is not valid.")
	}
	if err := checkTime(a, now); err != nil {
		return nil, err
	}
	isS3 := a.scope.Service == serviceS3
	var payload string
	if isS3 {
		if payload, err = s3Payload(r, a); err != nil {
			return nil, err
		}
		if err := checkAmzHeadersSigned(r, a); err != nil {
			return nil, err
		}
	}

	secret, err := lookup(ctx, creds, a)
	anySecret := errors.Is(err, ErrAnySecret)
	if err != nil && !anySecret {
		return nil, err
	}

	if !isS3 {
		// These services sign the body itself, so its hash is needed
		// before the signature can be computed.
		if payload, err = hashBody(r, a); err != nil {
			return nil, err
		}
	}

	by := "none"
	if !anySecret {
		in := newSigningInput(r, a, payload)
		var ok bool
		if by, ok = in.match(ctx, secret, a.signature); !ok {
			return nil, newError(ErrSignatureMismatch, a.presigned(), "")
		}
	}

	if isS3 {
		switch {
		case isStreaming(payload):
			if err := wrapChunked(ctx, r, a, payload, secret, anySecret); err != nil {
				return nil, err
			}
		case payload != payloadUnsigned:
			if err := checkBody(r, payload, a.presigned()); err != nil {
				return nil, err
			}
		}
	}

	return &Request{
		AccessKeyID:   a.scope.AccessKeyID,
		SessionToken:  a.token,
		Region:        a.scope.Region,
		Service:       a.scope.Service,
		SignedHeaders: a.signedHeaders,
		Presigned:     a.presigned(),
		SigningTime:   a.time,
		PayloadHash:   payload,
		signer:        by,
	}, nil
}

// match computes the signature for each canonical URI form and compares it
// with the client's in constant time. It hands the request to the SDK's
// signer where that signer can reproduce what the client signed, and builds
// the canonical request itself otherwise.
func (in *signingInput) match(ctx context.Context, secret, provided string) (by string, ok bool) {
	sdk := in.sdkCanSign()
	var key []byte
	for _, uri := range in.uris {
		var sig string
		by = "sdk"
		if sdk {
			sig, sdk = in.sdkSignature(ctx, secret, uri)
		}
		if !sdk {
			if key == nil {
				key = signingKey(secret, in.scope)
			}
			sig, by = in.ownSignature(key, uri), "own"
		}
		if hmac.Equal([]byte(sig), []byte(provided)) {
			return by, true
		}
	}
	return "", false
}

// checkTime refuses requests signed too long ago or too far ahead, and
// presigned URLs past their expiry.
func checkTime(a *auth, now time.Time) error {
	now = now.UTC()
	if a.presigned() && a.expires >= 0 {
		if a.time.Sub(now) > maxSkew {
			return newError(ErrRequestExpired, true, "Request is not valid yet")
		}
		if now.After(a.time.Add(a.expires)) {
			return newError(ErrRequestExpired, true, msgPresignExpired)
		}
		return nil
	}
	if now.Sub(a.time) > maxSkew {
		return newError(ErrRequestExpired, a.presigned(), fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			a.amzDate, now.Add(-maxSkew).Format(timeFormat), now.Format(timeFormat)))
	}
	if a.time.Sub(now) > maxSkew {
		return newError(ErrRequestExpired, a.presigned(), fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			a.amzDate, now.Add(maxSkew).Format(timeFormat), now.Format(timeFormat)))
	}
	return nil
}

// lookup asks Credentials for the secret and turns its refusals into
// *Error values.
func lookup(ctx context.Context, creds Credentials, a *auth) (string, error) {
	secret, err := creds.Lookup(ctx, a.scope.AccessKeyID, a.token)
	if errors.Is(err, ErrAnySecret) {
		return "", ErrAnySecret
	}
	if err == nil {
		if secret == "" {
			return "", fmt.Errorf("look up access key %s: credentials returned an empty secret", a.scope.AccessKeyID)
		}
		return secret, nil
	}
	var e *Error
	if errors.As(err, &e) {
		out := *e
		out.Presigned = a.presigned()
		return "", &out
	}
	for _, kind := range []error{ErrUnknownAccessKey, ErrInvalidToken, ErrExpiredToken} {
		if errors.Is(err, kind) {
			out := newError(kind, a.presigned(), "")
			if err != kind {
				out.cause = err
			}
			return "", out
		}
	}
	return "", fmt.Errorf("look up access key %s: %w", a.scope.AccessKeyID, err)
}

// s3Payload returns the payload hash an S3 request was signed with.
func s3Payload(r *http.Request, a *auth) (string, error) {
	var v string
	hdr := r.Header.Values(headerContentSHA256)
	if len(hdr) > 1 {
		return "", newError(ErrMalformed, a.presigned(), "The request carries more than one x-amz-content-sha256 header.")
	}
	switch {
	case a.presigned() && len(a.query[queryContentSHA256]) == 1:
		v = a.query[queryContentSHA256][0]
	case len(hdr) == 1:
		v = hdr[0]
	case a.presigned():
		v = payloadUnsigned
	default:
		return "", newError(ErrMalformed, false, "Missing required header for this request: x-amz-content-sha256")
	}
	switch {
	case v == payloadUnsigned || isHexSignature(v):
		return v, nil
	case isStreaming(v) && !a.presigned():
		return v, nil
	}
	return "", newError(ErrMalformed, a.presigned(), "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.")
}

// checkAmzHeadersSigned refuses S3 requests carrying x-amz-* headers they did
// not sign: S3 acts on them (ACLs, metadata, copy sources), so an unsigned
// one could have been added by anyone on the way.
func checkAmzHeadersSigned(r *http.Request, a *auth) error {
	var unsigned []string
	for k := range r.Header {
		name := strings.ToLower(k)
		if !strings.HasPrefix(name, "x-amz-") {
			continue
		}
		signed := false
		for _, s := range a.signedHeaders {
			if s == name {
				signed = true
				break
			}
		}
		if !signed {
			unsigned = append(unsigned, name)
		}
	}
	if len(unsigned) == 0 {
		return nil
	}
	sort.Strings(unsigned)
	return newError(ErrUnsignedHeaders, a.presigned(), msgUnsignedHeaders+": "+strings.Join(unsigned, ", "))
}
