package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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

// adoptCluster registers the webhook with the adopted cluster and waits
// for pods to come back mutated. The webhook is served from this machine,
// on an address the cluster reaches, or, when there is none (or when
// asked), runs in the cluster from the irsa-local image. Pods are pointed
// at the AWS endpoint on that address, or at WithPodAWSEndpoint's.
func (e *Env) adoptCluster(ctx context.Context) error {
	c := e.existing
	if err := c.CheckWebhook(ctx); err != nil {
		return err
	}
	reach, ok, err := c.ReachableHost(ctx)
	if err != nil {
		return err
	}
	mode := e.opts.webhookMode
	switch {
	case mode == WebhookHost && !ok:
		return fmt.Errorf("adopt the cluster at %s: none of this machine's addresses is on its nodes' networks, so its apiserver cannot call a webhook here; run it in the cluster (--webhook cluster)", c.Server())
	case mode == WebhookInCluster && reach.NoNodes:
		return fmt.Errorf("adopt the cluster at %s: it has no nodes to run the webhook on; serve it from this machine (--webhook host)", c.Server())
	case mode == "" || mode == WebhookAuto:
		mode = WebhookHost
		if !ok {
			mode = WebhookInCluster
		}
	}
	e.mu.Lock()
	e.client = c.Client()
	e.reach = reach
	e.mu.Unlock()
	if ok {
		e.step("The cluster reaches this machine at " + reach.Host + " (" + reach.Why + ")")
	}
	podAWS, caBundle, err := e.podEndpoint(ctx, reach, ok)
	if err != nil {
		return err
	}
	if mode == WebhookInCluster {
		if err := e.installInCluster(ctx, podAWS, caBundle); err != nil {
			return err
		}
	} else {
		e.step("Registering the pod identity webhook at " + reach.Host)
		if err := e.startWebhook(ctx, reach.Host, podAWS, caBundle); err != nil {
			return err
		}
	}
	e.step("Waiting for pods to come back mutated")
	return e.waitMutating(ctx)
}

// podEndpoint serves the AWS endpoint where the adopted cluster's pods
// reach it and returns its URL, with the CA pods must trust for it (nil
// for plain HTTP). A cluster without nodes runs no pod: its pods are
// exec's, on this machine, pointed at the plain endpoint as in local
// mode. Pods on nodes get HTTPS on the address that reaches here, as in
// kind mode. With no such address and no WithPodAWSEndpoint, pods get no
// endpoint: up and doctor say so.
func (e *Env) podEndpoint(ctx context.Context, reach existing.Reach, ok bool) (string, []byte, error) {
	var url string
	var caBundle []byte
	switch {
	case e.opts.podAWSEndpoint != "":
		url = e.opts.podAWSEndpoint
		if strings.HasPrefix(url, "https://") {
			caBundle = e.ca.CertPEM
		}
	case !ok:
		e.opts.logger.Warn("the cluster's pods cannot reach the AWS endpoint", "cluster", e.existing.Server())
		e.step("No address of this machine is reachable from the cluster's pods: they get no AWS endpoint (give one with --pod-aws-endpoint)")
	case reach.NoNodes:
		url = e.awsURL
	default:
		url, caBundle = e.awsTLSURL, e.ca.CertPEM
		if reach.Host != e.cfg.IssuerHost {
			var err error
			if url, err = e.servePodAWS(ctx, reach.Host); err != nil {
				return "", nil, err
			}
		}
	}
	e.mu.Lock()
	e.podAWSURL = url
	e.mu.Unlock()
	return url, caBundle, nil
}

// installInCluster runs the webhook in the cluster from the irsa-local
// image, with a serving certificate of the environment's CA.
func (e *Env) installInCluster(ctx context.Context, podAWS string, caBundle []byte) error {
	c := e.existing
	image := e.opts.image
	if image == "" {
		image = DefaultImage
	}
	e.step("Loading image " + image + " onto the cluster's nodes")
	if err := c.LoadImage(ctx, image); err != nil {
		return fmt.Errorf("run the webhook in the cluster: %w", err)
	}
	if _, err := e.ca.Leaf(e.layout.PKIDir(), inClusterWebhookCert, []string{existing.WebhookServiceHost}); err != nil {
		return err
	}
	cert, err := os.ReadFile(filepath.Join(e.layout.PKIDir(), inClusterWebhookCert+".crt"))
	if err != nil {
		return fmt.Errorf("read the in-cluster webhook's certificate: %w", err)
	}
	key, err := os.ReadFile(filepath.Join(e.layout.PKIDir(), inClusterWebhookCert+".key"))
	if err != nil {
		return fmt.Errorf("read the in-cluster webhook's key: %w", err)
	}
	e.step("Running the pod identity webhook in the cluster (deployment " + existing.WebhookNamespace + "/" + existing.WebhookName + ")")
	if err := c.InstallWebhook(ctx, existing.InCluster{
		Image: image, AWSEndpoint: podAWS, AWSCA: caBundle, Region: e.cfg.Region,
		CA: e.ca.CertPEM, ServingCert: cert, ServingKey: key,
	}); err != nil {
		return err
	}
	e.mu.Lock()
	e.components["webhook"] = &Component{Name: "webhook", State: StateRunning, Listen: "in-cluster " + existing.WebhookServiceHost}
	e.mu.Unlock()
	return nil
}

// inClusterWebhookCert names the in-cluster webhook's serving certificate
// in the PKI directory.
const inClusterWebhookCert = "webhook-in-cluster"

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

// ReleaseAdopted is documented at harness.ReleaseAdopted.
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
