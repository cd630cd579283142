// Package harnesstest starts irsa-local environments for Go tests: Start
// fails the test when the environment cannot start and stops it when the
// test and its subtests end.
package harnesstest

import (
	"context"
	"testing"
	"time"

	"github.com/irsa-local/irsa-local/pkg/harness"
)

// stopTimeout bounds how long a test's cleanup waits for the environment
// to stop.
const stopTimeout = time.Minute

// Start starts an environment with opts and registers its Stop with
// t.Cleanup. Unless opts name a state directory, the environment lives in a
// temporary one of its own, removed when it stops. A failure to start or
// to stop fails t.
func Start(t testing.TB, opts ...harness.Option) *harness.Env {
	t.Helper()
	// The start-up context must outlive the test function's own: servers
	// and the cluster run until Cleanup.
	env, err := harness.Start(context.WithoutCancel(t.Context()), opts...)
	if err != nil {
		t.Fatalf("start irsa-local environment: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := env.Stop(ctx); err != nil {
			t.Errorf("stop irsa-local environment: %v", err)
		}
	})
	return env
}
