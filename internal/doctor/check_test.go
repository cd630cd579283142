package doctor

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// A report as the command prints it, healthy links and broken ones mixed.
func sampleReport(t *testing.T) Report {
	doc, err := os.ReadFile("testdata/trust/wrong-namespace.json")
	if err != nil {
		t.Fatal(err)
	}
	return Report{
		ok(CheckCluster, "kube-apiserver v1.37.2 at https://127.0.0.1:6443 (kubeconfig /state/cluster/kubeconfig)"),
		ok(CheckIssuer, "the apiserver issues tokens for "+testIssuer+", the environment's issuer"),
		ok(CheckJWKS, testIssuer+"/keys serves 1 key(s), including kid kid-1 that signed the apiserver's tokens"),
		ok(CheckOIDCProvider, testProvider+" with client ID sts.amazonaws.com"),
		ok(CheckServiceAccount, "demo/s3-reader is annotated with "+testRole+", which exists"),
		ok(CheckWebhook, "a dry-run pod of demo/s3-reader gets AWS_ROLE_ARN and the aws-iam-token volume (audience sts.amazonaws.com)"),
		DiagnoseTrust(TrustInput{RoleARN: testRole, Policy: string(doc), Token: podToken(), ProviderARN: testProvider, ClientIDs: []string{"sts.amazonaws.com"}, Now: testNow}),
		skip(CheckPermissions, "no --action and --resource"),
	}
}

func TestReportText(t *testing.T) {
	rep := sampleReport(t)
	if !rep.Failed() {
		t.Fatal("a report with a failed check does not say it failed")
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.HasPrefix(lines[0], "✓ cluster          kube-apiserver") || !strings.HasPrefix(lines[6], "✗ trust-policy     ") ||
		!strings.HasPrefix(lines[7], "                   fix: ") || !strings.HasPrefix(lines[9], "- permissions      skipped: ") {
		t.Errorf("layout changed:\n%s", b.String())
	}
	checkGolden(t, "report.golden", b.String())
}

func TestReportJSONIsAnArrayOfChecks(t *testing.T) {
	b, err := json.Marshal(sampleReport(t))
	if err != nil {
		t.Fatal(err)
	}
	var checks []map[string]string
	if err := json.Unmarshal(b, &checks); err != nil {
		t.Fatalf("not an array of checks: %v\n%s", err, b)
	}
	if len(checks) != 8 || checks[6]["name"] != "trust-policy" || checks[6]["status"] != "fail" || checks[6]["fix"] == "" {
		t.Errorf("checks: %v", checks)
	}
	if _, has := checks[0]["fix"]; has {
		t.Error("a passing check carries a fix")
	}
}

func TestParseTokenReadsWhatTheApiserverSigns(t *testing.T) {
	ks, err := issuer.LoadOrCreateKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := issuer.Mint(testIssuer, ks, issuer.TokenRequest{Namespace: "demo", ServiceAccount: "s3-reader", Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ParseToken(raw)
	if err != nil {
		t.Fatal(err)
	}
	if tok.KID != ks.SigningID || tok.Alg != "RS256" || tok.Issuer != testIssuer || tok.Subject != "system:serviceaccount:demo:s3-reader" ||
		len(tok.Audience) != 1 || tok.Audience[0] != "sts.amazonaws.com" || !tok.Expiry.Equal(testNow.Add(time.Hour)) {
		t.Errorf("parsed %+v", tok)
	}
	if _, err := ParseToken("not-a-token"); err == nil {
		t.Error("a non-JWT parsed")
	}
}
