package sigv4

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	algorithm  = "AWS4-HMAC-SHA256"
	terminator = "aws4_request"

	// timeFormat is X-Amz-Date's ISO 8601 basic format; dateFormat is the
	// credential scope's date.
	timeFormat = "20060102T150405Z"
	dateFormat = "20060102"

	// maxSkew is how far X-Amz-Date may be from now for header
	// authentication, and how early a presigned URL may be used.
	maxSkew = 15 * time.Minute
	// maxExpires is the longest validity a presigned URL may ask for.
	maxExpires = 7 * 24 * time.Hour

	headerAuthorization = "Authorization"
	headerDate          = "X-Amz-Date"
	headerToken         = "X-Amz-Security-Token"
	headerContentSHA256 = "X-Amz-Content-Sha256"

	queryAlgorithm     = "X-Amz-Algorithm"
	queryCredential    = "X-Amz-Credential"
	queryDate          = "X-Amz-Date"
	querySignedHeaders = "X-Amz-SignedHeaders"
	querySignature     = "X-Amz-Signature"
	queryExpires       = "X-Amz-Expires"
	queryToken         = "X-Amz-Security-Token"
	queryContentSHA256 = "X-Amz-Content-Sha256"
)

const msgUnsupportedMechanism = "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."

// Scope is the credential scope a request was signed for: who signed it, on
// which day, for which region and service.
type Scope struct {
	AccessKeyID string
	// Date is the scope's day as signed, in YYYYMMDD form.
	Date    string
	Region  string
	Service string
	// Presigned is true when the signature is in the query string.
	Presigned bool
}

// Parse extracts the SigV4 credential scope from the Authorization header or
// the X-Amz-* query parameters, without verifying anything; it reads no body.
// ok is false, with a nil error, when the request carries no authentication
// at all. Authentication that cannot be read, or that uses another scheme
// (Signature Version 2, SigV4A), is an *Error of kind ErrMalformed. It is
// meant for routing a request to IAM, STS, S3 or EKS by the service it was
// signed for.
func Parse(r *http.Request) (scope Scope, ok bool, err error) {
	a, err := parseAuth(r)
	if err != nil {
		return Scope{}, false, err
	}
	if a == nil {
		return Scope{}, false, nil
	}
	return a.scope, true, nil
}

// auth is what the request says about its own signature.
type auth struct {
	scope         Scope
	signedHeaders []string
	signature     string
	// amzDate is the timestamp of the string to sign, in timeFormat.
	amzDate string
	// dateFromHeader is true when the timestamp came from the X-Amz-Date
	// header (not the Date header or the query).
	dateFromHeader bool
	time           time.Time
	// expires is X-Amz-Expires for presigned requests, or -1 when the URL
	// did not say.
	expires time.Duration
	token   string
	// query is the parsed query string; for presigned requests it no longer
	// holds X-Amz-Signature, since that is not part of what was signed.
	query url.Values
	// raw is the Authorization header or the query string, for messages.
	raw string
}

func (a *auth) presigned() bool { return a.scope.Presigned }

// parseAuth reads the request's SigV4 authentication; it returns nil, nil
// when there is none.
func parseAuth(r *http.Request) (*auth, error) {
	header := r.Header.Values(headerAuthorization)
	query, qerr := url.Values{}, error(nil)
	if r.URL.RawQuery != "" {
		query, qerr = url.ParseQuery(r.URL.RawQuery)
	}
	presigned := qerr == nil && (query.Has(queryAlgorithm) || query.Has(queryCredential) || query.Has(querySignature))
	if qerr != nil {
		// The query is signed as the handler will parse it; a query Go
		// cannot parse would be signed over values the handler never sees.
		if len(header) == 0 && !strings.Contains(r.URL.RawQuery, queryAlgorithm) {
			return nil, nil
		}
		return nil, newError(ErrMalformed, len(header) == 0, fmt.Sprintf("The query string cannot be parsed: %v", qerr))
	}
	switch {
	case len(header) > 0 && presigned:
		return nil, newError(ErrMalformed, true, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
	case len(header) > 1:
		return nil, newError(ErrMalformed, false, "The request carries more than one Authorization header.")
	case len(header) == 1:
		return parseHeaderAuth(r, header[0], query)
	case presigned:
		return parseQueryAuth(r, query)
	case query.Has("AWSAccessKeyId") || query.Has("SignatureVersion"):
		// Signature Version 2 in the query (what botocore presigns S3 URLs
		// with unless told s3v4): signed, but not in a way we verify.
		return nil, newError(ErrMalformed, true, msgUnsupportedMechanism)
	}
	return nil, nil
}

func parseHeaderAuth(r *http.Request, value string, query url.Values) (*auth, error) {
	alg, rest, _ := strings.Cut(strings.TrimLeft(value, " "), " ")
	if alg != algorithm {
		return nil, newError(ErrMalformed, false, msgUnsupportedMechanism)
	}
	a := &auth{raw: value, expires: -1, query: query}
	var credential string
	var haveCred, haveHeaders, haveSig bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, val, found := strings.Cut(part, "=")
		if !found {
			return nil, newError(ErrMalformed, false, fmt.Sprintf("Authorization header requires each component to be of the form key=value: '%s'. Authorization=%s", part, value))
		}
		var seen *bool
		switch key {
		case "Credential":
			seen, credential = &haveCred, val
		case "SignedHeaders":
			seen = &haveHeaders
			a.signedHeaders = splitSignedHeaders(val)
		case "Signature":
			seen, a.signature = &haveSig, val
		default:
			return nil, newError(ErrMalformed, false, fmt.Sprintf("Authorization header has an unknown component '%s'. Authorization=%s", key, value))
		}
		if *seen {
			return nil, newError(ErrMalformed, false, fmt.Sprintf("Authorization header has the '%s' component more than once. Authorization=%s", key, value))
		}
		*seen = true
	}

	dates := r.Header.Values(headerDate)
	httpDates := r.Header.Values("Date")
	var missing []string
	if !haveCred {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if !haveSig {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if !haveHeaders {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if len(dates) == 0 && len(httpDates) == 0 {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return nil, newError(ErrMalformed, false, strings.Join(missing, " ")+" Authorization="+value)
	}

	scope, err := parseCredential(credential, false)
	if err != nil {
		return nil, err
	}
	a.scope = scope
	if err := checkSignedHeaders(a.signedHeaders, false); err != nil {
		return nil, err
	}

	switch {
	case len(dates) > 1:
		return nil, newError(ErrMalformed, false, "The request carries more than one X-Amz-Date header.")
	case len(dates) == 1:
		t, err := parseAmzDate(dates[0], false)
		if err != nil {
			return nil, err
		}
		a.time, a.amzDate, a.dateFromHeader = t, dates[0], true
	default:
		if len(httpDates) > 1 {
			return nil, newError(ErrMalformed, false, "The request carries more than one Date header.")
		}
		t, err := http.ParseTime(httpDates[0])
		if err != nil {
			return nil, newError(ErrMalformed, false, fmt.Sprintf("Date must be in RFC 1123 format when X-Amz-Date is absent. Got '%s'.", httpDates[0]))
		}
		a.time = t.UTC()
		a.amzDate = a.time.Format(timeFormat)
	}
	if err := checkScopeDate(a); err != nil {
		return nil, err
	}

	tokens := r.Header.Values(headerToken)
	switch {
	case len(tokens) > 1:
		return nil, newError(ErrMalformed, false, "The request carries more than one X-Amz-Security-Token header.")
	case len(tokens) == 1:
		a.token = tokens[0]
	default:
		// Some clients put the token in the query even with header
		// authentication; it is then covered by the query's signature.
		if v := query[queryToken]; len(v) == 1 {
			a.token = v[0]
		} else if len(v) > 1 {
			return nil, newError(ErrMalformed, false, "The request carries more than one X-Amz-Security-Token parameter.")
		}
	}
	return a, nil
}

func parseQueryAuth(r *http.Request, query url.Values) (*auth, error) {
	// Each of these is signed once; a repeated one would be ambiguous, and
	// a signer that rewrites single values could then be fooled by an
	// extra copy appended to a good URL.
	for _, k := range []string{queryAlgorithm, queryCredential, queryDate, querySignedHeaders, querySignature, queryExpires, queryToken, queryContentSHA256} {
		if len(query[k]) > 1 {
			return nil, newError(ErrMalformed, true, fmt.Sprintf("The query parameter %s appears more than once.", k))
		}
	}
	a := &auth{raw: r.URL.RawQuery, expires: -1}
	required := []string{queryAlgorithm, queryCredential, querySignature, queryDate, querySignedHeaders}
	for _, k := range required {
		if !query.Has(k) {
			return nil, newError(ErrMalformed, true, "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
		}
	}
	if alg := query.Get(queryAlgorithm); alg != algorithm {
		return nil, newError(ErrMalformed, true, fmt.Sprintf("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\", not \"%s\"", alg))
	}
	scope, err := parseCredential(query.Get(queryCredential), true)
	if err != nil {
		return nil, err
	}
	a.scope = scope
	a.signedHeaders = splitSignedHeaders(query.Get(querySignedHeaders))
	if err := checkSignedHeaders(a.signedHeaders, true); err != nil {
		return nil, err
	}
	a.signature = query.Get(querySignature)
	a.amzDate = query.Get(queryDate)
	if a.time, err = parseAmzDate(a.amzDate, true); err != nil {
		return nil, err
	}
	if err := checkScopeDate(a); err != nil {
		return nil, err
	}
	if query.Has(queryExpires) {
		v := query.Get(queryExpires)
		secs, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
			return nil, newError(ErrMalformed, true, "X-Amz-Expires should be a number")
		case secs < 0:
			return nil, newError(ErrMalformed, true, "X-Amz-Expires must be non-negative")
		case secs > int64(maxExpires/time.Second):
			return nil, newError(ErrRequestExpired, true, "X-Amz-Expires must be less than a week (in seconds) that is 604800")
		}
		a.expires = time.Duration(secs) * time.Second
	} else if scope.Service == serviceS3 {
		return nil, newError(ErrMalformed, true, "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
	}
	a.token = query.Get(queryToken)
	if a.token == "" {
		a.token = r.Header.Get(headerToken)
	}
	// What was signed is the query without its signature.
	a.query = make(url.Values, len(query))
	for k, v := range query {
		if k != querySignature {
			a.query[k] = v
		}
	}
	return a, nil
}

// parseCredential splits "AKID/20130524/us-east-1/s3/aws4_request".
func parseCredential(cred string, presigned bool) (Scope, error) {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return Scope{}, newError(ErrMalformed, presigned, fmt.Sprintf("Credential should have the form <access key>/<YYYYMMDD>/<region>/<service>/aws4_request, not '%s'.", cred))
	}
	if parts[4] != terminator {
		return Scope{}, newError(ErrMalformed, presigned, fmt.Sprintf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", parts[4]))
	}
	if parts[0] == "" || !printable(parts[0]) {
		return Scope{}, newError(ErrMalformed, presigned, fmt.Sprintf("Credential has an invalid access key ID '%s'.", parts[0]))
	}
	if _, err := time.Parse(dateFormat, parts[1]); err != nil || len(parts[1]) != len(dateFormat) {
		return Scope{}, newError(ErrMalformed, presigned, fmt.Sprintf("Credential should be scoped to a valid date in YYYYMMDD form, not '%s'.", parts[1]))
	}
	if !scopeName(parts[2]) {
		return Scope{}, newError(ErrMalformed, presigned, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", parts[2]))
	}
	if !scopeName(parts[3]) {
		return Scope{}, newError(ErrMalformed, presigned, fmt.Sprintf("Credential should be scoped to correct service: '%s'.", parts[3]))
	}
	return Scope{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3], Presigned: presigned}, nil
}

// scopeName reports whether s can be a region or service name: AWS's are
// letters, digits and dashes. Anything else in a scope is refused before it
// reaches a signer or a log line.
func scopeName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// printable reports whether s is visible ASCII with no spaces.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func splitSignedHeaders(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ";")
}

// checkSignedHeaders refuses lists no signer produces: names that are not
// lower-case HTTP tokens (a newline or colon in a name could move bytes
// between the canonical request's lines), repeated names, and lists without
// host, which SigV4 requires to be signed so a request cannot be replayed
// against another endpoint.
func checkSignedHeaders(names []string, presigned bool) error {
	hasHost := false
	seen := make(map[string]struct{}, len(names))
	for _, n := range names {
		if !isToken(n) || n != strings.ToLower(n) {
			return newError(ErrMalformed, presigned, fmt.Sprintf("SignedHeaders has an invalid header name '%s'.", n))
		}
		if _, dup := seen[n]; dup {
			return newError(ErrMalformed, presigned, fmt.Sprintf("SignedHeaders lists '%s' more than once.", n))
		}
		seen[n] = struct{}{}
		if n == "host" {
			hasHost = true
		}
	}
	if !hasHost {
		return newError(ErrMalformed, presigned, "SignedHeaders must include 'host'.")
	}
	return nil
}

func parseAmzDate(v string, presigned bool) (time.Time, error) {
	t, err := time.Parse(timeFormat, v)
	if err != nil || t.Format(timeFormat) != v {
		return time.Time{}, newError(ErrMalformed, presigned, fmt.Sprintf("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", v))
	}
	return t, nil
}

// checkScopeDate refuses a credential scoped to a day other than the one the
// request says it was signed on.
func checkScopeDate(a *auth) error {
	if day := a.amzDate[:len(dateFormat)]; day != a.scope.Date {
		return newError(ErrMalformed, a.presigned(), fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", a.scope.Date, day, a.amzDate))
	}
	return nil
}
