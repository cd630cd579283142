package e2e

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// webIdentityOnly turns the world's AWS settings into exactly what the pod
// identity webhook gives a pod: a role ARN and a token file, no static keys.
func (w *world) webIdentityOnly(roleARN, tokenFile string) {
	env := []string{}
	for _, kv := range w.env {
		if !strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") && !strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=") && !strings.HasPrefix(kv, "AWS_SESSION_TOKEN=") {
			env = append(env, kv)
		}
	}
	w.env = append(env, "AWS_ROLE_ARN="+roleARN, "AWS_WEB_IDENTITY_TOKEN_FILE="+tokenFile)
}

var _ = Describe("S3 behind IAM, EKS DescribeCluster and the trail", Label("none"), func() {
	var (
		w       *world
		s       status
		roleARN string
	)
	BeforeEach(func() {
		w = newWorld()
		w.must("up", "--cluster", "none")
		s = w.status()
		w.awsEnv(s)
		providerURL := strings.TrimPrefix(s.Issuer.URL, "https://")
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + s.AWS.OIDCProviderARN +
			`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + providerURL + `:sub":"system:serviceaccount:demo:s3-reader"}}}]}`
		roleARN = w.mustAWS("iam", "create-role", "--role-name", "s3-reader", "--assume-role-policy-document", trust)["Role"].(map[string]any)["Arn"].(string)
		w.mustAWS("iam", "attach-role-policy", "--role-name", "s3-reader", "--policy-arn", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
		w.mustAWS("s3api", "create-bucket", "--bucket", "demo-bucket")
		Expect(os.WriteFile(filepath.Join(w.home, "hello.txt"), []byte("hello from irsa-local\n"), 0o600)).To(Succeed())
		Expect(w.aws("s3", "cp", "hello.txt", "s3://demo-bucket/hello.txt").code).To(Equal(0))
	})

	It("lets a web identity session with AmazonS3ReadOnlyAccess list and read, but not write", func() {
		tokenFile := filepath.Join(w.home, "token")
		Expect(os.WriteFile(tokenFile, []byte(w.must("token", "--namespace", "demo", "--service-account", "s3-reader")), 0o600)).To(Succeed())
		w.webIdentityOnly(roleARN, tokenFile)

		ls := w.aws("s3", "ls", "s3://demo-bucket")
		Expect(ls.code).To(Equal(0), ls.stderr)
		Expect(ls.stdout).To(ContainSubstring("hello.txt"))
		get := w.aws("s3", "cp", "s3://demo-bucket/hello.txt", "-")
		Expect(get.code).To(Equal(0), get.stderr)
		Expect(get.stdout).To(Equal("hello from irsa-local\n"))
		who := w.mustAWS("sts", "get-caller-identity")
		Expect(who["Arn"]).To(HavePrefix("arn:aws:sts::" + s.AWS.AccountID + ":assumed-role/s3-reader/"))

		put := w.aws("s3", "cp", "hello.txt", "s3://demo-bucket/nope.txt")
		Expect(put.code).NotTo(Equal(0))
		Expect(put.stderr).To(ContainSubstring("AccessDenied"))

		// The trail says who did what, and why the write was refused.
		out := w.must("trail")
		Expect(out).To(MatchRegexp(`ok\s+s3:ListObjects\S* by arn:aws:sts::\d+:assumed-role/s3-reader/`))
		Expect(out).To(MatchRegexp(`DENY\s+s3:PutObject by arn:aws:sts::\d+:assumed-role/s3-reader/.* -> AccessDenied`))
		Expect(out).To(ContainSubstring("why: s3:PutObject on arn:aws:s3:::demo-bucket/nope.txt"))
		Expect(out).To(ContainSubstring("sts:AssumeRoleWithWebIdentity by system:serviceaccount:demo:s3-reader (web identity)"))
		raw, err := os.ReadFile(filepath.Join(s.StateDir, "trail.jsonl"))
		Expect(err).NotTo(HaveOccurred())
		token, _ := os.ReadFile(tokenFile)
		Expect(string(raw)).NotTo(ContainSubstring(strings.TrimSpace(string(token))[:60]))
	})

	It("answers aws eks describe-cluster with the issuer URL", func() {
		r := w.aws("eks", "describe-cluster", "--name", "irsa-local", "--query", "cluster.identity.oidc.issuer", "--output", "text")
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(strings.TrimSpace(r.stdout)).To(Equal(s.Issuer.URL))
		r = w.aws("eks", "describe-cluster", "--name", "other")
		Expect(r.code).NotTo(Equal(0))
		Expect(r.stderr).To(ContainSubstring("ResourceNotFoundException"))
	})

	It("reads back what the AWS CLI uploads over HTTPS byte-identical", func() {
		payload := make([]byte, 9<<20+7)
		_, _ = rand.Read(payload)
		Expect(os.WriteFile(filepath.Join(w.home, "big.bin"), payload, 0o600)).To(Succeed())
		w.env = append(w.env, "AWS_ENDPOINT_URL="+s.AWS.EndpointHTTPS, "AWS_CA_BUNDLE="+s.Issuer.CAFile)
		up := w.aws("s3", "cp", "big.bin", "s3://demo-bucket/big.bin")
		Expect(up.code).To(Equal(0), up.stderr)
		down := w.aws("s3", "cp", "s3://demo-bucket/big.bin", "back.bin")
		Expect(down.code).To(Equal(0), down.stderr)
		back, err := os.ReadFile(filepath.Join(w.home, "back.bin"))
		Expect(err).NotTo(HaveOccurred())
		Expect(bytes.Equal(back, payload)).To(BeTrue(), "downloaded %d bytes differ from the %d uploaded", len(back), len(payload))
	})
})
