package webhook

import (
	"context"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Names used by upstream's deploy/mutatingwebhook.yaml, kept so tooling that
// looks for the EKS webhook finds this one.
const (
	// ManagedByLabel with the value ManagedBy marks what irsa-local put in a
	// cluster, so that it removes those objects and nothing else.
	ManagedByLabel    = "app.kubernetes.io/managed-by"
	ManagedBy         = "irsa-local"
	ConfigurationName = "pod-identity-webhook"
	WebhookName       = "pod-identity-webhook.amazonaws.com"
	// SkipLabel on a pod keeps it from being sent to the webhook at all.
	SkipLabel = "eks.amazonaws.com/skip-pod-identity-webhook"

	defaultServiceNamespace = "default"
	defaultServiceName      = "pod-identity-webhook"
)

// Register creates cfg in the cluster, or replaces the configuration of
// that name.
func Register(ctx context.Context, client kubernetes.Interface, cfg *admissionregistrationv1.MutatingWebhookConfiguration) error {
	hooks := client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	existing, err := hooks.Get(ctx, cfg.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = hooks.Create(ctx, cfg, metav1.CreateOptions{})
	case err == nil:
		cfg.ResourceVersion = existing.ResourceVersion
		_, err = hooks.Update(ctx, cfg, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("register the webhook: %w", err)
	}
	return nil
}

// ConfigOption configures the MutatingWebhookConfiguration built by
// Configuration.
type ConfigOption interface {
	applyConfiguration(*admissionregistrationv1.WebhookClientConfig)
}

type configOption func(*admissionregistrationv1.WebhookClientConfig)

func (f configOption) applyConfiguration(c *admissionregistrationv1.WebhookClientConfig) { f(c) }

// WithURL registers the webhook by URL, e.g.
// "https://127.0.0.1:8443/mutate" for an apiserver on the same host. The URL
// is used as given, path included.
func WithURL(url string) ConfigOption {
	return configOption(func(c *admissionregistrationv1.WebhookClientConfig) {
		c.URL = &url
		c.Service = nil
	})
}

// WithService registers the webhook by in-cluster service, path /mutate.
// This is the default, with upstream's default/pod-identity-webhook:443.
func WithService(namespace, name string, port int32) ConfigOption {
	return configOption(func(c *admissionregistrationv1.WebhookClientConfig) {
		path := MutatePath
		c.URL = nil
		c.Service = &admissionregistrationv1.ServiceReference{
			Namespace: namespace,
			Name:      name,
			Path:      &path,
			Port:      &port,
		}
	})
}

// WithCABundle sets the PEM bundle the apiserver uses to verify the
// webhook's serving certificate.
func WithCABundle(pem []byte) ConfigOption {
	return configOption(func(c *admissionregistrationv1.WebhookClientConfig) {
		c.CABundle = append([]byte(nil), pem...)
	})
}

// Configuration returns the registration of the webhook, matching upstream's
// manifest except that it speaks admission v1 (upstream's manifest still
// lists v1beta1 although its code now answers v1).
func Configuration(opts ...ConfigOption) *admissionregistrationv1.MutatingWebhookConfiguration {
	path := MutatePath
	port := int32(443)
	client := admissionregistrationv1.WebhookClientConfig{
		Service: &admissionregistrationv1.ServiceReference{
			Namespace: defaultServiceNamespace,
			Name:      defaultServiceName,
			Path:      &path,
			Port:      &port,
		},
	}
	for _, o := range opts {
		if o != nil {
			o.applyConfiguration(&client)
		}
	}

	failurePolicy := admissionregistrationv1.Ignore
	sideEffects := admissionregistrationv1.SideEffectClassNone
	// Upstream's manifest leaves these two unset; the API defaults are the
	// same values, stated here so the object reads the same before and after
	// the apiserver defaults it.
	reinvocation := admissionregistrationv1.NeverReinvocationPolicy
	timeout := int32(10)

	return &admissionregistrationv1.MutatingWebhookConfiguration{
		TypeMeta: metav1.TypeMeta{
			APIVersion: admissionregistrationv1.SchemeGroupVersion.String(),
			Kind:       "MutatingWebhookConfiguration",
		},
		ObjectMeta: metav1.ObjectMeta{Name: ConfigurationName},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         WebhookName,
			ClientConfig: client,
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{
					APIGroups:   []string{""},
					APIVersions: []string{"v1"},
					Resources:   []string{"pods"},
				},
			}},
			FailurePolicy: &failurePolicy,
			ObjectSelector: &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{
					Key:      SkipLabel,
					Operator: metav1.LabelSelectorOpDoesNotExist,
				}},
			},
			SideEffects:             &sideEffects,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      &reinvocation,
		}},
	}
}
