package stsmock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httputil"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/internal/actions"
	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/internal/sigv4"
	"github.com/irsa-local/irsa-local/internal/trail"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// The gateway: calls to the services irsa-local does not serve itself are
// authenticated as any other call, authorized by the same engine with the
// service's resource policy, recorded in the trail, and only when allowed
// forwarded to the backend, re-signed with the backend's credentials.

// maxGatewayBody bounds a forwarded request's body, which is read whole to
// authorize it: DynamoDB's largest request (BatchWriteItem, 25 items of
// 400 KB) fits.
const maxGatewayBody = 16 << 20

type gateway struct {
	backend *upstream
	proxy   *httputil.ReverseProxy
}

// gatewayCall is what the proxy needs of one call.
type gatewayCall struct {
	id, service, region string
	body                []byte
	// signErr is why the forwarded request could not be signed; the
	// transport reports it instead of sending.
	signErr error
}

type gatewayCallKey struct{}

func newGateway(b *upstream) *gateway {
	g := &gateway{backend: b}
	g.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = b.url.Scheme, b.url.Host
			// The client's Host stays, so the backend builds the URLs it
			// returns (queue URLs) for the address the client used.
			pr.Out.Host = pr.In.Host
			for _, h := range []string{"Authorization", "X-Amz-Security-Token", "X-Amz-Date", "X-Amz-Content-Sha256"} {
				pr.Out.Header.Del(h)
			}
			c := pr.In.Context().Value(gatewayCallKey{}).(*gatewayCall)
			pr.Out.Body = io.NopCloser(bytes.NewReader(c.body))
			pr.Out.ContentLength = int64(len(c.body))
			c.signErr = b.sign(pr.Out.Context(), pr.Out, c.body, c.service, c.region)
		},
		// Bodies are copied as they arrive; ReverseProxy flushes at once
		// only streams of unknown length, which none of these services
		// send, so a small answer leaves in one write.
		Transport: signingTransport{b},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			c := r.Context().Value(gatewayCallKey{}).(*gatewayCall)
			proto := actions.ProtocolJSON
			if r.Header.Get("X-Amz-Target") == "" {
				proto = actions.ProtocolQuery
			}
			writeGatewayError(w, &request{id: c.id}, c.service, proto,
				&awsquery.Error{Status: 503, Code: "ServiceUnavailable", Message: "irsa-local's backend at " + b.cfg.URL + " did not answer: " + err.Error()})
		},
	}
	return g
}

// signingTransport sends what Rewrite signed with the backend's
// credentials; a request that could not be signed goes to the proxy's
// ErrorHandler instead.
type signingTransport struct{ b *upstream }

func (t signingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if c := r.Context().Value(gatewayCallKey{}).(*gatewayCall); c.signErr != nil {
		return nil, fmt.Errorf("sign the forwarded request: %w", c.signErr)
	}
	return t.b.client.Transport.RoundTrip(r)
}

// servedDirectly are the services irsa-local serves itself.
var servedDirectly = []string{"iam", "sts", "s3", "eks"}

func (s *Server) serveGateway(w http.ResponseWriter, req *request, scope sigv4.Scope) {
	service := scope.Service
	proto := actions.ProtocolJSON
	if req.r.Header.Get("X-Amz-Target") == "" {
		proto = actions.ProtocolQuery
	}
	if !actions.Modeled(service) {
		writeGatewayError(w, req, service, proto, awsquery.Errorf(400, "InvalidAction",
			"irsa-local does not serve the %q service: it serves %s itself and %s through its backend", service,
			strings.Join(servedDirectly, ", "), strings.Join(actions.Services(), ", ")))
		return
	}
	rec := s.newEvent(req, service, "")
	fail := func(e *awsquery.Error) {
		rec.fail(e.Code, e.Message)
		s.record(rec)
		writeGatewayError(w, req, service, proto, e)
	}
	c, err := s.verify(req.r)
	if err != nil {
		fail(gatewayAuthError(service, err))
		return
	}
	rec.identity(s, c)
	req.caller = c
	if s.gateway == nil {
		fail(awsquery.Errorf(501, "NotImplemented",
			"irsa-local forwards %s to a backend emulator, and this environment has none: start it with one (moto_server, a moto or LocalStack container, or the URL of an emulator; see docs/services.md)", service))
		return
	}
	body, rerr := awsquery.ReadBody(req.r, maxGatewayBody)
	if rerr != nil {
		fail(rerr.(*awsquery.Error))
		return
	}
	region := scope.Region
	rec.AWSRegion = region
	call, perr := actions.Parse(req.r.Context(), actions.Request{
		Service: service, Header: req.r.Header, Query: req.r.URL.Query(), Body: body,
		Account: c.callerAccount(), Region: region,
	}, resolver{b: s.gateway.backend, region: region, account: c.callerAccount()})
	if call != nil {
		rec.EventName = call.Operation
		maps.Copy(rec.RequestParameters, call.Params)
		rec.Resources = checkResources(call.Checks)
	}
	var me *actions.Error
	switch {
	case perr == nil:
	case errors.As(perr, &me) && c.admin:
		// The account root may call what irsa-local does not model; the
		// backend judges the request itself.
		rec.EventName = operationName(req.r, body)
	case errors.As(perr, &me):
		fail(&awsquery.Error{Status: 400, Code: me.Code, Message: me.Message})
		return
	default:
		fail(&awsquery.Error{Status: 503, Code: "ServiceUnavailable", Message: "irsa-local could not authorize the call: " + perr.Error()})
		return
	}
	owner := c.callerAccount()
	crosses := false // a check names another account's resource
	if call != nil {
		for i, ch := range call.Checks {
			acct := arnAccountOr(ch.Resource, c.callerAccount())
			if i == 0 {
				owner = acct
			}
			crosses = crosses || acct != c.callerAccount()
		}
	}
	if call != nil && (!c.admin || crosses) {
		allowed, reason, denial := s.authorizeGateway(req.r.Context(), c, call, region, rec)
		rec.decide(allowed, reason)
		if !allowed {
			fail(denial)
			return
		}
	} else {
		rec.decide(true, "the account root ("+c.account+") may do anything in its account")
	}
	if call == nil || call.Changes {
		// Unmodeled (admin) calls may change anything too.
		defer s.gateway.backend.change(service)()
	}
	sw := &statusWriter{ResponseWriter: w}
	// The call acts in, and is recorded for, the account that owns what
	// it names.
	rec.RecipientAccountID = owner
	ctx := withAccount(req.r.Context(), owner)
	ctx = context.WithValue(ctx, gatewayCallKey{}, &gatewayCall{id: req.id, service: service, region: region, body: body})
	s.gateway.proxy.ServeHTTP(sw, req.r.WithContext(ctx))
	if sw.status >= 400 {
		code, _, _ := strings.Cut(sw.Header().Get("X-Amzn-ErrorType"), ":")
		if code == "" {
			code = "HTTP " + strconv.Itoa(sw.status)
		}
		rec.fail(code, "the backend refused the call")
	}
	s.record(rec)
}

// authorizeGateway decides every check of a call for a role session or an
// account root calling into another account. The first refusal decides,
// as AWS stops at the first action it denies.
func (s *Server) authorizeGateway(ctx context.Context, c *caller, call *actions.Call, region string, rec *eventRecord) (bool, string, *awsquery.Error) {
	callerAccount := c.callerAccount()
	var reasons []string
	for _, ch := range call.Checks {
		doc, name, err := s.gateway.backend.resourcePolicy(ctx, call.Service, region, ch.Resource)
		if err != nil {
			return false, err.Error(), &awsquery.Error{Status: 503, Code: "ServiceUnavailable", Message: "irsa-local could not authorize the call: " + err.Error()}
		}
		var resource []policy.NamedDocument
		if doc != nil {
			resource = append(resource, policy.NamedDocument{Name: name, Doc: doc})
		}
		extra := policy.Context(ch.Keys)
		owner := arnAccountOr(ch.Resource, callerAccount)
		var res policy.Result
		identityCounts := true
		note := ""
		if owner != callerAccount || c.session == nil {
			// Across accounts: the caller's policies and the resource's
			// (a key policy too) must both allow. (A root in its own
			// account may do anything.)
			res = s.authorizeCall(c, ch.Action, ch.Resource, owner, resource, extra)
		} else {
			if call.Service == "kms" && doc != nil && !s.keyPolicyDelegates(doc, name, ch, extra, owner) {
				// KMS: without a key policy statement for the account, IAM
				// policies grant nothing on the key.
				identityCounts = false
				note = "; the " + name + " has no statement allowing the account (arn:aws:iam::" + owner + ":root), so identity-based policies cannot grant access to the key"
			}
			res = s.authorizeSessionOpts(c.session, ch.Action, ch.Resource, resource, extra, identityCounts)
		}
		line := ch.Action + " on " + ch.Resource + ": " + res.Reason
		rec.check(ch.Action, ch.Resource, res.Allowed())
		if !res.Allowed() {
			return false, line + note, s.gatewayDenial(c, call, ch, res, resource, !identityCounts)
		}
		reasons = append(reasons, line)
	}
	return true, strings.Join(reasons, "; "), nil
}

// keyPolicyDelegates reports whether a key policy lets the account's IAM
// policies grant the check's action: a statement allowing the account
// root.
func (s *Server) keyPolicyDelegates(doc *policy.Document, name string, ch actions.Check, keys policy.Context, account string) bool {
	ctx := policy.NewContext()
	for k, v := range keys {
		ctx.Set(k, v...)
	}
	req := policy.Request{
		Principal: rootPrincipal(account),
		Action:    ch.Action, Resource: ch.Resource, Context: ctx,
	}
	return policy.Evaluate(req, policy.NamedDocument{Name: name, Doc: doc}).Allowed()
}

// gatewayDenial is the service's AccessDenied with AWS's message: who, what,
// on which resource, and which kind of policy did not allow or denied.
func (s *Server) gatewayDenial(c *caller, call *actions.Call, ch actions.Check, res policy.Result, resource []policy.NamedDocument, keyOnly bool) *awsquery.Error {
	action := ch.Action
	if call.Service == "sns" {
		action = "SNS:" + strings.TrimPrefix(action, "sns:")
	}
	var why string
	switch {
	case res.Decision == policy.ExplicitDeny && res.Decider != nil && strings.HasPrefix(res.Decider.Policy, "session policy"):
		why = "with an explicit deny in a session policy"
	case res.Decision == policy.ExplicitDeny && res.Decider != nil && isResourceDoc(res.Decider.Policy, resource):
		why = "with an explicit deny in a resource-based policy"
	case res.Decision == policy.ExplicitDeny:
		why = "with an explicit deny in an identity-based policy"
	case keyOnly || strings.Contains(res.Reason, "the resource's account ("):
		why = "because no resource-based policy allows the " + action + " action"
	case strings.Contains(res.Reason, "but no session policy does"):
		why = "because no session policy allows the " + action + " action"
	default:
		why = "because no identity-based policy allows the " + action + " action"
	}
	who := "arn:aws:iam::" + c.account + ":root"
	if c.session != nil {
		who = c.session.assumedRoleARN()
	}
	msg := "User: " + who + " is not authorized to perform: " + action + " on resource: " + ch.Resource + " " + why
	switch call.Service {
	case "sns":
		return &awsquery.Error{Status: 403, Code: "AuthorizationError", Message: msg}
	case "sqs":
		return &awsquery.Error{Status: 403, Code: "AccessDenied", Message: msg}
	}
	return &awsquery.Error{Status: 400, Code: "AccessDeniedException", Message: msg}
}

func isResourceDoc(name string, docs []policy.NamedDocument) bool {
	for _, d := range docs {
		if d.Name == name {
			return true
		}
	}
	return false
}

// jsonErrorTypes are the __type namespaces of the JSON services' errors.
var jsonErrorTypes = map[string]string{
	"sqs":            "com.amazonaws.sqs#",
	"dynamodb":       "com.amazonaws.dynamodb.v20120810#",
	"secretsmanager": "com.amazonaws.secretsmanager#",
	"ssm":            "com.amazonaws.ssm#",
	"kms":            "com.amazonaws.kms#",
}

var queryNamespaces = map[string]string{
	"sns": "http://sns.amazonaws.com/doc/2010-03-31/",
	"sqs": "http://queue.amazonaws.com/doc/2012-11-05/",
}

// writeGatewayError sends e in the shape of service's protocol: the JSON
// protocols' __type with x-amzn-ErrorType (and SQS's x-amzn-query-error,
// which query-compatible clients read), or the Query XML envelope.
func writeGatewayError(w http.ResponseWriter, req *request, service string, proto actions.Protocol, e *awsquery.Error) {
	e.Message = awsquery.Truncate(e.Message, maxReason)
	if proto == actions.ProtocolQuery {
		ns, ok := queryNamespaces[service]
		if !ok {
			ns = stsNamespace
		}
		awsquery.WriteError(w, ns, e, req.id)
		return
	}
	prefix, ok := jsonErrorTypes[service]
	if !ok {
		prefix = "com.amazon.coral.service#"
	}
	if e.Code == "AccessDeniedException" || strings.HasSuffix(e.Code, "TokenException") || e.Code == "UnrecognizedClientException" || e.Code == "InvalidSignatureException" || e.Code == "IncompleteSignatureException" {
		// Authentication and authorization are the front door's, not the
		// service's, in AWS's answers too.
		prefix = "com.amazon.coral.service#"
	}
	body, _ := json.Marshal(map[string]string{"__type": prefix + e.Code, "message": e.Message})
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	if service == "sqs" || service == "dynamodb" {
		h.Set("Content-Type", "application/x-amz-json-1.0")
	}
	h.Set("X-Amzn-RequestId", req.id)
	h.Set("X-Amzn-ErrorType", e.Code)
	if service == "sqs" {
		fault := "Sender"
		if e.Status >= 500 {
			fault = "Receiver"
		}
		h.Set("X-Amzn-Query-Error", e.Code+";"+fault)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// gatewayAuthError maps a failed signature check to the service's codes:
// SQS and SNS keep the Query protocol's, the other JSON services answer
// with the JSON codes and status 400, as their clients see them.
func gatewayAuthError(service string, err error) *awsquery.Error {
	p := sigv4.ProtocolJSON
	if service == "sqs" || service == "sns" {
		p = sigv4.ProtocolQuery
	}
	wire, ok := sigv4.ToWire(err, p)
	if !ok {
		return &awsquery.Error{Status: 500, Code: "InternalFailure", Message: "verify signature: " + err.Error()}
	}
	status := wire.Status
	if p == sigv4.ProtocolJSON {
		status = http.StatusBadRequest
	}
	return &awsquery.Error{Status: status, Code: wire.Code, Message: wire.Message}
}

// operationName names a call the models refused, for the trail.
func operationName(r *http.Request, body []byte) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		if _, op, ok := strings.Cut(t, "."); ok {
			return op
		}
		return t
	}
	p, err := awsquery.ReadParams(r, body)
	if err != nil {
		return ""
	}
	return p.Get("Action")
}

func checkResources(checks []actions.Check) []trail.Resource {
	seen := map[string]bool{}
	var out []trail.Resource
	for _, c := range checks {
		if c.Resource == "*" || seen[c.Resource] {
			continue
		}
		seen[c.Resource] = true
		out = append(out, trail.Resource{ARN: c.Resource})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out
}

// reset empties the backend, when it can be.
func (g *gateway) reset(ctx context.Context) error {
	for _, svc := range actions.Services() {
		defer g.backend.change(svc)()
	}
	if g.backend.cfg.Reset == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := g.backend.cfg.Reset(ctx); err != nil {
		return fmt.Errorf("reset the backend: %w", err)
	}
	return nil
}
