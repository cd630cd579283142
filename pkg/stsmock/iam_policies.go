package stsmock

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// Customer managed policies and their versions.

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

func (s *Server) createPolicy(p awsquery.Params) (any, *awsquery.Error) {
	var v awsquery.Validation
	name, _ := v.CheckString(p, "PolicyName", true, 1, 128, policyNamePattern, `[\w+=,.@-]+`)
	doc, _ := v.CheckString(p, "PolicyDocument", true, 1, 131072, policyCharset, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
	path, hasPath := v.CheckString(p, "Path", false, 1, 512, pathPattern, `((/[A-Za-z0-9\.,\+@=_-]+)*)/`)
	desc, _ := v.CheckString(p, "Description", false, 0, 1000, nil, "")
	if e := v.Err(); e != nil {
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
			return nil, awsquery.Errorf(409, "EntityAlreadyExists", "A policy called %s already exists. Duplicate names are not allowed.", name)
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

func (s *Server) managed(p awsquery.Params) (*managedPolicy, *awsquery.Error) {
	var v awsquery.Validation
	arn, _ := v.CheckString(p, "PolicyArn", true, 20, 2048, nil, "")
	if e := v.Err(); e != nil {
		return nil, e
	}
	mp, ok := s.lookupPolicy(arn)
	if !ok {
		return nil, awsquery.Errorf(404, "NoSuchEntity", "Policy %s was not found.", arn)
	}
	return mp, nil
}

func (s *Server) getPolicy(p awsquery.Params) (any, *awsquery.Error) {
	mp, e := s.managed(p)
	if e != nil {
		return nil, e
	}
	return &policyResult{Policy: s.policyView(mp, true)}, nil
}

func (s *Server) deletePolicy(p awsquery.Params) (any, *awsquery.Error) {
	mp, e := s.managed(p)
	if e != nil {
		return nil, e
	}
	if mp.AWSManaged {
		return nil, awsquery.Errorf(400, "InvalidInput", "ARN %s is not valid.", p.Get("PolicyArn"))
	}
	if s.policyView(mp, false).AttachmentCount > 0 {
		return nil, awsquery.Errorf(409, "DeleteConflict", "Cannot delete a policy attached to entities.")
	}
	delete(s.iam.Policies, mp.arn(s.account))
	return nil, nil
}

type listPoliciesResult struct {
	Policies    []policyXML `xml:"Policies>member"`
	IsTruncated bool        `xml:"IsTruncated"`
	Marker      string      `xml:"Marker,omitempty"`
}

func (s *Server) listPolicies(p awsquery.Params) (any, *awsquery.Error) {
	scope := p.Get("Scope")
	if scope == "" {
		scope = "All"
	}
	if scope != "All" && scope != "AWS" && scope != "Local" {
		return nil, awsquery.Errorf(400, "ValidationError", "1 validation error detected: Value '%s' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]", scope)
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
	prefix := p.Get("PathPrefix")
	onlyAttached := p.Get("OnlyAttached") == "true"
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

func (s *Server) getPolicyVersion(p awsquery.Params) (any, *awsquery.Error) {
	mp, e := s.managed(p)
	if e != nil {
		return nil, e
	}
	id := p.Get("VersionId")
	for _, v := range mp.Versions {
		if v.ID == id {
			return &policyVersionResult{PolicyVersion: policyVersionXML{
				Document: policyEscape(v.Document), VersionID: v.ID,
				IsDefaultVersion: v.ID == mp.DefaultVersion, CreateDate: iamDate(v.CreateDate),
			}}, nil
		}
	}
	return nil, awsquery.Errorf(404, "NoSuchEntity", "Policy %s version %s does not exist or is not attachable.", p.Get("PolicyArn"), id)
}

type listPolicyVersionsResult struct {
	Versions    []policyVersionXML `xml:"Versions>member"`
	IsTruncated bool               `xml:"IsTruncated"`
}

func (s *Server) listPolicyVersions(p awsquery.Params) (any, *awsquery.Error) {
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

func (s *Server) createPolicyVersion(p awsquery.Params) (any, *awsquery.Error) {
	mp, e := s.managed(p)
	if e != nil {
		return nil, e
	}
	if mp.AWSManaged {
		return nil, awsquery.Errorf(400, "InvalidInput", "ARN %s is not valid.", p.Get("PolicyArn"))
	}
	var v awsquery.Validation
	doc, _ := v.CheckString(p, "PolicyDocument", true, 1, 131072, policyCharset, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
	if e := v.Err(); e != nil {
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
		return nil, awsquery.Errorf(409, "LimitExceeded", "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.")
	}
	last := 0
	for _, pv := range mp.Versions {
		n, _ := strconv.Atoi(strings.TrimPrefix(pv.ID, "v"))
		last = max(last, n)
	}
	now := time.Now().UTC().Truncate(time.Second)
	pv := policyVersion{ID: "v" + strconv.Itoa(last+1), Document: doc, CreateDate: now, doc: d}
	mp.Versions = append(mp.Versions, pv)
	if p.Get("SetAsDefault") == "true" {
		mp.DefaultVersion = pv.ID
		mp.UpdateDate = now
	}
	return &policyVersionResult{PolicyVersion: policyVersionXML{VersionID: pv.ID, IsDefaultVersion: pv.ID == mp.DefaultVersion, CreateDate: iamDate(now)}}, nil
}

func (s *Server) deletePolicyVersion(p awsquery.Params) (any, *awsquery.Error) {
	mp, e := s.managed(p)
	if e != nil {
		return nil, e
	}
	id := p.Get("VersionId")
	if id == mp.DefaultVersion {
		return nil, awsquery.Errorf(409, "DeleteConflict", "Cannot delete the default version of a policy.")
	}
	for i, v := range mp.Versions {
		if v.ID == id {
			mp.Versions = append(mp.Versions[:i], mp.Versions[i+1:]...)
			return nil, nil
		}
	}
	return nil, awsquery.Errorf(404, "NoSuchEntity", "Policy %s version %s does not exist.", p.Get("PolicyArn"), id)
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
