package stsmock

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/internal/awsquery"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// IAM OIDC identity providers: what AssumeRoleWithWebIdentity trusts.

type createOIDCProviderResult struct {
	OpenIDConnectProviderArn string `xml:"OpenIDConnectProviderArn"`
	Tags                     []tag  `xml:"Tags>member,omitempty"`
}

func (s *Server) createOIDCProvider(p awsquery.Params) (any, *awsquery.Error) {
	var v awsquery.Validation
	raw, _ := v.CheckString(p, "Url", true, 1, 255, nil, "")
	clientIDs := p.List("ClientIDList")
	thumbs := p.List("ThumbprintList")
	if len(clientIDs) > 100 {
		n := strconv.Itoa(len(clientIDs))
		v.Add(&n, "clientIDList", "Member must have length less than or equal to 100")
	}
	if len(thumbs) > 5 {
		n := strconv.Itoa(len(thumbs))
		v.Add(&n, "thumbprintList", "Member must have length less than or equal to 5")
	}
	for _, t := range thumbs {
		if !thumbprintPattern.MatchString(t) {
			t := t
			v.Add(&t, "thumbprintList.member", "Member must have length greater than or equal to 40")
		}
	}
	if e := v.Err(); e != nil {
		return nil, e
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, awsquery.Errorf(400, "InvalidInput", "Invalid Url: %s. The URL must begin with https:// and have no query or fragment.", raw)
	}
	tags, e := readTags(p)
	if e != nil {
		return nil, e
	}
	name := policy.ParseProvider(raw)
	if _, exists := s.iam.Providers[name.Canonical]; exists {
		return nil, awsquery.Errorf(409, "EntityAlreadyExists", "Provider with url %s already exists.", raw)
	}
	s.iam.Providers[name.Canonical] = &oidcProvider{
		URL:         strings.TrimPrefix(raw, "https://"),
		ClientIDs:   dedupe(clientIDs),
		Thumbprints: dedupe(thumbs),
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
			Thumbprints: dedupe(thumbprints),
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

func (s *Server) provider(p awsquery.Params) (*oidcProvider, string, *awsquery.Error) {
	arn := p.Get("OpenIDConnectProviderArn")
	if arn == "" {
		var v awsquery.Validation
		v.Add(nil, "openIDConnectProviderArn", "Member must not be null")
		return nil, "", v.Err()
	}
	prov, key, ok := s.iam.providerByARN(s.account, arn)
	if !ok {
		return nil, "", awsquery.Errorf(404, "NoSuchEntity", "OpenIDConnect Provider not found for arn %s", arn)
	}
	return prov, key, nil
}

// readURL is the Url GetOpenIDConnectProvider answers: as registered,
// without "https://" as IAM answers it — unless the URL carries a port.
// IAM refuses ports, so it has no answer to copy there, and "host:port/path"
// without its scheme is no URL to a parser: Go's url.Parse refuses it, so
// Terraform's AWS provider, which compares the two as URLs, would replace
// the provider at every plan. A URL with a port is answered whole.
func (p *oidcProvider) readURL() string {
	host, _, _ := strings.Cut(p.URL, "/")
	if _, port, err := net.SplitHostPort(host); err == nil && port != "" {
		return "https://" + p.URL
	}
	return p.URL
}

type getOIDCProviderResult struct {
	URL            string   `xml:"Url"`
	ClientIDList   []string `xml:"ClientIDList>member"`
	ThumbprintList []string `xml:"ThumbprintList>member"`
	CreateDate     string   `xml:"CreateDate"`
	Tags           []tag    `xml:"Tags>member,omitempty"`
}

func (s *Server) getOIDCProvider(p awsquery.Params) (any, *awsquery.Error) {
	prov, _, e := s.provider(p)
	if e != nil {
		return nil, e
	}
	return &getOIDCProviderResult{URL: prov.readURL(), ClientIDList: prov.ClientIDs, ThumbprintList: prov.Thumbprints, CreateDate: iamDate(prov.CreateDate), Tags: prov.Tags}, nil
}

type providerListEntry struct {
	Arn string `xml:"Arn"`
}

type listOIDCProvidersResult struct {
	List []providerListEntry `xml:"OpenIDConnectProviderList>member"`
}

func (s *Server) listOIDCProviders(awsquery.Params) (any, *awsquery.Error) {
	out := &listOIDCProvidersResult{}
	for _, k := range sortedKeys(s.iam.Providers) {
		out.List = append(out.List, providerListEntry{Arn: policy.ProviderName{Canonical: k}.ARN(s.account)})
	}
	return out, nil
}

func (s *Server) deleteOIDCProvider(p awsquery.Params) (any, *awsquery.Error) {
	_, key, e := s.provider(p)
	if e != nil {
		return nil, e
	}
	delete(s.iam.Providers, key)
	return nil, nil
}

func (s *Server) addClientID(p awsquery.Params) (any, *awsquery.Error) {
	prov, _, e := s.provider(p)
	if e != nil {
		return nil, e
	}
	var v awsquery.Validation
	id, _ := v.CheckString(p, "ClientID", true, 1, 255, nil, "")
	if e := v.Err(); e != nil {
		return nil, e
	}
	if !contains(prov.ClientIDs, id) {
		if len(prov.ClientIDs) >= 100 {
			return nil, awsquery.Errorf(409, "LimitExceeded", "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100")
		}
		prov.ClientIDs = append(prov.ClientIDs, id)
	}
	return nil, nil
}

func (s *Server) removeClientID(p awsquery.Params) (any, *awsquery.Error) {
	prov, _, e := s.provider(p)
	if e != nil {
		return nil, e
	}
	id := p.Get("ClientID")
	out := []string{}
	for _, c := range prov.ClientIDs {
		if c != id {
			out = append(out, c)
		}
	}
	prov.ClientIDs = out
	return nil, nil
}

func (s *Server) updateThumbprint(p awsquery.Params) (any, *awsquery.Error) {
	prov, _, e := s.provider(p)
	if e != nil {
		return nil, e
	}
	thumbs := p.List("ThumbprintList")
	for _, t := range thumbs {
		if !thumbprintPattern.MatchString(t) {
			return nil, awsquery.Errorf(400, "InvalidInput", "Thumbprint %q is not 40 hexadecimal characters.", t)
		}
	}
	if len(thumbs) > 5 {
		return nil, awsquery.Errorf(409, "LimitExceeded", "Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: 5")
	}
	prov.Thumbprints = dedupe(thumbs)
	return nil, nil
}
