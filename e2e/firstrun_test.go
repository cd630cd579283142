package e2e

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// releaseMirror serves the suite's Kubernetes binaries in the layout of
// the release servers, as hack/release-mirror.sh writes it: Kubernetes'
// tree with a .sha256 per binary at the root, etcd's archive with its
// SHA256SUMS under /etcd/<version>/. It counts the binaries served.
func releaseMirror(k8sVersion, etcdVersion string) (*httptest.Server, *atomic.Int64) {
	files := map[string][]byte{}
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	for _, name := range []string{"kube-apiserver", "kube-controller-manager", "kubectl"} {
		b, err := os.ReadFile(filepath.Join(k8sAssets, name))
		Expect(err).NotTo(HaveOccurred())
		p := "/release/" + k8sVersion + "/bin/linux/" + runtime.GOARCH + "/" + name
		files[p], files[p+".sha256"] = b, []byte(sum(b)+"\n")
	}
	etcd, err := os.ReadFile(filepath.Join(k8sAssets, "etcd"))
	Expect(err).NotTo(HaveOccurred())
	pkg := "etcd-" + etcdVersion + "-linux-" + runtime.GOARCH
	var archive strings.Builder
	zw := gzip.NewWriter(&archive)
	tw := tar.NewWriter(zw)
	Expect(tw.WriteHeader(&tar.Header{Name: pkg + "/etcd", Mode: 0o755, Size: int64(len(etcd)), Typeflag: tar.TypeReg})).To(Succeed())
	_, err = tw.Write(etcd)
	Expect(err).NotTo(HaveOccurred())
	Expect(tw.Close()).To(Succeed())
	Expect(zw.Close()).To(Succeed())
	dir := "/etcd/" + etcdVersion + "/"
	files[dir+pkg+".tar.gz"] = []byte(archive.String())
	files[dir+"SHA256SUMS"] = []byte(sum(files[dir+pkg+".tar.gz"]) + "  " + pkg + ".tar.gz\n")

	// Handlers run on the server's goroutines, the spec reads it on its own.
	served := new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if !strings.HasSuffix(r.URL.Path, ".sha256") && !strings.HasSuffix(r.URL.Path, "SHA256SUMS") {
			served.Add(1)
		}
		_, _ = w.Write(b)
	}))
	DeferCleanup(srv.Close)
	return srv, served
}

var _ = Describe("a first run on a machine without the Kubernetes binaries", Label("local"), func() {
	It("up downloads the release binaries into the user cache, checks them and starts the cluster", func() {
		requireCluster()
		w := newWorld()
		version := func(args ...string) string {
			out, err := exec.Command(filepath.Join(k8sAssets, args[0]), args[1:]...).Output()
			Expect(err).NotTo(HaveOccurred())
			return string(out)
		}
		k8sVersion := strings.Fields(version("kube-apiserver", "--version"))[1]
		etcdVersion := "v" + strings.TrimSpace(strings.TrimPrefix(strings.Split(version("etcd", "--version"), "\n")[0], "etcd Version:"))
		mirror, served := releaseMirror(k8sVersion, etcdVersion)
		cache := filepath.Join(w.home, ".cache")
		installed := filepath.Join(cache, "irsa-local", "k8s", k8sVersion)
		// Nothing of the suite's: no KUBEBUILDER_ASSETS, an empty cache, a
		// PATH without Kubernetes binaries, and only the mirror to fetch from.
		env := w.env[:0:0]
		for _, kv := range w.env {
			k, _, _ := strings.Cut(kv, "=")
			if k != "KUBEBUILDER_ASSETS" && k != "XDG_CACHE_HOME" && k != "PATH" && !strings.HasPrefix(k, "IRSA_LOCAL_ASSETS") {
				env = append(env, kv)
			}
		}
		w.env = append(env, "XDG_CACHE_HOME="+cache, "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
			"IRSA_LOCAL_RELEASE_MIRROR="+mirror.URL, "IRSA_LOCAL_ASSETS_FROM=release")

		_, errOut, code := w.run("up")
		Expect(code).To(Equal(0), errOut)
		Expect(errOut).To(ContainSubstring("etcd, kube-apiserver, kube-controller-manager"))
		Expect(errOut).To(ContainSubstring("not found; installing the Kubernetes " + k8sVersion + " binaries into " + installed))
		Expect(served.Load()).To(BeEquivalentTo(4), "each binary downloaded once")
		s := w.status()
		Expect(s.Cluster.Mode).To(Equal("local"))
		// The environment runs in the serving binary built beside irsa-local.
		exe, err := os.Readlink("/proc/" + strconv.Itoa(s.PID) + "/exe")
		Expect(err).NotTo(HaveOccurred())
		Expect(exe).To(Equal(filepath.Join(filepath.Dir(binary), "irsa-local-serve")))
		for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kubectl"} {
			got, err := os.ReadFile(filepath.Join(installed, name))
			Expect(err).NotTo(HaveOccurred(), name)
			want, err := os.ReadFile(filepath.Join(k8sAssets, name))
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(want), name+" installed as served")
		}
		w.must("down")

		// The second up finds them and downloads nothing.
		_, errOut, code = w.run("up")
		Expect(code).To(Equal(0), errOut)
		Expect(errOut).NotTo(ContainSubstring("installing"))
		Expect(served.Load()).To(BeEquivalentTo(4))
	})
})
