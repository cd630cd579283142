package cli

import (
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/pkg/harness"
	"github.com/irsa-local/irsa-local/pkg/webhook"
)

// CreateFlags choose how an environment is created and run. `up` takes them
// from the user and hands them to the background `serve`, which turns them
// into harness options.
type CreateFlags struct {
	Cluster        string
	IssuerPort     int
	IssuerHost     string
	Region         string
	AWSPort        int
	NoOIDCProvider bool
	NoInjection    bool
	GracePeriod    time.Duration
}

// Bind registers the flags on cmd.
func (f *CreateFlags) Bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Cluster, "cluster", string(harness.ClusterLocal), "cluster mode: local (etcd, kube-apiserver and kube-controller-manager as processes; no Docker) or none (issuer and AWS endpoint only)")
	cmd.Flags().IntVar(&f.IssuerPort, "issuer-port", 0, "HTTPS port of the issuer for a new environment (default: a free port, kept from then on)")
	cmd.Flags().StringVar(&f.IssuerHost, "issuer-host", harness.DefaultIssuerHost, "host name in the issuer URL of a new environment")
	cmd.Flags().IntVar(&f.AWSPort, "aws-port", 0, "plain-HTTP port of the AWS endpoint of a new environment (default: a free port, kept from then on)")
	cmd.Flags().BoolVar(&f.NoOIDCProvider, "no-oidc-provider", false, "do not register the issuer as an IAM OIDC provider (as before 'eksctl utils associate-iam-oidc-provider')")
	cmd.Flags().BoolVar(&f.NoInjection, "no-endpoint-injection", false, "make the webhook mutate pods exactly as EKS's does, without AWS_ENDPOINT_URL pointing at the emulator")
	cmd.Flags().StringVar(&f.Region, "region", harness.DefaultRegion, "AWS region of a new environment")
	cmd.Flags().DurationVar(&f.GracePeriod, "webhook-grace-period", webhook.DefaultGracePeriod, "how long the webhook waits for a pod's service account to reach its cache before leaving the pod unmutated (0: upstream's behaviour)")
}

// Args renders the flags as command-line arguments.
func (f *CreateFlags) Args() []string {
	args := []string{
		"--cluster", f.Cluster,
		"--issuer-port", strconv.Itoa(f.IssuerPort),
		"--issuer-host", f.IssuerHost,
		"--region", f.Region,
		"--aws-port", strconv.Itoa(f.AWSPort),
		"--webhook-grace-period", f.GracePeriod.String(),
	}
	if f.NoOIDCProvider {
		args = append(args, "--no-oidc-provider")
	}
	if f.NoInjection {
		args = append(args, "--no-endpoint-injection")
	}
	return args
}

// Options turns the flags into harness options.
func (f *CreateFlags) Options() []harness.Option {
	opts := []harness.Option{
		harness.WithCluster(harness.ClusterMode(f.Cluster)),
		harness.WithIssuerPort(f.IssuerPort),
		harness.WithIssuerHost(f.IssuerHost),
		harness.WithRegion(f.Region),
		harness.WithAWSPort(f.AWSPort),
		harness.WithWebhookGracePeriod(f.GracePeriod),
	}
	if f.NoOIDCProvider {
		opts = append(opts, harness.WithoutOIDCProvider())
	}
	if f.NoInjection {
		opts = append(opts, harness.WithoutEndpointInjection())
	}
	return opts
}
