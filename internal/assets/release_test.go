package assets

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// releaseServer serves a release mirror from this machine: each binary a
// small program that prints its name and version, in Kubernetes' layout and
// etcd's archive with its SHA256SUMS. Faults are injected per path.
type releaseServer struct {
	*httptest.Server
	files map[string][]byte

	mu        sync.Mutex
	broken    map[string]string // path -> "404", "truncate", "corrupt"
	downloads atomic.Int64
}

func program(name string) []byte {
	return []byte("#!/bin/sh\necho " + name + " " + Version(name) + "\n")
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func newReleaseServer(t *testing.T) *releaseServer {
	t.Helper()
	rs := &releaseServer{files: map[string][]byte{}, broken: map[string]string{}}
	for _, name := range append(Names(), NodeNames()...) {
		if name == Etcd {
			continue
		}
		p := fmt.Sprintf("/release/%s/bin/linux/%s/%s", KubernetesVersion, runtime.GOARCH, name)
		rs.files[p] = program(name)
		rs.files[p+".sha256"] = []byte(sum(program(name)))
	}
	archive := fmt.Sprintf("etcd-%s-linux-%s", EtcdVersion, runtime.GOARCH)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, m := range []struct {
		name string
		body []byte
	}{{archive + "/README.md", []byte("etcd\n")}, {archive + "/etcdctl", program("etcdctl")}, {archive + "/etcd", program(Etcd)}} {
		_ = tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o755, Size: int64(len(m.body)), Typeflag: tar.TypeReg})
		_, _ = tw.Write(m.body)
	}
	_ = tw.Close()
	_ = zw.Close()
	etcdDir := "/etcd/" + EtcdVersion
	rs.files[etcdDir+"/"+archive+".tar.gz"] = buf.Bytes()
	rs.files[etcdDir+"/SHA256SUMS"] = []byte(sum([]byte("other")) + "  etcd-other.zip\n" + sum(buf.Bytes()) + "  " + archive + ".tar.gz\n")

	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		fault := rs.broken[r.URL.Path]
		rs.mu.Unlock()
		b, ok := rs.files[r.URL.Path]
		if !ok || fault == "404" {
			http.NotFound(w, r)
			return
		}
		if !strings.HasSuffix(r.URL.Path, ".sha256") && !strings.HasSuffix(r.URL.Path, "SUMS") {
			rs.downloads.Add(1)
		}
		switch fault {
		case "corrupt":
			b = append(append([]byte{}, b...), "# tampered\n"...)
		case "truncate":
			// Promise the whole body, send half, and hang up.
			w.Header().Set("Content-Length", fmt.Sprint(len(b)))
			_, _ = w.Write(b[:len(b)/2])
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *releaseServer) breakPath(path, fault string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.broken[path] = fault
}

func k8sPath(name string) string {
	return fmt.Sprintf("/release/%s/bin/linux/%s/%s", KubernetesVersion, runtime.GOARCH, name)
}

// leftovers lists what is in dir but the installed binaries, the stamp and
// the lock: a failed download must leave nothing behind.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		switch e.Name() {
		case StampFile, ".fetch.lock", Etcd, KubeAPIServer, KubeControllerManager, Kubectl:
		default:
			out = append(out, e.Name())
		}
	}
	return out
}

func TestFetchInstallsVerifiedReleaseBinaries(t *testing.T) {
	rs := newReleaseServer(t)
	dir := t.TempDir()
	var progress bytes.Buffer
	if err := Fetch(context.Background(), dir, Mirror(rs.URL), Names(), &progress); err != nil {
		t.Fatal(err)
	}
	for _, name := range Names() {
		out, err := exec.Command(filepath.Join(dir, name)).Output()
		if err != nil || strings.TrimSpace(string(out)) != name+" "+Version(name) {
			t.Errorf("%s runs as %q (%v), want the served program", name, out, err)
		}
		if !strings.Contains(progress.String(), name+" "+Version(name)+" verified and installed") {
			t.Errorf("progress does not report %s:\n%s", name, progress.String())
		}
	}
	if missing, err := Missing(dir); err != nil || len(missing) != 0 {
		t.Fatalf("after Fetch, Missing says %v (%v)", missing, err)
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Fatalf("Fetch left %v", l)
	}
	// Installed binaries are not fetched again.
	before := rs.downloads.Load()
	if err := Fetch(context.Background(), dir, Mirror(rs.URL), Names(), nil); err != nil || rs.downloads.Load() != before {
		t.Fatalf("a second Fetch downloaded %d file(s) (%v)", rs.downloads.Load()-before, err)
	}
}

func TestFetchRefusesWhatIsNotThePublishedFile(t *testing.T) {
	cases := map[string]struct {
		path, fault, want string
		is                error
	}{
		"checksum mismatch": {k8sPath(KubeAPIServer), "corrupt", "its SHA-256 is", ErrChecksum},
		"truncated body":    {k8sPath(KubeAPIServer), "truncate", "download", nil},
		"no such file":      {k8sPath(Kubectl), "404", "404 Not Found", nil},
		"no checksum":       {k8sPath(Kubectl) + ".sha256", "404", "404 Not Found", nil},
		"etcd tampered":     {fmt.Sprintf("/etcd/%s/etcd-%s-linux-%s.tar.gz", EtcdVersion, EtcdVersion, runtime.GOARCH), "corrupt", "its SHA-256 is", ErrChecksum},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			rs := newReleaseServer(t)
			rs.breakPath(c.path, c.fault)
			dir := t.TempDir()
			err := Fetch(context.Background(), dir, Mirror(rs.URL), Names(), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Fetch: %v, want an error saying %q", err, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("Fetch: %v, want %v", err, c.is)
			}
			if errors.Is(err, ErrUnreachable) {
				t.Fatalf("Fetch: %v: a server that answered is not unreachable", err)
			}
			broken := filepath.Base(strings.TrimSuffix(c.path, ".sha256"))
			if strings.HasPrefix(broken, "etcd-") {
				broken = Etcd
			}
			if _, err := os.Stat(filepath.Join(dir, broken)); err == nil {
				t.Fatalf("%s was installed", broken)
			}
			if missing, _ := Missing(dir); !contains(missing, broken) {
				t.Fatalf("Missing %v does not name %s", missing, broken)
			}
			if l := leftovers(t, dir); len(l) != 0 {
				t.Fatalf("Fetch left %v", l)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A fetch killed mid-download (kill -9) leaves a temporary file and no
// binary; the next fetch removes the file and installs the binary.
func TestFetchCleansUpAfterAKilledFetch(t *testing.T) {
	rs := newReleaseServer(t)
	dir := t.TempDir()
	for _, name := range []string{".download-123", ".extract-456"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("half a binary"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := Fetch(context.Background(), dir, Mirror(rs.URL), Names(), nil); err != nil {
		t.Fatal(err)
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Fatalf("after a killed fetch, the next left %v", l)
	}
}

func TestFetchTellsAnUnreachableServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	err = Fetch(context.Background(), t.TempDir(), Mirror("http://"+addr), Names(), nil)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Fetch: %v, want ErrUnreachable", err)
	}
}

func TestConcurrentFetchesShareOneDirectory(t *testing.T) {
	rs := newReleaseServer(t)
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = Fetch(context.Background(), dir, Mirror(rs.URL), Names(), io.Discard)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := rs.downloads.Load(); n != int64(len(Names())) {
		t.Fatalf("%d downloads for %d binaries: the fetches did not take turns", n, len(Names()))
	}
	if missing, _ := Missing(dir); len(missing) != 0 {
		t.Fatalf("missing after concurrent fetches: %v", missing)
	}
}

// fakeBuild stands in for the source build (minutes of compiling) where
// the tests only ask whether Install falls back to it.
func fakeBuild(t *testing.T) *atomic.Int64 {
	t.Helper()
	var calls atomic.Int64
	saved := buildFromSource
	buildFromSource = func(context.Context, string, ...Option) error { calls.Add(1); return nil }
	t.Cleanup(func() { buildFromSource = saved })
	return &calls
}

func TestInstallFallsBackToSourceOnlyWhenAllowed(t *testing.T) {
	rs := newReleaseServer(t)
	rs.breakPath(k8sPath(KubeAPIServer), "corrupt")
	for _, c := range []struct {
		from      From
		wantBuild int64
		wantErr   bool
	}{{FromAuto, 1, false}, {FromRelease, 0, true}, {FromSource, 1, false}} {
		t.Run(string(c.from), func(t *testing.T) {
			calls := fakeBuild(t)
			var progress bytes.Buffer
			err := Install(context.Background(), t.TempDir(), c.from, Mirror(rs.URL), WithProgress(&progress))
			if (err != nil) != c.wantErr || calls.Load() != c.wantBuild {
				t.Fatalf("Install --from %s: err %v, %d source build(s); want error %v, %d", c.from, err, calls.Load(), c.wantErr, c.wantBuild)
			}
			if c.from == FromAuto && !strings.Contains(progress.String(), "building from source instead: download ") {
				t.Fatalf("the fallback does not say why:\n%s", progress.String())
			}
		})
	}
}

func TestParseFrom(t *testing.T) {
	for in, want := range map[string]From{"": FromAuto, "auto": FromAuto, "release": FromRelease, "source": FromSource} {
		if got, err := ParseFrom(in); err != nil || got != want {
			t.Errorf("ParseFrom(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFrom("binary"); err == nil {
		t.Error("ParseFrom accepted binary")
	}
}

func TestDefaultReleaseTakesTheMirror(t *testing.T) {
	t.Setenv(MirrorEnv, "http://mirror.example/k8s/")
	if got := DefaultRelease(); got.Kubernetes != "http://mirror.example/k8s" || got.Etcd != "http://mirror.example/k8s/etcd" {
		t.Fatalf("DefaultRelease with %s: %+v", MirrorEnv, got)
	}
	t.Setenv(MirrorEnv, "")
	if got := DefaultRelease(); got.Kubernetes != DefaultKubernetesReleaseURL || got.Etcd != DefaultEtcdReleaseURL {
		t.Fatalf("DefaultRelease: %+v", got)
	}
}
