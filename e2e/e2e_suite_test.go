// Package e2e holds the end-to-end suites of irsa-local. They drive the real
// irsa-local binary and real clients (curl, the AWS CLI, SDKs) against real
// servers. Specs are labelled by cluster mode: "none" needs nothing but the
// binary; "local" needs the Kubernetes binaries; "kind" needs Docker and a
// node image and runs only when selected. Specs labelled "tools" drive
// Terraform and eksctl and run only when selected.
package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/irsa-local/irsa-local/internal/assets"
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	suite, reporter := GinkgoConfiguration()
	// The "tools" specs drive Terraform and eksctl, and the "kind" and
	// "container" specs need Docker (and a node image, moto's image); they
	// run only when asked for (make e2e-tools, make e2e-kind:
	// -ginkgo.label-filter=tools, or kind || container), so go test ./...
	// and make test leave them out.
	if suite.LabelFilter == "" {
		suite.LabelFilter = "!tools && !kind && !container"
	}
	RunSpecs(t, "irsa-local e2e", suite, reporter)
}

// binary is the irsa-local executable under test, built once per suite.
// k8sAssets is the directory holding the Kubernetes binaries the local
// cluster specs run ("" when they are not built).
var binary, k8sAssets string

var _ = SynchronizedBeforeSuite(func() []byte {
	dir, err := os.MkdirTemp("", "irsa-local-e2e-bin-")
	Expect(err).NotTo(HaveOccurred())
	bin := filepath.Join(dir, "irsa-local")
	// With irsa-local-serve beside it, as make build makes them: up runs
	// the environment in that leaner binary.
	cmd := exec.Command("go", "build", "-o", dir+"/", "../cmd/irsa-local", "../cmd/irsa-local-serve")
	// Static, as make build makes it: kind nodes run it as their Pod
	// Identity agent.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = GinkgoWriter, GinkgoWriter
	Expect(cmd.Run()).To(Succeed(), "build irsa-local")
	// The workloads, next to it (see ordersApp and chainReader).
	for _, prog := range []string{"orders-app", "chain-reader", "pod-reader"} {
		cmd = exec.Command("go", "build", "-o", filepath.Join(dir, prog), "./images/"+prog)
		cmd.Stdout, cmd.Stderr = GinkgoWriter, GinkgoWriter
		Expect(cmd.Run()).To(Succeed(), "build "+prog)
	}
	assetsDir := ""
	if p, err := assets.Find(assets.KubeAPIServer); err == nil {
		assetsDir = filepath.Dir(p)
	}
	return []byte(bin + "\n" + assetsDir)
}, func(data []byte) {
	binary, k8sAssets, _ = strings.Cut(string(data), "\n")
})

var _ = SynchronizedAfterSuite(func() {}, func() {
	_ = os.RemoveAll(filepath.Dir(binary))
})
