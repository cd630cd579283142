package sigv4

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// sdkSignature recomputes the signature with aws-sdk-go-v2's signer, over a
// request rebuilt to hold exactly the headers the client signed. ok is false
// when the SDK cannot reproduce the client's SignedHeaders list (see
// sdkCanSign and the package documentation); the caller then builds the
// canonical request itself.
func (in *signingInput) sdkSignature(ctx context.Context, secret, uri string) (sig string, ok bool) {
	req := &http.Request{
		Method: in.method,
		Host:   in.host,
		// The signer takes the canonical URI from Opaque as given; with
		// DisableURIPathEscaping it adds no escaping of its own.
		URL:    &url.URL{Opaque: "//" + in.host + uri, RawQuery: in.rawQuery},
		Header: make(http.Header, len(in.names)),
	}
	for i, name := range in.names {
		switch {
		case name == "host":
			continue // the signer always signs Request.Host
		case name == "content-length":
			// The signer signs Request.ContentLength, not the header.
			req.ContentLength, _ = strconv.ParseInt(in.values[i][0], 10, 64)
			continue
		case name == "x-amz-date" && !in.scope.Presigned:
			continue // SignHTTP sets it from the signing time
		}
		if len(in.values[i]) == 0 {
			return "", false // the signer cannot sign an absent header
		}
		req.Header[textproto.CanonicalMIMEHeaderKey(name)] = in.values[i]
	}

	creds := aws.Credentials{AccessKeyID: in.scope.AccessKeyID, SecretAccessKey: secret}
	signer := signerFor(in.scope.AccessKeyID, secret)
	opts := func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = true
		o.DisableHeaderHoisting = true
		// The token, if any, is already among the signed headers or
		// parameters exactly as the client sent it.
		o.DisableSessionToken = true
	}

	var signedHeaders string
	if in.scope.Presigned {
		signed, _, err := signer.PresignHTTP(ctx, creds, req, in.payload, in.scope.Service, in.scope.Region, in.time, opts)
		if err != nil {
			return "", false
		}
		_, rawQuery, _ := strings.Cut(signed, "?")
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return "", false
		}
		if len(q[querySignedHeaders]) != 1 || len(q[querySignature]) != 1 {
			return "", false
		}
		signedHeaders, sig = q[querySignedHeaders][0], q[querySignature][0]
	} else {
		if err := signer.SignHTTP(ctx, creds, req, in.payload, in.scope.Service, in.scope.Region, in.time, opts); err != nil {
			return "", false
		}
		authz := req.Header.Get(headerAuthorization)
		signedHeaders = authComponent(authz, "SignedHeaders=")
		sig = authComponent(authz, "Signature=")
	}
	// The signer chooses what it signs by its own rules; if that is not
	// what the client signed, its signature proves nothing either way.
	if signedHeaders != strings.Join(in.names, ";") || !isHexSignature(sig) {
		return "", false
	}
	return sig, true
}

// signers holds one SDK signer per access key and secret. The signer caches
// derived keys by access key, region, service and day but not by secret, so
// one signer shared by every request would go on accepting a key's old
// secret for the rest of the day after the secret changed; a signer per
// key and secret keeps the cache's speed without that.
var signers struct {
	sync.Mutex
	m map[[sha256.Size]byte]*v4.Signer
}

// maxSigners bounds the signers kept; past it the set starts over.
const maxSigners = 1024

func signerFor(accessKeyID, secret string) *v4.Signer {
	k := sha256.Sum256([]byte(accessKeyID + "\x00" + secret))
	signers.Lock()
	defer signers.Unlock()
	if s, ok := signers.m[k]; ok {
		return s
	}
	if signers.m == nil || len(signers.m) >= maxSigners {
		signers.m = make(map[[sha256.Size]byte]*v4.Signer)
	}
	s := v4.NewSigner()
	signers.m[k] = s
	return s
}

// sdkCanSign reports whether the SDK signer can be handed this request at
// all: it takes the timestamp only as X-Amz-Date (header authentication) and
// signs a Content-Length only when it is positive and spelled canonically.
func (in *signingInput) sdkCanSign() bool {
	if !in.scope.Presigned && !in.dateFromHeader {
		return false
	}
	for i, name := range in.names {
		if name != "content-length" {
			continue
		}
		v := in.values[i]
		if len(v) != 1 {
			return false
		}
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil || n <= 0 || strconv.FormatInt(n, 10) != v[0] {
			return false
		}
	}
	return true
}

// authComponent returns the value of the ", Key=value" component of an
// Authorization header the SDK wrote. It searches from the end: the
// credential scope comes first and holds the client's region and service
// strings, which must never be mistaken for the signer's own output.
func authComponent(authz, key string) string {
	i := strings.LastIndex(authz, ", "+key)
	if i < 0 {
		return ""
	}
	v := authz[i+len(", "+key):]
	if j := strings.IndexByte(v, ','); j >= 0 {
		v = v[:j]
	}
	return v
}

// isHexSignature reports whether s is a hex-encoded HMAC-SHA256, the only
// thing a signer ever outputs.
func isHexSignature(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
