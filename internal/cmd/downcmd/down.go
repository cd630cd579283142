// Package down implements `irsa-local down`: stop everything `up` started.
package downcmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/daemon"
	"github.com/irsa-local/irsa-local/internal/envctl"
	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/pkg/harness"
)

// NewCommand returns the down command.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "down",
		Args:    cobra.NoArgs,
		Short:   "Stop an environment, keeping its state for the next up",
		Example: "  irsa-local down\n  irsa-local down --name other",
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := env.Layout()
			if err != nil {
				return err
			}
			st := cli.NewStatus(s, env)
			if !envctl.Open(l).Running() {
				_, err := Stop(cmd.Context(), l) // removes a stale pid file
				if err != nil {
					return err
				}
				// A killed environment process leaves its cluster running.
				pids, deletedKind, err := envctl.Open(l).StopStale(cmd.Context())
				if err != nil {
					return err
				}
				if deletedKind {
					st.Info("Deleted the kind cluster left running by a crashed environment.")
				}
				if len(pids) > 0 {
					st.Info("Stopped %d process(es) left running by a crashed environment (pids %v).", len(pids), pids)
				}
				if deletedKind || len(pids) > 0 {
					return nil
				}
				st.Info("Environment %q is not running.", env.Name)
				return nil
			}
			st.Start(fmt.Sprintf("Stopping environment %q", env.Name))
			if _, err := Stop(cmd.Context(), l); err != nil {
				st.End(false)
				return err
			}
			st.End(true)
			return nil
		},
	}
}

// Stop stops the process running the environment in l, if any, and reports
// whether one was running. A stale pid file is removed.
func Stop(ctx context.Context, l envdir.Layout) (bool, error) {
	pid, err := daemon.ReadPID(l.PIDFile())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if !envctl.Open(l).Running() {
		if pid != 0 {
			_ = os.Remove(l.PIDFile())
		}
		return false, nil
	}
	if pid == 0 {
		d, err := harness.Inspect(l.Dir)
		if err != nil {
			return false, err
		}
		if d.PID == 0 {
			return false, fmt.Errorf("environment in %s is held by a process that left no pid; stop it yourself (fuser %s)", l.Dir, l.LockFile())
		}
		pid = d.PID
	}
	done := func() bool { return !envctl.Open(l).Running() && !daemon.Alive(pid) }
	grace, wait := 10*time.Second, 30*time.Second
	cfg, _ := envdir.LoadConfig(l)
	kind := cfg != nil && cfg.Cluster == harness.ClusterKind
	if kind {
		// The environment deletes its kind cluster as it stops.
		grace, wait = time.Minute, 90*time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := daemon.Stop(ctx, pid, grace, done); err != nil {
		return false, err
	}
	_ = os.Remove(l.PIDFile())
	if kind {
		// Had the process to be killed, its cluster would still be there.
		if _, _, err := envctl.Open(l).StopStale(ctx); err != nil {
			return true, err
		}
	}
	return true, nil
}
