package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/internal/cluster/existing"
	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/pkg/stsmock"
)

// connectExisting loads the adopted cluster's kubeconfig and reads its
// service-account issuer, before the AWS endpoint starts: STS verifies
// that issuer's tokens with keys read through the apiserver.
func (e *Env) connectExisting(ctx context.Context) error {
	path, kctx := e.opts.kubeconfig, e.opts.kubeContext
	if path == "" && kctx == "" {
		path, kctx = e.cfg.Kubeconfig, e.cfg.KubeContext
	}
	path, err := resolveKubeconfig(path)
	if err != nil {
		return err
	}
	c, err := existing.Connect(path, kctx)
	if err != nil {
		return err
	}
	e.step("Reading the service-account issuer of the cluster at " + c.Server())
	iss, err := c.Issuer(ctx)
	if err != nil {
		return err
	}
	// The keys must be readable too, or no token would verify.
	if _, _, err := c.JWKS(ctx); err != nil {
		return err
	}
	e.existing = c
	e.issuerURL = iss
	e.cfg.Kubeconfig, e.cfg.KubeContext, e.cfg.ClusterIssuer = path, c.Context, iss
	return envdir.SaveConfig(e.layout, &e.cfg)
}

// resolveKubeconfig makes the kubeconfig path absolute, so that down finds
// the same file from any directory; empty stands for $KUBECONFIG, else
// ~/.kube/config, resolved now for the same reason.
func resolveKubeconfig(path string) (string, error) {
	if path == "" {
		path = os.Getenv("KUBECONFIG")
	}
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the kubeconfig: no --kubeconfig, no KUBECONFIG and no home directory: %w", err)
		}
		path = filepath.Join(home, ".kube", "config")
	}
	var out []string
	for _, p := range filepath.SplitList(path) {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("resolve kubeconfig %s: %w", p, err)
		}
		out = append(out, abs)
	}
	return strings.Join(out, string(filepath.ListSeparator)), nil
}

// existingAWSOptions points STS at the adopted cluster's keys.
func (e *Env) existingAWSOptions() []stsmock.Option {
	if e.existing == nil {
		return nil
	}
	return []stsmock.Option{stsmock.WithKeySource(e.issuerURL, stsmock.KeySourceFunc(e.existing.JWKS))}
}

// adoptCluster registers the webhook with the adopted cluster, serving it
// and the AWS endpoint on an address of this machine the cluster reaches,
// and waits for pods to come back mutated.
func (e *Env) adoptCluster(ctx context.Context) error {
	c := e.existing
	if err := c.CheckWebhook(ctx); err != nil {
		return err
	}
	reach, ok, err := c.ReachableHost(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("adopt the cluster at %s: none of this machine's addresses is on its nodes' networks, so its apiserver cannot call the webhook and its pods cannot reach the AWS endpoint; run irsa-local on a machine of the cluster's network, or install the in-cluster webhook from charts/irsa-local", c.Server())
	}
	e.mu.Lock()
	e.client = c.Client()
	e.reach = reach
	e.mu.Unlock()
	e.step("The cluster reaches this machine at " + reach.Host + " (" + reach.Why + ")")
	// A cluster without nodes runs no pod: its pods are exec's, on this
	// machine, pointed at the plain endpoint as in local mode. Pods on
	// nodes get HTTPS on the address that reaches here, as in kind mode.
	podAWS, caBundle := e.awsURL, []byte(nil)
	if !reach.NoNodes {
		podAWS, caBundle = e.awsTLSURL, e.ca.CertPEM
	}
	if !reach.NoNodes && reach.Host != e.cfg.IssuerHost {
		cert, err := e.ca.Leaf(e.layout.PKIDir(), podAWSComponent, append(serverHosts(e.cfg.IssuerHost), reach.Host))
		if err != nil {
			return err
		}
		addr := net.JoinHostPort(reach.Host, strconv.Itoa(e.cfg.AWSTLSPort))
		if err := e.serve(ctx, podAWSComponent, addr, &cert, e.aws); err != nil {
			return err
		}
		podAWS = "https://" + addr
	}
	e.mu.Lock()
	e.podAWSURL = podAWS
	e.mu.Unlock()
	e.step("Registering the pod identity webhook at " + reach.Host)
	if err := e.startWebhook(ctx, reach.Host, podAWS, caBundle); err != nil {
		return err
	}
	e.step("Waiting for pods to come back mutated")
	return e.waitMutating(ctx)
}

// releaseCluster stops the webhook, then removes what irsa-local added to
// the adopted cluster; the cluster itself runs on.
func (e *Env) releaseCluster(ctx context.Context) error {
	e.mu.Lock()
	cancel, done, c := e.stopWebhook, e.webhookDone, e.existing
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if done != nil {
		// The CA publisher would put back what Cleanup deletes.
		<-done
	}
	if c == nil {
		return nil
	}
	ctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer stop()
	if err := c.Cleanup(ctx); err != nil {
		return fmt.Errorf("remove irsa-local from the cluster at %s: %w", c.Server(), err)
	}
	return nil
}

// ReleaseAdopted removes what an environment's process added to the
// cluster it adopted, for down after that process was killed. It does
// nothing for an environment of another mode.
func ReleaseAdopted(ctx context.Context, stateDir string) (bool, error) {
	cfg, err := envdir.LoadConfig(envdir.Layout{Dir: stateDir})
	if err != nil || cfg.Cluster != ClusterExisting || cfg.Kubeconfig == "" {
		return false, nil
	}
	// An environment that stopped cleanly has released the cluster
	// already; only one whose webhook was still running when its process
	// died has something left there.
	d, err := Inspect(stateDir)
	if err != nil || d.Running || !crashedWebhook(d.Components) {
		return false, nil
	}
	c, err := existing.Connect(cfg.Kubeconfig, cfg.KubeContext)
	if err != nil {
		return false, err
	}
	if err := c.Cleanup(ctx); err != nil {
		return false, fmt.Errorf("remove irsa-local from the cluster at %s: %w", c.Server(), err)
	}
	return true, nil
}

// crashedWebhook reports whether the webhook was running when its process
// died (Inspect reports it failed, naming the exit).
func crashedWebhook(cs []Component) bool {
	for _, c := range cs {
		if c.Name == "webhook" && c.State == StateFailed {
			return true
		}
	}
	return false
}
