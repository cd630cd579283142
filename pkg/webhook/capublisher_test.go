package webhook

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

const testCAPEM = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
}

func runPublisher(t *testing.T, client *fake.Clientset, opts ...PublisherOption) *CAPublisher {
	t.Helper()
	p, err := NewCAPublisher(client, []byte(testCAPEM), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return p
}

// eventually polls until the ConfigMap in namespace satisfies ok.
func eventually(t *testing.T, client *fake.Clientset, namespace, name string, ok func(*corev1.ConfigMap, error) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		cm, err := client.CoreV1().ConfigMaps(namespace).Get(context.Background(), name, metav1.GetOptions{})
		if ok(cm, err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("configmap %s/%s: condition not met; last %+v, %v", namespace, name, cm, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func published(cm *corev1.ConfigMap, err error) bool {
	return err == nil && cm.Data[CAKey] == testCAPEM && len(cm.Data) == 1
}

func TestCAPublisherPublishesEverywhere(t *testing.T) {
	client := fake.NewClientset(namespace("default"), namespace("analytics"))
	runPublisher(t, client)

	eventually(t, client, "default", DefaultCAConfigMap, published)
	eventually(t, client, "analytics", DefaultCAConfigMap, published)

	// A namespace added later gets it too.
	if _, err := client.CoreV1().Namespaces().Create(context.Background(), namespace("late"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, client, "late", DefaultCAConfigMap, published)
}

func TestCAPublisherRestoresEditsAndDeletes(t *testing.T) {
	client := fake.NewClientset(namespace("analytics"))
	runPublisher(t, client, WithCAConfigMapName("emulator-ca"))
	eventually(t, client, "analytics", "emulator-ca", published)

	ctx := context.Background()
	cm, err := client.CoreV1().ConfigMaps("analytics").Get(ctx, "emulator-ca", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data = map[string]string{CAKey: "tampered", "extra": "x"}
	if _, err := client.CoreV1().ConfigMaps("analytics").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, client, "analytics", "emulator-ca", published)

	if err := client.CoreV1().ConfigMaps("analytics").Delete(ctx, "emulator-ca", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, client, "analytics", "emulator-ca", published)
}

func TestCAPublisherSkipsTerminatingNamespaces(t *testing.T) {
	dying := namespace("dying")
	dying.Status.Phase = corev1.NamespaceTerminating
	client := fake.NewClientset(dying, namespace("alive"))
	p, err := NewCAPublisher(client, []byte(testCAPEM))
	if err != nil {
		t.Fatal(err)
	}
	decided := make(chan struct{})
	p.decided = func(ns string) {
		if ns == "dying" {
			close(decided)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	eventually(t, client, "alive", DefaultCAConfigMap, published)
	select {
	case <-decided:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminating namespace was never decided")
	}
	if _, err := client.CoreV1().ConfigMaps("dying").Get(context.Background(), DefaultCAConfigMap, metav1.GetOptions{}); err == nil {
		t.Error("published into a terminating namespace")
	}
}

func TestCAPublisherLeavesOtherConfigMaps(t *testing.T) {
	other := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "app-settings", Namespace: "analytics"},
		Data:       map[string]string{"mode": "batch"},
	}
	client := fake.NewClientset(namespace("analytics"), other)
	runPublisher(t, client)
	eventually(t, client, "analytics", DefaultCAConfigMap, published)
	eventually(t, client, "analytics", "app-settings", func(cm *corev1.ConfigMap, err error) bool {
		return err == nil && len(cm.Data) == 1 && cm.Data["mode"] == "batch"
	})
}

func TestCAPublisherEnsureWithoutRun(t *testing.T) {
	client := fake.NewClientset()
	p, err := NewCAPublisher(client, []byte(testCAPEM))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Ensure(ctx, "analytics"); err != nil {
		t.Fatal(err)
	}
	eventually(t, client, "analytics", DefaultCAConfigMap, published)
	// Idempotent.
	if err := p.Ensure(ctx, "analytics"); err != nil {
		t.Fatal(err)
	}
}

func TestNewCAPublisherRejectsEmptyBundle(t *testing.T) {
	if _, err := NewCAPublisher(fake.NewClientset(), nil); err == nil {
		t.Fatal("empty bundle accepted")
	}
}

// TestCAPublisherStoppedBeforeSyncIsClean: a publisher told to stop before
// its caches synced returns nil, so a webhook stopped right after it
// started does not report a failure.
func TestCAPublisherStoppedBeforeSyncIsClean(t *testing.T) {
	p, err := NewCAPublisher(fake.NewClientset(namespace("default")), []byte(testCAPEM))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Run(ctx); err != nil {
		t.Fatalf("Run stopped before sync: %v", err)
	}
}
