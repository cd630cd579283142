package assets

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Names of the binaries this package builds and finds.
const (
	Etcd                  = "etcd"
	KubeAPIServer         = "kube-apiserver"
	KubeControllerManager = "kube-controller-manager"
	Kubectl               = "kubectl"

	// The node binaries: what a kind node image adds to the control plane.
	KubeScheduler = "kube-scheduler"
	KubeProxy     = "kube-proxy"
	Kubelet       = "kubelet"
	Kubeadm       = "kubeadm"
)

// Versions Build makes. EtcdVersion is the etcd kubeadm v1.37 deploys
// (its DefaultEtcdVersion 3.7.0-0).
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.7.0"
)

// modulePath is irsa-local's module path; a go.mod declaring it marks the
// root of a checkout.
const modulePath = "github.com/irsa-local/irsa-local"

// Names lists the binaries Build makes, in the order a control plane starts
// them.
func Names() []string {
	return []string{Etcd, KubeAPIServer, KubeControllerManager, Kubectl}
}

// NodeNames lists the binaries BuildNode adds for a kind node image.
func NodeNames() []string {
	return []string{KubeScheduler, KubeProxy, Kubelet, Kubeadm}
}

// Version returns the version Build makes of the named binary, or "" for a
// name it does not build.
func Version(name string) string {
	switch name {
	case Etcd:
		return EtcdVersion
	case KubeAPIServer, KubeControllerManager, Kubectl, KubeScheduler, KubeProxy, Kubelet, Kubeadm:
		return KubernetesVersion
	}
	return ""
}

// CacheDir returns <user cache>/irsa-local/k8s/<KubernetesVersion>, where
// `irsa-local assets build` puts the binaries by default.
func CacheDir() (string, error) {
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find user cache directory: %w", err)
	}
	return filepath.Join(c, "irsa-local", "k8s", KubernetesVersion), nil
}

// EnvVar returns the envtest variable naming one binary explicitly, e.g.
// TEST_ASSET_KUBE_APISERVER for kube-apiserver.
func EnvVar(name string) string {
	return "TEST_ASSET_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Place is one place Find looks at.
type Place struct {
	// Source names the rule: an environment variable, "cache", "bin/k8s",
	// "checkout bin/k8s" or "PATH".
	Source string
	// Path is the file looked at; empty when the rule did not apply (an
	// unset variable, no user cache, no checkout, or PATH).
	Path string
}

// String describes the place for messages.
func (p Place) String() string {
	isVar := strings.HasPrefix(p.Source, "TEST_ASSET_") || p.Source == "KUBEBUILDER_ASSETS" || p.Source == "PATH"
	switch {
	case isVar && p.Path == "":
		if p.Source == "PATH" {
			return "$PATH"
		}
		return "$" + p.Source + " (unset)"
	case isVar:
		return "$" + p.Source + " (" + p.Path + ")"
	case p.Path == "":
		return p.Source + " (none)"
	default:
		return p.Path
	}
}

// Location is the outcome of looking for one binary.
type Location struct {
	Name string
	// Path is the absolute path found, or "" when no place had the binary.
	Path string
	// Source is the Source of the place that matched.
	Source string
	// Looked lists every place looked at, in order, up to the match.
	Looked []Place
}

// NotFoundError is returned by Find when no place has the binary. Its
// message is one line naming every place looked at and how to build the
// binaries.
type NotFoundError struct {
	Name   string
	Looked []Place
}

func (e *NotFoundError) Error() string {
	where := make([]string, len(e.Looked))
	for i, p := range e.Looked {
		where[i] = p.String()
	}
	return fmt.Sprintf("find %s: not found in %s; build the Kubernetes binaries with 'make k8s-assets' in an irsa-local checkout, or 'irsa-local assets build'",
		e.Name, strings.Join(where, ", "))
}

// Find returns the absolute path of the named binary, looking in the order
// given in the package documentation. It returns a *NotFoundError when no
// place has an executable file of that name.
func Find(name string) (string, error) {
	loc := Locate(name)
	if loc.Path == "" {
		return "", &NotFoundError{Name: name, Looked: loc.Looked}
	}
	return loc.Path, nil
}

// Locate looks for the named binary as Find does and reports every place it
// looked at.
func Locate(name string) Location {
	loc := Location{Name: name}
	try := func(p Place) bool {
		loc.Looked = append(loc.Looked, p)
		if p.Path == "" || !isExecutable(p.Path) {
			return false
		}
		abs, err := filepath.Abs(p.Path)
		if err != nil {
			return false
		}
		loc.Path, loc.Source = abs, p.Source
		return true
	}

	if try(Place{Source: EnvVar(name), Path: os.Getenv(EnvVar(name))}) {
		return loc
	}
	kb := os.Getenv("KUBEBUILDER_ASSETS")
	if kb != "" {
		kb = filepath.Join(kb, name)
	}
	if try(Place{Source: "KUBEBUILDER_ASSETS", Path: kb}) {
		return loc
	}
	cache, err := CacheDir()
	if err == nil {
		cache = filepath.Join(cache, name)
	} else {
		cache = ""
	}
	if try(Place{Source: "cache", Path: cache}) {
		return loc
	}
	if wd, err := os.Getwd(); err == nil {
		if try(Place{Source: "bin/k8s", Path: filepath.Join(wd, "bin", "k8s", name)}) {
			return loc
		}
		if root := checkoutRoot(wd); root != "" && root != wd {
			if try(Place{Source: "checkout bin/k8s", Path: filepath.Join(root, "bin", "k8s", name)}) {
				return loc
			}
		}
	}
	loc.Looked = append(loc.Looked, Place{Source: "PATH"})
	if p, err := exec.LookPath(name); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			loc.Path, loc.Source = abs, "PATH"
		}
	}
	return loc
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// checkoutRoot returns the nearest directory at or above dir whose go.mod
// declares irsa-local's module, or "" when dir is not inside a checkout.
func checkoutRoot(dir string) string {
	for {
		if declaresModule(filepath.Join(dir, "go.mod")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func declaresModule(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == modulePath
		}
	}
	return false
}

// IsNotFound reports whether err is, or wraps, a *NotFoundError.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}
