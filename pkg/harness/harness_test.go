package harness

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	corev1 "k8s.io/api/core/v1"

	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// layoutOf is the state directory layout of e.
func layoutOf(e *Env) envdir.Layout { return envdir.Layout{Dir: e.StateDir()} }

// envValue is the value of the variable name in env, or "".
func envValue(env []corev1.EnvVar, name string) string {
	for _, v := range env {
		if v.Name == name {
			return v.Value
		}
	}
	return ""
}

func start(t *testing.T, dir string, opts ...Option) *Env {
	t.Helper()
	e, err := Start(context.Background(), append([]Option{WithStateDir(dir)}, opts...)...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	return e
}

func TestStartServesIssuerAndTokensVerify(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir)
	tok, err := e.Token(issuer.TokenRequest{Namespace: "default", ServiceAccount: "app", Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c, err := envdir.VerifyToken(context.Background(), layoutOf(e), tok, "sts.amazonaws.com")
	if err != nil {
		t.Fatalf("verify over HTTPS: %v", err)
	}
	if c.Subject != "system:serviceaccount:default:app" {
		t.Fatalf("sub %q", c.Subject)
	}
	if !strings.HasPrefix(e.IssuerURL(), "https://127.0.0.1:") || !strings.Contains(e.IssuerURL(), "/id/") {
		t.Fatalf("issuer URL %q is not https://127.0.0.1:PORT/id/ID", e.IssuerURL())
	}
	d, err := Inspect(layoutOf(e).Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Running || len(d.Components) != 3 {
		t.Fatalf("Inspect while running: %+v", d)
	}
	for _, c := range d.Components {
		if c.State != StateRunning {
			t.Errorf("component %s is %s", c.Name, c.State)
		}
	}
	if d.AWS.OIDCProviderARN == "" || !strings.HasPrefix(d.AWS.Endpoint, "http://127.0.0.1:") {
		t.Errorf("AWS side: %+v", d.AWS)
	}
}

func TestRestartKeepsIdentity(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir)
	url, kid := e.IssuerURL(), mustKeys(t, layoutOf(e)).SigningID
	if err := e.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	d, err := Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Running || len(d.Components) == 0 || d.Components[0].State != StateStopped {
		t.Fatalf("after Stop: running %v, components %+v", d.Running, d.Components)
	}
	e2 := start(t, dir)
	if e2.IssuerURL() != url || mustKeys(t, layoutOf(e2)).SigningID != kid {
		t.Fatalf("restart changed identity: %s %s -> %s %s", url, kid, e2.IssuerURL(), mustKeys(t, layoutOf(e2)).SigningID)
	}
}

func mustKeys(t *testing.T, l envdir.Layout) *issuer.KeySet {
	t.Helper()
	ks, err := envdir.Keys(l)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestTwoEnvironmentsSideBySide(t *testing.T) {
	a := start(t, t.TempDir(), WithName("a"))
	b := start(t, t.TempDir(), WithName("b"))
	if a.IssuerURL() == b.IssuerURL() {
		t.Fatal("two environments share an issuer URL")
	}
	for _, e := range []*Env{a, b} {
		resp, err := e.HTTPClient().Get(e.IssuerURL() + issuer.DiscoveryPath)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
}

func TestSecondStartOnSameStateDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	start(t, dir)
	_, err := Start(context.Background(), WithStateDir(dir))
	if !errors.Is(err, ErrRunning) {
		t.Fatalf("second Start: %v, want ErrRunning", err)
	}
}

func TestPortInUseIsOneClearLine(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	_, err = Start(context.Background(), WithStateDir(dir), WithIssuerPort(port))
	if err == nil {
		t.Fatal("Start on a port in use succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "127.0.0.1:"+strconv.Itoa(port)) || !strings.Contains(msg, "in use") || strings.Contains(msg, "\n") {
		t.Fatalf("error %q should be one line naming the port", msg)
	}
	// The failed start released the environment for the next attempt.
	if envdir.LockHeld(envdir.Layout{Dir: dir}.LockFile()) {
		t.Fatal("failed Start left the environment locked")
	}
}

func TestUnwritableStateDir(t *testing.T) {
	// A regular file where a directory should be fails for root too.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), WithStateDir(filepath.Join(file, "env")))
	// The library names the directory; flag advice is the CLI's to add.
	if err == nil || !strings.Contains(err.Error(), file) || strings.Contains(err.Error(), "--") {
		t.Fatalf("error %v should name the directory, and no CLI flag", err)
	}
}

func TestCorruptKeyIsReportedAndKept(t *testing.T) {
	dir := t.TempDir()
	e := start(t, dir)
	_ = e.Stop(context.Background())
	keyFile := filepath.Join(layoutOf(e).KeyDir(), issuer.SigningKeyFile)
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), WithStateDir(dir))
	if err == nil || !strings.Contains(err.Error(), keyFile) {
		t.Fatalf("error %v should name %s", err, keyFile)
	}
	if b, _ := os.ReadFile(keyFile); string(b) != "not a key" {
		t.Fatal("the damaged key file was replaced")
	}
}

func TestRotateAndRetireThroughRunningEnvironment(t *testing.T) {
	e := start(t, t.TempDir())
	req := issuer.TokenRequest{Namespace: "ns", ServiceAccount: "sa", Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour}
	old, err := e.Token(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.RotateKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	fresh, err := e.Token(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{old, fresh} {
		if _, err := envdir.VerifyToken(context.Background(), layoutOf(e), tok, ""); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
	}
	if _, err := e.RetireKeys(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := envdir.VerifyToken(context.Background(), layoutOf(e), old, ""); err == nil {
		t.Fatal("a token of a retired key still verifies")
	}
	if _, err := envdir.VerifyToken(context.Background(), layoutOf(e), fresh, ""); err != nil {
		t.Fatalf("after retiring: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for name, opt := range map[string]Option{
		"bad name":     WithName("Bad_Name"),
		"bad port":     WithIssuerPort(70000),
		"unknown mode": WithCluster("docker"),
	} {
		if _, err := Start(context.Background(), WithStateDir(t.TempDir()), opt); err == nil {
			t.Errorf("%s: Start succeeded", name)
		}
	}
}

func TestRoleHelpersAndWebIdentityConfig(t *testing.T) {
	e := start(t, t.TempDir(), WithInMemoryS3())
	ctx := context.Background()
	roleARN, err := e.CreateRole(ctx, "reader", TrustServiceAccount("team", "app"), "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
	if err != nil {
		t.Fatal(err)
	}
	nsRole, err := e.CreateRole(ctx, "team-wide", TrustServiceAccount("team", "*"))
	if err != nil {
		t.Fatal(err)
	}
	tokenFor := func(sa string) string {
		tok, err := e.Token(issuer.TokenRequest{Namespace: "team", ServiceAccount: sa, Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		role, sa string
		ok       bool
	}{
		{roleARN, "app", true},
		{roleARN, "other", false},
		{nsRole, "other", true},
	} {
		cfg := e.WebIdentityAWSConfig(tc.role, tokenFor(tc.sa))
		cfg.RetryMaxAttempts = 1
		who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if tc.ok && err != nil {
			t.Errorf("%s as team/%s: %v", tc.role, tc.sa, err)
		}
		if !tc.ok && !IsAWSError(err, "AccessDenied") {
			t.Errorf("%s as team/%s: %v, want AccessDenied", tc.role, tc.sa, err)
		}
		if tc.ok && err == nil && !strings.Contains(*who.Arn, ":assumed-role/") {
			t.Errorf("caller %s", *who.Arn)
		}
	}
}

func TestClusterModesMatchTheStateDirectory(t *testing.T) {
	for _, c := range [][2]any{
		{ClusterNone, envdir.ClusterNone}, {ClusterLocal, envdir.ClusterLocal}, {ClusterKind, envdir.ClusterKind},
	} {
		if c[0] != c[1] {
			t.Errorf("harness says %v, the state directory %v", c[0], c[1])
		}
	}
}
