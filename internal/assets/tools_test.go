package assets

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// kubernetesReplaced returns the modules the replace block of a kubernetes
// go.mod points at staging directories, in order.
func kubernetesReplaced(t *testing.T, goMod []byte) []string {
	t.Helper()
	var out []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(goMod))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "replace (":
			in = true
		case in && line == ")":
			in = false
		case in:
			f := strings.Fields(line)
			if len(f) != 3 || f[1] != "=>" || !strings.HasPrefix(f[2], "./staging/src/") {
				t.Fatalf("unexpected replace line in kubernetes go.mod: %q", line)
			}
			out = append(out, strings.TrimPrefix(f[0], "k8s.io/"))
		}
	}
	return out
}

// expectedStaging is the staging list of kubernetes v1.37.2: read from its
// go.mod in the module cache when that is there, else the copy in testdata.
func expectedStaging(t *testing.T) []string {
	t.Helper()
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		cache := strings.TrimSpace(string(out))
		for _, p := range []string{
			filepath.Join(cache, "k8s.io", "kubernetes@"+KubernetesVersion, "go.mod"),
			filepath.Join(cache, "cache", "download", "k8s.io", "kubernetes", "@v", KubernetesVersion+".mod"),
		} {
			if b, err := os.ReadFile(p); err == nil {
				t.Logf("staging modules from %s", p)
				return kubernetesReplaced(t, b)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join("testdata", "kubernetes-"+KubernetesVersion+"-staging-modules.txt"))
	if err != nil {
		t.Fatal(err)
	}
	t.Log("kubernetes go.mod not in the module cache; staging modules from testdata")
	return strings.Fields(string(b))
}

func TestToolsGoModReplacesEveryStagingModule(t *testing.T) {
	files, err := toolsFiles()
	if err != nil {
		t.Fatal(err)
	}
	goMod := string(files["go.mod"])
	var replaced []string
	for _, line := range strings.Split(goMod, "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[1] == "=>" {
			mod := strings.TrimPrefix(f[0], "k8s.io/")
			if f[2] != f[0] || f[3] != "v0.37.2" {
				t.Errorf("replace line %q: want %s => %s v0.37.2", line, f[0], f[0])
			}
			replaced = append(replaced, mod)
		}
	}
	want := expectedStaging(t)
	if len(want) < 30 {
		t.Fatalf("expected staging list has only %d modules: %v", len(want), want)
	}
	if !slices.Equal(replaced, want) {
		t.Errorf("tools go.mod replaces\n%v\nwant\n%v", replaced, want)
	}
	for _, line := range []string{
		"\tk8s.io/kubernetes v1.37.2\n",
		"\tgo.etcd.io/etcd/server/v3 v3.7.0\n",
		"\tk8s.io/kubernetes/cmd/kube-apiserver\n",
		"\tk8s.io/kubernetes/cmd/kube-controller-manager\n",
		"\tk8s.io/kubernetes/cmd/kubectl\n",
		"\ngo 1.26.0\n",
	} {
		if !strings.Contains(goMod, line) {
			t.Errorf("tools go.mod lacks %q:\n%s", line, goMod)
		}
	}
	if !strings.Contains(string(files["etcd/main.go"]), "etcdmain.Main(os.Args)") {
		t.Errorf("etcd main does not call etcdmain.Main:\n%s", files["etcd/main.go"])
	}
}

func TestStagingVersion(t *testing.T) {
	if got := stagingVersion("v1.37.2"); got != "v0.37.2" {
		t.Errorf("stagingVersion(v1.37.2) = %q", got)
	}
}

func TestLdflagsSetVersionForServersAndKubectl(t *testing.T) {
	got := ldflags()
	for _, want := range []string{
		"-X k8s.io/component-base/version.gitVersion=v1.37.2",
		"-X k8s.io/component-base/version.gitMajor=1",
		"-X k8s.io/component-base/version.gitMinor=37",
		"-X k8s.io/client-go/pkg/version.gitVersion=v1.37.2",
		"-X k8s.io/client-go/pkg/version.gitMinor=37",
	} {
		if !strings.Contains(got, want+" ") && !strings.HasSuffix(got, want) {
			t.Errorf("ldflags lack %q: %s", want, got)
		}
	}
}

// TestProjectDoesNotRequireKubernetes guards the point of the tools module:
// irsa-local's own module graph stays free of k8s.io/kubernetes.
func TestProjectDoesNotRequireKubernetes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "module "+modulePath+"\n") {
		t.Fatalf("../../go.mod is not irsa-local's")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && (f[0] == "k8s.io/kubernetes" || (len(f) > 1 && f[1] == "k8s.io/kubernetes")) {
			t.Errorf("irsa-local's go.mod mentions k8s.io/kubernetes: %q", line)
		}
	}
}
