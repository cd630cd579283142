// Package serve implements the hidden `irsa-local serve` command: the
// background process `up` starts, which runs an environment until it is
// told to stop.
package servecmd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/daemon"
	"github.com/irsa-local/irsa-local/internal/engine"
	"github.com/irsa-local/irsa-local/internal/rotfile"
)

type flagpole struct {
	cli.CreateFlags
}

// NewCommand returns the serve command.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	f := &flagpole{}
	cmd := &cobra.Command{
		Use:    "serve",
		Args:   cobra.NoArgs,
		Hidden: true,
		Short:  "Run an environment in the foreground (what 'up' starts in the background)",
		RunE:   func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), s, env, f) },
	}
	f.Bind(cmd)
	return cmd
}

func run(ctx context.Context, s cli.Streams, env *cli.EnvFlags, f *flagpole) (retErr error) {
	// HUP asks for the key files to be re-read; it is caught before start-up
	// so an early one cannot kill the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	l, err := env.Layout()
	if err != nil {
		daemon.Ready(err)
		return err
	}
	out := s.ErrOut
	if lf := rotatingLog(os.Stderr, l.LogFile(), logLimit); lf != nil {
		defer lf.Close()
		out = lf
	}
	logger := slog.New(slog.NewTextHandler(out, nil))
	opts := append(f.Options(),
		engine.WithName(env.Name),
		engine.WithStateDir(l.Dir),
		engine.WithLogger(logger),
		engine.WithProgress(daemon.Step),
	)
	e, err := engine.Start(ctx, opts...)
	if err != nil {
		err = cli.Hint(err) // up prints this line as its own error
		logger.Error("start environment", "err", err)
		daemon.Ready(err)
		return err
	}
	if err := daemon.WritePID(l.PIDFile()); err != nil {
		_ = e.Stop(context.WithoutCancel(ctx))
		daemon.Ready(err)
		return err
	}
	defer os.Remove(l.PIDFile())
	logger.Info("environment running", "name", e.Name(), "issuer", e.IssuerURL(), "pid", os.Getpid())
	daemon.Ready(nil)
	if n, err := daemon.ReleaseStartupPages(); err != nil {
		logger.Warn("release start-up pages", "err", err)
	} else {
		logger.Debug("released start-up pages", "mapped", n)
	}

	for {
		select {
		case <-hup:
			if err := e.ReloadKeys(ctx); err != nil {
				logger.Error("reload keys", "err", err)
				continue
			}
			logger.Info("reloaded keys")
		case <-ctx.Done():
			logger.Info("stopping environment")
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := e.Stop(stopCtx); err != nil {
				return fmt.Errorf("stop environment: %w", err)
			}
			return nil
		}
	}
}

// logLimit is the size at which the environment's log is rotated.
const logLimit = 16 << 20

// rotatingLog returns the log file to write to when stderr is the
// environment's log (as when up starts this process), rotated at limit.
// After each rotation the new file also takes stderr's place, so what the
// runtime writes there (a panic) lands in the current log. It returns nil
// when stderr is something else, a terminal say.
func rotatingLog(stderr *os.File, path string, limit int64) *rotfile.File {
	se, err := stderr.Stat()
	if err != nil {
		return nil
	}
	lf, err := os.Stat(path)
	if err != nil || !os.SameFile(se, lf) {
		return nil
	}
	fd := int(stderr.Fd())
	f, err := rotfile.Open(path, limit, rotfile.OnRotate(func(nf *os.File) error {
		return syscall.Dup3(int(nf.Fd()), fd, 0)
	}))
	if err != nil {
		return nil
	}
	return f
}
