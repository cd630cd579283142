package agent

import (
	"context"
	"crypto/tls"
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
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/net/http/httpguts"

	"github.com/irsa-local/irsa-local/pkg/issuer"
	"github.com/irsa-local/irsa-local/pkg/stsmock"
)

// The agent against the real emulator: an issuer over HTTPS, the AWS
// endpoint with a cluster, a role trusting pods.eks.amazonaws.com and an
// association for shop/cart.
type env struct {
	t         testing.TB
	handler   http.Handler
	aws       *httptest.Server
	agent     *httptest.Server
	issuerURL string
	keys      *issuer.KeySet
	cfg       aws.Config
}

func newEnv(t *testing.T) *env { return newEnvTB(t) }

func newEnvTB(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	ca, err := issuer.LoadOrCreateCA(filepath.Join(dir, "pki"), "test CA")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := issuer.LoadOrCreateKeys(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Leaf(filepath.Join(dir, "pki"), "issuer", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, keys: ks, issuerURL: issuer.URL("127.0.0.1", l.Addr().(*net.TCPAddr).Port, issuer.NewID())}
	h, err := issuer.NewHandler(e.issuerURL, ks)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	emu, err := stsmock.New(stsmock.WithTrustedCAs(ca.Cert), stsmock.WithStateDir(t.TempDir()),
		stsmock.WithEKSCluster(stsmock.EKSCluster{Name: "demo", IssuerURL: e.issuerURL, CreatedAt: time.Now()}))
	if err != nil {
		t.Fatal(err)
	}
	e.aws = httptest.NewServer(emu)
	t.Cleanup(e.aws.Close)
	e.cfg = aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(e.aws.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	ctx := context.Background()
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	role, err := iam.NewFromConfig(e.cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("cart"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eks.NewFromConfig(e.cfg).CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String("demo"), Namespace: aws.String("shop"), ServiceAccount: aws.String("cart"), RoleArn: role.Role.Arn,
	}); err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{ClusterName: "demo", Endpoint: e.aws.URL, Credentials: e.cfg.Credentials, Hosts: []string{"127.0.0.1", IPv4Address, IPv6Address}})
	if err != nil {
		t.Fatal(err)
	}
	e.handler = a
	e.agent = httptest.NewServer(a)
	t.Cleanup(e.agent.Close)
	return e
}

// token signs a projected token of a shop pod for sa.
func (e *env) token(sa string, exp time.Duration) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: e.keys.Signing, KeyID: e.keys.SigningID}}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.Signed(s).Claims(map[string]any{
		"iss": e.issuerURL, "sub": "system:serviceaccount:shop:" + sa, "aud": []string{"pods.eks.amazonaws.com"},
		"iat": now.Unix(), "exp": now.Add(exp).Unix(),
		"kubernetes.io": map[string]any{"namespace": "shop", "pod": map[string]any{"name": sa + "-0", "uid": "6f1c"}, "serviceaccount": map[string]any{"name": sa, "uid": "9a2b"}},
	}).Serialize()
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) get(path, host, auth string) (int, http.Header, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.agent.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestAgentAnswersAsTheRealAgent(t *testing.T) {
	e := newEnv(t)
	good := e.token("cart", time.Hour)
	cases := []struct {
		name, path, host, auth string
		status                 int
		body                   string // a regular expression
	}{
		{"other path", "/v1/other", "", good, 404, `^404 page not found\n$`},
		{"foreign host", "/v1/credentials", "example.com", good, 403, `^Access Denied\. Called agent through invalid address, please use either \[127\.0\.0\.1 169\.254\.170\.23 fd00:ec2::23\] address not example\.com\n$`},
		{"no token", "/v1/credentials", "", "", 400, `^Service account token cannot be empty\n$`},
		{"bearer prefix", "/v1/credentials", "", "Bearer " + good, 400, `^Service account token cannot be parsed: `},
		{"expired", "/v1/credentials", "", e.token("cart", -time.Minute), 400, `^Service account token failed basic claim validations: token has invalid claims: token is expired\n$`},
		{"eks-auth refuses", "/v1/credentials", "", e.token("nobody", time.Hour), 404, `^\[[0-9a-f-]{36}\]: \(ResourceNotFoundException\): No Pod Identity Association found for service account nobody in namespace shop of cluster demo\., fault: client\n$`},
		{"agent address", "/v1/credentials", "169.254.170.23", good, 200, `^\{"AccessKeyId":"ASIA[A-Z0-9]{16}","SecretAccessKey":"[^"]+","Token":"[^"]+","AccountId":"000000000000","Expiration":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\}$`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, h, body := e.get(c.path, c.host, c.auth)
			if status != c.status || !regexp.MustCompile(c.body).MatchString(body) {
				t.Fatalf("got %d %q, want %d matching %s", status, body, c.status, c.body)
			}
			want := "text/plain; charset=utf-8"
			if status == 200 {
				want = "application/json"
			}
			if ct := h.Get("Content-Type"); ct != want {
				t.Fatalf("Content-Type %q, want %q", ct, want)
			}
		})
	}
}

// TestSDKContainerProviderThroughTheAgent: aws-sdk-go-v2's own container
// credential provider gets credentials that STS recognises, and the agent
// caches them per token.
func TestSDKContainerProviderThroughTheAgent(t *testing.T) {
	e := newEnv(t)
	tok := e.token("cart", time.Hour)
	prov := endpointcreds.New(e.agent.URL+Path, func(o *endpointcreds.Options) { o.AuthorizationToken = tok })
	creds, err := prov.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccountID != "000000000000" || !creds.CanExpire || time.Until(creds.Expires) < 5*time.Hour {
		t.Fatalf("credentials: account %q expires %v", creds.AccountID, creds.Expires)
	}
	cfg := e.cfg.Copy()
	cfg.Credentials = aws.NewCredentialsCache(prov)
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || !strings.Contains(*who.Arn, ":assumed-role/cart/eks-demo-cart-0-") {
		t.Fatalf("GetCallerIdentity: %v %v", who, err)
	}
	again, err := prov.Retrieve(context.Background())
	if err != nil || again.AccessKeyID != creds.AccessKeyID {
		t.Fatalf("second retrieval: %v, key %s want the cached %s", err, again.AccessKeyID, creds.AccessKeyID)
	}
}

func TestAgentWithoutEKSAuth(t *testing.T) {
	a, err := New(Config{ClusterName: "demo", Endpoint: "http://127.0.0.1:1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	defer srv.Close()
	e := &env{t: t, agent: srv, keys: mustKeys(t), issuerURL: "https://example.com"}
	status, _, body := e.get(Path, IPv4Address, e.token("cart", time.Hour))
	if status != 500 || !strings.HasPrefix(body, "error getting credentials to cache: unable to fetch credentials from EKS Auth: operation error EKS Auth: AssumeRoleForPodIdentity, ") {
		t.Fatalf("unreachable EKS Auth: %d %q", status, body)
	}
}

func mustKeys(t *testing.T) *issuer.KeySet {
	ks, err := issuer.LoadOrCreateKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// FuzzAgent: whatever the path, Host and Authorization header, the agent
// answers without a 5xx (eks-auth is up), says why in its body, and gives
// credentials only for a token eks-auth accepts.
func FuzzAgent(f *testing.F) {
	e := newEnvTB(f)
	good := e.token("cart", time.Hour)
	f.Add("/v1/credentials", "169.254.170.23", good)
	f.Add("/v1/credentials", "[fd00:ec2::23]:80", "Bearer "+good)
	f.Add("/v1/credentials/../x", "127.0.0.1", "a.b.c")
	f.Add("/v1/credentials", "169.254.170.23", strings.Repeat("A", 5000))
	f.Fuzz(func(t *testing.T, path, host, auth string) {
		if !httpguts.ValidHostHeader(host) || !httpguts.ValidHeaderFieldValue(auth) {
			return // not expressible as an HTTP request
		}
		// As the server hands it over: the path already parsed.
		req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path}, Host: host, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
		req = req.WithContext(context.Background())
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rr := httptest.NewRecorder()
		e.handler.ServeHTTP(rr, req)
		body := rr.Body.String()
		switch {
		case rr.Code >= 500:
			t.Fatalf("%d %q", rr.Code, body)
		case body == "":
			t.Fatalf("%d with no body", rr.Code)
		case rr.Code == 200 && auth != good:
			t.Fatalf("credentials for Authorization %q", auth)
		}
	})
}
