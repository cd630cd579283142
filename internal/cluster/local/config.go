package local

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// Component names, also the names of their binaries, log and pid files.
const (
	Etcd                  = "etcd"
	KubeAPIServer         = "kube-apiserver"
	KubeControllerManager = "kube-controller-manager"
)

// components is the start order; Stop goes the other way.
var components = []string{Etcd, KubeAPIServer, KubeControllerManager}

// STSAudience is the audience IRSA tokens carry; the apiserver always
// accepts it so that such tokens can also be reviewed by it.
const STSAudience = "sts.amazonaws.com"

// InClusterAudience is the audience kube-apiserver's in-cluster clients use.
const InClusterAudience = "https://kubernetes.default.svc"

// DefaultServiceClusterIPRange is the Service range kubeadm uses.
const DefaultServiceClusterIPRange = "10.96.0.0/12"

// DefaultContextName names the cluster, user and context in the kubeconfig.
const DefaultContextName = "irsa-local"

// Binaries are the paths of the programs Start runs. An empty path is found
// with assets.Find.
type Binaries struct {
	Etcd                  string
	KubeAPIServer         string
	KubeControllerManager string
}

// Config describes a control plane.
type Config struct {
	// Dir holds the cluster's data, certificates, logs and pid files.
	// Required; created if missing.
	Dir string

	// Binaries to run; empty ones are found with assets.Find.
	Binaries Binaries

	// IssuerURL is --service-account-issuer: the "iss" of every token.
	// Required.
	IssuerURL string

	// SigningKeyFile is the PEM private key that signs service-account
	// tokens (--service-account-signing-key-file of the apiserver,
	// --service-account-private-key-file of the controller-manager).
	// Required.
	SigningKeyFile string

	// VerificationKeyFile holds every public key tokens are verified with
	// (--service-account-key-file). Required.
	VerificationKeyFile string

	// APIAudiences are added to --api-audiences, which always holds
	// IssuerURL, https://kubernetes.default.svc and sts.amazonaws.com.
	APIAudiences []string

	// ServingCA signs the apiserver's and the controller-manager's serving
	// certificates; the kubeconfig trusts it and the controller-manager
	// publishes it as kube-root-ca.crt. When nil, a CA is created in
	// Dir/pki/serving-ca.
	ServingCA *issuer.CA

	// SecurePort is the apiserver's HTTPS port on 127.0.0.1; 0 picks a free
	// one.
	SecurePort int

	// ServiceClusterIPRange is --service-cluster-ip-range (default
	// 10.96.0.0/12).
	ServiceClusterIPRange string

	// ContextName names the kubeconfig's cluster, user and context (default
	// "irsa-local").
	ContextName string
}

func (c *Config) validate() error {
	var missing []string
	if c.Dir == "" {
		missing = append(missing, "Dir")
	}
	if c.IssuerURL == "" {
		missing = append(missing, "IssuerURL")
	}
	if c.SigningKeyFile == "" {
		missing = append(missing, "SigningKeyFile")
	}
	if c.VerificationKeyFile == "" {
		missing = append(missing, "VerificationKeyFile")
	}
	if len(missing) > 0 {
		return fmt.Errorf("invalid cluster config: %v not set", missing)
	}
	if u, err := url.Parse(c.IssuerURL); err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("invalid cluster config: issuer URL %q is not an https URL", c.IssuerURL)
	}
	if c.SecurePort < 0 || c.SecurePort > 65535 {
		return fmt.Errorf("invalid cluster config: secure port %d", c.SecurePort)
	}
	if c.ServiceClusterIPRange == "" {
		c.ServiceClusterIPRange = DefaultServiceClusterIPRange
	}
	if _, _, err := net.ParseCIDR(c.ServiceClusterIPRange); err != nil {
		return fmt.Errorf("invalid cluster config: service cluster IP range: %w", err)
	}
	if c.ContextName == "" {
		c.ContextName = DefaultContextName
	}
	return nil
}

// apiAudiences is the --api-audiences list: what kube-apiserver would
// default to (the issuer), what in-cluster clients ask for, STS, then the
// caller's extras, without repeats.
func (c *Config) apiAudiences() []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range append([]string{c.IssuerURL, InClusterAudience, STSAudience}, c.APIAudiences...) {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// Option configures Start.
type Option interface {
	apply(*options) error
}

type optionFunc func(*options) error

func (f optionFunc) apply(o *options) error { return f(o) }

type options struct {
	logger       *slog.Logger
	startTimeout time.Duration
	stopGrace    time.Duration
	extraArgs    map[string][]string
}

func defaultOptions() options {
	return options{
		logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		startTimeout: time.Minute,
		stopGrace:    5 * time.Second,
		extraArgs:    map[string][]string{},
	}
}

// WithLogger reports start and stop steps to l (default: discarded). The
// components' own output goes to their log files, not here.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o *options) error {
		if l != nil {
			o.logger = l
		}
		return nil
	})
}

// WithStartTimeout bounds how long each component may take to become ready
// (default one minute), on top of any deadline of Start's context.
func WithStartTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("invalid start timeout %s", d)
		}
		o.startTimeout = d
		return nil
	})
}

// WithStopGracePeriod sets how long Stop waits after SIGTERM before it
// sends SIGKILL (default five seconds).
func WithStopGracePeriod(d time.Duration) Option {
	return optionFunc(func(o *options) error {
		if d < 0 {
			return fmt.Errorf("invalid stop grace period %s", d)
		}
		o.stopGrace = d
		return nil
	})
}

// WithExtraArgs appends flags to one component's command line. They come
// after the defaults, so a flag given again overrides its default.
func WithExtraArgs(component string, args ...string) Option {
	return optionFunc(func(o *options) error {
		switch component {
		case Etcd, KubeAPIServer, KubeControllerManager:
		default:
			return errors.New("extra args for unknown component " + component)
		}
		o.extraArgs[component] = append(o.extraArgs[component], args...)
		return nil
	})
}
