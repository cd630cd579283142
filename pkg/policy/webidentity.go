package policy

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"time"
)

// This file builds the requests IRSA's two decisions ask, so that the
// emulator and the tools that diagnose a chain ask exactly the same thing:
// the trust-policy request of AssumeRoleWithWebIdentity and the condition
// keys of later calls made with its session.

// An OIDC provider's identity is the issuer's host and path. AWS says
// provider URLs "should not contain a port", eksctl forms the provider ARN
// without it, while users who cut "https://" off `describe-cluster` output
// (and Terraform) keep it. irsa-local therefore identifies a provider by host
// and path without the port (the canonical form, used in the ARN it issues),
// and accepts the port-carrying spelling everywhere a client may write one:
// provider ARNs in requests and trust policies, and condition keys.

// ProviderName is an OIDC provider URL split into the forms clients use.
type ProviderName struct {
	// Canonical is host/path without scheme or port: the ARN's resource.
	Canonical string
	// WithPort is host:port/path when the URL carries a non-default port,
	// else equal to Canonical.
	WithPort string
}

// ParseProvider accepts "https://host[:port]/path", "host[:port]/path" or
// an ARN resource "oidc-provider/host[:port]/path".
func ParseProvider(s string) ProviderName {
	s = strings.TrimPrefix(s, "https://")
	s = strings.TrimPrefix(s, "oidc-provider/")
	hostport, path, _ := strings.Cut(s, "/")
	if path != "" || strings.HasSuffix(s, "/") {
		path = "/" + path
	}
	host := hostport
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
		if p == "443" {
			hostport = host
		}
	}
	return ProviderName{Canonical: host + path, WithPort: hostport + path}
}

// Spellings returns the distinct ways a client may write the provider.
func (n ProviderName) Spellings() []string {
	if n.WithPort == n.Canonical {
		return []string{n.Canonical}
	}
	return []string{n.Canonical, n.WithPort}
}

// ProviderKeys returns the spellings of the provider of issuerURL that
// condition keys and provider ARNs may use: host/path without the port (the
// canonical form, the resource of the ARN irsa-local issues) first, then
// host:port/path when the URL carries a port.
func ProviderKeys(issuerURL string) []string { return ParseProvider(issuerURL).Spellings() }

// ProviderARN is the ARN irsa-local gives the OIDC provider of issuerURL in
// account: its canonical spelling, without the port.
func ProviderARN(account, issuerURL string) string {
	return providerARN(account, ParseProvider(issuerURL).Canonical)
}

// ARN is the provider's ARN in account, in the canonical spelling.
func (n ProviderName) ARN(account string) string { return providerARN(account, n.Canonical) }

// providerARN forms the ARN of a provider name in an account.
func providerARN(account, resource string) string {
	return "arn:aws:iam::" + account + ":oidc-provider/" + resource
}

// WebIdentityClaims are what the trust-policy check of
// AssumeRoleWithWebIdentity reads from a token that passed every earlier
// check.
type WebIdentityClaims struct {
	Issuer  string // iss
	Subject string // sub
	// Audience is the aud value that matched one of the provider's client
	// IDs: the single value of the ":aud" condition key.
	Audience string
	AZP      string // azp; "" when the token has none
}

// TrustRequest is the request AssumeRoleWithWebIdentity decides against a
// role's trust policy in account: the Federated principal is the issuer's
// provider ARN under every spelling (with and without the port), and the
// context holds "<provider>:sub", ":aud" and ":azp" under every spelling,
// aws:FederatedProvider, sts:RoleSessionName and the time keys. Tools that
// diagnose a trust policy use it to ask exactly what STS asks.
func TrustRequest(account string, c WebIdentityClaims, sessionName string, now time.Time) Request {
	name := ParseProvider(c.Issuer)
	return Request{
		Principal: Principal{Type: "Federated", IDs: providerIDs(account, name)},
		Action:    "sts:AssumeRoleWithWebIdentity",
		Context:   webIdentityContext(name.Spellings(), c, providerARN(account, name.Canonical), sessionName, now),
	}
}

// providerIDs are the provider ARNs a trust policy's Federated principal
// may name: the canonical one and, when the issuer has a port, the ARN a
// user builds from the URL with the port.
func providerIDs(account string, n ProviderName) []string {
	ids := make([]string, 0, 2)
	for _, sp := range n.Spellings() {
		ids = append(ids, providerARN(account, sp))
	}
	return ids
}

// webIdentityContext builds the condition keys of an AssumeRoleWithWebIdentity
// request: "<provider>:sub", ":aud" (the matched client ID, single-valued),
// ":azp" when present, under every spelling of the provider.
func webIdentityContext(keys []string, c WebIdentityClaims, provARN, sessionName string, now time.Time) Context {
	ctx := NewContext()
	for _, k := range keys {
		ctx.Set(k+":sub", c.Subject)
		ctx.Set(k+":aud", c.Audience)
		if c.AZP != "" {
			ctx.Set(k+":azp", c.AZP)
		}
	}
	ctx.Set("aws:FederatedProvider", provARN)
	ctx.Set("sts:RoleSessionName", sessionName)
	ctx.Set("aws:CurrentTime", now.UTC().Format(time.RFC3339))
	ctx.Set("aws:EpochTime", strconv.FormatInt(now.Unix(), 10))
	return ctx
}

// SessionInfo is what the condition keys of calls made with a role session
// depend on. Provider, ProviderKeys, Subject and Audience are set for a web
// identity session only.
type SessionInfo struct {
	RoleARN     string
	RoleID      string
	SessionName string
	Issued      time.Time
	Subject     string
	Audience    string
	// Provider is the OIDC provider ARN the session came through.
	Provider string
	// ProviderKeys are the spellings of the provider in condition keys, as
	// ProviderKeys returns them.
	ProviderKeys []string
	// Tags are the session's tags, which policies read as
	// aws:PrincipalTag/<key>. Keys keep the case they were given in.
	Tags map[string]string
	// SourceIdentity is the session's source identity ("" when none was
	// set), aws:SourceIdentity in later calls.
	SourceIdentity string
}

// SessionContext holds the condition keys of a call made with a session in
// region at now: the principal keys, and the web-identity keys that stay in
// the context of every later call of a web identity session. Tools that
// diagnose a role's permissions use it to ask what the AWS endpoint asks.
func SessionContext(sess SessionInfo, region string, now time.Time) Context {
	ctx := NewContext()
	account := arnAccount(sess.RoleARN)
	ctx.Set("aws:PrincipalArn", sess.RoleARN)
	ctx.Set("aws:PrincipalAccount", account)
	ctx.Set("aws:PrincipalType", "AssumedRole")
	ctx.Set("aws:userid", sess.RoleID+":"+sess.SessionName)
	ctx.Set("aws:CurrentTime", now.UTC().Format(time.RFC3339))
	ctx.Set("aws:EpochTime", strconv.FormatInt(now.Unix(), 10))
	ctx.Set("aws:TokenIssueTime", sess.Issued.UTC().Format(time.RFC3339))
	ctx.Set("aws:RequestedRegion", region)
	for k, v := range sess.Tags {
		ctx.Set("aws:PrincipalTag/"+k, v)
	}
	if sess.SourceIdentity != "" {
		ctx.Set("aws:SourceIdentity", sess.SourceIdentity)
	}
	if sess.Provider != "" {
		ctx.Set("aws:FederatedProvider", sess.Provider)
		for _, k := range sess.ProviderKeys {
			ctx.Set(k+":sub", sess.Subject)
			ctx.Set(k+":aud", sess.Audience)
		}
	}
	return ctx
}

// arnAccount returns the account field of an ARN ("" when it has none).
func arnAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return ""
	}
	return parts[4]
}

// ServiceAccountTrustPolicy is the EKS-standard trust policy of a role for
// a Kubernetes service account: the issuer's OIDC provider may assume the
// role for system:serviceaccount:NAMESPACE:NAME with audience
// sts.amazonaws.com; a name of "*" trusts the whole namespace (StringLike).
// providerARN may be empty when the provider is not registered yet: the
// ARN it will have in account is used.
func ServiceAccountTrustPolicy(issuerURL, providerARN, account, namespace, name string) string {
	key := strings.TrimPrefix(issuerURL, "https://")
	if providerARN == "" {
		providerARN = ProviderARN(account, issuerURL)
	}
	sub := "system:serviceaccount:" + namespace + ":" + name
	cond := map[string]any{"StringEquals": map[string]string{key + ":sub": sub, key + ":aud": "sts.amazonaws.com"}}
	if name == "*" {
		cond = map[string]any{
			"StringLike":   map[string]string{key + ":sub": sub},
			"StringEquals": map[string]string{key + ":aud": "sts.amazonaws.com"},
		}
	}
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]string{"Federated": providerARN},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": cond,
		}},
	}
	b, _ := json.Marshal(doc) // maps of strings always encode
	return string(b)
}
