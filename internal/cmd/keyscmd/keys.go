// Package keys implements `irsa-local keys`: list, rotate and retire the
// service-account signing keys of an environment.
package keyscmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/envctl"
)

// NewCommand returns the keys command and its subcommands.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List, rotate and retire the service-account signing keys",
		Long: `Rotation adds a new signing key and keeps publishing the old ones, so tokens
signed before the rotation keep verifying. Retiring stops publishing old keys:
tokens they signed fail at once.`,
		Example: `  irsa-local keys rotate
  irsa-local keys retire          # every key but the signing key
  irsa-local keys retire KID`,
	}
	var out cli.Output
	list := &cobra.Command{
		Use:   "list",
		Args:  cobra.NoArgs,
		Short: "List published keys; the first one signs new tokens",
		RunE: func(_ *cobra.Command, _ []string) error {
			l, err := env.Layout()
			if err != nil {
				return err
			}
			ks, err := envctl.Open(l).Keys()
			if err != nil {
				return err
			}
			type key struct {
				KID     string `json:"kid"`
				Signing bool   `json:"signing"`
			}
			var keys []key
			for _, p := range ks.Published {
				keys = append(keys, key{KID: p.ID, Signing: p.ID == ks.SigningID})
			}
			if out == cli.OutputJSON {
				return cli.PrintJSON(s.Out, keys)
			}
			for _, k := range keys {
				role := "published"
				if k.Signing {
					role = "signing"
				}
				fmt.Fprintf(s.Out, "%s\t%s\n", k.KID, role)
			}
			return nil
		},
	}
	cli.BindOutput(list, &out)
	rotate := &cobra.Command{
		Use:   "rotate",
		Args:  cobra.NoArgs,
		Short: "Sign new tokens with a new key; keep publishing the old ones",
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := env.Layout()
			if err != nil {
				return err
			}
			ks, err := envctl.Open(l).RotateKeys(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(s.ErrOut, "✓ New signing key %s; %d key(s) published.\n", ks.SigningID, len(ks.Published))
			fmt.Fprintln(s.Out, ks.SigningID)
			return nil
		},
	}
	retire := &cobra.Command{
		Use:   "retire [KID...]",
		Short: "Stop publishing old keys (all but the signing key when no KID is given)",
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := env.Layout()
			if err != nil {
				return err
			}
			retired, err := envctl.Open(l).RetireKeys(cmd.Context(), args...)
			if err != nil {
				return err
			}
			if len(retired) == 0 {
				fmt.Fprintln(s.ErrOut, "No key to retire: only the signing key is published.")
				return nil
			}
			for _, kid := range retired {
				fmt.Fprintln(s.Out, kid)
			}
			fmt.Fprintf(s.ErrOut, "✓ Retired %d key(s).\n", len(retired))
			return nil
		},
	}
	cmd.AddCommand(list, rotate, retire)
	return cmd
}
