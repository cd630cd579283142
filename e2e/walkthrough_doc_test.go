package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// shBlock matches a fenced sh block of a Markdown file.
var shBlock = regexp.MustCompile("(?ms)^```sh\n(.*?)^```")

var _ = Describe("docs/walkthrough.md", Label("local"), func() {
	It("runs as written", func() {
		requireCluster()
		doc, err := os.ReadFile("../docs/walkthrough.md")
		Expect(err).NotTo(HaveOccurred())
		var blocks []string
		for _, m := range shBlock.FindAllStringSubmatch(string(doc), -1) {
			blocks = append(blocks, m[1])
		}
		Expect(len(blocks)).To(BeNumerically(">=", 10), "the walkthrough lost its commands")
		w := newWorld()
		// The page's irsa-local and kubectl are the ones under test; the
		// machine's kubectl is outside the supported version skew.
		path := filepath.Dir(binary) + ":" + k8sAssets + ":" + os.Getenv("PATH")
		w.env = append(w.env, "PATH="+path)
		script := "set -o errexit -o nounset -o pipefail -o xtrace\n" + strings.Join(blocks, "\n")
		r := w.cmd("bash", []byte(script))
		Expect(r.code).To(Equal(0), "the walkthrough failed:\n%s", r.stderr)
		Expect(r.stdout).To(ContainSubstring("hello.txt"))
		Expect(r.stdout).To(ContainSubstring(":assumed-role/s3-reader-role/"))
		// Beyond S3: the allowed calls' answers, and the trail's reason.
		Expect(r.stdout).To(ContainSubstring("s3cr3t"))
		Expect(r.stdout).To(ContainSubstring(`"MD5OfMessageBody"`))
		Expect(r.stdout).To(MatchRegexp(`why: dynamodb:GetItem on arn:aws:dynamodb:us-east-1:\d{12}:table/carts: implicitly denied: condition ForAllValues:StringEquals on "dynamodb:LeadingKeys" expected every value to be "alice" but the request had "bob"`))
		// Across accounts: doctor's fix names the missing statement, and the
		// second hop reads the other account's report.
		Expect(r.stdout).To(ContainSubstring("add this statement to a policy of role s3-reader-role"))
		Expect(r.stdout).To(ContainSubstring("q3 figures"))
		// The same pod with Pod Identity: the association's role, its own
		// prefix, and doctor's agent check.
		Expect(r.stdout).To(MatchRegexp(`arn:aws:sts::\d{12}:assumed-role/s3-reader-pod-identity/eks-irsa-local-s3-reader-`))
		Expect(r.stdout).To(ContainSubstring("for demo only"))
		Expect(r.stdout).To(ContainSubstring("AWS_CONTAINER_CREDENTIALS_FULL_URI"))
		Expect(r.stdout).To(ContainSubstring("✓ agent"))
	})
})
