package stsmock

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithy "github.com/aws/smithy-go"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/irsa-local/irsa-local/internal/trail"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

func TestAssumeRoleWithWebIdentityWithTheSDK(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	out, err := f.sts.AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("test"), WebIdentityToken: aws.String(f.token("default", "app")),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	c := out.Credentials
	if !strings.HasPrefix(*c.AccessKeyId, "ASIA") || len(*c.AccessKeyId) != 20 || len(*c.SecretAccessKey) != 40 || *c.SessionToken == "" {
		t.Errorf("credentials %+v: want ASIA + 16, a 40-character secret and a token", c)
	}
	if d := time.Until(*c.Expiration); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expiration %v is not an hour away", c.Expiration)
	}
	if got, want := *out.AssumedRoleUser.Arn, "arn:aws:sts::000000000000:assumed-role/app/test"; got != want {
		t.Errorf("assumed role ARN %q, want %q", got, want)
	}
	if id := *out.AssumedRoleUser.AssumedRoleId; !strings.HasPrefix(id, "AROA") || !strings.HasSuffix(id, ":test") || len(id) != 21+len(":test") {
		t.Errorf("AssumedRoleId %q: want AROA + 17 characters + :test", id)
	}
	if *out.SubjectFromWebIdentityToken != "system:serviceaccount:default:app" || *out.Audience != "sts.amazonaws.com" {
		t.Errorf("subject %q audience %q", *out.SubjectFromWebIdentityToken, *out.Audience)
	}
	if want := "arn:aws:iam::000000000000:oidc-provider/" + f.hostPath(false); *out.Provider != want {
		t.Errorf("Provider %q, want the provider ARN %q", *out.Provider, want)
	}

	// The issued credentials sign GetCallerIdentity as the assumed role.
	sess := sts.NewFromConfig(f.config(credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)))
	who, err := sess.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with session credentials: %v", err)
	}
	if *who.Arn != *out.AssumedRoleUser.Arn || *who.UserId != *out.AssumedRoleUser.AssumedRoleId || *who.Account != "000000000000" {
		t.Errorf("caller %s %s %s", *who.Arn, *who.UserId, *who.Account)
	}
}

func TestWebIdentityRoleProviderReadsTokenFile(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(f.token("default", "app")), 0o600); err != nil {
		t.Fatal(err)
	}
	prov := stscreds.NewWebIdentityRoleProvider(f.sts, roleARN, stscreds.IdentityTokenFile(file))
	cfg := f.config(aws.NewCredentialsCache(prov))
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity through WebIdentityRoleProvider: %v", err)
	}
	if !strings.HasPrefix(*who.Arn, "arn:aws:sts::000000000000:assumed-role/app/") {
		t.Errorf("caller %s", *who.Arn)
	}
}

func TestAdminGetCallerIdentityIsRoot(t *testing.T) {
	f := newFixture(t)
	who, err := f.sts.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *who.Arn != "arn:aws:iam::000000000000:root" || *who.Account != "000000000000" {
		t.Errorf("admin caller %s %s", *who.Arn, *who.Account)
	}
}

// Both spellings of an issuer with a port find the same provider and match
// the trust policy's condition keys and principal.
func TestProviderSpelledWithAndWithoutPort(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		createWithPort, keyPort bool
		principalPort           bool
	}{
		{"created without port, keys without", false, false, false},
		{"created without port, keys with port", false, true, false},
		{"created with port, keys without", true, false, false},
		{"created with port, keys with port, principal with port", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			url := "https://" + f.hostPath(tc.createWithPort)
			arn := f.createProvider(url)
			if want := "arn:aws:iam::000000000000:oidc-provider/" + f.hostPath(false); arn != want {
				t.Fatalf("provider ARN %q, want the port-less %q", arn, want)
			}
			principal := "arn:aws:iam::000000000000:oidc-provider/" + f.hostPath(tc.principalPort)
			// Get works with either spelling of the ARN.
			for _, spelled := range []string{arn, "arn:aws:iam::000000000000:oidc-provider/" + f.hostPath(true)} {
				if _, err := f.iam.GetOpenIDConnectProvider(context.Background(), &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(spelled)}); err != nil {
					t.Errorf("GetOpenIDConnectProvider(%s): %v", spelled, err)
				}
			}
			roleARN := f.createRole("app", eksTrust(principal, f.hostPath(tc.keyPort), "default", "app"))
			code, body := f.wire(assumeForm(roleARN, f.token("default", "app")))
			if code != 200 {
				t.Fatalf("assume: %d %s", code, body)
			}
			// A second provider for the other spelling is the same provider.
			_, err := f.iam.CreateOpenIDConnectProvider(context.Background(), &iam.CreateOpenIDConnectProviderInput{
				Url: aws.String("https://" + f.hostPath(!tc.createWithPort)), ClientIDList: []string{"sts.amazonaws.com"},
			})
			if code := apiCode(err); code != "EntityAlreadyExists" {
				t.Errorf("second spelling: %v, want EntityAlreadyExists", err)
			}
		})
	}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Every token that fails a check gets no credentials.
func TestHostileTokensGetNoCredentials(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	now := time.Now().Unix()
	with := func(change func(map[string]any)) string {
		c := f.claims()
		change(c)
		return f.signClaims(c)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	valid := f.signClaims(f.claims())
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+f.issuerURL+`","sub":"system:serviceaccount:kube-system:admin","aud":["sts.amazonaws.com"],"exp":`+itoa(now+3600)+`}`)) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"`+f.keys.SigningID+`"}`)) + "." + parts[1] + "."
	pubDER := f.keys.Published[0].Key.N.Bytes()
	hs := sign(t, jose.HS256, pubDER, f.keys.SigningID, f.claims())

	for _, tc := range []struct {
		name, token, code, message string
	}{
		{"tampered payload", tampered, "InvalidIdentityToken", msgInvalidToken},
		{"wrong key", sign(t, jose.RS256, otherRSAKey(t), f.keys.SigningID, f.claims()), "InvalidIdentityToken", msgInvalidToken},
		{"alg none", none, "InvalidIdentityToken", msgInvalidToken},
		{"HS256 with the public key", hs, "InvalidIdentityToken", msgInvalidToken},
		{"ES256 under the RSA kid", sign(t, jose.ES256, ec, f.keys.SigningID, f.claims()), "InvalidIdentityToken", msgInvalidToken},
		{"unknown kid", sign(t, jose.RS256, f.keys.Signing, "no-such-kid", f.claims()), "InvalidIdentityToken", msgInvalidToken},
		{"missing sub", with(func(c map[string]any) { delete(c, "sub") }), "InvalidIdentityToken", "Missing a required claim: sub"},
		{"missing aud", with(func(c map[string]any) { delete(c, "aud") }), "InvalidIdentityToken", "Missing a required claim: aud"},
		{"expired beyond skew", with(func(c map[string]any) { c["exp"] = now - 301 }), "ExpiredTokenException", "Token expired: current date/time"},
		{"exp not an integer", with(func(c map[string]any) { c["exp"] = float64(now) + 3600.5 }), "InvalidIdentityToken", msgInvalidToken},
		{"nbf in the future", with(func(c map[string]any) { c["nbf"] = now + 600 }), "InvalidIdentityToken", msgInvalidToken},
		{"wrong issuer", with(func(c map[string]any) { c["iss"] = "https://oidc.example.com/id/ABC" }), "InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://oidc.example.com/id/ABC"},
		{"wrong audience", with(func(c map[string]any) { c["aud"] = []string{"other"} }), "InvalidIdentityToken", msgIncorrectAudience},
		{"not a JWT", "not.a.jwt", "InvalidIdentityToken", msgInvalidToken},
		{"oversize", strings.Repeat("a", 20001), "ValidationError", "Member must have length less than or equal to 20000"},
		{"wrong service account", f.token("default", "other"), "AccessDenied", msgNotAuthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.wire(assumeForm(roleARN, tc.token))
			if code == 200 || strings.Contains(body, "<Credentials>") {
				t.Fatalf("got credentials: %s", body)
			}
			if !strings.Contains(body, "<Code>"+tc.code+"</Code>") || !strings.Contains(body, xmlEscape(tc.message)) {
				t.Errorf("body %s: want code %s and message %q", body, tc.code, tc.message)
			}
		})
	}

	// Expired, but within AWS's five minutes of skew: accepted.
	code, body := f.wire(assumeForm(roleARN, with(func(c map[string]any) { c["exp"] = now - 240 })))
	if code != 200 {
		t.Errorf("token 4 minutes past exp: %d %s, want accepted within the skew", code, body)
	}
}

func xmlEscape(s string) string {
	return strings.NewReplacer("'", "&#39;", `"`, "&#34;", "&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The golden error catalog: every row of reference §1.6 the emulator can
// produce, with its code, HTTP status and message as on the wire.
func TestErrorCatalogGolden(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	f.createRole("short", eksTrust("arn:aws:iam::000000000000:oidc-provider/"+f.hostPath(false), f.hostPath(false), "default", "app"))
	now := time.Now().Unix()
	expired := f.claims()
	expired["exp"] = now - 3600
	noAud := f.claims()
	delete(noAud, "aud")
	noSub := f.claims()
	delete(noSub, "sub")
	wrongAud := f.claims()
	wrongAud["aud"] = []string{"other"}
	foreign := f.claims()
	foreign["iss"] = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"
	tok := f.token("default", "app")
	set := func(v url.Values, k, val string) url.Values { v.Set(k, val); return v }
	replace := map[string]string{f.issuerURL: "ISSUER", itoa(now - 3600): "EXP"}

	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"InvalidIdentityToken-no-provider", assumeForm(roleARN, f.signClaims(foreign))},
		{"InvalidIdentityToken-audience", assumeForm(roleARN, f.signClaims(wrongAud))},
		{"InvalidIdentityToken-missing-aud", assumeForm(roleARN, f.signClaims(noAud))},
		{"InvalidIdentityToken-missing-sub", assumeForm(roleARN, f.signClaims(noSub))},
		{"InvalidIdentityToken-malformed", assumeForm(roleARN, "not.a.jwt")},
		{"ExpiredTokenException", assumeForm(roleARN, f.signClaims(expired))},
		{"AccessDenied-trust", assumeForm(roleARN, f.token("default", "other"))},
		{"AccessDenied-no-role", assumeForm("arn:aws:iam::000000000000:role/missing", tok)},
		{"ValidationError-session-name", set(assumeForm(roleARN, tok), "RoleSessionName", "a:b")},
		{"ValidationError-session-name-length", set(assumeForm(roleARN, tok), "RoleSessionName", strings.Repeat("s", 65))},
		{"ValidationError-duration-min", set(assumeForm(roleARN, tok), "DurationSeconds", "100")},
		{"ValidationError-duration-max-session", set(assumeForm(roleARN, tok), "DurationSeconds", "7200")},
		{"ValidationError-missing-role", func() url.Values { v := assumeForm(roleARN, tok); v.Del("RoleArn"); return v }()},
		{"MalformedPolicyDocument", set(assumeForm(roleARN, tok), "Policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject"}]}`)},
		{"PackedPolicyTooLarge", func() url.Values {
			v := assumeForm(roleARN, tok)
			for i := 1; i <= 10; i++ {
				v.Set("PolicyArns.member."+itoa(int64(i))+".arn", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
			}
			v.Set("Policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+strings.Repeat("b", 1700)+`/*"}]}`)
			return v
		}()},
		{"MissingAuthenticationToken", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}},
		{"InvalidAction", url.Values{"Action": {"AssumeRoleWithWebIdentityX"}, "Version": {"2011-06-15"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := f.wire(tc.form)
			checkGolden(t, "errors/"+tc.name, code, body, replace)
		})
	}
}

func TestKeyRetrievalFailure(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	// A provider for an issuer nobody serves.
	dead := "https://127.0.0.1:1/id/DEAD"
	f.createProvider(dead)
	c := f.claims()
	c["iss"] = dead
	code, body := f.wire(assumeForm(roleARN, f.signClaims(c)))
	checkGolden(t, "errors/InvalidIdentityToken-key-retrieval", code, body, nil)
}

func TestThumbprintCheck(t *testing.T) {
	f := newFixture(t, WithThumbprintCheck(true))
	arn := f.createProvider(f.issuerURL)
	roleARN := f.createRole("app", eksTrust(arn, f.hostPath(false), "default", "app"))
	if _, err := f.iam.UpdateOpenIDConnectProviderThumbprint(context.Background(), &iam.UpdateOpenIDConnectProviderThumbprintInput{
		OpenIDConnectProviderArn: aws.String(arn), ThumbprintList: []string{strings.Repeat("a", 40)},
	}); err != nil {
		t.Fatal(err)
	}
	code, body := f.wire(assumeForm(roleARN, f.token("default", "app")))
	checkGolden(t, "errors/InvalidIdentityToken-thumbprint", code, body, nil)
	if _, err := f.iam.UpdateOpenIDConnectProviderThumbprint(context.Background(), &iam.UpdateOpenIDConnectProviderThumbprintInput{
		OpenIDConnectProviderArn: aws.String(arn), ThumbprintList: []string{f.ca.Thumbprint()},
	}); err != nil {
		t.Fatal(err)
	}
	if code, body := f.wire(assumeForm(roleARN, f.token("default", "app"))); code != 200 {
		t.Errorf("with the CA's thumbprint: %d %s", code, body)
	}
}

func TestClockMovesTokenAndSessionExpiry(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	tok := f.token("default", "app")
	out, err := f.sts.AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("sess"), WebIdentityToken: aws.String(tok), DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	sess := sts.NewFromConfig(f.config(credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)))

	// 20 minutes later the 15-minute session has expired; the 1-hour token
	// has not.
	mustAdvance(t, f.srv.Clock(), 20*time.Minute)
	_, err = sess.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if apiCode(err) != "ExpiredToken" {
		t.Errorf("expired session: %v, want ExpiredToken", err)
	}
	if code, body := f.wire(assumeForm(roleARN, tok)); code != 200 {
		t.Errorf("token within its lifetime: %d %s", code, body)
	}
	// 1 h 4 min after issue: past exp but within the skew; 1 h 6 min: expired.
	mustAdvance(t, f.srv.Clock(), 44*time.Minute)
	if code, _ := f.wire(assumeForm(roleARN, tok)); code != 200 {
		t.Errorf("4 minutes past exp: %d, want accepted within the skew", code)
	}
	mustAdvance(t, f.srv.Clock(), 2*time.Minute)
	if _, body := f.wire(assumeForm(roleARN, tok)); !strings.Contains(body, "ExpiredTokenException") {
		t.Errorf("6 minutes past exp: %s", body)
	}
	f.srv.Clock().Reset()
	if code, _ := f.wire(assumeForm(roleARN, tok)); code != 200 {
		t.Error("after clock reset the token is valid again")
	}
}

func TestSignedCallErrors(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	out, err := f.sts.AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("sess"), WebIdentityToken: aws.String(f.token("default", "app")),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	for _, tc := range []struct {
		name        string
		key, secret string
		token       string
		code        string
	}{
		{"unknown key", "AKIAUNKNOWN000000000", "x", "", "InvalidClientTokenId"},
		{"wrong admin secret", "test", "wrong", "", "SignatureDoesNotMatch"},
		{"session key without token", *c.AccessKeyId, *c.SecretAccessKey, "", "InvalidClientTokenId"},
		{"session key with another token", *c.AccessKeyId, *c.SecretAccessKey, "IQoJb3JpZ2luX2Vj" + base64.StdEncoding.EncodeToString([]byte("garbage")), "InvalidClientTokenId"},
		{"session key with wrong secret", *c.AccessKeyId, "wrong", *c.SessionToken, "SignatureDoesNotMatch"},
		{"admin key with a token", "test", "test", *c.SessionToken, "InvalidClientTokenId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := sts.NewFromConfig(f.config(credentials.NewStaticCredentialsProvider(tc.key, tc.secret, tc.token)))
			_, err := client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
			if got := apiCode(err); got != tc.code {
				t.Errorf("got %v, want %s", err, tc.code)
			}
		})
	}
}

func TestSessionsSurviveRestartAndResetInvalidatesThem(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	out, err := f.sts.AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("sess"), WebIdentityToken: aws.String(f.token("default", "app")),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	f.http.Close()
	f.startServer()
	sess := sts.NewFromConfig(f.config(credentials.NewStaticCredentialsProvider(*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken)))
	if _, err := sess.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("session after restart: %v", err)
	}
	if _, err := f.iam.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("app")}); err != nil {
		t.Fatalf("role after restart: %v", err)
	}
	if err := f.srv.Reset(); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); apiCode(err) != "InvalidClientTokenId" {
		t.Errorf("session after Reset: %v, want InvalidClientTokenId", err)
	}
	if _, err := f.iam.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("app")}); apiCode(err) != "NoSuchEntity" {
		t.Errorf("role after Reset: %v, want NoSuchEntity", err)
	}
}

func TestRetiredKeyStopsWorkingAfterFlush(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	old := f.token("default", "app")
	if code, body := f.wire(assumeForm(roleARN, old)); code != 200 {
		t.Fatalf("before rotation: %d %s", code, body)
	}
	dir := filepath.Join(f.issuerDir, "keys")
	ks, err := issuer.RotateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.handler.SetKeys(ks)
	f.keys = ks
	// A token of the new key names an unknown kid: fetched at once.
	if code, body := f.wire(assumeForm(roleARN, f.token("default", "app"))); code != 200 {
		t.Fatalf("new key right after rotation: %d %s", code, body)
	}
	ks, _, err = issuer.RetireKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.handler.SetKeys(ks)
	f.srv.FlushKeys()
	if code, _ := f.wire(assumeForm(roleARN, old)); code == 200 {
		t.Error("a token of a retired key still gets credentials after the flush")
	}
}

func TestSessionPoliciesAndDuration(t *testing.T) {
	f := newFixture(t)
	roleARN := f.setup()
	if _, err := f.iam.UpdateRole(context.Background(), &iam.UpdateRoleInput{RoleName: aws.String("app"), MaxSessionDuration: aws.Int32(7200)}); err != nil {
		t.Fatal(err)
	}
	out, err := f.sts.AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("sess"), WebIdentityToken: aws.String(f.token("default", "app")),
		DurationSeconds: aws.Int32(7200),
		Policy:          aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`),
		PolicyArns:      nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(*out.Credentials.Expiration); d < 119*time.Minute {
		t.Errorf("2-hour session expires in %v", d)
	}
	if packedPolicySize(out) == nil || *packedPolicySize(out) <= 0 {
		t.Errorf("PackedPolicySize %v, want a percentage", packedPolicySize(out))
	}
}

func mustAdvance(t testing.TB, c Clock, d time.Duration) {
	t.Helper()
	if _, err := c.Advance(d); err != nil {
		t.Fatal(err)
	}
}

// A discovery document whose issuer differs from the token's iss is not
// that issuer's: its keys verify nothing (OIDC Discovery §4.3).
func TestDiscoveryIssuerMustMatchTheToken(t *testing.T) {
	trailPath := filepath.Join(t.TempDir(), "trail.jsonl")
	f := newFixture(t, WithTrail(trailPath))
	cert, err := f.ca.Leaf(filepath.Join(f.issuerDir, "pki"), "other", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	for i, served := range []func(iss string) string{
		func(string) string { return f.issuerURL },              // another issuer
		func(iss string) string { return iss + "/" },            // a trailing slash
		func(string) string { return "" },                       // none at all
		func(iss string) string { return strings.ToUpper(iss) }, // not identical
		func(iss string) string { return iss },                  // the control: identical
	} {
		l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		iss := issuer.URL("127.0.0.1", l.Addr().(*net.TCPAddr).Port, issuer.NewID())
		h, err := issuer.NewHandler(iss, f.keys)
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		h.Mount(mux)
		// The real keys, under a discovery document naming another issuer.
		discovery := strings.TrimPrefix(iss, "https://"+l.Addr().String()) + "/.well-known/openid-configuration"
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != discovery {
				mux.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": served(iss), "jwks_uri": iss + "/keys", "response_types_supported": []string{"id_token"}})
		})
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(l) }()
		provider := f.createProvider(iss)
		role := "other" + strconv.Itoa(i)
		roleARN := f.createRole(role, eksTrust(provider, strings.TrimPrefix(iss, "https://"), "default", "app"))
		tok, err := issuer.Mint(iss, f.keys, issuer.TokenRequest{Namespace: "default", ServiceAccount: "app", Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.sts.AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("session"), WebIdentityToken: aws.String(tok)})
		_ = srv.Close()
		if served(iss) == iss {
			if err != nil {
				t.Fatalf("discovery naming the token's own issuer: %v", err)
			}
			continue
		}
		if apiCode(err) != "InvalidIdentityToken" {
			t.Fatalf("discovery naming %q for %s: %v, want InvalidIdentityToken", served(iss), iss, err)
		}
		recs, err := trail.Read(trailPath, time.Time{})
		if err != nil || len(recs) == 0 {
			t.Fatal(recs, err)
		}
		last := recs[len(recs)-1]
		if last.IrsaLocal == nil || !strings.Contains(last.IrsaLocal.Reason, "requires it to be identical to the token's iss") {
			t.Fatalf("trail reason: %+v", last.IrsaLocal)
		}
	}
}

// packedPolicySize reads the PackedPolicySize that STS still returns.
func packedPolicySize(out *sts.AssumeRoleWithWebIdentityOutput) *int32 {
	//lint:ignore SA1019 STS still returns it, and AWS's SDKs still read it
	return out.PackedPolicySize
}
