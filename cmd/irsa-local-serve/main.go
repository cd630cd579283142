// Command irsa-local-serve is the serving process 'irsa-local up' starts:
// 'irsa-local serve' in a binary that links only what an environment runs
// — the issuer, the AWS endpoint, the backends, the cluster modes and the
// webhook — and none of the CLI's AWS SDK service clients, whose package
// initialisers hold several megabytes for as long as the environment
// runs. up uses it when it sits beside irsa-local with the same version,
// and runs 'irsa-local serve' otherwise. It also carries 'agent', the EKS
// Pod Identity agent a kind node runs from the binary that serves.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/irsa-local/irsa-local/internal/cmd/agentcmd"
	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/cmd/servecmd"
	"github.com/irsa-local/irsa-local/internal/cmd/versioncmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &cli.EnvFlags{}
	s := cli.StdStreams()
	cmd := servecmd.NewCommand(s, env)
	cmd.Use, cmd.Hidden, cmd.Version = "irsa-local-serve", false, versioncmd.String()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.CompletionOptions.DisableDefaultCmd = true
	env.Bind(cmd)
	cmd.AddCommand(agentcmd.NewCommand(s))
	err := cmd.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error: "+err.Error())
		os.Exit(1)
	}
}
