// Package harness runs irsa-local environments in-process, for Go test
// suites: Start brings up an OIDC issuer, an AWS endpoint (IAM, STS, S3,
// EKS) that validates web-identity tokens as AWS does, and optionally a
// Kubernetes cluster whose service-account tokens that issuer's keys sign,
// or a running cluster adopted as it is (ClusterExisting: its own issuer
// and keys, read through its apiserver), with the pod identity webhook
// registered. Env then creates roles,
// service accounts and pods' AWS configurations, and Stop ends it all.
//
// Defaults are safe for tests: without WithStateDir an environment lives
// in a temporary directory of its own, removed by Stop; without WithCluster
// it runs no cluster (ClusterNone). Several environments can run in one
// process. Package harnesstest wraps Start for a *testing.T. Inspect
// describes an environment another process runs, such as one started by
// `irsa-local up` for a whole CI job.
package harness

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/irsa-local/irsa-local/internal/engine"
	"github.com/irsa-local/irsa-local/pkg/stsmock"
)

// Env is a running environment. Its lifecycle, tokens, keys, cluster and
// description come from the embedded engine (Stop, Token, IssuerURL,
// AWSEndpoint, Kubeconfig, Client, RotateKeys, Describe and the rest);
// what needs the AWS SDK's service clients (AWS configurations, roles,
// Apply) is defined here.
type Env struct {
	*engine.Env
}

// Types of an environment's options and description.
type (
	// Option configures Start.
	Option = engine.Option
	// ClusterMode selects the Kubernetes side of an environment.
	ClusterMode = engine.ClusterMode
	// Backend selects the AWS emulator that holds the data of the
	// services the endpoint forwards (SQS, SNS, DynamoDB, Secrets Manager,
	// SSM, KMS) after authorizing each call.
	Backend = engine.Backend
	// WebhookMode says where an adopted cluster's pod identity webhook
	// runs.
	WebhookMode = engine.WebhookMode
	// Clock is the AWS endpoint's clock.
	Clock = engine.Clock
	// Description is what Inspect and Env.Describe report.
	Description = engine.Description
	// Component is one server or process of an environment.
	Component = engine.Component
	// IssuerInfo describes the OIDC issuer.
	IssuerInfo = engine.IssuerInfo
	// AWSInfo describes the AWS endpoint.
	AWSInfo = engine.AWSInfo
	// ClusterInfo describes the cluster.
	ClusterInfo = engine.ClusterInfo
	// BackendInfo describes the backend.
	BackendInfo = engine.BackendInfo
	// AssociationInfo is one Pod Identity association.
	AssociationInfo = engine.AssociationInfo
	// PodSession is a pod created for its token, standing for a process
	// on this machine (StartPodSession).
	PodSession = engine.PodSession
	// LocalAgent is an EKS Pod Identity agent on this machine
	// (StartLocalAgent).
	LocalAgent = engine.LocalAgent
)

// Cluster modes: none (no Kubernetes API; tokens are minted as the
// apiserver would), local (etcd, kube-apiserver and
// kube-controller-manager as processes, no Docker), kind (a kind cluster
// with real pods; needs Docker) and existing (a running cluster adopted
// through a kubeconfig, its apiserver untouched).
const (
	ClusterNone     = engine.ClusterNone
	ClusterLocal    = engine.ClusterLocal
	ClusterKind     = engine.ClusterKind
	ClusterExisting = engine.ClusterExisting
)

// Backends: none (those services answer NotImplemented), moto (moto_server
// as a process of the environment), auto (moto when moto_server is on
// PATH, else none), and two containers started with testcontainers-go:
// moto's image (built offline by hack/moto-image.sh) and LocalStack (with
// the user's LOCALSTACK_AUTH_TOKEN). WithBackendURL uses an emulator the
// user runs.
const (
	BackendNone          = engine.BackendNone
	BackendMoto          = engine.BackendMoto
	BackendAuto          = engine.BackendAuto
	BackendMotoContainer = engine.BackendMotoContainer
	BackendLocalStack    = engine.BackendLocalStack
)

// Webhook modes: WebhookAuto serves it from this machine when the
// cluster's apiserver reaches this machine, else in the cluster;
// WebhookHost and WebhookInCluster force one or the other.
const (
	WebhookAuto      = engine.WebhookAuto
	WebhookHost      = engine.WebhookHost
	WebhookInCluster = engine.WebhookInCluster
)

// Defaults of a new environment. The admin credentials and account are the
// ones LocalStack users already type.
const (
	DefaultName            = engine.DefaultName
	DefaultRegion          = engine.DefaultRegion
	DefaultAccountID       = engine.DefaultAccountID
	DefaultAccessKeyID     = engine.DefaultAccessKeyID
	DefaultSecretAccessKey = engine.DefaultSecretAccessKey
	DefaultIssuerHost      = engine.DefaultIssuerHost
)

// States of a component in a Description.
const (
	StateRunning = engine.StateRunning
	StateStopped = engine.StateStopped
	StateFailed  = engine.StateFailed
)

// DefaultImage is the irsa-local image the in-cluster webhook runs (make
// image builds it).
const DefaultImage = engine.DefaultImage

// RoleARNAnnotation is the service-account annotation naming the role.
const RoleARNAnnotation = engine.RoleARNAnnotation

// TokenOnlyGate is the scheduling gate of the pods a PodSession creates,
// which stand for a process on this machine and never run in the cluster.
const TokenOnlyGate = engine.TokenOnlyGate

// ErrRunning is returned by Start when another process runs the environment
// of the state directory.
var ErrRunning = engine.ErrRunning

// ErrNoEnvironment is returned by Inspect for a directory without an
// environment.
var ErrNoEnvironment = engine.ErrNoEnvironment

// WithBackend chooses the backend (default BackendNone for the library;
// the CLI's default is BackendAuto).
func WithBackend(b Backend) Option { return engine.WithBackend(b) }

// WithBackendURL forwards to an emulator the user runs (LocalStack, moto,
// Floci) at url. It must act as the environment's default account for the
// credentials test/test, as LocalStack does by default; moto takes every
// call's account from the x-moto-account-id header irsa-local sends, as
// long as it runs without MOTO_ACCOUNT_ID.
func WithBackendURL(url string) Option { return engine.WithBackendURL(url) }

// Inspect describes the environment in stateDir from outside, as
// `irsa-local status` does, whichever process runs it (the CLI's
// background process, or another test binary): its configuration, whether
// a process runs it, and the state of each component that process
// reported. Components of a process that died without stopping them are
// reported as failed, with the last line of its log, never as running. A
// directory without an environment gives ErrNoEnvironment.
func Inspect(stateDir string) (Description, error) { return engine.Inspect(stateDir) }

// ReleaseAdopted removes what an environment's process added to the
// cluster it adopted, for down after that process was killed. It does
// nothing for an environment of another mode.
func ReleaseAdopted(ctx context.Context, stateDir string) (bool, error) {
	return engine.ReleaseAdopted(ctx, stateDir)
}

// Start brings up the environment described by opts, creating it on first
// use, and returns once every server accepts connections. If any step fails,
// what already started is stopped again.
func Start(ctx context.Context, opts ...Option) (*Env, error) {
	e, err := engine.Start(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return &Env{Env: e}, nil
}

// WithName names a new environment (default "irsa-local"): it is the EKS
// cluster name, so it keeps to lower-case letters, digits and dashes.
func WithName(name string) Option { return engine.WithName(name) }

// WithStateDir keeps the environment in dir, created when missing, and
// reuses it on the next Start: the issuer URL, keys, CA, IAM and S3 state
// survive Stop. Only one process at a time may run the environment of a
// directory (Start returns ErrRunning otherwise). Without WithStateDir,
// Start makes a new temporary directory and Stop removes it, so tests never
// share state by accident.
func WithStateDir(dir string) Option { return engine.WithStateDir(dir) }

// WithCluster selects the Kubernetes side (default ClusterNone: no
// apiserver, tokens minted as it would). ClusterLocal runs etcd,
// kube-apiserver and kube-controller-manager as processes and needs their
// binaries (make k8s-assets); ClusterKind needs Docker. The CLI's default is
// ClusterLocal. ClusterExisting adopts the running cluster of
// WithKubeconfig.
func WithCluster(mode ClusterMode) Option { return engine.WithCluster(mode) }

// WithKubeconfig names the cluster ClusterExisting adopts: a kubeconfig
// file (empty: $KUBECONFIG, else ~/.kube/config) and a context in it
// (empty: its current context). The cluster's apiserver is not touched:
// its issuer and keys are read through its discovery endpoints, and what
// irsa-local registers there is removed by Stop. An environment remembers
// them, so later Starts may leave them out.
func WithKubeconfig(path, context string) Option { return engine.WithKubeconfig(path, context) }

// WithWebhook says where the webhook of an adopted cluster (ClusterExisting)
// runs, and with which image when it runs in the cluster (default
// DefaultImage, copied onto nodes that are containers of this machine's
// Docker).
func WithWebhook(mode WebhookMode, image string) Option { return engine.WithWebhook(mode, image) }

// WithPodAWSEndpoint sets the AWS endpoint an adopted cluster's pods are
// pointed at, for a cluster that cannot reach this machine's addresses
// (a proxy, a tunnel, a port forwarded to the host).
func WithPodAWSEndpoint(url string) Option { return engine.WithPodAWSEndpoint(url) }

// WithListenHost makes the environment's servers listen on host (for
// example 0.0.0.0 in a container) while its URLs keep the issuer host.
func WithListenHost(host string) Option { return engine.WithListenHost(host) }

// WithKindImage sets the node image of a kind cluster (default: see
// WithKubernetesVersion).
func WithKindImage(image string) Option { return engine.WithKindImage(image) }

// WithPodIdentityAgent names a statically linked irsa-local binary that a
// kind cluster's node runs as its EKS Pod Identity agent (the DaemonSet
// kube-system/eks-pod-identity-agent, answering on 169.254.170.23:80).
// The irsa-local CLI passes itself. Without it a kind cluster has no
// agent, and pods of associated service accounts get no credentials.
func WithPodIdentityAgent(binary string) Option { return engine.WithPodIdentityAgent(binary) }

// WithKubernetesVersion picks the node image of a kind cluster by version:
// irsa-local's offline image of that version when built on this machine,
// else kindest/node:<version>. WithKindImage wins over it.
func WithKubernetesVersion(version string) Option { return engine.WithKubernetesVersion(version) }

// WithIssuerPort fixes the issuer's HTTPS port of a new environment; 0 (the
// default) picks a free one. The port is part of the issuer URL, so it is
// kept for the life of the environment.
func WithIssuerPort(port int) Option { return engine.WithIssuerPort(port) }

// WithAWSPort fixes the plain-HTTP port of a new environment's AWS endpoint;
// 0 (the default) picks a free one, kept from then on. The HTTPS endpoint
// always gets a port of its own.
func WithAWSPort(port int) Option { return engine.WithAWSPort(port) }

// WithAWSHTTPSPort fixes the HTTPS port of a new environment's AWS
// endpoint; 0 (the default) picks a free one, kept from then on.
func WithAWSHTTPSPort(port int) Option { return engine.WithAWSHTTPSPort(port) }

// WithoutOIDCProvider leaves the environment's issuer unregistered in IAM, as
// an EKS cluster is before `eksctl utils associate-iam-oidc-provider`.
func WithoutOIDCProvider() Option { return engine.WithoutOIDCProvider() }

// WithoutEndpointInjection makes the pod identity webhook mutate pods exactly
// as EKS's does, without the AWS_ENDPOINT_URL that points SDKs at the
// emulator.
func WithoutEndpointInjection() Option { return engine.WithoutEndpointInjection() }

// WithWebhookGracePeriod sets how long the pod identity webhook waits for a
// pod's service account to reach its cache before leaving the pod
// unmutated (default 3s; 0 is upstream's behaviour).
func WithWebhookGracePeriod(d time.Duration) Option { return engine.WithWebhookGracePeriod(d) }

// WithInMemoryS3 keeps S3 buckets and objects in memory rather than in the
// state directory: faster, and gone when the environment stops.
func WithInMemoryS3() Option { return engine.WithInMemoryS3() }

// WithIssuerHost sets the host name of a new environment's issuer URL
// (default 127.0.0.1). It must resolve to this machine.
func WithIssuerHost(host string) Option { return engine.WithIssuerHost(host) }

// WithRegion sets the AWS region of a new environment (default us-east-1).
func WithRegion(region string) Option { return engine.WithRegion(region) }

// WithProgress calls fn with a short description of each start-up step as
// it begins ("Starting the OIDC issuer", ...).
func WithProgress(fn func(step string)) Option { return engine.WithProgress(fn) }

// WithLogger sends the environment's logs to l (default: discarded).
func WithLogger(l *slog.Logger) Option { return engine.WithLogger(l) }

// DefaultPod is the pod a session creates when given none: one container
// in the service account, never scheduled (there are no nodes).
func DefaultPod(namespace, serviceAccount string) *corev1.Pod {
	return engine.DefaultPod(namespace, serviceAccount)
}

// StartPodSession creates pod and obtains its token into a file under dir.
// The pod is deleted by Close; a failure deletes it too.
func StartPodSession(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, dir string) (*PodSession, error) {
	return engine.StartPodSession(ctx, client, pod, dir)
}

// CheckBinding confirms that the pod and service account of t exist with
// its UIDs, as the apiserver checks its own bound tokens.
func CheckBinding(ctx context.Context, client kubernetes.Interface, t stsmock.TokenBinding) error {
	return engine.CheckBinding(ctx, client, t)
}

// StartLocalAgent serves a Pod Identity agent on 127.0.0.1 that asks the
// eks-auth endpoint at awsEndpoint about cluster, signing with the admin
// credentials (the node role's part on EKS).
func StartLocalAgent(ctx context.Context, awsEndpoint, region, cluster string) (*LocalAgent, error) {
	return engine.StartLocalAgent(ctx, awsEndpoint, region, cluster)
}
