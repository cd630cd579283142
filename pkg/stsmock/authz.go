package stsmock

import (
	"net/http"
	"strings"

	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// Authorization: every call made with a role session is decided here by
// pkg/policy, with identity policies, session policies and (for S3) the
// bucket policy, and the reason is kept for the trail and the error.

// authorizeIAM lets the admin credentials do anything, as the account root
// may, and holds role sessions to their role's policies and session
// policies.
func (s *Server) authorizeIAM(req *request, action string, h iamHandler, rec *eventRecord) *awsquery.Error {
	c := req.caller
	if c == nil || c.admin {
		if rec != nil {
			rec.decide(true, "admin credentials act as the account root")
		}
		return nil
	}
	resource := "*"
	if h.resource != nil {
		resource = h.resource(s, req.p)
	}
	res := s.authorizeSession(c.session, "iam:"+action, resource, nil, nil)
	if rec != nil {
		rec.decide(res.Allowed(), res.Reason)
	}
	if res.Allowed() {
		return nil
	}
	reason := "no identity-based policy allows the iam:" + action + " action"
	if res.Decision == policy.ExplicitDeny {
		reason = "an explicit deny in " + res.Decider.Policy + " denies it"
	}
	return awsquery.Errorf(403, "AccessDenied", "User: %s is not authorized to perform: iam:%s on resource: %s because %s", c.session.assumedRoleARN(), action, resource, reason)
}

// authorizeSession evaluates a request made with a role session against the
// role's attached and inline policies, the session policies and any
// resource policy.
func (s *Server) authorizeSession(sess *session, action, resource string, resourcePolicies []policy.NamedDocument, extra policy.Context) policy.Result {
	return s.authorizeSessionOpts(sess, action, resource, resourcePolicies, extra, true)
}

// authorizeSessionOpts is authorizeSession where identity policies may not
// count: a KMS key whose policy does not delegate to the account.
func (s *Server) authorizeSessionOpts(sess *session, action, resource string, resourcePolicies []policy.NamedDocument, extra policy.Context, identityCounts bool) policy.Result {
	s.iam.mu.RLock()
	r, ok := s.iam.roleByARN(s.account, sess.RoleARN)
	var identity []policy.NamedDocument
	if ok && identityCounts {
		for _, arn := range r.Attached {
			if p, ok := s.lookupPolicy(arn); ok {
				identity = append(identity, policy.NamedDocument{Name: arn, Doc: p.defaultDoc()})
			}
		}
		for _, name := range sortedKeys(r.inline) {
			identity = append(identity, policy.NamedDocument{Name: "inline policy " + name + " of role " + r.Name, Doc: r.inline[name]})
		}
	}
	var sessionDocs []policy.NamedDocument
	if sess.Policy != "" {
		if d, err := s.sessionPolicies.parse(sess.Policy); err == nil {
			sessionDocs = append(sessionDocs, policy.NamedDocument{Name: "session policy", Doc: d})
		}
	}
	for _, arn := range sess.PolicyARNs {
		if p, ok := s.lookupPolicy(arn); ok {
			sessionDocs = append(sessionDocs, policy.NamedDocument{Name: "session policy " + arn, Doc: p.defaultDoc()})
		}
	}
	s.iam.mu.RUnlock()
	hasSession := sess.Policy != "" || len(sess.PolicyARNs) > 0
	if hasSession && len(sessionDocs) == 0 {
		// Every session policy is gone: nothing may be allowed through it.
		sessionDocs = append(sessionDocs, policy.NamedDocument{Name: "session policy", Doc: denyAll})
	}
	ctx := s.sessionContext(sess)
	for k, v := range extra {
		ctx.Set(k, v...)
	}
	req := policy.Request{
		Principal: policy.Principal{Type: "AWS", IDs: []string{sess.assumedRoleARN(), sess.RoleARN, sess.account()}},
		Action:    action,
		Resource:  resource,
		Context:   ctx,
	}
	return policy.Authorize(req, identity, sessionDocs, resourcePolicies)
}

var denyAll = func() *policy.Document {
	d, err := policy.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, policy.Identity)
	if err != nil {
		panic(err)
	}
	return d
}()

// sessionContext holds the condition keys of a call made with a session.
func (s *Server) sessionContext(sess *session) policy.Context {
	return policy.SessionContext(policy.SessionInfo{
		RoleARN:      sess.RoleARN,
		RoleID:       sess.RoleID,
		SessionName:  sess.SessionName,
		Issued:       sess.Issued,
		Subject:      sess.Subject,
		Audience:     sess.Audience,
		Provider:     sess.Provider,
		ProviderKeys: sess.ProviderKeys,
	}, s.region, s.clock.Now())
}

// authorizeS3 decides an S3 request: the admin credentials may do anything,
// as an account root; a role session needs its identity policies (with any
// session policies) or the bucket policy to allow, and no explicit deny
// anywhere; an anonymous request needs the bucket policy to allow it.
func (s *Server) authorizeS3(req *request, sr *s3Request) (bool, string) {
	c := req.caller
	if c != nil && c.admin {
		return true, "admin credentials act as the account root"
	}
	actions := []struct{ action, resource string }{{sr.op.Action, sr.op.Resource}}
	if sr.op.CopySource != "" {
		actions = append(actions, struct{ action, resource string }{"s3:GetObject", "arn:aws:s3:::" + sr.op.CopySource})
	}
	if sr.op.Name == "DeleteObjects" {
		objects, err := deleteObjectsKeys(req.r)
		if err != nil {
			return false, "the DeleteObjects body does not parse: " + err.Error()
		}
		actions = actions[:0]
		for _, o := range objects {
			// Naming a version (even "null") deletes that version.
			action := "s3:DeleteObject"
			if o.VersionID != "" {
				action = "s3:DeleteObjectVersion"
			}
			actions = append(actions, struct{ action, resource string }{action, "arn:aws:s3:::" + sr.bucket + "/" + o.Key})
		}
	}
	bucketPolicy := s.bucketPolicy(sr.bucket)
	var reasons []string
	for _, a := range actions {
		var res policy.Result
		ctx := s.s3Context(req.r, sr)
		if c == nil || c.session == nil {
			res = policy.Authorize(policy.Request{Action: a.action, Resource: a.resource, Context: ctx}, nil, nil, bucketPolicy)
		} else {
			res = s.authorizeSession(c.session, a.action, a.resource, bucketPolicy, ctx)
		}
		if !res.Allowed() {
			return false, a.action + " on " + a.resource + ": " + res.Reason
		}
		reasons = append(reasons, a.action+" on "+a.resource+": "+res.Reason)
	}
	return true, strings.Join(reasons, "; ")
}

// eksAuthorized runs answer if the caller may perform action on resource.
func (s *Server) eksAuthorized(w http.ResponseWriter, req *request, action, resource string, answer func() (int, any)) {
	if c := req.caller; c != nil && c.session != nil {
		res := s.authorizeSession(c.session, action, resource, nil, nil)
		if !res.Allowed() {
			writeEKSError(w, req.id, 403, "AccessDeniedException", "User: "+c.session.assumedRoleARN()+" is not authorized to perform: "+action+" on resource: "+resource)
			return
		}
	}
	status, body := answer()
	if e, ok := body.(eksError); ok {
		writeEKSError(w, req.id, status, e.code, e.message)
		return
	}
	writeEKSJSON(w, req.id, status, body)
}
