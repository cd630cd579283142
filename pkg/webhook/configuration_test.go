package webhook

import (
	"bytes"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func TestConfigurationMatchesUpstream(t *testing.T) {
	cfg := Configuration(WithCABundle([]byte("PEM")))

	if cfg.APIVersion != "admissionregistration.k8s.io/v1" || cfg.Kind != "MutatingWebhookConfiguration" {
		t.Errorf("type = %s %s", cfg.APIVersion, cfg.Kind)
	}
	if cfg.Name != "pod-identity-webhook" {
		t.Errorf("name = %q", cfg.Name)
	}
	if len(cfg.Webhooks) != 1 {
		t.Fatalf("%d webhooks", len(cfg.Webhooks))
	}
	w := cfg.Webhooks[0]
	if w.Name != "pod-identity-webhook.amazonaws.com" {
		t.Errorf("webhook name = %q", w.Name)
	}
	if w.FailurePolicy == nil || *w.FailurePolicy != admissionregistrationv1.Ignore {
		t.Errorf("failurePolicy = %v", w.FailurePolicy)
	}
	if w.SideEffects == nil || *w.SideEffects != admissionregistrationv1.SideEffectClassNone {
		t.Errorf("sideEffects = %v", w.SideEffects)
	}
	if w.ReinvocationPolicy == nil || *w.ReinvocationPolicy != admissionregistrationv1.NeverReinvocationPolicy {
		t.Errorf("reinvocationPolicy = %v", w.ReinvocationPolicy)
	}
	if w.TimeoutSeconds == nil || *w.TimeoutSeconds != 10 {
		t.Errorf("timeoutSeconds = %v", w.TimeoutSeconds)
	}
	if len(w.AdmissionReviewVersions) != 1 || w.AdmissionReviewVersions[0] != "v1" {
		t.Errorf("admissionReviewVersions = %v", w.AdmissionReviewVersions)
	}
	if w.NamespaceSelector != nil {
		t.Errorf("namespaceSelector = %v, want all namespaces", w.NamespaceSelector)
	}
	wantSelector := metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "eks.amazonaws.com/skip-pod-identity-webhook", Operator: metav1.LabelSelectorOpDoesNotExist,
	}}}
	if got, _ := yaml.Marshal(w.ObjectSelector); !bytes.Equal(got, mustYAML(t, wantSelector)) {
		t.Errorf("objectSelector = %s", got)
	}
	if len(w.Rules) != 1 {
		t.Fatalf("rules = %v", w.Rules)
	}
	r := w.Rules[0]
	if len(r.Operations) != 1 || r.Operations[0] != admissionregistrationv1.Create ||
		len(r.APIGroups) != 1 || r.APIGroups[0] != "" ||
		len(r.APIVersions) != 1 || r.APIVersions[0] != "v1" ||
		len(r.Resources) != 1 || r.Resources[0] != "pods" {
		t.Errorf("rule = %+v", r)
	}
	if string(w.ClientConfig.CABundle) != "PEM" {
		t.Errorf("caBundle = %q", w.ClientConfig.CABundle)
	}
	s := w.ClientConfig.Service
	if w.ClientConfig.URL != nil || s == nil || s.Namespace != "default" || s.Name != "pod-identity-webhook" ||
		s.Path == nil || *s.Path != "/mutate" || s.Port == nil || *s.Port != 443 {
		t.Errorf("default clientConfig = %s", mustYAML(t, w.ClientConfig))
	}
}

func TestConfigurationByURL(t *testing.T) {
	cfg := Configuration(WithService("irsa-local", "webhook", 8443), WithURL("https://127.0.0.1:38443/mutate"), WithCABundle([]byte("PEM")))
	cc := cfg.Webhooks[0].ClientConfig
	if cc.Service != nil || cc.URL == nil || *cc.URL != "https://127.0.0.1:38443/mutate" || string(cc.CABundle) != "PEM" {
		t.Errorf("clientConfig = %s", mustYAML(t, cc))
	}
}

func TestConfigurationByService(t *testing.T) {
	cfg := Configuration(WithURL("https://127.0.0.1:38443/mutate"), WithService("irsa-local", "webhook", 8443))
	cc := cfg.Webhooks[0].ClientConfig
	s := cc.Service
	if cc.URL != nil || s == nil || s.Namespace != "irsa-local" || s.Name != "webhook" || *s.Port != 8443 || *s.Path != "/mutate" {
		t.Errorf("clientConfig = %s", mustYAML(t, cc))
	}
}

// The caller's slice must not alias the configuration's.
func TestConfigurationCopiesCABundle(t *testing.T) {
	pem := []byte("PEM")
	cfg := Configuration(WithCABundle(pem))
	pem[0] = 'X'
	if string(cfg.Webhooks[0].ClientConfig.CABundle) != "PEM" {
		t.Error("caBundle aliases the caller's slice")
	}
}

func mustYAML(t *testing.T, v any) []byte {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
