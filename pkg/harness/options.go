package harness

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/irsa-local/irsa-local/internal/envdir"
)

// Option configures Start. Options that only matter when an environment is
// created (ports, region, account) are ignored for an existing one, whose
// identity is fixed in env.json.
type Option interface {
	apply(*options) error
}

type optionFunc func(*options) error

func (f optionFunc) apply(o *options) error { return f(o) }

type options struct {
	name       string
	stateDir   string
	cluster    ClusterMode
	issuerHost string
	issuerPort int
	awsPort    int
	noProvider bool
	inMemoryS3 bool
	// gracePeriod is how long the webhook waits for a service account not
	// yet in its cache; nil keeps the webhook's default (3s).
	gracePeriod *time.Duration
	// noEndpointInjection turns off the webhook's AWS_ENDPOINT_URL.
	noEndpointInjection bool
	region              string
	accountID           string
	kindImage           string
	kubeVersion         string
	agentBinary         string
	logger              *slog.Logger
	progress            func(step string)
	backend             Backend
	backendURL          string
	kubeconfig          string
	kubeContext         string
	listenHost          string
	awsTLSPort          int
	webhookMode         WebhookMode
	image               string
	podAWSEndpoint      string
}

// WebhookMode says where an adopted cluster's pod identity webhook runs.
type WebhookMode string

// Webhook modes: WebhookAuto serves it from this machine when the
// cluster's apiserver reaches this machine, else in the cluster;
// WebhookHost and WebhookInCluster force one or the other.
const (
	WebhookAuto      WebhookMode = "auto"
	WebhookHost      WebhookMode = "host"
	WebhookInCluster WebhookMode = "cluster"
)

// DefaultImage is the irsa-local image the in-cluster webhook runs (make
// image builds it).
const DefaultImage = "irsa-local:latest"

func defaultOptions() options {
	return options{
		name:       DefaultName,
		cluster:    ClusterNone,
		issuerHost: DefaultIssuerHost,
		region:     DefaultRegion,
		accountID:  DefaultAccountID,
		backend:    BackendNone,
		logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// WithName names a new environment (default "irsa-local"): it is the EKS
// cluster name, so it keeps to lower-case letters, digits and dashes.
func WithName(name string) Option {
	return optionFunc(func(o *options) error {
		if err := envdir.ValidateName(name); err != nil {
			return err
		}
		o.name = name
		return nil
	})
}

// WithStateDir keeps the environment in dir, created when missing, and
// reuses it on the next Start: the issuer URL, keys, CA, IAM and S3 state
// survive Stop. Only one process at a time may run the environment of a
// directory (Start returns ErrRunning otherwise). Without WithStateDir,
// Start makes a new temporary directory and Stop removes it, so tests never
// share state by accident.
func WithStateDir(dir string) Option {
	return optionFunc(func(o *options) error { o.stateDir = dir; return nil })
}

// WithCluster selects the Kubernetes side (default ClusterNone: no
// apiserver, tokens minted as it would). ClusterLocal runs etcd,
// kube-apiserver and kube-controller-manager as processes and needs their
// binaries (make k8s-assets); ClusterKind needs Docker. The CLI's default is
// ClusterLocal. ClusterExisting adopts the running cluster of
// WithKubeconfig.
func WithCluster(mode ClusterMode) Option {
	return optionFunc(func(o *options) error {
		switch mode {
		case ClusterNone, ClusterLocal, ClusterKind, ClusterExisting:
		default:
			return fmt.Errorf("unknown cluster mode %q: want none, local, kind or existing", mode)
		}
		o.cluster = mode
		return nil
	})
}

// WithKubeconfig names the cluster ClusterExisting adopts: a kubeconfig
// file (empty: $KUBECONFIG, else ~/.kube/config) and a context in it
// (empty: its current context). The cluster's apiserver is not touched:
// its issuer and keys are read through its discovery endpoints, and what
// irsa-local registers there is removed by Stop. An environment remembers
// them, so later Starts may leave them out.
func WithKubeconfig(path, context string) Option {
	return optionFunc(func(o *options) error { o.kubeconfig, o.kubeContext = path, context; return nil })
}

// WithWebhook says where the webhook of an adopted cluster (ClusterExisting)
// runs, and with which image when it runs in the cluster (default
// DefaultImage, copied onto nodes that are containers of this machine's
// Docker).
func WithWebhook(mode WebhookMode, image string) Option {
	return optionFunc(func(o *options) error {
		switch mode {
		case "", WebhookAuto, WebhookHost, WebhookInCluster:
		default:
			return fmt.Errorf("unknown webhook mode %q: want auto, host or cluster", mode)
		}
		o.webhookMode, o.image = mode, image
		return nil
	})
}

// WithPodAWSEndpoint sets the AWS endpoint an adopted cluster's pods are
// pointed at, for a cluster that cannot reach this machine's addresses
// (a proxy, a tunnel, a port forwarded to the host).
func WithPodAWSEndpoint(url string) Option {
	return optionFunc(func(o *options) error { o.podAWSEndpoint = url; return nil })
}

// WithListenHost makes the environment's servers listen on host (for
// example 0.0.0.0 in a container) while its URLs keep the issuer host.
func WithListenHost(host string) Option {
	return optionFunc(func(o *options) error { o.listenHost = host; return nil })
}

// WithKindImage sets the node image of a kind cluster (default: see
// WithKubernetesVersion).
func WithKindImage(image string) Option {
	return optionFunc(func(o *options) error { o.kindImage = image; return nil })
}

// WithPodIdentityAgent names a statically linked irsa-local binary that a
// kind cluster's node runs as its EKS Pod Identity agent (the DaemonSet
// kube-system/eks-pod-identity-agent, answering on 169.254.170.23:80).
// The irsa-local CLI passes itself. Without it a kind cluster has no
// agent, and pods of associated service accounts get no credentials.
func WithPodIdentityAgent(binary string) Option {
	return optionFunc(func(o *options) error { o.agentBinary = binary; return nil })
}

// WithKubernetesVersion picks the node image of a kind cluster by version:
// irsa-local's offline image of that version when built on this machine,
// else kindest/node:<version>. WithKindImage wins over it.
func WithKubernetesVersion(version string) Option {
	return optionFunc(func(o *options) error { o.kubeVersion = version; return nil })
}

// WithIssuerPort fixes the issuer's HTTPS port of a new environment; 0 (the
// default) picks a free one. The port is part of the issuer URL, so it is
// kept for the life of the environment.
func WithIssuerPort(port int) Option {
	return optionFunc(func(o *options) error {
		if port < 0 || port > 65535 {
			return fmt.Errorf("invalid issuer port %d", port)
		}
		o.issuerPort = port
		return nil
	})
}

// WithAWSPort fixes the plain-HTTP port of a new environment's AWS endpoint;
// 0 (the default) picks a free one, kept from then on. The HTTPS endpoint
// always gets a port of its own.
func WithAWSPort(port int) Option {
	return optionFunc(func(o *options) error {
		if port < 0 || port > 65535 {
			return fmt.Errorf("invalid AWS port %d", port)
		}
		o.awsPort = port
		return nil
	})
}

// WithAWSHTTPSPort fixes the HTTPS port of a new environment's AWS
// endpoint; 0 (the default) picks a free one, kept from then on.
func WithAWSHTTPSPort(port int) Option {
	return optionFunc(func(o *options) error {
		if port < 0 || port > 65535 {
			return fmt.Errorf("invalid AWS HTTPS port %d", port)
		}
		o.awsTLSPort = port
		return nil
	})
}

// WithoutOIDCProvider leaves the environment's issuer unregistered in IAM, as
// an EKS cluster is before `eksctl utils associate-iam-oidc-provider`.
func WithoutOIDCProvider() Option {
	return optionFunc(func(o *options) error { o.noProvider = true; return nil })
}

// WithoutEndpointInjection makes the pod identity webhook mutate pods exactly
// as EKS's does, without the AWS_ENDPOINT_URL that points SDKs at the
// emulator.
func WithoutEndpointInjection() Option {
	return optionFunc(func(o *options) error { o.noEndpointInjection = true; return nil })
}

// WithWebhookGracePeriod sets how long the pod identity webhook waits for a
// pod's service account to reach its cache before leaving the pod
// unmutated (default 3s; 0 is upstream's behaviour).
func WithWebhookGracePeriod(d time.Duration) Option {
	return optionFunc(func(o *options) error {
		if d < 0 {
			return fmt.Errorf("invalid webhook grace period %s", d)
		}
		o.gracePeriod = &d
		return nil
	})
}

// WithInMemoryS3 keeps S3 buckets and objects in memory rather than in the
// state directory: faster, and gone when the environment stops.
func WithInMemoryS3() Option {
	return optionFunc(func(o *options) error { o.inMemoryS3 = true; return nil })
}

// WithIssuerHost sets the host name of a new environment's issuer URL
// (default 127.0.0.1). It must resolve to this machine.
func WithIssuerHost(host string) Option {
	return optionFunc(func(o *options) error { o.issuerHost = host; return nil })
}

// WithRegion sets the AWS region of a new environment (default us-east-1).
func WithRegion(region string) Option {
	return optionFunc(func(o *options) error { o.region = region; return nil })
}

// WithProgress calls fn with a short description of each start-up step as
// it begins ("Starting the OIDC issuer", ...).
func WithProgress(fn func(step string)) Option {
	return optionFunc(func(o *options) error { o.progress = fn; return nil })
}

// WithLogger sends the environment's logs to l (default: discarded).
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o *options) error {
		if l != nil {
			o.logger = l
		}
		return nil
	})
}
