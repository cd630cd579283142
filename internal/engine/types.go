package engine

// The cluster modes are also internal/envdir's, which reads and writes
// env.json; TestClusterModesMatchTheStateDirectory keeps them equal.

import "github.com/irsa-local/irsa-local/internal/envdir"

// ClusterMode selects the Kubernetes side of an environment.
type ClusterMode = envdir.ClusterMode

// Cluster modes: none (no Kubernetes API; tokens are minted as the
// apiserver would), local (etcd, kube-apiserver and
// kube-controller-manager as processes, no Docker) and kind (a kind cluster
// with real pods; needs Docker) and existing (a running cluster adopted
// through a kubeconfig, its apiserver untouched).
const (
	ClusterNone     ClusterMode = "none"
	ClusterLocal    ClusterMode = "local"
	ClusterKind     ClusterMode = "kind"
	ClusterExisting ClusterMode = "existing"
)

// Defaults of a new environment. The admin credentials and account are the
// ones LocalStack users already type.
const (
	DefaultName            = "irsa-local"
	DefaultRegion          = "us-east-1"
	DefaultAccountID       = "000000000000"
	DefaultAccessKeyID     = "test"
	DefaultSecretAccessKey = "test"
	DefaultIssuerHost      = "127.0.0.1"
)

// ErrRunning is returned by Start when another process runs the environment
// of the state directory.
var ErrRunning = envdir.ErrRunning

// ErrNoEnvironment is returned by Inspect for a directory that holds no
// environment.
var ErrNoEnvironment = envdir.ErrNoEnvironment

// Component states.
const (
	StateRunning = "running"
	StateStopped = "stopped"
	StateFailed  = "failed"
)
