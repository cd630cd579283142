// Package envcmd implements `irsa-local env`: shell exports that point the
// AWS CLI, SDKs and kubectl at an environment, either as its admin or as a
// service account's web identity.
package envcmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/envctl"
	"github.com/irsa-local/irsa-local/internal/fsutil"
	"github.com/irsa-local/irsa-local/pkg/harness"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

type flagpole struct {
	Namespace      string
	ServiceAccount string
	RoleARN        string
	Shell          string
	Output         cli.Output
}

// NewCommand returns the env command.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	f := &flagpole{}
	cmd := &cobra.Command{
		Use:   "env [-n NS --service-account SA] [--shell bash|zsh|fish]",
		Args:  cobra.NoArgs,
		Short: "Print shell exports that point AWS clients and kubectl at the environment",
		Long: `Without a service account, env exports AWS_ENDPOINT_URL, the region, the admin
credentials (test/test, the account root) and KUBECONFIG: what the walkthrough's
aws and kubectl commands need.

With a service account, it exports what a pod of it gets instead: AWS_ROLE_ARN
(from the service account's eks.amazonaws.com/role-arn annotation, or
--role-arn with --cluster none) and AWS_WEB_IDENTITY_TOKEN_FILE pointing at a
fresh token file, and it unsets every static key and AWS_PROFILE, since static
keys take precedence over web identity in every SDK.`,
		Example: `  eval "$(irsa-local env)"
  eval "$(irsa-local env -n demo --service-account s3-reader)"
  irsa-local env --shell fish | source`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			vars, err := collect(cmd.Context(), env, f)
			if err != nil {
				return err
			}
			if f.Output == cli.OutputJSON {
				out := map[string]*string{}
				for _, v := range vars {
					out[v.name] = v.value
				}
				return cli.PrintJSON(s.Out, out)
			}
			return render(s.Out, f.Shell, vars)
		},
	}
	cmd.Flags().StringVarP(&f.Namespace, "namespace", "n", "default", "namespace of the service account")
	cmd.Flags().StringVar(&f.ServiceAccount, "service-account", "", "export a service account's web identity instead of the admin credentials")
	cmd.Flags().StringVar(&f.RoleARN, "role-arn", "", "role to assume (default: the service account's eks.amazonaws.com/role-arn)")
	cmd.Flags().StringVar(&f.Shell, "shell", "bash", "shell syntax: bash, zsh or fish")
	cli.BindOutput(cmd, &f.Output)
	return cmd
}

// variable is one export; a nil value unsets it.
type variable struct {
	name  string
	value *string
}

func set(name, value string) variable { return variable{name, &value} }
func unset(name string) variable      { return variable{name: name} }

func collect(ctx context.Context, env *cli.EnvFlags, f *flagpole) ([]variable, error) {
	l, d, err := env.Describe()
	if err != nil {
		return nil, err
	}
	vars := []variable{
		set("AWS_ENDPOINT_URL", d.AWS.Endpoint),
		set("AWS_REGION", d.AWS.Region),
		set("AWS_DEFAULT_REGION", d.AWS.Region),
		unset("AWS_PROFILE"),
		unset("AWS_SESSION_TOKEN"),
	}
	if d.Cluster.Kubeconfig != "" {
		vars = append(vars, set("KUBECONFIG", d.Cluster.Kubeconfig))
	}
	if f.ServiceAccount == "" {
		return append(vars,
			set("AWS_ACCESS_KEY_ID", d.AWS.AccessKeyID),
			set("AWS_SECRET_ACCESS_KEY", d.AWS.SecretAccessKey),
			unset("AWS_ROLE_ARN"),
			unset("AWS_WEB_IDENTITY_TOKEN_FILE"),
		), nil
	}
	roleARN := f.RoleARN
	audience, duration := "sts.amazonaws.com", 24*time.Hour
	if d.Cluster.Mode != harness.ClusterNone {
		c, err := envctl.ClusterClient(d)
		if err != nil {
			return nil, err
		}
		sa, err := c.CoreV1().ServiceAccounts(f.Namespace).Get(ctx, f.ServiceAccount, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("get service account %s/%s: %w", f.Namespace, f.ServiceAccount, err)
		}
		if roleARN == "" {
			roleARN = sa.Annotations[harness.RoleARNAnnotation]
		}
		if a := sa.Annotations["eks.amazonaws.com/audience"]; a != "" {
			audience = a
		}
	}
	if roleARN == "" {
		return nil, fmt.Errorf("service account %s/%s names no role: annotate it with %s=<role ARN>, or pass --role-arn", f.Namespace, f.ServiceAccount, harness.RoleARNAnnotation)
	}
	tok, err := envctl.Open(l).IssueToken(ctx, issuer.TokenRequest{Namespace: f.Namespace, ServiceAccount: f.ServiceAccount, Audiences: []string{audience}, Duration: duration})
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(l.Dir, "tokens")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create token directory: %w", err)
	}
	file := filepath.Join(dir, f.Namespace+"_"+f.ServiceAccount)
	if err := fsutil.WriteFileAtomic(file, []byte(tok), 0o600); err != nil {
		return nil, fmt.Errorf("write token: %w", err)
	}
	return append(vars,
		set("AWS_ROLE_ARN", roleARN),
		set("AWS_WEB_IDENTITY_TOKEN_FILE", file),
		unset("AWS_ACCESS_KEY_ID"),
		unset("AWS_SECRET_ACCESS_KEY"),
	), nil
}

// render writes vars in the shell's syntax, values single-quoted.
func render(w io.Writer, shell string, vars []variable) error {
	sort.SliceStable(vars, func(i, j int) bool { return (vars[i].value == nil) && (vars[j].value != nil) })
	for _, v := range vars {
		var line string
		switch shell {
		case "bash", "zsh", "sh":
			if v.value == nil {
				line = "unset " + v.name
			} else {
				line = "export " + v.name + "=" + quote(*v.value)
			}
		case "fish":
			if v.value == nil {
				line = "set -e " + v.name
			} else {
				line = "set -gx " + v.name + " " + quote(*v.value)
			}
		default:
			return fmt.Errorf("unknown shell %q: want bash, zsh or fish", shell)
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
