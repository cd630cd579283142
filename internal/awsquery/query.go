// Package awsquery is the codec of AWS's Query protocol, which IAM and STS
// speak: form parameters in, XML results and errors out, with AWS's
// validation messages.
package awsquery

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Error is an AWS error as the Query protocol serialises it.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Params are the parameters of one Query-protocol request.
type Params url.Values

// ReadParams reads the parameters from the form body (POST, as every SDK
// sends them) merged over the URL query (GET works too).
func ReadParams(r *http.Request, body []byte) (Params, error) {
	v := r.URL.Query()
	if len(body) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, Errorf(400, "MalformedQueryString", "The request body could not be parsed as a form: %v", err)
		}
		for k, vs := range form {
			v[k] = vs
		}
	}
	return Params(v), nil
}

func (p Params) Get(key string) string { return url.Values(p).Get(key) }

func (p Params) Has(key string) bool { _, ok := p[key]; return ok }

// List reads a Query List ("Prefix.member.1", "Prefix.member.2", ...).
func (p Params) List(prefix string) []string {
	type item struct {
		n int
		v string
	}
	var items []item
	for k, vs := range p {
		rest, ok := strings.CutPrefix(k, prefix+".member.")
		if !ok || len(vs) == 0 {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil {
			continue
		}
		items = append(items, item{n, vs[0]})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].n < items[j].n })
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.v)
	}
	return out
}

// StructList reads a list of structures ("Prefix.member.N.Field").
func (p Params) StructList(prefix string, fields ...string) []map[string]string {
	byN := map[int]map[string]string{}
	for k, vs := range p {
		rest, ok := strings.CutPrefix(k, prefix+".member.")
		if !ok || len(vs) == 0 {
			continue
		}
		num, field, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			continue
		}
		for _, f := range fields {
			if f == field {
				if byN[n] == nil {
					byN[n] = map[string]string{}
				}
				byN[n][f] = vs[0]
			}
		}
	}
	ns := make([]int, 0, len(byN))
	for n := range byN {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	out := make([]map[string]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, byN[n])
	}
	return out
}

// resultBuf is a response buffer with an XML encoder writing into it.
// They are pooled: xml.NewEncoder allocates a 4 KiB bufio.Writer, which
// was a third of what a whole AssumeRoleWithWebIdentity call allocated.
type resultBuf struct {
	buf bytes.Buffer
	enc *xml.Encoder
}

var resultBufs = sync.Pool{New: func() any {
	b := &resultBuf{}
	b.enc = xml.NewEncoder(&b.buf)
	return b
}}

// WriteResult writes a Query-protocol success response. A nil result omits
// the <ActionResult> element, as AWS does for actions that return nothing.
func WriteResult(w http.ResponseWriter, namespace, action string, result any, requestID string) {
	b := resultBufs.Get().(*resultBuf)
	b.buf.Reset()
	b.buf.WriteString(`<` + action + `Response xmlns="` + namespace + `">`)
	if result != nil {
		err := b.enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}})
		if err == nil {
			err = b.enc.Flush()
		}
		if err != nil {
			// Not returned to the pool: the encoder may hold a half
			// element.
			WriteError(w, namespace, Errorf(500, "ServiceFailure", "encode response: %v", err), requestID)
			return
		}
	}
	b.buf.WriteString(`<ResponseMetadata><RequestId>` + requestID + `</RequestId></ResponseMetadata></` + action + `Response>`)
	WriteXML(w, http.StatusOK, requestID, b.buf.Bytes())
	if b.buf.Cap() <= 64<<10 {
		resultBufs.Put(b)
	}
}

// WriteError writes the Query-protocol error envelope: RequestId is a sibling
// of <Error>, and Type is Sender for client faults.
func WriteError(w http.ResponseWriter, namespace string, e *Error, requestID string) {
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	var buf bytes.Buffer
	buf.WriteString(`<ErrorResponse xmlns="` + namespace + `"><Error><Type>` + typ + `</Type><Code>`)
	_ = xml.EscapeText(&buf, []byte(e.Code))
	buf.WriteString(`</Code><Message>`)
	_ = xml.EscapeText(&buf, []byte(e.Message))
	buf.WriteString(`</Message></Error><RequestId>` + requestID + `</RequestId></ErrorResponse>`)
	WriteXML(w, e.Status, requestID, buf.Bytes())
}

func WriteXML(w http.ResponseWriter, status int, requestID string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("x-amzn-RequestId", requestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// ReadBody reads a bounded request body.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, Errorf(413, "RequestEntityTooLarge", "Request body exceeds %d bytes", limit)
	}
	// The declared length sizes the buffer at once (ReadFrom keeps
	// bytes.MinRead free), so a body is not copied from buffer to doubled
	// buffer as it arrives; only up to 64 KiB, so that a client declaring
	// a large body and sending it slowly cannot make the server hold
	// memory it has not sent.
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(min(r.ContentLength, 64<<10)) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1)); err != nil {
		return nil, Errorf(400, "IncompleteBody", "read request body: %v", err)
	}
	b := buf.Bytes()
	if int64(len(b)) > limit {
		return nil, Errorf(413, "RequestEntityTooLarge", "Request body exceeds %d bytes", limit)
	}
	return b, nil
}

// Validation collects parameter constraint violations and reports them in
// the form AWS uses: "N Validation error(s) detected: Value 'x' at 'name'
// failed to satisfy constraint: ...".
type Validation []string

// Add records that value (nil when absent) of member fails constraint.
// A value is quoted cut to MaxEchoed bytes, so an oversized parameter is
// not repeated in full into the response, the trail and the log; the value
// of a sensitive member is never quoted, as AWS leaves out the values of
// members its models mark sensitive.
func (v *Validation) Add(value *string, member, constraint string) {
	switch {
	case sensitiveMembers[member]:
		*v = append(*v, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", member, constraint))
	case value == nil:
		*v = append(*v, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: %s", member, constraint))
	default:
		*v = append(*v, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", Truncate(*value, MaxEchoed), member, constraint))
	}
}

// sensitiveMembers are the parameters whose values are secrets.
var sensitiveMembers = map[string]bool{"webIdentityToken": true, "tokenCode": true, "samlAssertion": true}

// Err is the one ValidationError that reports every problem found, or nil.
func (v Validation) Err() *Error {
	if len(v) == 0 {
		return nil
	}
	noun := "error"
	if len(v) > 1 {
		noun = "errors"
	}
	return Errorf(400, "ValidationError", "%d validation %s detected: %s", len(v), noun, strings.Join(v, "; "))
}

// MemberName turns a parameter name into the member name AWS quotes in
// validation messages (RoleSessionName → roleSessionName).
func MemberName(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// CheckString validates a string parameter's presence, length and pattern.
func (v *Validation) CheckString(p Params, name string, required bool, minLen, maxLen int, pattern interface{ MatchString(string) bool }, patternText string) (string, bool) {
	if !p.Has(name) {
		if required {
			v.Add(nil, MemberName(name), "Member must not be null")
		}
		return "", false
	}
	s := p.Get(name)
	ok := true
	if n := len([]rune(s)); n < minLen {
		v.Add(&s, MemberName(name), fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
		ok = false
	} else if maxLen > 0 && n > maxLen {
		v.Add(&s, MemberName(name), fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
		ok = false
	}
	if ok && pattern != nil && !pattern.MatchString(s) {
		v.Add(&s, MemberName(name), "Member must satisfy regular expression pattern: "+patternText)
		ok = false
	}
	return s, ok
}

// CheckInt validates an optional integer parameter's range.
func (v *Validation) CheckInt(p Params, name string, minV, maxV int64) (int64, bool) {
	if !p.Has(name) {
		return 0, false
	}
	s := p.Get(name)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		*v = append(*v, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must be a number", s, MemberName(name)))
		return 0, false
	}
	if n < minV {
		v.Add(&s, MemberName(name), fmt.Sprintf("Member must have value greater than or equal to %d", minV))
		return 0, false
	}
	if n > maxV {
		v.Add(&s, MemberName(name), fmt.Sprintf("Member must have value less than or equal to %d", maxV))
		return 0, false
	}
	return n, true
}
