package proc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLastLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	content := "first\nsecond\n\tat stack frame\ngoroutine 1 [running]:\nthird\n\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := LastLines(path, 2); !slices.Equal(got, []string{"second", "third"}) {
		t.Errorf("LastLines = %q", got)
	}
	if got := LastLines(filepath.Join(t.TempDir(), "none"), 1); got != nil {
		t.Errorf("lastLines of a missing file = %q", got)
	}
}

// startMarked starts "sh -c 'sleep 60; true' <dir>/marker": a process whose
// command line names dir, as a component's does. The trailing true keeps
// the shell from replacing itself with sleep.
func startMarked(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", "sleep 60; true", filepath.Join(dir, "marker"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	// Start can return before the child's exec has replaced its command
	// line, which then reads empty: wait until it shows the marker.
	cmdline := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline"
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if b, _ := os.ReadFile(cmdline); strings.Contains(string(b), "marker") {
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not show its command line within 5s", cmd.Process.Pid)
		}
	}
}

func TestOwnedBy(t *testing.T) {
	dir := t.TempDir()
	cmd := startMarked(t, dir)
	pid := cmd.Process.Pid
	if !ownedBy(pid, "sh", "", dir) {
		t.Error("process with the component's name and an argument in dir not recognised")
	}
	if !ownedBy(pid, "etcd", "/usr/bin/sh", dir) {
		t.Error("process running the configured binary not recognised")
	}
	if ownedBy(pid, "etcd", "", dir) {
		t.Error("process of another binary taken for etcd")
	}
	if ownedBy(pid, "sh", "", t.TempDir()) {
		t.Error("process of another directory taken for this one")
	}
}

func TestStopStale(t *testing.T) {
	dir := t.TempDir()
	cmd := startMarked(t, dir)
	pid := cmd.Process.Pid
	if err := os.WriteFile(filepath.Join(dir, "sh.pid"), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Another directory's pid file naming the same process must not stop it.
	otherDir := t.TempDir()
	otherPID := filepath.Join(otherDir, "sh.pid")
	if err := os.WriteFile(otherPID, []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if stopped, err := StopStale(context.Background(), otherPID, otherDir, "sh", "", time.Second); err != nil || stopped != 0 {
		t.Fatalf("StopStale for another dir = %d, %v; want nothing stopped", stopped, err)
	}
	if syscall.Kill(pid, 0) != nil {
		t.Fatal("process of this dir was stopped by another dir's pid file")
	}
	if _, err := os.Stat(otherPID); !os.IsNotExist(err) {
		t.Errorf("pid file of a process not ours kept: %v", err)
	}

	stopped, err := StopStale(context.Background(), filepath.Join(dir, "sh.pid"), dir, "sh", "", time.Second)
	if err != nil || stopped != pid {
		t.Fatalf("StopStale = %d, %v; want %d stopped", stopped, err, pid)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Error("stale process still running")
	}
	if _, err := os.Stat(filepath.Join(dir, "sh.pid")); !os.IsNotExist(err) {
		t.Errorf("stale pid file kept: %v", err)
	}
}

// TestLifecycle runs a process that dies by itself and one that Stop ends,
// and checks what Status says of each.
func TestLifecycle(t *testing.T) {
	dir := t.TempDir()
	spec := func(name, script string) Spec {
		return Spec{Name: name, Path: "sh", Args: []string{"-c", script}, Dir: dir,
			LogFile: filepath.Join(dir, name+".log"), PIDFile: filepath.Join(dir, name+".pid")}
	}
	crash, err := Start(spec("crash", "echo starting; echo 'port 5000 in use'; exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	<-crash.Done()
	st := crash.Status()
	if st.State != StateExited || st.Exit != "exit status 3" || st.LastLogLine != "port 5000 in use" {
		t.Errorf("crashed process: %+v", st)
	}
	if err := crash.ExitError(); err == nil || !strings.Contains(err.Error(), "port 5000 in use") {
		t.Errorf("ExitError = %v, want the last log lines", err)
	}

	run, err := Start(spec("run", "sleep 60; true"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "run.pid")); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(run.PID()) {
		t.Errorf("pid file = %q, %v; want %d", b, err, run.PID())
	}
	if st := run.Status(); st.State != StateRunning {
		t.Errorf("running process: %+v", st)
	}
	if err := run.Stop(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	if st := run.Status(); st.State != StateStopped {
		t.Errorf("stopped process: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, "run.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file kept after Stop: %v", err)
	}
}
