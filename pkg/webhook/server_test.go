package webhook

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

// testCert is a self-signed serving certificate for 127.0.0.1 and its PEM,
// standing in for the certificate the environment's CA issues.
func testCert(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "irsa-local webhook test"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pemBytes
}

// testServer serves srv over real TLS on loopback and returns its base URL
// and a client trusting it.
func testServer(t *testing.T, sas ServiceAccountGetter, opts ...Option) (string, *http.Client) {
	t.Helper()
	return testServerWith(t, sas, opts, nil)
}

func testServerWith(t *testing.T, sas ServiceAccountGetter, opts []Option, serverOpts []ServerOption) (string, *http.Client) {
	t.Helper()
	cert, caPEM := testCert(t)
	m, err := NewMutator(opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(m, sas, &tls.Config{Certificates: []tls.Certificate{cert}}, serverOpts...)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "https://" + l.Addr().String(), trustingClient(t, caPEM)
}

func trustingClient(t *testing.T, caPEM []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("bad test CA")
	}
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
}

func roleServiceAccount(namespace, name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Name:        name,
		Namespace:   namespace,
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/" + name},
	}}
}

func testPod(serviceAccount string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "report-"},
		Spec: corev1.PodSpec{
			ServiceAccountName: serviceAccount,
			Containers:         []corev1.Container{{Name: "main", Image: "busybox:1.36"}},
		},
	}
}

func reviewFor(t *testing.T, op admissionv1.Operation, namespace string, obj any) []byte {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID("7d3c1f9e-2b5a-4c8d-9e6f-0a1b2c3d4e5f"),
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: namespace,
			Operation: op,
			Object:    runtime.RawExtension{Raw: raw},
		},
	}
	body, err := json.Marshal(review)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func post(t *testing.T, client *http.Client, url, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

func decodeReview(t *testing.T, resp *http.Response, data []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &review); err != nil {
		t.Fatalf("decode response: %v\n%s", err, data)
	}
	if review.APIVersion != "admission.k8s.io/v1" || review.Kind != "AdmissionReview" {
		t.Errorf("response type = %s %s", review.APIVersion, review.Kind)
	}
	if review.Response == nil {
		t.Fatalf("no response in %s", data)
	}
	if !review.Response.Allowed {
		t.Errorf("response not allowed: %s", data)
	}
	return review.Response
}

func TestServerMutatesPod(t *testing.T) {
	sa := roleServiceAccount("analytics", "reporter")
	url, client := testServer(t, NewFakeServiceAccountGetter(sa), WithRegion("eu-west-1"))

	pod := testPod("reporter")
	resp, data := post(t, client, url+MutatePath, "application/json", reviewFor(t, admissionv1.Create, "analytics", pod))
	r := decodeReview(t, resp, data)

	if r.UID != "7d3c1f9e-2b5a-4c8d-9e6f-0a1b2c3d4e5f" {
		t.Errorf("uid = %q, not echoed", r.UID)
	}
	if r.PatchType == nil || *r.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("patchType = %v", r.PatchType)
	}
	want, err := BuildPatch(pod, sa, WithRegion("eu-west-1"))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	if !jsonEqual(t, wantJSON, r.Patch) {
		t.Errorf("patch = %s\nwant %s", r.Patch, wantJSON)
	}
	patched := applyPatch(t, pod, r.Patch)
	if env := patched.Spec.Containers[0].Env; len(env) != 4 || env[2].Value != sa.Annotations["eks.amazonaws.com/role-arn"] {
		t.Errorf("patched env = %+v", env)
	}
}

func TestServerContentType(t *testing.T) {
	url, client := testServer(t, NewFakeServiceAccountGetter())
	body := reviewFor(t, admissionv1.Create, "analytics", testPod("reporter"))

	for _, ct := range []string{"text/plain", "", "application/json-patch+json"} {
		resp, data := post(t, client, url+MutatePath, ct, body)
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("Content-Type %q: status %d, want 415", ct, resp.StatusCode)
		}
		if !strings.Contains(string(data), "Invalid Content-Type, expected `application/json`") {
			t.Errorf("Content-Type %q: body %q", ct, data)
		}
	}
	resp, data := post(t, client, url+MutatePath, "application/json; charset=utf-8", body)
	decodeReview(t, resp, data)
}

func TestServerGarbageBody(t *testing.T) {
	url, client := testServer(t, NewFakeServiceAccountGetter())
	for _, body := range []string{"{not json", `{"request": 7}`, "{}"} {
		resp, data := post(t, client, url+MutatePath, "application/json", []byte(body))
		r := decodeReview(t, resp, data)
		if r.Result == nil || r.Result.Message == "" {
			t.Errorf("body %q: no result message in %s", body, data)
		}
		if r.Patch != nil {
			t.Errorf("body %q: unexpected patch", body)
		}
	}
}

func TestServerGarbagePod(t *testing.T) {
	url, client := testServer(t, NewFakeServiceAccountGetter(roleServiceAccount("analytics", "reporter")))
	body := reviewFor(t, admissionv1.Create, "analytics", map[string]any{"spec": "not a pod spec"})
	resp, data := post(t, client, url+MutatePath, "application/json", body)
	r := decodeReview(t, resp, data)
	if r.Patch != nil || r.Result == nil || !strings.Contains(r.Result.Message, "decode pod") {
		t.Errorf("response = %s", data)
	}
}

func TestServerIgnoresOtherRequests(t *testing.T) {
	url, client := testServer(t, NewFakeServiceAccountGetter(roleServiceAccount("analytics", "reporter")))
	pod := testPod("reporter")

	for _, op := range []admissionv1.Operation{admissionv1.Update, admissionv1.Delete, admissionv1.Connect} {
		resp, data := post(t, client, url+MutatePath, "application/json", reviewFor(t, op, "analytics", pod))
		if r := decodeReview(t, resp, data); r.Patch != nil || r.PatchType != nil {
			t.Errorf("%s: got a patch", op)
		}
	}

	// A CREATE of something other than a pod, e.g. pods/eviction or a
	// ConfigMap, is not ours either.
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(reviewFor(t, admissionv1.Create, "analytics", pod), &review); err != nil {
		t.Fatal(err)
	}
	review.Request.SubResource = "eviction"
	body, _ := json.Marshal(review)
	resp, data := post(t, client, url+MutatePath, "application/json", body)
	if r := decodeReview(t, resp, data); r.Patch != nil {
		t.Errorf("pods/eviction: got a patch")
	}
	review.Request.SubResource = ""
	review.Request.Resource = metav1.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	body, _ = json.Marshal(review)
	resp, data = post(t, client, url+MutatePath, "application/json", body)
	if r := decodeReview(t, resp, data); r.Patch != nil {
		t.Errorf("configmaps: got a patch")
	}
}

func TestServerServiceAccountMissing(t *testing.T) {
	getter := NewFakeServiceAccountGetter(roleServiceAccount("other-namespace", "reporter"))
	url, client := testServer(t, getter)

	resp, data := post(t, client, url+MutatePath, "application/json", reviewFor(t, admissionv1.Create, "analytics", testPod("reporter")))
	if r := decodeReview(t, resp, data); r.Patch != nil || r.Result != nil {
		t.Errorf("missing service account: response %s", data)
	}

	getter.Err = errors.New("apiserver unreachable")
	resp, data = post(t, client, url+MutatePath, "application/json", reviewFor(t, admissionv1.Create, "other-namespace", testPod("reporter")))
	if r := decodeReview(t, resp, data); r.Patch != nil {
		t.Errorf("failing lookup: response %s", data)
	}
}

func TestServerServiceAccountWithoutRole(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "analytics"}}
	url, client := testServer(t, NewFakeServiceAccountGetter(sa))
	resp, data := post(t, client, url+MutatePath, "application/json", reviewFor(t, admissionv1.Create, "analytics", testPod("default")))
	if r := decodeReview(t, resp, data); r.Patch != nil {
		t.Errorf("service account without role: response %s", data)
	}
}

// The namespace comes from the request, not the pod, which the apiserver
// may send without one.
func TestServerUsesRequestNamespace(t *testing.T) {
	url, client := testServer(t, NewFakeServiceAccountGetter(roleServiceAccount("analytics", "reporter")))
	pod := testPod("reporter")
	pod.Namespace = "somewhere-else"
	resp, data := post(t, client, url+MutatePath, "application/json", reviewFor(t, admissionv1.Create, "analytics", pod))
	if r := decodeReview(t, resp, data); r.Patch == nil {
		t.Errorf("pod not mutated: %s", data)
	}
}

func TestServerHealthz(t *testing.T) {
	url, client := testServer(t, NewFakeServiceAccountGetter())
	resp, err := client.Get(url + HealthzPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("healthz = %d %q", resp.StatusCode, body)
	}
}

// End to end with the informer cache: the service account appears after
// the review arrives, within the grace period.
func TestServerWaitsForLateServiceAccount(t *testing.T) {
	client := fake.NewClientset()
	c := startedCache(t, client, WithGracePeriod(3*time.Second))
	url, httpClient := testServer(t, c)
	createLater(t, client, roleServiceAccount("analytics", "reporter"), 300*time.Millisecond)

	resp, data := post(t, httpClient, url+MutatePath, "application/json", reviewFor(t, admissionv1.Create, "analytics", testPod("reporter")))
	if r := decodeReview(t, resp, data); r.Patch == nil {
		t.Errorf("late service account: pod not mutated: %s", data)
	}
}

func TestNewServerValidates(t *testing.T) {
	cert, _ := testCert(t)
	good := &tls.Config{Certificates: []tls.Certificate{cert}}
	if _, err := NewServer(nil, NewFakeServiceAccountGetter(), good); err != nil {
		t.Errorf("nil mutator should mean defaults: %v", err)
	}
	if _, err := NewServer(nil, nil, good); err == nil {
		t.Error("nil getter accepted")
	}
	if _, err := NewServer(nil, NewFakeServiceAccountGetter(), nil); err == nil {
		t.Error("nil tls config accepted")
	}
	if _, err := NewServer(nil, NewFakeServiceAccountGetter(), &tls.Config{}); err == nil {
		t.Error("tls config without certificate accepted")
	}
}

func TestServeReturnsListenerErrors(t *testing.T) {
	cert, _ := testCert(t)
	srv, err := NewServer(nil, NewFakeServiceAccountGetter(), &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := srv.Serve(context.Background(), l); err == nil {
		t.Fatal("Serve on a closed listener returned nil")
	}
}

func TestServerPublishesCABeforeAdmitting(t *testing.T) {
	client := fake.NewClientset()
	pub, err := NewCAPublisher(client, []byte(testCAPEM), WithCAConfigMapName("emulator-ca"))
	if err != nil {
		t.Fatal(err)
	}
	emulator := WithEmulator(EmulatorConfig{EndpointURL: "https://irsa-local.irsa-local.svc:8443", CAConfigMap: "emulator-ca"})
	url, httpClient := testServerWith(t, NewFakeServiceAccountGetter(roleServiceAccount("analytics", "reporter"), roleServiceAccount("dry", "reporter")),
		[]Option{emulator}, []ServerOption{WithCAPublisher(pub)})

	resp, data := post(t, httpClient, url+MutatePath, "application/json", reviewFor(t, admissionv1.Create, "analytics", testPod("reporter")))
	if r := decodeReview(t, resp, data); r.Patch == nil {
		t.Fatalf("not mutated: %s", data)
	}
	// Synchronous: no waiting needed.
	cm, err := client.CoreV1().ConfigMaps("analytics").Get(context.Background(), "emulator-ca", metav1.GetOptions{})
	if err != nil || cm.Data[CAKey] != testCAPEM {
		t.Fatalf("ca configmap after admission: %+v, %v", cm, err)
	}

	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(reviewFor(t, admissionv1.Create, "dry", testPod("reporter")), &review); err != nil {
		t.Fatal(err)
	}
	dryRun := true
	review.Request.DryRun = &dryRun
	body, _ := json.Marshal(review)
	resp, data = post(t, httpClient, url+MutatePath, "application/json", body)
	if r := decodeReview(t, resp, data); r.Patch == nil {
		t.Fatalf("dry run not mutated: %s", data)
	}
	if _, err := client.CoreV1().ConfigMaps("dry").Get(context.Background(), "emulator-ca", metav1.GetOptions{}); err == nil {
		t.Error("published for a dry-run request")
	}
}

func TestNewServerRejectsMismatchedPublisher(t *testing.T) {
	cert, _ := testCert(t)
	pub, err := NewCAPublisher(fake.NewClientset(), []byte(testCAPEM))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMutator(WithEmulator(EmulatorConfig{EndpointURL: "https://emulator:8443", CAConfigMap: "other-name"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewServer(m, NewFakeServiceAccountGetter(), &tls.Config{Certificates: []tls.Certificate{cert}}, WithCAPublisher(pub)); err == nil {
		t.Fatal("mismatched ConfigMap names accepted")
	}
}
