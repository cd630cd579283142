package stsmock

import (
	"net"
	"strings"
)

// An OIDC provider's identity is the issuer's host and path. AWS says
// provider URLs "should not contain a port", eksctl forms the provider ARN
// without it, while users who cut "https://" off `describe-cluster` output
// (and Terraform) keep it. irsa-local therefore identifies a provider by host
// and path without the port (the canonical form, used in the ARN it issues),
// and accepts the port-carrying spelling everywhere a client may write one:
// provider ARNs in requests and trust policies, and condition keys.

// providerName is an OIDC provider URL split into the forms clients use.
type providerName struct {
	// Canonical is host/path without scheme or port: the ARN's resource.
	Canonical string
	// WithPort is host:port/path when the URL carries a non-default port,
	// else equal to Canonical.
	WithPort string
}

// parseProvider accepts "https://host[:port]/path", "host[:port]/path" or
// an ARN resource "oidc-provider/host[:port]/path".
func parseProvider(s string) providerName {
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
	return providerName{Canonical: host + path, WithPort: hostport + path}
}

// spellings returns the distinct ways a client may write the provider.
func (n providerName) spellings() []string {
	if n.WithPort == n.Canonical {
		return []string{n.Canonical}
	}
	return []string{n.Canonical, n.WithPort}
}

// ProviderKeys returns the spellings of the provider of issuerURL that
// condition keys and provider ARNs may use: host/path without the port (the
// canonical form, the resource of the ARN irsa-local issues) first, then
// host:port/path when the URL carries a port.
func ProviderKeys(issuerURL string) []string { return parseProvider(issuerURL).spellings() }

// ProviderARN is the ARN irsa-local gives the OIDC provider of issuerURL in
// account: its canonical spelling, without the port.
func ProviderARN(account, issuerURL string) string {
	return providerARN(account, parseProvider(issuerURL).Canonical)
}

// providerARN forms the ARN of a provider name in an account.
func providerARN(account, resource string) string {
	return "arn:aws:iam::" + account + ":oidc-provider/" + resource
}

// arnAccountResource splits "arn:aws:iam::ACCOUNT:RESOURCE". ok is false for
// anything else.
func arnAccountResource(arn, service string) (account, resource string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != service || parts[3] != "" {
		return "", "", false
	}
	return parts[4], parts[5], true
}
