// Package daemon starts a program detached from the terminal, reports when
// it is ready, and stops it again. irsa-local uses it to leave an
// environment running after `up` returns.
package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/irsa-local/irsa-local/internal/fsutil"
)

// ReadyFD is the file descriptor on which a spawned program reports its
// start: any number of "step <text>" lines as it goes, then one line, "ok"
// or "error: <message>", then it closes the fd.
const ReadyFD = 3

// Spawn starts argv in a new session with stdin from /dev/null and stdout and
// stderr appended to logPath, and waits until it reports on ReadyFD, calling
// step (when not nil) for each step it announces. On failure the program's
// own message is returned; if it died without one, the error says where its
// log is.
func Spawn(ctx context.Context, argv []string, logPath string, step func(string)) (pid int, err error) {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("open log file: %w", err)
	}
	defer logf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("create ready pipe: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return 0, fmt.Errorf("start %s: %w", argv[0], err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	line := make(chan string, 1)
	steps := make(chan string)
	go func() {
		br := bufio.NewReader(r)
		for {
			s, _ := br.ReadString('\n')
			s = strings.TrimSpace(s)
			if text, ok := strings.CutPrefix(s, "step "); ok {
				steps <- text
				continue
			}
			line <- s
			return
		}
	}()
	for {
		select {
		case text := <-steps:
			if step != nil {
				step(text)
			}
			continue
		case l := <-line:
			if l == "ok" {
				return cmd.Process.Pid, nil
			}
			<-exited
			if msg, ok := strings.CutPrefix(l, "error: "); ok {
				return 0, errors.New(msg)
			}
			return 0, fmt.Errorf("%s exited during start-up; see %s", argv[0], logPath)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-exited
			return 0, fmt.Errorf("wait for %s to start: %w; see %s", argv[0], ctx.Err(), logPath)
		}
	}
}

// readyFile is ReadyFD, opened once.
var readyFile = sync.OnceValue(func() *os.File {
	f := os.NewFile(ReadyFD, "ready")
	if f == nil {
		return nil
	}
	// Not started by Spawn: fd 3 is not a pipe (or not open).
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return nil
	}
	return f
})

// Step announces a start-up step on ReadyFD, if the program was started by
// Spawn.
func Step(text string) {
	if f := readyFile(); f != nil {
		_, _ = fmt.Fprintf(f, "step %s\n", strings.ReplaceAll(text, "\n", " "))
	}
}

// Ready reports the outcome of start-up on ReadyFD, if the program was
// started by Spawn; otherwise it does nothing.
func Ready(startErr error) {
	f := readyFile()
	if f == nil {
		return
	}
	defer f.Close()
	if startErr != nil {
		_, _ = fmt.Fprintf(f, "error: %s\n", strings.ReplaceAll(startErr.Error(), "\n", " "))
		return
	}
	_, _ = fmt.Fprintln(f, "ok")
}

// WritePID records the current process id in path.
func WritePID(path string) error {
	return fsutil.WriteFileAtomic(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
}

// ReadPID reads a pid file.
func ReadPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: invalid content %q", path, strings.TrimSpace(string(b)))
	}
	return pid, nil
}

// Alive reports whether a process with pid exists and has not exited. A
// zombie counts as exited: a daemon whose parent is gone may wait for a
// reaper that never comes.
func Alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// Stop sends SIGTERM to pid and waits until done() reports the program has
// finished, sending SIGKILL if it has not after grace.
func Stop(ctx context.Context, pid int, grace time.Duration, done func() bool) error {
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process %d: %w", pid, err)
	}
	deadline := time.Now().Add(grace)
	killed := false
	for !done() {
		if !killed && time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			killed = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for process %d to stop: %w", pid, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
