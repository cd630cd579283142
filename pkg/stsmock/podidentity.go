package stsmock

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// EKS Pod Identity associations: the EKS API that maps a namespace and
// service account of the cluster to a role, which eks-auth's
// AssumeRoleForPodIdentity then assumes for the pods of that account. They
// are kept with the default account's state (the cluster's account) and
// saved with it.

// PodIdentityPrincipal is the service principal a Pod Identity role trusts.
const PodIdentityPrincipal = "pods.eks.amazonaws.com"

// PodIdentityAgentAddon is the add-on EKS clusters run the agent as.
const PodIdentityAgentAddon = "eks-pod-identity-agent"

// maxAssociations is EKS's quota of associations per cluster.
const maxAssociations = 5000

// msgTrustInvalid is how EKS refuses an association whose role does not
// trust the Pod Identity service principal; the first sentence is EKS's.
const msgTrustInvalid = "Trust policy of the role provided is invalid. The trust policy must allow the service principal pods.eks.amazonaws.com to perform sts:AssumeRole and sts:TagSession."

// Association is a Pod Identity association as the EKS API describes it.
type Association struct {
	ID                 string            `json:"id"`
	Namespace          string            `json:"namespace"`
	ServiceAccount     string            `json:"serviceAccount"`
	RoleARN            string            `json:"roleArn"`
	TargetRoleARN      string            `json:"targetRoleArn,omitempty"`
	DisableSessionTags bool              `json:"disableSessionTags,omitempty"`
	Policy             string            `json:"policy,omitempty"`
	ExternalID         string            `json:"externalId,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	CreatedAt          time.Time         `json:"createdAt"`
	ModifiedAt         time.Time         `json:"modifiedAt"`
	// ClientRequestToken is the idempotency token Create was called with.
	ClientRequestToken string `json:"clientRequestToken,omitempty"`
}

// associationIDPattern is what EKS's IDs look like: "a-" and 17 lowercase
// letters and digits.
var associationIDPattern = regexp.MustCompile(`^a-[a-z0-9]{17}$`)

var k8sNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func newAssociationID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 17)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "a-" + string(b)
}

func (s *Server) associationARN(id string) string {
	return s.eksARN("podidentityassociation/" + s.cluster.Name + "/" + id)
}

// eksARN is the ARN of an EKS resource of the cluster's account.
func (s *Server) eksARN(resource string) string {
	return "arn:aws:eks:" + s.region + ":" + s.defaultAccount + ":" + resource
}

// associationNotFound is EKS's answer for an unknown association ID.
func associationNotFound(id string) eksError {
	return eksError{"ResourceNotFoundException", "No Pod Identity Association found for the ID: " + awsquery.Truncate(id, awsquery.MaxEchoed) + "."}
}

// describeAssociation is the PodIdentityAssociation shape.
func (s *Server) describeAssociation(a *Association) map[string]any {
	out := map[string]any{
		"clusterName":        s.cluster.Name,
		"namespace":          a.Namespace,
		"serviceAccount":     a.ServiceAccount,
		"roleArn":            a.RoleARN,
		"associationArn":     s.associationARN(a.ID),
		"associationId":      a.ID,
		"tags":               nonNilTags(a.Tags),
		"createdAt":          epochSeconds(a.CreatedAt),
		"modifiedAt":         epochSeconds(a.ModifiedAt),
		"disableSessionTags": a.DisableSessionTags,
	}
	if a.TargetRoleARN != "" {
		out["targetRoleArn"] = a.TargetRoleARN
		out["externalId"] = a.ExternalID
	}
	if a.Policy != "" {
		out["policy"] = a.Policy
	}
	return out
}

func nonNilTags(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}

// epochSeconds is a rest-json timestamp: fractional epoch seconds.
func epochSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// Associations returns the cluster's Pod Identity associations, oldest
// first.
func (s *Server) Associations() []Association {
	s.base.mu.RLock()
	defer s.base.mu.RUnlock()
	out := make([]Association, 0, len(s.base.PodIdentity))
	for _, a := range s.base.PodIdentity {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// HasAssociation reports whether a service account has a Pod Identity
// association: what the pod identity webhook asks before it injects the
// container-credentials variables.
func (s *Server) HasAssociation(namespace, serviceAccount string) bool {
	_, ok := s.associationFor(namespace, serviceAccount)
	return ok
}

func (s *Server) associationFor(namespace, serviceAccount string) (Association, bool) {
	s.base.mu.RLock()
	defer s.base.mu.RUnlock()
	for _, a := range s.base.PodIdentity {
		if a.Namespace == namespace && a.ServiceAccount == serviceAccount {
			return *a, true
		}
	}
	return Association{}, false
}

// associationRequest is the body of Create and Update.
type associationRequest struct {
	Namespace          *string           `json:"namespace"`
	ServiceAccount     *string           `json:"serviceAccount"`
	RoleARN            *string           `json:"roleArn"`
	TargetRoleARN      *string           `json:"targetRoleArn"`
	DisableSessionTags *bool             `json:"disableSessionTags"`
	Policy             *string           `json:"policy"`
	ClientRequestToken *string           `json:"clientRequestToken"`
	Tags               map[string]string `json:"tags"`
}

// servePodIdentity routes /clusters/{name}/pod-identity-associations[/{id}].
func (s *Server) servePodIdentity(w http.ResponseWriter, req *request, cluster, id string) {
	r := req.r
	base := s.eksARN("podidentityassociation/" + cluster + "/")
	clusterARN := s.eksARN("cluster/" + cluster)
	var body associationRequest
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(io.LimitReader(r.Body, maxEKSBody)).Decode(&body); err != nil && err != io.EOF {
			writeEKSError(w, req.id, 400, "InvalidRequestException", "The request body is not valid JSON: "+awsquery.Truncate(err.Error(), awsquery.MaxEchoed))
			return
		}
	}
	noCluster := eksError{"ResourceNotFoundException", "No cluster found for name: " + awsquery.Truncate(cluster, awsquery.MaxEchoed) + "."}
	hasCluster := s.cluster != nil && s.cluster.Name == cluster
	switch {
	case id == "" && r.Method == http.MethodPost:
		s.eksAuthorized(w, req, "eks:CreatePodIdentityAssociation", clusterARN, func() (int, any) {
			if !hasCluster {
				return 404, noCluster
			}
			return s.createAssociation(req, &body)
		})
	case id == "" && r.Method == http.MethodGet:
		s.eksAuthorized(w, req, "eks:ListPodIdentityAssociations", clusterARN, func() (int, any) {
			if !hasCluster {
				return 404, noCluster
			}
			return s.listAssociations(r.URL.Query())
		})
	case id != "" && r.Method == http.MethodGet:
		s.eksAuthorized(w, req, "eks:DescribePodIdentityAssociation", base+id, func() (int, any) {
			if !hasCluster {
				return 404, noCluster
			}
			a, e := s.findAssociation(id)
			if e != nil {
				return 404, *e
			}
			return 200, map[string]any{"association": s.describeAssociation(&a)}
		})
	case id != "" && r.Method == http.MethodPost:
		s.eksAuthorized(w, req, "eks:UpdatePodIdentityAssociation", base+id, func() (int, any) {
			if !hasCluster {
				return 404, noCluster
			}
			return s.updateAssociation(req, id, &body)
		})
	case id != "" && r.Method == http.MethodDelete:
		s.eksAuthorized(w, req, "eks:DeletePodIdentityAssociation", base+id, func() (int, any) {
			if !hasCluster {
				return 404, noCluster
			}
			return s.deleteAssociation(id)
		})
	default:
		writeEKSError(w, req.id, 405, "InvalidRequestException", "Method not allowed")
	}
}

func (s *Server) findAssociation(id string) (Association, *eksError) {
	s.base.mu.RLock()
	defer s.base.mu.RUnlock()
	if a, ok := s.base.PodIdentity[id]; ok {
		return *a, nil
	}
	e := associationNotFound(id)
	return Association{}, &e
}

func invalidParam(msg string) (int, any) { return 400, eksError{"InvalidParameterException", msg} }

// checkAssociationRoles validates the roles of an association: the role in
// the cluster's account, trusting the Pod Identity principal, the caller
// allowed to pass it; a target role well formed.
func (s *Server) checkAssociationRoles(c *caller, roleARN, targetARN string) (int, any) {
	account, res, ok := arnAccountResource(roleARN, "iam")
	if !ok || !strings.HasPrefix(res, "role/") {
		return invalidParam("Role arn " + awsquery.Truncate(roleARN, awsquery.MaxEchoed) + " is not a valid IAM role ARN.")
	}
	if account != s.defaultAccount {
		return invalidParam("The role " + roleARN + " must be in the cluster's account " + s.defaultAccount + "; use targetRoleArn to reach a role in another account.")
	}
	s.base.mu.RLock()
	r, found := s.base.roleByARN(account, roleARN)
	var trust *policy.Document
	if found {
		trust = r.trust
	}
	s.base.mu.RUnlock()
	if !found {
		return invalidParam("Role " + roleARN + " does not exist.")
	}
	if !trustsPodIdentity(trust) {
		return invalidParam(msgTrustInvalid)
	}
	if c != nil && (c.session != nil || c.callerAccount() != s.defaultAccount) {
		if res := s.authorizeCall(c, "iam:PassRole", roleARN, s.defaultAccount, nil, nil); !res.Allowed() {
			return 403, eksError{"AccessDeniedException", "The caller is not authorized to perform iam:PassRole on " + roleARN + ": " + res.Reason}
		}
	}
	if targetARN != "" {
		if _, res, ok := arnAccountResource(targetARN, "iam"); !ok || !strings.HasPrefix(res, "role/") {
			return invalidParam("Target role arn " + awsquery.Truncate(targetARN, awsquery.MaxEchoed) + " is not a valid IAM role ARN.")
		}
		if targetARN == roleARN {
			return invalidParam("The target role must differ from the association's role.")
		}
	}
	return 0, nil
}

// trustsPodIdentity reports whether some Allow statement of a trust policy
// names the Pod Identity service principal (or everyone) for
// sts:AssumeRole. Conditions are not evaluated here: they depend on the
// pod, and are checked on every AssumeRoleForPodIdentity.
func trustsPodIdentity(trust *policy.Document) bool {
	if trust == nil {
		return false
	}
	req := policy.Request{Principal: policy.Principal{Type: "Service", IDs: []string{PodIdentityPrincipal}}, Action: "sts:AssumeRole"}
	for _, st := range trust.Statements() {
		if st.Effect != "Allow" || st.NotPrincipal {
			continue
		}
		names := false
		for typ, ids := range st.Principal {
			for _, id := range ids {
				if (typ == "*" || typ == "Service") && (id == "*" || id == PodIdentityPrincipal) {
					names = true
				}
			}
		}
		if !names {
			continue
		}
		if actionsAllow(st, req) {
			return true
		}
	}
	return false
}

// actionsAllow reports whether st's Action (or NotAction) covers
// req.Action, leaving its principal and conditions aside.
func actionsAllow(st policy.Statement, req policy.Request) bool {
	key := "Action"
	if st.NotAction {
		key = "NotAction"
	}
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": "*", key: st.Action}}})
	one, err := policy.Parse(string(doc), policy.Trust)
	return err == nil && policy.Evaluate(req, policy.NamedDocument{Doc: one}).Allowed()
}

// checkAssociationPolicy validates an association's session policy.
func checkAssociationPolicy(text string, disableTags bool) (int, any) {
	if text == "" {
		return 0, nil
	}
	if !disableTags {
		return invalidParam("A policy can only be set on an association whose disableSessionTags is true.")
	}
	if len(text) > 2048 {
		return invalidParam("The policy exceeds 2048 characters.")
	}
	if _, err := policy.Parse(text, policy.Identity); err != nil {
		return invalidParam("The policy is not valid: " + awsquery.Truncate(err.Error(), awsquery.MaxEchoed))
	}
	return 0, nil
}

func checkAssociationTags(tags map[string]string) (int, any) {
	if len(tags) > 50 {
		return invalidParam("An association can have at most 50 tags.")
	}
	for k, v := range tags {
		if k == "" || len([]rune(k)) > 128 {
			return invalidParam("Tag keys must be 1 to 128 characters long.")
		}
		if len([]rune(v)) > 256 {
			return invalidParam("Tag values must be at most 256 characters long.")
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return invalidParam("Tag keys cannot start with the reserved prefix aws:.")
		}
	}
	return 0, nil
}

func (s *Server) createAssociation(req *request, b *associationRequest) (int, any) {
	ns, sa, roleARN := deref(b.Namespace), deref(b.ServiceAccount), deref(b.RoleARN)
	switch {
	case ns == "":
		return invalidParam("namespace is required.")
	case sa == "":
		return invalidParam("serviceAccount is required.")
	case roleARN == "":
		return invalidParam("roleArn is required.")
	case len(ns) > 63 || !k8sNamePattern.MatchString(ns):
		return invalidParam("Namespace " + awsquery.Truncate(ns, awsquery.MaxEchoed) + " is not a valid Kubernetes namespace name.")
	case len(sa) > 253 || !k8sNamePattern.MatchString(sa):
		return invalidParam("Service account " + awsquery.Truncate(sa, awsquery.MaxEchoed) + " is not a valid Kubernetes service account name.")
	}
	disable := b.DisableSessionTags != nil && *b.DisableSessionTags
	if st, e := checkAssociationPolicy(deref(b.Policy), disable); e != nil {
		return st, e
	}
	if st, e := checkAssociationTags(b.Tags); e != nil {
		return st, e
	}
	target := deref(b.TargetRoleARN)
	token := deref(b.ClientRequestToken)
	if st, e := s.checkAssociationRoles(req.caller, roleARN, target); e != nil {
		return st, e
	}
	now := s.clock.Now().UTC()
	a := &Association{
		ID: newAssociationID(), Namespace: ns, ServiceAccount: sa, RoleARN: roleARN,
		TargetRoleARN: target, DisableSessionTags: disable, Policy: deref(b.Policy), Tags: b.Tags,
		CreatedAt: now, ModifiedAt: now, ClientRequestToken: token,
	}
	if target != "" {
		a.ExternalID = s.region + "/" + s.defaultAccount + "/" + s.cluster.Name + "/" + ns + "/" + sa
	}
	s.base.mu.Lock()
	defer s.base.mu.Unlock()
	for _, old := range s.base.PodIdentity {
		if token != "" && old.ClientRequestToken == token {
			// A retry of the same call answers the same association; the
			// token reused for another one is refused.
			if old.Namespace == ns && old.ServiceAccount == sa && old.RoleARN == roleARN && old.TargetRoleARN == target {
				return 200, map[string]any{"association": s.describeAssociation(old)}
			}
			return 400, eksError{"InvalidRequestException", "The client request token " + awsquery.Truncate(token, awsquery.MaxEchoed) + " was already used to create a different association."}
		}
	}
	for _, old := range s.base.PodIdentity {
		if old.Namespace == ns && old.ServiceAccount == sa {
			return 409, eksError{"ResourceInUseException", "Association already exists: " + old.ID}
		}
	}
	if len(s.base.PodIdentity) >= maxAssociations {
		return 400, eksError{"ResourceLimitExceededException", "The cluster already has " + strconv.Itoa(maxAssociations) + " Pod Identity associations, the most EKS allows."}
	}
	s.base.PodIdentity[a.ID] = a
	if err := s.base.save(); err != nil {
		delete(s.base.PodIdentity, a.ID)
		s.log.Error("save pod identity association", "err", err)
		return 500, eksError{"ServerException", "saving the association failed; see the environment's log"}
	}
	return 200, map[string]any{"association": s.describeAssociation(a)}
}

func (s *Server) updateAssociation(req *request, id string, b *associationRequest) (int, any) {
	old, e := s.findAssociation(id)
	if e != nil {
		return 404, *e
	}
	next := old
	if b.RoleARN != nil {
		next.RoleARN = *b.RoleARN
	}
	if b.TargetRoleARN != nil {
		next.TargetRoleARN = *b.TargetRoleARN
	}
	if b.DisableSessionTags != nil {
		next.DisableSessionTags = *b.DisableSessionTags
	}
	if b.Policy != nil {
		next.Policy = *b.Policy
	}
	if b.Namespace != nil || b.ServiceAccount != nil {
		return invalidParam("The namespace and service account of an association cannot change; delete it and create another.")
	}
	if next.RoleARN == old.RoleARN && next.TargetRoleARN == old.TargetRoleARN && next.DisableSessionTags == old.DisableSessionTags && next.Policy == old.Policy {
		return invalidParam("The update changes nothing: give a different roleArn, targetRoleArn, disableSessionTags or policy.")
	}
	if st, e := checkAssociationPolicy(next.Policy, next.DisableSessionTags); e != nil {
		return st, e
	}
	if st, e := s.checkAssociationRoles(req.caller, next.RoleARN, next.TargetRoleARN); e != nil {
		return st, e
	}
	next.ExternalID = ""
	if next.TargetRoleARN != "" {
		next.ExternalID = s.region + "/" + s.defaultAccount + "/" + s.cluster.Name + "/" + next.Namespace + "/" + next.ServiceAccount
	}
	next.ModifiedAt = s.clock.Now().UTC()
	s.base.mu.Lock()
	defer s.base.mu.Unlock()
	if _, ok := s.base.PodIdentity[id]; !ok {
		return 404, associationNotFound(id)
	}
	s.base.PodIdentity[id] = &next
	if err := s.base.save(); err != nil {
		prev := old
		s.base.PodIdentity[id] = &prev
		s.log.Error("save pod identity association", "err", err)
		return 500, eksError{"ServerException", "saving the association failed; see the environment's log"}
	}
	return 200, map[string]any{"association": s.describeAssociation(&next)}
}

func (s *Server) deleteAssociation(id string) (int, any) {
	s.base.mu.Lock()
	defer s.base.mu.Unlock()
	a, ok := s.base.PodIdentity[id]
	if !ok {
		return 404, associationNotFound(id)
	}
	delete(s.base.PodIdentity, id)
	if err := s.base.save(); err != nil {
		s.base.PodIdentity[id] = a
		s.log.Error("save pod identity association", "err", err)
		return 500, eksError{"ServerException", "saving the association failed; see the environment's log"}
	}
	return 200, map[string]any{"association": s.describeAssociation(a)}
}

// listAssociations answers ListPodIdentityAssociations: filtered by
// namespace and service account, oldest first, paged by an opaque token
// naming the last association returned.
func (s *Server) listAssociations(q url.Values) (int, any) {
	max := 100
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return invalidParam("maxResults must be between 1 and 100.")
		}
		max = n
	}
	after := ""
	if t := q.Get("nextToken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || !associationIDPattern.Match(b) {
			return invalidParam("The nextToken is not valid.")
		}
		after = string(b)
	}
	all := s.Associations()
	start := 0
	if after != "" {
		start = len(all)
		for i, a := range all {
			if a.ID == after {
				start = i + 1
				break
			}
		}
	}
	ns, sa := q.Get("namespace"), q.Get("serviceAccount")
	out := []map[string]any{}
	next := ""
	for _, a := range all[start:] {
		if (ns != "" && a.Namespace != ns) || (sa != "" && a.ServiceAccount != sa) {
			continue
		}
		if len(out) == max {
			next = base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1]["associationId"].(string)))
			break
		}
		out = append(out, map[string]any{
			"clusterName": s.cluster.Name, "namespace": a.Namespace, "serviceAccount": a.ServiceAccount,
			"associationArn": s.associationARN(a.ID), "associationId": a.ID,
		})
	}
	resp := map[string]any{"associations": out}
	if next != "" {
		resp["nextToken"] = next
	}
	return 200, resp
}

// serveAddons answers ListAddons and DescribeAddon for the Pod Identity
// agent, which every irsa-local cluster runs (as exec's local agent or as
// the kind node's), so tools that check for the add-on accept the cluster.
func (s *Server) serveAddons(w http.ResponseWriter, req *request, cluster, name string) {
	clusterARN := s.eksARN("cluster/" + cluster)
	noCluster := eksError{"ResourceNotFoundException", "No cluster found for name: " + awsquery.Truncate(cluster, awsquery.MaxEchoed) + "."}
	hasCluster := s.cluster != nil && s.cluster.Name == cluster
	if req.r.Method != http.MethodGet {
		writeEKSError(w, req.id, 400, "InvalidRequestException", "irsa-local's cluster has the "+PodIdentityAgentAddon+" add-on installed and manages no other add-on")
		return
	}
	if name == "" {
		s.eksAuthorized(w, req, "eks:ListAddons", clusterARN, func() (int, any) {
			if !hasCluster {
				return 404, noCluster
			}
			return 200, map[string]any{"addons": []string{PodIdentityAgentAddon}}
		})
		return
	}
	arn := s.eksARN("addon/" + cluster + "/" + name + "/00000000-0000-0000-0000-000000000000")
	s.eksAuthorized(w, req, "eks:DescribeAddon", arn, func() (int, any) {
		if !hasCluster {
			return 404, noCluster
		}
		if name != PodIdentityAgentAddon {
			return 404, eksError{"ResourceNotFoundException", "No addon: " + awsquery.Truncate(name, awsquery.MaxEchoed) + " found in cluster: " + cluster}
		}
		created := epochSeconds(s.cluster.CreatedAt)
		return 200, map[string]any{"addon": map[string]any{
			"addonName": name, "clusterName": cluster, "status": "ACTIVE", "addonVersion": "v1.3.10-eksbuild.2",
			"health": map[string]any{"issues": []any{}}, "addonArn": arn, "createdAt": created, "modifiedAt": created,
			"tags": map[string]string{}, "podIdentityAssociations": []string{},
		}}
	})
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// updateAssociationTags changes an association's tags and saves them.
func (s *Server) updateAssociationTags(id string, change func(map[string]string)) (int, any) {
	s.base.mu.Lock()
	defer s.base.mu.Unlock()
	a, ok := s.base.PodIdentity[id]
	if !ok {
		return 404, associationNotFound(id)
	}
	next := *a
	next.Tags = map[string]string{}
	for k, v := range a.Tags {
		next.Tags[k] = v
	}
	change(next.Tags)
	if st, e := checkAssociationTags(next.Tags); e != nil {
		return st, e
	}
	s.base.PodIdentity[id] = &next
	if err := s.base.save(); err != nil {
		s.base.PodIdentity[id] = a
		s.log.Error("save pod identity association tags", "err", err)
		return 500, eksError{"ServerException", "saving the association's tags failed; see the environment's log"}
	}
	return 200, map[string]any{}
}
