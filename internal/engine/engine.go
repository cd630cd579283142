// Package engine starts, runs and stops an irsa-local environment: the
// OIDC issuer, the AWS endpoint, the backend, the cluster of the chosen
// mode and the pod identity webhook. It is what `irsa-local serve` runs,
// and it links no AWS SDK service client, so that the serving process
// carries only what it serves. Package harness is its public face for Go
// tests, adding the SDK-based helpers (AWS configurations, roles, Apply).
package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/irsa-local/irsa-local/internal/backend"
	"github.com/irsa-local/irsa-local/internal/cluster/existing"
	"github.com/irsa-local/irsa-local/internal/cluster/kind"
	"github.com/irsa-local/irsa-local/internal/cluster/local"
	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/pkg/issuer"
	"github.com/irsa-local/irsa-local/pkg/policy"
	"github.com/irsa-local/irsa-local/pkg/stsmock"
)

// Env is a running environment.
type Env struct {
	layout envdir.Layout
	cfg    envdir.Config
	opts   options
	lock   *envdir.Lock
	// removeDir is set when Start made the state directory, so Stop
	// removes it.
	removeDir bool

	ca        *issuer.CA
	issuerURL string
	handler   *issuer.Handler
	aws       *stsmock.Server
	awsURL    string
	awsTLSURL string
	provider  string

	cluster     *local.Cluster
	kind        *kind.Cluster
	existing    *existing.Cluster
	reach       existing.Reach
	nodeImage   string
	podAWSURL   string
	client      kubernetes.Interface
	stopWebhook context.CancelFunc
	webhookDone chan struct{}
	stopMonitor context.CancelFunc
	moto        *backend.Moto
	container   *backend.Container
	backendInfo BackendInfo

	mu         sync.Mutex
	keys       *issuer.KeySet
	components map[string]*Component
	servers    []*http.Server
	wg         sync.WaitGroup
	stopped    bool
}

// Start is documented at harness.Start.
func Start(ctx context.Context, opts ...Option) (_ *Env, retErr error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt.apply(&o); err != nil {
			return nil, err
		}
	}
	e := &Env{opts: o, components: map[string]*Component{}}
	if o.stateDir == "" {
		// No state directory given: a fresh one of this Env's own, so that a
		// test never meets another environment's state, and Stop removes it.
		dir, err := os.MkdirTemp("", "irsa-local-"+o.name+"-")
		if err != nil {
			return nil, fmt.Errorf("create a temporary state directory: %w", err)
		}
		e.layout, e.removeDir = envdir.Layout{Dir: dir}, true
	} else {
		dir, err := filepath.Abs(o.stateDir)
		if err != nil {
			return nil, fmt.Errorf("resolve state directory %s: %w", o.stateDir, err)
		}
		e.layout = envdir.Layout{Dir: dir}
	}
	defer func() {
		if retErr != nil {
			_ = e.Stop(context.WithoutCancel(ctx))
		}
	}()
	if err := envdir.Prepare(e.layout); err != nil {
		return nil, err
	}
	var err error
	e.lock, err = envdir.AcquireLock(e.layout.LockFile())
	if err != nil {
		return nil, err
	}
	if err := e.loadOrCreateConfig(); err != nil {
		return nil, err
	}
	if e.ca, err = issuer.LoadOrCreateCA(e.layout.PKIDir(), "irsa-local "+e.cfg.Name+" CA"); err != nil {
		return nil, err
	}
	if e.keys, err = issuer.LoadOrCreateKeys(e.layout.KeyDir()); err != nil {
		return nil, err
	}
	if e.cfg.Cluster == ClusterExisting {
		// The adopted cluster's issuer signs every token; irsa-local
		// serves none of its own.
		if err := e.connectExisting(ctx); err != nil {
			return nil, err
		}
	} else {
		e.step("Starting the OIDC issuer")
		if err := e.startIssuer(ctx); err != nil {
			return nil, err
		}
	}
	backendOpt, err := e.startBackend(ctx)
	if err != nil {
		return nil, err
	}
	e.step("Starting the AWS endpoint (IAM, STS, S3, EKS)")
	if err := e.startAWS(ctx, backendOpt); err != nil {
		return nil, err
	}
	if e.cfg.Cluster == ClusterLocal || e.cfg.Cluster == ClusterKind || e.cfg.Cluster == ClusterExisting {
		if e.cfg.Cluster == ClusterLocal {
			e.step("Starting etcd, kube-apiserver and kube-controller-manager")
		}
		if err := e.startCluster(ctx); err != nil {
			return nil, err
		}
		mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		e.stopMonitor = cancel
		e.wg.Add(1)
		go e.monitor(mctx)
	} else if e.moto != nil || e.container != nil {
		mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		e.stopMonitor = cancel
		e.wg.Add(1)
		go e.monitor(mctx)
	}
	if err := e.writeStatus(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Env) loadOrCreateConfig() error {
	cfg, err := envdir.LoadConfig(e.layout)
	switch {
	case err == nil:
		cfg.Cluster = e.opts.cluster
		// Environments made before the AWS endpoint existed get its ports now.
		if cfg.AWSPort == 0 {
			if cfg.AWSPort, err = freePort(cfg.IssuerHost); err != nil {
				return err
			}
		}
		if cfg.AWSTLSPort == 0 {
			if cfg.AWSTLSPort, err = freePort(cfg.IssuerHost); err != nil {
				return err
			}
		}
		if err := allocateClusterPorts(cfg); err != nil {
			return err
		}
		e.cfg = *cfg
		return envdir.SaveConfig(e.layout, &e.cfg)
	case errors.Is(err, envdir.ErrNoEnvironment):
	default:
		return err
	}
	port := e.opts.issuerPort
	if port == 0 {
		if port, err = freePort(e.opts.issuerHost); err != nil {
			return err
		}
	}
	awsPort := e.opts.awsPort
	if awsPort == 0 {
		if awsPort, err = freePort(e.opts.issuerHost); err != nil {
			return err
		}
	}
	awsTLSPort := e.opts.awsTLSPort
	if awsTLSPort == 0 {
		if awsTLSPort, err = freePort(e.opts.issuerHost); err != nil {
			return err
		}
	}
	e.cfg = envdir.Config{
		Version:     envdir.ConfigVersion,
		AWSPort:     awsPort,
		AWSTLSPort:  awsTLSPort,
		Name:        e.opts.name,
		IssuerID:    issuer.NewID(),
		IssuerHost:  e.opts.issuerHost,
		IssuerPort:  port,
		Region:      e.opts.region,
		AccountID:   e.opts.accountID,
		ClusterName: e.opts.name,
		Cluster:     e.opts.cluster,
		CreatedAt:   time.Now().UTC().Truncate(time.Second),
	}
	if err := allocateClusterPorts(&e.cfg); err != nil {
		return err
	}
	return envdir.SaveConfig(e.layout, &e.cfg)
}

// allocateClusterPorts gives a cluster-mode environment its apiserver and
// webhook ports the first time it runs a cluster.
func allocateClusterPorts(cfg *envdir.Config) error {
	ports := []*int{&cfg.APIServerPort, &cfg.WebhookPort}
	switch cfg.Cluster {
	case ClusterLocal:
	case ClusterKind, ClusterExisting:
		ports = ports[1:] // kind publishes its apiserver on a port of its own; an adopted cluster has its own
	default:
		return nil
	}
	for _, p := range ports {
		if *p != 0 {
			continue
		}
		port, err := freePort(cfg.IssuerHost)
		if err != nil {
			return err
		}
		*p = port
	}
	return nil
}

func (e *Env) step(text string) {
	if e.opts.progress != nil {
		e.opts.progress(text)
	}
}

// freePort finds a port that is free now on host. It is recorded in
// env.json and listened on later, so it is searched for below the kernel's
// ephemeral range: a port from that range could be handed, in between, to
// any outgoing connection or ":0" listener on the machine (a busy test run
// makes thousands). Where no such port is free, the kernel picks one.
func freePort(host string) (int, error) {
	low := ephemeralLow()
	for range 64 {
		port := minFixedPort + rand.IntN(low-minFixedPort)
		if l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port))); err == nil {
			l.Close()
			return port, nil
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// minFixedPort is the lowest port freePort picks: above the well-known and
// most registered services' ports.
const minFixedPort = 20000

// ephemeralLow is the first port of the kernel's ephemeral range, or
// Linux's default when it cannot be read.
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	return max(low, minFixedPort+1024) // a range too low leaves too few to pick from
}

func (e *Env) startIssuer(ctx context.Context) error {
	e.issuerURL = issuer.URL(e.cfg.IssuerHost, e.cfg.IssuerPort, e.cfg.IssuerID)
	cert, err := e.ca.Leaf(e.layout.PKIDir(), "issuer", serverHosts(e.cfg.IssuerHost))
	if err != nil {
		return err
	}
	e.handler, err = issuer.NewHandler(e.issuerURL, e.keys)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	e.handler.Mount(mux)
	addr := net.JoinHostPort(e.listenHost(), strconv.Itoa(e.cfg.IssuerPort))
	return e.serve(ctx, "issuer", addr, &cert, mux)
}

// startAWS starts the AWS endpoint on its HTTP and HTTPS ports and, unless
// told not to, registers the issuer as an IAM OIDC provider with client ID
// sts.amazonaws.com, as eksctl's associate step does.
func (e *Env) startAWS(ctx context.Context, backendOpt stsmock.Option) error {
	caPEM, thumbprint := e.ca.CertPEM, e.providerThumbprint()
	if e.existing != nil && len(e.existing.CAPEM()) > 0 {
		caPEM = e.existing.CAPEM()
	}
	opts := []stsmock.Option{
		backendOpt,
		stsmock.WithAccount(e.cfg.AccountID),
		stsmock.WithRegion(e.cfg.Region),
		stsmock.WithAdminCredentials(DefaultAccessKeyID, DefaultSecretAccessKey),
		stsmock.WithStateDir(e.layout.AWSDir()),
		stsmock.WithTrustedCAs(e.ca.Cert),
		stsmock.WithLogger(e.opts.logger.With("component", "aws")),
		stsmock.WithTrail(e.layout.TrailFile()),
		stsmock.WithBindingChecker(bindingChecker{e}),
		stsmock.WithEKSCluster(stsmock.EKSCluster{
			Name:                 e.cfg.ClusterName,
			IssuerURL:            e.issuerURL,
			CertificateAuthority: caPEM,
			CreatedAt:            e.cfg.CreatedAt,
		}),
	}
	opts = append(opts, e.existingAWSOptions()...)
	if net.ParseIP(e.cfg.IssuerHost) == nil {
		// A DNS name for the environment also addresses buckets as
		// <bucket>.<name>.
		opts = append(opts, stsmock.WithS3Hosts(e.cfg.IssuerHost))
	}
	if e.opts.inMemoryS3 {
		opts = append(opts, stsmock.WithInMemoryS3())
	}
	srv, err := stsmock.New(opts...)
	if err != nil {
		return err
	}
	e.aws = srv
	host := e.cfg.IssuerHost
	e.awsURL = "http://" + net.JoinHostPort(host, strconv.Itoa(e.cfg.AWSPort))
	e.awsTLSURL = "https://" + net.JoinHostPort(host, strconv.Itoa(e.cfg.AWSTLSPort))
	if err := e.serve(ctx, "aws", net.JoinHostPort(e.listenHost(), strconv.Itoa(e.cfg.AWSPort)), nil, srv); err != nil {
		return err
	}
	cert, err := e.ca.Leaf(e.layout.PKIDir(), "aws", serverHosts(host))
	if err != nil {
		return err
	}
	if err := e.serve(ctx, "aws-https", net.JoinHostPort(e.listenHost(), strconv.Itoa(e.cfg.AWSTLSPort)), &cert, srv); err != nil {
		return err
	}
	if !e.opts.noProvider {
		arn, err := srv.EnsureOIDCProvider(e.issuerURL, []string{"sts.amazonaws.com"}, []string{thumbprint})
		if err != nil {
			return err
		}
		e.provider = arn
	}
	return nil
}

// providerThumbprint is the thumbprint the issuer's OIDC provider records:
// the environment CA's, or an adopted cluster's apiserver CA's (the only
// certificate on the way to its keys).
func (e *Env) providerThumbprint() string {
	if e.existing != nil {
		if tp := e.existing.Thumbprint(); tp != "" {
			return tp
		}
	}
	return e.ca.Thumbprint()
}

// listenHost is where the issuer and the AWS endpoint listen: the issuer
// host, unless WithListenHost says otherwise (0.0.0.0 in a container).
func (e *Env) listenHost() string {
	if e.opts.listenHost != "" {
		return e.opts.listenHost
	}
	return e.cfg.IssuerHost
}

// serverHosts lists the names a serving certificate covers: the configured
// host plus the loopback names users type.
func serverHosts(host string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	for _, h := range hosts {
		if h == host {
			return hosts
		}
	}
	return append(hosts, host)
}

// idleTimeout closes keep-alive connections nobody uses; a variable so
// tests can shorten it.
var idleTimeout = 30 * time.Second

// serve listens on addr and serves h as the named component, over HTTPS
// when cert is given.
func (e *Env) serve(ctx context.Context, name, addr string, cert *tls.Certificate, h http.Handler) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("listen on %s for the %s: the port is in use by another program; stop it (find it with: ss -ltnp 'sport = :%s') and run up again", addr, name, portOf(addr))
		}
		return fmt.Errorf("listen on %s for the %s: %w", addr, name, err)
	}
	// Limits of a production server: headers within 10 s and 64 KiB, idle
	// keep-alive connections closed after idleTimeout. Bodies are timed by
	// the handlers that read them (stsmock requires a minimum rate).
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: idleTimeout, MaxHeaderBytes: 64 << 10}
	if cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
	}
	c := &Component{Name: name, State: StateRunning, Listen: l.Addr().String()}
	e.mu.Lock()
	e.components[name] = c
	e.servers = append(e.servers, srv)
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		var err error
		if cert != nil {
			err = srv.ServeTLS(l, "", "")
		} else {
			err = srv.Serve(l)
		}
		if errors.Is(err, http.ErrServerClosed) {
			return
		}
		e.mu.Lock()
		c.State, c.Error = StateFailed, err.Error()
		e.mu.Unlock()
		e.opts.logger.Error("component failed", "component", name, "err", err)
		e.recordStatus()
	}()
	return nil
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// Stop stops every server of the environment and releases its state
// directory. It collects every error rather than stopping at the first.
func (e *Env) Stop(ctx context.Context) error {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return nil
	}
	e.stopped = true
	servers := e.servers
	stopMonitor := e.stopMonitor
	e.mu.Unlock()

	var errs []error
	if stopMonitor != nil {
		stopMonitor()
	}
	// The cluster goes first: the apiserver calls the webhook, and the
	// webhook and controllers call the apiserver.
	if err := e.stopCluster(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down server: %w", err))
			_ = s.Close()
		}
	}
	e.wg.Wait()
	if err := e.stopBackend(ctx); err != nil {
		errs = append(errs, err)
	}
	if e.aws != nil {
		if err := e.aws.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	e.mu.Lock()
	for _, c := range e.components {
		if c.State == StateRunning {
			c.State = StateStopped
		}
	}
	e.mu.Unlock()
	if e.lock != nil {
		if err := e.writeStatus(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := e.lock.Release(); err != nil {
			errs = append(errs, err)
		}
	}
	if e.removeDir {
		if err := os.RemoveAll(e.layout.Dir); err != nil {
			errs = append(errs, fmt.Errorf("remove state directory: %w", err))
		}
	}
	return errors.Join(errs...)
}

// StateDir returns the environment's state directory.
func (e *Env) StateDir() string { return e.layout.Dir }

// Name returns the environment's name, which is also its EKS cluster name.
func (e *Env) Name() string { return e.cfg.Name }

// IssuerURL returns the issuer URL, the "iss" of every token.
func (e *Env) IssuerURL() string { return e.issuerURL }

// AWS describes the environment's AWS endpoint: its URLs, region, account,
// admin credentials and the ARN of the issuer's OIDC provider.
func (e *Env) AWS() AWSInfo {
	info := describeConfig(e.layout, &e.cfg).AWS
	info.OIDCProviderARN = e.aws.OIDCProviderARN(e.issuerURL)
	return info
}

// Clock is the emulator's clock: real time shifted by an offset, by which
// tokens, sessions and time conditions are judged. Advance moves it forward
// only (ten years at most in all) and returns the new offset, Offset
// reports it, and Reset returns to real time.
type Clock = stsmock.Clock

// Clock returns the emulator's clock, to test what happens when sessions
// and tokens expire without waiting for them.
func (e *Env) Clock() Clock { return e.aws.Clock() }

// TrustPolicyFor returns the EKS-standard trust policy document for a
// service account of this environment, as TrustServiceAccount uses it.
func (e *Env) TrustPolicyFor(namespace, name string) string {
	return policy.ServiceAccountTrustPolicy(e.issuerURL, e.aws.OIDCProviderARN(e.issuerURL), e.cfg.AccountID, namespace, name)
}

// ClusterName is the name of the environment's EKS cluster, on which Pod
// Identity associations are made.
func (e *Env) ClusterName() string { return e.cfg.ClusterName }

// AWSEndpoint returns the plain-HTTP URL of the AWS endpoint.
func (e *Env) AWSEndpoint() string { return e.awsURL }

// AWSEndpointHTTPS returns the HTTPS URL of the AWS endpoint, served with a
// certificate of the environment CA.
func (e *Env) AWSEndpointHTTPS() string { return e.awsTLSURL }

// CA returns the environment's certificate authority.
func (e *Env) CA() *issuer.CA { return e.ca }

// HTTPClient returns a client that trusts the environment's CA and nothing
// else, as a user pointing curl --cacert at the exported CA file would.
func (e *Env) HTTPClient() *http.Client { return envdir.HTTPClient(e.ca) }

// Token mints a service-account token as kube-apiserver would, for the
// no-cluster mode.
func (e *Env) Token(req issuer.TokenRequest) (string, error) {
	if e.existing != nil {
		return "", errors.New("mint a token: an adopted cluster's tokens are signed by its own key; request one from its apiserver (kubectl create token)")
	}
	e.mu.Lock()
	ks := e.keys
	e.mu.Unlock()
	return issuer.Mint(e.issuerURL, ks, req)
}

// ReloadKeys re-reads the key files after a rotation or retirement made by
// another process (the CLI) and publishes the result at once. With a
// cluster it restarts kube-apiserver, which reads its keys only at start.
func (e *Env) ReloadKeys(ctx context.Context) error {
	ks, err := issuer.LoadKeys(e.layout.KeyDir())
	if err != nil {
		return err
	}
	return e.setKeys(ctx, ks)
}

// RotateKeys adds a new signing key; the old one stays published until
// RetireKeys. With a cluster it restarts kube-apiserver.
func (e *Env) RotateKeys(ctx context.Context) (*issuer.KeySet, error) {
	ks, err := issuer.RotateKeys(e.layout.KeyDir())
	if err != nil {
		return nil, err
	}
	return ks, e.setKeys(ctx, ks)
}

// RetireKeys stops publishing the given kids, or all but the signing key,
// and returns those it retired. With a cluster it restarts kube-apiserver.
func (e *Env) RetireKeys(ctx context.Context, kids ...string) ([]string, error) {
	ks, retired, err := issuer.RetireKeys(e.layout.KeyDir(), kids...)
	if err != nil {
		return nil, err
	}
	return retired, e.setKeys(ctx, ks)
}

func (e *Env) setKeys(ctx context.Context, ks *issuer.KeySet) error {
	if e.existing != nil {
		return errors.New("the adopted cluster signs with keys of its own: rotate them on the cluster (restart kube-apiserver with the new key); irsa-local picks the new key up at the first token it signs")
	}
	e.mu.Lock()
	running := e.cluster != nil || e.kind != nil
	e.mu.Unlock()
	if running {
		// kube-apiserver reads its key files only at start.
		if err := e.restartCluster(ctx); err != nil {
			return err
		}
	}
	if err := e.handler.SetKeys(ks); err != nil {
		return err
	}
	// STS caches key sets; a retired key must stop verifying at once.
	if e.aws != nil {
		e.aws.FlushKeys()
	}
	e.mu.Lock()
	e.keys = ks
	e.mu.Unlock()
	return nil
}

// Describe reports the environment as `irsa-local status` prints it. In
// kind mode it asks Docker whether the node runs, within ctx.
func (e *Env) Describe(ctx context.Context) Description {
	d := describeConfig(e.layout, &e.cfg)
	d.Running = true
	d.PID = os.Getpid()
	d.AWS.OIDCProviderARN = e.provider
	if e.aws != nil {
		d.AWS.OIDCProviderARN = e.aws.OIDCProviderARN(e.issuerURL)
		d.AWS.Accounts = orderAccounts(e.aws.Accounts(), e.cfg.AccountID)
		if as := e.aws.Associations(); len(as) > 0 {
			d.Cluster.PodIdentityAssociations = associationInfos(as)
		}
	}
	clusterComps := e.clusterComponents(ctx)
	backendComps := e.backendComponents(ctx)
	e.mu.Lock()
	for _, name := range componentOrder {
		if c, ok := e.components[name]; ok {
			d.Components = append(d.Components, *c)
		}
	}
	if e.cluster != nil {
		d.Cluster.Kubeconfig = e.cluster.Kubeconfig()
	}
	if e.existing != nil {
		d.Cluster.Kubeconfig, d.Cluster.Context = e.existing.Kubeconfig, e.existing.Context
		d.Cluster.Server = e.existing.Server()
		d.Issuer.JWKSURL = strings.TrimSuffix(d.Cluster.Server, "/") + existing.JWKSPath
		d.Cluster.PodAWSEndpoint = e.podAWSURL
		d.Cluster.Reach = e.reach.Why
	}
	if e.kind != nil {
		d.Cluster.Kubeconfig = e.kind.Kubeconfig()
		d.Cluster.NodeImage = e.nodeImage
		d.Cluster.PodAWSEndpoint = e.podAWSURL
	}
	d.Components = append(d.Components, clusterComps...)
	d.Components = append(d.Components, backendComps...)
	if e.backendInfo.Kind != "" {
		b := e.backendInfo
		d.Backend = &b
	}
	if c, ok := e.components["webhook"]; ok {
		d.Components = append(d.Components, *c)
	}
	e.mu.Unlock()
	return d
}
