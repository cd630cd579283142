package stsmock

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/irsa-local/irsa-local/internal/golden"
	"github.com/irsa-local/irsa-local/pkg/issuer"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// fixture is an AWS endpoint with a real issuer serving its keys over HTTPS,
// and SDK clients pointed at the endpoint with the admin credentials.
type fixture struct {
	t         testing.TB
	srv       *Server
	http      *httptest.Server
	issuerURL string
	issuerDir string
	keys      *issuer.KeySet
	handler   *issuer.Handler
	ca        *issuer.CA
	cfg       aws.Config
	iam       *iam.Client
	sts       *sts.Client
	stateDir  string
}

func newFixture(t testing.TB, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{t: t, issuerDir: t.TempDir(), stateDir: t.TempDir()}
	f.startIssuer()
	f.startServer(opts...)
	return f
}

func (f *fixture) startIssuer() {
	t := f.t
	ca, err := issuer.LoadOrCreateCA(filepath.Join(f.issuerDir, "pki"), "test CA")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := issuer.LoadOrCreateKeys(filepath.Join(f.issuerDir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Leaf(filepath.Join(f.issuerDir, "pki"), "issuer", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	f.issuerURL = issuer.URL("127.0.0.1", l.Addr().(*net.TCPAddr).Port, issuer.NewID())
	h, err := issuer.NewHandler(f.issuerURL, ks)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	f.ca, f.keys, f.handler = ca, ks, h
}

func (f *fixture) startServer(opts ...Option) {
	t := f.t
	srv, err := New(append([]Option{WithTrustedCAs(f.ca.Cert), WithStateDir(f.stateDir)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	f.http = httptest.NewServer(srv)
	t.Cleanup(f.http.Close)
	f.cfg = f.config(credentials.NewStaticCredentialsProvider("test", "test", ""))
	f.iam = iam.NewFromConfig(f.cfg)
	f.sts = sts.NewFromConfig(f.cfg)
}

// config returns an SDK config for the endpoint with creds.
func (f *fixture) config(creds aws.CredentialsProvider) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  creds,
		BaseEndpoint: aws.String(f.http.URL),
		// Retries would hide the first answer and slow failing cases down.
		RetryMaxAttempts: 1,
	}
}

// hostPath is the issuer URL without scheme, as users write condition keys.
func (f *fixture) hostPath(withPort bool) string {
	n := policy.ParseProvider(f.issuerURL)
	if withPort {
		return n.WithPort
	}
	return n.Canonical
}

func (f *fixture) createProvider(url string) string {
	f.t.Helper()
	out, err := f.iam.CreateOpenIDConnectProvider(context.Background(), &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String(url), ClientIDList: []string{"sts.amazonaws.com"},
	})
	if err != nil {
		f.t.Fatalf("create OIDC provider: %v", err)
	}
	return *out.OpenIDConnectProviderArn
}

// eksTrust is the EKS-standard trust policy for one service account.
func eksTrust(providerARN, key, ns, sa string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + key + `:sub":"system:serviceaccount:` +
		ns + `:` + sa + `","` + key + `:aud":"sts.amazonaws.com"}}}]}`
}

func (f *fixture) createRole(name, trust string) string {
	f.t.Helper()
	out, err := f.iam.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		f.t.Fatalf("create role: %v", err)
	}
	return *out.Role.Arn
}

// setup registers the issuer and a role trusting default/app.
func (f *fixture) setup() (roleARN string) {
	f.t.Helper()
	arn := f.createProvider(f.issuerURL)
	return f.createRole("app", eksTrust(arn, f.hostPath(false), "default", "app"))
}

func (f *fixture) token(ns, sa string) string {
	f.t.Helper()
	tok, err := issuer.Mint(f.issuerURL, f.keys, issuer.TokenRequest{Namespace: ns, ServiceAccount: sa, Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour})
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// sign signs arbitrary claims with key under kid and alg.
func sign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// claims returns the claims of a valid token for default/app, as a map the
// caller may change.
func (f *fixture) claims() map[string]any {
	now := time.Now().Unix()
	return map[string]any{
		"iss": f.issuerURL, "sub": "system:serviceaccount:default:app", "aud": []string{"sts.amazonaws.com"},
		"iat": now, "nbf": now, "exp": now + 3600,
	}
}

func (f *fixture) signClaims(c map[string]any) string {
	return sign(f.t, jose.RS256, f.keys.Signing, f.keys.SigningID, c)
}

// wire sends a raw Query request and returns status and body.
func (f *fixture) wire(form url.Values) (int, string) {
	f.t.Helper()
	resp, err := http.Post(f.http.URL, "application/x-www-form-urlencoded; charset=utf-8", strings.NewReader(form.Encode()))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signedWire sends a raw Query request signed with the admin credentials
// for IAM, and returns status and body.
func (f *fixture) signedWire(form url.Values) (int, string) {
	f.t.Helper()
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, f.http.URL, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	signRequest(f.t, req, []byte(body), "iam", aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signRequest signs r, whose body is body, for service with creds.
func signRequest(t testing.TB, r *http.Request, body []byte, service string, creds aws.Credentials) {
	t.Helper()
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}

func assumeForm(roleARN, token string) url.Values {
	return url.Values{
		"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
		"RoleArn": {roleARN}, "RoleSessionName": {"test"}, "WebIdentityToken": {token},
	}
}

var nowPattern = regexp.MustCompile(`current date/time \d+`)

var requestIDPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// golden compares a wire answer with testdata/<name>.golden, with request
// ids and the values in replace masked.
func checkGolden(t *testing.T, name string, status int, body string, replace map[string]string) {
	t.Helper()
	body = requestIDPattern.ReplaceAllString(body, "REQUEST-ID")
	body = nowPattern.ReplaceAllString(body, "current date/time NOW")
	got := fmt.Sprintf("HTTP %d %s\n%s\n", status, http.StatusText(status), body)
	for from, to := range replace {
		got = strings.ReplaceAll(got, from, to)
	}
	golden.Assert(t, filepath.Join("testdata", name+".golden"), []byte(got))
}

func otherRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	ks, err := issuer.LoadOrCreateKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return ks.Signing
}
