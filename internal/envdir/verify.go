package envdir

import (
	"context"
	"fmt"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// VerifyToken checks tok the way any OIDC relying party would: discovery
// from the environment's issuer URL over HTTPS trusting only the environment
// CA, then the signature against the served JWKS, issuer, audience (when
// audience is not empty) and expiry. It returns the verified claims.
func VerifyToken(ctx context.Context, l Layout, tok, audience string) (*issuer.Claims, error) {
	cfg, err := LoadConfig(l)
	if err != nil {
		return nil, err
	}
	ca, err := issuer.LoadOrCreateCA(l.PKIDir(), "")
	if err != nil {
		return nil, err
	}
	client := HTTPClient(ca)
	ctx = oidc.ClientContext(ctx, client)
	u := issuer.URL(cfg.IssuerHost, cfg.IssuerPort, cfg.IssuerID)
	p, err := oidc.NewProvider(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("discover issuer %s: %w", u, err)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: audience, SkipClientIDCheck: audience == ""}).Verify(ctx, tok)
	if err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}
	var c issuer.Claims
	if err := idt.Claims(&c); err != nil {
		return nil, fmt.Errorf("decode claims: %w", err)
	}
	return &c, nil
}
