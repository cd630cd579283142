package engine

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/irsa-local/irsa-local/internal/actions"
	"github.com/irsa-local/irsa-local/internal/backend"
	"github.com/irsa-local/irsa-local/internal/proc"
	"github.com/irsa-local/irsa-local/pkg/stsmock"
)

// Backend selects the AWS emulator that holds the data of the services
// the endpoint forwards (SQS, SNS, DynamoDB, Secrets Manager, SSM, KMS)
// after authorizing each call.
type Backend string

// Backends, as documented at package harness.
const (
	BackendNone          Backend = "none"
	BackendMoto          Backend = "moto"
	BackendAuto          Backend = "auto"
	BackendMotoContainer Backend = "container:moto"
	BackendLocalStack    Backend = "container:localstack"
)

// WithBackend is documented at harness.WithBackend.
func WithBackend(b Backend) Option {
	return optionFunc(func(o *options) error {
		switch b {
		case BackendNone, BackendMoto, BackendAuto, BackendMotoContainer, BackendLocalStack:
		default:
			return fmt.Errorf("unknown backend %q: want none, moto, auto, container:moto, container:localstack or a URL", b)
		}
		o.backend, o.backendURL = b, ""
		return nil
	})
}

// WithBackendURL is documented at harness.WithBackendURL.
func WithBackendURL(url string) Option {
	return optionFunc(func(o *options) error {
		if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
			return fmt.Errorf("invalid backend URL %q: want http(s)://host:port", url)
		}
		o.backend, o.backendURL = "", strings.TrimRight(url, "/")
		return nil
	})
}

// BackendInfo describes the backend of an environment.
type BackendInfo struct {
	// Kind is "moto", "container:moto", "container:localstack", "url" or
	// "none".
	Kind string `json:"kind"`
	URL  string `json:"url,omitempty"`
	// Services are the services forwarded to it.
	Services []string `json:"services,omitempty"`
	// Note says why there is none, when there is none.
	Note string `json:"note,omitempty"`
}

// noMotoNote is what an environment without moto_server says of the
// forwarded services.
var noMotoNote = "moto_server is not on PATH, so " + strings.Join(actions.Services(), ", ") +
	" answer NotImplemented; install it (pip install 'moto[server]') or choose another backend (docs/services.md)"

// startBackend starts or finds the backend, and returns the stsmock option
// that forwards to it (nil without one).
func (e *Env) startBackend(ctx context.Context) (stsmock.Option, error) {
	dir := e.layout.BackendDir()
	// A moto left running by a crashed owner of this directory goes first.
	if _, err := backend.StopStale(ctx, dir); err != nil {
		return nil, err
	}
	kind := e.opts.backend
	switch {
	case e.opts.backendURL != "":
		e.backendInfo = BackendInfo{Kind: "url", URL: e.opts.backendURL, Services: actions.Services()}
		e.step("Forwarding " + strings.Join(actions.Services(), ", ") + " to " + e.opts.backendURL)
		return e.backendOption(e.opts.backendURL), nil
	case kind == BackendNone || kind == "":
		e.backendInfo = BackendInfo{Kind: "none", Note: "started without a backend"}
		return nil, nil
	case kind == BackendMotoContainer || kind == BackendLocalStack:
		return e.startContainer(ctx, strings.TrimPrefix(string(kind), "container:"))
	}
	e.step("Starting the backend (moto_server)")
	host := e.cfg.IssuerHost
	port, err := freePort(host)
	if err != nil {
		return nil, err
	}
	m, err := backend.StartMoto(ctx, backend.MotoOptions{Dir: dir, Host: host, Port: port})
	if errors.Is(err, backend.ErrNoMoto) && kind == BackendAuto {
		e.backendInfo = BackendInfo{Kind: "none", Note: noMotoNote}
		e.step("No backend: " + noMotoNote)
		return nil, nil
	}
	if errors.Is(err, backend.ErrNoMoto) {
		return nil, fmt.Errorf("start the backend: %w; install it (pip install 'moto[server]')", err)
	}
	if err != nil {
		return nil, fmt.Errorf("start the backend: %w", err)
	}
	e.mu.Lock()
	e.moto = m
	e.mu.Unlock()
	e.backendInfo = BackendInfo{Kind: "moto", URL: m.URL(), Services: actions.Services()}
	return e.backendOption(m.URL()), nil
}

// startContainer runs the backend in a container, removing first any that
// a crashed run of this environment left.
func (e *Env) startContainer(ctx context.Context, kind string) (stsmock.Option, error) {
	e.step("Starting the backend (" + kind + " container)")
	if _, err := backend.StopStaleContainers(ctx, e.layout.Dir); err != nil {
		return nil, err
	}
	c, err := backend.StartContainer(ctx, backend.ContainerOptions{Kind: kind, Dir: e.layout.Dir})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.container = c
	e.mu.Unlock()
	e.backendInfo = BackendInfo{Kind: "container:" + kind, URL: c.URL(), Services: actions.Services()}
	return e.backendOption(c.URL()), nil
}

func (e *Env) backendOption(url string) stsmock.Option {
	return stsmock.WithBackend(stsmock.Backend{
		URL:   url,
		Reset: func(ctx context.Context) error { return backend.Reset(ctx, url) },
	})
}

// backendComponents reports the backend as a component: moto's process
// or container state (a crash as failed, with its last log line), or the
// URL in use.
func (e *Env) backendComponents(ctx context.Context) []Component {
	e.mu.Lock()
	m, ctr := e.moto, e.container
	e.mu.Unlock()
	switch {
	case ctr != nil:
		c := Component{Name: "backend", State: StateRunning, Listen: hostPort(ctr.URL())}
		if running, exit, last := ctr.State(ctx); !running {
			c.State = StateFailed
			c.Error = fmt.Sprintf("container %.12s stopped (%s); last log line: %s", ctr.ID(), exit, last)
		}
		return []Component{c}
	case m != nil:
		st := m.Status()
		c := Component{Name: "backend", State: StateRunning, Listen: hostPort(m.URL())}
		switch st.State {
		case proc.StateExited:
			c.State = StateFailed
			c.Error = fmt.Sprintf("moto_server exited (%s); last log line: %s (log: %s)", st.Exit, st.LastLogLine, st.LogFile)
		case proc.StateStopped:
			c.State = StateStopped
		}
		return []Component{c}
	case e.backendInfo.Kind == "url":
		return []Component{{Name: "backend", State: StateRunning, Listen: e.backendInfo.URL}}
	}
	return nil
}

// hostPort is the host:port of a URL, as components are listed.
func hostPort(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return u
}

// stopBackend stops the moto process or container the environment runs.
func (e *Env) stopBackend(ctx context.Context) error {
	e.mu.Lock()
	m, c := e.moto, e.container
	e.mu.Unlock()
	switch {
	case m != nil:
		return m.Stop(ctx)
	case c != nil:
		return c.Stop(ctx)
	}
	return nil
}
