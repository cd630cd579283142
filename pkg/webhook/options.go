package webhook

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
)

// Upstream defaults, kept identical so a pod mutated here looks like one
// mutated on EKS.
const (
	DefaultAnnotationPrefix = "eks.amazonaws.com"
	DefaultAudience         = "sts.amazonaws.com"
	DefaultMountPath        = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
	// DefaultTokenExpiration is the projected token lifetime in seconds.
	DefaultTokenExpiration int64 = 86400
	// MinTokenExpiration is the floor applied to every expiration source;
	// upstream has no ceiling, so neither do we.
	MinTokenExpiration int64 = 600

	// TokenVolumeName is the projected token volume (and mount) name. An
	// existing volume or mount with this name is left alone.
	TokenVolumeName = "aws-iam-token"
	// TokenPath is the file name of the token inside the mount.
	TokenPath = "token"
)

// Container credentials (EKS Pod Identity) defaults, as upstream's
// --container-credentials-* flags.
const (
	PodIdentityAudience   = "pods.eks.amazonaws.com"
	PodIdentityMountPath  = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
	PodIdentityVolumeName = "eks-pod-identity-token"
	PodIdentityTokenPath  = "eks-pod-identity-token"
	// DefaultFullURI is the Pod Identity agent's address on every node.
	DefaultFullURI = "http://169.254.170.23/v1/credentials"
)

// Emulator extension defaults.
const (
	// DefaultCAConfigMap names the ConfigMap holding the emulator's CA, by
	// analogy with kube-root-ca.crt.
	DefaultCAConfigMap = "irsa-local-ca.crt"
	// CAVolumeName is the pod volume projecting the CA ConfigMap.
	CAVolumeName = "irsa-local-ca"
	// CAKey is the ConfigMap key (and file name) of the PEM bundle.
	CAKey = "ca.crt"
	// CAMountPath is where the CA bundle directory is mounted.
	CAMountPath = "/var/run/secrets/irsa-local"
)

// Annotation names, relative to the annotation prefix.
const (
	annotationRoleARN         = "role-arn"
	annotationAudience        = "audience"
	annotationRegionalSTS     = "sts-regional-endpoints"
	annotationTokenExpiration = "token-expiration"
	annotationSkipContainers  = "skip-containers"
)

// Option configures a Mutator.
type Option interface {
	applyMutator(*config) error
}

// mutatorOption adapts a plain function to Option.
type mutatorOption func(*config) error

func (f mutatorOption) applyMutator(c *config) error { return f(c) }

// config is the resolved mutator configuration: the equivalent of the
// upstream command-line flags.
type config struct {
	annotationPrefix string
	audience         string
	mountPath        string
	tokenExpiration  int64
	region           string
	regionalSTS      bool
	emulator         *emulator
	// containerCredentials, when set, gives service accounts with a Pod
	// Identity association the container-credentials mutation.
	containerCredentials *containerCredentials
	logger               *slog.Logger
}

type containerCredentials struct {
	identities Identities
	fullURI    string
}

// Identities says which service accounts have a Pod Identity association:
// on EKS, the control plane's list in the webhook's container-credentials
// configuration; in irsa-local, the emulator's associations.
type Identities interface {
	HasAssociation(namespace, serviceAccount string) bool
}

// WithContainerCredentials makes the mutator inject EKS Pod Identity's
// container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI,
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE and a token for
// pods.eks.amazonaws.com) into pods whose service account ids lists, in
// place of the web-identity variables. fullURI is the agent's URL; ""
// means DefaultFullURI.
func WithContainerCredentials(ids Identities, fullURI string) Option {
	return mutatorOption(func(c *config) error {
		if ids == nil {
			return errors.New("container credentials need the list of identities")
		}
		if fullURI == "" {
			fullURI = DefaultFullURI
		}
		if u, err := url.Parse(fullURI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("container credentials URI %q is not an http(s) URL", fullURI)
		}
		c.containerCredentials = &containerCredentials{identities: ids, fullURI: fullURI}
		return nil
	})
}

// emulator is the validated form of EmulatorConfig.
type emulator struct {
	endpoint    string
	tls         bool
	caConfigMap string
}

func defaultConfig() config {
	return config{
		annotationPrefix: DefaultAnnotationPrefix,
		audience:         DefaultAudience,
		mountPath:        DefaultMountPath,
		tokenExpiration:  DefaultTokenExpiration,
		logger:           discardLogger,
	}
}

var discardLogger = slog.New(slog.DiscardHandler)

// PrefixOption sets the annotation prefix. It is accepted both by NewMutator
// and by NewServiceAccountCache, which must agree on it because the cache
// keeps only annotations under the prefix.
type PrefixOption struct{ prefix string }

// WithAnnotationPrefix replaces "eks.amazonaws.com" in every annotation the
// webhook reads (role-arn, audience, sts-regional-endpoints,
// token-expiration, skip-containers).
func WithAnnotationPrefix(prefix string) PrefixOption { return PrefixOption{prefix: prefix} }

func (o PrefixOption) applyMutator(c *config) error {
	if o.prefix == "" {
		return errors.New("annotation prefix is empty")
	}
	c.annotationPrefix = o.prefix
	return nil
}

// LoggerOption sets the logger of whichever component it is given to: a
// Mutator, a ServiceAccountCache, a Server or a CAPublisher. A nil logger
// means discard, which is also the default.
type LoggerOption struct{ logger *slog.Logger }

// WithLogger logs through l instead of discarding.
func WithLogger(l *slog.Logger) LoggerOption {
	if l == nil {
		l = discardLogger
	}
	return LoggerOption{logger: l}
}

func (o LoggerOption) applyMutator(c *config) error {
	c.logger = o.logger
	return nil
}

// WithAudience sets the default token audience, used when the service account
// has no audience annotation.
func WithAudience(audience string) Option {
	return mutatorOption(func(c *config) error {
		c.audience = audience
		return nil
	})
}

// WithMountPath sets where the token volume is mounted in each container.
func WithMountPath(path string) Option {
	return mutatorOption(func(c *config) error {
		if path == "" {
			return errors.New("mount path is empty")
		}
		c.mountPath = path
		return nil
	})
}

// WithTokenExpiration sets the default token lifetime in seconds, used when
// neither the pod nor the service account sets one. Values below
// MinTokenExpiration are raised to it, as upstream does with its flag.
func WithTokenExpiration(seconds int64) Option {
	return mutatorOption(func(c *config) error {
		c.tokenExpiration = clampExpiration(seconds)
		return nil
	})
}

// WithRegion makes the mutator add AWS_DEFAULT_REGION and AWS_REGION to
// containers that set neither. Empty means do not inject a region.
func WithRegion(region string) Option {
	return mutatorOption(func(c *config) error {
		c.region = region
		return nil
	})
}

// WithRegionalSTS sets the default for injecting
// AWS_STS_REGIONAL_ENDPOINTS=regional; the service account's
// sts-regional-endpoints annotation overrides it.
func WithRegionalSTS(enabled bool) Option {
	return mutatorOption(func(c *config) error {
		c.regionalSTS = enabled
		return nil
	})
}

// EmulatorConfig points mutated containers at a local AWS endpoint instead of
// the real one.
type EmulatorConfig struct {
	// EndpointURL is injected as AWS_ENDPOINT_URL, e.g.
	// "https://irsa-local.irsa-local.svc:8443". Must be http or https.
	EndpointURL string
	// CAConfigMap names the ConfigMap (key ca.crt) holding the PEM that
	// signed the endpoint's certificate. Used only for https endpoints;
	// empty means DefaultCAConfigMap.
	CAConfigMap string
}

// WithEmulator turns on the emulator extension: every container the webhook
// mutates also gets AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_STS, which
// aws-sdk-go-v2's web-identity provider needs) and, for an https endpoint, the CA bundle
// volume and AWS_CA_BUNDLE. Variables a container already sets are kept. Off
// by default, so the mutation stays identical to upstream unless asked.
func WithEmulator(ec EmulatorConfig) Option {
	return mutatorOption(func(c *config) error {
		e, err := ec.validate()
		if err != nil {
			return fmt.Errorf("configure emulator: %w", err)
		}
		c.emulator = e
		return nil
	})
}

func (ec EmulatorConfig) validate() (*emulator, error) {
	u, err := url.Parse(ec.EndpointURL)
	if err != nil {
		return nil, fmt.Errorf("parse endpoint url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("endpoint url %q: scheme must be http or https", ec.EndpointURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("endpoint url %q: missing host", ec.EndpointURL)
	}
	cm := ec.CAConfigMap
	if cm == "" {
		cm = DefaultCAConfigMap
	}
	return &emulator{endpoint: ec.EndpointURL, tls: u.Scheme == "https", caConfigMap: cm}, nil
}

func clampExpiration(seconds int64) int64 {
	if seconds < MinTokenExpiration {
		return MinTokenExpiration
	}
	return seconds
}
