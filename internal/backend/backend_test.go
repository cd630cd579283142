package backend

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/irsa-local/irsa-local/internal/proc"
	"github.com/irsa-local/irsa-local/internal/testenv"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func requireMoto(t *testing.T) { testenv.Tool(t, MotoBinary) }

func TestMotoLifecycle(t *testing.T) {
	requireMoto(t)
	dir := t.TempDir()
	ctx := context.Background()
	m, err := StartMoto(ctx, MotoOptions{Dir: dir, Host: "127.0.0.1", Port: freePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop(context.Background()) })
	if st := m.Status(); st.State != proc.StateRunning {
		t.Fatalf("status = %+v", st)
	}
	if err := Reset(ctx, m.URL()); err != nil {
		t.Fatalf("Reset: %v", err)
	}

	// A moto left behind by a crashed owner is found by its pid file and
	// stopped; one of another directory is not.
	pid := m.Status().PID
	if n, err := StopStale(ctx, t.TempDir()); err != nil || n != 0 {
		t.Fatalf("StopStale of another directory = %d, %v", n, err)
	}
	n, err := StopStale(ctx, dir)
	if err != nil || n != pid {
		t.Fatalf("StopStale = %d, %v; want %d", n, err, pid)
	}
	if syscall.Kill(pid, 0) == nil {
		<-time.After(100 * time.Millisecond)
		if syscall.Kill(pid, 0) == nil {
			t.Error("moto_server still runs after StopStale")
		}
	}
}

func TestMotoThatCannotListen(t *testing.T) {
	requireMoto(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = StartMoto(context.Background(), MotoOptions{Dir: t.TempDir(), Host: "127.0.0.1", Port: port, StartTimeout: 20 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "exited during start-up") {
		t.Fatalf("err = %v, want moto's own exit reason", err)
	}
}

func TestNoMoto(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := StartMoto(context.Background(), MotoOptions{Dir: t.TempDir(), Host: "127.0.0.1", Port: 1})
	if !errors.Is(err, ErrNoMoto) {
		t.Fatalf("err = %v, want ErrNoMoto", err)
	}
}

func TestResetWithoutEndpoint(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	err := Reset(context.Background(), srv.URL)
	if err == nil || !strings.Contains(err.Error(), "no reset endpoint") {
		t.Fatalf("err = %v", err)
	}
	var hits []string
	ls := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits = append(hits, r.Method+" "+r.URL.Path)
		if r.URL.Path != "/_localstack/state/reset" {
			http.NotFound(w, r)
		}
	}))
	defer ls.Close()
	if err := Reset(context.Background(), ls.URL); err != nil {
		t.Fatal(err)
	}
	if strings.Join(hits, ",") != "POST /moto-api/reset,POST /_localstack/state/reset" {
		t.Errorf("calls = %v", hits)
	}
}
