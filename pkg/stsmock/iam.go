package stsmock

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

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
	run   func(s *Server, p params) (any, *apiError)
	write bool // changes state: persisted afterwards
	// resource names the ARN the action acts on, for authorizing sessions;
	// nil means "*".
	resource func(s *Server, p params) string
}

func roleResource(s *Server, p params) string {
	return "arn:aws:iam::" + s.account + ":role/" + p.get("RoleName")
}

func providerResource(_ *Server, p params) string { return p.get("OpenIDConnectProviderArn") }

// newProviderResource is the ARN CreateOpenIDConnectProvider creates, which
// IAM authorizes it on.
func newProviderResource(s *Server, p params) string {
	return policy.ParseProvider(p.get("Url")).ARN(s.account)
}

// newPolicyResource is the ARN CreatePolicy creates, which IAM authorizes it
// on.
func newPolicyResource(s *Server, p params) string {
	path := p.get("Path")
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + s.account + ":policy" + path + p.get("PolicyName")
}

func policyResource(_ *Server, p params) string { return p.get("PolicyArn") }

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
	fail := func(e *apiError) {
		if rec != nil {
			rec.fail(e.Code, e.Message)
			s.record(rec)
		}
		s.queryError(w, req, "iam", e)
	}
	h, ok := iamActions[action]
	if !ok {
		fail(errorf(400, "InvalidAction", "Could not find operation %s for version 2010-05-08", action))
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
				e = errorf(500, "ServiceFailure", "%v", err)
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
	writeResult(w, iamNamespace, action, result, req.id)
}

// iamParameters turns Query parameters into CloudTrail's requestParameters:
// names with a lower-case first letter, lists as arrays.
func iamParameters(p params) map[string]any {
	out := map[string]any{}
	for k, vs := range p {
		if k == "Action" || k == "Version" || len(vs) == 0 {
			continue
		}
		name, _, isList := strings.Cut(k, ".member.")
		name = lowerFirst(strings.SplitN(name, ".", 2)[0])
		if isList {
			list, _ := out[name].([]string)
			out[name] = append(list, vs[0])
			continue
		}
		out[name] = vs[0]
	}
	return out
}

// authorizeIAM lets the admin credentials do anything, as the account root
// may, and holds role sessions to their role's policies and session
// policies.
func (s *Server) authorizeIAM(req *request, action string, h iamHandler, rec *eventRecord) *apiError {
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
	return errorf(403, "AccessDenied", "User: %s is not authorized to perform: iam:%s on resource: %s because %s", c.session.assumedRoleARN(), action, resource, reason)
}

// authorizeSession evaluates a request made with a role session against the
// role's attached and inline policies, the session policies and any
// resource policy.
func (s *Server) authorizeSession(sess *session, action, resource string, resourcePolicies []policy.NamedDocument, extra policy.Context) policy.Result {
	s.iam.mu.RLock()
	r, ok := s.iam.roleByARN(s.account, sess.RoleARN)
	var identity []policy.NamedDocument
	if ok {
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

// lookupPolicy finds a managed policy by ARN: AWS managed or the account's.
// The caller holds the IAM lock.
func (s *Server) lookupPolicy(arn string) (*managedPolicy, bool) {
	if p, ok := managedCatalog[arn]; ok {
		return p, true
	}
	p, ok := s.iam.Policies[arn]
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

// ---- OIDC providers

type tagsXML struct {
	Tags []tag `xml:"Tags>member"`
}

type createOIDCProviderResult struct {
	OpenIDConnectProviderArn string `xml:"OpenIDConnectProviderArn"`
	Tags                     []tag  `xml:"Tags>member,omitempty"`
}

func readTags(p params) ([]tag, *apiError) {
	var tags []tag
	for _, m := range p.structList("Tags", "Key", "Value") {
		if m["Key"] == "" {
			return nil, errorf(400, "InvalidInput", "Tag keys must not be empty.")
		}
		tags = append(tags, tag{Key: m["Key"], Value: m["Value"]})
	}
	if len(tags) > 50 {
		return nil, errorf(400, "LimitExceeded", "The number of tags has reached the maximum limit.")
	}
	return tags, nil
}

// mergeTags adds or replaces tags by key.
func mergeTags(have, add []tag) []tag {
	for _, t := range add {
		replaced := false
		for i := range have {
			if have[i].Key == t.Key {
				have[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			have = append(have, t)
		}
	}
	return have
}

func removeTags(have []tag, keys []string) []tag {
	out := have[:0]
	for _, t := range have {
		if !contains(keys, t.Key) {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) createOIDCProvider(p params) (any, *apiError) {
	var v validation
	raw, _ := v.checkString(p, "Url", true, 1, 255, nil, "")
	clientIDs := p.list("ClientIDList")
	thumbs := p.list("ThumbprintList")
	if len(clientIDs) > 100 {
		n := strconv.Itoa(len(clientIDs))
		v.add(&n, "clientIDList", "Member must have length less than or equal to 100")
	}
	if len(thumbs) > 5 {
		n := strconv.Itoa(len(thumbs))
		v.add(&n, "thumbprintList", "Member must have length less than or equal to 5")
	}
	for _, t := range thumbs {
		if !thumbprintPattern.MatchString(t) {
			t := t
			v.add(&t, "thumbprintList.member", "Member must have length greater than or equal to 40")
		}
	}
	if e := v.err(); e != nil {
		return nil, e
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errorf(400, "InvalidInput", "Invalid Url: %s. The URL must begin with https:// and have no query or fragment.", raw)
	}
	tags, e := readTags(p)
	if e != nil {
		return nil, e
	}
	name := policy.ParseProvider(raw)
	if _, exists := s.iam.Providers[name.Canonical]; exists {
		return nil, errorf(409, "EntityAlreadyExists", "Provider with url %s already exists.", raw)
	}
	s.iam.Providers[name.Canonical] = &oidcProvider{
		URL:         strings.TrimPrefix(raw, "https://"),
		ClientIDs:   dedupe(clientIDs),
		Thumbprints: dedupe(lowerAll(thumbs)),
		CreateDate:  time.Now().UTC().Truncate(time.Second),
		Tags:        tags,
	}
	return &createOIDCProviderResult{OpenIDConnectProviderArn: name.ARN(s.account), Tags: tags}, nil
}

// EnsureOIDCProvider registers issuerURL as an IAM OIDC provider with the
// given client IDs unless one exists for it, as eksctl's associate step
// does, and returns its ARN.
func (s *Server) EnsureOIDCProvider(issuerURL string, clientIDs []string, thumbprints []string) (string, error) {
	name := policy.ParseProvider(issuerURL)
	s.iam.mu.Lock()
	defer s.iam.mu.Unlock()
	if _, ok := s.iam.Providers[name.Canonical]; !ok {
		s.iam.Providers[name.Canonical] = &oidcProvider{
			URL:         strings.TrimPrefix(issuerURL, "https://"),
			ClientIDs:   dedupe(clientIDs),
			Thumbprints: dedupe(lowerAll(thumbprints)),
			CreateDate:  time.Now().UTC().Truncate(time.Second),
		}
		if err := s.iam.save(); err != nil {
			return "", err
		}
	}
	return name.ARN(s.account), nil
}

// OIDCProviderARN returns the ARN of the provider registered for issuerURL,
// or "" when there is none.
func (s *Server) OIDCProviderARN(issuerURL string) string {
	name := policy.ParseProvider(issuerURL)
	s.iam.mu.RLock()
	defer s.iam.mu.RUnlock()
	if _, ok := s.iam.Providers[name.Canonical]; !ok {
		return ""
	}
	return name.ARN(s.account)
}

func dedupe(list []string) []string {
	out := []string{}
	for _, v := range list {
		if !contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func lowerAll(list []string) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = strings.ToLower(v)
	}
	return out
}

func (s *Server) provider(p params) (*oidcProvider, string, *apiError) {
	arn := p.get("OpenIDConnectProviderArn")
	if arn == "" {
		var v validation
		v.add(nil, "openIDConnectProviderArn", "Member must not be null")
		return nil, "", v.err()
	}
	prov, key, ok := s.iam.providerByARN(s.account, arn)
	if !ok {
		return nil, "", errorf(404, "NoSuchEntity", "OpenIDConnect Provider not found for arn %s", arn)
	}
	return prov, key, nil
}

type getOIDCProviderResult struct {
	URL            string   `xml:"Url"`
	ClientIDList   []string `xml:"ClientIDList>member"`
	ThumbprintList []string `xml:"ThumbprintList>member"`
	CreateDate     string   `xml:"CreateDate"`
	Tags           []tag    `xml:"Tags>member,omitempty"`
}

func (s *Server) getOIDCProvider(p params) (any, *apiError) {
	prov, _, e := s.provider(p)
	if e != nil {
		return nil, e
	}
	return &getOIDCProviderResult{URL: prov.URL, ClientIDList: prov.ClientIDs, ThumbprintList: prov.Thumbprints, CreateDate: iamDate(prov.CreateDate), Tags: prov.Tags}, nil
}

type providerListEntry struct {
	Arn string `xml:"Arn"`
}

type listOIDCProvidersResult struct {
	List []providerListEntry `xml:"OpenIDConnectProviderList>member"`
}

func (s *Server) listOIDCProviders(params) (any, *apiError) {
	out := &listOIDCProvidersResult{}
	for _, k := range sortedKeys(s.iam.Providers) {
		out.List = append(out.List, providerListEntry{Arn: policy.ProviderName{Canonical: k}.ARN(s.account)})
	}
	return out, nil
}

func (s *Server) deleteOIDCProvider(p params) (any, *apiError) {
	_, key, e := s.provider(p)
	if e != nil {
		return nil, e
	}
	delete(s.iam.Providers, key)
	return nil, nil
}

func (s *Server) addClientID(p params) (any, *apiError) {
	prov, _, e := s.provider(p)
	if e != nil {
		return nil, e
	}
	var v validation
	id, _ := v.checkString(p, "ClientID", true, 1, 255, nil, "")
	if e := v.err(); e != nil {
		return nil, e
	}
	if !contains(prov.ClientIDs, id) {
		if len(prov.ClientIDs) >= 100 {
			return nil, errorf(409, "LimitExceeded", "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100")
		}
		prov.ClientIDs = append(prov.ClientIDs, id)
	}
	return nil, nil
}

func (s *Server) removeClientID(p params) (any, *apiError) {
	prov, _, e := s.provider(p)
	if e != nil {
		return nil, e
	}
	id := p.get("ClientID")
	out := []string{}
	for _, c := range prov.ClientIDs {
		if c != id {
			out = append(out, c)
		}
	}
	prov.ClientIDs = out
	return nil, nil
}

func (s *Server) updateThumbprint(p params) (any, *apiError) {
	prov, _, e := s.provider(p)
	if e != nil {
		return nil, e
	}
	thumbs := p.list("ThumbprintList")
	for _, t := range thumbs {
		if !thumbprintPattern.MatchString(t) {
			return nil, errorf(400, "InvalidInput", "Thumbprint %q is not 40 hexadecimal characters.", t)
		}
	}
	if len(thumbs) > 5 {
		return nil, errorf(409, "LimitExceeded", "Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: 5")
	}
	prov.Thumbprints = dedupe(lowerAll(thumbs))
	return nil, nil
}

// tagsOf finds the tags of the entity a request names.
type tagsOf func(s *Server, p params) (*[]tag, *apiError)

func providerTags(s *Server, p params) (*[]tag, *apiError) {
	prov, _, e := s.provider(p)
	if e != nil {
		return nil, e
	}
	return &prov.Tags, nil
}

func roleTags(s *Server, p params) (*[]tag, *apiError) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	return &r.Tags, nil
}

// tagOp, untagOp and listTagsOp are Tag*, Untag* and List*Tags for every
// taggable IAM entity.
func tagOp(find tagsOf) func(*Server, params) (any, *apiError) {
	return func(s *Server, p params) (any, *apiError) {
		tags, e := find(s, p)
		if e != nil {
			return nil, e
		}
		add, e := readTags(p)
		if e != nil {
			return nil, e
		}
		*tags = mergeTags(*tags, add)
		return nil, nil
	}
}

func untagOp(find tagsOf) func(*Server, params) (any, *apiError) {
	return func(s *Server, p params) (any, *apiError) {
		tags, e := find(s, p)
		if e != nil {
			return nil, e
		}
		*tags = removeTags(*tags, p.list("TagKeys"))
		return nil, nil
	}
}

func listTagsOp(find tagsOf) func(*Server, params) (any, *apiError) {
	return func(s *Server, p params) (any, *apiError) {
		tags, e := find(s, p)
		if e != nil {
			return nil, e
		}
		return &listTagsResult{Tags: *tags}, nil
	}
}

type listTagsResult struct {
	Tags        []tag `xml:"Tags>member"`
	IsTruncated bool  `xml:"IsTruncated"`
}

// ---- roles

type roleLastUsedXML struct {
	LastUsedDate string `xml:"LastUsedDate,omitempty"`
	Region       string `xml:"Region,omitempty"`
}

type boundaryXML struct {
	PermissionsBoundaryType string `xml:"PermissionsBoundaryType"`
	PermissionsBoundaryArn  string `xml:"PermissionsBoundaryArn"`
}

type roleXML struct {
	Path                     string           `xml:"Path"`
	RoleName                 string           `xml:"RoleName"`
	RoleID                   string           `xml:"RoleId"`
	Arn                      string           `xml:"Arn"`
	CreateDate               string           `xml:"CreateDate"`
	AssumeRolePolicyDocument string           `xml:"AssumeRolePolicyDocument"`
	Description              string           `xml:"Description,omitempty"`
	MaxSessionDuration       int              `xml:"MaxSessionDuration"`
	PermissionsBoundary      *boundaryXML     `xml:"PermissionsBoundary,omitempty"`
	Tags                     []tag            `xml:"Tags>member,omitempty"`
	RoleLastUsed             *roleLastUsedXML `xml:"RoleLastUsed,omitempty"`
}

// roleView renders a role; full adds what GetRole returns beyond ListRoles.
func (s *Server) roleView(r *role, full bool) roleXML {
	x := roleXML{
		Path: r.Path, RoleName: r.Name, RoleID: r.ID, Arn: r.arn(s.account),
		CreateDate:               iamDate(r.CreateDate),
		AssumeRolePolicyDocument: policyEscape(r.TrustPolicy),
		Description:              r.Description,
		MaxSessionDuration:       r.MaxSessionDuration,
	}
	if full {
		x.Tags = r.Tags
		if r.PermissionsBound != "" {
			x.PermissionsBoundary = &boundaryXML{PermissionsBoundaryType: "Policy", PermissionsBoundaryArn: r.PermissionsBound}
		}
		x.RoleLastUsed = &roleLastUsedXML{}
		if r.LastUsed != nil {
			x.RoleLastUsed = &roleLastUsedXML{LastUsedDate: iamDate(*r.LastUsed), Region: r.LastUsedRegion}
		}
	}
	return x
}

type roleResult struct {
	Role roleXML `xml:"Role"`
}

// malformed turns a policy parse failure into IAM's MalformedPolicyDocument.
func malformed(err error) *apiError {
	var me *policy.MalformedError
	if errors.As(err, &me) {
		return errorf(400, "MalformedPolicyDocument", "%s", me.Message)
	}
	return errorf(400, "MalformedPolicyDocument", "%v", err)
}

func (s *Server) createRole(p params) (any, *apiError) {
	var v validation
	name, _ := v.checkString(p, "RoleName", true, 1, 64, roleNamePattern, `[\w+=,.@-]+`)
	doc, _ := v.checkString(p, "AssumeRolePolicyDocument", true, 1, 131072, policyCharset, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
	path, hasPath := v.checkString(p, "Path", false, 1, 512, pathPattern, `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	desc, _ := v.checkString(p, "Description", false, 0, 1000, nil, "")
	maxDur, hasMax := v.checkInt(p, "MaxSessionDuration", 3600, 43200)
	boundary, _ := v.checkString(p, "PermissionsBoundary", false, 20, 2048, nil, "")
	if e := v.err(); e != nil {
		return nil, e
	}
	if !hasPath {
		path = "/"
	}
	if !hasMax {
		maxDur = 3600
	}
	if _, exists := s.iam.Roles[strings.ToLower(name)]; exists {
		return nil, errorf(409, "EntityAlreadyExists", "Role with name %s already exists.", name)
	}
	if boundary != "" {
		if _, ok := s.lookupPolicy(boundary); !ok {
			return nil, errorf(400, "InvalidInput", "ARN %s is not valid.", boundary)
		}
	}
	tags, e := readTags(p)
	if e != nil {
		return nil, e
	}
	r := &role{
		Name: name, Path: path, ID: newID("AROA", 17), Description: desc,
		TrustPolicy: doc, MaxSessionDuration: int(maxDur), PermissionsBound: boundary,
		CreateDate: time.Now().UTC().Truncate(time.Second), Tags: tags, Inline: map[string]string{},
	}
	if err := r.compile(); err != nil {
		return nil, malformed(err)
	}
	if policySize(doc) > maxTrustPolicySize {
		return nil, trustTooLarge()
	}
	s.iam.Roles[strings.ToLower(name)] = r
	return &roleResult{Role: s.roleView(r, true)}, nil
}

func (s *Server) role(p params) (*role, *apiError) {
	var v validation
	name, _ := v.checkString(p, "RoleName", true, 1, 64, roleNamePattern, `[\w+=,.@-]+`)
	if e := v.err(); e != nil {
		return nil, e
	}
	r, ok := s.iam.Roles[strings.ToLower(name)]
	if !ok {
		return nil, errorf(404, "NoSuchEntity", "The role with name %s cannot be found.", name)
	}
	return r, nil
}

func (s *Server) getRole(p params) (any, *apiError) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	return &roleResult{Role: s.roleView(r, true)}, nil
}

type listRolesResult struct {
	Roles       []roleXML `xml:"Roles>member"`
	IsTruncated bool      `xml:"IsTruncated"`
	Marker      string    `xml:"Marker,omitempty"`
}

// page applies MaxItems and Marker to a sorted list of names. The marker is
// the last name returned, encoded so clients treat it as opaque.
func page(names []string, p params) (out []string, truncated bool, marker string, _ *apiError) {
	var v validation
	maxItems, has := v.checkInt(p, "MaxItems", 1, 1000)
	if e := v.err(); e != nil {
		return nil, false, "", e
	}
	if !has {
		maxItems = 100
	}
	start := 0
	if m := p.get("Marker"); m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil {
			return nil, false, "", errorf(400, "ValidationError", "Invalid Marker.")
		}
		start = sort.SearchStrings(names, string(b)+"\x00")
	}
	end := start + int(maxItems)
	if end >= len(names) {
		return names[start:], false, "", nil
	}
	return names[start:end], true, base64.RawURLEncoding.EncodeToString([]byte(names[end-1])), nil
}

func (s *Server) listRoles(p params) (any, *apiError) {
	prefix := p.get("PathPrefix")
	var keys []string
	for _, k := range sortedKeys(s.iam.Roles) {
		if strings.HasPrefix(s.iam.Roles[k].Path, prefix) {
			keys = append(keys, k)
		}
	}
	names, truncated, marker, e := page(keys, p)
	if e != nil {
		return nil, e
	}
	out := &listRolesResult{IsTruncated: truncated, Marker: marker}
	for _, k := range names {
		out.Roles = append(out.Roles, s.roleView(s.iam.Roles[k], false))
	}
	return out, nil
}

func (s *Server) deleteRole(p params) (any, *apiError) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	if len(r.Attached) > 0 {
		return nil, errorf(409, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	}
	if len(r.Inline) > 0 {
		return nil, errorf(409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	}
	delete(s.iam.Roles, strings.ToLower(r.Name))
	return nil, nil
}

func (s *Server) updateRole(p params) (any, *apiError) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	var v validation
	desc, hasDesc := v.checkString(p, "Description", false, 0, 1000, nil, "")
	maxDur, hasMax := v.checkInt(p, "MaxSessionDuration", 3600, 43200)
	if e := v.err(); e != nil {
		return nil, e
	}
	if hasDesc {
		r.Description = desc
	}
	if hasMax {
		r.MaxSessionDuration = int(maxDur)
	}
	return struct{}{}, nil
}

func (s *Server) updateAssumeRolePolicy(p params) (any, *apiError) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	var v validation
	doc, _ := v.checkString(p, "PolicyDocument", true, 1, 131072, policyCharset, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
	if e := v.err(); e != nil {
		return nil, e
	}
	d, err := policy.Parse(doc, policy.Trust)
	if err != nil {
		return nil, malformed(err)
	}
	if policySize(doc) > maxTrustPolicySize {
		return nil, trustTooLarge()
	}
	r.TrustPolicy, r.trust = doc, d
	return nil, nil
}

// IAM's policy size quotas (the defaults), in characters without white
// space, which IAM does not count.
const (
	maxTrustPolicySize   = 2048  // ACLSizePerRole
	maxManagedPolicySize = 6144  // PolicySize
	maxRoleInlineSize    = 10240 // all of a role's inline policies together
)

func policySize(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

func trustTooLarge() *apiError {
	return errorf(409, "LimitExceeded", "Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicySize)
}

func managedTooLarge() *apiError {
	return errorf(409, "LimitExceeded", "Cannot exceed quota for PolicySize: %d", maxManagedPolicySize)
}

// maxAttachedPolicies is IAM's default quota of managed policies per role.
const maxAttachedPolicies = 10

func (s *Server) attachRolePolicy(p params) (any, *apiError) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	var v validation
	arn, _ := v.checkString(p, "PolicyArn", true, 20, 2048, nil, "")
	if e := v.err(); e != nil {
		return nil, e
	}
	if _, ok := s.lookupPolicy(arn); !ok {
		return nil, errorf(404, "NoSuchEntity", "Policy %s does not exist or is not attachable.", arn)
	}
	if contains(r.Attached, arn) {
		return nil, nil
	}
	if len(r.Attached) >= maxAttachedPolicies {
		return nil, errorf(409, "LimitExceeded", "Cannot exceed quota for PoliciesPerRole: %d", maxAttachedPolicies)
	}
	r.Attached = append(r.Attached, arn)
	return nil, nil
}

func (s *Server) detachRolePolicy(p params) (any, *apiError) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	arn := p.get("PolicyArn")
	if !contains(r.Attached, arn) {
		return nil, errorf(404, "NoSuchEntity", "Policy %s was not found.", arn)
	}
	out := []string{}
	for _, a := range r.Attached {
		if a != arn {
			out = append(out, a)
		}
	}
	r.Attached = out
	return nil, nil
}

type attachedPolicyXML struct {
	PolicyName string `xml:"PolicyName"`
	PolicyArn  string `xml:"PolicyArn"`
}

type listAttachedResult struct {
	AttachedPolicies []attachedPolicyXML `xml:"AttachedPolicies>member"`
	IsTruncated      bool                `xml:"IsTruncated"`
}

func (s *Server) listAttachedRolePolicies(p params) (any, *apiError) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	out := &listAttachedResult{}
	for _, arn := range r.Attached {
		if mp, ok := s.lookupPolicy(arn); ok {
			out.AttachedPolicies = append(out.AttachedPolicies, attachedPolicyXML{PolicyName: mp.Name, PolicyArn: arn})
		}
	}
	return out, nil
}

func (s *Server) putRolePolicy(p params) (any, *apiError) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	var v validation
	name, _ := v.checkString(p, "PolicyName", true, 1, 128, policyNamePattern, `[\w+=,.@-]+`)
	doc, _ := v.checkString(p, "PolicyDocument", true, 1, 131072, policyCharset, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
	if e := v.err(); e != nil {
		return nil, e
	}
	d, err := policy.Parse(doc, policy.Identity)
	if err != nil {
		return nil, malformed(err)
	}
	total := policySize(doc)
	for n, other := range r.Inline {
		if n != name {
			total += policySize(other)
		}
	}
	if total > maxRoleInlineSize {
		return nil, errorf(409, "LimitExceeded", "Maximum policy size of %d bytes exceeded for role %s", maxRoleInlineSize, r.Name)
	}
	if r.Inline == nil {
		r.Inline = map[string]string{}
	}
	r.Inline[name], r.inline[name] = doc, d
	return nil, nil
}

type getRolePolicyResult struct {
	RoleName       string `xml:"RoleName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

func (s *Server) inlinePolicy(p params) (*role, string, *apiError) {
	r, e := s.role(p)
	if e != nil {
		return nil, "", e
	}
	name := p.get("PolicyName")
	if _, ok := r.Inline[name]; !ok {
		return nil, "", errorf(404, "NoSuchEntity", "The role policy with name %s cannot be found.", name)
	}
	return r, name, nil
}

func (s *Server) getRolePolicy(p params) (any, *apiError) {
	r, name, e := s.inlinePolicy(p)
	if e != nil {
		return nil, e
	}
	return &getRolePolicyResult{RoleName: r.Name, PolicyName: name, PolicyDocument: policyEscape(r.Inline[name])}, nil
}

func (s *Server) deleteRolePolicy(p params) (any, *apiError) {
	r, name, e := s.inlinePolicy(p)
	if e != nil {
		return nil, e
	}
	delete(r.Inline, name)
	delete(r.inline, name)
	return nil, nil
}

type listRolePoliciesResult struct {
	PolicyNames []string `xml:"PolicyNames>member"`
	IsTruncated bool     `xml:"IsTruncated"`
}

func (s *Server) listRolePolicies(p params) (any, *apiError) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	return &listRolePoliciesResult{PolicyNames: sortedKeys(r.Inline)}, nil
}

type listInstanceProfilesResult struct {
	InstanceProfiles []struct{} `xml:"InstanceProfiles>member"`
	IsTruncated      bool       `xml:"IsTruncated"`
}

// listInstanceProfilesForRole answers with no instance profiles: irsa-local
// has none, and clients deleting a role (Terraform does) first ask which
// profiles to remove it from.
func (s *Server) listInstanceProfilesForRole(p params) (any, *apiError) {
	if _, e := s.role(p); e != nil {
		return nil, e
	}
	return &listInstanceProfilesResult{}, nil
}

// ---- managed policies

type policyXML struct {
	PolicyName                    string `xml:"PolicyName"`
	PolicyID                      string `xml:"PolicyId"`
	Arn                           string `xml:"Arn"`
	Path                          string `xml:"Path"`
	DefaultVersionID              string `xml:"DefaultVersionId"`
	AttachmentCount               int    `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int    `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool   `xml:"IsAttachable"`
	Description                   string `xml:"Description,omitempty"`
	CreateDate                    string `xml:"CreateDate"`
	UpdateDate                    string `xml:"UpdateDate"`
	Tags                          []tag  `xml:"Tags>member,omitempty"`
}

func (s *Server) policyView(mp *managedPolicy, withDescription bool) policyXML {
	arn := mp.arn(s.account)
	x := policyXML{
		PolicyName: mp.Name, PolicyID: mp.ID, Arn: arn, Path: mp.Path,
		DefaultVersionID: mp.DefaultVersion, IsAttachable: true,
		CreateDate: iamDate(mp.CreateDate), UpdateDate: iamDate(mp.UpdateDate),
		Tags: mp.Tags,
	}
	if withDescription {
		x.Description = mp.Description
	}
	for _, r := range s.iam.Roles {
		if contains(r.Attached, arn) {
			x.AttachmentCount++
		}
		if r.PermissionsBound == arn {
			x.PermissionsBoundaryUsageCount++
		}
	}
	return x
}

type policyResult struct {
	Policy policyXML `xml:"Policy"`
}

func (s *Server) createPolicy(p params) (any, *apiError) {
	var v validation
	name, _ := v.checkString(p, "PolicyName", true, 1, 128, policyNamePattern, `[\w+=,.@-]+`)
	doc, _ := v.checkString(p, "PolicyDocument", true, 1, 131072, policyCharset, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
	path, hasPath := v.checkString(p, "Path", false, 1, 512, pathPattern, `((/[A-Za-z0-9\.,\+@=_-]+)*)/`)
	desc, _ := v.checkString(p, "Description", false, 0, 1000, nil, "")
	if e := v.err(); e != nil {
		return nil, e
	}
	if !hasPath {
		path = "/"
	}
	d, err := policy.Parse(doc, policy.Identity)
	if err != nil {
		return nil, malformed(err)
	}
	if policySize(doc) > maxManagedPolicySize {
		return nil, managedTooLarge()
	}
	for _, mp := range s.iam.Policies {
		if strings.EqualFold(mp.Name, name) {
			return nil, errorf(409, "EntityAlreadyExists", "A policy called %s already exists. Duplicate names are not allowed.", name)
		}
	}
	tags, e := readTags(p)
	if e != nil {
		return nil, e
	}
	now := time.Now().UTC().Truncate(time.Second)
	mp := &managedPolicy{
		Name: name, Path: path, ID: newID("ANPA", 17), Description: desc,
		DefaultVersion: "v1", CreateDate: now, UpdateDate: now, Tags: tags,
		Versions: []policyVersion{{ID: "v1", Document: doc, CreateDate: now, doc: d}},
	}
	s.iam.Policies[mp.arn(s.account)] = mp
	return &policyResult{Policy: s.policyView(mp, false)}, nil
}

func (s *Server) managed(p params) (*managedPolicy, *apiError) {
	var v validation
	arn, _ := v.checkString(p, "PolicyArn", true, 20, 2048, nil, "")
	if e := v.err(); e != nil {
		return nil, e
	}
	mp, ok := s.lookupPolicy(arn)
	if !ok {
		return nil, errorf(404, "NoSuchEntity", "Policy %s was not found.", arn)
	}
	return mp, nil
}

func (s *Server) getPolicy(p params) (any, *apiError) {
	mp, e := s.managed(p)
	if e != nil {
		return nil, e
	}
	return &policyResult{Policy: s.policyView(mp, true)}, nil
}

func (s *Server) deletePolicy(p params) (any, *apiError) {
	mp, e := s.managed(p)
	if e != nil {
		return nil, e
	}
	if mp.AWSManaged {
		return nil, errorf(400, "InvalidInput", "ARN %s is not valid.", p.get("PolicyArn"))
	}
	if s.policyView(mp, false).AttachmentCount > 0 {
		return nil, errorf(409, "DeleteConflict", "Cannot delete a policy attached to entities.")
	}
	delete(s.iam.Policies, mp.arn(s.account))
	return nil, nil
}

type listPoliciesResult struct {
	Policies    []policyXML `xml:"Policies>member"`
	IsTruncated bool        `xml:"IsTruncated"`
	Marker      string      `xml:"Marker,omitempty"`
}

func (s *Server) listPolicies(p params) (any, *apiError) {
	scope := p.get("Scope")
	if scope == "" {
		scope = "All"
	}
	if scope != "All" && scope != "AWS" && scope != "Local" {
		return nil, errorf(400, "ValidationError", "1 validation error detected: Value '%s' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]", scope)
	}
	all := map[string]*managedPolicy{}
	if scope != "Local" {
		for arn, mp := range managedCatalog {
			all[arn] = mp
		}
	}
	if scope != "AWS" {
		for arn, mp := range s.iam.Policies {
			all[arn] = mp
		}
	}
	prefix := p.get("PathPrefix")
	onlyAttached := p.get("OnlyAttached") == "true"
	var keys []string
	for _, arn := range sortedKeys(all) {
		mp := all[arn]
		if !strings.HasPrefix(mp.Path, prefix) || (onlyAttached && s.policyView(mp, false).AttachmentCount == 0) {
			continue
		}
		keys = append(keys, arn)
	}
	arns, truncated, marker, e := page(keys, p)
	if e != nil {
		return nil, e
	}
	out := &listPoliciesResult{IsTruncated: truncated, Marker: marker}
	for _, arn := range arns {
		out.Policies = append(out.Policies, s.policyView(all[arn], false))
	}
	return out, nil
}

type policyVersionXML struct {
	Document         string `xml:"Document,omitempty"`
	VersionID        string `xml:"VersionId"`
	IsDefaultVersion bool   `xml:"IsDefaultVersion"`
	CreateDate       string `xml:"CreateDate"`
}

type policyVersionResult struct {
	PolicyVersion policyVersionXML `xml:"PolicyVersion"`
}

func (s *Server) getPolicyVersion(p params) (any, *apiError) {
	mp, e := s.managed(p)
	if e != nil {
		return nil, e
	}
	id := p.get("VersionId")
	for _, v := range mp.Versions {
		if v.ID == id {
			return &policyVersionResult{PolicyVersion: policyVersionXML{
				Document: policyEscape(v.Document), VersionID: v.ID,
				IsDefaultVersion: v.ID == mp.DefaultVersion, CreateDate: iamDate(v.CreateDate),
			}}, nil
		}
	}
	return nil, errorf(404, "NoSuchEntity", "Policy %s version %s does not exist or is not attachable.", p.get("PolicyArn"), id)
}

type listPolicyVersionsResult struct {
	Versions    []policyVersionXML `xml:"Versions>member"`
	IsTruncated bool               `xml:"IsTruncated"`
}

func (s *Server) listPolicyVersions(p params) (any, *apiError) {
	mp, e := s.managed(p)
	if e != nil {
		return nil, e
	}
	out := &listPolicyVersionsResult{}
	for i := len(mp.Versions) - 1; i >= 0; i-- {
		v := mp.Versions[i]
		out.Versions = append(out.Versions, policyVersionXML{VersionID: v.ID, IsDefaultVersion: v.ID == mp.DefaultVersion, CreateDate: iamDate(v.CreateDate)})
	}
	return out, nil
}

// maxPolicyVersions is IAM's limit of stored versions per managed policy.
const maxPolicyVersions = 5

func (s *Server) createPolicyVersion(p params) (any, *apiError) {
	mp, e := s.managed(p)
	if e != nil {
		return nil, e
	}
	if mp.AWSManaged {
		return nil, errorf(400, "InvalidInput", "ARN %s is not valid.", p.get("PolicyArn"))
	}
	var v validation
	doc, _ := v.checkString(p, "PolicyDocument", true, 1, 131072, policyCharset, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
	if e := v.err(); e != nil {
		return nil, e
	}
	d, err := policy.Parse(doc, policy.Identity)
	if err != nil {
		return nil, malformed(err)
	}
	if policySize(doc) > maxManagedPolicySize {
		return nil, managedTooLarge()
	}
	if len(mp.Versions) >= maxPolicyVersions {
		return nil, errorf(409, "LimitExceeded", "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
	}
	last := 0
	for _, pv := range mp.Versions {
		n, _ := strconv.Atoi(strings.TrimPrefix(pv.ID, "v"))
		last = max(last, n)
	}
	now := time.Now().UTC().Truncate(time.Second)
	pv := policyVersion{ID: "v" + strconv.Itoa(last+1), Document: doc, CreateDate: now, doc: d}
	mp.Versions = append(mp.Versions, pv)
	if p.get("SetAsDefault") == "true" {
		mp.DefaultVersion = pv.ID
		mp.UpdateDate = now
	}
	return &policyVersionResult{PolicyVersion: policyVersionXML{VersionID: pv.ID, IsDefaultVersion: pv.ID == mp.DefaultVersion, CreateDate: iamDate(now)}}, nil
}

func (s *Server) deletePolicyVersion(p params) (any, *apiError) {
	mp, e := s.managed(p)
	if e != nil {
		return nil, e
	}
	id := p.get("VersionId")
	if id == mp.DefaultVersion {
		return nil, errorf(409, "DeleteConflict", "Cannot delete the default version of a policy.")
	}
	for i, v := range mp.Versions {
		if v.ID == id {
			mp.Versions = append(mp.Versions[:i], mp.Versions[i+1:]...)
			return nil, nil
		}
	}
	return nil, errorf(404, "NoSuchEntity", "Policy %s version %s does not exist.", p.get("PolicyArn"), id)
}

// docCache keeps parsed session policies: a session sends its policy (sealed
// in its token) with every call, and parsing costs far more than evaluating.
// Bounded: dropped whole when full.
type docCache struct {
	mu sync.RWMutex
	m  map[string]*policy.Document
}

const docCacheSize = 1024

func (c *docCache) parse(text string) (*policy.Document, error) {
	c.mu.RLock()
	d, ok := c.m[text]
	c.mu.RUnlock()
	if ok {
		return d, nil
	}
	d, err := policy.Parse(text, policy.Identity)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= docCacheSize {
		c.m = make(map[string]*policy.Document)
	}
	c.m[text] = d
	c.mu.Unlock()
	return d, nil
}
