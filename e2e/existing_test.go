package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/irsa-local/irsa-local/internal/cluster/kind"
	"github.com/irsa-local/irsa-local/internal/cluster/local"
)

// clusterIssuer is the issuer a cluster gets when nobody sets one:
// kubeadm's, kind's, and the one of the bare apiserver these specs start.
const clusterIssuer = "https://kubernetes.default.svc.cluster.local"

// bareCluster is a control plane the spec starts itself, as a user's
// cluster irsa-local never configured: its own signing key, the default
// issuer URL, no webhook.
type bareCluster struct {
	dir  string
	port int
	c    *local.Cluster
}

// writeKey writes a new RSA key pair's private half to dir/name.key and
// returns the public half, PEM-encoded.
func writeKey(dir, name string) (keyFile string, public []byte) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	Expect(err).NotTo(HaveOccurred())
	keyFile = filepath.Join(dir, name+".key")
	Expect(os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600)).To(Succeed())
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	Expect(err).NotTo(HaveOccurred())
	return keyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// start (re)starts the control plane signing with signingKey and accepting
// tokens of every public key in verify.
func (b *bareCluster) start(signingKey string, verify ...[]byte) {
	pub := filepath.Join(b.dir, "sa.pub")
	Expect(os.WriteFile(pub, []byte(strings.Join(func() []string {
		var out []string
		for _, v := range verify {
			out = append(out, string(v))
		}
		return out
	}(), "")), 0o600)).To(Succeed())
	c, err := local.Start(context.Background(), local.Config{
		Dir:                 filepath.Join(b.dir, "cluster"),
		Binaries:            local.Binaries{Etcd: filepath.Join(k8sAssets, "etcd"), KubeAPIServer: filepath.Join(k8sAssets, "kube-apiserver"), KubeControllerManager: filepath.Join(k8sAssets, "kube-controller-manager")},
		IssuerURL:           clusterIssuer,
		SigningKeyFile:      signingKey,
		VerificationKeyFile: pub,
		SecurePort:          b.port,
		ContextName:         "bare",
	})
	Expect(err).NotTo(HaveOccurred())
	b.c, b.port = c, c.Ports().APIServer
}

func (b *bareCluster) stop() {
	if b.c != nil {
		Expect(b.c.Stop(context.Background())).To(Succeed())
		b.c = nil
	}
}

// snapshot lists what a user would see of a cluster's admission set-up and
// service accounts, to compare before up and after down.
func (w *world) snapshot(s status) string {
	return w.mustKubectl(s, "get", "mutatingwebhookconfigurations,serviceaccounts,configmaps", "-A", "--no-headers",
		"-o", "custom-columns=KIND:.kind,NAMESPACE:.metadata.namespace,NAME:.metadata.name")
}

// settled waits for the controllers of a new cluster to have made each
// system namespace's default service account and root CA: the snapshot
// taken before up must not miss what they add later.
func (w *world) settled(s status) string {
	var snap string
	Eventually(func() int {
		snap = w.snapshot(s)
		return strings.Count(snap, "kube-root-ca.crt") + strings.Count(snap, " default\n")
	}).WithTimeout(time.Minute).WithPolling(time.Second).Should(BeNumerically(">=", 8))
	return snap
}

// tokenKID returns the kid of a JWT's header.
func tokenKID(tok string) string {
	head, _, _ := strings.Cut(strings.TrimSpace(tok), ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	Expect(err).NotTo(HaveOccurred())
	var h struct {
		KID string `json:"kid"`
	}
	Expect(json.Unmarshal(b, &h)).To(Succeed())
	return h.KID
}

var _ = Describe("adopting a cluster irsa-local did not start", Label("local"), func() {
	It("reads a bare apiserver's own issuer and keys, runs the walkthrough through it, follows its key rotation, and leaves it as it was", func() {
		requireCluster()
		w := newWorld()
		b := &bareCluster{dir: GinkgoT().TempDir()}
		first, firstPub := writeKey(b.dir, "first")
		b.start(first, firstPub)
		DeferCleanup(b.stop)
		kubeconfig := b.c.Kubeconfig()
		user := status{}
		user.Cluster.Kubeconfig = kubeconfig
		before := w.settled(user)

		// A user whose kubeconfig may not read the issuer's discovery
		// document is told what to grant.
		alice := w.writeFile("alice.kubeconfig", strings.Replace(readFile(kubeconfig), "    client-certificate-data:", "    as: alice\n    client-certificate-data:", 1))
		_, errOut, code := w.run("up", "--cluster", "existing", "--kubeconfig", alice)
		Expect(code).To(Equal(1))
		Expect(oneLine(errOut)).To(And(
			ContainSubstring("user alice may not get /.well-known/openid-configuration (ClusterRole system:service-account-issuer-discovery)"),
			ContainSubstring("kubectl create clusterrolebinding irsa-local-issuer-discovery --clusterrole=system:service-account-issuer-discovery --user=alice")))

		// A node this machine has no leg on (a VM elsewhere): its
		// apiserver could not call a webhook here, and a webhook in the
		// cluster needs the image on a node irsa-local cannot load it onto.
		w.writeFile("far-node.yaml", `apiVersion: v1
kind: Node
metadata:
  name: far-away
status:
  addresses:
  - {type: InternalIP, address: 203.0.113.9}
`)
		w.mustKubectl(user, "create", "-f", filepath.Join(w.home, "far-node.yaml"))
		_, errOut, code = w.run("up", "--cluster", "existing", "--kubeconfig", kubeconfig, "--webhook", "host")
		Expect(code).To(Equal(1))
		Expect(oneLine(errOut)).To(ContainSubstring("none of this machine's addresses is on its nodes' networks, so its apiserver cannot call a webhook here; run it in the cluster (--webhook cluster)"))
		_, errOut, code = w.run("up", "--cluster", "existing", "--kubeconfig", kubeconfig)
		Expect(code).To(Equal(1))
		Expect(oneLine(errOut)).To(ContainSubstring("node far-away is not a container of this machine's Docker: load image irsa-local:latest onto the nodes yourself"))
		w.mustKubectl(user, "delete", "node", "far-away")

		out := w.must("up", "--cluster", "existing", "--kubeconfig", kubeconfig)
		Expect(out).To(ContainSubstring("issuer:   " + clusterIssuer))
		Expect(out).To(ContainSubstring("not reachable from this machine"))
		s := w.status()
		Expect(s.Cluster.Mode).To(Equal("existing"))
		Expect(s.Issuer.URL).To(Equal(clusterIssuer))
		Expect(s.AWS.OIDCProviderARN).To(Equal("arn:aws:iam::" + s.AWS.AccountID + ":oidc-provider/kubernetes.default.svc.cluster.local"))

		// The walkthrough, unchanged: the role trusts the cluster's own
		// issuer, and exec runs the CLI as the pod.
		pod := w.setUpWalkthrough(s, demoSA, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
		ls := w.execPod(pod, "aws", "s3", "ls", "s3://"+demoBucket)
		Expect(ls.code).To(Equal(0), ls.stderr)
		Expect(ls.stdout).To(ContainSubstring("hello.txt"))
		put := w.execPod(pod, "aws", "s3", "cp", filepath.Join(w.home, "hello.txt"), "s3://"+demoBucket+"/new.txt")
		Expect(put.code).NotTo(Equal(0))
		Expect(put.stderr).To(ContainSubstring("AccessDenied"))
		doctor := w.doctor("-n", demoNamespace, "--service-account", demoSA, "--action", "s3:ListBucket", "--resource", "arn:aws:s3:::"+demoBucket)
		expectHealthy(doctor)
		Expect(doctor.text).To(ContainSubstring("the apiserver serves 1 key(s) at /openid/v1/jwks (" + clusterIssuer + " is not reachable from this machine"))
		kid := tokenKID(w.must("token", "-n", demoNamespace, "--service-account", demoSA))

		// The cluster rotates its signing key (its apiserver restarted
		// with a second one): tokens of the new key are accepted.
		second, secondPub := writeKey(b.dir, "second")
		b.stop()
		b.start(second, firstPub, secondPub)
		Expect(tokenKID(w.must("token", "-n", demoNamespace, "--service-account", demoSA))).NotTo(Equal(kid))
		Eventually(func() string {
			return w.execPod(pod, "aws", "sts", "get-caller-identity", "--query", "Arn", "--output", "text").stdout
		}).WithTimeout(30 * time.Second).Should(HavePrefix("arn:aws:sts::" + s.AWS.AccountID + ":assumed-role/" + demoRole + "/"))

		// The environment's process is killed: the next down still
		// removes what it added, and the cluster runs on with the user's
		// own objects. (A clean down does the same; the kind spec and the
		// harness test cover it.)
		pid := w.status().PID
		Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
		Eventually(func() bool { return processGone(pid) }).WithTimeout(10 * time.Second).Should(BeTrue())
		Expect(w.snapshot(user)).To(ContainSubstring("pod-identity-webhook"))
		w.must("down")
		after := w.snapshot(user)
		Expect(after).NotTo(ContainSubstring("pod-identity-webhook"))
		Expect(after).NotTo(ContainSubstring("irsa-local"))
		var added []string
		for _, line := range strings.Split(strings.TrimSpace(after), "\n") {
			if !strings.Contains(before, line) {
				added = append(added, strings.Join(strings.Fields(line), " "))
			}
		}
		// What the walkthrough itself created with kubectl, and the
		// controllers made for its namespace: nothing of irsa-local's.
		Expect(added).To(ConsistOf("ServiceAccount demo default", "ServiceAccount demo "+demoSA, "ConfigMap demo kube-root-ca.crt"))
		Expect(w.mustKubectl(user, "get", "namespace", demoNamespace, "-o", "name")).To(ContainSubstring(demoNamespace))
	})
})

func readFile(path string) string {
	b, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

// plainKind is the name of the kind cluster the adoption spec creates as
// a user would, with nothing of irsa-local in it.
const plainKind = "irsa-e2e-plain"

var _ = Describe("adopting a plain kind cluster", Label("kind"), func() {
	It("runs the walkthrough's workload in a real pod of a cluster made by kind create cluster, and leaves the cluster running", func() {
		requireKind()
		if nodeExists(plainKind) {
			Expect(kind.Delete(plainKind, nil)).To(Succeed())
		}
		w := newWorld()
		kubeconfig := filepath.Join(w.home, "kind.kubeconfig")
		Expect(kind.CreatePlain(context.Background(), plainKind, kindImage(), kubeconfig)).To(Succeed())
		DeferCleanup(func() { Expect(kind.Delete(plainKind, nil)).To(Succeed()) })

		w.must("up", "--cluster", "existing", "--kubeconfig", kubeconfig, "--context", "kind-"+plainKind)
		s := w.status()
		Expect(s.Issuer.URL).To(Equal(clusterIssuer))
		// Pods reach the AWS endpoint on the kind network's gateway.
		Expect(s.Cluster.PodAWSEndpoint).To(MatchRegexp(`^https://\d+\.\d+\.\d+\.\d+:\d+$`))
		Expect(s.Cluster.PodAWSEndpoint).NotTo(ContainSubstring("127.0.0.1"))
		load := w.cmd("bash", nil, "-c", "set -o pipefail; docker save "+workloadImage+" | docker exec -i "+plainKind+
			"-control-plane ctr --namespace=k8s.io images import --digests --snapshotter=overlayfs -")
		Expect(load.code).To(Equal(0), "load %s into the node: %s", workloadImage, load.stderr)

		w.setUpWalkthrough(s, demoSA, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
		pod := runReaderPod(w, s)
		Expect(pod.code).To(Equal(0), pod.stdout)
		Expect(pod.stdout).To(ContainSubstring("identity: arn:aws:sts::" + s.AWS.AccountID + ":assumed-role/" + demoRole + "/"))
		Expect(pod.stdout).To(ContainSubstring("hello.txt"))

		w.must("down")
		expectReleased := func() {
			Expect(nodeExists(plainKind)).To(BeTrue())
			Expect(w.mustKubectl(s, "get", "mutatingwebhookconfigurations", "-o", "name")).NotTo(ContainSubstring("pod-identity-webhook"))
			Expect(w.mustKubectl(s, "get", "configmaps,clusterroles,clusterrolebindings", "-A", "-l", "app.kubernetes.io/managed-by=irsa-local", "-o", "name")).To(BeEmpty())
			Expect(w.mustKubectl(s, "get", "serviceaccount", demoSA, "-n", demoNamespace, "-o", "name")).To(ContainSubstring(demoSA))
		}
		expectReleased()

		// The same cluster with the webhook running in it, from the
		// irsa-local image, as for a cluster that cannot call this machine.
		image := irsaLocalImage()
		out := w.must("up", "--cluster", "existing", "--kubeconfig", kubeconfig, "--webhook", "cluster", "--image", image)
		Expect(out).To(ContainSubstring("webhook:  in the cluster (deployment irsa-local/irsa-local-webhook"))
		Expect(w.mustKubectl(s, "get", "mutatingwebhookconfiguration", "pod-identity-webhook", "-o", "jsonpath={.webhooks[0].clientConfig.service.name}")).To(Equal("irsa-local-webhook"))
		pod = runReaderPod(w, s)
		Expect(pod.code).To(Equal(0), pod.stdout)
		Expect(pod.stdout).To(ContainSubstring("hello.txt"))
		w.must("down")
		expectReleased()
		Eventually(func() string {
			return w.kubectl(s, "get", "namespace", "irsa-local", "-o", "name").stderr
		}).WithTimeout(time.Minute).WithPolling(time.Second).Should(ContainSubstring("NotFound"))
	})
})

// irsaLocalImage is the image of this checkout that make e2e-kind builds
// (hack/image.sh): IRSA_LOCAL_IMAGE, else irsa-local:latest.
func irsaLocalImage() string {
	img := os.Getenv("IRSA_LOCAL_IMAGE")
	if img == "" {
		img = "irsa-local:latest"
	}
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", img).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "image %s is not built; run make image: %s", img, out)
	return img
}
