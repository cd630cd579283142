package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as the daemon: with IRSA_LOCAL_DAEMON_TEST set,
// TestMain behaves as that program instead of running tests.
func TestMain(m *testing.M) {
	switch os.Getenv("IRSA_LOCAL_DAEMON_TEST") {
	case "":
		os.Exit(m.Run())
	case "ready":
		Step("first step")
		Step("second step")
		Ready(nil)
		time.Sleep(time.Minute)
	case "fail":
		Step("first step")
		Ready(errors.New("port 1 is in use"))
	case "die":
		os.Stderr.WriteString("dying quietly\n")
	}
	os.Exit(0)
}

func spawn(t *testing.T, mode string) (int, []string, string, error) {
	t.Helper()
	t.Setenv("IRSA_LOCAL_DAEMON_TEST", mode)
	log := filepath.Join(t.TempDir(), "daemon.log")
	var steps []string
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pid, err := Spawn(ctx, []string{os.Args[0]}, log, func(s string) { steps = append(steps, s) })
	return pid, steps, log, err
}

func TestSpawnReadyThenStop(t *testing.T) {
	pid, steps, _, err := spawn(t, "ready")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(steps, ",") != "first step,second step" {
		t.Errorf("steps %q", steps)
	}
	if !Alive(pid) {
		t.Fatal("the spawned program is not alive after reporting ready")
	}
	pidFile := filepath.Join(t.TempDir(), "x.pid")
	if err := os.WriteFile(pidFile, []byte("12345\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadPID(pidFile); err != nil || got != 12345 {
		t.Fatalf("ReadPID: %d, %v", got, err)
	}
	if err := Stop(context.Background(), pid, 5*time.Second, func() bool { return !Alive(pid) }); err != nil {
		t.Fatal(err)
	}
	if Alive(pid) {
		t.Fatal("still alive after Stop")
	}
}

func TestSpawnReportsTheProgramsError(t *testing.T) {
	_, steps, _, err := spawn(t, "fail")
	if err == nil || err.Error() != "port 1 is in use" {
		t.Fatalf("error %v, want the program's own message", err)
	}
	if len(steps) != 1 {
		t.Errorf("steps %q", steps)
	}
}

func TestSpawnOfAProgramThatDiesSilentlyNamesTheLog(t *testing.T) {
	_, _, log, err := spawn(t, "die")
	if err == nil || !strings.Contains(err.Error(), log) {
		t.Fatalf("error %v should name the log %s", err, log)
	}
	if b, _ := os.ReadFile(log); !strings.Contains(string(b), "dying quietly") {
		t.Fatalf("log holds %q", b)
	}
}

func TestWriteAndReadPID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.pid")
	if err := WritePID(path); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadPID(path); err != nil || got != os.Getpid() {
		t.Fatalf("ReadPID: %d, %v", got, err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPID(path); err == nil {
		t.Fatal("a garbage pid file was read")
	}
}
