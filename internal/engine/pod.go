package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/irsa-local/irsa-local/internal/fsutil"
	"github.com/irsa-local/irsa-local/pkg/webhook"
)

// PodSession stands in for the kubelet of a cluster without nodes: it
// creates a pod through the apiserver (so the real webhook mutates it),
// requests the projected token through TokenRequest with the volume's
// audience and expiration, bound to the pod, writes it to a file and keeps
// it fresh as the kubelet does (at 80% of its lifetime). Env is what the
// pod's container got from the webhook, with the token file's path
// pointing at that file.
type PodSession struct {
	client kubernetes.Interface
	// Pod is the pod as the apiserver stored it, mutated.
	Pod *corev1.Pod
	// Container is the container whose environment Env holds.
	Container string
	// Env is the container's literal environment variables, in order.
	Env []corev1.EnvVar
	// TokenFile is where the token is kept.
	TokenFile string
	// PodIdentity: the pod got EKS Pod Identity's container credentials
	// (its service account has an association), not a web identity.
	PodIdentity bool

	audience   string
	expiration int64
	dir        string

	mu      sync.Mutex
	expires time.Time
	issued  time.Time
}

// podTokenPath is the path the webhook points AWS_WEB_IDENTITY_TOKEN_FILE at
// inside a pod (Linux nodes); podIdentityTokenPath the one of
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
const (
	podTokenPath         = webhook.DefaultMountPath + "/" + webhook.TokenPath
	podIdentityTokenPath = webhook.PodIdentityMountPath + "/" + webhook.PodIdentityTokenPath
)

// TokenOnlyGate is the scheduling gate of the pods a PodSession creates,
// which stand for a process on this machine and never run in the cluster.
const TokenOnlyGate = "irsa-local.dev/token-only"

// DefaultPod is documented at harness.DefaultPod.
func DefaultPod(namespace, serviceAccount string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "irsa-local-" + serviceAccount + "-", Namespace: namespace},
		Spec: corev1.PodSpec{
			ServiceAccountName: serviceAccount,
			Containers:         []corev1.Container{{Name: "main", Image: "irsa-local/exec"}},
		},
	}
}

// StartPodSession is documented at harness.StartPodSession.
func StartPodSession(ctx context.Context, client kubernetes.Interface, pod *corev1.Pod, dir string) (_ *PodSession, retErr error) {
	if pod.Namespace == "" {
		pod.Namespace = "default"
	}
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = "default"
	}
	if len(pod.Spec.Containers) == 0 {
		return nil, errors.New("create pod: the pod spec has no container")
	}
	sa, err := client.CoreV1().ServiceAccounts(pod.Namespace).Get(ctx, pod.Spec.ServiceAccountName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get service account %s/%s: %w", pod.Namespace, pod.Spec.ServiceAccountName, err)
	}
	if pod.Spec.NodeName == "" {
		// The pod exists for its token only: on a cluster with nodes a
		// scheduling gate keeps it from being scheduled and its image
		// pulled.
		pod.Spec.SchedulingGates = append(pod.Spec.SchedulingGates, corev1.PodSchedulingGate{Name: TokenOnlyGate})
	}
	created, err := client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create pod in %s: %w", pod.Namespace, err)
	}
	s := &PodSession{client: client, Pod: created, dir: dir}
	defer func() {
		if retErr != nil {
			_ = s.Close(context.WithoutCancel(ctx))
		}
	}()
	c := created.Spec.Containers[0]
	s.Container = c.Name
	for _, v := range c.Env {
		if v.ValueFrom == nil {
			s.Env = append(s.Env, v)
		}
	}
	vol := tokenVolume(created, webhook.PodIdentityVolumeName)
	if vol != nil {
		s.PodIdentity = true
	} else {
		vol = tokenVolume(created, webhook.TokenVolumeName)
	}
	if vol == nil {
		if sa.Annotations[RoleARNAnnotation] == "" {
			return nil, fmt.Errorf("pod identity for %s/%s: the service account has neither a %s annotation nor a Pod Identity association, so the webhook injected nothing", pod.Namespace, sa.Name, RoleARNAnnotation)
		}
		return nil, fmt.Errorf("pod identity for %s/%s: the pod came back without the %s volume: is the pod identity webhook registered?", pod.Namespace, sa.Name, webhook.TokenVolumeName)
	}
	s.audience = vol.Audience
	s.expiration = 3600
	if vol.ExpirationSeconds != nil {
		s.expiration = *vol.ExpirationSeconds
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create token directory: %w", err)
	}
	s.TokenFile = filepath.Join(dir, "token")
	for i := range s.Env {
		switch {
		case s.Env[i].Name == "AWS_WEB_IDENTITY_TOKEN_FILE" && s.Env[i].Value == podTokenPath,
			s.Env[i].Name == "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" && s.Env[i].Value == podIdentityTokenPath:
			s.Env[i].Value = s.TokenFile
		}
	}
	if err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// UseAgent points AWS_CONTAINER_CREDENTIALS_FULL_URI at a local agent's
// URL: the one the webhook injects is the node's link-local address.
func (s *PodSession) UseAgent(url string) {
	for i := range s.Env {
		if s.Env[i].Name == "AWS_CONTAINER_CREDENTIALS_FULL_URI" && s.Env[i].Value == webhook.DefaultFullURI {
			s.Env[i].Value = url
		}
	}
}

// UseCABundle points AWS_CA_BUNDLE, when the webhook injected it, at a
// file of this machine: the one it injects is a path in the pod's volume.
func (s *PodSession) UseCABundle(file string) {
	for i := range s.Env {
		if s.Env[i].Name == "AWS_CA_BUNDLE" {
			s.Env[i].Value = file
		}
	}
}

// tokenVolume returns the service-account token projection of the
// webhook's volume called name.
func tokenVolume(p *corev1.Pod, name string) *corev1.ServiceAccountTokenProjection {
	for _, v := range p.Spec.Volumes {
		if v.Name != name || v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if src.ServiceAccountToken != nil {
				return src.ServiceAccountToken
			}
		}
	}
	return nil
}

// Refresh requests a new token and writes it atomically.
func (s *PodSession) Refresh(ctx context.Context) error {
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		Audiences:         []string{s.audience},
		ExpirationSeconds: &s.expiration,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: s.Pod.Name, UID: s.Pod.UID},
	}}
	out, err := s.client.CoreV1().ServiceAccounts(s.Pod.Namespace).CreateToken(ctx, s.Pod.Spec.ServiceAccountName, tr, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("request token for %s/%s: %w", s.Pod.Namespace, s.Pod.Spec.ServiceAccountName, err)
	}
	if err := fsutil.WriteFileAtomic(s.TokenFile, []byte(out.Status.Token), 0o600); err != nil {
		return fmt.Errorf("write token: %w", err)
	}
	s.mu.Lock()
	s.issued, s.expires = time.Now(), out.Status.ExpirationTimestamp.Time
	s.mu.Unlock()
	return nil
}

// KeepFresh refreshes the token once 80% of its lifetime has passed, as the
// kubelet does, until ctx ends. A failed refresh keeps the old token and is
// retried after a second.
func (s *PodSession) KeepFresh(ctx context.Context) {
	for {
		s.mu.Lock()
		due := s.issued.Add(s.expires.Sub(s.issued) * 8 / 10)
		s.mu.Unlock()
		wait := time.Until(due)
		if wait < time.Second {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if time.Now().Before(due) {
			continue
		}
		_ = s.Refresh(ctx)
	}
}

// EnvValue returns the value of an injected variable.
func (s *PodSession) EnvValue(name string) string { return envValue(s.Env, name) }

// Close deletes the pod (it was created only for its token) and the token
// file.
func (s *PodSession) Close(ctx context.Context) error {
	var errs []error
	grace := int64(0)
	err := s.client.CoreV1().Pods(s.Pod.Namespace).Delete(ctx, s.Pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	if err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, fmt.Errorf("delete pod %s/%s: %w", s.Pod.Namespace, s.Pod.Name, err))
	}
	if s.dir != "" {
		if err := os.RemoveAll(s.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CreateServiceAccount creates a service account annotated with the role it
// may assume (no annotation when roleARN is empty), and its namespace when
// missing.
func (e *Env) CreateServiceAccount(ctx context.Context, namespace, name, roleARN string) (*corev1.ServiceAccount, error) {
	if e.client == nil {
		return nil, errors.New("service accounts need a cluster: start the environment with WithCluster(ClusterLocal)")
	}
	if err := e.EnsureNamespace(ctx, namespace); err != nil {
		return nil, err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	if roleARN != "" {
		sa.Annotations = map[string]string{RoleARNAnnotation: roleARN}
	}
	out, err := e.client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create service account %s/%s: %w", namespace, name, err)
	}
	return out, nil
}

// EnsureNamespace creates a namespace unless it exists.
func (e *Env) EnsureNamespace(ctx context.Context, name string) error {
	return EnsureNamespace(ctx, e.client, name)
}

// EnsureNamespace creates the namespace name through c unless it exists.
func EnsureNamespace(ctx context.Context, c kubernetes.Interface, name string) error {
	_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}
