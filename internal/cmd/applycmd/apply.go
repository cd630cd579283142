// Package applycmd implements `irsa-local apply -f`: create, idempotently,
// the roles, policies, buckets, namespaces and service accounts an
// environment file describes.
package applycmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/envctl"
	"github.com/irsa-local/irsa-local/pkg/harness"
)

// NewCommand returns the apply command.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Args:  cobra.NoArgs,
		Short: "Create what an environment file describes: roles, policies, buckets, service accounts",
		Long: `apply reads an environment file (apiVersion irsa-local.dev/v1alpha1, kind
Environment) and creates what is missing, bringing what exists in line: roles
with their trust (a service account, or a full trust policy), managed and
inline policies, buckets with their policy and objects, namespaces, and
service accounts annotated with their role. Running it twice changes nothing.
The same file works with 'irsa-local up -f' and harness.LoadEnvironmentFile.`,
		Example: `  irsa-local apply -f examples/environment.yaml
  irsa-local up -f examples/environment.yaml`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Run(cmd.Context(), s, env, file)
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "environment file (required)")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// Run applies file to the environment env names.
func Run(ctx context.Context, s cli.Streams, env *cli.EnvFlags, file string) error {
	l, err := env.Layout()
	if err != nil {
		return err
	}
	f, err := harness.LoadEnvironmentFile(file)
	if err != nil {
		return err
	}
	if err := envctl.Open(l).ApplyFile(ctx, f); err != nil {
		return env.Explain(l, err)
	}
	roles, policies, buckets := len(f.Roles), len(f.Policies), len(f.Buckets)
	for _, a := range f.Accounts {
		roles, policies, buckets = roles+len(a.Roles), policies+len(a.Policies), buckets+len(a.Buckets)
	}
	accounts := ""
	if len(f.Accounts) > 0 {
		accounts = fmt.Sprintf(" in %d account(s)", len(f.Accounts)+1)
	}
	associations := ""
	if n := len(f.PodIdentityAssociations); n > 0 {
		associations = fmt.Sprintf(", %d Pod Identity association(s)", n)
	}
	fmt.Fprintf(s.ErrOut, "✓ Applied %s: %d role(s), %d policy(ies), %d bucket(s)%s, %d service account(s)%s.\n",
		file, roles, policies, buckets, accounts, len(f.ServiceAccounts), associations)
	return nil
}
