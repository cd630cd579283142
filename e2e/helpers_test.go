package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// world is one spec's isolated view of the machine: its own HOME and
// IRSA_LOCAL_HOME, so no spec sees another's environments or AWS config.
type world struct {
	home string
	env  []string
}

func newWorld() *world {
	home := GinkgoT().TempDir()
	w := &world{home: home}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || k == "HOME" || k == "KUBEBUILDER_ASSETS" || strings.HasPrefix(k, "TEST_ASSET_") || k == "IRSA_LOCAL_HOME" || k == "IRSA_LOCAL_NAME" || k == "KUBECONFIG" {
			continue
		}
		w.env = append(w.env, kv)
	}
	w.env = append(w.env, "HOME="+home, "IRSA_LOCAL_HOME="+home+"/.irsa-local")
	if k8sAssets != "" {
		// The spec's HOME has no binary cache; point at the suite's.
		w.env = append(w.env, "KUBEBUILDER_ASSETS="+k8sAssets)
	}
	DeferCleanup(func() {
		// Whatever a spec left running is stopped, pass or fail.
		_, _, _ = w.run("down")
	})
	return w
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs irsa-local with args and returns its output and exit code.
func (w *world) run(args ...string) (string, string, int) {
	r := w.cmd(binary, nil, args...)
	return r.stdout, r.stderr, r.code
}

// cmd runs any program in the spec's environment.
func (w *world) cmd(prog string, stdin []byte, args ...string) result {
	c := exec.Command(prog, args...)
	c.Env = w.env
	c.Dir = w.home
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		Fail("run " + prog + ": " + err.Error())
	}
	GinkgoWriter.Printf("$ %s %s\n%s%s(exit %d)\n", prog, strings.Join(args, " "), out.String(), errb.String(), code)
	return result{out.String(), errb.String(), code}
}

// must runs irsa-local and fails the spec unless it exits 0.
func (w *world) must(args ...string) string {
	out, errOut, code := w.run(args...)
	ExpectWithOffset(1, code).To(Equal(0), "irsa-local %s: %s", strings.Join(args, " "), errOut)
	return out
}

type status struct {
	Name     string `json:"name"`
	StateDir string `json:"stateDir"`
	Running  bool   `json:"running"`
	PID      int    `json:"pid"`
	Issuer   struct {
		URL     string `json:"url"`
		JWKSURL string `json:"jwksURL"`
		CAFile  string `json:"caFile"`
		Listen  string `json:"listen"`
	} `json:"issuer"`
	AWS struct {
		Endpoint        string   `json:"endpoint"`
		EndpointHTTPS   string   `json:"endpointHTTPS"`
		OIDCProviderARN string   `json:"oidcProviderArn"`
		Region          string   `json:"region"`
		AccountID       string   `json:"accountId"`
		AccessKeyID     string   `json:"accessKeyId"`
		SecretAccessKey string   `json:"secretAccessKey"`
		Accounts        []string `json:"accounts"`
	} `json:"aws"`
	Cluster struct {
		Mode           string `json:"mode"`
		Kubeconfig     string `json:"kubeconfig"`
		KindCluster    string `json:"kindCluster"`
		PodAWSEndpoint string `json:"podAWSEndpoint"`
	} `json:"cluster"`
	Components []struct {
		Name  string `json:"name"`
		State string `json:"state"`
		Error string `json:"error"`
	} `json:"components"`
}

func (w *world) status(extra ...string) status {
	var s status
	ExpectWithOffset(1, json.Unmarshal([]byte(w.must(append([]string{"status", "-o", "json"}, extra...)...)), &s)).To(Succeed())
	return s
}

// oneLine asserts that a failed command reported its error on exactly one
// line (progress lines such as " ✗ Starting ..." may precede it) and
// returns that line.
func oneLine(stderr string) string {
	var errs []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.HasPrefix(l, "error: ") {
			errs = append(errs, l)
		} else {
			ExpectWithOffset(1, strings.TrimSpace(l)).To(Or(HavePrefix("✗"), HavePrefix("✓")), "stderr %q has a line that is neither the error nor a step", stderr)
		}
	}
	ExpectWithOffset(1, errs).To(HaveLen(1), "want one error line, got %q", stderr)
	return errs[0]
}

// processGone reports whether pid has exited (or is a zombie).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

func eventually(f func() bool) {
	EventuallyWithOffset(1, f).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).Should(BeTrue())
}
