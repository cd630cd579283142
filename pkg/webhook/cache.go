package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// ErrServiceAccountNotFound is wrapped by ServiceAccountGetter
// implementations when the service account does not exist (in time).
var ErrServiceAccountNotFound = errors.New("service account not found")

// ServiceAccountGetter looks up the service account of a pod under admission.
type ServiceAccountGetter interface {
	// Get returns the service account or an error wrapping
	// ErrServiceAccountNotFound. The result must not be modified.
	Get(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
}

const (
	// DefaultGracePeriod is how long Get waits for a service account missing
	// from the cache. Upstream defaults to 0, which leaves a pod created
	// right after its service account unmutated; tests do exactly that.
	DefaultGracePeriod = 3 * time.Second
	// DefaultResyncPeriod is upstream's informer resync period.
	DefaultResyncPeriod = 60 * time.Second

	// Upstream's limits for direct reads: 10 per second, burst 20.
	directGetQPS   = 10
	directGetBurst = 20
	// directGetInterval spaces the direct reads of one waiting request.
	directGetInterval = 250 * time.Millisecond
)

// CacheOption configures a ServiceAccountCache.
type CacheOption interface {
	applyCache(*cacheConfig)
}

type cacheOption func(*cacheConfig)

func (f cacheOption) applyCache(c *cacheConfig) { f(c) }

type cacheConfig struct {
	annotationPrefix string
	gracePeriod      time.Duration
	resyncPeriod     time.Duration
	logger           *slog.Logger
}

func (o PrefixOption) applyCache(c *cacheConfig) {
	if o.prefix != "" {
		c.annotationPrefix = o.prefix
	}
}

func (o LoggerOption) applyCache(c *cacheConfig) { c.logger = o.logger }

// WithGracePeriod sets how long Get waits for a missing service account; 0
// gives upstream's default behaviour of not waiting at all.
func WithGracePeriod(d time.Duration) CacheOption {
	return cacheOption(func(c *cacheConfig) { c.gracePeriod = max(d, 0) })
}

// WithResyncPeriod sets the informer resync period.
func WithResyncPeriod(d time.Duration) CacheOption {
	return cacheOption(func(c *cacheConfig) { c.resyncPeriod = d })
}

// ServiceAccountCache is a ServiceAccountGetter backed by a shared informer.
// It keeps only each service account's identity and the annotations under
// the annotation prefix, which is all the mutation reads.
type ServiceAccountCache struct {
	client   kubernetes.Interface
	cfg      cacheConfig
	factory  informers.SharedInformerFactory
	informer cache.SharedIndexInformer
	lister   corelisters.ServiceAccountLister
	limiter  *rate.Limiter

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever the cache gains an object
}

var _ ServiceAccountGetter = (*ServiceAccountCache)(nil)

// NewServiceAccountCache builds the cache; call Start to fill it. Get works
// before Start too, through the direct reads of the grace period.
func NewServiceAccountCache(client kubernetes.Interface, opts ...CacheOption) (*ServiceAccountCache, error) {
	cfg := cacheConfig{
		annotationPrefix: DefaultAnnotationPrefix,
		gracePeriod:      DefaultGracePeriod,
		resyncPeriod:     DefaultResyncPeriod,
		logger:           discardLogger,
	}
	for _, o := range opts {
		if o != nil {
			o.applyCache(&cfg)
		}
	}
	factory := informers.NewSharedInformerFactory(client, cfg.resyncPeriod)
	saInformer := factory.Core().V1().ServiceAccounts()
	c := &ServiceAccountCache{
		client:   client,
		cfg:      cfg,
		factory:  factory,
		informer: saInformer.Informer(),
		lister:   saInformer.Lister(),
		limiter:  rate.NewLimiter(directGetQPS, directGetBurst),
		changed:  make(chan struct{}),
	}
	if err := c.informer.SetTransform(c.strip); err != nil {
		return nil, fmt.Errorf("set service account transform: %w", err)
	}
	_, err := c.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.signal() },
		UpdateFunc: func(any, any) { c.signal() },
	})
	if err != nil {
		return nil, fmt.Errorf("add service account handler: %w", err)
	}
	return c, nil
}

// Start runs the informer until ctx ends and waits for its first sync.
func (c *ServiceAccountCache) Start(ctx context.Context) error {
	c.factory.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		c.factory.Shutdown()
	}()
	if !cache.WaitForCacheSync(ctx.Done(), c.informer.HasSynced) {
		return fmt.Errorf("sync service account cache: %w", context.Cause(ctx))
	}
	return nil
}

// Get returns the cached service account. When it is missing, Get waits up
// to the grace period for the informer to deliver it, meanwhile reading it
// directly from the API server (rate limited), since a pod is often created
// a moment after its service account.
func (c *ServiceAccountCache) Get(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	if name == "" {
		return nil, fmt.Errorf("get service account %s/: %w", namespace, ErrServiceAccountNotFound)
	}
	if sa := c.cached(namespace, name); sa != nil {
		return sa, nil
	}
	if c.cfg.gracePeriod <= 0 {
		return nil, fmt.Errorf("get service account %s/%s: %w", namespace, name, ErrServiceAccountNotFound)
	}

	waitCtx, cancel := context.WithTimeout(ctx, c.cfg.gracePeriod)
	defer cancel()
	var nextGet time.Time
	for {
		// Take the channel before looking, so an object arriving in between
		// still wakes us.
		changed := c.changedChan()
		if sa := c.cached(namespace, name); sa != nil {
			return sa, nil
		}
		if !time.Now().Before(nextGet) {
			nextGet = time.Now().Add(directGetInterval)
			sa, err := c.fetch(waitCtx, namespace, name)
			if err == nil {
				return sa, nil
			}
			if !apierrors.IsNotFound(err) && waitCtx.Err() == nil {
				c.cfg.logger.Debug("direct service account read failed", "namespace", namespace, "name", name, "error", err)
			}
		}
		timer := time.NewTimer(time.Until(nextGet))
		select {
		case <-changed:
		case <-timer.C:
		case <-waitCtx.Done():
			timer.Stop()
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("get service account %s/%s: %w", namespace, name, err)
			}
			c.cfg.logger.Warn("service account not found within the grace period; pod left unmutated",
				"namespace", namespace, "name", name, "gracePeriod", c.cfg.gracePeriod)
			return nil, fmt.Errorf("get service account %s/%s within %s: %w", namespace, name, c.cfg.gracePeriod, ErrServiceAccountNotFound)
		}
		timer.Stop()
	}
}

func (c *ServiceAccountCache) cached(namespace, name string) *corev1.ServiceAccount {
	sa, err := c.lister.ServiceAccounts(namespace).Get(name)
	if err != nil {
		return nil
	}
	return sa
}

func (c *ServiceAccountCache) fetch(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	// Wait fails at once if the next token comes after the deadline; the
	// informer may still deliver the object before then.
	if err := c.limiter.Wait(ctx); err != nil {
		return nil, fmt.Errorf("wait for read budget: %w", err)
	}
	sa, err := c.client.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read service account: %w", err)
	}
	stripped, _ := c.strip(sa)
	return stripped.(*corev1.ServiceAccount), nil
}

func (c *ServiceAccountCache) changedChan() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

func (c *ServiceAccountCache) signal() {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.changed)
	c.changed = make(chan struct{})
}

// strip is the informer transform: it drops secrets, labels, managed fields
// and unrelated annotations, which can dwarf what the mutation needs.
func (c *ServiceAccountCache) strip(obj any) (any, error) {
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok {
		return obj, nil
	}
	prefix := c.cfg.annotationPrefix + "/"
	var annotations map[string]string
	for k, v := range sa.Annotations {
		if strings.HasPrefix(k, prefix) {
			if annotations == nil {
				annotations = map[string]string{}
			}
			annotations[k] = v
		}
	}
	return &corev1.ServiceAccount{
		TypeMeta: sa.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:            sa.Name,
			Namespace:       sa.Namespace,
			UID:             sa.UID,
			ResourceVersion: sa.ResourceVersion,
			Annotations:     annotations,
		},
	}, nil
}
