package stsmock

import (
	"encoding/base64"
	"errors"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// IAM roles, their trust policies, attached and inline policies.

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
func malformed(err error) *awsquery.Error {
	var me *policy.MalformedError
	if errors.As(err, &me) {
		return awsquery.Errorf(400, "MalformedPolicyDocument", "%s", me.Message)
	}
	return awsquery.Errorf(400, "MalformedPolicyDocument", "%v", err)
}

func (s *Server) createRole(p awsquery.Params) (any, *awsquery.Error) {
	var v awsquery.Validation
	name, _ := v.CheckString(p, "RoleName", true, 1, 64, roleNamePattern, `[\w+=,.@-]+`)
	doc, _ := v.CheckString(p, "AssumeRolePolicyDocument", true, 1, 131072, policyCharset, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
	path, hasPath := v.CheckString(p, "Path", false, 1, 512, pathPattern, `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	desc, _ := v.CheckString(p, "Description", false, 0, 1000, nil, "")
	maxDur, hasMax := v.CheckInt(p, "MaxSessionDuration", 3600, 43200)
	boundary, _ := v.CheckString(p, "PermissionsBoundary", false, 20, 2048, nil, "")
	if e := v.Err(); e != nil {
		return nil, e
	}
	if !hasPath {
		path = "/"
	}
	if !hasMax {
		maxDur = 3600
	}
	if _, exists := s.iam.Roles[strings.ToLower(name)]; exists {
		return nil, awsquery.Errorf(409, "EntityAlreadyExists", "Role with name %s already exists.", name)
	}
	if boundary != "" {
		if _, ok := s.lookupPolicy(boundary); !ok {
			return nil, awsquery.Errorf(400, "InvalidInput", "ARN %s is not valid.", boundary)
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

func (s *Server) role(p awsquery.Params) (*role, *awsquery.Error) {
	var v awsquery.Validation
	name, _ := v.CheckString(p, "RoleName", true, 1, 64, roleNamePattern, `[\w+=,.@-]+`)
	if e := v.Err(); e != nil {
		return nil, e
	}
	r, ok := s.iam.Roles[strings.ToLower(name)]
	if !ok {
		return nil, awsquery.Errorf(404, "NoSuchEntity", "The role with name %s cannot be found.", name)
	}
	return r, nil
}

func (s *Server) getRole(p awsquery.Params) (any, *awsquery.Error) {
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
func page(names []string, p awsquery.Params) (out []string, truncated bool, marker string, _ *awsquery.Error) {
	var v awsquery.Validation
	maxItems, has := v.CheckInt(p, "MaxItems", 1, 1000)
	if e := v.Err(); e != nil {
		return nil, false, "", e
	}
	if !has {
		maxItems = 100
	}
	start := 0
	if m := p.Get("Marker"); m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil {
			return nil, false, "", awsquery.Errorf(400, "ValidationError", "Invalid Marker.")
		}
		start = sort.SearchStrings(names, string(b)+"\x00")
	}
	end := start + int(maxItems)
	if end >= len(names) {
		return names[start:], false, "", nil
	}
	return names[start:end], true, base64.RawURLEncoding.EncodeToString([]byte(names[end-1])), nil
}

func (s *Server) listRoles(p awsquery.Params) (any, *awsquery.Error) {
	prefix := p.Get("PathPrefix")
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

func (s *Server) deleteRole(p awsquery.Params) (any, *awsquery.Error) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	if len(r.Attached) > 0 {
		return nil, awsquery.Errorf(409, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
	}
	if len(r.Inline) > 0 {
		return nil, awsquery.Errorf(409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	}
	delete(s.iam.Roles, strings.ToLower(r.Name))
	return nil, nil
}

func (s *Server) updateRole(p awsquery.Params) (any, *awsquery.Error) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	var v awsquery.Validation
	desc, hasDesc := v.CheckString(p, "Description", false, 0, 1000, nil, "")
	maxDur, hasMax := v.CheckInt(p, "MaxSessionDuration", 3600, 43200)
	if e := v.Err(); e != nil {
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

func (s *Server) updateAssumeRolePolicy(p awsquery.Params) (any, *awsquery.Error) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	var v awsquery.Validation
	doc, _ := v.CheckString(p, "PolicyDocument", true, 1, 131072, policyCharset, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
	if e := v.Err(); e != nil {
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

func trustTooLarge() *awsquery.Error {
	return awsquery.Errorf(409, "LimitExceeded", "Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicySize)
}

func managedTooLarge() *awsquery.Error {
	return awsquery.Errorf(409, "LimitExceeded", "Cannot exceed quota for PolicySize: %d", maxManagedPolicySize)
}

// maxAttachedPolicies is IAM's default quota of managed policies per role.
const maxAttachedPolicies = 10

func (s *Server) attachRolePolicy(p awsquery.Params) (any, *awsquery.Error) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	var v awsquery.Validation
	arn, _ := v.CheckString(p, "PolicyArn", true, 20, 2048, nil, "")
	if e := v.Err(); e != nil {
		return nil, e
	}
	if _, ok := s.lookupPolicy(arn); !ok {
		return nil, awsquery.Errorf(404, "NoSuchEntity", "Policy %s does not exist or is not attachable.", arn)
	}
	if contains(r.Attached, arn) {
		return nil, nil
	}
	if len(r.Attached) >= maxAttachedPolicies {
		return nil, awsquery.Errorf(409, "LimitExceeded", "Cannot exceed quota for PoliciesPerRole: %d", maxAttachedPolicies)
	}
	r.Attached = append(r.Attached, arn)
	return nil, nil
}

func (s *Server) detachRolePolicy(p awsquery.Params) (any, *awsquery.Error) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	arn := p.Get("PolicyArn")
	if !contains(r.Attached, arn) {
		return nil, awsquery.Errorf(404, "NoSuchEntity", "Policy %s was not found.", arn)
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

func (s *Server) listAttachedRolePolicies(p awsquery.Params) (any, *awsquery.Error) {
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

func (s *Server) putRolePolicy(p awsquery.Params) (any, *awsquery.Error) {
	r, e := s.role(p)
	if e != nil {
		return nil, e
	}
	var v awsquery.Validation
	name, _ := v.CheckString(p, "PolicyName", true, 1, 128, policyNamePattern, `[\w+=,.@-]+`)
	doc, _ := v.CheckString(p, "PolicyDocument", true, 1, 131072, policyCharset, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
	if e := v.Err(); e != nil {
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
		return nil, awsquery.Errorf(409, "LimitExceeded", "Maximum policy size of %d bytes exceeded for role %s", maxRoleInlineSize, r.Name)
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

func (s *Server) inlinePolicy(p awsquery.Params) (*role, string, *awsquery.Error) {
	r, e := s.role(p)
	if e != nil {
		return nil, "", e
	}
	name := p.Get("PolicyName")
	if _, ok := r.Inline[name]; !ok {
		return nil, "", awsquery.Errorf(404, "NoSuchEntity", "The role policy with name %s cannot be found.", name)
	}
	return r, name, nil
}

func (s *Server) getRolePolicy(p awsquery.Params) (any, *awsquery.Error) {
	r, name, e := s.inlinePolicy(p)
	if e != nil {
		return nil, e
	}
	return &getRolePolicyResult{RoleName: r.Name, PolicyName: name, PolicyDocument: policyEscape(r.Inline[name])}, nil
}

func (s *Server) deleteRolePolicy(p awsquery.Params) (any, *awsquery.Error) {
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

func (s *Server) listRolePolicies(p awsquery.Params) (any, *awsquery.Error) {
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
func (s *Server) listInstanceProfilesForRole(p awsquery.Params) (any, *awsquery.Error) {
	if _, e := s.role(p); e != nil {
		return nil, e
	}
	return &listInstanceProfilesResult{}, nil
}
