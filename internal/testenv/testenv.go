// Package testenv is how tests find the real clients and servers they drive
// (the AWS CLI, python3 with boto3, moto_server): under -short they are left
// out; a missing one skips the test, or fails it when
// IRSA_LOCAL_REQUIRE_CLIENTS=1, as CI sets, so that a machine without them
// never passes by skipping.
package testenv

import (
	"os"
	"os/exec"
	"testing"

	"github.com/irsa-local/irsa-local/internal/assets"
)

// RequireEnv names the variable that turns a missing tool into a failure.
const RequireEnv = "IRSA_LOCAL_REQUIRE_CLIENTS"

// Tool returns the path of tool on PATH, or skips (fails) the test.
func Tool(t testing.TB, tool string) string {
	t.Helper()
	if testing.Short() {
		// Starting Python and its clients costs about a second each;
		// make test runs these.
		t.Skip("-short: leaves out the tests that run " + tool)
	}
	p, err := exec.LookPath(tool)
	if err != nil {
		Missing(t, tool+" is not on PATH")
	}
	return p
}

// Missing skips the test for the reason given, or fails it when the tools
// are required.
func Missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s, and %s=1 requires it", what, RequireEnv)
	}
	t.Skipf("%s (set %s=1 to make this a failure)", what, RequireEnv)
}

// KubeBinaries fails the test when etcd, kube-apiserver or
// kube-controller-manager cannot be found: the tests that run a local
// cluster need the real apiserver, and make test builds it first. -short
// leaves them out.
func KubeBinaries(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: leaves out the tests that run kube-apiserver")
	}
	for _, name := range []string{assets.Etcd, assets.KubeAPIServer, assets.KubeControllerManager} {
		if _, err := assets.Find(name); err != nil {
			t.Fatal(err)
		}
	}
}
