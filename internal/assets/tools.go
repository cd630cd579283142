package assets

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// stagingModules are the k8s.io modules developed inside the kubernetes
// repository: the replace block of k8s.io/kubernetes v1.37.2's go.mod, in its
// order. That go.mod requires them at v0.0.0 and points them at local
// directories, which a dependent module cannot use, so the tools module
// replaces each with its published v0.37.2 instead.
var stagingModules = []string{
	"api",
	"apiextensions-apiserver",
	"apimachinery",
	"apiserver",
	"cli-runtime",
	"client-go",
	"cloud-provider",
	"cluster-bootstrap",
	"code-generator",
	"component-base",
	"component-helpers",
	"controller-manager",
	"cri-api",
	"cri-client",
	"cri-streaming",
	"csi-translation-lib",
	"dynamic-resource-allocation",
	"endpointslice",
	"externaljwt",
	"kms",
	"kube-aggregator",
	"kube-controller-manager",
	"kube-proxy",
	"kube-scheduler",
	"kubectl",
	"kubelet",
	"metrics",
	"mount-utils",
	"pod-security-admission",
	"sample-apiserver",
	"sample-cli-plugin",
	"sample-controller",
	"streaming",
}

// toolsGoVersion is the go line of the tools module: the one kubernetes
// v1.37.2's go.mod declares.
const toolsGoVersion = "1.26.0"

// kubernetesPackages maps each Kubernetes binary to its main package. They
// are listed as tools in the go.mod so that go mod tidy keeps their
// dependencies: a main package cannot be imported from a tools.go file.
var kubernetesPackages = map[string]string{
	KubeAPIServer:         "k8s.io/kubernetes/cmd/kube-apiserver",
	KubeControllerManager: "k8s.io/kubernetes/cmd/kube-controller-manager",
	Kubectl:               "k8s.io/kubernetes/cmd/kubectl",
	KubeScheduler:         "k8s.io/kubernetes/cmd/kube-scheduler",
	KubeProxy:             "k8s.io/kubernetes/cmd/kube-proxy",
	Kubelet:               "k8s.io/kubernetes/cmd/kubelet",
	Kubeadm:               "k8s.io/kubernetes/cmd/kubeadm",
}

// etcdPackage is the tools module's own etcd main, relative to its root.
const etcdPackage = "./etcd"

var goModTemplate = template.Must(template.New("go.mod").Parse(`// Written by irsa-local from its assets package; changes are overwritten.
module irsa-local/k8s-tools

go {{.GoVersion}}

require (
	go.etcd.io/etcd/server/v3 {{.EtcdVersion}}
	k8s.io/kubernetes {{.KubernetesVersion}}
)

tool (
{{- range .Tools}}
	{{.}}
{{- end}}
)

replace (
{{- range .Staging}}
	k8s.io/{{.}} => k8s.io/{{.}} {{$.StagingVersion}}
{{- end}}
)
`))

// etcdMain is etcd's server entry point: etcd's own server/main.go does no
// more than hand its arguments to etcdmain.
const etcdMain = `// Command etcd runs the etcd server; written by irsa-local from its assets
// package.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
`

// stagingVersion is the version staging modules are published with for a
// Kubernetes release: v1.37.2 publishes v0.37.2.
func stagingVersion(kubernetesVersion string) string {
	return "v0" + strings.TrimPrefix(kubernetesVersion, "v1")
}

// toolsFiles renders the tools module: file paths relative to its root,
// mapped to their content.
func toolsFiles() (map[string][]byte, error) {
	var tools []string
	// Every binary is a tool, whether built or not, so one tidy serves both
	// sets.
	for _, name := range append([]string{KubeAPIServer, KubeControllerManager, Kubectl}, NodeNames()...) {
		tools = append(tools, kubernetesPackages[name])
	}
	var goMod bytes.Buffer
	err := goModTemplate.Execute(&goMod, struct {
		GoVersion         string
		EtcdVersion       string
		KubernetesVersion string
		StagingVersion    string
		Tools             []string
		Staging           []string
	}{toolsGoVersion, EtcdVersion, KubernetesVersion, stagingVersion(KubernetesVersion), tools, stagingModules})
	if err != nil {
		return nil, fmt.Errorf("render tools go.mod: %w", err)
	}
	return map[string][]byte{
		"go.mod":       goMod.Bytes(),
		"etcd/main.go": []byte(etcdMain),
	}, nil
}
