package stsmock

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/irsa-local/irsa-local/internal/fsutil"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// tag is an IAM resource tag.
type tag struct {
	Key   string `json:"key" xml:"Key"`
	Value string `json:"value" xml:"Value"`
}

type oidcProvider struct {
	// URL is the provider URL as it was created, without "https://";
	// readURL gives it as GetOpenIDConnectProvider answers.
	URL         string    `json:"url"`
	ClientIDs   []string  `json:"clientIds"`
	Thumbprints []string  `json:"thumbprints"`
	CreateDate  time.Time `json:"createDate"`
	Tags        []tag     `json:"tags,omitempty"`
}

type role struct {
	Name               string            `json:"name"`
	Path               string            `json:"path"`
	ID                 string            `json:"id"`
	Description        string            `json:"description,omitempty"`
	TrustPolicy        string            `json:"trustPolicy"`
	MaxSessionDuration int               `json:"maxSessionDuration"`
	PermissionsBound   string            `json:"permissionsBoundary,omitempty"`
	CreateDate         time.Time         `json:"createDate"`
	Tags               []tag             `json:"tags,omitempty"`
	Attached           []string          `json:"attached,omitempty"`
	Inline             map[string]string `json:"inline,omitempty"`
	LastUsed           *time.Time        `json:"lastUsed,omitempty"`
	LastUsedRegion     string            `json:"lastUsedRegion,omitempty"`

	trust  *policy.Document
	inline map[string]*policy.Document
}

type policyVersion struct {
	ID         string    `json:"id"`
	Document   string    `json:"document"`
	CreateDate time.Time `json:"createDate"`

	doc *policy.Document
}

type managedPolicy struct {
	Name           string          `json:"name"`
	Path           string          `json:"path"`
	ID             string          `json:"id"`
	Description    string          `json:"description,omitempty"`
	DefaultVersion string          `json:"defaultVersion"`
	Versions       []policyVersion `json:"versions"`
	CreateDate     time.Time       `json:"createDate"`
	UpdateDate     time.Time       `json:"updateDate"`
	Tags           []tag           `json:"tags,omitempty"`
	// AWSManaged marks the built-in policies under arn:aws:iam::aws:policy/.
	AWSManaged bool `json:"-"`
}

func (p *managedPolicy) arn(account string) string {
	if p.AWSManaged {
		account = "aws"
	}
	return "arn:aws:iam::" + account + ":policy" + p.Path + p.Name
}

func (p *managedPolicy) defaultDoc() *policy.Document {
	for i := range p.Versions {
		if p.Versions[i].ID == p.DefaultVersion {
			return p.Versions[i].doc
		}
	}
	return nil
}

// iamState is the account's IAM entities. It is persisted as JSON after
// every write, through a temporary file and a rename.
type iamState struct {
	mu   sync.RWMutex
	path string // "" keeps the state in memory only

	Providers map[string]*oidcProvider  `json:"providers"` // by canonical host/path
	Roles     map[string]*role          `json:"roles"`     // by lower-case name: names are unique case-insensitively
	Policies  map[string]*managedPolicy `json:"policies"`  // customer managed, by ARN
	// BucketPolicies holds S3 bucket policies by bucket name.
	BucketPolicies map[string]string `json:"bucketPolicies"`
	// BucketTags holds S3 bucket tags (PutBucketTagging) by bucket name.
	BucketTags map[string][]tag `json:"bucketTags,omitempty"`
	// BucketOwners names the account of each bucket another account than
	// the default one created (only the default account's state has it).
	BucketOwners map[string]string `json:"bucketOwners,omitempty"`
	// ClusterTags are the EKS cluster's tags (TagResource).
	ClusterTags map[string]string `json:"clusterTags"`
	// PodIdentity holds the cluster's Pod Identity associations by ID.
	PodIdentity map[string]*Association `json:"podIdentityAssociations,omitempty"`

	bucketDocs map[string]*policy.Document
}

func newIAMState(path string) (*iamState, error) {
	s := &iamState{path: path}
	s.reset()
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read IAM state: %w", err)
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("parse IAM state %s: %w (restore it or remove it to start with an empty account)", path, err)
	}
	s.fillMaps()
	for bucket, text := range s.BucketPolicies {
		d, err := policy.Parse(text, policy.Resource)
		if err != nil {
			return nil, fmt.Errorf("parse IAM state %s: bucket policy of %s: %w", path, bucket, err)
		}
		s.bucketDocs[bucket] = d
	}
	// Documents were validated when written; parse them again for evaluation.
	for _, r := range s.Roles {
		if err := r.compile(); err != nil {
			return nil, fmt.Errorf("parse IAM state %s: role %s: %w", path, r.Name, err)
		}
	}
	for arn, p := range s.Policies {
		for i := range p.Versions {
			d, err := policy.Parse(p.Versions[i].Document, policy.Identity)
			if err != nil {
				return nil, fmt.Errorf("parse IAM state %s: policy %s: %w", path, arn, err)
			}
			p.Versions[i].doc = d
		}
	}
	return s, nil
}

func (s *iamState) reset() {
	s.Providers, s.Roles, s.Policies, s.BucketPolicies, s.BucketTags, s.bucketDocs, s.ClusterTags, s.BucketOwners, s.PodIdentity = nil, nil, nil, nil, nil, nil, nil, nil, nil
	s.fillMaps()
}

func (s *iamState) fillMaps() {
	if s.Providers == nil {
		s.Providers = map[string]*oidcProvider{}
	}
	if s.Roles == nil {
		s.Roles = map[string]*role{}
	}
	if s.Policies == nil {
		s.Policies = map[string]*managedPolicy{}
	}
	if s.BucketPolicies == nil {
		s.BucketPolicies = map[string]string{}
	}
	if s.BucketTags == nil {
		s.BucketTags = map[string][]tag{}
	}
	if s.BucketOwners == nil {
		s.BucketOwners = map[string]string{}
	}
	if s.ClusterTags == nil {
		s.ClusterTags = map[string]string{}
	}
	if s.PodIdentity == nil {
		s.PodIdentity = map[string]*Association{}
	}
	if s.bucketDocs == nil {
		s.bucketDocs = map[string]*policy.Document{}
	}
}

func (r *role) compile() error {
	d, err := policy.Parse(r.TrustPolicy, policy.Trust)
	if err != nil {
		return err
	}
	r.trust = d
	r.inline = make(map[string]*policy.Document, len(r.Inline))
	for name, text := range r.Inline {
		d, err := policy.Parse(text, policy.Identity)
		if err != nil {
			return err
		}
		r.inline[name] = d
	}
	return nil
}

// save persists the state; the caller holds the write lock.
func (s *iamState) save() error {
	if s.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("marshal IAM state: %w", err)
	}
	if err := fsutil.WriteFileAtomic(s.path, b, 0o600); err != nil {
		return fmt.Errorf("save IAM state: %w", err)
	}
	return nil
}

// providerByARN finds a provider by ARN in either spelling.
func (s *iamState) providerByARN(account, arn string) (*oidcProvider, string, bool) {
	acct, res, ok := arnAccountResource(arn, "iam")
	if !ok || acct != account || !strings.HasPrefix(res, "oidc-provider/") {
		return nil, "", false
	}
	key := policy.ParseProvider(res).Canonical
	p, ok := s.Providers[key]
	return p, key, ok
}

// roleByARN finds a role by ARN; the path must match as AWS compares ARNs.
func (s *iamState) roleByARN(account, arn string) (*role, bool) {
	acct, res, ok := arnAccountResource(arn, "iam")
	if !ok || acct != account {
		return nil, false
	}
	rest, ok := strings.CutPrefix(res, "role/")
	if !ok {
		return nil, false
	}
	i := strings.LastIndexByte(rest, '/')
	name, path := rest[i+1:], "/"+rest[:i+1]
	if i < 0 {
		path = "/"
	}
	r, ok := s.Roles[strings.ToLower(name)]
	if !ok || r.Name != name || r.Path != path {
		return nil, false
	}
	return r, true
}

func (r *role) arn(account string) string {
	return "arn:aws:iam::" + account + ":role" + r.Path + r.Name
}

// sortedKeys returns a map's keys in order, for stable listings.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
