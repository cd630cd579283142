package existing

import (
	"context"
	"errors"
	"fmt"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/irsa-local/irsa-local/pkg/webhook"
)

// Names of the in-cluster webhook's objects; charts/irsa-local uses the
// same ones with its default values.
const (
	WebhookNamespace = "irsa-local"
	WebhookName      = "irsa-local-webhook"
	webhookPort      = 8443
	tlsMountPath     = "/etc/irsa-local/tls"
	caMountPath      = "/etc/irsa-local/aws-ca"
)

// WebhookServiceHost is the DNS name the apiserver calls the in-cluster
// webhook at, which its serving certificate must name.
const WebhookServiceHost = WebhookName + "." + WebhookNamespace + ".svc"

// InCluster describes the in-cluster webhook: the irsa-local image running
// `irsa-local webhook` as a Deployment behind a Service, for a cluster whose
// apiserver cannot call this machine.
type InCluster struct {
	// Image is the irsa-local image, present on the nodes (no registry
	// serves it: kind load docker-image, or a registry of your own).
	Image string
	// AWSEndpoint is injected into pods as AWS_ENDPOINT_URL ("" for none);
	// AWSCA, for an https endpoint, is published to every namespace.
	AWSEndpoint string
	AWSCA       []byte
	Region      string
	// CA signed ServingCert (for WebhookServiceHost) and is the caBundle
	// the apiserver verifies the webhook with.
	CA                      []byte
	ServingCert, ServingKey []byte
}

func ownLabels() map[string]string {
	return map[string]string{webhook.ManagedByLabel: webhook.ManagedBy, "app.kubernetes.io/name": WebhookName}
}

// Objects are the in-cluster webhook's objects, in the order they are
// created.
type Objects struct {
	Namespace          *corev1.Namespace
	ServiceAccount     *corev1.ServiceAccount
	ClusterRole        *rbacv1.ClusterRole
	ClusterRoleBinding *rbacv1.ClusterRoleBinding
	TLSSecret          *corev1.Secret
	CAConfigMap        *corev1.ConfigMap
	Deployment         *appsv1.Deployment
	Service            *corev1.Service
	Configuration      *admissionregistrationv1.MutatingWebhookConfiguration
}

// Build returns the objects of in.
func (in InCluster) Build() Objects {
	meta := func(name, ns string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: ownLabels()}
	}
	args := []string{"webhook", "--listen", fmt.Sprintf(":%d", webhookPort),
		"--tls-cert-file", tlsMountPath + "/tls.crt", "--tls-key-file", tlsMountPath + "/tls.key", "--region", in.Region,
		"--grace-period", webhook.DefaultGracePeriod.String()}
	if in.AWSEndpoint != "" {
		args = append(args, "--aws-endpoint", in.AWSEndpoint)
		if len(in.AWSCA) > 0 {
			args = append(args, "--aws-ca-file", caMountPath+"/ca.crt")
		}
	}
	selector := map[string]string{"app.kubernetes.io/name": WebhookName}
	nonRoot, noEscalation, readOnly := true, false, true
	uid := int64(65532)
	replicas := int32(1)
	pod := corev1.PodSpec{
		ServiceAccountName: WebhookName,
		SecurityContext:    &corev1.PodSecurityContext{RunAsNonRoot: &nonRoot, RunAsUser: &uid, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{
			Name:            "webhook",
			Image:           in.Image,
			ImagePullPolicy: corev1.PullIfNotPresent,
			Args:            args,
			Ports:           []corev1.ContainerPort{{Name: "https", ContainerPort: webhookPort}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/healthz", Port: intstr.FromString("https"), Scheme: corev1.URISchemeHTTPS,
			}}},
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: &noEscalation, ReadOnlyRootFilesystem: &readOnly,
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
			VolumeMounts: []corev1.VolumeMount{{Name: "tls", MountPath: tlsMountPath, ReadOnly: true}},
		}},
		Volumes: []corev1.Volume{{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: WebhookName + "-tls"}}}},
	}
	o := Objects{
		Namespace:      &corev1.Namespace{ObjectMeta: meta(WebhookNamespace, "")},
		ServiceAccount: &corev1.ServiceAccount{ObjectMeta: meta(WebhookName, WebhookNamespace)},
		ClusterRole: &rbacv1.ClusterRole{ObjectMeta: meta(WebhookName, ""), Rules: []rbacv1.PolicyRule{
			// The service-account cache, as the EKS webhook's.
			{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list", "watch"}},
			// The CA publisher: a ConfigMap in every namespace.
			{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "update"}},
		}},
		ClusterRoleBinding: &rbacv1.ClusterRoleBinding{
			ObjectMeta: meta(WebhookName, ""),
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: WebhookName},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: WebhookName, Namespace: WebhookNamespace}},
		},
		TLSSecret: &corev1.Secret{
			ObjectMeta: meta(WebhookName+"-tls", WebhookNamespace),
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{corev1.TLSCertKey: in.ServingCert, corev1.TLSPrivateKeyKey: in.ServingKey},
		},
		Deployment: &appsv1.Deployment{
			ObjectMeta: meta(WebhookName, WebhookNamespace),
			Spec: appsv1.DeploymentSpec{
				Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: selector},
				Template: corev1.PodTemplateSpec{
					// The webhook's own pods are never sent to it.
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/name": WebhookName, webhook.SkipLabel: "true"}},
					Spec:       pod,
				},
			},
		},
		Service: &corev1.Service{
			ObjectMeta: meta(WebhookName, WebhookNamespace),
			Spec: corev1.ServiceSpec{
				Selector: selector,
				Ports:    []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromString("https")}},
			},
		},
	}
	if len(in.AWSCA) > 0 && in.AWSEndpoint != "" {
		o.CAConfigMap = &corev1.ConfigMap{ObjectMeta: meta(WebhookName+"-aws-ca", WebhookNamespace), Data: map[string]string{"ca.crt": string(in.AWSCA)}}
		spec := &o.Deployment.Spec.Template.Spec
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "aws-ca", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: WebhookName + "-aws-ca"}}}})
		spec.Containers[0].VolumeMounts = append(spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "aws-ca", MountPath: caMountPath, ReadOnly: true})
	}
	path := webhook.MutatePath
	port := int32(443)
	cfg := webhook.Configuration(webhook.WithCABundle(in.CA))
	cfg.Labels = ownLabels()
	cfg.Webhooks[0].ClientConfig.URL = nil
	cfg.Webhooks[0].ClientConfig.Service = &admissionregistrationv1.ServiceReference{Namespace: WebhookNamespace, Name: WebhookName, Path: &path, Port: &port}
	o.Configuration = cfg
	return o
}

// InstallWebhook creates (or updates) the in-cluster webhook and waits for
// its Deployment to be available. The registration is made last, so the
// apiserver never calls a webhook that does not answer yet.
func (c *Cluster) InstallWebhook(ctx context.Context, in InCluster) error {
	o := in.Build()
	if err := c.apply(ctx, o); err != nil {
		return fmt.Errorf("install the in-cluster webhook: %w", err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := c.client.AppsV1().Deployments(WebhookNamespace).Get(ctx, WebhookName, metav1.GetOptions{})
		if err == nil && d.Status.AvailableReplicas > 0 && d.Status.ObservedGeneration >= d.Generation {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("install the in-cluster webhook: deployment %s/%s is not available after 2m (is image %s on the nodes? kubectl -n %s describe pods)", WebhookNamespace, WebhookName, in.Image, WebhookNamespace)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("install the in-cluster webhook: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
	return webhook.Register(ctx, c.client, o.Configuration)
}

// apply creates each object, or replaces one irsa-local made before.
func (c *Cluster) apply(ctx context.Context, o Objects) error {
	cs := c.client
	steps := []struct {
		what   string
		create func() error
		update func() error
	}{
		{"namespace", func() error {
			_, err := cs.CoreV1().Namespaces().Create(ctx, o.Namespace, metav1.CreateOptions{})
			return err
		}, func() error { return nil }},
		{"service account", func() error {
			_, err := cs.CoreV1().ServiceAccounts(WebhookNamespace).Create(ctx, o.ServiceAccount, metav1.CreateOptions{})
			return err
		}, func() error { return nil }},
		{"cluster role", func() error {
			_, err := cs.RbacV1().ClusterRoles().Create(ctx, o.ClusterRole, metav1.CreateOptions{})
			return err
		}, func() error {
			_, err := cs.RbacV1().ClusterRoles().Update(ctx, o.ClusterRole, metav1.UpdateOptions{})
			return err
		}},
		{"cluster role binding", func() error {
			_, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, o.ClusterRoleBinding, metav1.CreateOptions{})
			return err
		}, func() error { return nil }},
		{"TLS secret", func() error {
			_, err := cs.CoreV1().Secrets(WebhookNamespace).Create(ctx, o.TLSSecret, metav1.CreateOptions{})
			return err
		}, func() error {
			_, err := cs.CoreV1().Secrets(WebhookNamespace).Update(ctx, o.TLSSecret, metav1.UpdateOptions{})
			return err
		}},
		{"AWS CA", func() error {
			if o.CAConfigMap == nil {
				return nil
			}
			_, err := cs.CoreV1().ConfigMaps(WebhookNamespace).Create(ctx, o.CAConfigMap, metav1.CreateOptions{})
			return err
		}, func() error {
			_, err := cs.CoreV1().ConfigMaps(WebhookNamespace).Update(ctx, o.CAConfigMap, metav1.UpdateOptions{})
			return err
		}},
		{"deployment", func() error {
			_, err := cs.AppsV1().Deployments(WebhookNamespace).Create(ctx, o.Deployment, metav1.CreateOptions{})
			return err
		}, func() error {
			_, err := cs.AppsV1().Deployments(WebhookNamespace).Update(ctx, o.Deployment, metav1.UpdateOptions{})
			return err
		}},
		{"service", func() error {
			_, err := cs.CoreV1().Services(WebhookNamespace).Create(ctx, o.Service, metav1.CreateOptions{})
			return err
		}, func() error { return nil }},
	}
	for _, s := range steps {
		err := s.create()
		if apierrors.IsAlreadyExists(err) {
			err = s.update()
		}
		if err != nil {
			return fmt.Errorf("create the %s: %w", s.what, err)
		}
	}
	return nil
}

// removeInCluster deletes the in-cluster webhook's objects that carry
// irsa-local's label: the namespace (and all in it) and the cluster-wide
// RBAC objects.
func (c *Cluster) removeInCluster(ctx context.Context) error {
	var errs []error
	ns, err := c.client.CoreV1().Namespaces().Get(ctx, WebhookNamespace, metav1.GetOptions{})
	if err == nil && managed(ns.ObjectMeta) {
		// The webhook's CA publisher would put back the ConfigMaps
		// Cleanup deletes: its pods go first.
		if err := c.client.AppsV1().Deployments(WebhookNamespace).Delete(ctx, WebhookName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete deployment %s/%s: %w", WebhookNamespace, WebhookName, err))
		}
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			pods, err := c.client.CoreV1().Pods(WebhookNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + WebhookName})
			if err != nil || len(pods.Items) == 0 {
				break
			}
		}

		if err := c.client.CoreV1().Namespaces().Delete(ctx, WebhookNamespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete namespace %s: %w", WebhookNamespace, err))
		}
	}
	if b, err := c.client.RbacV1().ClusterRoleBindings().Get(ctx, WebhookName, metav1.GetOptions{}); err == nil && managed(b.ObjectMeta) {
		if err := c.client.RbacV1().ClusterRoleBindings().Delete(ctx, WebhookName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete cluster role binding %s: %w", WebhookName, err))
		}
	}
	if r, err := c.client.RbacV1().ClusterRoles().Get(ctx, WebhookName, metav1.GetOptions{}); err == nil && managed(r.ObjectMeta) {
		if err := c.client.RbacV1().ClusterRoles().Delete(ctx, WebhookName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete cluster role %s: %w", WebhookName, err))
		}
	}
	return errors.Join(errs...)
}
