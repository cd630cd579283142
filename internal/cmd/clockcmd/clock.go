// Package clockcmd implements `irsa-local clock`: move the emulator's clock
// to reach token and session expiry without waiting.
package clockcmd

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/envctl"
)

// NewCommand returns the clock command.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	var out cli.Output
	cmd := &cobra.Command{
		Use:   "clock",
		Short: "Show or move the AWS emulator's clock (token and session expiry)",
		Long: `The AWS emulator judges token expiry (with AWS's 5-minute skew) and session
expiry by its own clock. Advancing it tests expiry paths without sleeping;
request signatures still follow the real clock, as real clients sign with it.
The clock returns to real time when the environment restarts.

The same is available over HTTP on the AWS endpoint, signed with SigV4 and
the admin credentials like any call that changes the account:
  curl --aws-sigv4 aws:amz:us-east-1:irsa-local --user test:test \
    -H 'Content-Type: application/json' -d '{"advance":"2h"}' $AWS_ENDPOINT_URL/_irsa-local/clock`,
		Example: "  irsa-local clock advance 2h\n  irsa-local clock reset\n  irsa-local clock",
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			return call(s, env, out, http.MethodGet, nil)
		},
	}
	cli.BindOutput(cmd, &out)
	cmd.AddCommand(&cobra.Command{
		Use:   "advance DURATION",
		Short: "Move the clock forward (e.g. 90m, 2h, 25h)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if _, err := time.ParseDuration(args[0]); err != nil {
				return fmt.Errorf("invalid duration %q: use a Go duration such as 90m or 2h", args[0])
			}
			return call(s, env, out, http.MethodPost, map[string]any{"advance": args[0]})
		},
	}, &cobra.Command{
		Use:   "reset",
		Short: "Return the clock to real time",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			return call(s, env, out, http.MethodPost, map[string]any{"reset": true})
		},
	})
	return cmd
}

func call(s cli.Streams, env *cli.EnvFlags, out cli.Output, method string, body any) error {
	l, d, err := env.Describe()
	if err != nil {
		return err
	}
	if !d.Running {
		return fmt.Errorf("environment %q is not running; start it with 'irsa-local up'", d.Name)
	}
	var answer struct {
		Now    time.Time `json:"now"`
		Offset string    `json:"offset"`
	}
	if err := envctl.Open(l).Admin(context.Background(), method, "/_irsa-local/clock", body, &answer); err != nil {
		return err
	}
	if out == cli.OutputJSON {
		return cli.PrintJSON(s.Out, answer)
	}
	fmt.Fprintf(s.Out, "now:    %s\noffset: %s\n", answer.Now.Format(time.RFC3339), answer.Offset)
	return nil
}
