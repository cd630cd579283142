package engine

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

// Webhook modes, as documented at package harness.
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

// WithName is documented at harness.WithName.
func WithName(name string) Option {
	return optionFunc(func(o *options) error {
		if err := envdir.ValidateName(name); err != nil {
			return err
		}
		o.name = name
		return nil
	})
}

// WithStateDir is documented at harness.WithStateDir.
func WithStateDir(dir string) Option {
	return optionFunc(func(o *options) error { o.stateDir = dir; return nil })
}

// WithCluster is documented at harness.WithCluster.
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

// WithKubeconfig is documented at harness.WithKubeconfig.
func WithKubeconfig(path, context string) Option {
	return optionFunc(func(o *options) error { o.kubeconfig, o.kubeContext = path, context; return nil })
}

// WithWebhook is documented at harness.WithWebhook.
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

// WithPodAWSEndpoint is documented at harness.WithPodAWSEndpoint.
func WithPodAWSEndpoint(url string) Option {
	return optionFunc(func(o *options) error { o.podAWSEndpoint = url; return nil })
}

// WithListenHost is documented at harness.WithListenHost.
func WithListenHost(host string) Option {
	return optionFunc(func(o *options) error { o.listenHost = host; return nil })
}

// WithKindImage is documented at harness.WithKindImage.
func WithKindImage(image string) Option {
	return optionFunc(func(o *options) error { o.kindImage = image; return nil })
}

// WithPodIdentityAgent is documented at harness.WithPodIdentityAgent.
func WithPodIdentityAgent(binary string) Option {
	return optionFunc(func(o *options) error { o.agentBinary = binary; return nil })
}

// WithKubernetesVersion is documented at harness.WithKubernetesVersion.
func WithKubernetesVersion(version string) Option {
	return optionFunc(func(o *options) error { o.kubeVersion = version; return nil })
}

// WithIssuerPort is documented at harness.WithIssuerPort.
func WithIssuerPort(port int) Option {
	return optionFunc(func(o *options) error {
		if port < 0 || port > 65535 {
			return fmt.Errorf("invalid issuer port %d", port)
		}
		o.issuerPort = port
		return nil
	})
}

// WithAWSPort is documented at harness.WithAWSPort.
func WithAWSPort(port int) Option {
	return optionFunc(func(o *options) error {
		if port < 0 || port > 65535 {
			return fmt.Errorf("invalid AWS port %d", port)
		}
		o.awsPort = port
		return nil
	})
}

// WithAWSHTTPSPort is documented at harness.WithAWSHTTPSPort.
func WithAWSHTTPSPort(port int) Option {
	return optionFunc(func(o *options) error {
		if port < 0 || port > 65535 {
			return fmt.Errorf("invalid AWS HTTPS port %d", port)
		}
		o.awsTLSPort = port
		return nil
	})
}

// WithoutOIDCProvider is documented at harness.WithoutOIDCProvider.
func WithoutOIDCProvider() Option {
	return optionFunc(func(o *options) error { o.noProvider = true; return nil })
}

// WithoutEndpointInjection is documented at harness.WithoutEndpointInjection.
func WithoutEndpointInjection() Option {
	return optionFunc(func(o *options) error { o.noEndpointInjection = true; return nil })
}

// WithWebhookGracePeriod is documented at harness.WithWebhookGracePeriod.
func WithWebhookGracePeriod(d time.Duration) Option {
	return optionFunc(func(o *options) error {
		if d < 0 {
			return fmt.Errorf("invalid webhook grace period %s", d)
		}
		o.gracePeriod = &d
		return nil
	})
}

// WithInMemoryS3 is documented at harness.WithInMemoryS3.
func WithInMemoryS3() Option {
	return optionFunc(func(o *options) error { o.inMemoryS3 = true; return nil })
}

// WithIssuerHost is documented at harness.WithIssuerHost.
func WithIssuerHost(host string) Option {
	return optionFunc(func(o *options) error { o.issuerHost = host; return nil })
}

// WithRegion is documented at harness.WithRegion.
func WithRegion(region string) Option {
	return optionFunc(func(o *options) error { o.region = region; return nil })
}

// WithProgress is documented at harness.WithProgress.
func WithProgress(fn func(step string)) Option {
	return optionFunc(func(o *options) error { o.progress = fn; return nil })
}

// WithLogger is documented at harness.WithLogger.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o *options) error {
		if l != nil {
			o.logger = l
		}
		return nil
	})
}
