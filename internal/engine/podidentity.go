package engine

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/irsa-local/irsa-local/internal/agent"
	"github.com/irsa-local/irsa-local/pkg/stsmock"
)

// bindingChecker asks the environment's apiserver whether the pod and
// service account a token is bound to still exist with the token's UIDs.
// Before the cluster runs (or with none) there is nothing to ask.
type bindingChecker struct{ e *Env }

func (b bindingChecker) CheckBinding(ctx context.Context, t stsmock.TokenBinding) error {
	b.e.mu.Lock()
	client := b.e.client
	b.e.mu.Unlock()
	if client == nil {
		return nil
	}
	return CheckBinding(ctx, client, t)
}

// CheckBinding is documented at harness.CheckBinding.
func CheckBinding(ctx context.Context, client kubernetes.Interface, t stsmock.TokenBinding) error {
	pod, err := client.CoreV1().Pods(t.Namespace).Get(ctx, t.Pod, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("the pod %s/%s it is bound to no longer exists", t.Namespace, t.Pod)
	case err != nil:
		return fmt.Errorf("look up the pod %s/%s it is bound to: %w", t.Namespace, t.Pod, err)
	case t.PodUID != "" && string(pod.UID) != t.PodUID:
		return fmt.Errorf("the pod %s/%s it is bound to was deleted (a new pod has the name)", t.Namespace, t.Pod)
	case pod.DeletionTimestamp != nil:
		return fmt.Errorf("the pod %s/%s it is bound to is being deleted", t.Namespace, t.Pod)
	}
	sa, err := client.CoreV1().ServiceAccounts(t.Namespace).Get(ctx, t.ServiceAccount, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("the service account %s/%s it is bound to no longer exists", t.Namespace, t.ServiceAccount)
	case err != nil:
		return fmt.Errorf("look up the service account %s/%s: %w", t.Namespace, t.ServiceAccount, err)
	case t.ServiceAccountUID != "" && string(sa.UID) != t.ServiceAccountUID:
		return fmt.Errorf("the service account %s/%s it is bound to was deleted and created again", t.Namespace, t.ServiceAccount)
	}
	return nil
}

// LocalAgent is a Pod Identity agent serving on a loopback port, for
// processes on this host (irsa-local exec, AWSConfigForServiceAccount):
// SDKs accept a loopback http URL in AWS_CONTAINER_CREDENTIALS_FULL_URI,
// where the real agent's link-local address exists only on a node.
type LocalAgent struct {
	// URL is the full credentials URL to give AWS_CONTAINER_CREDENTIALS_FULL_URI.
	URL string
	srv *http.Server
}

// StartLocalAgent is documented at harness.StartLocalAgent.
func StartLocalAgent(ctx context.Context, awsEndpoint, region, cluster string) (*LocalAgent, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the local Pod Identity agent: %w", err)
	}
	a, err := agent.New(agent.Config{
		ClusterName: cluster,
		Endpoint:    awsEndpoint,
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(DefaultAccessKeyID, DefaultSecretAccessKey, ""),
		Hosts:       []string{"127.0.0.1", agent.IPv4Address, agent.IPv6Address},
	})
	if err != nil {
		l.Close()
		return nil, err
	}
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return &LocalAgent{URL: "http://" + l.Addr().String() + agent.Path, srv: srv}, nil
}

// Close stops the agent.
func (a *LocalAgent) Close() error { return a.srv.Close() }
