// Package backend runs and talks to the AWS emulator that stores the data
// of the services irsa-local forwards (SQS, SNS, DynamoDB, Secrets
// Manager, SSM, KMS): moto_server as a managed process, or an endpoint the
// user runs (LocalStack, moto, Floci), by URL.
package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/internal/proc"
)

// MotoBinary is the program StartMoto runs.
const MotoBinary = "moto_server"

// ErrNoMoto is returned when moto_server is not on PATH.
var ErrNoMoto = errors.New("moto_server is not on PATH")

// Moto is a moto_server process.
type Moto struct {
	p   *proc.Process
	url string
}

// MotoOptions say how to run moto_server.
type MotoOptions struct {
	// Dir holds its log and pid files; it runs there.
	Dir string
	// Host and Port it listens on.
	Host string
	Port int
	// StartTimeout bounds the wait for its first answer (default 60s).
	StartTimeout time.Duration
}

// StartMoto runs moto_server and returns once it answers.
func StartMoto(ctx context.Context, o MotoOptions) (*Moto, error) {
	path, err := exec.LookPath(MotoBinary)
	if err != nil {
		return nil, ErrNoMoto
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create backend directory: %w", err)
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	// No MOTO_ACCOUNT_ID: it would override the account irsa-local's
	// gateway names on every call (x-moto-account-id), and so fold every
	// account into one.
	var env []string
	for _, kv := range os.Environ() {
		// The caller's AWS settings are not the backend's: moto would
		// otherwise reach for real endpoints or another account.
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "MOTO_") {
			continue
		}
		env = append(env, kv)
	}
	p, err := proc.Start(proc.Spec{
		Name: "backend", Path: path, Args: []string{"-H", o.Host, "-p", strconv.Itoa(o.Port)},
		Dir: o.Dir, LogFile: filepath.Join(o.Dir, "moto.log"), PIDFile: PIDFile(o.Dir), Env: env,
	})
	if err != nil {
		return nil, err
	}
	m := &Moto{p: p, url: "http://" + net.JoinHostPort(o.Host, strconv.Itoa(o.Port))}
	wait, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	if err := waitReady(wait, m.url, p); err != nil {
		_ = p.Stop(context.WithoutCancel(ctx), 5*time.Second)
		return nil, err
	}
	return m, nil
}

// PIDFile is where the pid of the moto_server run for dir is kept.
func PIDFile(dir string) string { return filepath.Join(dir, "moto.pid") }

// StopStale stops a moto_server that an owner of dir which died left
// running, and returns its pid (0 when there was none).
func StopStale(ctx context.Context, dir string) (int, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return 0, fmt.Errorf("resolve backend directory: %w", err)
	}
	return proc.StopStale(ctx, PIDFile(dir), dir, MotoBinary, "", 5*time.Second)
}

var probe = &http.Client{Timeout: 2 * time.Second}

// waitReady polls moto until it answers, or fails as soon as it exits.
func waitReady(ctx context.Context, url string, p *proc.Process) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = ping(ctx, url); last == nil {
			return nil
		}
		select {
		case <-p.Done():
			return p.ExitError()
		case <-ctx.Done():
			if p.Exited() {
				return p.ExitError()
			}
			return fmt.Errorf("start moto_server: no answer at %s: %v (log: %s)", url, last, p.LogFile())
		case <-tick.C:
		}
	}
}

// ping asks moto's own API whether it serves.
func ping(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/moto-api/data.json", nil)
	if err != nil {
		return err
	}
	resp, err := probe.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /moto-api/data.json: %s", resp.Status)
	}
	return nil
}

// URL is moto's endpoint.
func (m *Moto) URL() string { return m.url }

// Status describes the process.
func (m *Moto) Status() proc.Status { return m.p.Status() }

// Stop stops moto_server.
func (m *Moto) Stop(ctx context.Context) error { return m.p.Stop(ctx, 5*time.Second) }

// Reset empties a backend through its own reset endpoint: moto's
// /moto-api/reset, else LocalStack's /_localstack/state/reset.
func Reset(ctx context.Context, url string) error {
	url = strings.TrimRight(url, "/")
	var tried []string
	for _, path := range []string{"/moto-api/reset", "/_localstack/state/reset"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+path, nil)
		if err != nil {
			return err
		}
		resp, err := probe.Do(req)
		if err != nil {
			return fmt.Errorf("reset the backend at %s: %w", url, err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode < 300 {
			return nil
		}
		tried = append(tried, path+" answered "+resp.Status)
	}
	return fmt.Errorf("reset the backend at %s: it offers no reset endpoint (%s)", url, strings.Join(tried, "; "))
}
