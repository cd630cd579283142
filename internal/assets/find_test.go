package assets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testBinary is a name no real PATH holds, so only the fixture's places can
// match.
const testBinary = "irsa-local-test-binary"

func writeExecutable(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// finderFixture puts testBinary in every place Find looks, pointing the
// environment variables and the working directory at them.
type finderFixture struct {
	explicit, kubebuilder, cache, cwd, checkout, path string
}

func newFinderFixture(t *testing.T) finderFixture {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+modulePath+"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(root, "pkg", "some")
	f := finderFixture{
		explicit:    filepath.Join(root, "explicit", "my-binary"),
		kubebuilder: filepath.Join(root, "kubebuilder", testBinary),
		cache:       filepath.Join(root, "cache", "irsa-local", "k8s", KubernetesVersion, testBinary),
		cwd:         filepath.Join(work, "bin", "k8s", testBinary),
		checkout:    filepath.Join(root, "bin", "k8s", testBinary),
		path:        filepath.Join(root, "path", testBinary),
	}
	for _, p := range []string{f.explicit, f.kubebuilder, f.cache, f.cwd, f.checkout, f.path} {
		writeExecutable(t, p)
	}
	t.Setenv(EnvVar(testBinary), f.explicit)
	t.Setenv("KUBEBUILDER_ASSETS", filepath.Dir(f.kubebuilder))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(root, "cache"))
	t.Setenv("PATH", filepath.Dir(f.path))
	t.Chdir(work)
	return f
}

func TestEnvVar(t *testing.T) {
	for name, want := range map[string]string{
		KubeAPIServer:         "TEST_ASSET_KUBE_APISERVER",
		KubeControllerManager: "TEST_ASSET_KUBE_CONTROLLER_MANAGER",
		Etcd:                  "TEST_ASSET_ETCD",
		Kubectl:               "TEST_ASSET_KUBECTL",
	} {
		if got := EnvVar(name); got != want {
			t.Errorf("EnvVar(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestFindOrder removes the binary from one place after the other and checks
// that the next place in the documented order is used each time.
func TestFindOrder(t *testing.T) {
	f := newFinderFixture(t)
	steps := []struct {
		source string
		path   string
	}{
		{EnvVar(testBinary), f.explicit},
		{"KUBEBUILDER_ASSETS", f.kubebuilder},
		{"cache", f.cache},
		{"bin/k8s", f.cwd},
		{"checkout bin/k8s", f.checkout},
		{"PATH", f.path},
	}
	for i, step := range steps {
		loc := Locate(testBinary)
		if loc.Source != step.source || loc.Path != step.path {
			t.Fatalf("step %d: found %q via %q, want %q via %q", i, loc.Path, loc.Source, step.path, step.source)
		}
		if len(loc.Looked) != i+1 {
			t.Errorf("step %d: looked at %d places (%v), want %d", i, len(loc.Looked), loc.Looked, i+1)
		}
		got, err := Find(testBinary)
		if err != nil || got != step.path {
			t.Fatalf("step %d: Find = %q, %v; want %q", i, got, err, step.path)
		}
		if err := os.Remove(step.path); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Find(testBinary)
	var nf *NotFoundError
	if !errors.As(err, &nf) || !IsNotFound(err) {
		t.Fatalf("Find after removing every copy: err = %v, want *NotFoundError", err)
	}
	if len(nf.Looked) != len(steps) {
		t.Errorf("error lists %d places, want %d: %v", len(nf.Looked), len(steps), nf.Looked)
	}
}

func TestFindSkipsNonExecutable(t *testing.T) {
	f := newFinderFixture(t)
	if err := os.Chmod(f.explicit, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(f.kubebuilder); err != nil {
		t.Fatal(err)
	}
	// A directory of the binary's name is not a binary either.
	if err := os.Remove(f.cache); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(f.cache, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Find(testBinary)
	if err != nil || got != f.cwd {
		t.Fatalf("Find = %q, %v; want %q", got, err, f.cwd)
	}
}

func TestFindUnsetVariables(t *testing.T) {
	f := newFinderFixture(t)
	t.Setenv(EnvVar(testBinary), "")
	t.Setenv("KUBEBUILDER_ASSETS", "")
	loc := Locate(testBinary)
	if loc.Path != f.cache {
		t.Fatalf("found %q via %q, want the cache %q", loc.Path, loc.Source, f.cache)
	}
	want := []string{"$" + EnvVar(testBinary) + " (unset)", "$KUBEBUILDER_ASSETS (unset)", f.cache}
	for i, p := range loc.Looked {
		if p.String() != want[i] {
			t.Errorf("place %d = %q, want %q", i, p.String(), want[i])
		}
	}
}

// TestNotFoundMessage checks the one-line error: every place looked at, in
// order, and both ways to get the binaries.
func TestNotFoundMessage(t *testing.T) {
	root := t.TempDir()
	t.Setenv(EnvVar(testBinary), filepath.Join(root, "nowhere", testBinary))
	t.Setenv("KUBEBUILDER_ASSETS", "")
	t.Setenv("XDG_CACHE_HOME", filepath.Join(root, "cache"))
	t.Setenv("PATH", filepath.Join(root, "path"))
	t.Chdir(root)

	_, err := Find(testBinary)
	if err == nil {
		t.Fatal("Find succeeded with no binary anywhere")
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error spans several lines: %q", msg)
	}
	wantInOrder := []string{
		"find " + testBinary + ": not found in ",
		"$" + EnvVar(testBinary) + " (" + filepath.Join(root, "nowhere", testBinary) + ")",
		"$KUBEBUILDER_ASSETS (unset)",
		filepath.Join(root, "cache", "irsa-local", "k8s", KubernetesVersion, testBinary),
		filepath.Join(root, "bin", "k8s", testBinary),
		"$PATH",
		"make k8s-assets",
		"irsa-local assets build",
	}
	rest := msg
	for _, w := range wantInOrder {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("error %q lacks %q (or has it out of order)", msg, w)
		}
		rest = rest[i+len(w):]
	}
	// root is no checkout, so no second bin/k8s is listed.
	if strings.Count(msg, "/bin/k8s/") != 1 {
		t.Errorf("error lists a checkout outside any: %q", msg)
	}
}

func TestCacheDirFollowsXDG(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/some/cache")
	got, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := "/some/cache/irsa-local/k8s/" + KubernetesVersion; got != want {
		t.Errorf("CacheDir = %q, want %q", got, want)
	}
	tools, err := ToolsDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := "/some/cache/irsa-local/k8s-tools-" + KubernetesVersion; tools != want {
		t.Errorf("ToolsDir = %q, want %q", tools, want)
	}
}

func TestCheckoutRoot(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := checkoutRoot(deep); got != "" {
		t.Errorf("checkoutRoot outside a checkout = %q, want none", got)
	}
	// Another module's go.mod on the way up is not irsa-local's.
	if err := os.WriteFile(filepath.Join(root, "a", "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("// comment\nmodule \""+modulePath+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := checkoutRoot(deep); got != root {
		t.Errorf("checkoutRoot = %q, want %q", got, root)
	}
}
