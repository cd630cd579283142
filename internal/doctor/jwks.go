package doctor

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// signingAlgs are the algorithms STS accepts for web identity tokens.
var signingAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512}

func (r *runner) jwks(ctx context.Context) Check {
	iss := r.issuerURL
	if iss == "" {
		return skip(CheckJWKS, "no issuer known: no cluster and no --issuer")
	}
	if !strings.HasPrefix(iss, "https://") {
		return fail(CheckJWKS, "the issuer "+iss+" is not an https URL: STS fetches keys over HTTPS only", "serve the issuer over HTTPS and start kube-apiserver with that --service-account-issuer")
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.t.RootCAs, MinVersion: tls.VersionTLS12}},
	}
	unreachable := "serve " + iss + "/.well-known/openid-configuration and its jwks_uri over HTTPS with a certificate STS trusts (a public CA)"
	if r.t.Environment != "" {
		unreachable = "irsa-local status" + envFlag(r.t.Environment) + " shows the issuer's state; irsa-local up starts it"
	}
	var set jose.JSONWebKeySet
	var served string
	if r.t.KeysViaAPIServer && r.client != nil {
		// The issuer URL (often https://kubernetes.default.svc) answers
		// only inside the cluster; the apiserver serves its keys.
		raw, err := r.client.CoreV1().RESTClient().Get().AbsPath("/openid/v1/jwks").DoRaw(ctx)
		if err != nil {
			return fail(CheckJWKS, "read the cluster's keys from its apiserver's /openid/v1/jwks: "+err.Error(),
				"allow the kubeconfig's user to get /openid/v1/jwks: kubectl create clusterrolebinding irsa-local-issuer-discovery --clusterrole=system:service-account-issuer-discovery --user=<user>")
		}
		if err := json.Unmarshal(raw, &set); err != nil {
			return fail(CheckJWKS, "the apiserver's /openid/v1/jwks is not a key set: "+err.Error(), "check the apiserver's --service-account-key-file")
		}
		served = fmt.Sprintf("the apiserver serves %d key(s) at /openid/v1/jwks (%s is not reachable from this machine; irsa-local's STS reads the keys there too)", len(set.Keys), iss)
	} else {
		discovery := strings.TrimSuffix(iss, "/") + "/.well-known/openid-configuration"
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := getJSON(ctx, client, discovery, &doc); err != nil {
			return fail(CheckJWKS, err.Error(), unreachable)
		}
		if doc.Issuer != iss {
			return fail(CheckJWKS, fmt.Sprintf("%s names the issuer %q, not %s: verifiers refuse it", discovery, doc.Issuer, iss),
				"serve a discovery document whose issuer is exactly "+iss)
		}
		if doc.JWKSURI == "" {
			return fail(CheckJWKS, discovery+" has no jwks_uri", "add jwks_uri to the discovery document")
		}
		if err := getJSON(ctx, client, doc.JWKSURI, &set); err != nil {
			return fail(CheckJWKS, err.Error(), unreachable)
		}
		served = fmt.Sprintf("%s serves %d key(s)", doc.JWKSURI, len(set.Keys))
	}

	var tok *Token
	from := "the apiserver's tokens"
	switch {
	case r.t.Token != "":
		var err error
		if tok, err = ParseToken(r.t.Token); err != nil {
			return fail(CheckJWKS, r.t.TokenFrom+" is not a JWT: "+err.Error(), "pass a service-account token (kubectl create token SA --audience sts.amazonaws.com)")
		}
		from = r.t.TokenFrom
		if tok.Issuer != iss {
			return fail(CheckJWKS, fmt.Sprintf("%s was issued by %q, not %s", from, tok.Issuer, iss),
				"diagnose it against its own issuer (--issuer "+tok.Issuer+"), or use a token of this cluster")
		}
	case r.issuerMismatch:
		return ok(CheckJWKS, served+" (kids not compared: the apiserver signs for another issuer)")
	default:
		var err error
		if tok, err = r.anyToken(ctx); err != nil {
			return ok(CheckJWKS, served+" (kids not compared: "+err.Error()+")")
		}
		if r.t.Mint != nil && r.client == nil {
			from = "the environment's tokens"
		}
	}
	keys := set.Key(tok.KID)
	if len(keys) == 0 {
		kids := make([]string, 0, len(set.Keys))
		for _, k := range set.Keys {
			kids = append(kids, k.KeyID)
		}
		fix := "kube-apiserver signs with a key the issuer does not publish: add its public key to the JWKS (EKS does this itself)"
		switch {
		case r.t.Token != "":
			fix = "its signing key was retired: use a fresh token (the kubelet refreshes projected tokens; " + createTokenCommand(tok) + ")"
		case r.t.Environment != "":
			fix = "restart the environment so kube-apiserver signs with its current key: irsa-local down" + envFlag(r.t.Environment) + " && irsa-local up" + envFlag(r.t.Environment)
		}
		return fail(CheckJWKS, fmt.Sprintf("%s, but not kid %q that signed %s (served: %s): STS cannot verify it (InvalidIdentityToken)", served, tok.KID, from, strings.Join(kids, ", ")), fix)
	}
	if !verifies(tok.Raw, keys) {
		return fail(CheckJWKS, fmt.Sprintf("%s, but the key served as kid %q does not verify %s", served, tok.KID, from),
			"publish the public half of the key that signs the tokens under its kid")
	}
	return ok(CheckJWKS, fmt.Sprintf("%s, including kid %s that signed %s", served, tok.KID, from))
}

// createTokenCommand is the kubectl command that requests a fresh token like
// tok.
func createTokenCommand(tok *Token) string {
	ns, sa, ok := SplitSubject(tok.Subject)
	if !ok {
		ns, sa = "NS", "SA"
	}
	aud := DefaultAudience
	if len(tok.Audience) > 0 {
		aud = tok.Audience[0]
	}
	return "kubectl create token " + sa + " -n " + ns + " --audience " + aud
}

func verifies(raw string, keys []jose.JSONWebKey) bool {
	jws, err := jose.ParseSignedCompact(raw, signingAlgs)
	if err != nil {
		return false
	}
	for _, k := range keys {
		if _, err := jws.Verify(k.Key); err == nil {
			return true
		}
	}
	return false
}

// getJSON fetches url and decodes its JSON body into v.
func getJSON(ctx context.Context, c *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch %s: HTTP %d", url, resp.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode %s: %w", url, err)
	}
	return nil
}
