package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/httpbinding"
)

const serviceS3 = "s3"

// signingInput is everything the signature covers, gathered once from the
// request and the client's own SignedHeaders list, so both signers (the
// SDK's and canonicalRequest below) see exactly the same inputs.
type signingInput struct {
	method string
	host   string
	// uris are the canonical URI forms to try, most likely first.
	uris []string
	// query is what was signed of the query string (no X-Amz-Signature);
	// rawQuery is the same, encoded for an http.Request.
	query    url.Values
	rawQuery string
	// names is the client's SignedHeaders list, in its order; values holds
	// the request's values for each name.
	names   []string
	values  [][]string
	payload string
	amzDate string
	time    time.Time
	scope   Scope
	// dateFromHeader is true when the timestamp is the X-Amz-Date header.
	dateFromHeader bool
}

func newSigningInput(r *http.Request, a *auth, payload string) *signingInput {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	in := &signingInput{
		method:         r.Method,
		host:           host,
		uris:           canonicalURIs(rawPath(r), a.scope.Service),
		query:          a.query,
		names:          a.signedHeaders,
		values:         make([][]string, len(a.signedHeaders)),
		payload:        payload,
		amzDate:        a.amzDate,
		time:           a.time,
		scope:          a.scope,
		dateFromHeader: a.dateFromHeader,
	}
	if a.presigned() {
		in.rawQuery = a.query.Encode()
	} else {
		in.rawQuery = r.URL.RawQuery
	}
	for i, name := range in.names {
		in.values[i] = headerValues(r, name, host)
	}
	return in
}

// headerValues returns the request's values of the header name (lower
// case), as the client would have seen them when signing.
func headerValues(r *http.Request, name, host string) []string {
	if name == "host" {
		return []string{host}
	}
	if v, ok := r.Header[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		return v
	}
	for k, v := range r.Header {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	if name == "content-length" && r.ContentLength > 0 {
		// Requests built in-process keep the length out of the header.
		return []string{strconv.FormatInt(r.ContentLength, 10)}
	}
	return nil
}

// rawPath is the request's path exactly as it arrived, before Go decoded
// and re-encoded it: r.URL.EscapedPath may spell "~" or UTF-8 differently
// from the client, and the client signed its own spelling.
func rawPath(r *http.Request) string {
	uri := r.RequestURI
	if uri == "" {
		if r.URL.RawPath != "" {
			uri = r.URL.RawPath
		} else {
			uri = r.URL.EscapedPath()
		}
	}
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	if !strings.HasPrefix(uri, "/") {
		// An absolute-form target, "http://host/path": drop the scheme and
		// the authority.
		if _, rest, ok := strings.Cut(uri, "://"); ok {
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				uri = rest[i:]
			} else {
				uri = ""
			}
		}
	}
	if uri == "" {
		return "/"
	}
	return uri
}

// canonicalURIs returns the canonical URI forms a client may have signed for
// the raw path, the most common first.
//
// S3 signs the path as sent, without a second encoding. Some clients send a
// character raw ("+", "!", UTF-8) that they escape when signing, so that
// spelling is accepted too; escapes already on the wire are never decoded,
// so "a%2Fb" is not taken for "a/b". Every other service encodes the path
// once more, and AWS's signers normalise it first (dot segments and
// repeated slashes removed, as the SigV4 test suite's *-normalized cases
// do) while aws-sdk-go-v2 does not; both forms are accepted. All forms
// name the same decoded path, which is what the handler acts on.
func canonicalURIs(raw, service string) []string {
	if service == serviceS3 {
		uris := []string{raw}
		if alt := completeEscapes(raw); alt != raw {
			uris = append(uris, alt)
		}
		return uris
	}
	uris := []string{httpbinding.EscapePath(raw, false)}
	if norm := normalizePath(raw); norm != raw {
		uris = append(uris, httpbinding.EscapePath(norm, false))
	}
	return uris
}

// completeEscapes escapes every byte of p that SigV4 escapes and the client
// sent raw, and spells existing escapes in upper case, as SigV4 does.
func completeEscapes(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p) + 16)
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
			b.WriteByte('%')
			b.WriteString(strings.ToUpper(p[i+1 : i+3]))
			i += 2
		case c == '/' || isUnreserved(c):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// normalizePath removes "." and ".." segments (RFC 3986 §5.2.4) and empty
// segments, keeping a leading and a trailing slash.
func normalizePath(p string) string {
	var out []string
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	s := "/" + strings.Join(out, "/")
	if strings.HasSuffix(p, "/") && len(out) > 0 {
		s += "/"
	}
	return s
}

// canonicalRequest builds the canonical request for the canonical URI uri
// from the client's own SignedHeaders list. It is used where the SDK signer
// cannot reproduce what the client signed (see the package documentation).
func (in *signingInput) canonicalRequest(uri string) string {
	var b strings.Builder
	b.Grow(256)
	b.WriteString(in.method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(in.query))
	b.WriteByte('\n')
	for i, name := range in.names {
		b.WriteString(name)
		b.WriteByte(':')
		if name == "host" {
			b.WriteString(collapseSpaces(in.host))
		} else {
			for j, v := range in.values[i] {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strings.TrimSpace(collapseSpaces(v)))
			}
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(in.names, ";"))
	b.WriteByte('\n')
	b.WriteString(in.payload)
	return b.String()
}

// canonicalQuery encodes every name and value with SigV4's RFC 3986 rules
// and sorts the pairs by encoded name, then encoded value.
func canonicalQuery(q url.Values) string {
	type pair struct{ k, v string }
	pairs := make([]pair, 0, len(q))
	for k, vs := range q {
		ek := httpbinding.EscapePath(k, true)
		for _, v := range vs {
			pairs = append(pairs, pair{ek, httpbinding.EscapePath(v, true)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// collapseSpaces turns each run of spaces into one space, as SigV4's
// header-value canonicalisation requires.
func collapseSpaces(s string) string {
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// String returns the scope as it is signed: "20130524/us-east-1/s3/aws4_request".
func (s Scope) String() string {
	return s.Date + "/" + s.Region + "/" + s.Service + "/" + terminator
}

// stringToSign is the string SigV4 signs for a canonical request.
func stringToSign(amzDate string, scope Scope, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return algorithm + "\n" + amzDate + "\n" + scope.String() + "\n" + hex.EncodeToString(sum[:])
}

// signingKey derives the key for one day, region and service from the
// secret.
func signingKey(secret string, scope Scope) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), scope.Date)
	k = hmacSHA256(k, scope.Region)
	k = hmacSHA256(k, scope.Service)
	return hmacSHA256(k, terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// ownSignature signs the canonical request built by canonicalRequest.
func (in *signingInput) ownSignature(key []byte, uri string) string {
	return hex.EncodeToString(hmacSHA256(key, stringToSign(in.amzDate, in.scope, in.canonicalRequest(uri))))
}
