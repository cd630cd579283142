package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/irsa-local/irsa-local/internal/assets"
	"github.com/irsa-local/irsa-local/internal/engine"
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
	KindImage      string
	KubeVersion    string
	Backend        string
	Kubeconfig     string
	Context        string
	AWSHTTPSPort   int
	ListenHost     string
	Webhook        string
	Image          string
	PodAWSEndpoint string

	// set holds exactly these flags, so that Args renders them and no
	// other flag of the command.
	set *pflag.FlagSet
}

// Bind registers the flags on cmd.
func (f *CreateFlags) Bind(cmd *cobra.Command) {
	f.set = pflag.NewFlagSet("create", pflag.ContinueOnError)
	f.bind(f.set)
	cmd.Flags().AddFlagSet(f.set)
}

func (f *CreateFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.Cluster, "cluster", string(engine.ClusterLocal), "cluster mode: local (etcd, kube-apiserver and kube-controller-manager as processes; no Docker), kind (real nodes and pods in Docker), existing (adopt the running cluster of --kubeconfig, its apiserver untouched) or none (issuer and AWS endpoint only)")
	fs.StringVar(&f.Kubeconfig, "kubeconfig", "", "kubeconfig of the cluster --cluster existing adopts (default: KUBECONFIG, else ~/.kube/config)")
	fs.StringVar(&f.Context, "context", "", "context of that kubeconfig (default: its current context)")
	fs.StringVar(&f.Webhook, "webhook", string(engine.WebhookAuto), "where an adopted cluster's webhook runs: host (served from this machine), cluster (a Deployment of the irsa-local image) or auto (host when the cluster reaches this machine)")
	fs.StringVar(&f.Image, "image", engine.DefaultImage, "irsa-local image of the in-cluster webhook (make image builds it)")
	fs.StringVar(&f.PodAWSEndpoint, "pod-aws-endpoint", "", "AWS endpoint an adopted cluster's pods are pointed at (default: this machine's, on the address the cluster reaches)")
	fs.StringVar(&f.KindImage, "kind-image", "", "node image of a kind cluster (default: irsa-local/kind-node:"+assets.KubernetesVersion+" when built on this machine, else kind's default)")
	fs.StringVar(&f.KubeVersion, "kubernetes-version", "", "Kubernetes version of a kind cluster, e.g. v1.35.0: picks the node image kindest/node:<version> (or irsa-local's own image of that version when built here)")
	fs.IntVar(&f.IssuerPort, "issuer-port", 0, "HTTPS port of the issuer for a new environment (default: a free port, kept from then on)")
	fs.StringVar(&f.IssuerHost, "issuer-host", engine.DefaultIssuerHost, "host name in the issuer URL of a new environment")
	fs.IntVar(&f.AWSPort, "aws-port", 0, "plain-HTTP port of the AWS endpoint of a new environment (default: a free port, kept from then on)")
	fs.IntVar(&f.AWSHTTPSPort, "aws-https-port", 0, "HTTPS port of the AWS endpoint of a new environment (default: a free port, kept from then on)")
	fs.StringVar(&f.ListenHost, "listen-host", "", "address the issuer and the AWS endpoint listen on (default: the issuer host; 0.0.0.0 in a container)")
	fs.BoolVar(&f.NoOIDCProvider, "no-oidc-provider", false, "do not register the issuer as an IAM OIDC provider (as before 'eksctl utils associate-iam-oidc-provider')")
	fs.BoolVar(&f.NoInjection, "no-endpoint-injection", false, "make the webhook mutate pods exactly as EKS's does, without AWS_ENDPOINT_URL pointing at the emulator")
	fs.StringVar(&f.Region, "region", engine.DefaultRegion, "AWS region of a new environment")
	fs.StringVar(&f.Backend, "backend", string(engine.BackendAuto), "emulator that stores SQS, SNS, DynamoDB, Secrets Manager, SSM and KMS data behind irsa-local's authorization: auto (moto_server when on PATH), moto, none, container:moto or container:localstack (Docker, through testcontainers-go), or the URL of one you run")
	fs.DurationVar(&f.GracePeriod, "webhook-grace-period", webhook.DefaultGracePeriod, "how long the webhook waits for a pod's service account to reach its cache before leaving the pod unmutated (0: upstream's behaviour)")
}

// Validate rejects flags that do not fit together, before anything starts.
func (f *CreateFlags) Validate() error {
	if f.Cluster != string(engine.ClusterKind) {
		for name, v := range map[string]string{"--kind-image": f.KindImage, "--kubernetes-version": f.KubeVersion} {
			if v != "" {
				return fmt.Errorf("%s applies to --cluster kind only", name)
			}
		}
	}
	if f.Cluster != string(engine.ClusterExisting) {
		for name, v := range map[string]string{"--kubeconfig": f.Kubeconfig, "--context": f.Context, "--pod-aws-endpoint": f.PodAWSEndpoint} {
			if v != "" {
				return fmt.Errorf("%s applies to --cluster existing only", name)
			}
		}
		if f.Webhook != string(engine.WebhookAuto) || f.Image != engine.DefaultImage {
			return errors.New("--webhook and --image apply to --cluster existing only")
		}
	}
	switch engine.WebhookMode(f.Webhook) {
	case engine.WebhookAuto, engine.WebhookHost, engine.WebhookInCluster:
	default:
		return fmt.Errorf("--webhook %q: want auto, host or cluster", f.Webhook)
	}
	if f.Kubeconfig != "" {
		// The background process may not share this directory.
		abs, err := filepath.Abs(f.Kubeconfig)
		if err != nil {
			return fmt.Errorf("--kubeconfig %s: %w", f.Kubeconfig, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("--kubeconfig %s: %w", f.Kubeconfig, err)
		}
		f.Kubeconfig = abs
	}
	if f.KindImage != "" && f.KubeVersion != "" {
		return errors.New("give --kind-image or --kubernetes-version, not both: the image fixes the version")
	}
	switch b := engine.Backend(f.Backend); {
	case b == engine.BackendAuto || b == engine.BackendMoto || b == engine.BackendNone,
		b == engine.BackendMotoContainer || b == engine.BackendLocalStack:
	case strings.HasPrefix(f.Backend, "http://") || strings.HasPrefix(f.Backend, "https://"):
	default:
		return fmt.Errorf("--backend %q: want auto, moto, none, container:moto, container:localstack or an http(s):// URL", f.Backend)
	}
	if f.KubeVersion != "" && !strings.HasPrefix(f.KubeVersion, "v") {
		return fmt.Errorf("--kubernetes-version %q: want a version such as v1.35.0", f.KubeVersion)
	}
	return nil
}

// Args renders every flag, with its current value, as command-line
// arguments that Bind parses back into the same values. f must be bound.
func (f *CreateFlags) Args() []string {
	var args []string
	f.set.VisitAll(func(fl *pflag.Flag) {
		args = append(args, "--"+fl.Name+"="+fl.Value.String())
	})
	return args
}

// Options turns the flags into harness options.
func (f *CreateFlags) Options() []engine.Option {
	opts := []engine.Option{
		engine.WithCluster(engine.ClusterMode(f.Cluster)),
		engine.WithIssuerPort(f.IssuerPort),
		engine.WithIssuerHost(f.IssuerHost),
		engine.WithRegion(f.Region),
		engine.WithAWSPort(f.AWSPort),
		engine.WithAWSHTTPSPort(f.AWSHTTPSPort),
		engine.WithWebhookGracePeriod(f.GracePeriod),
	}
	if f.Kubeconfig != "" || f.Context != "" {
		opts = append(opts, engine.WithKubeconfig(f.Kubeconfig, f.Context))
	}
	if f.Cluster == string(engine.ClusterExisting) {
		opts = append(opts, engine.WithWebhook(engine.WebhookMode(f.Webhook), f.Image))
		if f.PodAWSEndpoint != "" {
			opts = append(opts, engine.WithPodAWSEndpoint(f.PodAWSEndpoint))
		}
	}
	if f.ListenHost != "" {
		opts = append(opts, engine.WithListenHost(f.ListenHost))
	}
	if strings.Contains(f.Backend, "://") {
		opts = append(opts, engine.WithBackendURL(f.Backend))
	} else {
		opts = append(opts, engine.WithBackend(engine.Backend(f.Backend)))
	}
	if f.NoOIDCProvider {
		opts = append(opts, engine.WithoutOIDCProvider())
	}
	if f.NoInjection {
		opts = append(opts, engine.WithoutEndpointInjection())
	}
	if f.KindImage != "" {
		opts = append(opts, engine.WithKindImage(f.KindImage))
	}
	if exe, err := os.Executable(); err == nil {
		// A kind node runs this very binary as its Pod Identity agent.
		opts = append(opts, engine.WithPodIdentityAgent(exe))
	}
	if f.KubeVersion != "" {
		opts = append(opts, engine.WithKubernetesVersion(f.KubeVersion))
	}
	return opts
}
