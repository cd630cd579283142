package actions

import (
	"context"
	"errors"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// docServices maps the names docs/services.md uses to signing names.
var docServices = map[string]string{
	"SQS": "sqs", "SNS": "sns", "DynamoDB": "dynamodb", "Secrets Manager": "secretsmanager",
	"SSM Parameter Store": "ssm", "KMS": "kms",
}

// TestDocumentedOperations keeps docs/services.md's list of operations
// true: every operation it names has a model (a request without its
// parameters is refused as invalid, never as unmodelled), and every
// operation of the golden tables is named there.
func TestDocumentedOperations(t *testing.T) {
	doc, err := os.ReadFile("../../docs/services.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(doc)
	section = section[strings.Index(section, "## Operations modelled"):]
	section = section[:strings.Index(section[3:], "\n## ")+3]
	item := regexp.MustCompile(`(?s)^\*\*([^*]+)\*\*: (.*)`)
	listed := map[string]map[string]bool{}
	for _, part := range strings.Split(section, "\n- ")[1:] {
		m := item.FindStringSubmatch(part)
		if m == nil {
			t.Fatalf("docs/services.md: a list item that names no service: %q", part)
		}
		service, ok := docServices[m[1]]
		if !ok {
			t.Fatalf("docs/services.md lists operations of %q, which is not a modelled service", m[1])
		}
		listed[service] = map[string]bool{}
		for _, op := range regexp.MustCompile(`\b[A-Z][A-Za-z]+\b`).FindAllString(m[2], -1) {
			listed[service][op] = true
		}
	}
	for _, service := range Services() {
		ops := listed[service]
		if len(ops) == 0 {
			t.Errorf("docs/services.md lists no operation of %s", service)
			continue
		}
		for op := range ops {
			if isProse(op) {
				continue
			}
			req := Request{Service: service, Header: http.Header{}, Account: account, Region: "us-east-1"}
			if service == "sns" {
				req.Body = []byte("Action=" + op)
			} else {
				req.Header.Set("X-Amz-Target", targetPrefixes[service]+op)
				// The tag operations of SSM model parameters only.
				req.Body = []byte(`{"ResourceType":"Parameter"}`)
			}
			_, err := Parse(context.Background(), req, backend{})
			var e *Error
			if errors.As(err, &e) && e.Unmodeled {
				t.Errorf("docs/services.md names %s:%s, which has no model", service, op)
			}
		}
		for _, c := range tables[service] {
			op := c.op
			if op == "" {
				op = strings.TrimPrefix(strings.SplitN(c.body, "&", 2)[0], "Action=")
			}
			req := Request{Service: service, Header: http.Header{}, Body: []byte(c.body), Account: account, Region: "us-east-1"}
			if c.op != "" {
				req.Header.Set("X-Amz-Target", targetPrefixes[service]+c.op)
			}
			var e *Error
			if _, err := Parse(context.Background(), req, backend{}); errors.As(err, &e) && e.Unmodeled {
				continue
			}
			if strings.HasPrefix(op, "Version=") {
				continue
			}
			if !ops[op] {
				t.Errorf("%s:%s has a model but docs/services.md does not list it", service, op)
			}
		}
	}
}

// isProse tells the words of the list's notes from operation names.
func isProse(w string) bool {
	switch w {
	case "JSON", "Query", "The":
		return true
	}
	return false
}
