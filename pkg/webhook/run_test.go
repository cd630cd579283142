package webhook

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestRunServesEverything(t *testing.T) {
	sa := roleServiceAccount("analytics", "reporter")
	sa.Annotations["irsa.example.com/role-arn"] = "arn:aws:iam::123456789012:role/custom"
	client := fake.NewClientset(namespace("analytics"), sa)
	cert, caPEM := testCert(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, RunConfig{
			Client:    client,
			Listener:  l,
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
			Options: []Option{
				// The prefix must reach the cache too, or it would strip
				// the annotation the mutator looks for.
				WithAnnotationPrefix("irsa.example.com"),
				WithEmulator(EmulatorConfig{EndpointURL: "https://irsa-local.irsa-local.svc:8443", CAConfigMap: "emulator-ca"}),
			},
			CacheOptions: []CacheOption{WithGracePeriod(0)},
			CABundle:     []byte(testCAPEM),
			Ready:        func() { close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run ended early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run never became ready")
	}

	url := "https://" + l.Addr().String()
	httpClient := trustingClient(t, caPEM)
	resp, data := post(t, httpClient, url+MutatePath, "application/json", reviewFor(t, admissionv1.Create, "analytics", testPod("reporter")))
	r := decodeReview(t, resp, data)
	if r.Patch == nil {
		t.Fatalf("not mutated: %s", data)
	}
	patched := applyPatch(t, testPod("reporter"), r.Patch)
	env := map[string]string{}
	for _, e := range patched.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if env["AWS_ROLE_ARN"] != "arn:aws:iam::123456789012:role/custom" || env["AWS_CA_BUNDLE"] == "" || env["AWS_ENDPOINT_URL"] == "" {
		t.Errorf("env = %v", env)
	}
	eventually(t, client, "analytics", "emulator-ca", published)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not stop")
	}
	if _, err := client.CoreV1().ConfigMaps("analytics").Get(context.Background(), "emulator-ca", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestRunRequiresItsInputs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), RunConfig{Listener: l}); err == nil {
		t.Fatal("Run without client accepted")
	}
	if _, err := l.Accept(); err == nil {
		t.Fatal("listener left open after a failed Run")
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	cert, _ := testCert(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = Run(context.Background(), RunConfig{
		Client:    fake.NewClientset(),
		Listener:  l,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Options:   []Option{WithEmulator(EmulatorConfig{EndpointURL: "not a url"})},
	})
	if err == nil {
		t.Fatal("bad emulator endpoint accepted")
	}
}
