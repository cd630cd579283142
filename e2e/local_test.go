package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The walkthrough's names.
const (
	demoNamespace = "demo"
	demoSA        = "s3-reader"
	demoRole      = "s3-reader-role"
	demoBucket    = "demo-bucket"
)

// requireCluster fails a local spec when the Kubernetes binaries are not
// built: `make test` builds them first.
func requireCluster() {
	Expect(k8sAssets).NotTo(BeEmpty(), "the Kubernetes binaries are not built; run make k8s-assets")
}

// kubectl runs the kubectl built with the cluster's binaries (the machine's
// kubectl 1.32 is outside the supported version skew).
func (w *world) kubectl(s status, args ...string) result {
	return w.cmd(filepath.Join(k8sAssets, "kubectl"), nil, append([]string{"--kubeconfig", s.Cluster.Kubeconfig}, args...)...)
}

func (w *world) mustKubectl(s status, args ...string) string {
	r := w.kubectl(s, args...)
	ExpectWithOffset(1, r.code).To(Equal(0), "kubectl %s: %s", strings.Join(args, " "), r.stderr)
	return r.stdout
}

func (w *world) writeFile(name, content string) string {
	path := filepath.Join(w.home, name)
	ExpectWithOffset(1, os.WriteFile(path, []byte(content), 0o600)).To(Succeed())
	return path
}

// walkthroughTrust is Step 1's trust-policy.json for a service account.
func walkthroughTrust(s status, sa string) string {
	p := strings.TrimPrefix(s.Issuer.URL, "https://")
	return `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {"Federated": "arn:aws:iam::` + s.AWS.AccountID + `:oidc-provider/` + p + `"},
      "Action": "sts:AssumeRoleWithWebIdentity",
      "Condition": {"StringEquals": {"` + p + `:sub": "system:serviceaccount:` + demoNamespace + `:` + sa + `"}}
    }
  ]
}`
}

// setUpWalkthrough runs Steps 1 and 2 of the walkthrough with the AWS CLI and
// kubectl: the role with its trust policy (for trustedSA), the policy
// attachment (unless policyARN is empty), the annotated service account, a
// bucket with an object, and the s3-test-pod manifest.
func (w *world) setUpWalkthrough(s status, trustedSA, policyARN string) (podFile string) {
	w.awsEnv(s)
	w.writeFile("trust-policy.json", walkthroughTrust(s, trustedSA))
	w.mustAWS("iam", "create-role", "--role-name", demoRole, "--assume-role-policy-document", "file://trust-policy.json")
	if policyARN != "" {
		w.mustAWS("iam", "attach-role-policy", "--role-name", demoRole, "--policy-arn", policyARN)
	}
	w.mustAWS("s3api", "create-bucket", "--bucket", demoBucket)
	w.writeFile("hello.txt", "hello\n")
	Expect(w.aws("s3", "cp", "hello.txt", "s3://"+demoBucket+"/hello.txt").code).To(Equal(0))

	w.mustKubectl(s, "create", "namespace", demoNamespace)
	w.writeFile("service-account.yaml", `apiVersion: v1
kind: ServiceAccount
metadata:
  name: `+demoSA+`
  namespace: `+demoNamespace+`
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::`+s.AWS.AccountID+`:role/`+demoRole+`
`)
	w.mustKubectl(s, "apply", "-f", filepath.Join(w.home, "service-account.yaml"))
	return w.writeFile("s3-test-pod.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: s3-reader
  namespace: `+demoNamespace+`
spec:
  serviceAccountName: `+demoSA+`
  containers:
  - name: aws-cli
    image: amazon/aws-cli
    command: ["/bin/sh", "-c"]
    args: ["aws s3 ls s3://`+demoBucket+` --region `+s.AWS.Region+`"]
`)
}

// execPod runs a command as the walkthrough's test pod.
func (w *world) execPod(podFile string, args ...string) result {
	return w.cmd(binary, nil, append([]string{"exec", "-f", podFile, "--"}, args...)...)
}

var _ = Describe("the walkthrough on a local cluster", Label("local"), func() {
	var w *world
	BeforeEach(func() {
		requireCluster()
		w = newWorld()
	})

	It("runs the walkthrough: the test pod lists the bucket as its role, and only reads", func() {
		w.must("up")
		s := w.status()
		Expect(s.Cluster.Mode).To(Equal("local"))
		Expect(s.Cluster.Kubeconfig).To(BeAnExistingFile())
		pod := w.setUpWalkthrough(s, demoSA, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")

		Expect(w.mustKubectl(s, "get", "serviceaccount", demoSA, "-n", demoNamespace, "-o", "yaml")).To(ContainSubstring("eks.amazonaws.com/role-arn: arn:aws:iam::" + s.AWS.AccountID + ":role/" + demoRole))
		// The webhook mutates the real pod object.
		mutated := w.mustKubectl(s, "create", "-f", pod, "--dry-run=server", "-o", "yaml")
		Expect(mutated).To(ContainSubstring("AWS_WEB_IDENTITY_TOKEN_FILE"))
		Expect(mutated).To(ContainSubstring("aws-iam-token"))

		ls := w.execPod(pod, "aws", "s3", "ls", "s3://"+demoBucket)
		Expect(ls.code).To(Equal(0), ls.stderr)
		Expect(ls.stdout).To(ContainSubstring("hello.txt"))
		who := w.execPod(pod, "aws", "sts", "get-caller-identity", "--query", "Arn", "--output", "text")
		Expect(who.code).To(Equal(0), who.stderr)
		Expect(who.stdout).To(HavePrefix("arn:aws:sts::" + s.AWS.AccountID + ":assumed-role/" + demoRole + "/"))

		// Least privilege: the read-only role cannot write.
		put := w.execPod(pod, "aws", "s3", "cp", filepath.Join(w.home, "hello.txt"), "s3://"+demoBucket+"/new.txt")
		Expect(put.code).NotTo(Equal(0))
		Expect(put.stderr).To(ContainSubstring("AccessDenied"))
		// The exit code is the command's.
		Expect(w.execPod(pod, "sh", "-c", "exit 7").code).To(Equal(7))
		// The host's static keys do not leak in.
		env := w.execPod(pod, "sh", "-c", "env")
		Expect(env.stdout).NotTo(ContainSubstring("AWS_ACCESS_KEY_ID"))
		Expect(env.stdout).To(ContainSubstring("AWS_ROLE_ARN=arn:aws:iam::" + s.AWS.AccountID + ":role/" + demoRole))
		// Pods made only for their token are gone.
		Expect(w.mustKubectl(s, "get", "pods", "-n", demoNamespace, "-o", "name")).To(BeEmpty())
	})

	It("runs two environments side by side and reports a killed apiserver", func() {
		w.must("up", "--name", "one")
		w.must("up", "--name", "two")
		one, two := w.status("--name", "one"), w.status("--name", "two")
		Expect(one.Cluster.Kubeconfig).NotTo(Equal(two.Cluster.Kubeconfig))
		Expect(w.mustKubectl(one, "get", "serviceaccount", "default", "-n", "default", "-o", "name")).To(ContainSubstring("default"))
		Expect(w.mustKubectl(two, "get", "serviceaccount", "default", "-n", "default", "-o", "name")).To(ContainSubstring("default"))

		pidFile := filepath.Join(one.StateDir, "cluster", "kube-apiserver.pid")
		b, err := os.ReadFile(pidFile)
		Expect(err).NotTo(HaveOccurred())
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		Expect(err).NotTo(HaveOccurred())
		Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
		Eventually(func() string {
			for _, c := range w.status("--name", "one").Components {
				if c.Name == "kube-apiserver" {
					return c.State + " " + c.Error
				}
			}
			return ""
		}).WithTimeout(15 * time.Second).Should(HavePrefix("failed"))
		w.must("down", "--name", "one")
		w.must("down", "--name", "two")
		Expect(processGone(pid)).To(BeTrue())
	})

	Describe("bad input gives one readable line", func() {
		It("says where it looked for a missing binary and how to build it", func() {
			empty := GinkgoT().TempDir()
			w.env = append(w.env, "KUBEBUILDER_ASSETS="+empty, "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
			_, errOut, code := w.run("up")
			Expect(code).To(Equal(1))
			line := oneLine(errOut)
			Expect(line).To(ContainSubstring("etcd: not found"))
			Expect(line).To(ContainSubstring("KUBEBUILDER_ASSETS"))
			Expect(line).To(ContainSubstring("make k8s-assets"))
		})

		It("names a port in use", func() {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			Expect(err).NotTo(HaveOccurred())
			defer l.Close()
			port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
			_, errOut, code := w.run("up", "--aws-port", port)
			Expect(code).To(Equal(1))
			Expect(oneLine(errOut)).To(And(ContainSubstring("127.0.0.1:"+port), ContainSubstring("in use")))
		})
	})
})

var _ = Describe("irsa-local env and token with a cluster", Label("local"), func() {
	It("exports the admin, or exactly a service account's web identity with no static keys", func() {
		requireCluster()
		w := newWorld()
		w.must("up")
		s := w.status()
		w.setUpWalkthrough(s, demoSA, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
		admin := w.must("env")
		Expect(admin).To(ContainSubstring("export AWS_ENDPOINT_URL='" + s.AWS.Endpoint + "'"))
		Expect(admin).To(ContainSubstring("export KUBECONFIG='" + s.Cluster.Kubeconfig + "'"))
		Expect(admin).To(ContainSubstring("export AWS_ACCESS_KEY_ID='test'"))

		script := w.must("env", "-n", demoNamespace, "--service-account", demoSA)
		Expect(script).To(ContainSubstring("unset AWS_ACCESS_KEY_ID"))
		Expect(script).To(ContainSubstring("unset AWS_PROFILE"))
		Expect(script).To(ContainSubstring("export AWS_ROLE_ARN='arn:aws:iam::" + s.AWS.AccountID + ":role/" + demoRole + "'"))
		// A shell that had the admin keys and a profile set ends up with the
		// web identity alone.
		r := w.cmd("bash", nil, "-c", `export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_PROFILE=nope; eval "$(`+binary+` env -n demo --service-account s3-reader)"; aws sts get-caller-identity --query Arn --output text`)
		Expect(r.code).To(Equal(0), r.stderr)
		Expect(r.stdout).To(HavePrefix("arn:aws:sts::" + s.AWS.AccountID + ":assumed-role/" + demoRole + "/"))

		// token comes from the apiserver: it names the real service account's UID.
		uid := strings.TrimSpace(w.mustKubectl(s, "get", "sa", demoSA, "-n", demoNamespace, "-o", "jsonpath={.metadata.uid}"))
		decoded := w.cmd(binary, []byte(w.must("token", "-n", demoNamespace, "--service-account", demoSA)), "token", "decode", "-")
		Expect(decoded.stdout).To(ContainSubstring(uid))
		_, errOut, code := w.run("token", "-n", demoNamespace, "--service-account", "missing")
		Expect(code).To(Equal(1))
		Expect(oneLine(errOut)).To(ContainSubstring(`serviceaccounts "missing" not found`))
	})
})

var _ = Describe("a crashed local environment", Label("local"), func() {
	It("is reported, and down stops the cluster it left running", func() {
		requireCluster()
		w := newWorld()
		w.must("up")
		s := w.status()
		b, err := os.ReadFile(filepath.Join(s.StateDir, "cluster", "kube-apiserver.pid"))
		Expect(err).NotTo(HaveOccurred())
		apiserver, err := strconv.Atoi(strings.TrimSpace(string(b)))
		Expect(err).NotTo(HaveOccurred())
		Expect(syscall.Kill(s.PID, syscall.SIGKILL)).To(Succeed())
		Eventually(func() bool { return processGone(s.PID) }).WithTimeout(10 * time.Second).Should(BeTrue())
		Expect(w.status().Running).To(BeFalse())
		_, errOut, code := w.run("down")
		Expect(code).To(Equal(0))
		Expect(errOut).To(ContainSubstring("left running by a crashed environment"))
		Eventually(func() bool { return processGone(apiserver) }).WithTimeout(10 * time.Second).Should(BeTrue())
		// And it comes back.
		w.must("up")
		Expect(w.status().Running).To(BeTrue())
	})
})
