package harness

// The values below are also internal/envdir's, which reads and writes the
// state directory; TestConstantsMatchTheStateDirectory keeps them equal.

import "github.com/irsa-local/irsa-local/internal/envdir"

// ClusterMode selects the Kubernetes side of an environment.
type ClusterMode = envdir.ClusterMode

// Cluster modes: none (no Kubernetes API; tokens are minted as the
// apiserver would), local (etcd, kube-apiserver and
// kube-controller-manager as processes, no Docker) and kind (a kind cluster
// with real pods; needs Docker).
const (
	ClusterNone  ClusterMode = "none"
	ClusterLocal ClusterMode = "local"
	ClusterKind  ClusterMode = "kind"
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

// Description is what `irsa-local status -o json` prints of an environment.
type Description = envdir.Description

// IssuerInfo, AWSInfo, ClusterInfo and Component are the parts of a
// Description.
type (
	IssuerInfo  = envdir.IssuerInfo
	AWSInfo     = envdir.AWSInfo
	ClusterInfo = envdir.ClusterInfo
	Component   = envdir.Component
)

// ErrRunning is returned by Start when another process runs the environment
// of the state directory.
var ErrRunning = envdir.ErrRunning

// Component states.
const (
	StateRunning = "running"
	StateStopped = "stopped"
	StateFailed  = "failed"
)
