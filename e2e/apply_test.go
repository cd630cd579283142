package e2e

import (
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("environment files", Label("local"), func() {
	It("create the walkthrough's world with up -f, idempotently, and pods use it", func() {
		requireCluster()
		w := newWorld()
		file, err := filepath.Abs("../examples/environment.yaml")
		Expect(err).NotTo(HaveOccurred())
		w.must("up", "-f", file)
		_, errOut, code := w.run("apply", "-f", file)
		Expect(code).To(Equal(0), "applying twice: %s", errOut)
		s := w.status()

		ls := w.cmd(binary, nil, "exec", "-n", "demo", "--service-account", "s3-reader", "--", "aws", "s3", "ls", "s3://demo-bucket")
		Expect(ls.code).To(Equal(0), ls.stderr)
		Expect(ls.stdout).To(ContainSubstring("hello.txt"))
		// The namespace-wide role with the file's least-privilege policy and
		// an inline explicit deny.
		get := w.cmd(binary, nil, "exec", "-n", "demo", "--service-account", "reporter", "--", "aws", "s3", "cp", "s3://demo-bucket/hello.txt", "-")
		Expect(get.code).To(Equal(0), get.stderr)
		del := w.cmd(binary, nil, "exec", "-n", "demo", "--service-account", "reporter", "--", "aws", "s3", "rm", "s3://demo-bucket/hello.txt")
		Expect(del.code).NotTo(Equal(0))
		Expect(del.stderr).To(ContainSubstring("AccessDenied"))
		Expect(w.mustKubectl(s, "get", "sa", "no-role", "-n", "demo", "-o", "jsonpath={.metadata.annotations}")).NotTo(ContainSubstring("role-arn"))
		// The Pod Identity association: its namespace's prefix only.
		notes := w.cmd(binary, nil, "exec", "-n", "demo", "--service-account", "pod-reader", "--", "aws", "s3", "cp", "s3://demo-bucket/demo/notes.txt", "-")
		Expect(notes.code).To(Equal(0), notes.stderr)
		Expect(notes.stdout).To(ContainSubstring("for the demo namespace only"))
		hello := w.cmd(binary, nil, "exec", "-n", "demo", "--service-account", "pod-reader", "--", "aws", "s3", "cp", "s3://demo-bucket/hello.txt", "-")
		Expect(hello.code).NotTo(Equal(0))

		w.writeFile("bad.yaml", "apiVersion: irsa-local.dev/v1alpha1\nkind: Environment\nrolez: []\n")
		_, errOut, code = w.run("apply", "-f", filepath.Join(w.home, "bad.yaml"))
		Expect(code).To(Equal(1))
		Expect(oneLine(errOut)).To(And(ContainSubstring("bad.yaml"), ContainSubstring(`unknown field "rolez"`)))
		Expect(strings.Count(errOut, "\n")).To(Equal(1))
	})
})
