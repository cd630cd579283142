package engine

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/irsa-local/irsa-local/internal/backend"
	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/internal/testenv"
)

// The tests of what only the engine sees: its listeners, ports, status
// file, webhook and backend processes. What a user of package harness does
// is tested there.

func start(t *testing.T, dir string, opts ...Option) *Env {
	t.Helper()
	e, err := Start(context.Background(), append([]Option{WithStateDir(dir)}, opts...)...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	return e
}

func requireMoto(t *testing.T) { testenv.Tool(t, backend.MotoBinary) }

func component(e *Env, name string) Component {
	for _, c := range e.Describe(context.Background()).Components {
		if c.Name == name {
			return c
		}
	}
	return Component{}
}

func state(e *Env, name string) string { return component(e, name).State }

// A killed moto_server is reported as failed, with how it ended.
func TestBackendKilledIsReportedFailed(t *testing.T) {
	requireMoto(t)
	e := start(t, t.TempDir(), WithBackend(BackendMoto))
	pid := e.moto.Status().PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for state(e, "backend") != StateFailed && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	comp := component(e, "backend")
	if comp.State != StateFailed || !strings.Contains(comp.Error, "signal: killed") {
		t.Errorf("backend after kill -9: %+v", comp)
	}
}

// Idle keep-alive connections are closed, and an oversized header block
// is refused, on every listener the environment opens.
func TestListenersCloseIdleConnectionsAndLimitHeaders(t *testing.T) {
	defer func(d time.Duration) { idleTimeout = d }(idleTimeout)
	idleTimeout = 300 * time.Millisecond
	e := start(t, t.TempDir())
	addr := strings.TrimPrefix(e.AWSEndpoint(), "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /_irsa-local/health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: %v, want closed by the server", err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.AWSEndpoint()+"/_irsa-local/health", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 128<<10))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("128 KiB header: %s, want 431", resp.Status)
	}
}

// A process that died while running leaves its components reported as
// failed, with its log's last line; never as running.
func TestInspectAfterACrash(t *testing.T) {
	l := envdir.Layout{Dir: t.TempDir()}
	if err := envdir.Prepare(l); err != nil {
		t.Fatal(err)
	}
	c := &envdir.Config{Version: envdir.ConfigVersion, Name: "dev", IssuerID: "ABC", IssuerHost: "127.0.0.1", IssuerPort: 8443, AWSPort: 1, Cluster: ClusterNone}
	if err := envdir.SaveConfig(l, c); err != nil {
		t.Fatal(err)
	}
	d := describeConfig(l, c)
	d.PID = 4242
	d.Components = []Component{{Name: "issuer", State: StateRunning}, {Name: "aws", State: StateStopped}}
	if err := writeStatusFile(l, d); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.LogFile(), []byte("starting\nlisten tcp: address already in use\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Inspect(l.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Running || got.PID != 0 {
		t.Errorf("no process holds the lock, yet running %v pid %d", got.Running, got.PID)
	}
	if got.Components[0].State != StateFailed || !strings.Contains(got.Components[0].Error, "pid 4242") || !strings.Contains(got.Components[0].Error, "address already in use") {
		t.Errorf("crashed component: %+v", got.Components[0])
	}
	if got.Components[1].State != StateStopped {
		t.Errorf("a stopped component became %s", got.Components[1].State)
	}
}

// Ports recorded for later are taken below the ephemeral range, where no
// outgoing connection of a busy machine can be handed them meanwhile.
func TestFreePortIsOutsideTheEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	for range 50 {
		port, err := freePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if port < minFixedPort || port >= low {
			t.Fatalf("port %d outside [%d, %d)", port, minFixedPort, low)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("port %d is not free: %v", port, err)
		}
		l.Close()
	}
}

func TestBrokenWebhookDoesNotBlockPodCreation(t *testing.T) {
	testenv.KubeBinaries(t)
	e := start(t, t.TempDir(), WithCluster(ClusterLocal), WithInMemoryS3())
	ctx := context.Background()
	if _, err := e.CreateServiceAccount(ctx, "default", "app", "arn:aws:iam::000000000000:role/app"); err != nil {
		t.Fatal(err)
	}
	e.stopWebhook()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if state(e, "webhook") != StateRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook did not stop")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p, err := e.Client().CoreV1().Pods("default").Create(ctx, DefaultPod("default", "app"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("pod creation with the webhook down: %v (failurePolicy Ignore should let it through)", err)
	}
	if envValue(p.Spec.Containers[0].Env, "AWS_ROLE_ARN") != "" {
		t.Error("a pod was mutated with the webhook down")
	}
}

// TestBackendStopsWithTheEnvironment: Stop ends moto_server.
func TestBackendStopsWithTheEnvironment(t *testing.T) {
	requireMoto(t)
	e := start(t, t.TempDir(), WithBackend(BackendMoto))
	pid := e.moto.Status().PID
	if err := e.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("moto_server (pid %d) still runs after Stop", pid)
	}
}
