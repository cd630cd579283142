// Package status implements `irsa-local status`.
package statuscmd

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/pkg/harness"
)

// NewCommand returns the status command.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	var out cli.Output
	cmd := &cobra.Command{
		Use:     "status",
		Args:    cobra.NoArgs,
		Short:   "Describe an environment: issuer, AWS endpoint, cluster and the state of each component",
		Example: "  irsa-local status\n  irsa-local status -o json | jq -r .issuer.url",
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, d, err := env.Describe()
			if err != nil {
				return err
			}
			if out == cli.OutputJSON {
				return cli.PrintJSON(s.Out, d)
			}
			return printText(s, d)
		},
	}
	cli.BindOutput(cmd, &out)
	return cmd
}

func printText(s cli.Streams, d harness.Description) error {
	state := "stopped"
	if d.Running {
		state = fmt.Sprintf("running (pid %d)", d.PID)
	}
	w := tabwriter.NewWriter(s.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "Environment:\t%s\t%s\n", d.Name, state)
	fmt.Fprintf(w, "State dir:\t%s\n", d.StateDir)
	fmt.Fprintf(w, "Issuer:\t%s\n", d.Issuer.URL)
	fmt.Fprintf(w, "JWKS:\t%s\n", d.Issuer.JWKSURL)
	if d.Issuer.ViaAPIServer {
		fmt.Fprintf(w, "\t(the cluster's issuer URL is not reachable from this machine: its keys are read through the apiserver)\n")
	}
	fmt.Fprintf(w, "CA file:\t%s\n", d.Issuer.CAFile)
	fmt.Fprintf(w, "AWS endpoint:\t%s  (https: %s)\n", d.AWS.Endpoint, d.AWS.EndpointHTTPS)
	provider := d.AWS.OIDCProviderARN
	if provider == "" {
		provider = "(none registered)"
	}
	fmt.Fprintf(w, "OIDC provider:\t%s\n", provider)
	fmt.Fprintf(w, "Credentials:\t%s / %s\n", d.AWS.AccessKeyID, d.AWS.SecretAccessKey)
	fmt.Fprintf(w, "Region:\t%s\n", d.AWS.Region)
	fmt.Fprintf(w, "Account:\t%s\n", d.AWS.AccountID)
	if len(d.AWS.Accounts) > 1 {
		fmt.Fprintf(w, "Other accounts:\t%s  (each one's root: its 12-digit id as access key, any secret)\n", strings.Join(d.AWS.Accounts[1:], ", "))
	}
	fmt.Fprintf(w, "Cluster:\t%s\n", d.Cluster.Mode)
	if d.Cluster.KindCluster != "" {
		fmt.Fprintf(w, "kind cluster:\t%s  (node image %s)\n", d.Cluster.KindCluster, d.Cluster.NodeImage)
	}
	if d.Cluster.Server != "" {
		fmt.Fprintf(w, "Adopted cluster:\t%s  (kubeconfig %s, context %s)\n", d.Cluster.Server, d.Cluster.Kubeconfig, d.Cluster.Context)
		if d.Cluster.Reach != "" {
			fmt.Fprintf(w, "Reached at:\t%s\n", d.Cluster.Reach)
		}
	}
	if d.Cluster.PodAWSEndpoint != "" {
		fmt.Fprintf(w, "AWS endpoint for pods:\t%s\n", d.Cluster.PodAWSEndpoint)
	} else if d.Cluster.Mode == harness.ClusterExisting && d.Running {
		fmt.Fprintf(w, "AWS endpoint for pods:\tnone: the cluster's nodes reach no address of this machine (up --pod-aws-endpoint URL gives one)\n")
	}
	for i, a := range d.Cluster.PodIdentityAssociations {
		label := ""
		if i == 0 {
			label = "Pod Identity:"
		}
		role := a.RoleARN
		if a.TargetRoleARN != "" {
			role += " -> " + a.TargetRoleARN
		}
		fmt.Fprintf(w, "%s\t%s/%s -> %s  (%s)\n", label, a.Namespace, a.ServiceAccount, role, a.ID)
	}
	if b := d.Backend; b != nil {
		switch {
		case b.Kind == "none":
			fmt.Fprintf(w, "Backend:\tnone (%s)\n", b.Note)
		default:
			fmt.Fprintf(w, "Backend:\t%s at %s, for %s\n", b.Kind, b.URL, strings.Join(b.Services, ", "))
		}
	}
	for _, c := range d.Components {
		line := c.State
		if c.Listen != "" {
			line += " on " + c.Listen
		}
		if c.Error != "" {
			line += ": " + c.Error
		}
		fmt.Fprintf(w, "  %s\t%s\n", c.Name, line)
	}
	return w.Flush()
}
