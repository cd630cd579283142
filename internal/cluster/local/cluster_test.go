package local_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/irsa-local/irsa-local/internal/assets"
	"github.com/irsa-local/irsa-local/internal/cluster/local"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

const testIssuer = "https://127.0.0.1:12345/id/TEST"

// requireBinaries decides whether an integration test runs. Under -short it
// is skipped; otherwise missing binaries fail it with the finder's message,
// so a run without them never passes silently. Build them with
// `make k8s-assets`.
func requireBinaries(t testing.TB) {
	t.Helper()
	var missing []string
	for _, name := range []string{assets.Etcd, assets.KubeAPIServer, assets.KubeControllerManager} {
		if _, err := assets.Find(name); err != nil {
			missing = append(missing, err.Error())
		}
	}
	if testing.Short() {
		reason := "integration test against real etcd, kube-apiserver and kube-controller-manager; skipped under -short"
		if len(missing) > 0 {
			reason += " (and binaries missing: " + strings.Join(missing, "; ") + ")"
		}
		t.Skip(reason)
	}
	if len(missing) > 0 {
		t.Fatal(strings.Join(missing, "\n"))
	}
}

type env struct {
	keys *issuer.KeySet
	cfg  local.Config
}

// newEnv makes what an irsa-local environment gives the cluster: a fresh
// RSA key pair in the issuer's files and, when withCA, the environment CA.
func newEnv(t testing.TB, withCA bool) env {
	t.Helper()
	root := t.TempDir()
	keyDir := filepath.Join(root, "keys")
	keys, err := issuer.LoadOrCreateKeys(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := local.Config{
		Dir:                 filepath.Join(root, "cluster"),
		IssuerURL:           testIssuer,
		SigningKeyFile:      filepath.Join(keyDir, issuer.SigningKeyFile),
		VerificationKeyFile: filepath.Join(keyDir, issuer.VerificationKeyFile),
	}
	if withCA {
		if cfg.ServingCA, err = issuer.LoadOrCreateCA(filepath.Join(root, "pki"), "test CA"); err != nil {
			t.Fatal(err)
		}
	}
	return env{keys: keys, cfg: cfg}
}

func start(t *testing.T, cfg local.Config) *local.Cluster {
	t.Helper()
	begin := time.Now()
	c, err := local.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster ready in %s (ports %+v)", time.Since(begin).Round(time.Millisecond), c.Ports())
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	// Runs before the Stop above: on failure, show what the components said.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, s := range c.Status() {
			t.Logf("%s: %+v", s.Name, s)
			if b, err := os.ReadFile(s.LogFile); err == nil {
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				t.Logf("last lines of %s:\n%s", s.LogFile, strings.Join(lines[max(0, len(lines)-15):], "\n"))
			}
		}
	})
	return c
}

func clientset(t *testing.T, c *local.Cluster) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// eventually polls f until it returns nil or the time is up.
func eventually(t *testing.T, what string, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestCluster(t *testing.T) {
	requireBinaries(t)
	e := newEnv(t, true)
	c := start(t, e.cfg)
	cs := clientset(t, c)
	ctx := context.Background()

	t.Run("status", func(t *testing.T) {
		st := c.Status()
		if len(st) != 3 {
			t.Fatalf("Status = %+v, want three components", st)
		}
		for i, name := range []string{local.Etcd, local.KubeAPIServer, local.KubeControllerManager} {
			if st[i].Name != name || st[i].State != local.StateRunning || st[i].PID == 0 || st[i].Exit != "" {
				t.Errorf("component %d = %+v, want %s running", i, st[i], name)
			}
		}
	})

	t.Run("kubeconfig", func(t *testing.T) {
		rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
		if err != nil {
			t.Fatal(err)
		}
		if want := "https://127.0.0.1:" + strconv.Itoa(c.Ports().APIServer); rc.Host != want {
			t.Errorf("kubeconfig server = %q, want %q", rc.Host, want)
		}
		kc, err := kubernetes.NewForConfig(rc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kc.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); err != nil {
			t.Fatalf("admin from kubeconfig cannot read kube-system: %v", err)
		}
		v, err := kc.Discovery().ServerVersion()
		if err != nil {
			t.Fatal(err)
		}
		if v.GitVersion != assets.KubernetesVersion {
			t.Errorf("server version %q, want %s", v.GitVersion, assets.KubernetesVersion)
		}
	})

	t.Run("controller-manager populates namespaces", func(t *testing.T) {
		eventually(t, "default ServiceAccount in default", 30*time.Second, func() error {
			_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
			return err
		})
		var cm *corev1.ConfigMap
		eventually(t, "kube-root-ca.crt in default", 30*time.Second, func() (err error) {
			cm, err = cs.CoreV1().ConfigMaps("default").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
			return err
		})
		if got, want := cm.Data["ca.crt"], string(e.cfg.ServingCA.CertPEM); got != want {
			t.Errorf("kube-root-ca.crt holds\n%s\nwant the serving CA\n%s", got, want)
		}
	})

	t.Run("token request", func(t *testing.T) {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "irsa-app", Namespace: "default"}}
		if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		exp := int64(86400)
		tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, "irsa-app", &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{Audiences: []string{local.STSAudience}, ExpirationSeconds: &exp},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		header, claims := verifyJWT(t, tr.Status.Token, &e.keys.Signing.PublicKey)
		kid, err := issuer.KeyID(&e.keys.Signing.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if header.Alg != "RS256" || header.Kid != kid {
			t.Errorf("header = %+v, want RS256 with kid %s", header, kid)
		}
		if claims.Iss != testIssuer {
			t.Errorf("iss = %q, want %q", claims.Iss, testIssuer)
		}
		if claims.Sub != "system:serviceaccount:default:irsa-app" {
			t.Errorf("sub = %q", claims.Sub)
		}
		if !slices.Equal(claims.Aud, []string{local.STSAudience}) {
			t.Errorf("aud = %q, want [%s]", claims.Aud, local.STSAudience)
		}
		if claims.Exp-claims.Iat != 86400 {
			t.Errorf("lifetime = %d s, want 86400", claims.Exp-claims.Iat)
		}
	})

	t.Run("mutating webhook configuration", func(t *testing.T) {
		url := "https://127.0.0.1:1/mutate"
		fail := admissionregistrationv1.Ignore
		none := admissionregistrationv1.SideEffectClassNone
		mwc := &admissionregistrationv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "irsa-local-test"},
			Webhooks: []admissionregistrationv1.MutatingWebhook{{
				Name:                    "pod-identity.irsa-local.test",
				ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: e.cfg.ServingCA.CertPEM},
				Rules:                   []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create}, Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}},
				FailurePolicy:           &fail,
				SideEffects:             &none,
				AdmissionReviewVersions: []string{"v1"},
			}},
		}
		if _, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "irsa-local-test", metav1.GetOptions{})
		if err != nil || len(got.Webhooks) != 1 {
			t.Fatalf("read back: %v, %+v", err, got)
		}
	})

	t.Run("stop", func(t *testing.T) {
		var pids []int
		for _, s := range c.Status() {
			pids = append(pids, s.PID)
		}
		port := c.Ports().APIServer
		begin := time.Now()
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("stopped in %s", time.Since(begin).Round(time.Millisecond))
		for i, pid := range pids {
			if alive(pid) {
				t.Errorf("process %d (%s) still exists after Stop", pid, c.Status()[i].Name)
			}
		}
		for _, s := range c.Status() {
			if s.State != local.StateStopped {
				t.Errorf("%s state after Stop = %s, want %s", s.Name, s.State, local.StateStopped)
			}
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("apiserver port %d still taken after Stop: %v", port, err)
		}
		l.Close()
		if pidFiles, _ := filepath.Glob(filepath.Join(c.Dir(), "*.pid")); len(pidFiles) != 0 {
			t.Errorf("pid files left: %v", pidFiles)
		}
		if err := c.Stop(ctx); err != nil {
			t.Errorf("second Stop: %v", err)
		}
	})
}

// TestCrashAndStaleRestart kills the apiserver behind the cluster's back,
// then starts again in the same directory as a new owner would after its
// predecessor was killed: the leftover etcd and controller-manager are
// stopped, and the objects in etcd are still there.
func TestCrashAndStaleRestart(t *testing.T) {
	requireBinaries(t)
	e := newEnv(t, false)
	first := start(t, e.cfg)
	ctx := context.Background()
	cs := clientset(t, first)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	api := first.Status()[1]
	if err := syscall.Kill(api.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var st local.ComponentStatus
	eventually(t, "apiserver reported exited", 10*time.Second, func() error {
		st = first.Status()[1]
		if st.State != local.StateExited {
			return errors.New("state " + st.State)
		}
		return nil
	})
	if st.Exit != "signal: killed" || st.LastLogLine == "" || st.LogFile == "" {
		t.Errorf("status of the killed apiserver = %+v, want exit 'signal: killed' with its last log line", st)
	}
	for _, s := range []local.ComponentStatus{first.Status()[0], first.Status()[2]} {
		if s.State != local.StateRunning {
			t.Errorf("%s = %+v, want still running", s.Name, s)
		}
	}

	// The first owner never calls Stop: as if it had been SIGKILLed.
	leftovers := []int{first.Status()[0].PID, first.Status()[2].PID}
	second := start(t, e.cfg)
	for _, pid := range leftovers {
		if alive(pid) {
			t.Errorf("leftover process %d still running after a new Start", pid)
		}
	}
	cs2 := clientset(t, second)
	if _, err := cs2.CoreV1().Namespaces().Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Errorf("namespace created before the restart: %v", err)
	}
	if _, err := cs2.CoreV1().Namespaces().Get(ctx, "never-created", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get of a missing namespace: %v, want NotFound", err)
	}
	if err := second.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Stop(ctx); err != nil {
		t.Errorf("Stop of the crashed cluster: %v", err)
	}
}

// BenchmarkStartStop reports how long Start takes until every component is
// ready, and how long Stop takes, once the binaries exist.
func BenchmarkStartStop(b *testing.B) {
	requireBinaries(b)
	e := newEnv(b, true)
	ctx := context.Background()
	var startTotal, stopTotal time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		c, err := local.Start(ctx, e.cfg)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := c.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		startTotal += t1.Sub(t0)
		stopTotal += time.Since(t1)
		n++
	}
	b.ReportMetric(float64(startTotal.Milliseconds())/float64(n), "start-ms/op")
	b.ReportMetric(float64(stopTotal.Milliseconds())/float64(n), "stop-ms/op")
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

type jwtClaims struct {
	Iss string   `json:"iss"`
	Sub string   `json:"sub"`
	Aud []string `json:"aud"`
	Iat int64    `json:"iat"`
	Exp int64    `json:"exp"`
}

// verifyJWT checks an RS256 signature with pub and decodes the token.
func verifyJWT(t *testing.T, token string, pub *rsa.PublicKey) (jwtHeader, jwtClaims) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("token signature does not verify with the signing key: %v", err)
	}
	var h jwtHeader
	var c jwtClaims
	for i, v := range []any{&h, &c} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	return h, c
}
