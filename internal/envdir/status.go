package envdir

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/irsa-local/irsa-local/internal/fsutil"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// Component states.
const (
	StateRunning = "running"
	StateStopped = "stopped"
	StateFailed  = "failed"
)

// ComponentOrder is the order components are started and reported in.
var ComponentOrder = []string{"issuer", "aws", "aws-https", PodAWSComponent}

// Component is one server or process an environment runs.
type Component struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	Listen string `json:"listen,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Description is what `irsa-local status -o json` prints.
type Description struct {
	Name       string      `json:"name"`
	StateDir   string      `json:"stateDir"`
	Running    bool        `json:"running"`
	PID        int         `json:"pid,omitempty"`
	Issuer     IssuerInfo  `json:"issuer"`
	AWS        AWSInfo     `json:"aws"`
	Cluster    ClusterInfo `json:"cluster"`
	Components []Component `json:"components"`
}

// IssuerInfo describes the OIDC issuer.
type IssuerInfo struct {
	URL     string `json:"url"`
	JWKSURL string `json:"jwksURL"`
	CAFile  string `json:"caFile"`
	// Listen is the host:port the issuer's HTTPS server listens on.
	Listen string `json:"listen"`
}

// AWSInfo describes the AWS endpoint. Endpoint is plain HTTP (what
// AWS_ENDPOINT_URL usually points at); EndpointHTTPS is the same service over
// HTTPS with a certificate of the environment CA. OIDCProviderARN is empty
// while the issuer is not registered in IAM.
type AWSInfo struct {
	Endpoint        string `json:"endpoint"`
	EndpointHTTPS   string `json:"endpointHTTPS"`
	Region          string `json:"region"`
	AccountID       string `json:"accountId"`
	OIDCProviderARN string `json:"oidcProviderArn"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// ClusterInfo describes the Kubernetes side.
type ClusterInfo struct {
	Mode       ClusterMode `json:"mode"`
	Name       string      `json:"name"`
	Kubeconfig string      `json:"kubeconfig"`
	// KindCluster, NodeImage and PodAWSEndpoint describe a kind-mode
	// cluster: its kind name, node image, and the AWS endpoint its pods
	// are pointed at.
	KindCluster    string `json:"kindCluster,omitempty"`
	NodeImage      string `json:"nodeImage,omitempty"`
	PodAWSEndpoint string `json:"podAWSEndpoint,omitempty"`
}

// Describe is what the configuration alone says of an environment.
func Describe(l Layout, c *Config) Description {
	u := issuer.URL(c.IssuerHost, c.IssuerPort, c.IssuerID)
	return Description{
		Name:     c.Name,
		StateDir: l.Dir,
		Issuer: IssuerInfo{
			URL:     u,
			JWKSURL: u + issuer.JWKSPath,
			CAFile:  l.PKIDir() + "/" + issuer.CACertFile,
			Listen:  fmt.Sprintf("%s:%d", c.IssuerHost, c.IssuerPort),
		},
		AWS: AWSInfo{
			Endpoint:        fmt.Sprintf("http://%s", net.JoinHostPort(c.IssuerHost, strconv.Itoa(c.AWSPort))),
			EndpointHTTPS:   fmt.Sprintf("https://%s", net.JoinHostPort(c.IssuerHost, strconv.Itoa(c.AWSTLSPort))),
			Region:          c.Region,
			AccountID:       c.AccountID,
			AccessKeyID:     DefaultAccessKeyID,
			SecretAccessKey: DefaultSecretAccessKey,
		},
		Cluster:    ClusterInfo{Mode: c.Cluster, Name: c.ClusterName, KindCluster: kindCluster(c)},
		Components: []Component{},
	}
}

// runtimeStatus is what a running environment records in run/status.json.
type runtimeStatus struct {
	PID             int         `json:"pid"`
	OIDCProviderARN string      `json:"oidcProviderArn,omitempty"`
	Kubeconfig      string      `json:"kubeconfig,omitempty"`
	NodeImage       string      `json:"nodeImage,omitempty"`
	PodAWSEndpoint  string      `json:"podAWSEndpoint,omitempty"`
	Components      []Component `json:"components"`
}

// Inspect describes the environment in l from outside, as `status` does: its
// configuration, whether a process holds it, and the state of each component
// that process reported. A process that died without stopping its components
// leaves them reported as failed, never as running.
func Inspect(l Layout) (Description, error) {
	cfg, err := LoadConfig(l)
	if err != nil {
		return Description{}, err
	}
	d := Describe(l, cfg)
	var rs runtimeStatus
	if b, err := os.ReadFile(l.StatusFile()); err == nil {
		if err := json.Unmarshal(b, &rs); err != nil {
			return d, fmt.Errorf("parse %s: %w", l.StatusFile(), err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return d, fmt.Errorf("read status: %w", err)
	}
	d.Running = LockHeld(l.LockFile())
	if d.Running {
		d.PID = rs.PID
	}
	d.AWS.OIDCProviderARN = rs.OIDCProviderARN
	d.Cluster.Kubeconfig = rs.Kubeconfig
	d.Cluster.NodeImage, d.Cluster.PodAWSEndpoint = rs.NodeImage, rs.PodAWSEndpoint
	if d.Running {
		// IAM changes while the environment runs; ask it rather than trust
		// what it recorded at start.
		if arn, err := liveProviderARN(d.AWS, d.Issuer.URL); err == nil {
			d.AWS.OIDCProviderARN = arn
		}
	}
	for _, c := range rs.Components {
		if !d.Running && c.State == StateRunning {
			c.State = StateFailed
			c.Error = fmt.Sprintf("the irsa-local process (pid %d) exited without stopping it; last log line: %s", rs.PID, lastLine(l.LogFile()))
		}
		d.Components = append(d.Components, c)
	}
	return d, nil
}

// lastLine returns the last non-empty line of a log file, for status to say
// why a process died.
func lastLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no log)"
	}
	defer f.Close()
	last := "(empty log)"
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		if t := strings.TrimSpace(s.Text()); t != "" {
			last = t
		}
	}
	return last
}

// Lock is an exclusive flock held by the process running an environment.
// The kernel drops it when that process dies, so unlike a pid file it cannot
// go stale.
type Lock struct{ f *os.File }

// ErrRunning is returned when another process runs the environment.
var ErrRunning = errors.New("environment is already running")

// AcquireLock takes the environment lock at path, or says who holds it.
func AcquireLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: another process holds %s", ErrRunning, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Release drops the lock.
func (l *Lock) Release() error {
	defer l.f.Close()
	if err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN); err != nil {
		return fmt.Errorf("unlock %s: %w", l.f.Name(), err)
	}
	return nil
}

// LockHeld reports whether some process holds the environment lock at path.
func LockHeld(path string) bool {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// MintToken signs a token with the key files of the environment in l, without
// needing it to run: the token verifies once the environment serves its keys.
func MintToken(l Layout, req issuer.TokenRequest) (string, error) {
	cfg, err := LoadConfig(l)
	if err != nil {
		return "", err
	}
	ks, err := issuer.LoadKeys(l.KeyDir())
	if err != nil {
		return "", err
	}
	return issuer.Mint(issuer.URL(cfg.IssuerHost, cfg.IssuerPort, cfg.IssuerID), ks, req)
}

// liveProviderARN asks a running AWS endpoint for the ARN of the OIDC
// provider registered for issuerURL.
func liveProviderARN(info AWSInfo, issuerURL string) (string, error) {
	var body struct {
		ARN string `json:"arn"`
	}
	err := AdminCall(context.Background(), info, http.MethodGet, "/_irsa-local/oidc-provider?url="+url.QueryEscape(issuerURL), nil, &body)
	return body.ARN, err
}

// kindCluster is the kind cluster an environment in kind mode runs ("" in
// other modes, even if an earlier run in kind mode recorded one).
func kindCluster(c *Config) string {
	if c.Cluster != ClusterKind {
		return ""
	}
	return c.KindCluster
}

// WriteStatus records what the running process reports of d in run/status.json.
func WriteStatus(l Layout, d Description) error {
	b, err := json.MarshalIndent(runtimeStatus{PID: d.PID, OIDCProviderARN: d.AWS.OIDCProviderARN, Kubeconfig: d.Cluster.Kubeconfig, NodeImage: d.Cluster.NodeImage, PodAWSEndpoint: d.Cluster.PodAWSEndpoint, Components: d.Components}, "", "  ")
	if err != nil {
		return fmt.Errorf("marshal status: %w", err)
	}
	if err := fsutil.WriteFileAtomic(l.StatusFile(), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	return nil
}

// PodAWSComponent is the AWS endpoint as pods of a kind cluster reach it:
// HTTPS on the kind network's gateway address.
const PodAWSComponent = "aws-pods"

// Keys lists the published keys of the environment in l; the first signs.
func Keys(l Layout) (*issuer.KeySet, error) {
	if _, err := LoadConfig(l); err != nil {
		return nil, err
	}
	return issuer.LoadKeys(l.KeyDir())
}
