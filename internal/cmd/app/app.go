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

	"github.com/irsa-local/irsa-local/internal/cmd/agentcmd"
	"github.com/irsa-local/irsa-local/internal/cmd/applycmd"
	"github.com/irsa-local/irsa-local/internal/cmd/assetscmd"
	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/cmd/clockcmd"
	"github.com/irsa-local/irsa-local/internal/cmd/deletecmd"
	"github.com/irsa-local/irsa-local/internal/cmd/doctorcmd"
	"github.com/irsa-local/irsa-local/internal/cmd/downcmd"
	"github.com/irsa-local/irsa-local/internal/cmd/envcmd"
	"github.com/irsa-local/irsa-local/internal/cmd/execcmd"
	"github.com/irsa-local/irsa-local/internal/cmd/keyscmd"
	"github.com/irsa-local/irsa-local/internal/cmd/policycmd"
	"github.com/irsa-local/irsa-local/internal/cmd/servecmd"
	"github.com/irsa-local/irsa-local/internal/cmd/statuscmd"
	"github.com/irsa-local/irsa-local/internal/cmd/tokencmd"
	"github.com/irsa-local/irsa-local/internal/cmd/trailcmd"
	"github.com/irsa-local/irsa-local/internal/cmd/uicmd"
	"github.com/irsa-local/irsa-local/internal/cmd/upcmd"
	"github.com/irsa-local/irsa-local/internal/cmd/versioncmd"
	"github.com/irsa-local/irsa-local/internal/cmd/webhookcmd"
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
	return cli.Hint(root.ExecuteContext(ctx))
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
permissions the way AWS does, and says which link broke. SQS, SNS, DynamoDB,
Secrets Manager, SSM and KMS calls are authorized the same way before a
backend emulator (moto_server by default) serves them.`,
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
		upcmd.NewCommand(s, env),
		downcmd.NewCommand(s, env),
		statuscmd.NewCommand(s, env),
		tokencmd.NewCommand(s, env),
		keyscmd.NewCommand(s, env),
		clockcmd.NewCommand(s, env),
		trailcmd.NewCommand(s, env),
		execcmd.NewCommand(s, env),
		envcmd.NewCommand(s, env),
		applycmd.NewCommand(s, env),
		doctorcmd.NewCommand(s, env),
		deletecmd.NewCommand(s, env),
		servecmd.NewCommand(s, env),
		versioncmd.NewCommand(s),
		assetscmd.NewCommand(s),
		agentcmd.NewCommand(s),
		webhookcmd.NewCommand(s),
		policycmd.NewCommand(s, env),
		uicmd.NewCommand(s, env),
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
