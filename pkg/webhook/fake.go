package webhook

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// FakeServiceAccountGetter is an in-memory ServiceAccountGetter for tests,
// here and in packages that embed the webhook.
type FakeServiceAccountGetter struct {
	mu  sync.Mutex
	sas map[string]*corev1.ServiceAccount
	// Err, when set, is returned by every Get.
	Err error
}

var _ ServiceAccountGetter = (*FakeServiceAccountGetter)(nil)

// NewFakeServiceAccountGetter returns a getter holding sas.
func NewFakeServiceAccountGetter(sas ...*corev1.ServiceAccount) *FakeServiceAccountGetter {
	f := &FakeServiceAccountGetter{sas: map[string]*corev1.ServiceAccount{}}
	for _, sa := range sas {
		f.Add(sa)
	}
	return f
}

// Add stores a copy of sa, replacing any with the same namespace and name.
func (f *FakeServiceAccountGetter) Add(sa *corev1.ServiceAccount) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sas[sa.Namespace+"/"+sa.Name] = sa.DeepCopy()
}

// Get implements ServiceAccountGetter.
func (f *FakeServiceAccountGetter) Get(_ context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return nil, f.Err
	}
	sa, ok := f.sas[namespace+"/"+name]
	if !ok {
		return nil, fmt.Errorf("get service account %s/%s: %w", namespace, name, ErrServiceAccountNotFound)
	}
	return sa, nil
}
