package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// PublisherOption configures a CAPublisher.
type PublisherOption interface {
	applyPublisher(*publisherConfig)
}

type publisherOption func(*publisherConfig)

func (f publisherOption) applyPublisher(c *publisherConfig) { f(c) }

type publisherConfig struct {
	name   string
	logger *slog.Logger
}

func (o LoggerOption) applyPublisher(c *publisherConfig) { c.logger = o.logger }

// WithCAConfigMapName sets the ConfigMap name; it must match
// EmulatorConfig.CAConfigMap. Defaults to DefaultCAConfigMap.
func WithCAConfigMapName(name string) PublisherOption {
	return publisherOption(func(c *publisherConfig) {
		if name != "" {
			c.name = name
		}
	})
}

// CAPublisher keeps a ConfigMap holding the emulator's CA bundle (key
// ca.crt) in every namespace, the way kube-controller-manager keeps
// kube-root-ca.crt: created when a namespace appears, restored when edited
// or deleted. Mutated pods mount it to trust the https endpoint.
type CAPublisher struct {
	client kubernetes.Interface
	pem    string
	cfg    publisherConfig

	factory  informers.SharedInformerFactory
	nsLister corelisters.NamespaceLister
	cmLister corelisters.ConfigMapLister
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[string]
	// decided, when set (by tests), is called with each namespace once
	// its sync succeeded.
	decided func(namespace string)
}

// NewCAPublisher returns a publisher of caPEM; call Run to start it.
func NewCAPublisher(client kubernetes.Interface, caPEM []byte, opts ...PublisherOption) (*CAPublisher, error) {
	if len(caPEM) == 0 {
		return nil, errors.New("create ca publisher: ca bundle is empty")
	}
	cfg := publisherConfig{name: DefaultCAConfigMap, logger: discardLogger}
	for _, o := range opts {
		if o != nil {
			o.applyPublisher(&cfg)
		}
	}
	p := &CAPublisher{
		client: client,
		pem:    string(caPEM),
		cfg:    cfg,
		// Only our ConfigMaps are watched, not every ConfigMap in the cluster.
		factory: informers.NewSharedInformerFactoryWithOptions(client, 0,
			informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.FieldSelector = fields.OneTermEqualSelector("metadata.name", cfg.name).String()
			})),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "irsa-local-ca-publisher"}),
	}
	nsInformer := p.factory.Core().V1().Namespaces()
	cmInformer := p.factory.Core().V1().ConfigMaps()
	p.nsLister, p.cmLister = nsInformer.Lister(), cmInformer.Lister()
	p.synced = []cache.InformerSynced{nsInformer.Informer().HasSynced, cmInformer.Informer().HasSynced}

	enqueueNamespace := func(obj any) {
		if ns, ok := obj.(*corev1.Namespace); ok {
			p.queue.Add(ns.Name)
		}
	}
	if _, err := nsInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueueNamespace,
		UpdateFunc: func(_, obj any) { enqueueNamespace(obj) },
	}); err != nil {
		return nil, fmt.Errorf("add namespace handler: %w", err)
	}
	enqueueConfigMap := func(obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		// The field selector is advisory to some clients (fakes); check.
		if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Name == p.cfg.name {
			p.queue.Add(cm.Namespace)
		}
	}
	if _, err := cmInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { enqueueConfigMap(obj) },
		DeleteFunc: enqueueConfigMap,
	}); err != nil {
		return nil, fmt.Errorf("add configmap handler: %w", err)
	}
	return p, nil
}

// Name is the ConfigMap name the publisher maintains.
func (p *CAPublisher) Name() string { return p.cfg.name }

// Run publishes to every namespace until ctx ends. It may be called once.
func (p *CAPublisher) Run(ctx context.Context) error {
	defer p.queue.ShutDown()
	p.factory.Start(ctx.Done())
	defer p.factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), p.synced...) {
		// Only a stop ends the wait early: asked to stop before the caches
		// synced (a webhook stopped moments after it started, or on a
		// loaded machine) is a clean shutdown, not a failure.
		return nil
	}

	var wg sync.WaitGroup
	wg.Go(func() {
		for p.processNext(ctx) {
		}
	})
	<-ctx.Done()
	p.queue.ShutDown()
	wg.Wait()
	return nil
}

func (p *CAPublisher) processNext(ctx context.Context) bool {
	ns, shutdown := p.queue.Get()
	if shutdown {
		return false
	}
	defer p.queue.Done(ns)
	if err := p.sync(ctx, ns); err != nil {
		p.cfg.logger.Warn("cannot publish ca bundle; retrying", "namespace", ns, "error", err)
		p.queue.AddRateLimited(ns)
		return true
	}
	p.queue.Forget(ns)
	if p.decided != nil {
		p.decided(ns)
	}
	return true
}

func (p *CAPublisher) sync(ctx context.Context, namespace string) error {
	ns, err := p.nsLister.Get(namespace)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %s: %w", namespace, err)
	}
	if ns.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	return p.Ensure(ctx, namespace)
}

// Ensure makes the ConfigMap in namespace hold exactly the CA bundle. It
// works without Run, which lets a caller publish synchronously before it
// depends on the ConfigMap.
func (p *CAPublisher) Ensure(ctx context.Context, namespace string) error {
	if cm, err := p.cmLister.ConfigMaps(namespace).Get(p.cfg.name); err == nil && p.current(cm) {
		return nil
	}
	// The lister may lag our own writes; decide on the live object.
	cms := p.client.CoreV1().ConfigMaps(namespace)
	cm, err := cms.Get(ctx, p.cfg.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = cms.Create(ctx, p.configMap(namespace), metav1.CreateOptions{})
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("create configmap %s/%s: %w", namespace, p.cfg.name, err)
		}
		p.cfg.logger.Debug("published ca bundle", "namespace", namespace, "configMap", p.cfg.name)
		return nil
	case err != nil:
		return fmt.Errorf("get configmap %s/%s: %w", namespace, p.cfg.name, err)
	case p.current(cm):
		return nil
	}
	cm = cm.DeepCopy()
	cm.Data = map[string]string{CAKey: p.pem}
	cm.BinaryData = nil
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update configmap %s/%s: %w", namespace, p.cfg.name, err)
	}
	p.cfg.logger.Debug("restored ca bundle", "namespace", namespace, "configMap", p.cfg.name)
	return nil
}

func (p *CAPublisher) current(cm *corev1.ConfigMap) bool {
	return len(cm.Data) == 1 && cm.Data[CAKey] == p.pem && len(cm.BinaryData) == 0
}

func (p *CAPublisher) configMap(namespace string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:      p.cfg.name,
			Namespace: namespace,
			Labels:    map[string]string{ManagedByLabel: ManagedBy},
			Annotations: map[string]string{
				"kubernetes.io/description": "CA bundle of the local AWS endpoint emulator. " +
					"Pods mutated by the irsa-local webhook trust it through AWS_CA_BUNDLE.",
			},
		},
		Data: map[string]string{CAKey: p.pem},
	}
}
