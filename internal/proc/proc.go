// Package proc runs the helper processes of an environment (etcd,
// kube-apiserver, kube-controller-manager, an emulator backend): each with
// its own log file and pid file and process group, stopped with SIGTERM
// then SIGKILL, and described (running, exited with its last log line,
// stopped) for status.
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/irsa-local/irsa-local/internal/daemon"
	"github.com/irsa-local/irsa-local/internal/fsutil"
)

// States reported by Status.
const (
	// StateRunning: the process runs.
	StateRunning = "running"
	// StateExited: the process ended without Stop asking it to, a crash
	// or a kill by someone else.
	StateExited = "exited"
	// StateStopped: Stop ended the process.
	StateStopped = "stopped"
)

// Status describes one process.
type Status struct {
	Name  string `json:"name"`
	State string `json:"state"`
	PID   int    `json:"pid"`
	// Exit is how the process ended, e.g. "exit status 1" or "signal:
	// killed"; empty while it runs.
	Exit string `json:"exit,omitempty"`
	// LastLogLine is the last line the process logged, for a process that
	// exited by itself: usually the reason.
	LastLogLine string `json:"lastLogLine,omitempty"`
	LogFile     string `json:"logFile"`
}

// Process is one running process.
type Process struct {
	name    string
	logPath string
	pidPath string
	cmd     *exec.Cmd
	done    chan struct{}

	mu       sync.Mutex
	waitErr  error
	stopping bool
}

// Spec says how to run a process.
type Spec struct {
	// Name names the process in errors and status.
	Name string
	Path string
	Args []string
	// Dir is the working directory; LogFile and PIDFile are where its
	// output and pid go.
	Dir, LogFile, PIDFile string
	// Env is the process's environment (nil: the caller's).
	Env []string
}

// Start runs a process as spec says, its output in a fresh log file (the
// previous run's kept as .log.1) and its pid in a pid file.
func Start(spec Spec) (*Process, error) {
	name, path, args := spec.Name, spec.Path, spec.Args
	logPath, pidPath := spec.LogFile, spec.PIDFile
	if err := os.Rename(logPath, logPath+".1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("start %s: keep previous log: %w", name, err)
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start %s: open log file: %w", name, err)
	}
	defer logf.Close()
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = spec.Env
	cmd.Dir = spec.Dir
	// A process group of its own: a terminal's Ctrl-C goes to the owner,
	// which stops the components in order, not to all of them at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w (log: %s)", name, err, logPath)
	}
	p := &Process{name: name, logPath: logPath, pidPath: pidPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	if err := fsutil.WriteFileAtomic(pidPath, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		_ = cmd.Process.Kill()
		<-p.done
		return nil, fmt.Errorf("start %s: record pid: %w", name, err)
	}
	return p, nil
}

// PID returns the process's pid.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
// Done is closed when the process ends.
func (p *Process) Done() <-chan struct{} { return p.done }

// LogFile is where the process's output goes.
func (p *Process) LogFile() string { return p.logPath }

// Name is the process's name.
func (p *Process) Name() string { return p.name }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitDescription says how the process ended: "exit status 1",
// "signal: killed". Only valid once done is closed.
func (p *Process) exitDescription() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waitErr == nil {
		return "exit status 0"
	}
	return p.waitErr.Error()
}

// Status describes the process now.
func (p *Process) Status() Status {
	s := Status{Name: p.name, PID: p.PID(), LogFile: p.logPath, State: StateRunning}
	if !p.Exited() {
		return s
	}
	s.Exit = p.exitDescription()
	p.mu.Lock()
	stopping := p.stopping
	p.mu.Unlock()
	if stopping {
		s.State = StateStopped
		return s
	}
	s.State = StateExited
	if lines := LastLines(p.logPath, 1); len(lines) > 0 {
		s.LastLogLine = lines[0]
	}
	return s
}

// ExitError is the one-line error for a component that ended during
// start-up: how it ended and its last log lines.
func (p *Process) ExitError() error {
	msg := fmt.Sprintf("start %s: exited during start-up (%s)", p.name, p.exitDescription())
	if lines := LastLines(p.logPath, 3); len(lines) > 0 {
		msg += ": " + strings.Join(lines, " | ")
	}
	return errors.New(msg + " (log: " + p.logPath + ")")
}

// Stop sends SIGTERM, waits up to grace, then sends SIGKILL and waits for
// the process to be reaped. A process that already exited is not an error
// here; Status reports how it ended.
func (p *Process) Stop(ctx context.Context, grace time.Duration) error {
	p.mu.Lock()
	p.stopping = !p.Exited() || p.stopping
	p.mu.Unlock()
	defer os.Remove(p.pidPath)
	if p.Exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop %s: signal process %d: %w", p.name, p.PID(), err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
	case <-ctx.Done():
	}
	_ = p.cmd.Process.Kill()
	// Reaping after SIGKILL is immediate; the bound only guards a process
	// stuck in the kernel.
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("stop %s: process %d did not exit after SIGKILL", p.name, p.PID())
	}
	if ctx.Err() != nil {
		return fmt.Errorf("stop %s: killed process %d: %w", p.name, p.PID(), ctx.Err())
	}
	return nil
}

// LastLines returns up to n last non-empty lines of a log, skipping
// indented lines (stack traces), each cut to a readable length.
func LastLines(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	const tail = 64 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > tail {
		_, _ = f.Seek(fi.Size()-tail, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	var out []string
	lines := bytes.Split(b, []byte("\n"))
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		line := string(bytes.TrimRight(lines[i], "\r"))
		if strings.TrimSpace(line) == "" || line[0] == ' ' || line[0] == '\t' || strings.HasPrefix(line, "goroutine ") {
			continue
		}
		if len(line) > 300 {
			line = line[:300] + "…"
		}
		out = append([]string{line}, out...)
	}
	return out
}

// StopStale stops a process left running by an earlier owner of dir that
// ended without stopping it, as the pid file records. The pid is signalled
// only if its command line is the named program's (or binary's), with an
// argument naming a path inside dir.
func StopStale(ctx context.Context, pidPath, dir, name, binary string, grace time.Duration) (stopped int, err error) {
	pid, err := daemon.ReadPID(pidPath)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err == nil && daemon.Alive(pid) && ownedBy(pid, name, binary, dir) {
		if err := daemon.Stop(ctx, pid, grace, func() bool { return !daemon.Alive(pid) }); err != nil {
			return 0, fmt.Errorf("stop stale %s (pid %d from %s): %w", name, pid, pidPath, err)
		}
		stopped = pid
	}
	if err := os.Remove(pidPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return stopped, fmt.Errorf("remove stale pid file: %w", err)
	}
	return stopped, nil
}

// ownedBy reports whether pid runs the named component for dir: argv[0]
// (or, for a script, the interpreter's argv[1]) is a program of that name
// (or the configured binary), and an argument names a path inside dir or
// the process works in dir, as Start runs it.
func ownedBy(pid int, name, binary, dir string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return false
	}
	argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	is := func(arg string) bool {
		base := filepath.Base(arg)
		return base == name || arg == binary || (binary != "" && base == filepath.Base(binary))
	}
	if !is(argv[0]) && (len(argv) < 2 || !is(argv[1])) {
		return false
	}
	dir = filepath.Clean(dir)
	if cwd, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd"); err == nil && cwd == dir {
		return true
	}
	prefix := dir + string(filepath.Separator)
	for _, a := range argv[1:] {
		if strings.Contains(a, prefix) {
			return true
		}
	}
	return false
}
