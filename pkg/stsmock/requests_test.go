package stsmock

import (
	"testing"
	"time"

	"github.com/irsa-local/irsa-local/pkg/policy"
)

// TrustRequest is what diagnosing tools evaluate, so it must accept the
// same spellings AssumeRoleWithWebIdentity accepts.
func TestTrustRequestAcceptsBothSpellings(t *testing.T) {
	const issuer = "https://127.0.0.1:8443/id/ABC"
	if got := policy.ProviderKeys(issuer); len(got) != 2 || got[0] != "127.0.0.1/id/ABC" || got[1] != "127.0.0.1:8443/id/ABC" {
		t.Fatalf("ProviderKeys = %q", got)
	}
	if got, want := policy.ProviderARN("000000000000", issuer), "arn:aws:iam::000000000000:oidc-provider/127.0.0.1/id/ABC"; got != want {
		t.Fatalf("ProviderARN = %q, want %q", got, want)
	}
	req := policy.TrustRequest("000000000000", policy.WebIdentityClaims{Issuer: issuer, Subject: "system:serviceaccount:demo:app", Audience: "sts.amazonaws.com"}, "s", time.Now())
	for _, spelled := range policy.ProviderKeys(issuer) {
		doc, err := policy.Parse(eksTrust("arn:aws:iam::000000000000:oidc-provider/"+spelled, spelled, "demo", "app"), policy.Trust)
		if err != nil {
			t.Fatal(err)
		}
		if r := policy.Evaluate(req, policy.NamedDocument{Name: "trust", Doc: doc}); !r.Allowed() {
			t.Errorf("spelled %s: %s", spelled, r.Reason)
		}
	}
}

func TestSessionContextCarriesWebIdentityKeys(t *testing.T) {
	ctx := policy.SessionContext(policy.SessionInfo{
		RoleARN: "arn:aws:iam::000000000000:role/app", RoleID: "AROAEXAMPLE", SessionName: "s",
		Subject: "system:serviceaccount:demo:app", Audience: "sts.amazonaws.com",
		Provider: "arn:aws:iam::000000000000:oidc-provider/h/id/X", ProviderKeys: []string{"h/id/X"},
	}, "us-east-1", time.Unix(0, 0))
	for key, want := range map[string]string{
		"aws:PrincipalAccount": "000000000000",
		"aws:PrincipalType":    "AssumedRole",
		"aws:userid":           "AROAEXAMPLE:s",
		"h/id/X:sub":           "system:serviceaccount:demo:app",
		"aws:RequestedRegion":  "us-east-1",
	} {
		if got, _ := ctx.Get(key); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}
