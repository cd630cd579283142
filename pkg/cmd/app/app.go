// Package app is the irsa-local command line: Main parses the arguments,
// runs one subcommand, and is the only place that exits.
package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/pkg/cmd/applycmd"
	"github.com/irsa-local/irsa-local/pkg/cmd/assets"
	"github.com/irsa-local/irsa-local/pkg/cmd/cli"
	"github.com/irsa-local/irsa-local/pkg/cmd/clockcmd"
	"github.com/irsa-local/irsa-local/pkg/cmd/deletecmd"
	"github.com/irsa-local/irsa-local/pkg/cmd/doctor"
	"github.com/irsa-local/irsa-local/pkg/cmd/down"
	"github.com/irsa-local/irsa-local/pkg/cmd/envcmd"
	"github.com/irsa-local/irsa-local/pkg/cmd/execcmd"
	"github.com/irsa-local/irsa-local/pkg/cmd/keys"
	"github.com/irsa-local/irsa-local/pkg/cmd/serve"
	"github.com/irsa-local/irsa-local/pkg/cmd/status"
	"github.com/irsa-local/irsa-local/pkg/cmd/token"
	"github.com/irsa-local/irsa-local/pkg/cmd/trailcmd"
	"github.com/irsa-local/irsa-local/pkg/cmd/up"
	"github.com/irsa-local/irsa-local/pkg/cmd/version"
)

// Main runs irsa-local with the process's arguments and exits.
func Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, cli.StdStreams(), os.Args[1:])
	stop()
	var exit *cli.ExitError
	if errors.As(err, &exit) {
		os.Exit(exit.Code)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error: "+oneLine(err))
		os.Exit(1)
	}
}

// Run runs one irsa-local command.
func Run(ctx context.Context, s cli.Streams, args []string) error {
	root := NewCommand(s)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// NewCommand builds the command tree.
func NewCommand(s cli.Streams) *cobra.Command {
	env := &cli.EnvFlags{}
	root := &cobra.Command{
		Use:   "irsa-local",
		Short: "Run the whole EKS IRSA chain locally: OIDC issuer, IAM/STS emulator, and checks",
		Long: `irsa-local runs the whole EKS IAM Roles for Service Accounts chain offline:
a kube-apiserver whose service-account tokens are signed with keys published
by a self-hosted OIDC issuer, an EKS-compatible pod identity webhook, and an
AWS endpoint (IAM, STS, S3, EKS) that validates tokens, trust policies and
permissions the way AWS does, and says which link broke.`,
		Example: `  irsa-local up                       # the whole chain (no Docker)
  eval "$(irsa-local env)"            # point aws and kubectl at it
  irsa-local exec -n demo --service-account s3-reader -- aws s3 ls s3://demo-bucket
  irsa-local trail                    # who did what, allowed or denied, and why
  irsa-local down`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	env.Bind(root)
	root.AddCommand(
		up.NewCommand(s, env),
		down.NewCommand(s, env),
		status.NewCommand(s, env),
		token.NewCommand(s, env),
		keys.NewCommand(s, env),
		clockcmd.NewCommand(s, env),
		trailcmd.NewCommand(s, env),
		execcmd.NewCommand(s, env),
		envcmd.NewCommand(s, env),
		applycmd.NewCommand(s, env),
		doctor.NewCommand(s, env),
		deletecmd.NewCommand(s, env),
		serve.NewCommand(s, env),
		version.NewCommand(s),
		assets.NewCommand(s),
	)
	return root
}

func oneLine(err error) string {
	msg := err.Error()
	if errors.Is(err, context.Canceled) {
		msg = "interrupted"
	}
	return strings.Join(strings.Fields(msg), " ")
}
