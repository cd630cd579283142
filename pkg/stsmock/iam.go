package stsmock

import (
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

var (
	roleNamePattern   = regexp.MustCompile(`^[\w+=,.@-]+$`)
	policyNamePattern = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathPattern       = regexp.MustCompile(`^(/|/[\x{0021}-\x{007E}]+/)$`)
	thumbprintPattern = regexp.MustCompile(`^[0-9A-Fa-f]{40}$`)
)

// iamDate formats a timestamp as IAM does.
func iamDate(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// iamHandler is one IAM action: it reads parameters and returns a result
// (nil for actions that return nothing) or an error.
type iamHandler struct {
	run   func(s *Server, p awsquery.Params) (any, *awsquery.Error)
	write bool // changes state: persisted afterwards
	// resource names the ARN the action acts on, for authorizing sessions;
	// nil means "*".
	resource func(s *Server, p awsquery.Params) string
}

func roleResource(s *Server, p awsquery.Params) string {
	return "arn:aws:iam::" + s.account + ":role/" + p.Get("RoleName")
}

func providerResource(_ *Server, p awsquery.Params) string { return p.Get("OpenIDConnectProviderArn") }

// newProviderResource is the ARN CreateOpenIDConnectProvider creates, which
// IAM authorizes it on.
func newProviderResource(s *Server, p awsquery.Params) string {
	return policy.ParseProvider(p.Get("Url")).ARN(s.account)
}

// newPolicyResource is the ARN CreatePolicy creates, which IAM authorizes it
// on.
func newPolicyResource(s *Server, p awsquery.Params) string {
	path := p.Get("Path")
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + s.account + ":policy" + path + p.Get("PolicyName")
}

func policyResource(_ *Server, p awsquery.Params) string { return p.Get("PolicyArn") }

var iamActions = map[string]iamHandler{
	"CreateOpenIDConnectProvider":             {run: (*Server).createOIDCProvider, write: true, resource: newProviderResource},
	"GetOpenIDConnectProvider":                {run: (*Server).getOIDCProvider, resource: providerResource},
	"ListOpenIDConnectProviders":              {run: (*Server).listOIDCProviders},
	"DeleteOpenIDConnectProvider":             {run: (*Server).deleteOIDCProvider, write: true, resource: providerResource},
	"AddClientIDToOpenIDConnectProvider":      {run: (*Server).addClientID, write: true, resource: providerResource},
	"RemoveClientIDFromOpenIDConnectProvider": {run: (*Server).removeClientID, write: true, resource: providerResource},
	"UpdateOpenIDConnectProviderThumbprint":   {run: (*Server).updateThumbprint, write: true, resource: providerResource},
	"TagOpenIDConnectProvider":                {run: tagOp(providerTags), write: true, resource: providerResource},
	"UntagOpenIDConnectProvider":              {run: untagOp(providerTags), write: true, resource: providerResource},
	"ListOpenIDConnectProviderTags":           {run: listTagsOp(providerTags), resource: providerResource},
	"CreateRole":                              {run: (*Server).createRole, write: true, resource: roleResource},
	"GetRole":                                 {run: (*Server).getRole, resource: roleResource},
	"ListRoles":                               {run: (*Server).listRoles},
	"DeleteRole":                              {run: (*Server).deleteRole, write: true, resource: roleResource},
	"UpdateRole":                              {run: (*Server).updateRole, write: true, resource: roleResource},
	"UpdateAssumeRolePolicy":                  {run: (*Server).updateAssumeRolePolicy, write: true, resource: roleResource},
	"TagRole":                                 {run: tagOp(roleTags), write: true, resource: roleResource},
	"UntagRole":                               {run: untagOp(roleTags), write: true, resource: roleResource},
	"ListRoleTags":                            {run: listTagsOp(roleTags), resource: roleResource},
	"AttachRolePolicy":                        {run: (*Server).attachRolePolicy, write: true, resource: roleResource},
	"DetachRolePolicy":                        {run: (*Server).detachRolePolicy, write: true, resource: roleResource},
	"ListAttachedRolePolicies":                {run: (*Server).listAttachedRolePolicies, resource: roleResource},
	"PutRolePolicy":                           {run: (*Server).putRolePolicy, write: true, resource: roleResource},
	"GetRolePolicy":                           {run: (*Server).getRolePolicy, resource: roleResource},
	"DeleteRolePolicy":                        {run: (*Server).deleteRolePolicy, write: true, resource: roleResource},
	"ListRolePolicies":                        {run: (*Server).listRolePolicies, resource: roleResource},
	"ListInstanceProfilesForRole":             {run: (*Server).listInstanceProfilesForRole, resource: roleResource},
	"CreatePolicy":                            {run: (*Server).createPolicy, write: true, resource: newPolicyResource},
	"GetPolicy":                               {run: (*Server).getPolicy, resource: policyResource},
	"DeletePolicy":                            {run: (*Server).deletePolicy, write: true, resource: policyResource},
	"ListPolicies":                            {run: (*Server).listPolicies},
	"GetPolicyVersion":                        {run: (*Server).getPolicyVersion, resource: policyResource},
	"ListPolicyVersions":                      {run: (*Server).listPolicyVersions, resource: policyResource},
	"CreatePolicyVersion":                     {run: (*Server).createPolicyVersion, write: true, resource: policyResource},
	"DeletePolicyVersion":                     {run: (*Server).deletePolicyVersion, write: true, resource: policyResource},
}

func (s *Server) serveIAM(w http.ResponseWriter, req *request, action string, rec *eventRecord) {
	fail := func(e *awsquery.Error) {
		if rec != nil {
			rec.fail(e.Code, e.Message)
			s.record(rec)
		}
		s.queryError(w, req, "iam", e)
	}
	h, ok := iamActions[action]
	if !ok {
		fail(awsquery.Errorf(400, "InvalidAction", "Could not find operation %s for version 2010-05-08", action))
		return
	}
	if rec != nil {
		rec.RequestParameters = iamParameters(req.p)
	}
	if e := s.authorizeIAM(req, action, h, rec); e != nil {
		fail(e)
		return
	}
	if h.write {
		s.iam.mu.Lock()
	} else {
		s.iam.mu.RLock()
	}
	result, e := h.run(s, req.p)
	if h.write {
		if e == nil {
			if err := s.iam.save(); err != nil {
				e = awsquery.Errorf(500, "ServiceFailure", "%v", err)
			}
		}
		s.iam.mu.Unlock()
	} else {
		s.iam.mu.RUnlock()
	}
	if e != nil {
		fail(e)
		return
	}
	s.record(rec)
	awsquery.WriteResult(w, iamNamespace, action, result, req.id)
}

// iamParameters turns Query parameters into CloudTrail's requestParameters:
// names with a lower-case first letter, lists as arrays.
func iamParameters(p awsquery.Params) map[string]any {
	out := map[string]any{}
	for k, vs := range p {
		if k == "Action" || k == "Version" || len(vs) == 0 {
			continue
		}
		name, _, isList := strings.Cut(k, ".member.")
		name = awsquery.MemberName(strings.SplitN(name, ".", 2)[0])
		if isList {
			list, _ := out[name].([]string)
			out[name] = append(list, vs[0])
			continue
		}
		out[name] = vs[0]
	}
	return out
}

// lookupPolicy finds a managed policy by ARN: AWS managed or the account's.
// The caller holds the IAM lock.
func (s *Server) lookupPolicy(arn string) (*managedPolicy, bool) {
	return lookupPolicyIn(s.iam, arn)
}

// lookupPolicyIn finds a managed policy by ARN, AWS managed or st's
// account's. The caller holds st's lock.
func lookupPolicyIn(st *iamState, arn string) (*managedPolicy, bool) {
	if p, ok := managedCatalog[arn]; ok {
		return p, true
	}
	p, ok := st.Policies[arn]
	return p, ok
}

func (s *Server) touchRole(name string, now time.Time, region string) {
	s.iam.mu.Lock()
	if r, ok := s.iam.Roles[strings.ToLower(name)]; ok {
		t := now.UTC().Truncate(time.Second)
		r.LastUsed, r.LastUsedRegion = &t, region
	}
	s.iam.mu.Unlock()
}
