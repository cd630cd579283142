package stsmock

import (
	"net"
	"time"

	"github.com/google/uuid"

	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/internal/trail"
)

// eventRecord is one audit-trail record being built for a call.
type eventRecord struct {
	trail.Record
	// checks gather the call's authorizations until decide records them.
	checks []trail.Check
}

// newEvent starts a record for a call to service (the CloudTrail event
// source's first label: "sts", "iam", "s3").
func (s *Server) newEvent(req *request, service, name string) *eventRecord {
	src := req.r.RemoteAddr
	if h, _, err := net.SplitHostPort(src); err == nil {
		src = h
	}
	return &eventRecord{Record: trail.Record{
		EventVersion:       "1.08",
		EventTime:          s.clock.Now().UTC().Truncate(time.Second),
		EventSource:        service + ".amazonaws.com",
		EventName:          name,
		AWSRegion:          s.region,
		SourceIPAddress:    src,
		UserAgent:          req.r.UserAgent(),
		RequestParameters:  map[string]any{},
		RequestID:          req.id,
		EventID:            uuid.NewString(),
		EventType:          "AwsApiCall",
		ManagementEvent:    service != "s3",
		RecipientAccountID: s.account,
		EventCategory:      eventCategory(service),
		UserIdentity:       trail.UserIdentity{Type: "Unknown"},
	}}
}

func eventCategory(service string) string {
	if service == "s3" {
		return "Data"
	}
	return "Management"
}

// identity fills userIdentity for a signed call: the account root for the
// admin credentials, AssumedRole with its session context for a session.
func (e *eventRecord) identity(s *Server, c *caller) {
	switch {
	case c == nil:
		e.UserIdentity = trail.UserIdentity{Type: "AWSAccount", PrincipalID: "ANONYMOUS_PRINCIPAL", AccountID: "anonymous"}
	case c.admin:
		e.UserIdentity = trail.UserIdentity{Type: "Root", PrincipalID: c.account, ARN: "arn:aws:iam::" + c.account + ":root", AccountID: c.account, AccessKeyID: c.accessKeyID}
	case c.session != nil:
		sess := c.session
		ctx := &trail.SessionContext{
			SessionIssuer: trail.SessionIssuer{Type: "Role", PrincipalID: sess.RoleID, ARN: sess.RoleARN, AccountID: sess.account(), UserName: sess.roleName()},
			Attributes:    trail.SessionAttributes{CreationDate: sess.Issued, MFAAuthenticated: "false"},
		}
		if sess.Provider != "" {
			ctx.WebIDFederationData = &trail.WebIDFederationData{FederatedProvider: sess.Provider, Attributes: map[string]string{}}
		}
		ctx.SourceIdentity = sess.SourceIdentity
		for _, h := range sess.Chain {
			ctx.Chain = append(ctx.Chain, trail.Hop{Type: h.Type, ARN: h.ARN, Subject: h.Subject, Pod: h.Pod})
		}
		if len(sess.Chain) == 0 && sess.Provider != "" {
			ctx.Chain = []trail.Hop{{Type: "WebIdentity", ARN: sess.Provider, Subject: sess.Subject}}
		}
		ctx.SessionTags, ctx.TransitiveTagKeys = sess.Tags, sess.Transitive
		e.UserIdentity = trail.UserIdentity{
			Type: "AssumedRole", PrincipalID: sess.RoleID + ":" + sess.SessionName, ARN: sess.assumedRoleARN(),
			AccountID: sess.account(), AccessKeyID: sess.AccessKeyID, SessionContext: ctx,
		}
	}
}

// decide records irsa-local's authorization decision and its reason.
func (e *eventRecord) decide(allowed bool, reason string) {
	d := "deny"
	if allowed {
		d = "allow"
	}
	e.IrsaLocal = &trail.Decision{Decision: d, Reason: reason, Checks: e.checks}
}

// check notes one authorization the call needed, for decide to record.
func (e *eventRecord) check(action, resource string, allowed bool) {
	if e != nil {
		e.checks = append(e.checks, trail.Check{Action: action, Resource: resource, Allowed: allowed})
	}
}

func (e *eventRecord) fail(code, msg string) {
	e.ErrorCode, e.ErrorMessage = code, msg
}

// record writes e to the trail, if there is one. A trail that cannot be
// written is logged, never fails the call.
func (s *Server) record(e *eventRecord) {
	if s.trail == nil || e == nil {
		return
	}
	e.bound()
	if err := s.trail.Write(&e.Record); err != nil {
		s.log.Error("write audit trail", "err", err)
	}
}

// bound cuts every value a client chose to a size that cannot flood the
// trail: a refused 1 MB parameter costs a few hundred bytes, not 1 MB. S3
// keys (up to 1,024 bytes) are kept whole.
func (e *eventRecord) bound() {
	e.UserAgent = awsquery.Truncate(e.UserAgent, awsquery.MaxEchoed)
	e.UserIdentity.UserName = awsquery.Truncate(e.UserIdentity.UserName, awsquery.MaxEchoed)
	e.UserIdentity.PrincipalID = awsquery.Truncate(e.UserIdentity.PrincipalID, 3*awsquery.MaxEchoed)
	e.UserIdentity.IdentityProvider = awsquery.Truncate(e.UserIdentity.IdentityProvider, awsquery.MaxEchoed)
	e.ErrorMessage = awsquery.Truncate(e.ErrorMessage, maxReason)
	if e.IrsaLocal != nil {
		e.IrsaLocal.Reason = awsquery.Truncate(e.IrsaLocal.Reason, maxReason)
	}
	for k, v := range e.RequestParameters {
		if str, ok := v.(string); ok {
			e.RequestParameters[k] = awsquery.Truncate(str, maxKeyLength+awsquery.MaxEchoed)
		}
	}
}

// maxReason bounds an error message or decision reason in the trail and
// the log: room for a policy explanation, not for an echoed document.
const maxReason = 4 << 10

// s3Event starts the record of an S3 call.
func (s *Server) s3Event(req *request, bucket, key string) *eventRecord {
	e := s.newEvent(req, "s3", "")
	e.identity(s, nil)
	e.RequestParameters["Host"] = req.r.Host
	if bucket != "" {
		e.RequestParameters["bucketName"] = bucket
	}
	if key != "" {
		e.RequestParameters["key"] = key
	}
	return e
}

// auditAssumeRole fills the trail record of AssumeRole as CloudTrail does:
// the parameters (tags included, never a policy's text twice) and the
// issued session without its secret key or token.
func (s *Server) auditAssumeRole(rec *eventRecord, p awsquery.Params, result any) {
	rec.RequestParameters = map[string]any{"roleArn": p.Get("RoleArn"), "roleSessionName": p.Get("RoleSessionName")}
	for param, name := range map[string]string{"DurationSeconds": "durationSeconds", "ExternalId": "externalId", "SourceIdentity": "sourceIdentity"} {
		if p.Has(param) {
			rec.RequestParameters[name] = p.Get(param)
		}
	}
	if tags := p.StructList("Tags", "Key", "Value"); len(tags) > 0 {
		list := make([]map[string]string, 0, len(tags))
		for _, t := range tags {
			list = append(list, map[string]string{"key": awsquery.Truncate(t["Key"], 128), "value": awsquery.Truncate(t["Value"], 256)})
		}
		rec.RequestParameters["tags"] = list
	}
	if keys := p.List("TransitiveTagKeys"); len(keys) > 0 {
		rec.RequestParameters["transitiveTagKeys"] = keys
	}
	if out, ok := result.(*assumeRoleResult); ok {
		rec.ResponseElements = map[string]any{
			"credentials":     map[string]string{"accessKeyId": out.Credentials.AccessKeyID, "expiration": out.Credentials.Expiration},
			"assumedRoleUser": map[string]string{"assumedRoleId": out.AssumedRoleUser.AssumedRoleID, "arn": out.AssumedRoleUser.Arn},
		}
		if out.SourceIdentity != "" {
			rec.ResponseElements["sourceIdentity"] = out.SourceIdentity
		}
	}
}
