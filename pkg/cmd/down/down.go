// Package down implements `irsa-local down`: stop everything `up` started.
package down

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/pkg/cmd/cli"
	"github.com/irsa-local/irsa-local/pkg/daemon"
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
			if !harness.LockHeld(l.LockFile()) {
				_, err := Stop(cmd.Context(), l) // removes a stale pid file
				if err != nil {
					return err
				}
				// A killed environment process leaves its cluster running.
				pids, err := harness.StopStaleProcesses(cmd.Context(), l)
				if err != nil {
					return err
				}
				if len(pids) > 0 {
					st.Info("Stopped %d process(es) left running by a crashed environment (pids %v).", len(pids), pids)
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
func Stop(ctx context.Context, l harness.Layout) (bool, error) {
	pid, err := daemon.ReadPID(l.PIDFile())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if !harness.LockHeld(l.LockFile()) {
		if pid != 0 {
			_ = os.Remove(l.PIDFile())
		}
		return false, nil
	}
	if pid == 0 {
		d, err := harness.Inspect(l)
		if err != nil {
			return false, err
		}
		if d.PID == 0 {
			return false, fmt.Errorf("environment in %s is held by a process that left no pid; stop it yourself (fuser %s)", l.Dir, l.LockFile())
		}
		pid = d.PID
	}
	done := func() bool { return !harness.LockHeld(l.LockFile()) && !daemon.Alive(pid) }
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := daemon.Stop(ctx, pid, 10*time.Second, done); err != nil {
		return false, err
	}
	_ = os.Remove(l.PIDFile())
	return true, nil
}
