// Package deletecmd implements `irsa-local delete`: stop an environment and
// remove its state directory, issuer identity included.
package deletecmd

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/cmd/downcmd"
	"github.com/irsa-local/irsa-local/internal/envctl"
	"github.com/irsa-local/irsa-local/internal/envdir"
)

// NewCommand returns the delete command.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete",
		Args:  cobra.NoArgs,
		Short: "Stop an environment and delete its state (keys, CA, issuer URL)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := env.Layout()
			if err != nil {
				return err
			}
			if _, err := envdir.LoadConfig(l); errors.Is(err, envdir.ErrNoEnvironment) {
				fmt.Fprintf(s.ErrOut, "Environment %q does not exist.\n", env.Name)
				return nil
			}
			if _, err := downcmd.Stop(cmd.Context(), l); err != nil {
				return err
			}
			// A crashed environment may have left its cluster running, with
			// its data in the directory about to go.
			if _, _, err := envctl.Open(l).StopStale(cmd.Context()); err != nil {
				return err
			}
			if err := os.RemoveAll(l.Dir); err != nil {
				return fmt.Errorf("remove state directory: %w", err)
			}
			fmt.Fprintf(s.ErrOut, "✓ Deleted environment %q (%s).\n", env.Name, l.Dir)
			return nil
		},
	}
}
