package stsmock

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/irsa-local/irsa-local/internal/actions"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// AuthorizeRequest asks the admin API how the gateway would decide one
// action on one resource for a web identity session of a role: the
// question `irsa-local doctor --action --resource` asks for the forwarded
// services, answered by the same code that decides real calls.
type AuthorizeRequest struct {
	RoleARN  string `json:"roleArn"`
	Action   string `json:"action"`
	Resource string `json:"resource"`
	// Subject, Audience and Issuer are the web identity token's, for the
	// condition keys a session of the role carries; all optional.
	Subject  string `json:"subject,omitempty"`
	Audience string `json:"audience,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
}

// AuthorizeResult is the gateway's verdict: Reason is irsa-local's
// explanation, Message the error the service would send.
type AuthorizeResult struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
}

// serveAuthorize answers POST /_irsa-local/authorize.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	var in AuthorizeRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.RoleARN == "" || in.Action == "" || in.Resource == "" {
		writeAdminError(w, http.StatusBadRequest, "InvalidInput", `body must be {"roleArn":…,"action":…,"resource":…} with optional subject, audience and issuer`)
		return
	}
	service, _, _ := strings.Cut(in.Action, ":")
	if !actions.Modeled(service) {
		writeAdminError(w, http.StatusBadRequest, "NotForwarded", "the gateway forwards "+strings.Join(actions.Services(), ", ")+"; "+service+" is not one of them")
		return
	}
	if s.gateway == nil {
		writeAdminError(w, http.StatusConflict, "NoBackend", "this environment has no backend, so its "+service+" calls are refused whatever the policies say")
		return
	}
	var roleID string
	v, ok := s.in(arnAccountOr(in.RoleARN, s.account))
	if ok {
		v.iam.mu.RLock()
		var role *role
		if role, ok = v.iam.roleByARN(v.account, in.RoleARN); ok {
			roleID = role.ID
		}
		v.iam.mu.RUnlock()
	}
	if !ok {
		writeAdminError(w, http.StatusNotFound, "NoSuchEntity", "The role with ARN "+in.RoleARN+" cannot be found.")
		return
	}
	now := s.clock.Now().UTC()
	sess := &session{RoleARN: in.RoleARN, RoleID: roleID, SessionName: "irsa-local-doctor", Issued: now, Expiration: now,
		Subject: in.Subject, Audience: in.Audience}
	if in.Issuer != "" {
		sess.Provider = policy.ProviderARN(v.account, in.Issuer)
		sess.ProviderKeys = policy.ProviderKeys(in.Issuer)
	}
	region := s.region
	if parts := strings.Split(in.Resource, ":"); len(parts) > 3 && parts[3] != "" {
		region = parts[3]
	}
	call := &actions.Call{Service: service, Checks: []actions.Check{{Action: in.Action, Resource: in.Resource}}}
	allowed, reason, denial := s.authorizeGateway(r.Context(), &caller{session: sess}, call, region, nil)
	out := AuthorizeResult{Allowed: allowed, Reason: reason}
	if denial != nil {
		out.Message = denial.Message
	}
	writeJSON(w, http.StatusOK, out)
}

// AssumeCheckRequest asks the admin API whether a web identity session of
// RoleARN may assume TargetRoleARN, as sts:AssumeRole would decide it, and
// optionally how a call of Action on Resource by the assumed session would
// be decided: the second hop `irsa-local doctor --assume` checks.
type AssumeCheckRequest struct {
	RoleARN       string `json:"roleArn"`
	TargetRoleARN string `json:"targetRoleArn"`
	Action        string `json:"action,omitempty"`
	Resource      string `json:"resource,omitempty"`
	// Tags are session tags the hop passes (transitive, as a workload
	// that chains further would pass them).
	Tags     map[string]string `json:"tags,omitempty"`
	Subject  string            `json:"subject,omitempty"`
	Audience string            `json:"audience,omitempty"`
	Issuer   string            `json:"issuer,omitempty"`
}

// AssumeCheckResult is the verdict. Refused says whose policy refused the
// hop: "trust" (the target role's trust policy, in its account) or
// "caller" (the first role's identity policies); Message is STS's error.
// Permission is the verdict on Action for the assumed session.
type AssumeCheckResult struct {
	Allowed    bool             `json:"allowed"`
	Reason     string           `json:"reason"`
	Message    string           `json:"message,omitempty"`
	Refused    string           `json:"refused,omitempty"`
	Permission *AuthorizeResult `json:"permission,omitempty"`
}

// serveAssumeCheck answers POST /_irsa-local/assume.
func (s *Server) serveAssumeCheck(w http.ResponseWriter, r *http.Request) {
	var in AssumeCheckRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.RoleARN == "" || in.TargetRoleARN == "" || (in.Action == "") != (in.Resource == "") {
		writeAdminError(w, http.StatusBadRequest, "InvalidInput", `body must be {"roleArn":…,"targetRoleArn":…} with optional action and resource (both or neither), subject, audience and issuer`)
		return
	}
	first, ok := s.roleSession(in.RoleARN, in.Subject, in.Audience, in.Issuer)
	if !ok {
		writeAdminError(w, http.StatusNotFound, "NoSuchEntity", "The role with ARN "+in.RoleARN+" cannot be found.")
		return
	}
	out := AssumeCheckResult{}
	targetAccount := arnAccountOr(in.TargetRoleARN, "")
	target, ok := s.in(targetAccount)
	var tr *role
	if ok {
		target.iam.mu.RLock()
		if found, exists := target.iam.roleByARN(targetAccount, in.TargetRoleARN); exists {
			cp := *found
			tr = &cp
		}
		target.iam.mu.RUnlock()
	}
	c := &caller{session: first}
	denied := "User: " + first.assumedRoleARN() + " is not authorized to perform: sts:AssumeRole on resource: " + in.TargetRoleARN
	if tr == nil {
		out.Reason, out.Message, out.Refused = "role "+in.TargetRoleARN+" does not exist", denied, "trust"
		writeJSON(w, http.StatusOK, out)
		return
	}
	extra := policy.NewContext()
	extra.Set("sts:RoleSessionName", "irsa-local-doctor")
	areq := &assumeRequest{tags: in.Tags}
	for k := range in.Tags {
		areq.transitive = append(areq.transitive, k)
	}
	areq.context(extra)
	var reasons []string
	for _, action := range areq.permissions("sts:AssumeRole") {
		why, allowed := s.mayAssume(c, action, in.TargetRoleARN, targetAccount, tr.Name, tr.trust, extra)
		reasons = append(reasons, why)
		if !allowed {
			out.Reason = why
			out.Message, out.Refused = strings.Replace(denied, "sts:AssumeRole", action, 1), "trust"
			if !strings.Contains(why, "trust policy does not allow") {
				out.Refused = "caller"
			}
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	out.Allowed, out.Reason = true, strings.Join(reasons, "; ")
	if in.Action != "" {
		now := s.clock.Now().UTC()
		second := &session{RoleARN: in.TargetRoleARN, RoleID: tr.ID, SessionName: "irsa-local-doctor", Issued: now, Expiration: now, Chain: first.links(),
			Tags: in.Tags, Transitive: areq.transitive}
		out.Permission = s.decideFor(r, &caller{session: second}, in.Action, in.Resource)
	}
	writeJSON(w, http.StatusOK, out)
}

// roleSession makes the session a web identity token would get for a role,
// for the admin API's questions; ok is false when the role does not exist.
func (s *Server) roleSession(roleARN, subject, audience, issuer string) (*session, bool) {
	v, ok := s.in(arnAccountOr(roleARN, s.account))
	if !ok {
		return nil, false
	}
	v.iam.mu.RLock()
	r, ok := v.iam.roleByARN(v.account, roleARN)
	var roleID string
	if ok {
		roleID = r.ID
	}
	v.iam.mu.RUnlock()
	if !ok {
		return nil, false
	}
	now := s.clock.Now().UTC()
	sess := &session{RoleARN: roleARN, RoleID: roleID, SessionName: "irsa-local-doctor", Issued: now, Expiration: now, Subject: subject, Audience: audience}
	if issuer != "" {
		sess.Provider = policy.ProviderARN(v.account, issuer)
		sess.ProviderKeys = policy.ProviderKeys(issuer)
	}
	return sess, true
}

// decideFor decides action on resource for c as a real call would be: S3
// with the bucket's policy and owner, the gateway's services as the
// gateway does, anything else by the caller's policies alone.
func (s *Server) decideFor(r *http.Request, c *caller, action, resource string) *AuthorizeResult {
	service, _, _ := strings.Cut(action, ":")
	switch {
	case service == "s3":
		bucket := strings.TrimPrefix(resource, "arn:aws:s3:::")
		bucket, _, _ = strings.Cut(bucket, "/")
		res := s.authorizeCall(c, action, resource, s.bucketOwner(bucket), s.bucketPolicy(bucket), nil)
		out := &AuthorizeResult{Allowed: res.Allowed(), Reason: res.Reason}
		if !out.Allowed {
			out.Message = "Access Denied"
		}
		return out
	case actions.Modeled(service) && s.gateway != nil:
		region := s.region
		if parts := strings.Split(resource, ":"); len(parts) > 3 && parts[3] != "" {
			region = parts[3]
		}
		call := &actions.Call{Service: service, Checks: []actions.Check{{Action: action, Resource: resource}}}
		allowed, reason, denial := s.authorizeGateway(r.Context(), c, call, region, nil)
		out := &AuthorizeResult{Allowed: allowed, Reason: reason}
		if denial != nil {
			out.Message = denial.Message
		}
		return out
	}
	owner := arnAccountOr(resource, c.callerAccount())
	res := s.authorizeCall(c, action, resource, owner, nil, nil)
	out := &AuthorizeResult{Allowed: res.Allowed(), Reason: res.Reason}
	if !out.Allowed {
		out.Message = "User: " + c.session.assumedRoleARN() + " is not authorized to perform: " + action + " on resource: " + resource
	}
	return out
}

// PodIdentityCheckRequest asks the admin API what eks-auth would answer a
// pod of Namespace/ServiceAccount, and optionally how a call of Action on
// Resource with the credentials it would get is decided: the Pod Identity
// checks of `irsa-local doctor`.
type PodIdentityCheckRequest struct {
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	Action         string `json:"action,omitempty"`
	Resource       string `json:"resource,omitempty"`
}

// PodIdentityCheckResult is the verdict. Association is nil when the
// service account has none; Code and Message are eks-auth's error, Reason
// why. RoleARN is the role the pod's credentials are for (the target role,
// when the association has one).
type PodIdentityCheckResult struct {
	Association *Association     `json:"association,omitempty"`
	Allowed     bool             `json:"allowed"`
	Code        string           `json:"code,omitempty"`
	Message     string           `json:"message,omitempty"`
	Reason      string           `json:"reason"`
	RoleARN     string           `json:"roleArn,omitempty"`
	Permission  *AuthorizeResult `json:"permission,omitempty"`
}

// servePodIdentityCheck answers POST /_irsa-local/pod-identity.
func (s *Server) servePodIdentityCheck(w http.ResponseWriter, r *http.Request) {
	var in PodIdentityCheckRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in.Namespace == "" || in.ServiceAccount == "" || (in.Action == "") != (in.Resource == "") {
		writeAdminError(w, http.StatusBadRequest, "InvalidInput", `body must be {"namespace":…,"serviceAccount":…} with optional action and resource (both or neither)`)
		return
	}
	out := PodIdentityCheckResult{}
	if s.cluster == nil {
		out.Code, out.Reason = "ResourceNotFoundException", "the environment has no EKS cluster"
		writeJSON(w, http.StatusOK, out)
		return
	}
	a, found := s.associationFor(in.Namespace, in.ServiceAccount)
	if !found {
		out.Code, out.Reason = "ResourceNotFoundException", "no Pod Identity association for "+in.Namespace+"/"+in.ServiceAccount+" in cluster "+s.cluster.Name
		out.Message = "No Pod Identity Association found for service account " + in.ServiceAccount + " in namespace " + in.Namespace + " of cluster " + s.cluster.Name + "."
		writeJSON(w, http.StatusOK, out)
		return
	}
	out.Association = &a
	out.Association.ClientRequestToken = ""
	b := TokenBinding{Namespace: in.Namespace, ServiceAccount: in.ServiceAccount, Pod: "irsa-local-doctor", PodUID: "00000000-0000-0000-0000-000000000000"}
	res, reason, e := s.podIdentitySession(&a, b, s.clock.Now())
	if e != nil {
		out.Code, out.Message, out.Reason = e.code, e.message, e.reason
		writeJSON(w, http.StatusOK, out)
		return
	}
	out.Allowed, out.Reason = true, reason
	out.RoleARN = a.RoleARN
	if a.TargetRoleARN != "" {
		out.RoleARN = a.TargetRoleARN
	}
	if in.Action != "" {
		sess, err := s.seal.open(res.Credentials.AccessKeyID, res.Credentials.SessionToken)
		if err != nil {
			writeAdminError(w, http.StatusInternalServerError, "InternalError", "open the session: "+err.Error())
			return
		}
		out.Permission = s.decideFor(r, &caller{session: sess}, in.Action, in.Resource)
	}
	writeJSON(w, http.StatusOK, out)
}
