package envctl

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/pkg/harness"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// The handle drives an environment that another "process" runs: here an
// in-process one, reached only through its state directory, as the CLI
// reaches the daemon's.
func TestHandleOnARunningEnvironment(t *testing.T) {
	dir := t.TempDir()
	env, err := harness.Start(context.Background(), harness.WithStateDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop(context.Background())
	h := Open(envdir.Layout{Dir: dir})
	ctx := context.Background()

	d, err := h.Describe()
	if err != nil || !d.Running || d.AWS.OIDCProviderARN == "" {
		t.Fatalf("Describe: %+v, %v", d, err)
	}
	req := issuer.TokenRequest{Namespace: "demo", ServiceAccount: "app", Audiences: []string{"sts.amazonaws.com"}, Duration: time.Hour}
	tok, err := h.IssueToken(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := h.VerifyToken(ctx, tok, "sts.amazonaws.com")
	if err != nil || claims.Subject != "system:serviceaccount:demo:app" {
		t.Fatalf("VerifyToken: %+v, %v", claims, err)
	}
	var clock struct {
		Offset string `json:"offset"`
	}
	if err := h.Admin(ctx, "GET", "/_irsa-local/clock", nil, &clock); err != nil || clock.Offset != "0s" {
		t.Fatalf("admin clock: %+v, %v", clock, err)
	}
	f := &harness.EnvironmentFile{APIVersion: harness.EnvironmentFileAPIVersion, Kind: harness.EnvironmentFileKind,
		Buckets: []harness.BucketSpec{{Name: "from-file"}}}
	if err := h.ApplyFile(ctx, f); err != nil {
		t.Fatal(err)
	}
	if pids, kind, err := h.StopStale(ctx); err != nil || len(pids) != 0 || kind {
		t.Fatalf("StopStale of an environment without a cluster: %v %v %v", pids, kind, err)
	}
}

func TestHandleWithoutAnEnvironment(t *testing.T) {
	h := Open(envdir.Layout{Dir: t.TempDir()})
	if _, err := h.Describe(); !errors.Is(err, envdir.ErrNoEnvironment) {
		t.Errorf("Describe: %v", err)
	}
	if _, err := h.MintToken(issuer.TokenRequest{Namespace: "a", ServiceAccount: "b", Duration: time.Hour}); !errors.Is(err, envdir.ErrNoEnvironment) {
		t.Errorf("MintToken: %v", err)
	}
	if _, err := h.RotateKeys(context.Background()); !errors.Is(err, envdir.ErrNoEnvironment) {
		t.Errorf("RotateKeys: %v", err)
	}
	if h.Running() {
		t.Error("an empty directory runs")
	}
	_, err := ClusterClient(harness.Description{Name: "x", Running: true, Cluster: harness.ClusterInfo{Mode: harness.ClusterNone}})
	if err == nil || !strings.Contains(err.Error(), "has no Kubernetes API") {
		t.Errorf("ClusterClient without a cluster: %v", err)
	}
}
