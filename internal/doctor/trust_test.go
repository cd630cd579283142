package doctor

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/irsa-local/irsa-local/internal/golden"
)

const (
	testIssuer   = "https://127.0.0.1:8443/id/ABC"
	testRole     = "arn:aws:iam::000000000000:role/s3-reader-role"
	testProvider = "arn:aws:iam::000000000000:oidc-provider/127.0.0.1/id/ABC"
)

var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// podToken is what the webhook's projected volume gives a pod of
// demo/s3-reader.
func podToken() *Token {
	return &Token{
		KID:      "kid-1",
		Alg:      "RS256",
		Issuer:   testIssuer,
		Subject:  "system:serviceaccount:demo:s3-reader",
		Audience: []string{"sts.amazonaws.com"},
		Expiry:   testNow.Add(time.Hour),
	}
}

// checkGolden compares got with testdata/name.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Assert(t, filepath.Join("testdata", name), []byte(got))
}

func render(c Check) string {
	var b bytes.Buffer
	if err := (Report{c}).WriteText(&b); err != nil {
		panic(err)
	}
	return b.String()
}

// Each case is a trust policy in testdata/trust/<policy>.json evaluated for
// a token; the printed check is compared with testdata/trust/<name>.golden,
// and the parts a user acts on are asserted here too.
func TestDiagnoseTrust(t *testing.T) {
	for _, tc := range []struct {
		name, policy string
		token        func(*Token)
		clientIDs    []string
		want         Status
		contains     []string
	}{
		{name: "allowed", policy: "allowed", want: OK,
			contains: []string{"role s3-reader-role trusts system:serviceaccount:demo:s3-reader with audience sts.amazonaws.com (statement 0)"}},
		{name: "allowed-port-spelling", policy: "allowed-port-spelling", want: OK},
		{name: "wrong-namespace", policy: "wrong-namespace", want: Fail,
			contains: []string{
				`wants "system:serviceaccount:default:s3-reader", but the token's sub is "system:serviceaccount:demo:s3-reader" (another namespace: default)`,
				// The key keeps the spelling the policy uses.
				`"127.0.0.1:8443/id/ABC:sub": "system:serviceaccount:demo:s3-reader"`,
			}},
		{name: "wrong-namespace-wildcard", policy: "wrong-namespace-wildcard", want: Fail,
			contains: []string{"(another namespace: other)", `"127.0.0.1/id/ABC:sub": "system:serviceaccount:demo:s3-reader"`}},
		{name: "wrong-service-account", policy: "wrong-service-account", want: Fail,
			contains: []string{"(another service account: someone-else)", `"127.0.0.1/id/ABC:sub": "system:serviceaccount:demo:s3-reader"`}},
		{name: "wrong-audience", policy: "wrong-audience", want: Fail,
			contains: []string{
				`condition StringEquals on "127.0.0.1/id/ABC:aud" wants "https://kubernetes.default.svc", but the token's aud is "sts.amazonaws.com"`,
				`"127.0.0.1/id/ABC:aud": "sts.amazonaws.com"`,
			}},
		{name: "wrong-service-account-and-audience", policy: "wrong-service-account-and-audience", want: Fail,
			contains: []string{`"127.0.0.1/id/ABC:sub": "system:serviceaccount:demo:s3-reader"`, `"127.0.0.1/id/ABC:aud": "sts.amazonaws.com"`}},
		{name: "wrong-provider", policy: "wrong-provider", want: Fail,
			contains: []string{
				"names the provider arn:aws:iam::000000000000:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE, not this issuer's " + testProvider,
				`"Federated": "` + testProvider + `"`,
				`"127.0.0.1/id/ABC:sub": "system:serviceaccount:demo:s3-reader"`,
			}},
		{name: "wrong-account", policy: "wrong-account", want: Fail,
			contains: []string{"names the provider arn:aws:iam::111122223333:oidc-provider/127.0.0.1/id/ABC"}},
		{name: "no-federated-statement", policy: "no-federated-statement", want: Fail,
			contains: []string{`"Federated": "` + testProvider + `"`, `"127.0.0.1/id/ABC:sub": "system:serviceaccount:demo:s3-reader"`}},
		{name: "explicit-deny", policy: "explicit-deny", want: Fail,
			contains: []string{`statement 1 ("NoDemo")`}},
		{name: "audience-not-a-client-id", policy: "allowed", want: Fail, clientIDs: []string{"sts.amazonaws.com"},
			token:    func(t *Token) { t.Audience = []string{"my-app"} },
			contains: []string{"Incorrect token audience", "--client-id my-app"}},
		{name: "expired-token", policy: "allowed", want: Fail,
			token:    func(t *Token) { t.Expiry = testNow.Add(-time.Hour) },
			contains: []string{"ExpiredTokenException", "kubectl create token s3-reader -n demo --audience sts.amazonaws.com"}},
		{name: "expired-within-skew", policy: "allowed", want: OK,
			token: func(t *Token) { t.Expiry = testNow.Add(-4 * time.Minute) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := os.ReadFile(filepath.Join("testdata", "trust", tc.policy+".json"))
			if err != nil {
				t.Fatal(err)
			}
			tok := podToken()
			if tc.token != nil {
				tc.token(tok)
			}
			c := DiagnoseTrust(TrustInput{RoleARN: testRole, Policy: string(doc), Token: tok, ProviderARN: testProvider, ClientIDs: tc.clientIDs, Now: testNow})
			if c.Name != CheckTrustPolicy || c.Status != tc.want {
				t.Fatalf("got %s %s: %s\nfix: %s", c.Name, c.Status, c.Detail, c.Fix)
			}
			if c.Status == Fail && c.Fix == "" {
				t.Error("a failed check has no fix")
			}
			text := render(c)
			for _, s := range tc.contains {
				if !strings.Contains(text, s) {
					t.Errorf("report lacks %s:\n%s", s, text)
				}
			}
			checkGolden(t, filepath.Join("trust", tc.name+".golden"), text)
		})
	}
}

// Without a registered provider the doctor still judges the policy, naming
// the ARN the provider will have.
func TestDiagnoseTrustWithoutProvider(t *testing.T) {
	doc, err := os.ReadFile("testdata/trust/allowed.json")
	if err != nil {
		t.Fatal(err)
	}
	c := DiagnoseTrust(TrustInput{RoleARN: testRole, Policy: string(doc), Token: podToken(), Now: testNow})
	if c.Status != OK {
		t.Fatalf("%s: %s", c.Status, c.Detail)
	}
}

func TestSubjectMismatch(t *testing.T) {
	for _, tc := range []struct{ want, got, says string }{
		{"system:serviceaccount:a:x", "system:serviceaccount:b:x", "another namespace: a"},
		{"system:serviceaccount:a:x", "system:serviceaccount:a:y", "another service account: x"},
		{"system:serviceaccount:a:*", "system:serviceaccount:a:y", ""},
		{"system:serviceaccount:?:x", "system:serviceaccount:b:x", ""},
		{"system:serviceaccount:a.b:x", "system:serviceaccount:aXb:x", "another namespace: a.b"},
		{"anything", "system:serviceaccount:a:x", ""},
	} {
		if got := subjectMismatch([]string{tc.want}, tc.got); got != tc.says {
			t.Errorf("subjectMismatch(%q, %q) = %q, want %q", tc.want, tc.got, got, tc.says)
		}
	}
}
