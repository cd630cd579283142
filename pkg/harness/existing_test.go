package harness

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/irsa-local/irsa-local/internal/cluster/local"
	"github.com/irsa-local/irsa-local/internal/testenv"
	"github.com/irsa-local/irsa-local/pkg/issuer"
	"github.com/irsa-local/irsa-local/pkg/webhook"
)

// TestAdoptedClusterThroughTheGoAPI adopts a control plane the test starts
// with its own key and kubeadm's default issuer: a service account's pod
// credentials come from that issuer's tokens, and Stop removes the webhook
// registration while the cluster runs on.
func TestAdoptedClusterThroughTheGoAPI(t *testing.T) {
	testenv.KubeBinaries(t)
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := issuer.LoadOrCreateKeys(filepath.Join(dir, "keys")); err != nil {
		t.Fatal(err)
	}
	const iss = "https://kubernetes.default.svc.cluster.local"
	bare, err := local.Start(ctx, local.Config{
		Dir:                 filepath.Join(dir, "cluster"),
		IssuerURL:           iss,
		SigningKeyFile:      filepath.Join(dir, "keys", issuer.SigningKeyFile),
		VerificationKeyFile: filepath.Join(dir, "keys", issuer.VerificationKeyFile),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bare.Stop(context.Background()) })

	e, err := Start(ctx, WithCluster(ClusterExisting), WithKubeconfig(bare.Kubeconfig(), ""), WithInMemoryS3())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = e.Stop(context.Background())
		}
	})
	if e.IssuerURL() != iss {
		t.Fatalf("IssuerURL = %q, want the cluster's %q", e.IssuerURL(), iss)
	}
	if _, err := e.Token(issuer.TokenRequest{Namespace: "default", ServiceAccount: "app"}); err == nil || !strings.Contains(err.Error(), "kubectl create token") {
		t.Errorf("Token on an adopted cluster: %v, want a refusal naming kubectl create token", err)
	}
	if _, err := e.RotateKeys(ctx); err == nil || !strings.Contains(err.Error(), "keys of its own") {
		t.Errorf("RotateKeys on an adopted cluster: %v, want a refusal", err)
	}
	roleARN, err := e.CreateRole(ctx, "app", TrustServiceAccount("default", "app"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateServiceAccount(ctx, "default", "app", roleARN); err != nil {
		t.Fatal(err)
	}
	cfg, done, err := e.AWSConfigForServiceAccount(ctx, "default", "app")
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("the pod's credentials: %v", err)
	}
	if !strings.HasPrefix(*who.Arn, "arn:aws:sts::000000000000:assumed-role/app/") {
		t.Errorf("caller %s, want a session of role app", *who.Arn)
	}

	if err := e.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped = true
	client := e.Client()
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, webhook.ConfigurationName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after Stop the webhook registration is still there (err %v)", err)
	}
	if _, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "app", metav1.GetOptions{}); err != nil {
		t.Errorf("after Stop the user's service account is gone: %v", err)
	}
}
