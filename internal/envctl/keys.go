package envctl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"syscall"
	"time"

	"github.com/irsa-local/irsa-local/internal/daemon"
	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/pkg/harness"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// RotateKeys adds a new signing key to the environment, keeping the old
// one published, and makes a running environment serve it before returning.
func (h *Handle) RotateKeys(ctx context.Context) (*issuer.KeySet, error) {
	l := h.Layout
	if _, err := envdir.LoadConfig(l); err != nil {
		return nil, err
	}
	ks, err := issuer.RotateKeys(l.KeyDir())
	if err != nil {
		return nil, err
	}
	return ks, publish(ctx, l, ks)
}

// RetireKeys stops publishing kids (all but the signing key when none are
// given) in the environment, and makes a running environment stop
// serving them before returning.
func (h *Handle) RetireKeys(ctx context.Context, kids ...string) ([]string, error) {
	l := h.Layout
	if _, err := envdir.LoadConfig(l); err != nil {
		return nil, err
	}
	ks, retired, err := issuer.RetireKeys(l.KeyDir(), kids...)
	if err != nil {
		return nil, err
	}
	if len(retired) == 0 {
		return nil, nil
	}
	return retired, publish(ctx, l, ks)
}

// publish tells the process running the environment, if any, to re-read its
// key files, and waits until its JWKS lists exactly the keys of ks.
func publish(ctx context.Context, l envdir.Layout, ks *issuer.KeySet) error {
	if !envdir.LockHeld(l.LockFile()) {
		return nil
	}
	pid, err := daemon.ReadPID(l.PIDFile())
	if err != nil {
		return fmt.Errorf("find the running environment to reload its keys: %w", err)
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("signal process %d to reload keys: %w", pid, err)
	}
	d, err := harness.Inspect(l.Dir)
	if err != nil {
		return err
	}
	ca, err := issuer.LoadOrCreateCA(l.PKIDir(), "")
	if err != nil {
		return err
	}
	client := envdir.HTTPClient(ca)
	want := make([]string, 0, len(ks.Published))
	for _, p := range ks.Published {
		want = append(want, p.ID)
	}
	// The environment restarts kube-apiserver before it serves the keys: a
	// few seconds for a local cluster, tens of seconds in a kind node.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		got, err := servedKIDs(ctx, client, d.Issuer.JWKSURL)
		if err == nil && slices.Equal(got, want) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the issuer to serve the new keys (see %s): %w", l.LogFile(), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func servedKIDs(ctx context.Context, c *http.Client, jwksURL string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, err
	}
	kids := make([]string, 0, len(set.Keys))
	for _, k := range set.Keys {
		kids = append(kids, k.KID)
	}
	return kids, nil
}
