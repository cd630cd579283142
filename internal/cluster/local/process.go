package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/internal/proc"
)

// Component states reported by Status.
const (
	StateRunning = proc.StateRunning
	StateExited  = proc.StateExited
	StateStopped = proc.StateStopped
)

// ComponentStatus describes one process of the cluster.
type ComponentStatus = proc.Status

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

// startProcess runs path with args as the named component of the cluster.
func startProcess(l layout, name, path string, args []string) (*proc.Process, error) {
	return proc.Start(proc.Spec{Name: name, Path: path, Args: args, Dir: l.dir, LogFile: l.log(name), PIDFile: l.pid(name), Env: componentEnv()})
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
		l := layout{dir: dir}
		pid, err := proc.StopStale(ctx, l.pid(components[i]), dir, components[i], "", grace)
		if err != nil {
			return stopped, err
		}
		if pid != 0 {
			stopped = append(stopped, pid)
		}
	}
	return stopped, nil
}
