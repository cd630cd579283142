// Package trailcmd implements `irsa-local trail`: show the audit trail of
// an environment's AWS endpoint, who did what, allowed or denied, and why.
package trailcmd

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/internal/trail"
)

type flagpole struct {
	Follow         bool
	Since          time.Duration
	SourceIdentity string
	Output         cli.Output
}

// NewCommand returns the trail command.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	f := &flagpole{}
	cmd := &cobra.Command{
		Use:   "trail",
		Args:  cobra.NoArgs,
		Short: "Show the audit trail: every STS, S3 and forwarded call and IAM write, with the decision and its reason",
		Long: `Every STS, S3 and forwarded call (SQS, SNS, DynamoDB, Secrets Manager, SSM,
KMS) and every IAM write becomes a CloudTrail-shaped record (eventTime,
eventSource, eventName, userIdentity, requestParameters, resources, ...) with
an "irsaLocal" field holding irsa-local's decision and the statement or failed
check behind it. Secrets (secret keys, session tokens, web identity tokens)
never appear in it.`,
		Example: `  irsa-local trail --since 10m
  irsa-local trail --follow
  irsa-local trail --source-identity alice
  irsa-local trail -o json | jq 'select(.errorCode == "AccessDenied")'`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := env.Layout()
			if err != nil {
				return err
			}
			if _, err := envdir.LoadConfig(l); err != nil {
				return env.Explain(l, err)
			}
			print := func(r trail.Record) error {
				if f.SourceIdentity != "" && sourceIdentity(r) != f.SourceIdentity {
					return nil
				}
				return show(s.Out, f.Output, r)
			}
			var since time.Time
			if f.Since > 0 {
				since = time.Now().Add(-f.Since)
			}
			recs, err := trail.Read(l.TrailFile(), since)
			if err != nil {
				return err
			}
			for _, r := range recs {
				if err := print(r); err != nil {
					return err
				}
			}
			if f.Follow {
				return trail.Follow(cmd.Context(), l.TrailFile(), print)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&f.Follow, "follow", "f", false, "keep printing new records as they are written")
	cmd.Flags().DurationVar(&f.Since, "since", 0, "only records newer than this (e.g. 10m, 2h)")
	cmd.Flags().StringVar(&f.SourceIdentity, "source-identity", "", "only calls made by sessions with this source identity, and the AssumeRole calls that set it")
	cli.BindOutput(cmd, &f.Output)
	return cmd
}

// show prints one record: JSON, or one readable line (two on a denial).
func show(w io.Writer, out cli.Output, r trail.Record) error {
	if out == cli.OutputJSON {
		return cli.PrintJSON(w, r)
	}
	verdict := "ok   "
	if r.ErrorCode != "" {
		verdict = "FAIL "
	}
	if r.IrsaLocal != nil && r.IrsaLocal.Decision == "deny" {
		verdict = "DENY "
	}
	service := strings.TrimSuffix(r.EventSource, ".amazonaws.com")
	target := ""
	for _, k := range []string{"roleArn", "roleName", "bucketName", "key", "policyArn", "url", "openIDConnectProviderArn", "pod", "associationId"} {
		if v, ok := r.RequestParameters[k]; ok {
			target += fmt.Sprintf(" %s=%v", k, v)
		}
	}
	for _, res := range r.Resources {
		target += " resource=" + res.ARN
	}
	_, err := fmt.Fprintf(w, "%s %s %s:%s by %s%s%s", r.EventTime.Format(time.RFC3339), verdict, service, r.EventName, who(r.UserIdentity), chain(r.UserIdentity), target)
	if err != nil {
		return err
	}
	if r.ErrorCode != "" {
		fmt.Fprintf(w, " -> %s", r.ErrorCode)
		if r.ErrorMessage != "" {
			fmt.Fprintf(w, ": %s", r.ErrorMessage)
		}
	}
	fmt.Fprintln(w)
	if r.IrsaLocal != nil && r.IrsaLocal.Reason != "" && (r.ErrorCode != "" || r.IrsaLocal.Decision == "deny") {
		_, err = fmt.Fprintf(w, "    why: %s\n", r.IrsaLocal.Reason)
	}
	return err
}

// sourceIdentity is the source identity behind a record: the calling
// session's, or the one an AssumeRole call set.
func sourceIdentity(r trail.Record) string {
	if c := r.UserIdentity.SessionContext; c != nil && c.SourceIdentity != "" {
		return c.SourceIdentity
	}
	if v, ok := r.ResponseElements["sourceIdentity"].(string); ok {
		return v
	}
	return ""
}

// chain renders the links before a session, origin first.
func chain(u trail.UserIdentity) string {
	c := u.SessionContext
	if c == nil || len(c.Chain) == 0 || (len(c.Chain) == 1 && c.Chain[0].Type == "WebIdentity" && c.SourceIdentity == "") {
		return "" // a plain IRSA session: its caller line says enough
	}
	parts := make([]string, 0, len(c.Chain))
	for _, h := range c.Chain {
		switch h.Type {
		case "WebIdentity":
			parts = append(parts, h.Subject+" (web identity)")
		case "PodIdentity":
			parts = append(parts, "pod "+h.Pod+" (pod identity "+h.ARN[strings.LastIndexByte(h.ARN, '/')+1:]+")")
		default:
			parts = append(parts, h.ARN)
		}
	}
	out := " via " + strings.Join(parts, " -> ")
	if c.SourceIdentity != "" {
		out += " source-identity=" + c.SourceIdentity
	}
	return out
}

func who(u trail.UserIdentity) string {
	switch u.Type {
	case "AssumedRole", "Root":
		return u.ARN
	case "WebIdentityUser":
		if u.UserName == "" {
			return "web identity (token not readable)"
		}
		return u.UserName + " (web identity)"
	case "AWSAccount":
		return "anonymous"
	}
	return strings.ToLower(u.Type)
}
