package local

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func testPlan() *plan {
	cfg := Config{
		Dir:                 "/state/cluster",
		IssuerURL:           "https://127.0.0.1:12345/id/TEST",
		SigningKeyFile:      "/state/keys/sa.key",
		VerificationKeyFile: "/state/keys/sa.pub",
		APIAudiences:        []string{"extra", STSAudience},
	}
	if err := cfg.validate(); err != nil {
		panic(err)
	}
	return &plan{
		cfg:           cfg,
		layout:        layout{dir: cfg.Dir},
		ports:         Ports{APIServer: 6443, EtcdClient: 2379, EtcdPeer: 2380, ControllerManager: 10257},
		servingCAFile: "/state/pki/ca.crt",
	}
}

func TestAPIAudiences(t *testing.T) {
	got := testPlan().cfg.apiAudiences()
	want := []string{"https://127.0.0.1:12345/id/TEST", InClusterAudience, STSAudience, "extra"}
	if !slices.Equal(got, want) {
		t.Errorf("apiAudiences = %v, want %v", got, want)
	}
}

func TestAPIServerArgs(t *testing.T) {
	args := testPlan().apiServerArgs()
	for _, want := range []string{
		"--etcd-servers=http://127.0.0.1:2379",
		"--secure-port=6443",
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.96.0.0/12",
		"--allow-privileged=true",
		"--service-account-issuer=https://127.0.0.1:12345/id/TEST",
		"--service-account-signing-key-file=/state/keys/sa.key",
		"--service-account-key-file=/state/keys/sa.pub",
		"--api-audiences=https://127.0.0.1:12345/id/TEST,https://kubernetes.default.svc,sts.amazonaws.com,extra",
		"--client-ca-file=/state/cluster/pki/client-ca/ca.crt",
		"--tls-cert-file=/state/cluster/pki/kube-apiserver.crt",
		"--tls-private-key-file=/state/cluster/pki/kube-apiserver.key",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("apiserver args lack %s", want)
		}
	}
	var plugins string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--enable-admission-plugins="); ok {
			plugins = v
		}
	}
	for _, p := range []string{"ServiceAccount", "MutatingAdmissionWebhook"} {
		if !slices.Contains(strings.Split(plugins, ","), p) {
			t.Errorf("admission plugins %q lack %s", plugins, p)
		}
	}
}

func TestControllerManagerArgs(t *testing.T) {
	args := testPlan().controllerManagerArgs()
	for _, want := range []string{
		"--controllers=*",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file=/state/keys/sa.key",
		"--root-ca-file=/state/pki/ca.crt",
		"--kubeconfig=/state/cluster/kube-controller-manager.kubeconfig",
		"--secure-port=10257",
		"--bind-address=127.0.0.1",
		"--leader-elect=false",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("controller-manager args lack %s", want)
		}
	}
}

func TestEtcdArgs(t *testing.T) {
	args := testPlan().etcdArgs()
	for _, want := range []string{
		"--data-dir=/state/cluster/etcd",
		"--listen-client-urls=http://127.0.0.1:2379",
		"--listen-peer-urls=http://127.0.0.1:2380",
		"--initial-cluster=irsa-local=http://127.0.0.1:2380",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("etcd args lack %s", want)
		}
	}
}

func TestAPIServerHostsIncludeServiceIP(t *testing.T) {
	hosts := testPlan().apiServerHosts()
	for _, want := range []string{"127.0.0.1", "localhost", "kubernetes.default.svc", "10.96.0.1"} {
		if !slices.Contains(hosts, want) {
			t.Errorf("hosts %v lack %s", hosts, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	var c Config
	err := c.validate()
	if err == nil || !strings.Contains(err.Error(), "Dir") || !strings.Contains(err.Error(), "IssuerURL") {
		t.Errorf("empty config: err = %v, want it to name the missing fields", err)
	}
	c = Config{Dir: "d", IssuerURL: "http://x", SigningKeyFile: "k", VerificationKeyFile: "p"}
	if err := c.validate(); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("http issuer: err = %v", err)
	}
	c.IssuerURL = "https://x"
	if err := c.validate(); err != nil || c.ServiceClusterIPRange != DefaultServiceClusterIPRange || c.ContextName != DefaultContextName {
		t.Errorf("defaults: err = %v, config %+v", err, c)
	}
}

// fakeBinaries are shell scripts standing in for the components, for the
// failure paths that need no real binary.
func fakeBinaries(t *testing.T, etcdScript string) Binaries {
	t.Helper()
	dir := t.TempDir()
	write := func(name, script string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return Binaries{
		Etcd:                  write(Etcd, etcdScript),
		KubeAPIServer:         write(KubeAPIServer, "exit 1\n"),
		KubeControllerManager: write(KubeControllerManager, "exit 1\n"),
	}
}

func minimalConfig(t *testing.T) Config {
	t.Helper()
	dir := t.TempDir()
	return Config{
		Dir:                 filepath.Join(dir, "cluster"),
		IssuerURL:           "https://127.0.0.1:12345/id/TEST",
		SigningKeyFile:      filepath.Join(dir, "sa.key"),
		VerificationKeyFile: filepath.Join(dir, "sa.pub"),
	}
}

func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	cfg := minimalConfig(t)
	cfg.Binaries = fakeBinaries(t, "exit 1\n")
	cfg.SecurePort = port
	_, err = Start(context.Background(), cfg)
	if err == nil {
		t.Fatal("Start succeeded on a port in use")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "start kube-apiserver: port "+strconv.Itoa(port)+" ") || !strings.Contains(msg, "in use") {
		t.Errorf("error = %q, want one line naming kube-apiserver and port %d", msg, port)
	}
	if pids, _ := filepath.Glob(filepath.Join(cfg.Dir, "*.pid")); len(pids) != 0 {
		t.Errorf("processes started although the port check failed: %v", pids)
	}
}

func TestExitDuringStartup(t *testing.T) {
	cfg := minimalConfig(t)
	cfg.Binaries = fakeBinaries(t, "echo 'starting up'\necho 'fatal: cannot open data dir' >&2\nexit 3\n")
	_, err := Start(context.Background(), cfg)
	if err == nil {
		t.Fatal("Start succeeded with an etcd that exits")
	}
	msg := err.Error()
	for _, want := range []string{"start etcd: exited during start-up (exit status 3)", "fatal: cannot open data dir", filepath.Join(cfg.Dir, "etcd.log")} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "etcd.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file of the failed start kept: %v", err)
	}
}

func TestStartTimeoutStopsTheComponent(t *testing.T) {
	cfg := minimalConfig(t)
	cfg.Binaries = fakeBinaries(t, "exec sleep 60\n")
	start := time.Now()
	_, err := Start(context.Background(), cfg, WithStartTimeout(300*time.Millisecond), WithStopGracePeriod(time.Second))
	if err == nil {
		t.Fatal("Start succeeded with an etcd that never answers")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "start etcd: not ready after") || !strings.Contains(msg, "etcd.log") {
		t.Errorf("error = %q", msg)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("Start took %s to give up", time.Since(start))
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "etcd.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file of the undone start kept: %v", err)
	}
}

func TestMissingBinary(t *testing.T) {
	root := t.TempDir()
	for _, name := range components {
		t.Setenv("TEST_ASSET_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_")), "")
	}
	t.Setenv("KUBEBUILDER_ASSETS", "")
	t.Setenv("XDG_CACHE_HOME", filepath.Join(root, "cache"))
	t.Setenv("PATH", filepath.Join(root, "path"))
	t.Chdir(root)
	cfg := minimalConfig(t)
	_, err := Start(context.Background(), cfg)
	if err == nil {
		t.Fatal("Start succeeded without binaries")
	}
	msg := err.Error()
	for _, want := range []string{"start etcd: find etcd: not found in ", "$TEST_ASSET_ETCD (unset)", "$KUBEBUILDER_ASSETS (unset)", "$PATH", "make k8s-assets", "irsa-local assets build"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
}

func TestStartCancelled(t *testing.T) {
	cfg := minimalConfig(t)
	cfg.Binaries = fakeBinaries(t, "exec sleep 60\n")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := Start(ctx, cfg, WithStopGracePeriod(time.Second))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "start etcd: ") {
		t.Errorf("Start with an expiring context: err = %v, want start etcd: ... deadline exceeded", err)
	}
}
