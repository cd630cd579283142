// Package policycmd implements `irsa-local policy suggest`: the
// least-privilege policy for what a role's sessions did, from the audit
// trail, and how the role's current policies compare with it.
package policycmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/advisor"
	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/doctor"
	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/internal/trail"
	"github.com/irsa-local/irsa-local/pkg/harness"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

type flagpole struct {
	Role   string
	Since  time.Duration
	Output cli.Output
}

// NewCommand returns the policy command and its suggest subcommand.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Args:  cobra.NoArgs,
		Short: "Least-privilege policies from what roles did",
	}
	f := &flagpole{}
	suggest := &cobra.Command{
		Use:   "suggest --role NAME",
		Args:  cobra.NoArgs,
		Short: "Print the least-privilege policy that covers what a role's sessions did and were refused",
		Long: `suggest reads the audit trail and prints the policy that allows exactly the
calls the sessions of --role made during --since, allowed or refused: each
action on the exact resources the calls named (never "*" where the trail
names the resource), actions on the same resources in one statement. It
then compares the role's current policies with that use: statements no call
needed, wildcards broader than the use, and the statements missing for the
refused calls.

S3, IAM writes and the forwarded services (SQS, SNS, DynamoDB, Secrets
Manager, SSM, KMS) are covered; IAM reads and a role's sts:AssumeRole hops
are not in the trail, so not in the suggestion.`,
		Example: `  irsa-local policy suggest --role s3-reader-role
  irsa-local policy suggest --role s3-reader-role --since 10m -o json | jq .policy`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), s, env, f)
		},
	}
	suggest.Flags().StringVar(&f.Role, "role", "", "the role, by name (in the default account) or ARN")
	suggest.Flags().DurationVar(&f.Since, "since", 0, "only calls this recent (default: the whole trail)")
	cli.BindOutput(suggest, &f.Output)
	cmd.AddCommand(suggest)
	return cmd
}

// Report is what suggest prints with -o json, and what the advisor panel
// of irsa-local ui shows.
type Report struct {
	Role       string             `json:"role"`
	Calls      []advisor.Call     `json:"calls"`
	Policy     advisor.Policy     `json:"policy"`
	Comparison advisor.Comparison `json:"comparison"`
	// Compared says the role's current policies were read: the
	// environment runs and the role is in its default account.
	Compared bool `json:"compared"`
}

func run(ctx context.Context, s cli.Streams, env *cli.EnvFlags, f *flagpole) error {
	if f.Role == "" {
		return errors.New("name the role with --role")
	}
	l, err := env.Layout()
	if err != nil {
		return err
	}
	_, d, err := env.Describe()
	if err != nil {
		return err
	}
	var since time.Time
	if f.Since > 0 {
		since = time.Now().Add(-f.Since)
	}
	r, err := Suggest(ctx, l, d, f.Role, since)
	if err != nil {
		return err
	}
	if f.Output == cli.OutputJSON {
		return cli.PrintJSON(s.Out, r)
	}
	return printText(s.Out, r)
}

// Suggest builds the report for role (a name in the default account, or an
// ARN) from the trail records of environment d since the given time (zero:
// the whole trail).
func Suggest(ctx context.Context, l envdir.Layout, d harness.Description, role string, since time.Time) (Report, error) {
	roleARN, roleName := role, role
	if strings.HasPrefix(role, "arn:") {
		roleName = role[strings.LastIndex(role, "/")+1:]
	} else {
		roleARN = "arn:aws:iam::" + d.AWS.AccountID + ":role/" + role
	}
	recs, err := trail.Read(l.TrailFile(), since)
	if err != nil {
		return Report{}, err
	}
	r := Report{Role: roleARN, Calls: advisor.Calls(recs, roleARN, since)}
	r.Policy = advisor.Suggest(r.Calls)
	if !d.Running || !strings.Contains(roleARN, ":"+d.AWS.AccountID+":") {
		return r, nil
	}
	client := iam.NewFromConfig(d.AWS.AdminConfig())
	named, err := doctor.RolePolicies(ctx, client, roleName)
	if err != nil {
		return Report{}, err
	}
	var docs []policy.NamedDocument
	for _, np := range named {
		doc, err := policy.Parse(np.Document, policy.Identity)
		if err != nil {
			return Report{}, fmt.Errorf("parse %s of role %s: %w", np.Name, roleName, err)
		}
		docs = append(docs, policy.NamedDocument{Name: np.Name, Doc: doc})
	}
	r.Comparison = advisor.Compare(docs, r.Calls)
	r.Compared = true
	return r, nil
}

func printText(w io.Writer, r Report) error {
	if len(r.Calls) == 0 {
		_, err := fmt.Fprintf(w, "No call by a session of %s in the trail: run the workload first.\n", r.Role)
		return err
	}
	fmt.Fprintf(w, "# %d distinct call(s) by sessions of %s\n", len(r.Calls), r.Role)
	for _, c := range r.Calls {
		state := fmt.Sprintf("allowed %d", c.Allowed)
		if c.Refused > 0 {
			state += fmt.Sprintf(", refused %d", c.Refused)
		}
		fmt.Fprintf(w, "#   %s on %s (%s)\n", c.Action, c.Resource, state)
	}
	fmt.Fprintln(w, r.Policy.JSON())
	if !r.Compared {
		return nil
	}
	c := r.Comparison
	fmt.Fprintln(w)
	fmt.Fprintln(w, "# Compared with the role's current policies:")
	for _, g := range c.Unused {
		fmt.Fprintf(w, "#   never used: %s statement %s: %s on %s\n", g.Policy, grantName(g), strings.Join(g.Action, ", "), strings.Join(g.Resource, ", "))
	}
	for _, g := range c.Broader {
		fmt.Fprintf(w, "#   broader than the use: %s statement %s: %s on %s; used only for %s\n", g.Policy, grantName(g), strings.Join(g.Action, ", "), strings.Join(g.Resource, ", "), strings.Join(g.Used, "; "))
	}
	for _, m := range c.Missing {
		fmt.Fprintf(w, "#   missing: %s on %s was refused %d time(s)\n", m.Action, m.Resource, m.Refused)
	}
	if c.Add != nil {
		fmt.Fprintln(w, "# Statements to add for the refused calls:")
		fmt.Fprintln(w, c.Add.JSON())
	}
	if len(c.Unused)+len(c.Broader)+len(c.Missing) == 0 {
		fmt.Fprintln(w, "#   they allow exactly what was used.")
	}
	return nil
}

func grantName(g advisor.Grant) string {
	if g.Sid != "" {
		return g.Sid
	}
	return fmt.Sprint(g.Statement)
}
