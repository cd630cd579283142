package e2e

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/irsa-local/irsa-local/internal/cluster/existing"
	"github.com/irsa-local/irsa-local/internal/golden"
)

// helmVersion is the release hack/helm.sh builds by default.
const helmVersion = "v4.3.2"

// chartDir is the chart, from the e2e package's directory.
const chartDir = "../charts/irsa-local"

// helm finds the helm binary: $HELM, else the one hack/helm.sh caches.
// A missing helm skips the spec, or fails it with IRSA_LOCAL_REQUIRE_HELM=1.
func helm() string {
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		Expect(err).NotTo(HaveOccurred())
		cache = filepath.Join(home, ".cache")
	}
	bin := filepath.Join(cache, "irsa-local", "tools", "helm-"+helmVersion, "helm")
	if _, err := os.Stat(bin); err != nil {
		missingTool("IRSA_LOCAL_REQUIRE_HELM", "helm not found: set HELM or run hack/helm.sh (%v)", err)
	}
	return bin
}

func runHelm(args ...string) string {
	out, err := exec.Command(helm(), args...).CombinedOutput()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "helm %s: %s", strings.Join(args, " "), out)
	return string(out)
}

// decode splits a rendering into typed objects.
func decode(rendered string) []runtime.Object {
	var out []runtime.Object
	for _, doc := range strings.Split(rendered, "\n---") {
		if strings.TrimSpace(strings.ReplaceAll(doc, "---", "")) == "" || !strings.Contains(doc, "kind:") {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		ExpectWithOffset(1, err).NotTo(HaveOccurred(), "decode %s", doc)
		out = append(out, obj)
	}
	return out
}

func find[T runtime.Object](objs []runtime.Object) T {
	for _, o := range objs {
		if t, ok := o.(T); ok {
			return t
		}
	}
	var zero T
	Fail(fmt.Sprintf("no %T in the rendering", zero))
	return zero
}

var _ = Describe("the Helm chart", Label("tools"), func() {
	It("lints, renders as its golden file, and installs what up --webhook cluster installs", func() {
		lint := runHelm("lint", "--strict", chartDir)
		Expect(lint).To(ContainSubstring("0 chart(s) failed"))

		rendered := runHelm("template", "irsa-local", chartDir, "--namespace", existing.WebhookNamespace, "-f", "testdata/chart-values.yaml")
		goldenFile := "testdata/chart-template.golden.yaml"
		if golden.Update() {
			Expect(os.WriteFile(goldenFile, []byte(rendered), 0o644)).To(Succeed())
		}
		want, err := os.ReadFile(goldenFile)
		Expect(err).NotTo(HaveOccurred(), "no golden rendering; run the spec with -update")
		Expect(rendered).To(Equal(string(want)), "helm template differs from %s (run the spec with -update after checking the change)", goldenFile)

		// The chart's objects do what irsa-local's own in-cluster webhook
		// does, with the same values.
		objs := decode(rendered)
		ours := existing.InCluster{
			Image: "irsa-local:v0.0.0-golden", AWSEndpoint: "https://172.18.0.1:4567", Region: "eu-west-1",
			AWSCA: []byte("ca"), CA: []byte("ca"), ServingCert: []byte("c"), ServingKey: []byte("k"),
		}.Build()
		dep := find[*appsv1.Deployment](objs)
		Expect(dep.Name).To(Equal(ours.Deployment.Name))
		Expect(dep.Spec.Template.Spec.Containers[0].Image).To(Equal(ours.Deployment.Spec.Template.Spec.Containers[0].Image))
		Expect(dep.Spec.Template.Spec.Containers[0].Args).To(Equal(ours.Deployment.Spec.Template.Spec.Containers[0].Args))
		Expect(dep.Spec.Template.Spec.Containers[0].VolumeMounts).To(Equal(ours.Deployment.Spec.Template.Spec.Containers[0].VolumeMounts))
		Expect(dep.Spec.Template.Spec.Containers[0].SecurityContext).To(Equal(ours.Deployment.Spec.Template.Spec.Containers[0].SecurityContext))
		Expect(dep.Spec.Template.Labels).To(HaveKeyWithValue("eks.amazonaws.com/skip-pod-identity-webhook", "true"))
		Expect(find[*rbacv1.ClusterRole](objs).Rules).To(Equal(ours.ClusterRole.Rules))
		svc := find[*corev1.Service](objs)
		Expect(svc.Name).To(Equal(ours.Service.Name))
		Expect(svc.Spec.Ports).To(Equal(ours.Service.Spec.Ports))
		hook := find[*admissionregistrationv1.MutatingWebhookConfiguration](objs)
		Expect(hook.Name).To(Equal(ours.Configuration.Name))
		got, wantHook := hook.Webhooks[0], ours.Configuration.Webhooks[0]
		got.ClientConfig.CABundle, wantHook.ClientConfig.CABundle = nil, nil
		Expect(got).To(Equal(wantHook))

		// Without TLS values the chart makes a CA and a certificate for its
		// Service, which that CA verifies.
		generated := decode(runHelm("template", "irsa-local", chartDir, "--namespace", "tools"))
		var secret *corev1.Secret
		for _, o := range generated {
			if s, ok := o.(*corev1.Secret); ok {
				secret = s
			}
		}
		Expect(secret).NotTo(BeNil())
		pool := x509.NewCertPool()
		Expect(pool.AppendCertsFromPEM(find[*admissionregistrationv1.MutatingWebhookConfiguration](generated).Webhooks[0].ClientConfig.CABundle)).To(BeTrue())
		block, _ := pem.Decode(secret.Data["tls.crt"])
		Expect(block).NotTo(BeNil())
		cert, err := x509.ParseCertificate(block.Bytes)
		Expect(err).NotTo(HaveOccurred())
		_, err = cert.Verify(x509.VerifyOptions{DNSName: "irsa-local-webhook.tools.svc", Roots: pool})
		Expect(err).NotTo(HaveOccurred())
		Expect(bytes.Contains(secret.Data["tls.key"], []byte("PRIVATE KEY"))).To(BeTrue())

		// Half of the TLS values is refused, naming the rule.
		out, err := exec.Command(helm(), "template", "irsa-local", chartDir, "--set", "webhook.tls.cert=x").CombinedOutput()
		Expect(err).To(HaveOccurred())
		Expect(string(out)).To(ContainSubstring("webhook.tls: give cert, key and caBundle together, or none of them"))
	})
})
