// Command irsa-local-serve is the serving process 'irsa-local up' starts:
// 'irsa-local serve' in a binary that links only what an environment runs
// — the issuer, the AWS endpoint, the backends, the cluster modes and the
// webhook — and none of the CLI's AWS SDK service clients, whose package
// initialisers hold several megabytes for as long as the environment
// runs. up uses it when it sits beside irsa-local with the same version,
// and runs 'irsa-local serve' otherwise.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/cmd/servecmd"
	"github.com/irsa-local/irsa-local/internal/cmd/versioncmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &cli.EnvFlags{}
	cmd := servecmd.NewCommand(cli.StdStreams(), env)
	cmd.Use, cmd.Hidden, cmd.Version = "irsa-local-serve", false, versioncmd.String()
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	env.Bind(cmd)
	err := cmd.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error: "+err.Error())
		os.Exit(1)
	}
}
