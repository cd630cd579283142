package assets

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGo records each invocation (with the variables Build sets) in
// $FAKE_GO_LOG, creates go.sum on "mod tidy", and writes a stub binary for
// every package "build" names into its -o directory. It lets the tests check
// Build's steps without compiling Kubernetes.
const fakeGo = `#!/bin/sh
echo "CGO_ENABLED=$CGO_ENABLED GOWORK=$GOWORK GOFLAGS=$GOFLAGS $*" >> "$FAKE_GO_LOG"
case "$1 $2" in
"mod tidy") : > go.sum ;;
esac
if [ "$1" = build ]; then
	out=""; prev=""
	for a in "$@"; do [ "$prev" = "-o" ] && out="$a"; prev="$a"; done
	for a in "$@"; do
		case "$a" in
		k8s.io/kubernetes/cmd/*|./etcd) n=$(basename "$a"); printf '#!/bin/sh\n' > "$out$n"; chmod +x "$out$n" ;;
		esac
	done
fi
`

type fakeGoRun struct {
	goCmd, logFile, toolsDir string
}

func newFakeGo(t *testing.T) fakeGoRun {
	t.Helper()
	root := t.TempDir()
	f := fakeGoRun{
		goCmd:    filepath.Join(root, "go"),
		logFile:  filepath.Join(root, "go.log"),
		toolsDir: filepath.Join(root, "tools"),
	}
	if err := os.WriteFile(f.goCmd, []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_GO_LOG", f.logFile)
	return f
}

// calls returns the invocations recorded since the last call.
func (f fakeGoRun) calls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(f.logFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(f.logFile); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestBuildStepsAndSkipping(t *testing.T) {
	fg := newFakeGo(t)
	dir := t.TempDir()
	ctx := context.Background()
	var progress bytes.Buffer
	opts := []Option{WithGo(fg.goCmd), WithToolsDir(fg.toolsDir), WithProgress(&progress)}

	if err := Build(ctx, dir, opts...); err != nil {
		t.Fatalf("Build: %v\n%s", err, progress.String())
	}
	calls := fg.calls(t)
	if len(calls) != 2 || !strings.HasSuffix(calls[0], " mod tidy") || !strings.Contains(calls[1], " build ") {
		t.Fatalf("first build ran %q, want go mod tidy then go build", calls)
	}
	for _, want := range []string{
		"CGO_ENABLED=0 GOWORK=off GOFLAGS=-buildvcs=false ",
		" -trimpath ",
		"-X k8s.io/component-base/version.gitVersion=v1.37.2",
		" ./etcd",
		" k8s.io/kubernetes/cmd/kube-apiserver",
		" k8s.io/kubernetes/cmd/kube-controller-manager",
		" k8s.io/kubernetes/cmd/kubectl",
	} {
		if !strings.Contains(calls[1], want) {
			t.Errorf("go build call %q lacks %q", calls[1], want)
		}
	}
	for _, name := range Names() {
		if !isExecutable(filepath.Join(dir, name)) {
			t.Errorf("%s not installed in %s", name, dir)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, StampFile))
	if err != nil {
		t.Fatal(err)
	}
	var stamp map[string]string
	if err := json.Unmarshal(b, &stamp); err != nil {
		t.Fatal(err)
	}
	for _, name := range Names() {
		if stamp[name] != Version(name) {
			t.Errorf("stamp has %s %q, want %q", name, stamp[name], Version(name))
		}
	}
	for _, f := range []string{"go.mod", "go.mod.in", "etcd/main.go", "build.log"} {
		if _, err := os.Stat(filepath.Join(fg.toolsDir, f)); err != nil {
			t.Errorf("tools module: %v", err)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".build-*")); len(leftovers) != 0 {
		t.Errorf("temporary build directories left behind: %v", leftovers)
	}

	// Everything present at the right version: no go command at all.
	progress.Reset()
	if err := Build(ctx, dir, opts...); err != nil {
		t.Fatal(err)
	}
	if calls := fg.calls(t); len(calls) != 0 {
		t.Errorf("up-to-date build ran %q", calls)
	}
	if !strings.Contains(progress.String(), "already built") {
		t.Errorf("progress = %q, want it to say the binaries are already built", progress.String())
	}

	// One binary gone and another stamped with an old version: only those
	// two are built, and the tidied module is reused.
	if err := os.Remove(filepath.Join(dir, Kubectl)); err != nil {
		t.Fatal(err)
	}
	stamp[Etcd] = "v3.6.16"
	if err := writeStamp(dir, stamp); err != nil {
		t.Fatal(err)
	}
	missing, err := Missing(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(missing, ",") != "etcd,kubectl" {
		t.Errorf("Missing = %v, want [etcd kubectl]", missing)
	}
	if err := Build(ctx, dir, opts...); err != nil {
		t.Fatal(err)
	}
	calls = fg.calls(t)
	if len(calls) != 1 || !strings.Contains(calls[0], " build ") {
		t.Fatalf("partial rebuild ran %q, want a single go build", calls)
	}
	if strings.Contains(calls[0], "kube-apiserver") || !strings.Contains(calls[0], "./etcd") || !strings.Contains(calls[0], "cmd/kubectl") {
		t.Errorf("partial rebuild built the wrong set: %q", calls[0])
	}
	if m, _ := Missing(dir); len(m) != 0 {
		t.Errorf("after rebuild Missing = %v", m)
	}
}

func TestBuildFailureNamesLog(t *testing.T) {
	root := t.TempDir()
	failing := filepath.Join(root, "go")
	if err := os.WriteFile(failing, []byte("#!/bin/sh\necho 'cannot find module providing package x' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tools := filepath.Join(root, "tools")
	err := Build(context.Background(), filepath.Join(root, "out"), WithGo(failing), WithToolsDir(tools))
	if err == nil {
		t.Fatal("Build succeeded with a failing go command")
	}
	msg := err.Error()
	for _, want := range []string{"go mod tidy", "exit status 1", "cannot find module providing package x", filepath.Join(tools, "build.log")} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	// A failed tidy is not recorded as done.
	if _, err := os.Stat(filepath.Join(tools, "go.mod.in")); err == nil {
		t.Error("go.mod.in written although tidy failed")
	}
}
