package webhook

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func testServiceAccount(namespace, name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: namespace,
			Labels:    map[string]string{"team": "data"},
			Annotations: map[string]string{
				"eks.amazonaws.com/role-arn":                       "arn:aws:iam::123456789012:role/" + name,
				"kubectl.kubernetes.io/last-applied-configuration": "{}",
			},
		},
		Secrets: []corev1.ObjectReference{{Name: name + "-token"}},
	}
}

func startedCache(t *testing.T, client *fake.Clientset, opts ...CacheOption) *ServiceAccountCache {
	t.Helper()
	c, err := NewServiceAccountCache(client, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

func createLater(t *testing.T, client *fake.Clientset, sa *corev1.ServiceAccount, after time.Duration) {
	t.Helper()
	go func() {
		time.Sleep(after)
		if _, err := client.CoreV1().ServiceAccounts(sa.Namespace).Create(context.Background(), sa, metav1.CreateOptions{}); err != nil {
			t.Errorf("create service account: %v", err)
		}
	}()
}

func TestCacheGetKeepsOnlyPrefixedAnnotations(t *testing.T) {
	client := fake.NewClientset(testServiceAccount("analytics", "reporter"))
	c := startedCache(t, client, WithGracePeriod(0))

	sa, err := c.Get(context.Background(), "analytics", "reporter")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/reporter"}
	if len(sa.Annotations) != 1 || sa.Annotations["eks.amazonaws.com/role-arn"] != want["eks.amazonaws.com/role-arn"] {
		t.Errorf("annotations = %v, want %v", sa.Annotations, want)
	}
	if sa.Labels != nil || sa.Secrets != nil {
		t.Errorf("cache kept fields the mutation does not need: labels %v, secrets %v", sa.Labels, sa.Secrets)
	}
}

func TestCacheCustomPrefix(t *testing.T) {
	sa := testServiceAccount("analytics", "reporter")
	sa.Annotations["irsa.example.com/role-arn"] = "arn:aws:iam::123456789012:role/custom"
	c := startedCache(t, fake.NewClientset(sa), WithGracePeriod(0), WithAnnotationPrefix("irsa.example.com"))

	got, err := c.Get(context.Background(), "analytics", "reporter")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Annotations) != 1 || got.Annotations["irsa.example.com/role-arn"] == "" {
		t.Errorf("annotations = %v, want only the irsa.example.com one", got.Annotations)
	}
}

func TestCacheCreatedWithinGracePeriod(t *testing.T) {
	client := fake.NewClientset()
	c := startedCache(t, client, WithGracePeriod(3*time.Second))
	createLater(t, client, testServiceAccount("analytics", "late"), 300*time.Millisecond)

	start := time.Now()
	sa, err := c.Get(context.Background(), "analytics", "late")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if sa.Name != "late" {
		t.Errorf("got %s", sa.Name)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("took %s, want well under the grace period", elapsed)
	}
}

// With direct reads failing, only the informer can deliver the object.
func TestCacheGraceWaitsForInformer(t *testing.T) {
	client := fake.NewClientset()
	var gets atomic.Int32
	client.PrependReactor("get", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
		gets.Add(1)
		return true, nil, apierrors.NewServiceUnavailable("apiserver is busy")
	})
	c := startedCache(t, client, WithGracePeriod(3*time.Second))
	createLater(t, client, testServiceAccount("analytics", "late"), 300*time.Millisecond)

	if _, err := c.Get(context.Background(), "analytics", "late"); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if gets.Load() == 0 {
		t.Errorf("no direct read was attempted while waiting")
	}
}

// Without a running informer, only the direct read can find the object.
func TestCacheGraceFallsBackToDirectRead(t *testing.T) {
	client := fake.NewClientset()
	c, err := NewServiceAccountCache(client, WithGracePeriod(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	createLater(t, client, testServiceAccount("analytics", "late"), 300*time.Millisecond)

	sa, err := c.Get(context.Background(), "analytics", "late")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if len(sa.Annotations) != 1 || sa.Secrets != nil {
		t.Errorf("direct read was not stripped like cached objects: %+v", sa)
	}
}

func TestCacheZeroGraceDoesNotWait(t *testing.T) {
	client := fake.NewClientset()
	c := startedCache(t, client, WithGracePeriod(0))
	createLater(t, client, testServiceAccount("analytics", "late"), 100*time.Millisecond)

	start := time.Now()
	_, err := c.Get(context.Background(), "analytics", "late")
	if !errors.Is(err, ErrServiceAccountNotFound) {
		t.Fatalf("Get error = %v, want ErrServiceAccountNotFound", err)
	}
	if elapsed := time.Since(start); elapsed > 50*time.Millisecond {
		t.Errorf("grace 0 waited %s", elapsed)
	}
}

func TestCacheNotFoundAfterGrace(t *testing.T) {
	c := startedCache(t, fake.NewClientset(), WithGracePeriod(400*time.Millisecond))

	start := time.Now()
	_, err := c.Get(context.Background(), "analytics", "missing")
	if !errors.Is(err, ErrServiceAccountNotFound) {
		t.Fatalf("Get error = %v, want ErrServiceAccountNotFound", err)
	}
	if elapsed := time.Since(start); elapsed < 400*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("gave up after %s, want about the 400ms grace period", elapsed)
	}
}

func TestCacheCallerCancellationEndsWait(t *testing.T) {
	c := startedCache(t, fake.NewClientset(), WithGracePeriod(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()

	_, err := c.Get(ctx, "analytics", "missing")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get error = %v, want the caller's deadline", err)
	}
}

func TestCacheDirectReadsAreRateLimited(t *testing.T) {
	client := fake.NewClientset()
	var gets atomic.Int32
	client.PrependReactor("get", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
		gets.Add(1)
		return false, nil, nil
	})
	c := startedCache(t, client, WithGracePeriod(time.Second))
	c.limiter = rate.NewLimiter(2, 1)

	done := make(chan struct{})
	for range 5 {
		go func() {
			_, _ = c.Get(context.Background(), "analytics", "missing")
			done <- struct{}{}
		}()
	}
	for range 5 {
		<-done
	}
	// Five waiters at 4 reads/s each would make about 20 reads; the shared
	// limiter allows its burst plus two per second.
	if n := gets.Load(); n > 4 {
		t.Errorf("%d direct reads in one second, want at most 4", n)
	}
}

func TestCacheForgetsDeletedServiceAccount(t *testing.T) {
	client := fake.NewClientset(testServiceAccount("analytics", "reporter"))
	c := startedCache(t, client, WithGracePeriod(0))
	if err := client.CoreV1().ServiceAccounts("analytics").Delete(context.Background(), "reporter", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := c.Get(context.Background(), "analytics", "reporter"); errors.Is(err, ErrServiceAccountNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("deleted service account still cached")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFakeServiceAccountGetter(t *testing.T) {
	f := NewFakeServiceAccountGetter(testServiceAccount("analytics", "reporter"))
	if _, err := f.Get(context.Background(), "analytics", "reporter"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get(context.Background(), "analytics", "other"); !errors.Is(err, ErrServiceAccountNotFound) {
		t.Fatalf("Get(other) error = %v", err)
	}
	f.Err = errors.New("boom")
	if _, err := f.Get(context.Background(), "analytics", "reporter"); err == nil {
		t.Fatal("Err was not returned")
	}
}
