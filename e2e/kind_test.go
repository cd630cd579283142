package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/irsa-local/irsa-local/internal/assets"
	"github.com/irsa-local/irsa-local/internal/cluster/kind"
)

// workloadImage is the test workloads: e2e/images/s3-reader (the
// entrypoint) and e2e/images/orders-app, unmodified aws-sdk-go-v2 clients,
// in a FROM-scratch image built by the suite.
const workloadImage = "irsa-local/s3-reader:e2e"

// kindImage is the node image the kind specs run: IRSA_LOCAL_KIND_IMAGE, or
// the one hack/kind-node-image.sh builds.
func kindImage() string {
	if img := os.Getenv("IRSA_LOCAL_KIND_IMAGE"); img != "" {
		return img
	}
	return "irsa-local/kind-node:" + assets.KubernetesVersion
}

var buildWorkload = sync.OnceValue(func() error {
	dir, err := os.MkdirTemp("", "irsa-local-s3-reader-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, prog := range []string{"s3-reader", "orders-app", "chain-reader", "pod-reader"} {
		build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, prog), "./images/"+prog)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v: %s", prog, err, out)
		}
	}
	dockerfile := "FROM scratch\nCOPY s3-reader /s3-reader\nCOPY orders-app /orders-app\nCOPY chain-reader /chain-reader\nCOPY pod-reader /pod-reader\nENTRYPOINT [\"/s3-reader\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command("docker", "build", "-q", "-t", workloadImage, dir).CombinedOutput(); err != nil {
		return fmt.Errorf("docker build %s: %v: %s", workloadImage, err, out)
	}
	return nil
})

// The kind specs' environment names, distinct from anything a developer
// runs, so that the suite neither collides with nor deletes their clusters.
const (
	kindEnv      = "irsa-e2e"
	kindOwnerEnv = "irsa-e2e-owner"
)

// requireKind fails a kind spec when Docker or the node image is missing:
// make e2e-kind provides both. It also deletes clusters of the suite's own
// names that an interrupted run left behind.
func requireKind() {
	out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "the kind specs need a running Docker daemon (make e2e-kind starts one in CI): %s", out)
	out, err = exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", kindImage()).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "node image %s is not built; run hack/kind-node-image.sh: %s", kindImage(), out)
	Expect(buildWorkload()).To(Succeed())
	for _, name := range []string{kindEnv, kindOwnerEnv} {
		if nodeExists(name) {
			Expect(kind.Delete(name, nil)).To(Succeed())
		}
	}
}

// upKind starts an environment in kind mode and loads the workload image
// into its node, as `kind load docker-image` does.
func upKind(w *world, extra ...string) status {
	nameArgs := []string{"--name", kindEnv}
	for i, a := range extra {
		if a == "--name" && i+1 < len(extra) {
			nameArgs = extra[i : i+2]
		}
	}
	// Every later command of the spec (keys, trail, doctor, down) names it
	// the same way.
	w.env = append(w.env, "IRSA_LOCAL_NAME="+nameArgs[1])
	// A named environment is not the one newWorld's clean-up stops; a
	// failed spec must not leave its cluster behind either.
	DeferCleanup(func() { _, _, _ = w.run(append([]string{"down"}, nameArgs...)...) })
	w.must(append([]string{"up", "--cluster", "kind", "--kind-image", kindImage()}, extra...)...)
	s := w.status()
	Expect(s.Cluster.KindCluster).NotTo(BeEmpty())
	load := w.cmd("bash", nil, "-c", "set -o pipefail; docker save "+workloadImage+" | docker exec -i "+s.Cluster.KindCluster+
		"-control-plane ctr --namespace=k8s.io images import --digests --snapshotter=overlayfs -")
	Expect(load.code).To(Equal(0), "load %s into the node: %s", workloadImage, load.stderr)
	return s
}

var podSeq atomic.Int64

// runReaderPod runs the workload as a real pod of the walkthrough's service
// account and returns its logs, with exit code 0 when the pod succeeded.
func runReaderPod(w *world, s status) result {
	return runPod(w, s, demoNamespace, demoSA, `args: ["`+demoBucket+`"]`)
}

// runOrdersPod runs orders-app as a real pod of the services spec's service
// account.
func runOrdersPod(w *world, s status) result {
	return runPod(w, s, ordersNamespace, ordersSA, `command: ["/orders-app"]`)
}

// runPod runs the workload image as a pod of namespace/sa, with the
// container's command or args line, and returns its logs, with exit code 0
// when the pod succeeded.
func runPod(w *world, s status, namespace, sa, run string) result {
	name := fmt.Sprintf("workload-%d", podSeq.Add(1))
	manifest := w.writeFile(name+".yaml", `apiVersion: v1
kind: Pod
metadata:
  name: `+name+`
  namespace: `+namespace+`
spec:
  serviceAccountName: `+sa+`
  restartPolicy: Never
  containers:
  - name: app
    image: `+workloadImage+`
    imagePullPolicy: Never
    `+run+`
`)
	w.mustKubectl(s, "create", "-f", manifest)
	var phase string
	Eventually(func() string {
		phase = strings.TrimSpace(w.kubectl(s, "get", "pod", name, "-n", namespace, "-o", "jsonpath={.status.phase}").stdout)
		return phase
	}).WithTimeout(2*time.Minute).WithPolling(time.Second).Should(BeElementOf("Succeeded", "Failed"), "pod %s did not finish", name)
	logs := w.mustKubectl(s, "logs", name, "-n", namespace)
	code := 0
	if phase != "Succeeded" {
		code = 1
	}
	return result{stdout: logs, stderr: logs, code: code}
}

// runChainPod runs chain-reader as a real pod of the chain spec's service
// account.
func runChainPod(w *world, s status, args ...string) result {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = strconv.Quote(a)
	}
	return runPod(w, s, chainNamespace, chainSA, `command: ["/chain-reader", `+strings.Join(quoted, ", ")+`]`)
}

// runPodReaderPod runs pod-reader as a real pod of the Pod Identity spec's
// namespace: its credentials come from the node's agent.
func runPodReaderPod(w *world, s status, sa, bucket, key string) result {
	return runPod(w, s, podNamespace, sa, `command: ["/pod-reader", "`+bucket+`", "`+key+`"]`)
}

var _ = chainSpecs(chainMode{
	name:         "kind",
	require:      requireKind,
	up:           upKind,
	listBucket:   runReaderPod,
	runOrders:    runOrdersPod,
	runChain:     runChainPod,
	runPodReader: runPodReaderPod,
})

func nodeExists(name string) bool {
	return exec.Command("docker", "inspect", name+"-control-plane").Run() == nil
}

var _ = Describe("a kind environment's lifecycle", Label("kind"), func() {
	BeforeEach(requireKind)

	It("owns its cluster: refuses a name in use, and down deletes the cluster even after a crash", func() {
		w := newWorld()
		s := upKind(w, "--name", kindOwnerEnv)
		Expect(s.Cluster.KindCluster).To(Equal(kindOwnerEnv))
		Expect(nodeExists(kindOwnerEnv)).To(BeTrue())
		// The pods' endpoint is on the kind network, not loopback.
		Expect(w.must("status", "--name", kindOwnerEnv)).To(ContainSubstring("AWS endpoint for pods:"))

		// Another environment of the same name cannot take the cluster over,
		// and its clean-up leaves the cluster alone.
		other := newWorld()
		_, errOut, code := other.run("up", "--cluster", "kind", "--kind-image", kindImage(), "--name", kindOwnerEnv)
		Expect(code).To(Equal(1))
		Expect(oneLine(errOut)).To(ContainSubstring(`a kind cluster named "` + kindOwnerEnv + `" already exists`))
		other.must("down", "--name", kindOwnerEnv)
		Expect(nodeExists(kindOwnerEnv)).To(BeTrue())

		// A killed environment leaves its cluster; down deletes it.
		Expect(syscall.Kill(s.PID, syscall.SIGKILL)).To(Succeed())
		Eventually(func() bool { return processGone(s.PID) }).WithTimeout(10 * time.Second).Should(BeTrue())
		_, errOut, code = w.run("down", "--name", kindOwnerEnv)
		Expect(code).To(Equal(0), errOut)
		Expect(errOut).To(ContainSubstring("Deleted the kind cluster left running by a crashed environment"))
		Expect(nodeExists(kindOwnerEnv)).To(BeFalse())

		// A clean down deletes it too.
		upKind(w, "--name", kindOwnerEnv)
		w.must("down", "--name", kindOwnerEnv)
		Expect(nodeExists(kindOwnerEnv)).To(BeFalse())
	})

	It("gives one clear line when Docker is not running or the node image is missing", func() {
		w := newWorld()
		w.env = append(w.env, "DOCKER_HOST=unix:///nonexistent/docker.sock")
		_, errOut, code := w.run("up", "--cluster", "kind", "--name", "kind-nodocker")
		Expect(code).To(Equal(1))
		line := oneLine(errOut)
		Expect(line).To(ContainSubstring("kind mode needs a running Linux Docker engine: docker info failed"))
		Expect(line).To(ContainSubstring("--cluster local"))

		w = newWorld()
		_, errOut, code = w.run("up", "--cluster", "kind", "--kind-image", "irsa-local/no-such-node:v0", "--name", "kind-noimage")
		Expect(code).To(Equal(1))
		line = oneLine(errOut)
		Expect(line).To(ContainSubstring("the node image is missing: irsa-local/no-such-node:v0 is not on this machine and could not be pulled"))
		Expect(line).To(ContainSubstring("hack/kind-node-image.sh"))
		Expect(line).To(ContainSubstring("--kind-image"))
		Expect(nodeExists("kind-noimage")).To(BeFalse())

		_, errOut, code = w.run("up", "--kind-image", "x")
		Expect(code).To(Equal(1))
		Expect(oneLine(errOut)).To(ContainSubstring("--kind-image applies to --cluster kind only"))
	})
})
