package envctl

import (
	"context"
	"errors"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/irsa-local/irsa-local/internal/cluster/existing"
	"github.com/irsa-local/irsa-local/pkg/harness"
	"github.com/irsa-local/irsa-local/pkg/issuer"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// ClusterClient returns a client for the cluster of the running environment
// d, as a CLI command in another process needs it.
func ClusterClient(d harness.Description) (kubernetes.Interface, error) {
	if !d.Running {
		return nil, fmt.Errorf("environment %q is not running; start it with 'irsa-local up'", d.Name)
	}
	if d.Cluster.Kubeconfig == "" {
		return nil, fmt.Errorf("environment %q runs with --cluster %s, which has no Kubernetes API; restart it with 'irsa-local down && irsa-local up --cluster local'", d.Name, d.Cluster.Mode)
	}
	cfg, err := existing.LoadKubeconfig(d.Cluster.Kubeconfig, d.Cluster.Context)
	if err != nil {
		return nil, err
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create Kubernetes client: %w", err)
	}
	return c, nil
}

// IssueToken returns a service-account token for the environment: from
// the apiserver through TokenRequest when a cluster runs (so it names the
// real service account and its UID), else minted with the environment's
// key as the apiserver would.
func (h *Handle) IssueToken(ctx context.Context, req issuer.TokenRequest) (string, error) {
	d, err := harness.Inspect(h.Layout.Dir)
	if err != nil {
		return "", err
	}
	if d.Cluster.Mode == harness.ClusterNone {
		return h.MintToken(req)
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

// ApplyFile applies an environment file to the running environment,
// from another process: through its AWS endpoint with the admin
// credentials, and its cluster when it has one.
func (h *Handle) ApplyFile(ctx context.Context, f *harness.EnvironmentFile) error {
	d, err := harness.Inspect(h.Layout.Dir)
	if err != nil {
		return err
	}
	if !d.Running {
		return fmt.Errorf("environment %q is not running; start it with 'irsa-local up'", d.Name)
	}
	t := harness.Target{
		AWS:         d.AWS.AdminConfig(),
		AccountID:   d.AWS.AccountID,
		ClusterName: d.Cluster.Name,
		TrustPolicy: func(namespace, name string) string {
			return policy.ServiceAccountTrustPolicy(d.Issuer.URL, d.AWS.OIDCProviderARN, d.AWS.AccountID, namespace, name)
		},
	}
	if d.Cluster.Mode != harness.ClusterNone {
		if t.Kube, err = ClusterClient(d); err != nil {
			return err
		}
	}
	return harness.Apply(ctx, t, f)
}
