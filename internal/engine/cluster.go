package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/irsa-local/irsa-local/internal/cluster/local"
	"github.com/irsa-local/irsa-local/pkg/issuer"
	"github.com/irsa-local/irsa-local/pkg/webhook"
)

// RoleARNAnnotation is the service-account annotation naming the IAM role.
const RoleARNAnnotation = "eks.amazonaws.com/role-arn"

// probeServiceAccount is the service account irsa-local creates to prove
// the webhook mutates before declaring a cluster ready.
const probeServiceAccount = "irsa-local-probe"

// startCluster runs the cluster of the environment's mode configured for
// its issuer and keys, then the pod identity webhook, registered by URL,
// and returns once a dry-run pod create comes back mutated.
func (e *Env) startCluster(ctx context.Context) error {
	switch e.cfg.Cluster {
	case ClusterKind:
		return e.startKind(ctx)
	case ClusterExisting:
		return e.adoptCluster(ctx)
	}
	c, err := local.Start(ctx, local.Config{
		Dir:                 e.layout.ClusterDir(),
		IssuerURL:           e.issuerURL,
		SigningKeyFile:      e.layout.KeyDir() + "/" + issuer.SigningKeyFile,
		VerificationKeyFile: e.layout.KeyDir() + "/" + issuer.VerificationKeyFile,
		ServingCA:           e.ca,
		SecurePort:          e.cfg.APIServerPort,
		ContextName:         e.cfg.Name,
	}, local.WithLogger(e.opts.logger.With("component", "cluster")))
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.cluster = c
	e.mu.Unlock()
	client, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return fmt.Errorf("create Kubernetes client: %w", err)
	}
	e.mu.Lock()
	e.client = client
	e.mu.Unlock()
	e.step("Starting the pod identity webhook")
	if err := e.startWebhook(ctx, e.cfg.IssuerHost, e.awsURL, nil); err != nil {
		return err
	}
	e.step("Waiting for pods to come back mutated")
	return e.waitMutating(ctx)
}

// startWebhook serves the pod identity webhook on host and registers it
// with the apiserver by URL. Inside irsa-local the webhook also injects
// AWS_ENDPOINT_URL (endpoint), so unmodified SDKs reach the emulator; for
// an https endpoint it publishes caBundle to every namespace and points
// AWS_CA_BUNDLE at it.
func (e *Env) startWebhook(ctx context.Context, host, endpoint string, caBundle []byte) error {
	addr := net.JoinHostPort(host, strconv.Itoa(e.cfg.WebhookPort))
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s for the webhook: %w", addr, err)
	}
	cert, err := e.ca.Leaf(e.layout.PKIDir(), "webhook", serverHosts(host))
	if err != nil {
		l.Close()
		return err
	}
	opts := []webhook.Option{webhook.WithRegion(e.cfg.Region), webhook.WithRegionalSTS(true)}
	if e.aws != nil {
		// Service accounts with a Pod Identity association get the
		// container credentials, as EKS's webhook gives them.
		opts = append(opts, webhook.WithContainerCredentials(e.aws, ""))
	}
	if !e.opts.noEndpointInjection {
		opts = append(opts, webhook.WithEmulator(webhook.EmulatorConfig{EndpointURL: endpoint}))
	}
	var cacheOpts []webhook.CacheOption
	if e.opts.gracePeriod != nil {
		cacheOpts = append(cacheOpts, webhook.WithGracePeriod(*e.opts.gracePeriod))
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	comp := &Component{Name: "webhook", State: StateRunning, Listen: l.Addr().String()}
	done := make(chan struct{})
	e.mu.Lock()
	e.components["webhook"] = comp
	e.stopWebhook = cancel
	e.webhookDone = done
	e.mu.Unlock()
	ready := make(chan struct{})
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(done)
		err := webhook.Run(wctx, webhook.RunConfig{
			Client:       e.client,
			Listener:     l,
			TLSConfig:    &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
			Options:      opts,
			CacheOptions: cacheOpts,
			CABundle:     caBundle,
			Logger:       e.opts.logger.With("component", "webhook"),
			Ready:        func() { close(ready) },
		})
		e.mu.Lock()
		if err != nil {
			comp.State, comp.Error = StateFailed, err.Error()
		} else {
			comp.State = StateStopped
		}
		e.mu.Unlock()
		e.recordStatus()
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		return fmt.Errorf("start webhook: %w", ctx.Err())
	case <-time.After(30 * time.Second):
		return errors.New("start webhook: its service-account cache did not sync within 30s")
	}
	cfg := webhook.Configuration(webhook.WithURL("https://"+l.Addr().String()+webhook.MutatePath), webhook.WithCABundle(e.ca.CertPEM))
	cfg.Labels = map[string]string{webhook.ManagedByLabel: webhook.ManagedBy}
	return webhook.Register(ctx, e.client, cfg)
}

// waitMutating creates a dry-run pod in an annotated service account until
// the webhook's mutation shows in the answer: only then is the chain ready.
// Without this a pod created right after up could slip through unmutated,
// since the webhook's failure policy is Ignore. It also waits for the
// default namespace's "default" service account, which the controller
// manager creates a few seconds after a new cluster is ready, and without
// which a pod of that namespace is refused.
func (e *Env) waitMutating(ctx context.Context) error {
	const ns = "default"
	sas := e.client.CoreV1().ServiceAccounts(ns)
	probe := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name:        probeServiceAccount,
		Labels:      map[string]string{webhook.ManagedByLabel: webhook.ManagedBy},
		Annotations: map[string]string{RoleARNAnnotation: "arn:aws:iam::" + e.cfg.AccountID + ":role/" + probeServiceAccount},
	}}
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		if _, err := sas.Create(ctx, probe, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			last = err
		} else {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "irsa-local-probe-", Namespace: ns},
				Spec:       corev1.PodSpec{ServiceAccountName: probeServiceAccount, Containers: []corev1.Container{{Name: "probe", Image: "irsa-local/probe"}}},
			}
			got, err := e.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err == nil && envValue(got.Spec.Containers[0].Env, "AWS_ROLE_ARN") != "" {
				if _, err = sas.Get(ctx, "default", metav1.GetOptions{}); err == nil {
					return nil
				}
			}
			last = err
			if err == nil {
				last = errors.New("a dry-run pod came back without AWS_ROLE_ARN")
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the webhook to mutate pods: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("wait for the webhook to mutate pods: %v (see %s)", last, e.layout.LogFile())
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, v := range env {
		if v.Name == name {
			return v.Value
		}
	}
	return ""
}

// stopCluster stops the webhook and the control plane; a kind cluster is
// deleted.
func (e *Env) stopCluster(ctx context.Context) error {
	if e.existing != nil {
		return e.releaseCluster(ctx)
	}
	e.mu.Lock()
	cancel, c, k := e.stopWebhook, e.cluster, e.kind
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if k != nil {
		return k.Delete(ctx)
	}
	if c == nil {
		return nil
	}
	return c.Stop(ctx)
}

// restartCluster restarts the control plane so kube-apiserver reads the
// key files again: it signs with the new key after a rotation and stops
// accepting retired ones. In a kind cluster only kube-apiserver restarts:
// its node, pods and the webhook carry on.
func (e *Env) restartCluster(ctx context.Context) error {
	e.mu.Lock()
	webhookDone, k := e.webhookDone, e.kind
	e.mu.Unlock()
	if k != nil {
		return k.RestartAPIServer(ctx)
	}
	if err := e.stopCluster(ctx); err != nil {
		return fmt.Errorf("restart cluster: %w", err)
	}
	if webhookDone != nil {
		<-webhookDone // its port is free again
	}
	return e.startCluster(ctx)
}

// clusterComponents reports the control-plane processes, or a kind
// cluster's node, as components.
func (e *Env) clusterComponents(ctx context.Context) []Component {
	e.mu.Lock()
	c := e.cluster
	e.mu.Unlock()
	if c == nil {
		return e.kindComponents(ctx)
	}
	var out []Component
	for _, st := range c.Status() {
		comp := Component{Name: st.Name, State: StateRunning}
		switch st.State {
		case local.StateExited:
			comp.State = StateFailed
			comp.Error = fmt.Sprintf("exited (%s); last log line: %s (log: %s)", st.Exit, st.LastLogLine, st.LogFile)
		case local.StateStopped:
			comp.State = StateStopped
		}
		out = append(out, comp)
	}
	return out
}

// monitor rewrites the status file when a control-plane process or the
// backend changes state, so a crashed apiserver or moto_server shows in
// `irsa-local status`.
func (e *Env) monitor(ctx context.Context) {
	defer e.wg.Done()
	// Watching a kind node or a backend container costs a docker command,
	// so it is looked at less often than local processes.
	every := time.Second
	if e.cfg.Cluster == ClusterKind || e.container != nil {
		every = 5 * time.Second
	}
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		now := fmt.Sprint(e.clusterComponents(ctx), e.backendComponents(ctx))
		if now != last {
			last = now
			_ = e.writeStatus(ctx)
		}
	}
}

// Kubeconfig returns the path of the cluster's admin kubeconfig ("" without
// a cluster).
func (e *Env) Kubeconfig() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.kind != nil:
		return e.kind.Kubeconfig()
	case e.cluster != nil:
		return e.cluster.Kubeconfig()
	case e.existing != nil:
		return e.existing.Kubeconfig
	}
	return ""
}

// RESTConfig returns the cluster's admin client configuration, or nil
// without a cluster.
func (e *Env) RESTConfig() *rest.Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.kind != nil:
		return e.kind.RESTConfig()
	case e.cluster != nil:
		return e.cluster.RESTConfig()
	case e.existing != nil:
		return e.existing.RESTConfig()
	}
	return nil
}

// Client returns a clientset for the cluster, or nil without one.
func (e *Env) Client() kubernetes.Interface { return e.client }

// systemNamespaces survive Reset.
var systemNamespaces = map[string]bool{"default": true, "kube-system": true, "kube-public": true, "kube-node-lease": true}

// Reset restores a clean state between test cases: IAM, S3 and the
// backend (moto's or LocalStack's reset endpoint) emptied,
// issued sessions invalidated, the clock back to real time, the issuer
// registered again as an OIDC provider (unless the environment runs
// without one), and in a cluster every namespace but the system ones
// deleted, with the pods and service accounts of "default" other than its
// own.
func (e *Env) Reset(ctx context.Context) error {
	if err := e.aws.Reset(); err != nil {
		return fmt.Errorf("reset AWS: %w", err)
	}
	if !e.opts.noProvider {
		if _, err := e.aws.EnsureOIDCProvider(e.issuerURL, []string{"sts.amazonaws.com"}, []string{e.providerThumbprint()}); err != nil {
			return fmt.Errorf("reset AWS: %w", err)
		}
	}
	if e.client == nil {
		return nil
	}
	nss, err := e.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("reset cluster: %w", err)
	}
	for _, ns := range nss.Items {
		if systemNamespaces[ns.Name] {
			continue
		}
		if err := e.client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("reset cluster: delete namespace %s: %w", ns.Name, err)
		}
	}
	grace := int64(0)
	if err := e.client.CoreV1().Pods("default").DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &grace}, metav1.ListOptions{}); err != nil {
		return fmt.Errorf("reset cluster: delete pods: %w", err)
	}
	sas, err := e.client.CoreV1().ServiceAccounts("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("reset cluster: %w", err)
	}
	for _, sa := range sas.Items {
		if sa.Name == "default" || sa.Name == probeServiceAccount {
			continue
		}
		if err := e.client.CoreV1().ServiceAccounts("default").Delete(ctx, sa.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("reset cluster: delete service account %s: %w", sa.Name, err)
		}
	}
	// Namespaces finalize asynchronously; a test that recreates one right
	// away must not find it terminating.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		nss, err := e.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("reset cluster: %w", err)
		}
		left := 0
		for _, ns := range nss.Items {
			if !systemNamespaces[ns.Name] {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("reset cluster: namespaces still terminating after 30s")
}
