package issuer

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/irsa-local/irsa-local/internal/golden"
)

// The expected kid was computed outside Go, from the same key file:
//
//	openssl rsa -in testdata/vector.key -pubout -outform DER |
//	  openssl dgst -sha256 -binary | basenc --base64url | tr -d '='
const vectorKID = "TixlFwYG8GuQLzp2DfhfSZIR9GekvwhubGX7y0vHFuw"

func TestKeyIDMatchesIndependentVector(t *testing.T) {
	b, err := os.ReadFile("testdata/vector.key")
	if err != nil {
		t.Fatal(err)
	}
	key, err := parseSigningKey(b)
	if err != nil {
		t.Fatal(err)
	}
	kid, err := KeyID(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if kid != vectorKID {
		t.Fatalf("KeyID = %q, want %q", kid, vectorKID)
	}
}

func TestConstructGolden(t *testing.T) {
	got, err := json.MarshalIndent(Construct("https://127.0.0.1:8443/id/0123456789ABCDEF0123456789ABCDEF"), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/discovery.golden.json", append(got, '\n'))
}

func TestJWKSGolden(t *testing.T) {
	b, _ := os.ReadFile("testdata/vector.key")
	key, err := parseSigningKey(b)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := newKeySet(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(JWKS(ks), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/jwks.golden.json", append(got, '\n'))
}

// testIssuer serves an issuer over HTTPS with a leaf of a fresh CA, the way
// an environment does, and returns its URL and the CA.
type testIssuer struct {
	url     string
	ca      *CA
	dir     string
	handler *Handler
}

func startIssuer(t *testing.T) *testIssuer {
	t.Helper()
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(filepath.Join(dir, "pki"), "test CA")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := LoadOrCreateKeys(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Leaf(filepath.Join(dir, "pki"), "issuer", []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	u := URL("127.0.0.1", port, NewID())
	h, err := NewHandler(u, ks)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &testIssuer{url: u, ca: ca, dir: dir, handler: h}
}

// client trusts only the environment CA, as a user's curl --cacert would.
func (ti *testIssuer) client() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ti.ca.Pool(), MinVersion: tls.VersionTLS12}}}
}

func (ti *testIssuer) keys(t *testing.T) *KeySet {
	t.Helper()
	ks, err := LoadKeys(filepath.Join(ti.dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// verify checks tok with go-oidc against the served discovery document.
func (ti *testIssuer) verify(t *testing.T, tok string) (*oidc.IDToken, error) {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), ti.client())
	p, err := oidc.NewProvider(ctx, ti.url)
	if err != nil {
		t.Fatalf("discover issuer: %v", err)
	}
	return p.Verifier(&oidc.Config{ClientID: "sts.amazonaws.com"}).Verify(ctx, tok)
}

func TestServedDocumentsOverHTTPS(t *testing.T) {
	ti := startIssuer(t)
	c := ti.client()
	for _, tc := range []struct{ path, contentType string }{
		{DiscoveryPath, "application/json"},
		{JWKSPath, "application/jwk-set+json"},
		{APIServerJWKSPath, "application/jwk-set+json"},
	} {
		resp, err := c.Get(ti.url + tc.path)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		var body map[string]any
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("decode %s: %v", tc.path, err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.contentType || resp.Header.Get("Cache-Control") != "public, max-age=3600" {
			t.Errorf("GET %s: status %d, Content-Type %q, Cache-Control %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
		}
		if tc.path == DiscoveryPath && (body["issuer"] != ti.url || body["jwks_uri"] != ti.url+"/keys") {
			t.Errorf("discovery issuer %v, jwks_uri %v; want %s and %s/keys", body["issuer"], body["jwks_uri"], ti.url, ti.url)
		}
		if tc.path != DiscoveryPath {
			keys, _ := body["keys"].([]any)
			if len(keys) != 1 || keys[0].(map[string]any)["kid"] != ti.keys(t).SigningID {
				t.Errorf("GET %s: keys %v, want the signing key's kid", tc.path, keys)
			}
		}
	}
	// A path outside the issuer's is not served.
	resp, err := c.Get(strings.Replace(ti.url, "/id/", "/other/", 1) + DiscoveryPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("foreign path: status %d, want 404", resp.StatusCode)
	}
}

func TestServerPresentsLeafAndCA(t *testing.T) {
	ti := startIssuer(t)
	host := strings.TrimPrefix(strings.SplitN(ti.url, "/id/", 2)[0], "https://")
	conn, err := tls.Dial("tcp", host, &tls.Config{RootCAs: ti.ca.Pool(), MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) != 2 {
		t.Fatalf("server presented %d certificates, want leaf and CA", len(certs))
	}
	if !bytes.Equal(certs[len(certs)-1].Raw, ti.ca.Cert.Raw) {
		t.Fatal("last certificate presented is not the CA")
	}
	if len(ti.ca.Thumbprint()) != 40 {
		t.Fatalf("thumbprint %q is not 40 hex digits", ti.ca.Thumbprint())
	}
}

func TestMintedTokenVerifiesWithGoOIDC(t *testing.T) {
	ti := startIssuer(t)
	tok, err := Mint(ti.url, ti.keys(t), TokenRequest{Namespace: "default", ServiceAccount: "s3-reader", Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	idt, err := ti.verify(t, tok)
	if err != nil {
		t.Fatalf("verify minted token: %v", err)
	}
	if idt.Subject != "system:serviceaccount:default:s3-reader" || idt.Issuer != ti.url {
		t.Fatalf("subject %q issuer %q", idt.Subject, idt.Issuer)
	}
	// The claims keep the apiserver's shape: aud is an array, the
	// kubernetes.io claim names the namespace and service account.
	parts := strings.Split(tok, ".")
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var h map[string]any
	var c map[string]any
	if err := json.Unmarshal(header, &h); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	if h["alg"] != "RS256" || h["kid"] != ti.keys(t).SigningID || h["typ"] != nil {
		t.Errorf("header %v: want alg RS256, the signing kid, no typ", h)
	}
	if _, ok := c["aud"].([]any); !ok {
		t.Errorf("aud %v is not an array", c["aud"])
	}
	for _, k := range []string{"iss", "sub", "exp", "iat", "nbf", "jti"} {
		if c[k] == nil {
			t.Errorf("claim %s missing", k)
		}
	}
	k8s, _ := c["kubernetes.io"].(map[string]any)
	sa, _ := k8s["serviceaccount"].(map[string]any)
	if k8s["namespace"] != "default" || sa["name"] != "s3-reader" || sa["uid"] != ServiceAccountUID("default", "s3-reader") {
		t.Errorf("kubernetes.io claim %v", k8s)
	}
}

func TestMintRejectsBadRequests(t *testing.T) {
	ti := startIssuer(t)
	ks := ti.keys(t)
	for name, req := range map[string]TokenRequest{
		"no namespace": {ServiceAccount: "a", Audiences: []string{"x"}, Duration: time.Hour},
		"no audience":  {Namespace: "n", ServiceAccount: "a", Duration: time.Hour},
		"too short":    {Namespace: "n", ServiceAccount: "a", Audiences: []string{"x"}, Duration: time.Minute},
	} {
		if _, err := Mint(ti.url, ks, req); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestRotationKeepsOldTokensUntilRetired(t *testing.T) {
	ti := startIssuer(t)
	keyDir := filepath.Join(ti.dir, "keys")
	req := TokenRequest{Namespace: "default", ServiceAccount: "app", Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour}
	oldTok, err := Mint(ti.url, ti.keys(t), req)
	if err != nil {
		t.Fatal(err)
	}
	oldKID := ti.keys(t).SigningID

	ks, err := RotateKeys(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	if ks.SigningID == oldKID || len(ks.Published) != 2 {
		t.Fatalf("after rotation: signing %s, %d published; want a new key and both published", ks.SigningID, len(ks.Published))
	}
	if err := ti.handler.SetKeys(ks); err != nil {
		t.Fatal(err)
	}
	newTok, err := Mint(ti.url, ks, req)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
		if _, err := ti.verify(t, tok); err != nil {
			t.Errorf("after rotation, %s token: %v", name, err)
		}
	}

	ks, retired, err := RetireKeys(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(retired) != 1 || retired[0] != oldKID {
		t.Fatalf("retired %v, want [%s]", retired, oldKID)
	}
	if err := ti.handler.SetKeys(ks); err != nil {
		t.Fatal(err)
	}
	if _, err := ti.verify(t, newTok); err != nil {
		t.Errorf("after retiring, new token: %v", err)
	}
	if _, err := ti.verify(t, oldTok); err == nil {
		t.Error("after retiring, the old token still verifies")
	}
}

func TestRetireRefusesSigningAndUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	ks, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := RetireKeys(dir, ks.SigningID); err == nil || !strings.Contains(err.Error(), "rotate") {
		t.Errorf("retiring the signing key: %v, want a hint to rotate first", err)
	}
	if _, _, err := RetireKeys(dir, "nope"); err == nil {
		t.Error("retiring an unknown kid: want an error")
	}
	if _, retired, err := RetireKeys(dir); err != nil || len(retired) != 0 {
		t.Errorf("retiring with nothing to retire: %v, %v", retired, err)
	}
}

func TestKeysPersistWithPrivateModes(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if first.SigningID != second.SigningID {
		t.Fatal("loading an existing key set made a new key")
	}
	for _, f := range []string{SigningKeyFile, VerificationKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", f, fi.Mode().Perm())
		}
	}
}

func TestDamagedKeysAreReportedNotReplaced(t *testing.T) {
	for name, tc := range map[string]struct {
		damage func(dir string)
		want   string
	}{
		"corrupt signing key": {func(dir string) { _ = os.WriteFile(filepath.Join(dir, SigningKeyFile), []byte("garbage"), 0o600) }, "no PEM block"},
		"truncated key":       {func(dir string) { truncate(filepath.Join(dir, SigningKeyFile)) }, SigningKeyFile},
		"readable by others":  {func(dir string) { _ = os.Chmod(filepath.Join(dir, SigningKeyFile), 0o644) }, "chmod 600"},
		"missing public keys": {func(dir string) { _ = os.Remove(filepath.Join(dir, VerificationKeyFile)) }, "missing"},
		"mismatched pair": {func(dir string) {
			other := filepath.Join(dir, "other")
			_, _ = LoadOrCreateKeys(other)
			b, _ := os.ReadFile(filepath.Join(other, VerificationKeyFile))
			_ = os.WriteFile(filepath.Join(dir, VerificationKeyFile), b, 0o600)
		}, "different key sets"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := LoadOrCreateKeys(dir); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(filepath.Join(dir, SigningKeyFile))
			tc.damage(dir)
			_, err := LoadOrCreateKeys(dir)
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("got %v, want a KeyError", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q should name the file and contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
			after, _ := os.ReadFile(filepath.Join(dir, SigningKeyFile))
			if name != "corrupt signing key" && name != "truncated key" && !bytes.Equal(before, after) {
				t.Error("the signing key file was rewritten")
			}
		})
	}
}

func truncate(path string) {
	b, _ := os.ReadFile(path)
	_ = os.WriteFile(path, b[:len(b)/2], 0o600)
}

func TestLeafIsReusedAndReissued(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir, "test CA")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ca.Leaf(dir, "issuer", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ca.Leaf(dir, "issuer", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Certificate[0], b.Certificate[0]) {
		t.Error("an unchanged leaf was reissued")
	}
	c, err := ca.Leaf(dir, "issuer", []string{"127.0.0.1", "issuer.example"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Certificate[0], c.Certificate[0]) {
		t.Error("a leaf missing a host was reused")
	}
	again, err := LoadOrCreateCA(dir, "test CA")
	if err != nil {
		t.Fatal(err)
	}
	if again.Thumbprint() != ca.Thumbprint() {
		t.Error("reloading the CA changed it")
	}
}

func TestURLAndID(t *testing.T) {
	id := NewID()
	if len(id) != 32 || strings.ToUpper(id) != id || strings.Trim(id, "0123456789ABCDEF") != "" {
		t.Fatalf("NewID() = %q, want 32 upper-case hex digits", id)
	}
	for _, tc := range []struct {
		host string
		port int
		want string
	}{
		{"127.0.0.1", 8443, "https://127.0.0.1:8443/id/" + id},
		{"oidc.example", 443, "https://oidc.example/id/" + id},
		{"::1", 8443, "https://[::1]:8443/id/" + id},
	} {
		if got := URL(tc.host, tc.port, id); got != tc.want {
			t.Errorf("URL(%q, %d) = %q, want %q", tc.host, tc.port, got, tc.want)
		}
	}
}

func TestDecodeShowsClaimsWithoutVerifying(t *testing.T) {
	ks, err := LoadOrCreateKeys(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	tok, err := Mint("https://issuer.example/id/X", ks, TokenRequest{Namespace: "ns", ServiceAccount: "sa", Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(tok)
	if err != nil {
		t.Fatal(err)
	}
	if d.Header["kid"] != ks.SigningID || d.Claims["sub"] != "system:serviceaccount:ns:sa" {
		t.Errorf("decoded %+v", d)
	}
	if exp, ok := NumericTime(d.Claims["exp"]); !ok || !exp.Equal(now.Add(time.Hour)) {
		t.Errorf("exp %v", d.Claims["exp"])
	}
	for _, bad := range []string{"", "not a token", "a.b", "!!.e30.x", "e30.!!.x"} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("Decode(%q) succeeded", bad)
		}
	}
}
