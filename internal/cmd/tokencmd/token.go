// Package token implements `irsa-local token`: print a service-account
// token signed by the environment's issuer.
package tokencmd

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/envctl"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

type flagpole struct {
	Namespace      string
	ServiceAccount string
	Audiences      []string
	Duration       time.Duration
}

// NewCommand returns the token command.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	f := &flagpole{}
	cmd := &cobra.Command{
		Use:   "token",
		Args:  cobra.NoArgs,
		Short: "Print a service-account token (JWT) as kube-apiserver would project it",
		Example: `  irsa-local token -n default --service-account s3-reader > token
  aws sts assume-role-with-web-identity --role-arn ARN --role-session-name test \
    --web-identity-token "$(irsa-local token -n default --service-account s3-reader)"`,
		Long: `token prints a service-account token. With a cluster it comes from the
apiserver through TokenRequest, exactly as the kubelet gets a projected token;
with --cluster none it is minted with the environment's signing key, with the
claims the apiserver would put in it.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := env.Layout()
			if err != nil {
				return err
			}
			tok, err := envctl.Open(l).IssueToken(cmd.Context(), issuer.TokenRequest{
				Namespace:      f.Namespace,
				ServiceAccount: f.ServiceAccount,
				Audiences:      f.Audiences,
				Duration:       f.Duration,
			})
			if err != nil {
				return env.Explain(l, err)
			}
			_, err = fmt.Fprintln(s.Out, tok)
			return err
		},
	}
	cmd.Flags().StringVarP(&f.Namespace, "namespace", "n", "default", "namespace of the service account")
	cmd.Flags().StringVar(&f.ServiceAccount, "service-account", "", "service account name (required)")
	cmd.Flags().StringSliceVar(&f.Audiences, "audience", []string{"sts.amazonaws.com"}, "token audience (repeatable)")
	cmd.Flags().DurationVar(&f.Duration, "duration", time.Hour, "token lifetime (at least 10m, as kube-apiserver requires)")
	_ = cmd.MarkFlagRequired("service-account")
	cmd.AddCommand(newVerifyCommand(s, env), newDecodeCommand(s))
	return cmd
}

func newVerifyCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	var audience string
	var out cli.Output
	cmd := &cobra.Command{
		Use:   "verify [FILE|-]",
		Args:  cobra.MaximumNArgs(1),
		Short: "Verify a token against the environment's served discovery document and JWKS",
		Long: `verify fetches the issuer's discovery document and JWKS over HTTPS, trusting only
the environment's CA, and checks the token's signature, issuer, audience and
expiry. It prints the verified claims.`,
		Example: `  irsa-local token --service-account app | irsa-local token verify -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := env.Layout()
			if err != nil {
				return err
			}
			tok, err := cli.ReadArgOrStdin(s, args)
			if err != nil {
				return err
			}
			c, err := envctl.Open(l).VerifyToken(cmd.Context(), tok, audience)
			if err != nil {
				return err
			}
			if out == cli.OutputJSON {
				return cli.PrintJSON(s.Out, c)
			}
			fmt.Fprintf(s.Out, "✓ token verified against %s\n", c.Issuer)
			fmt.Fprintf(s.Out, "  sub: %s\n  aud: %s\n  exp: %s\n", c.Subject, strings.Join(c.Audience, ","), time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&audience, "audience", "sts.amazonaws.com", "audience the token must carry (empty: any)")
	cli.BindOutput(cmd, &out)
	return cmd
}

func newDecodeCommand(s cli.Streams) *cobra.Command {
	var out cli.Output
	cmd := &cobra.Command{
		Use:   "decode [FILE|-]",
		Args:  cobra.MaximumNArgs(1),
		Short: "Show a token's header and claims, with readable times and the time left (no verification)",
		Long: `decode prints what a service-account token really carries — iss, aud, sub,
the kubernetes.io claims — and when it was issued and expires. It does not
check the signature: use 'irsa-local token verify' for that.`,
		Example: `  irsa-local token decode /var/run/secrets/eks.amazonaws.com/serviceaccount/token
  kubectl create token app --audience sts.amazonaws.com | irsa-local token decode -`,
		RunE: func(_ *cobra.Command, args []string) error {
			raw, err := cli.ReadArgOrStdin(s, args)
			if err != nil {
				return err
			}
			d, err := issuer.Decode(raw)
			if err != nil {
				return err
			}
			if out == cli.OutputJSON {
				return cli.PrintJSON(s.Out, d)
			}
			return printDecoded(s, d, time.Now())
		},
	}
	cli.BindOutput(cmd, &out)
	return cmd
}

func printDecoded(s cli.Streams, d *issuer.Decoded, now time.Time) error {
	w := s.Out
	fmt.Fprintln(w, "Header:")
	for _, k := range sortedKeys(d.Header) {
		fmt.Fprintf(w, "  %-4s %v\n", k+":", d.Header[k])
	}
	fmt.Fprintln(w, "Claims:")
	for _, k := range sortedKeys(d.Claims) {
		v := d.Claims[k]
		switch k {
		case "exp", "iat", "nbf":
			if t, ok := issuer.NumericTime(v); ok {
				fmt.Fprintf(w, "  %-14s %s (%s)\n", k+":", t.UTC().Format(time.RFC3339), relative(t, now))
				continue
			}
		case "kubernetes.io":
			b, _ := json.Marshal(v)
			fmt.Fprintf(w, "  %-14s %s\n", k+":", b)
			continue
		}
		if list, ok := v.([]any); ok {
			parts := make([]string, 0, len(list))
			for _, x := range list {
				parts = append(parts, fmt.Sprint(x))
			}
			fmt.Fprintf(w, "  %-14s [%s]\n", k+":", strings.Join(parts, ", "))
			continue
		}
		fmt.Fprintf(w, "  %-14s %v\n", k+":", v)
	}
	if exp, ok := issuer.NumericTime(d.Claims["exp"]); ok {
		if left := exp.Sub(now); left > 0 {
			fmt.Fprintf(w, "Time left: %s\n", left.Round(time.Second))
		} else {
			fmt.Fprintf(w, "Expired %s ago (STS still accepts it for 5 minutes after exp)\n", (-left).Round(time.Second))
		}
	}
	return nil
}

func relative(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	if d >= 0 {
		return "in " + d.String()
	}
	return (-d).String() + " ago"
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
