package stsmock

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
)

// XML namespaces of the Query-protocol services.
const (
	iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// maxQueryBody bounds a Query-protocol request body. The largest legal
// parameter is a 131072-character policy document, URL-encoded.
const maxQueryBody = 1 << 20

// apiError is an AWS error as the Query protocol serialises it.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// params are the parameters of one Query-protocol request.
type params url.Values

// readParams reads the parameters from the form body (POST, as every SDK
// sends them) merged over the URL query (GET works too).
func readParams(r *http.Request, body []byte) (params, error) {
	v := r.URL.Query()
	if len(body) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errorf(400, "MalformedQueryString", "The request body could not be parsed as a form: %v", err)
		}
		for k, vs := range form {
			v[k] = vs
		}
	}
	return params(v), nil
}

func (p params) get(key string) string { return url.Values(p).Get(key) }

func (p params) has(key string) bool { _, ok := p[key]; return ok }

// list reads a Query list ("Prefix.member.1", "Prefix.member.2", ...).
func (p params) list(prefix string) []string {
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

// structList reads a list of structures ("Prefix.member.N.Field").
func (p params) structList(prefix string, fields ...string) []map[string]string {
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

// writeResult writes a Query-protocol success response. A nil result omits
// the <ActionResult> element, as AWS does for actions that return nothing.
func writeResult(w http.ResponseWriter, namespace, action string, result any, requestID string) {
	var buf bytes.Buffer
	buf.WriteString(`<` + action + `Response xmlns="` + namespace + `">`)
	if result != nil {
		enc := xml.NewEncoder(&buf)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			writeError(w, namespace, errorf(500, "ServiceFailure", "encode response: %v", err), requestID)
			return
		}
		_ = enc.Flush()
	}
	buf.WriteString(`<ResponseMetadata><RequestId>` + requestID + `</RequestId></ResponseMetadata></` + action + `Response>`)
	writeXML(w, http.StatusOK, requestID, buf.Bytes())
}

// writeError writes the Query-protocol error envelope: RequestId is a sibling
// of <Error>, and Type is Sender for client faults.
func writeError(w http.ResponseWriter, namespace string, e *apiError, requestID string) {
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
	writeXML(w, e.Status, requestID, buf.Bytes())
}

func writeXML(w http.ResponseWriter, status int, requestID string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("x-amzn-RequestId", requestID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// readBody reads a bounded request body.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, errorf(413, "RequestEntityTooLarge", "Request body exceeds %d bytes", limit)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, errorf(400, "IncompleteBody", "read request body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, errorf(413, "RequestEntityTooLarge", "Request body exceeds %d bytes", limit)
	}
	return b, nil
}

// validation collects parameter constraint violations and reports them in
// the form AWS uses: "N validation error(s) detected: Value 'x' at 'name'
// failed to satisfy constraint: ...".
type validation []string

// A value is quoted cut to maxEchoed bytes, so an oversized parameter is
// not repeated in full into the response, the trail and the log; the value
// of a sensitive member is never quoted, as AWS leaves out the values of
// members its models mark sensitive.
func (v *validation) add(value *string, member, constraint string) {
	switch {
	case sensitiveMembers[member]:
		*v = append(*v, fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", member, constraint))
	case value == nil:
		*v = append(*v, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: %s", member, constraint))
	default:
		*v = append(*v, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", truncate(*value, maxEchoed), member, constraint))
	}
}

// sensitiveMembers are the parameters whose values are secrets.
var sensitiveMembers = map[string]bool{"webIdentityToken": true, "tokenCode": true, "samlAssertion": true}

func (v validation) err() *apiError {
	if len(v) == 0 {
		return nil
	}
	noun := "error"
	if len(v) > 1 {
		noun = "errors"
	}
	return errorf(400, "ValidationError", "%d validation %s detected: %s", len(v), noun, strings.Join(v, "; "))
}

// lowerFirst turns a parameter name into the member name AWS quotes in
// validation messages (RoleSessionName → roleSessionName).
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// checkString validates a string parameter's presence, length and pattern.
func (v *validation) checkString(p params, name string, required bool, minLen, maxLen int, pattern interface{ MatchString(string) bool }, patternText string) (string, bool) {
	if !p.has(name) {
		if required {
			v.add(nil, lowerFirst(name), "Member must not be null")
		}
		return "", false
	}
	s := p.get(name)
	ok := true
	if n := len([]rune(s)); n < minLen {
		v.add(&s, lowerFirst(name), fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
		ok = false
	} else if maxLen > 0 && n > maxLen {
		v.add(&s, lowerFirst(name), fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
		ok = false
	}
	if ok && pattern != nil && !pattern.MatchString(s) {
		v.add(&s, lowerFirst(name), "Member must satisfy regular expression pattern: "+patternText)
		ok = false
	}
	return s, ok
}

// checkInt validates an optional integer parameter's range.
func (v *validation) checkInt(p params, name string, minV, maxV int64) (int64, bool) {
	if !p.has(name) {
		return 0, false
	}
	s := p.get(name)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		*v = append(*v, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must be a number", s, lowerFirst(name)))
		return 0, false
	}
	if n < minV {
		v.add(&s, lowerFirst(name), fmt.Sprintf("Member must have value greater than or equal to %d", minV))
		return 0, false
	}
	if n > maxV {
		v.add(&s, lowerFirst(name), fmt.Sprintf("Member must have value less than or equal to %d", maxV))
		return 0, false
	}
	return n, true
}

// policyEscape URL-encodes a policy document the way IAM returns it: spaces
// as %20, because botocore decodes with unquote, not unquote_plus.
func policyEscape(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}
