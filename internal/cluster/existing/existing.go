// Package existing adopts a running Kubernetes cluster that irsa-local did
// not create, without touching its apiserver's flags: it reads the
// cluster's service-account issuer and keys through the apiserver's own
// discovery endpoints, finds an address of this machine that the cluster
// reaches (for the webhook and the AWS endpoint), and removes what
// irsa-local added when the environment stops.
package existing

import (
	"context" //nolint:gosec // IAM thumbprints are SHA-1 by definition.
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/irsa-local/irsa-local/pkg/issuer"
	"github.com/irsa-local/irsa-local/pkg/webhook"
)

// Discovery paths every apiserver since 1.21 serves for its
// service-account issuer.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	JWKSPath      = "/openid/v1/jwks"
	// DiscoveryRole is the ClusterRole that may read both.
	DiscoveryRole = "system:service-account-issuer-discovery"
)

// Cluster is a running cluster reached through a kubeconfig.
type Cluster struct {
	// Kubeconfig and Context are where the credentials came from.
	Kubeconfig, Context string
	rest                *rest.Config
	client              kubernetes.Interface
}

// Connect loads the kubeconfig (the client-go default chain when path is
// empty: $KUBECONFIG, then ~/.kube/config; a list of files as KUBECONFIG
// holds them) with the named context (its current one when empty).
func Connect(path, contextName string) (*Cluster, error) {
	cc := clientConfig(path, contextName)
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", describePath(path), err)
	}
	if contextName == "" {
		contextName = raw.CurrentContext
	}
	if _, ok := raw.Contexts[contextName]; !ok {
		if contextName == "" {
			return nil, fmt.Errorf("load kubeconfig %s: it has no current context; name one with --context", describePath(path))
		}
		return nil, fmt.Errorf("load kubeconfig %s: no context %q in it (kubectl config get-contexts lists them)", describePath(path), contextName)
	}
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", describePath(path), err)
	}
	rc.Timeout = 15 * time.Second
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client: %w", err)
	}
	return &Cluster{Kubeconfig: path, Context: contextName, rest: rc, client: client}, nil
}

// LoadKubeconfig is the client configuration of a kubeconfig's context,
// loaded as Connect loads it.
func LoadKubeconfig(path, contextName string) (*rest.Config, error) {
	rc, err := clientConfig(path, contextName).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", describePath(path), err)
	}
	return rc, nil
}

func clientConfig(path, contextName string) clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	switch files := filepath.SplitList(path); {
	case len(files) == 1:
		rules.ExplicitPath = path // a missing file is an error, not an empty config
	case len(files) > 1:
		rules = &clientcmd.ClientConfigLoadingRules{Precedence: files}
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: contextName})
}

func describePath(path string) string {
	if path == "" {
		return "(default: $KUBECONFIG or ~/.kube/config)"
	}
	return path
}

// RESTConfig is the client configuration of the kubeconfig's context.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.rest) }

// Client is a clientset for the cluster.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// Server is the apiserver's URL as the kubeconfig names it.
func (c *Cluster) Server() string { return c.rest.Host }

// CAPEM is the CA the kubeconfig trusts for the apiserver, PEM-encoded, or
// nil when the kubeconfig trusts the system roots or skips verification.
func (c *Cluster) CAPEM() []byte { return c.rest.CAData }

// Issuer reads the cluster's service-account issuer from its discovery
// document. A caller without the right to read it gets an error naming the
// ClusterRole and the command that grants it.
func (c *Cluster) Issuer(ctx context.Context) (string, error) {
	raw, err := c.get(ctx, DiscoveryPath)
	if err != nil {
		return "", err
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return "", fmt.Errorf("read the cluster's service-account issuer: %s is not JSON: %w", DiscoveryPath, err)
	}
	u, err := url.Parse(doc.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("read the cluster's service-account issuer: %s names issuer %q; STS accepts only an https issuer", DiscoveryPath, doc.Issuer)
	}
	return doc.Issuer, nil
}

// JWKS reads the cluster's verification keys through the apiserver, and
// returns the apiserver's CA as the chain whose thumbprint IAM records.
func (c *Cluster) JWKS(ctx context.Context) ([]byte, [][]byte, error) {
	raw, err := c.get(ctx, JWKSPath)
	if err != nil {
		return nil, nil, err
	}
	var chain [][]byte
	if b, _ := pem.Decode(c.rest.CAData); b != nil {
		chain = [][]byte{b.Bytes}
	}
	return raw, chain, nil
}

// Thumbprint is the SHA-1 thumbprint IAM records for the cluster's
// issuer: that of the apiserver's CA, the only certificate on the way to
// the keys ("" when the kubeconfig names none).
func (c *Cluster) Thumbprint() string {
	b, _ := pem.Decode(c.rest.CAData)
	if b == nil {
		return ""
	}
	return issuer.Thumbprint(b.Bytes)
}

func (c *Cluster) get(ctx context.Context, path string) ([]byte, error) {
	raw, err := c.client.CoreV1().RESTClient().Get().AbsPath(path).DoRaw(ctx)
	if err == nil {
		return raw, nil
	}
	switch {
	case apierrors.IsForbidden(err):
		return nil, c.forbidden(ctx, path)
	case apierrors.IsUnauthorized(err):
		return nil, fmt.Errorf("read %s from %s: the apiserver refused the kubeconfig's credentials (401); check them with: kubectl --context %s auth whoami", path, c.rest.Host, c.Context)
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("read %s from %s: the apiserver does not serve it (404): service-account issuer discovery needs kube-apiserver 1.21 or later with --service-account-issuer set", path, c.rest.Host)
	}
	return nil, fmt.Errorf("read %s from %s: %w", path, c.rest.Host, err)
}

// forbidden is the one-line error for a caller who may not read the
// discovery endpoints: who it is, what it lacks, and how to grant it.
func (c *Cluster) forbidden(ctx context.Context, path string) error {
	who, subject := "the kubeconfig's user", "--user=<your user>"
	if r, err := c.client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{}); err == nil && r.Status.UserInfo.Username != "" {
		name := r.Status.UserInfo.Username
		who = "user " + name
		subject = "--user=" + name
		if sa, ok := strings.CutPrefix(name, "system:serviceaccount:"); ok {
			subject = "--serviceaccount=" + sa
		}
	}
	return fmt.Errorf("read the cluster's service-account issuer: %s may not get %s (ClusterRole %s); grant it with: kubectl create clusterrolebinding irsa-local-issuer-discovery --clusterrole=%s %s", who, path, DiscoveryRole, DiscoveryRole, subject)
}

// Reach is an address of this machine the cluster can reach, and why it
// was chosen.
type Reach struct {
	Host string
	Why  string
	// NoNodes: the cluster has no nodes, so no pod of it runs; only its
	// apiserver calls this machine.
	NoNodes bool
}

// ReachableHost finds the address of this machine that the cluster's
// apiserver and pods can reach: the address of the interface on a node's
// network (kind, k3d and minikube's docker driver put nodes on a bridge
// of this machine; a kubeadm VM sits on a virtual network), a node's own
// address when the node is this machine, or loopback when the cluster has
// no nodes and its apiserver runs here. ok is false when none is found:
// the cluster runs elsewhere, or behind a VM network this machine has no
// leg on.
func (c *Cluster) ReachableHost(ctx context.Context) (Reach, bool, error) {
	nodes, err := c.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return Reach{}, false, fmt.Errorf("list the cluster's nodes: %w", err)
	}
	local, err := localNetworks()
	if err != nil {
		return Reach{}, false, err
	}
	r, ok := reachFrom(nodeIPs(nodes.Items), apiserverHost(c.rest.Host), local)
	return r, ok, nil
}

// network is one address of this machine with its subnet.
type network struct {
	iface string
	ip    net.IP
	net   *net.IPNet
}

func localNetworks() ([]network, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	var out []network
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				out = append(out, network{iface: ifc.Name, ip: ipn.IP.To4(), net: ipn})
			}
		}
	}
	return out, nil
}

func nodeIPs(nodes []corev1.Node) []net.IP {
	var out []net.IP
	for _, n := range nodes {
		for _, a := range n.Status.Addresses {
			if a.Type != corev1.NodeInternalIP {
				continue
			}
			if ip := net.ParseIP(a.Address).To4(); ip != nil {
				out = append(out, ip)
			}
		}
	}
	return out
}

func apiserverHost(server string) string {
	u, err := url.Parse(server)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// reachFrom decides, from the nodes' addresses, the apiserver's host and
// this machine's networks, where the cluster reaches this machine.
func reachFrom(nodes []net.IP, apiserver string, local []network) (Reach, bool) {
	for _, ip := range nodes {
		for _, n := range local {
			if n.ip.Equal(ip) {
				return Reach{Host: ip.String(), Why: "node " + ip.String() + " is this machine"}, true
			}
		}
	}
	for _, ip := range nodes {
		for _, n := range local {
			if !n.ip.IsLoopback() && n.net.Contains(ip) {
				return Reach{Host: n.ip.String(), Why: fmt.Sprintf("node %s is on the network of %s (%s)", ip, n.iface, n.net)}, true
			}
		}
	}
	if len(nodes) > 0 {
		return Reach{}, false
	}
	// No nodes: only the apiserver calls out (the webhook); it reaches
	// this machine if it runs here.
	if ip := net.ParseIP(apiserver); ip != nil {
		if ip.IsLoopback() {
			return Reach{Host: "127.0.0.1", Why: "the cluster has no nodes and its apiserver listens on this machine's loopback", NoNodes: true}, true
		}
		for _, n := range local {
			if n.ip.Equal(ip) {
				return Reach{Host: ip.String(), Why: "the cluster has no nodes and its apiserver runs on this machine", NoNodes: true}, true
			}
		}
	}
	if apiserver == "localhost" {
		return Reach{Host: "127.0.0.1", Why: "the cluster has no nodes and its apiserver listens on this machine's loopback", NoNodes: true}, true
	}
	return Reach{}, false
}

// Cleanup removes everything irsa-local added to the cluster — the
// webhook registration, the in-cluster webhook, the CA ConfigMaps, the
// probe service account —
// and nothing else: objects of those names that irsa-local did not make
// (without its managed-by label) are left alone.
func (c *Cluster) Cleanup(ctx context.Context) error {
	var errs []error
	hooks := c.client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	if h, err := hooks.Get(ctx, webhook.ConfigurationName, metav1.GetOptions{}); err == nil && managed(h.ObjectMeta) {
		if err := hooks.Delete(ctx, h.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete MutatingWebhookConfiguration %s: %w", h.Name, err))
		}
	} else if err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("get MutatingWebhookConfiguration %s: %w", webhook.ConfigurationName, err))
	}
	if err := c.removeInCluster(ctx); err != nil {
		errs = append(errs, err)
	}
	sel := metav1.ListOptions{LabelSelector: webhook.ManagedByLabel + "=" + webhook.ManagedBy}
	cms, err := c.client.CoreV1().ConfigMaps("").List(ctx, sel)
	if err != nil {
		errs = append(errs, fmt.Errorf("list irsa-local's ConfigMaps: %w", err))
	} else {
		for _, cm := range cms.Items {
			if err := c.client.CoreV1().ConfigMaps(cm.Namespace).Delete(ctx, cm.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err))
			}
		}
	}
	sas, err := c.client.CoreV1().ServiceAccounts("").List(ctx, sel)
	if err != nil {
		errs = append(errs, fmt.Errorf("list irsa-local's service accounts: %w", err))
	} else {
		for _, sa := range sas.Items {
			if err := c.client.CoreV1().ServiceAccounts(sa.Namespace).Delete(ctx, sa.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete service account %s/%s: %w", sa.Namespace, sa.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// CheckWebhook refuses a cluster that already has a pod identity webhook
// irsa-local did not register (EKS's, or one from its manifests): two
// webhooks would mutate every pod twice, and down must not remove theirs.
func (c *Cluster) CheckWebhook(ctx context.Context) error {
	h, err := c.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, webhook.ConfigurationName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("look for a pod identity webhook: %w", err)
	case managed(h.ObjectMeta):
		return nil
	}
	return fmt.Errorf("the cluster already has a MutatingWebhookConfiguration %s that irsa-local did not make (amazon-eks-pod-identity-webhook?); remove it (kubectl delete mutatingwebhookconfiguration %s) or adopt another cluster", webhook.ConfigurationName, webhook.ConfigurationName)
}

// LoadImage copies image from this machine's Docker into the containerd of
// each node that is a container of this Docker (kind's nodes, k3d's), as
// kind load docker-image does, so that a pod can run it without a
// registry.
func (c *Cluster) LoadImage(ctx context.Context, image string) error {
	nodes, err := c.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	if len(nodes.Items) == 0 {
		return errors.New("the cluster has no nodes to run the webhook on")
	}
	for _, n := range nodes.Items {
		if err := exec.CommandContext(ctx, "docker", "inspect", n.Name).Run(); err != nil {
			return fmt.Errorf("node %s is not a container of this machine's Docker: load image %s onto the nodes yourself (or push it to a registry they pull from)", n.Name, image)
		}
	}
	if err := exec.CommandContext(ctx, "docker", "image", "inspect", image).Run(); err != nil {
		return fmt.Errorf("image %s is not in this machine's Docker: build it with make image", image)
	}
	for _, n := range nodes.Items {
		load := exec.CommandContext(ctx, "sh", "-c", `docker save "$1" | docker exec -i "$2" ctr --namespace=k8s.io images import --digests --snapshotter=overlayfs -`, "load", image, n.Name)
		if out, err := load.CombinedOutput(); err != nil {
			return fmt.Errorf("load image %s onto node %s: %v: %s", image, n.Name, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// managed reports whether irsa-local made an object: it carries the
// managed-by label irsa-local puts on everything it adds to a cluster.
func managed(m metav1.ObjectMeta) bool {
	return m.Labels[webhook.ManagedByLabel] == webhook.ManagedBy
}
