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
		rec.check("iam:"+action, resource, res.Allowed())
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
	identity, sessionDocs := s.sessionDocs(sess, identityCounts)
	return policy.Authorize(s.sessionRequest(sess, action, resource, extra), identity, sessionDocs, resourcePolicies)
}

// sessionRequest is the request a session makes.
func (s *Server) sessionRequest(sess *session, action, resource string, extra policy.Context) policy.Request {
	ctx := s.sessionContext(sess)
	for k, v := range extra {
		ctx.Set(k, v...)
	}
	return policy.Request{
		Principal: sessionPrincipal(sess),
		Action:    action,
		Resource:  resource,
		Context:   ctx,
	}
}

// sessionPrincipal is how policies name a role session: its session ARN,
// its role's ARN and its account.
func sessionPrincipal(sess *session) policy.Principal {
	return policy.Principal{Type: "AWS", IDs: []string{sess.assumedRoleARN(), sess.RoleARN, sess.account()}}
}

// rootPrincipal is how policies name an account's root.
func rootPrincipal(account string) policy.Principal {
	return policy.Principal{Type: "AWS", IDs: []string{"arn:aws:iam::" + account + ":root", account}}
}

// sessionDocs returns the identity policies of the session's role, in the
// role's account, and the session's policies.
func (s *Server) sessionDocs(sess *session, identityCounts bool) (identity, sessionDocs []policy.NamedDocument) {
	st, ok := s.accounts.get(sess.account())
	if !ok {
		// The account is gone: its roles grant nothing.
		st = &iamState{}
		st.fillMaps()
	}
	st.mu.RLock()
	r, ok := st.roleByARN(sess.account(), sess.RoleARN)
	if ok && identityCounts {
		for _, arn := range r.Attached {
			if p, ok := lookupPolicyIn(st, arn); ok {
				identity = append(identity, policy.NamedDocument{Name: arn, Doc: p.defaultDoc()})
			}
		}
		for _, name := range sortedKeys(r.inline) {
			identity = append(identity, policy.NamedDocument{Name: "inline policy " + name + " of role " + r.Name, Doc: r.inline[name]})
		}
	}
	if sess.Policy != "" {
		if d, err := s.sessionPolicies.parse(sess.Policy); err == nil {
			sessionDocs = append(sessionDocs, policy.NamedDocument{Name: "session policy", Doc: d})
		}
	}
	for _, arn := range sess.PolicyARNs {
		if p, ok := lookupPolicyIn(st, arn); ok {
			sessionDocs = append(sessionDocs, policy.NamedDocument{Name: "session policy " + arn, Doc: p.defaultDoc()})
		}
	}
	st.mu.RUnlock()
	hasSession := sess.Policy != "" || len(sess.PolicyARNs) > 0
	if hasSession && len(sessionDocs) == 0 {
		// Every session policy is gone: nothing may be allowed through it.
		sessionDocs = append(sessionDocs, policy.NamedDocument{Name: "session policy", Doc: denyAll})
	}
	return identity, sessionDocs
}

// rootAllows stands for an account root's identity: it may do anything in
// its own account, and ask anything of another.
var rootAllows = []policy.NamedDocument{{Name: "the account root's own permissions", Doc: func() *policy.Document {
	d, err := policy.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, policy.Identity)
	if err != nil {
		panic(err)
	}
	return d
}()}}

// authorizeCall decides a signed or anonymous call on a resource owned by
// owner, within one account or across two. The reason of a cross-account
// refusal names the side that refused.
func (s *Server) authorizeCall(c *caller, action, resource, owner string, resourcePolicies []policy.NamedDocument, extra policy.Context) policy.Result {
	switch {
	case c == nil || (c.session == nil && !c.admin):
		return policy.Authorize(policy.Request{Action: action, Resource: resource, Context: extra}, nil, nil, resourcePolicies)
	case c.session == nil && c.account == owner:
		return policy.Result{Decision: policy.Allow, Reason: "the account root (" + c.account + ") may do anything in its account"}
	case c.session == nil:
		req := policy.Request{Principal: rootPrincipal(c.account), Action: action, Resource: resource, Context: rootContext(c.account, extra)}
		return crossAccount(policy.AuthorizeCrossAccount(req, rootAllows, nil, resourcePolicies), c.account, owner)
	case c.session.account() == owner:
		return s.authorizeSession(c.session, action, resource, resourcePolicies, extra)
	}
	identity, sessionDocs := s.sessionDocs(c.session, true)
	req := s.sessionRequest(c.session, action, resource, extra)
	return crossAccount(policy.AuthorizeCrossAccount(req, identity, sessionDocs, resourcePolicies), c.session.account(), owner)
}

// crossAccount names the accounts in a cross-account decision's reason.
func crossAccount(r policy.CrossAccountResult, caller, owner string) policy.Result {
	out := r.Result
	switch r.Refused {
	case policy.CallerSide:
		out.Reason = "cross-account call from " + caller + " to " + owner + ": " + strings.Replace(out.Reason, "the caller's account", "the caller's account ("+caller+")", 1)
	case policy.ResourceSide:
		out.Reason = "cross-account call from " + caller + " to " + owner + ": " + strings.Replace(out.Reason, "the resource's account", "the resource's account ("+owner+")", 1)
	default:
		out.Reason = "cross-account call from " + caller + " to " + owner + ": " + out.Reason
	}
	return out
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
		RoleARN:        sess.RoleARN,
		RoleID:         sess.RoleID,
		SessionName:    sess.SessionName,
		Issued:         sess.Issued,
		Subject:        sess.Subject,
		Audience:       sess.Audience,
		Provider:       sess.Provider,
		ProviderKeys:   sess.ProviderKeys,
		Tags:           s.principalTags(sess),
		SourceIdentity: sess.SourceIdentity,
	}, s.region, s.clock.Now())
}

// principalTags are what aws:PrincipalTag/… reads for a role session: the
// role's own tags, and its session tags, which win over a role tag of the
// same key whatever its case.
func (s *Server) principalTags(sess *session) map[string]string {
	var roleTags []tag
	if st, ok := s.accounts.get(sess.account()); ok {
		st.mu.RLock()
		if r, ok := st.roleByARN(sess.account(), sess.RoleARN); ok {
			roleTags = r.Tags
		}
		st.mu.RUnlock()
	}
	if len(roleTags) == 0 {
		return sess.Tags
	}
	out := make(map[string]string, len(roleTags)+len(sess.Tags))
	for _, t := range roleTags {
		if _, overridden := tagKey(sess.Tags, t.Key); !overridden {
			out[t.Key] = t.Value
		}
	}
	for k, v := range sess.Tags {
		out[k] = v
	}
	return out
}

// authorizeS3 decides an S3 request: an account root may do anything to
// its own account's buckets; a role session needs its identity policies
// (with any session policies) or the bucket policy to allow, and no
// explicit deny anywhere; a call to another account's bucket needs both its
// own account's policies and the bucket policy to allow it; an anonymous
// request needs the bucket policy to allow it.
func (s *Server) authorizeS3(req *request, sr *s3Request, rec *eventRecord) (bool, string) {
	c := req.caller
	type check struct{ action, bucket, resource string }
	checks := []check{{sr.op.Action, sr.bucket, sr.op.Resource}}
	if sr.op.CopySource != "" {
		src, _, _ := strings.Cut(sr.op.CopySource, "/")
		checks = append(checks, check{"s3:GetObject", src, "arn:aws:s3:::" + sr.op.CopySource})
	}
	if sr.op.Name == "DeleteObjects" {
		objects, err := deleteObjectsKeys(req.r)
		if err != nil {
			return false, "the DeleteObjects body does not parse: " + err.Error()
		}
		checks = checks[:0]
		for _, o := range objects {
			// Naming a version (even "null") deletes that version.
			action := "s3:DeleteObject"
			if o.VersionID != "" {
				action = "s3:DeleteObjectVersion"
			}
			checks = append(checks, check{action, sr.bucket, "arn:aws:s3:::" + sr.bucket + "/" + o.Key})
		}
	}
	var reasons []string
	for _, a := range checks {
		owner := s.bucketOwner(a.bucket)
		if (sr.op.Name == "CreateBucket" || a.bucket == "") && c != nil {
			// A new bucket, or the caller's own listing.
			owner = c.callerAccount()
		}
		res := s.authorizeCall(c, a.action, a.resource, owner, s.bucketPolicy(a.bucket), s.s3Context(req.r, sr))
		rec.check(a.action, a.resource, res.Allowed())
		if !res.Allowed() {
			return false, a.action + " on " + a.resource + ": " + res.Reason
		}
		reasons = append(reasons, a.action+" on "+a.resource+": "+res.Reason)
	}
	return true, strings.Join(reasons, "; ")
}

// eksAuthorized runs answer if the caller may perform action on resource.
func (s *Server) eksAuthorized(w http.ResponseWriter, req *request, action, resource string, answer func() (int, any)) {
	// The cluster is the default account's; another account's caller
	// needs a resource policy EKS clusters do not have.
	if c := req.caller; c != nil && (c.session != nil || c.callerAccount() != s.defaultAccount) {
		res := s.authorizeCall(c, action, resource, s.defaultAccount, nil, nil)
		if !res.Allowed() {
			who := "arn:aws:iam::" + c.account + ":root"
			if c.session != nil {
				who = c.session.assumedRoleARN()
			}
			writeEKSError(w, req.id, 403, "AccessDeniedException", "User: "+who+" is not authorized to perform: "+action+" on resource: "+resource)
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
