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
	allowed, reason, denial := s.authorizeGateway(r.Context(), &caller{session: sess}, call, region)
	out := AuthorizeResult{Allowed: allowed, Reason: reason}
	if denial != nil {
		out.Message = denial.Message
	}
	writeJSON(w, http.StatusOK, out)
}
