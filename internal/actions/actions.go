// Package actions knows, for the AWS services irsa-local forwards to a
// backend, what IAM authorizes in each request: the action as the Service
// Authorization Reference names it (not always the operation's name), the
// resource ARN built from the request, and the service's condition keys.
//
// One request may need several authorizations: a DynamoDB BatchWriteItem
// one per table, a TransactWriteItems one per item, a KMS CreateAlias one
// for the alias and one for the key. Anything the request alone does not
// say (a secret's ARN suffix, the key behind a KMS alias, a table's
// partition key) is asked of a Resolver, which looks it up in the backend.
package actions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Request is what a model reads of one call.
type Request struct {
	// Service is the SigV4 signing name: "sqs", "sns", "dynamodb", ...
	Service string
	Header  http.Header
	Query   url.Values
	Body    []byte
	// Account and Region are the caller's, from which ARNs are built.
	Account, Region string
}

// Check is one authorization a call needs.
type Check struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
	// Keys are the service's condition keys the request carries.
	Keys map[string][]string `json:"keys,omitempty"`
}

// Call is a parsed request.
type Call struct {
	Service   string  `json:"service"`
	Operation string  `json:"operation"`
	Checks    []Check `json:"checks"`
	// Protocol is how the caller expects errors: ProtocolJSON or
	// ProtocolQuery.
	Protocol Protocol `json:"-"`
	// Changes says the call may change what a Resolver caches for the
	// service (a resource policy, a secret's or an alias's ARN).
	Changes bool `json:"-"`
	// Params are a few request fields worth keeping in the trail.
	Params map[string]any `json:"-"`
}

// Protocol is the wire protocol of a request.
type Protocol int

const (
	// ProtocolJSON is awsJson1_0/1_1: an X-Amz-Target header and a JSON
	// body (DynamoDB, Secrets Manager, SSM, KMS, SQS).
	ProtocolJSON Protocol = iota
	// ProtocolQuery is awsQuery: a form body with Action (SNS, and SQS's
	// older clients).
	ProtocolQuery
)

// Resolver looks up what a request does not say, in the backend.
// Implementations cache; a call whose Changes is set invalidates.
type Resolver interface {
	// SecretARN returns the full ARN (with its 6-character suffix) of the
	// secret a name or partial ARN names; found is false when there is no
	// such secret.
	SecretARN(ctx context.Context, id string) (arn string, found bool, err error)
	// KeyARN returns the ARN of the KMS key an alias names.
	KeyARN(ctx context.Context, alias string) (arn string, found bool, err error)
	// CiphertextKeyARN returns the ARN of the KMS key that encrypted blob
	// (base64, as the request carries it).
	CiphertextKeyARN(ctx context.Context, blob string, encryptionContext map[string]string) (arn string, found bool, err error)
	// PartitionKey returns the name of a DynamoDB table's partition key.
	PartitionKey(ctx context.Context, table string) (name string, found bool, err error)
}

// Error is a request the model refuses before any authorization: a body
// that does not parse, a missing parameter, an operation not modelled.
type Error struct {
	// Code is the service's error code ("ValidationException",
	// "InvalidAction", ...).
	Code    string
	Message string
	// Unmodeled says the operation is one irsa-local has no model for.
	Unmodeled bool
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func invalid(format string, a ...any) *Error {
	return &Error{Code: "ValidationException", Message: fmt.Sprintf(format, a...)}
}

// Services lists the services modelled here, by signing name.
func Services() []string {
	names := make([]string, 0, len(models))
	for n := range models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Modeled reports whether service (a signing name) is modelled here.
func Modeled(service string) bool { _, ok := models[service]; return ok }

type model func(ctx context.Context, p *parsed, r Resolver) error

var models = map[string]model{
	"sqs":            sqsModel,
	"sns":            snsModel,
	"dynamodb":       dynamodbModel,
	"secretsmanager": secretsModel,
	"ssm":            ssmModel,
	"kms":            kmsModel,
}

// targetPrefixes are the X-Amz-Target prefixes of the JSON services.
var targetPrefixes = map[string]string{
	"sqs":            "AmazonSQS.",
	"dynamodb":       "DynamoDB_20120810.",
	"secretsmanager": "secretsmanager.",
	"ssm":            "AmazonSSM.",
	"kms":            "TrentService.",
}

// Parse reads req and returns the authorizations its call needs.
func Parse(ctx context.Context, req Request, r Resolver) (*Call, error) {
	m, ok := models[req.Service]
	if !ok {
		return nil, &Error{Code: "InvalidAction", Message: fmt.Sprintf("irsa-local does not model the %q service", req.Service), Unmodeled: true}
	}
	p := &parsed{req: req, call: &Call{Service: req.Service, Params: map[string]any{}}}
	if err := p.decode(); err != nil {
		return nil, err
	}
	if err := m(ctx, p, r); err != nil {
		return nil, err
	}
	if len(p.call.Checks) == 0 {
		return nil, invalid("%s %s names no resource to authorize", req.Service, p.call.Operation)
	}
	return p.call, nil
}

// parsed is a request being modelled.
type parsed struct {
	req  Request
	call *Call
	// json is the decoded body of a JSON-protocol call; form the
	// parameters of a Query call.
	json map[string]any
	form url.Values
}

func (p *parsed) decode() error {
	target := p.req.Header.Get("X-Amz-Target")
	if target != "" {
		prefix, ok := targetPrefixes[p.req.Service]
		if !ok || !strings.HasPrefix(target, prefix) {
			return invalid("the X-Amz-Target %q is not one of %s's", target, p.req.Service)
		}
		p.call.Operation = strings.TrimPrefix(target, prefix)
		p.call.Protocol = ProtocolJSON
		p.json = map[string]any{}
		if len(p.req.Body) > 0 {
			if err := decodeJSON(p.req.Body, &p.json); err != nil {
				return &Error{Code: "SerializationException", Message: "the request body is not a JSON object: " + err.Error()}
			}
		}
		return nil
	}
	form, err := url.ParseQuery(string(p.req.Body))
	if err != nil {
		return &Error{Code: "MalformedQueryString", Message: "the request body is not a form: " + err.Error()}
	}
	for k, v := range p.req.Query {
		form[k] = append(form[k], v...)
	}
	p.form = form
	p.call.Protocol = ProtocolQuery
	p.call.Operation = form.Get("Action")
	if p.call.Operation == "" {
		return &Error{Code: "MissingAction", Message: "the request names no operation (no X-Amz-Target header, no Action parameter)"}
	}
	return nil
}

// str returns a top-level string parameter, in either protocol.
func (p *parsed) str(name string) string {
	if p.json != nil {
		s, _ := p.json[name].(string)
		return s
	}
	return p.form.Get(name)
}

// need returns a required string parameter.
func (p *parsed) need(name string) (string, error) {
	v := p.str(name)
	if v == "" {
		return "", invalid("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(name))
	}
	return v, nil
}

func (p *parsed) add(action, resource string, keys map[string][]string) {
	if len(keys) == 0 {
		keys = nil
	}
	p.call.Checks = append(p.call.Checks, Check{Action: action, Resource: resource, Keys: keys})
}

func (p *parsed) arn(service, resource string) string {
	return "arn:aws:" + service + ":" + p.req.Region + ":" + p.req.Account + ":" + resource
}

func (p *parsed) unmodeled() error {
	return &Error{
		Code:      "InvalidAction",
		Message:   fmt.Sprintf("irsa-local does not model %s:%s, so it refuses to forward it unauthorized; the operations it models are listed in docs/services.md", p.req.Service, p.call.Operation),
		Unmodeled: true,
	}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// errResolve wraps a failed lookup in the backend.
var errResolve = errors.New("look up in the backend")
