package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
)

// RunConfig is what Run needs to serve a complete webhook.
type RunConfig struct {
	// Client reaches the apiserver whose pods are mutated. Required.
	Client kubernetes.Interface
	// Listener receives the apiserver's HTTPS calls; Run closes it. Binding
	// it first lets the caller register Configuration(WithURL(...)) with
	// the real port before, or while, Run starts.
	Listener net.Listener
	// TLSConfig carries the serving certificate. Required.
	TLSConfig *tls.Config
	// Options configure the mutation. A WithAnnotationPrefix here also
	// applies to the service-account cache.
	Options []Option
	// CacheOptions configure the service-account cache (grace period,
	// resync period).
	CacheOptions []CacheOption
	// CABundle, if set, is published to every namespace under the emulator's
	// CA ConfigMap name (DefaultCAConfigMap without WithEmulator).
	CABundle []byte
	// Logger receives every component's logs; nil discards them.
	Logger *slog.Logger
	// Ready, if set, is called once the cache has synced, just before the
	// server starts accepting.
	Ready func()
}

// Run starts the service-account cache, the CA publisher (if CABundle is
// set) and the HTTPS server, and blocks until ctx ends or one of them fails.
// It returns nil after a clean shutdown.
func Run(ctx context.Context, cfg RunConfig) error {
	if cfg.Client == nil || cfg.Listener == nil || cfg.TLSConfig == nil {
		if cfg.Listener != nil {
			_ = cfg.Listener.Close()
		}
		return errors.New("run webhook: Client, Listener and TLSConfig are required")
	}
	// Serve closes the listener too; this covers the failures before it.
	defer func() { _ = cfg.Listener.Close() }()

	logOpt := WithLogger(cfg.Logger)
	m, err := NewMutator(append([]Option{logOpt}, cfg.Options...)...)
	if err != nil {
		return fmt.Errorf("run webhook: %w", err)
	}
	cacheOpts := []CacheOption{logOpt}
	for _, o := range cfg.Options {
		if p, ok := o.(PrefixOption); ok {
			cacheOpts = append(cacheOpts, p)
		}
	}
	sas, err := NewServiceAccountCache(cfg.Client, append(cacheOpts, cfg.CacheOptions...)...)
	if err != nil {
		return fmt.Errorf("run webhook: %w", err)
	}

	var pub *CAPublisher
	if len(cfg.CABundle) > 0 {
		name := DefaultCAConfigMap
		if m.cfg.emulator != nil {
			name = m.cfg.emulator.caConfigMap
		}
		if pub, err = NewCAPublisher(cfg.Client, cfg.CABundle, WithCAConfigMapName(name), logOpt); err != nil {
			return fmt.Errorf("run webhook: %w", err)
		}
	}
	srv, err := NewServer(m, sas, cfg.TLSConfig, logOpt, WithCAPublisher(pub))
	if err != nil {
		return fmt.Errorf("run webhook: %w", err)
	}

	g, gctx := errgroup.WithContext(ctx)
	if pub != nil {
		g.Go(func() error { return pub.Run(gctx) })
	}
	g.Go(func() error {
		if err := sas.Start(gctx); err != nil {
			return err
		}
		if cfg.Ready != nil {
			cfg.Ready()
		}
		return srv.Serve(gctx, cfg.Listener)
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("run webhook: %w", err)
	}
	return nil
}
