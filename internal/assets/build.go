package assets

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/irsa-local/irsa-local/internal/fsutil"
)

// StampFile is the file in a build directory recording which version of each
// binary Build put there. A binary without an entry, or with another
// version, is rebuilt.
const StampFile = "versions.json"

// kubernetesReleaseDate is the publication time of k8s.io/kubernetes v1.37.2
// on the module proxy. It is the buildDate `kubectl version` and
// /version report, fixed so that builds are reproducible.
const kubernetesReleaseDate = "2026-10-27T12:01:04Z"

// heartbeat is how often Build reports that a long go command still runs:
// a terminal never goes more than 10 s without a line.
const heartbeat = 10 * time.Second

// Option configures Build.
type Option interface {
	apply(*buildOptions) error
}

type optionFunc func(*buildOptions) error

func (f optionFunc) apply(o *buildOptions) error { return f(o) }

type buildOptions struct {
	progress io.Writer
	goCmd    string
	toolsDir string
	names    []string
}

// WithProgress sends progress lines to w (default: discarded). A cold build
// takes minutes; every step and a periodic heartbeat are reported.
func WithProgress(w io.Writer) Option {
	return optionFunc(func(o *buildOptions) error {
		if w != nil {
			o.progress = w
		}
		return nil
	})
}

// WithGo runs the go command at path (default: go from PATH).
func WithGo(path string) Option {
	return optionFunc(func(o *buildOptions) error { o.goCmd = path; return nil })
}

// WithToolsDir keeps the tools module in dir instead of ToolsDir().
func WithToolsDir(dir string) Option {
	return optionFunc(func(o *buildOptions) error { o.toolsDir = dir; return nil })
}

// WithNodeBinaries also builds NodeNames(): kubelet, kubeadm, kube-scheduler
// and kube-proxy, which only a kind node image needs.
func WithNodeBinaries() Option {
	return optionFunc(func(o *buildOptions) error {
		o.names = append(Names(), NodeNames()...)
		return nil
	})
}

// ToolsDir returns <user cache>/irsa-local/k8s-tools-<KubernetesVersion>, the
// stable directory the tools module is built in.
func ToolsDir() (string, error) {
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find user cache directory: %w", err)
	}
	return filepath.Join(c, "irsa-local", "k8s-tools-"+KubernetesVersion), nil
}

// Build makes every binary of Names() (and NodeNames() with
// WithNodeBinaries) in dir, skipping those the stamp file
// says are already there at the right version. It writes the tools module
// to the tools directory, runs go mod tidy when the module changed, and
// builds the missing binaries with one go build, so they share compiled
// packages. Binaries appear in dir only once complete.
func Build(ctx context.Context, dir string, opts ...Option) error {
	o := buildOptions{progress: io.Discard, names: Names()}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt.apply(&o); err != nil {
			return err
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("resolve build directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create build directory: %w", err)
	}
	missing, err := missingOf(dir, o.names)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		fmt.Fprintf(o.progress, "assets: %s already built in %s\n", describe(o.names), dir)
		return nil
	}
	if o.goCmd == "" {
		if o.goCmd, err = exec.LookPath("go"); err != nil {
			return fmt.Errorf("find the go command: %w (install Go, or put it on PATH)", err)
		}
	}
	if o.toolsDir == "" {
		if o.toolsDir, err = ToolsDir(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(o.toolsDir, 0o755); err != nil {
		return fmt.Errorf("create tools directory: %w", err)
	}
	unlock, err := lockDir(ctx, o.toolsDir+".lock", o.progress)
	if err != nil {
		return err
	}
	defer unlock()
	// Another build into dir may have finished while this one waited.
	if missing, err = missingOf(dir, o.names); err != nil || len(missing) == 0 {
		return err
	}

	b := &builder{buildOptions: o, log: filepath.Join(o.toolsDir, "build.log")}
	if err := os.WriteFile(b.log, nil, 0o644); err != nil {
		return fmt.Errorf("create build log: %w", err)
	}
	if err := b.prepare(ctx); err != nil {
		return err
	}
	return b.build(ctx, dir, missing)
}

// Missing returns the binaries of Names() that Build would make in dir:
// those absent, not executable, or not stamped with their version.
func Missing(dir string) ([]string, error) {
	return missingOf(dir, Names())
}

func missingOf(dir string, names []string) ([]string, error) {
	stamp, err := readStamp(dir)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, name := range names {
		if !isExecutable(filepath.Join(dir, name)) || stamp[name] != Version(name) {
			missing = append(missing, name)
		}
	}
	return missing, nil
}

func describe(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + " " + Version(n)
	}
	return strings.Join(parts, ", ")
}

type builder struct {
	buildOptions
	log string
}

// prepare writes the tools module and tidies it, unless the same module was
// already tidied there: tidy resolves hundreds of modules.
func (b *builder) prepare(ctx context.Context) error {
	files, err := toolsFiles()
	if err != nil {
		return err
	}
	// go.mod.in keeps the rendered go.mod; tidy rewrites go.mod itself.
	recorded := filepath.Join(b.toolsDir, "go.mod.in")
	if prev, err := os.ReadFile(recorded); err == nil && bytes.Equal(prev, files["go.mod"]) {
		main, _ := os.ReadFile(filepath.Join(b.toolsDir, "etcd", "main.go"))
		_, errSum := os.Stat(filepath.Join(b.toolsDir, "go.sum"))
		if bytes.Equal(main, files["etcd/main.go"]) && errSum == nil {
			return nil
		}
	}
	for name, content := range files {
		path := filepath.Join(b.toolsDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("create tools module: %w", err)
		}
		if err := fsutil.WriteFileAtomic(path, content, 0o644); err != nil {
			return fmt.Errorf("write tools module: %w", err)
		}
	}
	if err := b.run(ctx, "go mod tidy", b.goCmd, "mod", "tidy"); err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(recorded, files["go.mod"], 0o644); err != nil {
		return fmt.Errorf("write tools module: %w", err)
	}
	return nil
}

// ldflags sets the version every Kubernetes component reports, in both
// packages the Kubernetes build sets it in (client-go's is what kubectl
// prints as its client version), and strips symbols as release builds do.
func ldflags() string {
	major, minor := "1", ""
	if parts := strings.SplitN(strings.TrimPrefix(KubernetesVersion, "v"), ".", 3); len(parts) >= 2 {
		major, minor = parts[0], parts[1]
	}
	vars := [][2]string{
		{"gitVersion", KubernetesVersion},
		{"gitMajor", major},
		{"gitMinor", minor},
		{"gitTreeState", "clean"},
		{"buildDate", kubernetesReleaseDate},
	}
	flags := []string{"-s", "-w"}
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		for _, v := range vars {
			flags = append(flags, "-X", pkg+"."+v[0]+"="+v[1])
		}
	}
	return strings.Join(flags, " ")
}

func (b *builder) build(ctx context.Context, dir string, names []string) error {
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return fmt.Errorf("create build directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	args := []string{"build", "-v", "-trimpath", "-ldflags", ldflags(), "-o", tmp + string(filepath.Separator)}
	for _, name := range names {
		if name == Etcd {
			args = append(args, etcdPackage)
		} else {
			args = append(args, kubernetesPackages[name])
		}
	}
	if err := b.run(ctx, "go build "+strings.Join(names, " "), b.goCmd, args...); err != nil {
		return err
	}
	stamp, err := readStamp(dir)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("install %s: %w", name, err)
		}
		stamp[name] = Version(name)
	}
	if err := writeStamp(dir, stamp); err != nil {
		return err
	}
	fmt.Fprintf(b.progress, "assets: built %s in %s\n", describe(names), dir)
	return nil
}

// run runs one go command in the tools directory. Its output goes to the
// build log; progress gets a line when it starts and ends, and a heartbeat
// with the number of output lines (packages, for go build -v) meanwhile.
func (b *builder) run(ctx context.Context, step, name string, args ...string) error {
	logf, err := os.OpenFile(b.log, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open build log: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "$ %s %s\n", name, strings.Join(args, " "))
	fmt.Fprintf(b.progress, "assets: %s (in %s)\n", step, b.toolsDir)

	pr, pw := io.Pipe()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = b.toolsDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-buildvcs=false")
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.WaitDelay = 10 * time.Second

	var mu sync.Mutex
	lines, last := 0, ""
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			mu.Lock()
			lines++
			last = sc.Text()
			mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, pr)
	}()

	start := time.Now()
	if err := cmd.Start(); err != nil {
		pw.Close()
		<-scanned
		return fmt.Errorf("%s: %w", step, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			pw.Close()
			<-scanned
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("%s: %w", step, ctx.Err())
				}
				return fmt.Errorf("%s: %w; last output: %q; full log: %s", step, err, last, b.log)
			}
			fmt.Fprintf(b.progress, "assets: %s done in %s\n", step, time.Since(start).Round(time.Second))
			return nil
		case <-tick.C:
			mu.Lock()
			n := lines
			mu.Unlock()
			fmt.Fprintf(b.progress, "assets: %s still running after %s (%d lines of output so far)\n", step, time.Since(start).Round(time.Second), n)
		}
	}
}

func readStamp(dir string) (map[string]string, error) {
	stamp := map[string]string{}
	b, err := os.ReadFile(filepath.Join(dir, StampFile))
	if errors.Is(err, fs.ErrNotExist) {
		return stamp, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", StampFile, err)
	}
	if err := json.Unmarshal(b, &stamp); err != nil {
		// A damaged stamp only costs a rebuild.
		return map[string]string{}, nil
	}
	return stamp, nil
}

func writeStamp(dir string, stamp map[string]string) error {
	b, err := json.MarshalIndent(stamp, "", "  ")
	if err != nil {
		return fmt.Errorf("marshal %s: %w", StampFile, err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, StampFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", StampFile, err)
	}
	return nil
}

// lockDir takes an exclusive lock on path, so that two builds sharing the
// tools directory (make k8s-assets and a test run, say) take turns.
func lockDir(ctx context.Context, path string, progress io.Writer) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open build lock: %w", err)
	}
	waiting := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !waiting {
			fmt.Fprintf(progress, "assets: waiting for another build holding %s\n", path)
			waiting = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for build lock: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}
