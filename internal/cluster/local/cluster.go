package local

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"

	"github.com/irsa-local/irsa-local/internal/assets"
	"github.com/irsa-local/irsa-local/internal/fsutil"
	"github.com/irsa-local/irsa-local/internal/proc"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// pollInterval is how often readiness endpoints are asked while a component
// starts; start-up is measured in seconds, so a short interval matters.
const pollInterval = 50 * time.Millisecond

// Cluster is a running control plane.
type Cluster struct {
	plan  plan
	opts  options
	caPEM []byte
	admin clientCert

	mu      sync.Mutex
	procs   []*proc.Process
	stopped bool
}

// Start runs etcd, kube-apiserver and kube-controller-manager and returns
// once the apiserver's /readyz and the controller-manager's /healthz answer
// ok, the latter listing its controllers. Processes left running in cfg.Dir by an owner that was killed are
// stopped first (see the package documentation). If any step fails, what
// already started is stopped again, and the error is one line naming the
// component, the reason and its log file.
func Start(ctx context.Context, cfg Config, opts ...Option) (_ *Cluster, retErr error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt.apply(&o); err != nil {
			return nil, err
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolve cluster directory: %w", err)
	}
	cfg.Dir = dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	c := &Cluster{plan: plan{cfg: cfg, layout: layout{dir: dir}}, opts: o}
	if err := c.resolveBinaries(); err != nil {
		return nil, err
	}
	b := c.plan.cfg.Binaries
	binaries := map[string]string{Etcd: b.Etcd, KubeAPIServer: b.KubeAPIServer, KubeControllerManager: b.KubeControllerManager}
	for i := len(components) - 1; i >= 0; i-- {
		name := components[i]
		pid, err := proc.StopStale(ctx, c.plan.layout.pid(name), c.plan.layout.dir, name, binaries[name], o.stopGrace)
		if err != nil {
			return nil, err
		}
		if pid != 0 {
			o.logger.Warn("stopped a component left running by an earlier owner", "component", name, "pid", pid)
		}
	}
	if err := c.pickPorts(); err != nil {
		return nil, err
	}
	if err := c.preparePKI(); err != nil {
		return nil, err
	}

	defer func() {
		if retErr != nil {
			_ = c.Stop(context.WithoutCancel(ctx))
		}
	}()
	if err := c.startComponent(ctx, Etcd, binaries[Etcd], c.plan.etcdArgs(), c.etcdReady); err != nil {
		return nil, err
	}
	if err := c.startComponent(ctx, KubeAPIServer, binaries[KubeAPIServer], c.plan.apiServerArgs(), c.apiServerReady); err != nil {
		return nil, err
	}
	if err := c.startComponent(ctx, KubeControllerManager, binaries[KubeControllerManager], c.plan.controllerManagerArgs(), c.controllerManagerReady); err != nil {
		return nil, err
	}
	return c, nil
}

// resolveBinaries fills empty binary paths with assets.Find, whose error
// already says where it looked and how to get the binaries.
func (c *Cluster) resolveBinaries() error {
	b := &c.plan.cfg.Binaries
	for _, f := range []struct {
		name string
		path *string
	}{{Etcd, &b.Etcd}, {KubeAPIServer, &b.KubeAPIServer}, {KubeControllerManager, &b.KubeControllerManager}} {
		if *f.path != "" {
			continue
		}
		p, err := assets.Find(f.name)
		if err != nil {
			return fmt.Errorf("start %s: %w", f.name, err)
		}
		*f.path = p
	}
	return nil
}

// pickPorts checks the requested apiserver port and picks free ones for the
// rest. A port found free here can still be taken before the component binds
// it; that shows up as the component exiting during start-up.
func (c *Cluster) pickPorts() error {
	p := &c.plan.ports
	if port := c.plan.cfg.SecurePort; port != 0 {
		l, err := net.Listen("tcp", hostPort(port))
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return fmt.Errorf("start %s: port %d on %s is in use by another program (find it with: ss -ltnp 'sport = :%d'); stop it or choose another port", KubeAPIServer, port, loopback, port)
			}
			return fmt.Errorf("start %s: check port %d: %w", KubeAPIServer, port, err)
		}
		l.Close()
		p.APIServer = port
	}
	free := []*int{&p.EtcdClient, &p.EtcdPeer, &p.ControllerManager}
	if p.APIServer == 0 {
		free = append(free, &p.APIServer)
	}
	// Hold every listener until all are picked, so no two are the same.
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for _, port := range free {
		l, err := net.Listen("tcp", hostPort(0))
		if err != nil {
			return fmt.Errorf("find a free port on %s: %w", loopback, err)
		}
		held = append(held, l)
		*port = l.Addr().(*net.TCPAddr).Port
	}
	return nil
}

// preparePKI issues the serving certificates, the client CA and the two
// client identities, and writes both kubeconfigs.
func (c *Cluster) preparePKI() error {
	l := c.plan.layout
	if err := os.MkdirAll(l.pki(), 0o700); err != nil {
		return fmt.Errorf("create cluster PKI directory: %w", err)
	}
	ca := c.plan.cfg.ServingCA
	if ca == nil {
		var err error
		if ca, err = issuer.LoadOrCreateCA(l.ownServingCA(), "irsa-local cluster CA"); err != nil {
			return fmt.Errorf("prepare serving CA: %w", err)
		}
	}
	c.caPEM = ca.CertPEM
	c.plan.servingCAFile = ca.CertFile
	if c.plan.servingCAFile == "" {
		// A CA made in memory: the controller-manager needs it as a file.
		c.plan.servingCAFile = filepath.Join(l.pki(), "serving-ca.crt")
		if err := fsutil.WriteFileAtomic(c.plan.servingCAFile, ca.CertPEM, 0o644); err != nil {
			return fmt.Errorf("write serving CA: %w", err)
		}
	}
	if _, err := ca.Leaf(l.pki(), KubeAPIServer, c.plan.apiServerHosts()); err != nil {
		return fmt.Errorf("issue %s serving certificate: %w", KubeAPIServer, err)
	}
	if _, err := ca.Leaf(l.pki(), KubeControllerManager, []string{loopback, "localhost"}); err != nil {
		return fmt.Errorf("issue %s serving certificate: %w", KubeControllerManager, err)
	}
	clientCA, err := issuer.LoadOrCreateCA(l.clientCA(), "irsa-local cluster client CA")
	if err != nil {
		return fmt.Errorf("prepare client CA: %w", err)
	}
	if c.admin, err = issueClientCert(clientCA, adminUser, mastersGroup); err != nil {
		return err
	}
	kcm, err := issueClientCert(clientCA, controllerManagerUser, mastersGroup)
	if err != nil {
		return err
	}
	server, name := c.plan.server(), c.plan.cfg.ContextName
	if err := writeKubeconfig(l.kubeconfig(), name, server, c.caPEM, c.admin); err != nil {
		return err
	}
	return writeKubeconfig(l.kcmKubeconfig(), name, server, c.caPEM, kcm)
}

// startComponent starts one process and waits until ready reports nil, the
// process exits, or the start timeout passes.
func (c *Cluster) startComponent(ctx context.Context, name, binary string, args []string, ready func(context.Context) error) error {
	args = append(args, c.opts.extraArgs[name]...)
	start := time.Now()
	p, err := startProcess(c.plan.layout, name, binary, args)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	waitCtx, cancel := context.WithTimeout(ctx, c.opts.startTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var lastErr error
	for {
		if lastErr = ready(waitCtx); lastErr == nil {
			c.opts.logger.Info("component ready", "component", name, "pid", p.PID(), "took", time.Since(start).Round(time.Millisecond))
			return nil
		}
		select {
		case <-p.Done():
			return p.ExitError()
		case <-waitCtx.Done():
			if p.Exited() {
				return p.ExitError()
			}
			if ctx.Err() != nil {
				return fmt.Errorf("start %s: %w (log: %s)", name, ctx.Err(), p.LogFile())
			}
			return fmt.Errorf("start %s: not ready after %s: %v (log: %s)", name, time.Since(start).Round(time.Second), oneLine(lastErr), p.LogFile())
		case <-tick.C:
		}
	}
}

func oneLine(err error) string {
	if err == nil {
		return "no answer"
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

var probeClient = &http.Client{Timeout: 2 * time.Second}

func (c *Cluster) etcdReady(ctx context.Context) error {
	body, err := get(ctx, probeClient, c.plan.etcdClientURL()+"/health")
	if err != nil {
		return err
	}
	if !strings.Contains(body, `"health":"true"`) {
		return fmt.Errorf("/health: %s", body)
	}
	return nil
}

func (c *Cluster) apiServerReady(ctx context.Context) error {
	client, err := c.adminHTTPClient()
	if err != nil {
		return err
	}
	_, err = get(ctx, client, c.plan.server()+"/readyz")
	return err
}

// controllerManagerReady waits for /healthz to answer ok and to list the
// serviceaccount controller's check. The controller-manager serves /healthz
// before it has reached the apiserver and built its controllers, and gives
// up ten seconds later if it cannot; a check per controller appears only
// once the controllers are built, so waiting for the one IRSA depends on
// means they really run.
func (c *Cluster) controllerManagerReady(ctx context.Context) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.caPEM)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer client.CloseIdleConnections()
	body, err := get(ctx, client, "https://"+hostPort(c.plan.ports.ControllerManager)+"/healthz?verbose")
	if err != nil {
		return err
	}
	if !strings.Contains(body, "[+]serviceaccount") {
		return errors.New("/healthz is ok but the controllers are not started yet")
	}
	return nil
}

// adminHTTPClient is a client with the admin's certificate that trusts the
// serving CA only.
func (c *Cluster) adminHTTPClient() (*http.Client, error) {
	rt, err := rest.TransportFor(c.RESTConfig())
	if err != nil {
		return nil, fmt.Errorf("build admin transport: %w", err)
	}
	return &http.Client{Transport: rt, Timeout: 2 * time.Second}, nil
}

// get returns the body of a 200 answer, or an error with the status and the
// first lines of any other answer (for /readyz, the failing checks).
func get(ctx context.Context, client *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		var failed []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "[-]") {
				failed = append(failed, line)
			}
		}
		if len(failed) == 0 {
			failed = []string{strings.TrimSpace(string(b))}
		}
		return "", fmt.Errorf("%s answered %s: %s", req.URL.Path, resp.Status, strings.Join(failed, "; "))
	}
	return string(b), nil
}

// Dir returns the cluster directory.
func (c *Cluster) Dir() string { return c.plan.layout.dir }

// Ports returns the ports the components listen on.
func (c *Cluster) Ports() Ports { return c.plan.ports }

// Server returns the apiserver's URL, https://127.0.0.1:<port>.
func (c *Cluster) Server() string { return c.plan.server() }

// Kubeconfig returns the path of the admin kubeconfig (user in
// system:masters, serving CA and credentials embedded).
func (c *Cluster) Kubeconfig() string { return c.plan.layout.kubeconfig() }

// CACertPEM returns the CA certificate the apiserver's serving certificate
// chains to.
func (c *Cluster) CACertPEM() []byte { return c.caPEM }

// RESTConfig returns a new admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return restConfig(c.plan.server(), c.caPEM, c.admin) }

// Status reports every component started, in start order. A component that
// crashed or was killed by someone else is reported as exited, with how it
// ended and its last log line.
func (c *Cluster) Status() []ComponentStatus {
	c.mu.Lock()
	procs := append([]*proc.Process(nil), c.procs...)
	c.mu.Unlock()
	out := make([]ComponentStatus, 0, len(procs))
	for _, p := range procs {
		out = append(out, p.Status())
	}
	return out
}

// Stop stops the components in reverse start order: SIGTERM, then SIGKILL
// after the grace period (WithStopGracePeriod). Every process is stopped
// even if stopping another failed, and every error is returned. Calling Stop
// again does nothing.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil
	}
	c.stopped = true
	procs := append([]*proc.Process(nil), c.procs...)
	c.mu.Unlock()
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		start := time.Now()
		if err := procs[i].Stop(ctx, c.opts.stopGrace); err != nil {
			errs = append(errs, err)
			continue
		}
		c.opts.logger.Info("component stopped", "component", procs[i].Name(), "took", time.Since(start).Round(time.Millisecond))
	}
	return errors.Join(errs...)
}
