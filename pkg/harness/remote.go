package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// ClusterClient returns a client for the cluster of the running environment
// d, as a CLI command in another process needs it.
func ClusterClient(d Description) (kubernetes.Interface, error) {
	if !d.Running {
		return nil, fmt.Errorf("environment %q is not running; start it with 'irsa-local up'", d.Name)
	}
	if d.Cluster.Kubeconfig == "" {
		return nil, fmt.Errorf("environment %q runs with --cluster %s, which has no Kubernetes API; restart it with 'irsa-local down && irsa-local up --cluster local'", d.Name, d.Cluster.Mode)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", d.Cluster.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", d.Cluster.Kubeconfig, err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client: %w", err)
	}
	return c, nil
}

// IssueToken returns a service-account token for the environment in l: from
// the apiserver through TokenRequest when a cluster runs (so it names the
// real service account and its UID), else minted with the environment's
// key as the apiserver would.
func IssueToken(ctx context.Context, l Layout, req issuer.TokenRequest) (string, error) {
	d, err := Inspect(l)
	if err != nil {
		return "", err
	}
	if d.Cluster.Mode == ClusterNone {
		return MintToken(l, req)
	}
	c, err := ClusterClient(d)
	if err != nil {
		return "", err
	}
	secs := int64(req.Duration / time.Second)
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: req.Audiences, ExpirationSeconds: &secs}}
	out, err := c.CoreV1().ServiceAccounts(req.Namespace).CreateToken(ctx, req.ServiceAccount, tr, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("request a token for %s/%s: %w", req.Namespace, req.ServiceAccount, err)
	}
	if out.Status.Token == "" {
		return "", errors.New("request a token: the apiserver returned none")
	}
	return out.Status.Token, nil
}
