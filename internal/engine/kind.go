package engine

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"k8s.io/client-go/kubernetes"

	"github.com/irsa-local/irsa-local/internal/assets"
	"github.com/irsa-local/irsa-local/internal/cluster/kind"
	"github.com/irsa-local/irsa-local/internal/cluster/local"
	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// kindImageFor returns the node image kind mode uses for a Kubernetes
// version ("" for the default): irsa-local's offline image when that version
// has been built on this machine (hack/kind-node-image.sh), otherwise kind's
// image, which Docker pulls.
func kindImageFor(ctx context.Context, version string) string {
	if version == "" || version == assets.KubernetesVersion {
		if kind.ImageExists(ctx, kind.OfflineImage) {
			return kind.OfflineImage
		}
	}
	if version == "" {
		return kind.UpstreamImage
	}
	return "kindest/node:" + version
}

// startKind creates the environment's kind cluster, serves the AWS endpoint
// and the webhook on the kind network's gateway (where pods and the node
// reach the host), and waits for pods to come back mutated.
func (e *Env) startKind(ctx context.Context) error {
	image := e.opts.kindImage
	if image == "" {
		image = kindImageFor(ctx, e.opts.kubeVersion)
	}
	name := e.cfg.Name
	e.step("Creating kind cluster " + name + " (node image " + image + ")")
	c, err := kind.Create(ctx, kind.Config{
		Name:                name,
		Image:               image,
		IssuerURL:           e.issuerURL,
		KeyDir:              e.layout.KeyDir(),
		SigningKeyFile:      issuer.SigningKeyFile,
		VerificationKeyFile: issuer.VerificationKeyFile,
		Audiences:           []string{e.issuerURL, local.InClusterAudience, local.STSAudience},
		Kubeconfig:          filepath.Join(e.layout.ClusterDir(), "kubeconfig"),
	}, kind.WithLogger(e.opts.logger.With("component", "kind")), kind.WithBeforeCreate(func() error {
		// Recorded before the node exists, so that down finds the cluster
		// even if this process dies while kind creates it.
		e.cfg.KindCluster = name
		return envdir.SaveConfig(e.layout, &e.cfg)
	}))
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.kind, e.nodeImage = c, image
	e.mu.Unlock()
	client, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return fmt.Errorf("create Kubernetes client: %w", err)
	}
	e.mu.Lock()
	e.client = client
	e.mu.Unlock()
	gw := c.Gateway()
	if e.podAWSURL, err = e.servePodAWS(ctx, gw); err != nil {
		return err
	}
	e.step("Starting the pod identity webhook")
	if err := e.startWebhook(ctx, gw, e.podAWSURL, e.ca.CertPEM); err != nil {
		return err
	}
	e.step("Waiting for pods to come back mutated")
	if err := e.waitMutating(ctx); err != nil {
		return err
	}
	if e.opts.agentBinary == "" {
		return nil
	}
	if err := requireStatic(e.opts.agentBinary); err != nil {
		// Everything but Pod Identity works: say so, and go on.
		e.opts.logger.Warn("no EKS Pod Identity agent on the node", "err", err)
		e.step("No EKS Pod Identity agent on the node: " + err.Error())
		return nil
	}
	e.step("Starting the EKS Pod Identity agent on the node")
	return e.startKindAgent(ctx, c)
}

// servePodAWS serves the AWS endpoint over HTTPS on host, an address of
// this machine a cluster's pods reach, with a certificate naming it, and
// returns its URL.
func (e *Env) servePodAWS(ctx context.Context, host string) (string, error) {
	cert, err := e.ca.Leaf(e.layout.PKIDir(), podAWSComponent, append(serverHosts(e.cfg.IssuerHost), host))
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort(host, strconv.Itoa(e.cfg.AWSTLSPort))
	if err := e.serve(ctx, podAWSComponent, addr, &cert, e.aws); err != nil {
		return "", err
	}
	return "https://" + addr, nil
}

// kindComponents reports the node container as a component.
func (e *Env) kindComponents(ctx context.Context) []Component {
	e.mu.Lock()
	c := e.kind
	e.mu.Unlock()
	if c == nil {
		return nil
	}
	comp := Component{Name: "kind-node", State: StateRunning, Listen: c.Node()}
	if ok, state := c.Running(ctx); !ok {
		comp.State, comp.Error = StateFailed, state
	}
	return []Component{comp}
}
