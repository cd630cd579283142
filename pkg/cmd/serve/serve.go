// Package serve implements the hidden `irsa-local serve` command: the
// background process `up` starts, which runs an environment until it is
// told to stop.
package serve

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/pkg/cmd/cli"
	"github.com/irsa-local/irsa-local/pkg/daemon"
	"github.com/irsa-local/irsa-local/pkg/harness"
)

type flagpole struct {
	Cluster        string
	IssuerPort     int
	IssuerHost     string
	Region         string
	AWSPort        int
	NoOIDCProvider bool
	NoInjection    bool
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
	cmd.Flags().StringVar(&f.Cluster, "cluster", string(harness.ClusterLocal), "cluster mode")
	cmd.Flags().IntVar(&f.IssuerPort, "issuer-port", 0, "issuer port of a new environment")
	cmd.Flags().StringVar(&f.IssuerHost, "issuer-host", harness.DefaultIssuerHost, "issuer host of a new environment")
	cmd.Flags().IntVar(&f.AWSPort, "aws-port", 0, "plain-HTTP port of the AWS endpoint of a new environment (default: a free port, kept from then on)")
	cmd.Flags().BoolVar(&f.NoOIDCProvider, "no-oidc-provider", false, "do not register the issuer as an IAM OIDC provider (as before 'eksctl utils associate-iam-oidc-provider')")
	cmd.Flags().BoolVar(&f.NoInjection, "no-endpoint-injection", false, "make the webhook mutate pods exactly as EKS's does, without AWS_ENDPOINT_URL pointing at the emulator")
	cmd.Flags().StringVar(&f.Region, "region", harness.DefaultRegion, "AWS region of a new environment")
	return cmd
}

func run(ctx context.Context, s cli.Streams, env *cli.EnvFlags, f *flagpole) (retErr error) {
	// HUP asks for the key files to be re-read; it is caught before start-up
	// so an early one cannot kill the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	logger := slog.New(slog.NewTextHandler(s.ErrOut, nil))
	opts := []harness.Option{
		harness.WithName(env.Name),
		harness.WithStateDir(env.StateDir),
		harness.WithCluster(harness.ClusterMode(f.Cluster)),
		harness.WithIssuerPort(f.IssuerPort),
		harness.WithIssuerHost(f.IssuerHost),
		harness.WithRegion(f.Region),
		harness.WithLogger(logger),
		harness.WithAWSPort(f.AWSPort),
		harness.WithProgress(daemon.Step),
	}
	if f.NoOIDCProvider {
		opts = append(opts, harness.WithoutOIDCProvider())
	}
	if f.NoInjection {
		opts = append(opts, harness.WithoutEndpointInjection())
	}
	e, err := harness.Start(ctx, opts...)
	if err != nil {
		logger.Error("start environment", "err", err)
		daemon.Ready(err)
		return err
	}
	if err := daemon.WritePID(e.Layout().PIDFile()); err != nil {
		_ = e.Stop(context.WithoutCancel(ctx))
		daemon.Ready(err)
		return err
	}
	defer os.Remove(e.Layout().PIDFile())
	logger.Info("environment running", "name", e.Config().Name, "issuer", e.IssuerURL(), "pid", os.Getpid())
	daemon.Ready(nil)

	for {
		select {
		case <-hup:
			if err := e.ReloadKeys(); err != nil {
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
