package assets

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
)

// Where the official release binaries are published. Kubernetes serves
// each binary and its .sha256 at
// <base>/release/<version>/bin/linux/<arch>/<name>, the layout kubeadm's
// install guide downloads from; etcd publishes a tar.gz per platform and a
// SHA256SUMS file at <base>/<version>/.
const (
	DefaultKubernetesReleaseURL = "https://dl.k8s.io"
	DefaultEtcdReleaseURL       = "https://github.com/etcd-io/etcd/releases/download"
)

// MirrorEnv names a mirror serving both: the Kubernetes layout at its root
// and etcd's under <mirror>/etcd/<version>/.
const MirrorEnv = "IRSA_LOCAL_RELEASE_MIRROR"

// ErrUnreachable is returned by Fetch when the release server cannot be
// reached at all: no DNS, no route, a refused or timed-out connection.
var ErrUnreachable = errors.New("release server unreachable")

// ErrChecksum is returned by Fetch when a downloaded file's SHA-256 is not
// the published one. The file is removed, never installed.
var ErrChecksum = errors.New("checksum mismatch")

// From says where Install takes the binaries from.
type From string

// Where binaries can come from.
const (
	// FromAuto downloads the release binaries and builds from source when
	// that fails, saying why.
	FromAuto    From = "auto"
	FromRelease From = "release"
	FromSource  From = "source"
)

// ParseFrom reads a --from value.
func ParseFrom(s string) (From, error) {
	switch f := From(s); f {
	case FromAuto, FromRelease, FromSource:
		return f, nil
	case "":
		return FromAuto, nil
	}
	return "", fmt.Errorf("--from %q: want auto, release or source", s)
}

// Release points at the servers the release binaries come from.
type Release struct {
	Kubernetes string // base of /release/<version>/bin/linux/<arch>/<name>
	Etcd       string // base of /<version>/etcd-<version>-linux-<arch>.tar.gz
}

// DefaultRelease is the official servers, or the mirror of MirrorEnv.
func DefaultRelease() Release {
	if m := strings.TrimRight(os.Getenv(MirrorEnv), "/"); m != "" {
		return Mirror(m)
	}
	return Release{Kubernetes: DefaultKubernetesReleaseURL, Etcd: DefaultEtcdReleaseURL}
}

// Mirror is a single server holding both layouts: Kubernetes' at its root,
// etcd's under /etcd.
func Mirror(base string) Release {
	base = strings.TrimRight(base, "/")
	return Release{Kubernetes: base, Etcd: base + "/etcd"}
}

// connectTimeout bounds reaching the server, so an offline machine falls
// back to the source build in seconds.
const connectTimeout = 5 * time.Second

// maxBinary bounds one download: the largest release binary
// (kube-apiserver) is about 100 MB.
const maxBinary = 512 << 20

// releaseClient fails fast when the server cannot be reached and otherwise
// lets a slow download run; ctx bounds it as a whole.
func releaseClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: connectTimeout}).DialContext
	t.TLSHandshakeTimeout = connectTimeout
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t}
}

type fetcher struct {
	rel      Release
	client   *http.Client
	progress io.Writer
	arch     string
}

// Fetch downloads the release binaries of names missing from dir, checks
// each against its published SHA-256, and installs it atomically (a
// temporary file in dir, renamed once verified), recording its version in
// the stamp file as Build does. Concurrent fetches into one dir take turns.
func Fetch(ctx context.Context, dir string, rel Release, names []string, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	f := &fetcher{rel: rel, client: releaseClient(), progress: progress, arch: runtime.GOARCH}
	return f.fetch(ctx, dir, names)
}

func (f *fetcher) fetch(ctx context.Context, dir string, names []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	unlock, err := lockDir(ctx, filepath.Join(dir, ".fetch.lock"), f.progress)
	if err != nil {
		return err
	}
	defer unlock()
	// Only a fetch holding the lock writes temporary files here, so any
	// found now are what a killed one left.
	stale, _ := filepath.Glob(filepath.Join(dir, ".download-*"))
	extracts, _ := filepath.Glob(filepath.Join(dir, ".extract-*"))
	for _, p := range append(stale, extracts...) {
		_ = os.Remove(p)
	}
	missing, err := missingOf(dir, names)
	if err != nil {
		return err
	}
	for _, name := range missing {
		start := time.Now()
		var n int64
		if name == Etcd {
			n, err = f.etcd(ctx, dir)
		} else {
			n, err = f.kubernetes(ctx, dir, name)
		}
		if err != nil {
			return err
		}
		stamp, err := readStamp(dir)
		if err != nil {
			return err
		}
		stamp[name] = Version(name)
		if err := writeStamp(dir, stamp); err != nil {
			return err
		}
		fmt.Fprintf(f.progress, "assets: %s %s verified and installed (%.1f MB in %s)\n", name, Version(name), float64(n)/1e6, time.Since(start).Round(100*time.Millisecond))
	}
	return nil
}

func (f *fetcher) kubernetes(ctx context.Context, dir, name string) (int64, error) {
	url := fmt.Sprintf("%s/release/%s/bin/linux/%s/%s", f.rel.Kubernetes, KubernetesVersion, f.arch, name)
	sum, err := f.small(ctx, url+".sha256")
	if err != nil {
		return 0, err
	}
	want, _, _ := strings.Cut(strings.TrimSpace(sum), " ")
	if !isSHA256(want) {
		return 0, fmt.Errorf("read %s.sha256: %q is no SHA-256", url, clip(sum))
	}
	fmt.Fprintf(f.progress, "assets: downloading %s %s from %s\n", name, Version(name), url)
	tmp, n, err := f.download(ctx, dir, url, want)
	if err != nil {
		return 0, err
	}
	return n, install(tmp, filepath.Join(dir, name))
}

func (f *fetcher) etcd(ctx context.Context, dir string) (int64, error) {
	base := fmt.Sprintf("%s/%s", f.rel.Etcd, EtcdVersion)
	archive := fmt.Sprintf("etcd-%s-linux-%s.tar.gz", EtcdVersion, f.arch)
	sums, err := f.small(ctx, base+"/SHA256SUMS")
	if err != nil {
		return 0, err
	}
	var want string
	for _, line := range strings.Split(sums, "\n") {
		if fields := strings.Fields(line); len(fields) == 2 && strings.TrimPrefix(fields[1], "*") == archive {
			want = fields[0]
		}
	}
	if !isSHA256(want) {
		return 0, fmt.Errorf("read %s/SHA256SUMS: no SHA-256 of %s", base, archive)
	}
	url := base + "/" + archive
	fmt.Fprintf(f.progress, "assets: downloading etcd %s from %s\n", EtcdVersion, url)
	tmp, n, err := f.download(ctx, dir, url, want)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp)
	bin, err := extract(tmp, dir, strings.TrimSuffix(archive, ".tar.gz")+"/etcd")
	if err != nil {
		return 0, fmt.Errorf("unpack %s: %w", archive, err)
	}
	return n, install(bin, filepath.Join(dir, Etcd))
}

// get sends a GET, telling an unreachable server (ErrUnreachable) from one
// that answers with an error status.
func (f *fetcher) get(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", url, err)
	}
	res, err := f.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("download %s: %w", url, ctx.Err())
		}
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is said once
		}
		return nil, fmt.Errorf("download %s: %w: %w", url, ErrUnreachable, err)
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("download %s: %s", url, res.Status)
	}
	return res, nil
}

// small reads a checksum file.
func (f *fetcher) small(ctx context.Context, url string) (string, error) {
	res, err := f.get(ctx, url)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("download %s: %w", url, err)
	}
	return string(b), nil
}

// download writes url to a temporary file in dir, hashing it on the way,
// and returns the file only when the body is whole and its SHA-256 is
// want. It reports progress every 10 s.
func (f *fetcher) download(ctx context.Context, dir, url, want string) (path string, n int64, err error) {
	res, err := f.get(ctx, url)
	if err != nil {
		return "", 0, err
	}
	defer res.Body.Close()
	tmp, err := os.CreateTemp(dir, ".download-*")
	if err != nil {
		return "", 0, fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	done := make(chan struct{})
	counter := &countingWriter{}
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(f.progress, "assets: %.1f MB of %s so far\n", float64(counter.load())/1e6, url)
			}
		}
	}()
	n, err = io.Copy(io.MultiWriter(tmp, h, counter), io.LimitReader(res.Body, maxBinary+1))
	close(done)
	if err != nil {
		return "", 0, fmt.Errorf("download %s: %w after %d bytes", url, err, n)
	}
	if n > maxBinary {
		return "", 0, fmt.Errorf("download %s: larger than %d MB, no release binary is", url, maxBinary>>20)
	}
	if res.ContentLength >= 0 && n != res.ContentLength {
		return "", 0, fmt.Errorf("download %s: %d of %d bytes", url, n, res.ContentLength)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return "", 0, fmt.Errorf("download %s: %w: its SHA-256 is %s, the published one %s; it was removed, not installed", url, ErrChecksum, got, want)
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	return tmp.Name(), n, nil
}

// extract copies the archive member named member to a temporary file in
// dir.
func extract(archive, dir, member string) (string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return "", err
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("no %s in the archive", member)
		}
		if err != nil {
			return "", err
		}
		if hdr.Name != member || hdr.Typeflag != tar.TypeReg {
			continue
		}
		out, err := os.CreateTemp(dir, ".extract-*")
		if err != nil {
			return "", err
		}
		if _, err := io.Copy(out, io.LimitReader(tr, maxBinary)); err != nil {
			out.Close()
			os.Remove(out.Name())
			return "", err
		}
		if err := out.Close(); err != nil {
			os.Remove(out.Name())
			return "", err
		}
		return out.Name(), nil
	}
}

// install makes tmp executable and renames it over dst: a reader finds the
// old binary or the new one, never a part.
func install(tmp, dst string) error {
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("install %s: %w", filepath.Base(dst), err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("install %s: %w", filepath.Base(dst), err)
	}
	return nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

type countingWriter struct{ n atomic.Int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

func (c *countingWriter) load() int64 { return c.n.Load() }

// buildFromSource is Build; tests replace it to see Install fall back.
var buildFromSource = Build

// Install puts the binaries Build would make (Names(), and NodeNames() with
// WithNodeBinaries) in dir: the release binaries from rel for FromRelease,
// a source build for FromSource, and for FromAuto the release binaries,
// falling back to the source build, with one line saying why, when a
// download fails in any way (no server, no such file, a broken or
// mismatching body). A mismatching file is never installed.
func Install(ctx context.Context, dir string, from From, rel Release, opts ...Option) error {
	o := buildOptions{progress: io.Discard, names: Names()}
	for _, opt := range opts {
		if opt != nil {
			if err := opt.apply(&o); err != nil {
				return err
			}
		}
	}
	if from == FromSource {
		return buildFromSource(ctx, dir, opts...)
	}
	missing, err := missingOf(dir, o.names)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		fmt.Fprintf(o.progress, "assets: %s already in %s\n", describe(o.names), dir)
		return nil
	}
	err = Fetch(ctx, dir, rel, o.names, o.progress)
	if err == nil || from == FromRelease || ctx.Err() != nil {
		return err
	}
	fmt.Fprintf(o.progress, "assets: building from source instead: %v\n", err)
	return buildFromSource(ctx, dir, opts...)
}
