package e2e

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("environment lifecycle", Label("none"), func() {
	var w *world
	BeforeEach(func() { w = newWorld() })

	It("serves discovery and JWKS over HTTPS trusting only the exported CA, then leaves nothing behind", func() {
		w.must("up", "--cluster", "none")
		s := w.status()
		Expect(s.Running).To(BeTrue())
		Expect(s.Issuer.URL).To(MatchRegexp(`^https://127\.0\.0\.1:\d+/id/[0-9A-F]{32}$`))
		Expect(s.Issuer.JWKSURL).To(Equal(s.Issuer.URL + "/keys"))
		Expect(s.Issuer.CAFile).To(BeAnExistingFile())
		Expect(s.AWS.Region).To(Equal("us-east-1"))
		Expect(s.AWS.AccessKeyID).To(Equal("test"))
		Expect(s.Cluster.Mode).To(Equal("none"))
		Expect(s.Components).To(ContainElement(And(HaveField("Name", "issuer"), HaveField("State", "running"))))

		// curl with only the exported CA: no -k, no system roots needed.
		disc := w.cmd("curl", nil, "-fsS", "--cacert", s.Issuer.CAFile, s.Issuer.URL+"/.well-known/openid-configuration")
		Expect(disc.code).To(Equal(0), disc.stderr)
		var doc map[string]any
		Expect(json.Unmarshal([]byte(disc.stdout), &doc)).To(Succeed())
		Expect(doc).To(HaveKeyWithValue("issuer", s.Issuer.URL))
		Expect(doc).To(HaveKeyWithValue("jwks_uri", s.Issuer.JWKSURL))
		jwks := w.cmd("curl", nil, "-fsS", "--cacert", s.Issuer.CAFile, s.Issuer.JWKSURL)
		Expect(jwks.code).To(Equal(0), jwks.stderr)
		Expect(jwks.stdout).To(ContainSubstring(`"kid"`))
		// Without the CA the server is not trusted.
		Expect(w.cmd("curl", nil, "-fsS", s.Issuer.JWKSURL).code).NotTo(Equal(0))

		tok := w.must("token", "--namespace", "default", "--service-account", "s3-reader")
		out := w.cmd(binary, []byte(tok), "token", "verify", "-")
		Expect(out.code).To(Equal(0), out.stderr)
		Expect(out.stdout).To(ContainSubstring("system:serviceaccount:default:s3-reader"))

		_, port, _ := net.SplitHostPort(s.Issuer.Listen)
		w.must("down")
		Expect(processGone(s.PID)).To(BeTrue(), "process %d still runs after down", s.PID)
		l, err := net.Listen("tcp", "127.0.0.1:"+port)
		Expect(err).NotTo(HaveOccurred(), "port %s still taken after down", port)
		l.Close()
		Expect(w.status().Running).To(BeFalse())
	})

	It("is idempotent: up twice keeps one process, down twice exits 0", func() {
		w.must("up", "--cluster", "none")
		first := w.status()
		_, errOut, code := w.run("up", "--cluster", "none")
		Expect(code).To(Equal(0))
		Expect(errOut).To(ContainSubstring("already running"))
		Expect(w.status().PID).To(Equal(first.PID))
		w.must("down")
		_, errOut, code = w.run("down")
		Expect(code).To(Equal(0))
		Expect(errOut).To(ContainSubstring("not running"))
	})

	It("keeps the issuer URL and keys across down and up", func() {
		w.must("up", "--cluster", "none")
		before := w.status()
		kids := w.must("keys", "list")
		w.must("down")
		w.must("up", "--cluster", "none")
		Expect(w.status().Issuer.URL).To(Equal(before.Issuer.URL))
		Expect(w.must("keys", "list")).To(Equal(kids))
	})

	It("rotates keys so old tokens keep verifying until retired", func() {
		w.must("up", "--cluster", "none")
		old := w.must("token", "--service-account", "app")
		w.must("keys", "rotate")
		fresh := w.must("token", "--service-account", "app")
		for _, tok := range []string{old, fresh} {
			Expect(w.cmd(binary, []byte(tok), "token", "verify", "-").code).To(Equal(0))
		}
		w.must("keys", "retire")
		r := w.cmd(binary, []byte(old), "token", "verify", "-")
		Expect(r.code).To(Equal(1))
		Expect(oneLine(r.stderr)).To(ContainSubstring("verify token"))
		Expect(w.cmd(binary, []byte(fresh), "token", "verify", "-").code).To(Equal(0))
	})

	It("runs two environments side by side", func() {
		w.must("up", "--cluster", "none", "--name", "one")
		w.must("up", "--cluster", "none", "--name", "two")
		one, two := w.status("--name", "one"), w.status("--name", "two")
		Expect(one.Issuer.URL).NotTo(Equal(two.Issuer.URL))
		Expect(one.PID).NotTo(Equal(two.PID))
		w.must("down", "--name", "one")
		w.must("down", "--name", "two")
	})

	It("reports a crashed process in status instead of hiding it", func() {
		w.must("up", "--cluster", "none")
		s := w.status()
		Expect(syscall.Kill(s.PID, syscall.SIGKILL)).To(Succeed())
		eventually(func() bool { return processGone(s.PID) })
		after := w.status()
		Expect(after.Running).To(BeFalse())
		Expect(after.Components).To(ContainElement(And(HaveField("Name", "issuer"), HaveField("State", "failed"))))
		// up recovers: the stale pid file is removed and said so.
		_, errOut, code := w.run("up", "--cluster", "none")
		Expect(code).To(Equal(0))
		Expect(errOut).To(ContainSubstring("stale pid file"))
	})

	Describe("bad input gives one readable line", func() {
		It("names a port in use", func() {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			Expect(err).NotTo(HaveOccurred())
			defer l.Close()
			port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
			_, errOut, code := w.run("up", "--cluster", "none", "--issuer-port", port)
			Expect(code).To(Equal(1))
			Expect(oneLine(errOut)).To(And(ContainSubstring("127.0.0.1:"+port), ContainSubstring("in use")))
		})

		It("names a corrupted key file and keeps it", func() {
			w.must("up", "--cluster", "none")
			s := w.status()
			w.must("down")
			key := filepath.Join(s.StateDir, "keys", "sa.key")
			Expect(os.WriteFile(key, []byte("garbage"), 0o600)).To(Succeed())
			_, errOut, code := w.run("up", "--cluster", "none")
			Expect(code).To(Equal(1))
			// The library names the file; the CLI adds its own way out.
			Expect(oneLine(errOut)).To(And(ContainSubstring(key), ContainSubstring("'irsa-local delete' removes the environment")))
			Expect(os.ReadFile(key)).To(Equal([]byte("garbage")))
		})

		It("names a key file with the wrong permissions and the fix", func() {
			w.must("up", "--cluster", "none")
			s := w.status()
			w.must("down")
			key := filepath.Join(s.StateDir, "keys", "sa.key")
			Expect(os.Chmod(key, 0o644)).To(Succeed())
			_, errOut, code := w.run("up", "--cluster", "none")
			Expect(code).To(Equal(1))
			Expect(oneLine(errOut)).To(And(ContainSubstring(key), ContainSubstring("chmod 600")))
		})

		It("names an unwritable state directory", func() {
			file := filepath.Join(w.home, "not-a-dir")
			Expect(os.WriteFile(file, nil, 0o600)).To(Succeed())
			_, errOut, code := w.run("up", "--cluster", "none", "--state-dir", filepath.Join(file, "env"))
			Expect(code).To(Equal(1))
			Expect(oneLine(errOut)).To(And(ContainSubstring(file), ContainSubstring("--state-dir")))
		})

		It("says which environment is missing", func() {
			_, errOut, code := w.run("status", "--name", "nope")
			Expect(code).To(Equal(1))
			Expect(oneLine(errOut)).To(ContainSubstring(`"nope" does not exist`))
		})
	})
})
