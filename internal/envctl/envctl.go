// Package envctl is the CLI's handle on an environment that another process
// runs (or ran): found by its state directory, described from its files, and
// driven through its servers' endpoints, its key files and its signals. The
// in-process API is pkg/harness; this package is what a second process needs.
package envctl

import (
	"context"
	"time"

	"github.com/irsa-local/irsa-local/internal/backend"
	"github.com/irsa-local/irsa-local/internal/cluster/kind"
	"github.com/irsa-local/irsa-local/internal/cluster/local"
	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/pkg/harness"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// Handle acts on the environment in one state directory.
type Handle struct {
	Layout envdir.Layout
}

// Open returns a handle on the environment in l; nothing is read yet.
func Open(l envdir.Layout) *Handle { return &Handle{Layout: l} }

// Describe describes the environment as `status` prints it.
func (h *Handle) Describe() (harness.Description, error) { return harness.Inspect(h.Layout.Dir) }

// Running reports whether a process runs the environment now.
func (h *Handle) Running() bool { return envdir.LockHeld(h.Layout.LockFile()) }

// MintToken signs a token with the environment's key files, without needing
// it to run: the token verifies once the environment serves its keys.
func (h *Handle) MintToken(req issuer.TokenRequest) (string, error) {
	return envdir.MintToken(h.Layout, req)
}

// Keys lists the environment's published keys; the first signs.
func (h *Handle) Keys() (*issuer.KeySet, error) { return envdir.Keys(h.Layout) }

// VerifyToken checks tok as any OIDC relying party would: discovery from the
// environment's issuer over HTTPS trusting only its CA, the signature
// against the served JWKS, issuer, audience (unless empty) and expiry.
func (h *Handle) VerifyToken(ctx context.Context, tok, audience string) (*issuer.Claims, error) {
	return envdir.VerifyToken(ctx, h.Layout, tok, audience)
}

// Admin calls the admin API of the running environment's AWS endpoint.
func (h *Handle) Admin(ctx context.Context, method, path string, in, out any) error {
	d, err := h.Describe()
	if err != nil {
		return err
	}
	return envdir.AdminCall(ctx, envdir.Admin{Endpoint: d.AWS.Endpoint, Region: d.AWS.Region, AccessKeyID: d.AWS.AccessKeyID, SecretAccessKey: d.AWS.SecretAccessKey}, method, path, in, out)
}

// StopStale stops what a crashed environment left running — its
// control-plane processes and backend, or its kind cluster — so that `down` leaves
// nothing behind even after the environment's own process was killed. It
// returns the pids stopped and whether a kind cluster was deleted.
func (h *Handle) StopStale(ctx context.Context) ([]int, bool, error) {
	l := h.Layout
	pids, err := local.StopStale(ctx, l.ClusterDir(), 5*time.Second)
	if err != nil {
		return pids, false, err
	}
	pid, err := backend.StopStale(ctx, l.BackendDir())
	if err != nil {
		return pids, false, err
	}
	if pid != 0 {
		pids = append(pids, pid)
	}
	if _, err := backend.StopStaleContainers(ctx, l.Dir); err != nil {
		return pids, false, err
	}
	if _, err := harness.ReleaseAdopted(ctx, l.Dir); err != nil {
		return pids, false, err
	}
	cfg, err := envdir.LoadConfig(l)
	if err != nil {
		return pids, false, nil
	}
	deleted, err := deleteStaleKind(ctx, l, cfg)
	return pids, deleted, err
}

// deleteStaleKind deletes the kind cluster an environment recorded, if it
// still exists and mounts the environment's keys: what a crashed kind-mode
// environment leaves behind. A cluster of the same name made by someone
// else is left alone.
func deleteStaleKind(ctx context.Context, l envdir.Layout, cfg *envdir.Config) (bool, error) {
	if cfg.KindCluster == "" || kind.CheckDocker(ctx) != nil {
		return false, nil
	}
	if !kind.OwnedBy(ctx, cfg.KindCluster, l.KeyDir()) {
		return false, nil
	}
	return true, kind.Delete(cfg.KindCluster, nil)
}
