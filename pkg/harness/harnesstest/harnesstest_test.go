package harnesstest_test

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/irsa-local/irsa-local/pkg/harness"
	"github.com/irsa-local/irsa-local/pkg/harness/harnesstest"
)

func TestStartStopsTheEnvironmentWithTheTest(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("IRSA_LOCAL_HOME", home)
	var env *harness.Env
	t.Run("inner", func(t *testing.T) {
		env = harnesstest.Start(t)
		out, err := sts.NewFromConfig(env.AdminAWSConfig()).GetCallerIdentity(context.Background(), nil)
		if err != nil {
			t.Fatalf("the environment does not answer: %v", err)
		}
		if got := *out.Account; got != harness.DefaultAccountID {
			t.Fatalf("account %s", got)
		}
		if _, err := os.Stat(env.StateDir()); err != nil {
			t.Fatalf("state directory while running: %v", err)
		}
	})
	// The subtest's cleanup has run: the endpoint is gone and so is the
	// temporary state directory; nothing was written under HOME.
	if _, err := sts.NewFromConfig(env.AdminAWSConfig()).GetCallerIdentity(context.Background(), nil); err == nil {
		t.Fatal("the environment still answers after its test ended")
	}
	if _, err := os.Stat(env.StateDir()); !os.IsNotExist(err) {
		t.Fatalf("state directory %s after the test: %v", env.StateDir(), err)
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Fatalf("the environment wrote under HOME: %v", entries)
	}
}
