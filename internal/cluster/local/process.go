package local

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

// Component states reported by Status.
const (
	// StateRunning: the process runs.
	StateRunning = "running"
	// StateExited: the process ended without Stop asking it to, a crash
	// or a kill by someone else.
	StateExited = "exited"
	// StateStopped: Stop ended the process.
	StateStopped = "stopped"
)

// ComponentStatus describes one process of the cluster.
type ComponentStatus struct {
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

// process is one running component.
type process struct {
	name    string
	logPath string
	pidPath string
	cmd     *exec.Cmd
	done    chan struct{}

	mu       sync.Mutex
	waitErr  error
	stopping bool
}

// componentEnv is the caller's environment without what would change how a
// component starts: etcd reads every ETCD_* variable as a flag.
func componentEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ETCD_") || strings.HasPrefix(kv, "KUBECONFIG=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// startProcess runs path with args as the named component, its output in a
// fresh log file (the previous run's kept as .log.1) and its pid in a pid
// file.
func startProcess(l layout, name, path string, args []string) (*process, error) {
	logPath, pidPath := l.log(name), l.pid(name)
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
	cmd.Env = componentEnv()
	cmd.Dir = l.dir
	// A process group of its own: a terminal's Ctrl-C goes to the owner,
	// which stops the components in order, not to all of them at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w (log: %s)", name, err, logPath)
	}
	p := &process{name: name, logPath: logPath, pidPath: pidPath, cmd: cmd, done: make(chan struct{})}
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

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitDescription says how the process ended: "exit status 1",
// "signal: killed". Only valid once done is closed.
func (p *process) exitDescription() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waitErr == nil {
		return "exit status 0"
	}
	return p.waitErr.Error()
}

func (p *process) status() ComponentStatus {
	s := ComponentStatus{Name: p.name, PID: p.pid(), LogFile: p.logPath, State: StateRunning}
	if !p.exited() {
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
	if lines := lastLines(p.logPath, 1); len(lines) > 0 {
		s.LastLogLine = lines[0]
	}
	return s
}

// exitError is the one-line error for a component that ended during
// start-up: how it ended and its last log lines.
func (p *process) exitError() error {
	msg := fmt.Sprintf("start %s: exited during start-up (%s)", p.name, p.exitDescription())
	if lines := lastLines(p.logPath, 3); len(lines) > 0 {
		msg += ": " + strings.Join(lines, " | ")
	}
	return errors.New(msg + " (log: " + p.logPath + ")")
}

// stop sends SIGTERM, waits up to grace, then sends SIGKILL and waits for
// the process to be reaped. A process that already exited is not an error
// here; Status reports how it ended.
func (p *process) stop(ctx context.Context, grace time.Duration) error {
	p.mu.Lock()
	p.stopping = !p.exited() || p.stopping
	p.mu.Unlock()
	defer os.Remove(p.pidPath)
	if p.exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop %s: signal process %d: %w", p.name, p.pid(), err)
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
		return fmt.Errorf("stop %s: process %d did not exit after SIGKILL", p.name, p.pid())
	}
	if ctx.Err() != nil {
		return fmt.Errorf("stop %s: killed process %d: %w", p.name, p.pid(), ctx.Err())
	}
	return nil
}

// lastLines returns up to n last non-empty lines of a log, skipping
// indented lines (stack traces), each cut to a readable length.
func lastLines(path string, n int) []string {
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

// stopStale stops a component left running by an earlier owner of dir that
// ended without stopping it, as the pid file records. The pid is signalled
// only if its command line is that component's, run for this directory.
func stopStale(ctx context.Context, l layout, name, binary string, grace time.Duration) (stopped int, err error) {
	pidPath := l.pid(name)
	pid, err := daemon.ReadPID(pidPath)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err == nil && daemon.Alive(pid) && ownedBy(pid, name, binary, l.dir) {
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

// ownedBy reports whether pid runs the named component for dir: argv[0] is
// a binary of that name (or the configured binary) and an argument names a
// path inside dir.
func ownedBy(pid int, name, binary, dir string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return false
	}
	argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	if base := filepath.Base(argv[0]); base != name && argv[0] != binary && (binary == "" || base != filepath.Base(binary)) {
		return false
	}
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	for _, a := range argv[1:] {
		if strings.Contains(a, prefix) {
			return true
		}
	}
	return false
}

// StopStale stops the control-plane processes that an owner of dir which
// died without stopping them left running (an environment whose process was
// killed), as their pid files record, and returns their pids. It is what
// Start does first; `down` calls it too, so nothing is left behind.
func StopStale(ctx context.Context, dir string, grace time.Duration) ([]int, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve cluster directory: %w", err)
	}
	var stopped []int
	for i := len(components) - 1; i >= 0; i-- {
		pid, err := stopStale(ctx, layout{dir: dir}, components[i], "", grace)
		if err != nil {
			return stopped, err
		}
		if pid != 0 {
			stopped = append(stopped, pid)
		}
	}
	return stopped, nil
}
