// Package kind runs an environment's cluster as a kind cluster: real nodes
// in Docker containers, whose kubelets run real pods and project real
// service-account tokens. The cluster is created through kind's Go API with
// kubeadm patches that make kube-apiserver sign tokens with the
// environment's issuer URL and key pair.
//
// The keys reach the node as a directory mount (Config.KeyDir at KeyDir), not
// as single files: a single-file bind mount pins the inode it was made
// with, so a key rotation (a write to a temporary file and a rename) would
// never reach the node. kube-apiserver reads its keys only when it starts;
// RestartAPIServer makes the kubelet start a new one.
//
// Pods reach servers on the host through the kind network's gateway
// address (Gateway). That is how a Linux Docker engine routes a bridge; Docker
// Desktop runs containers in a VM where the gateway is not the host, so it is
// refused with an explanation.
package kind

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"

	"github.com/irsa-local/irsa-local/internal/assets"
)

// KeyDir is where the node sees the environment's key directory, and where
// kube-apiserver reads its signing and verification keys.
const KeyDir = "/etc/irsa-local/keys"

// OfflineImage is the node image hack/kind-node-image.sh builds, from
// Debian packages and Kubernetes binaries built from source.
const OfflineImage = "irsa-local/kind-node:" + assets.KubernetesVersion

// UpstreamImage is kind's own default node image, which Docker pulls.
const UpstreamImage = defaults.Image

// Network is the Docker network kind puts its nodes on.
const Network = "kind"

// ImageLabel marks a node image built by irsa-local's hack/kind-node-image.sh.
// Such an image bundles its own CNI (kind's kindnetd image cannot be fetched
// offline), so kind's default CNI is turned off for it.
const ImageLabel = "io.irsa-local.kind-node"

// Config describes the cluster to create.
type Config struct {
	// Name is the kind cluster name; its node is <Name>-control-plane.
	Name string
	// Image is the node image, e.g. kindest/node:v1.35.0.
	Image string
	// IssuerURL is the "iss" of every service-account token.
	IssuerURL string
	// KeyDir is the host directory holding SigningKeyFile and
	// VerificationKeyFile, mounted into the node at KeyDir.
	KeyDir              string
	SigningKeyFile      string
	VerificationKeyFile string
	// Audiences are kube-apiserver's --api-audiences.
	Audiences []string
	// Kubeconfig is the file the admin kubeconfig is written to.
	Kubeconfig string
}

// Option configures Create.
type Option func(*options)

type options struct {
	logger       *slog.Logger
	wait         time.Duration
	beforeCreate func() error
}

// WithBeforeCreate runs f once every check has passed, just before kind
// creates the node; an error from f stops Create. Callers record there
// that a cluster may exist from then on.
func WithBeforeCreate(f func() error) Option { return func(o *options) { o.beforeCreate = f } }

// WithLogger receives kind's progress and Docker's output.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// Cluster is a kind cluster created by Create.
type Cluster struct {
	cfg      Config
	provider *kindcluster.Provider
	rest     *rest.Config
	gateway  string
}

// CheckDocker returns an error that says what to do when no Docker engine
// kind can use answers.
func CheckDocker(ctx context.Context) error {
	_, err := engine(ctx)
	return err
}

// ErrNoDocker wraps every error saying that no usable Docker engine is
// there; ErrNoImage one saying that the node image is missing. A tool adds
// its own way out (another cluster mode, another image).
var (
	ErrNoDocker = errors.New("kind mode needs a running Linux Docker engine")
	ErrNoImage  = errors.New("the node image is missing")
)

// engineInfo is what Create needs to know of the Docker engine.
type engineInfo struct {
	cgroupV1 bool
}

// engine asks the Docker engine, in one docker info, whether kind can use
// it and what its host is like.
func engine(ctx context.Context) (engineInfo, error) {
	if _, err := exec.LookPath("docker"); err != nil {
		return engineInfo{}, fmt.Errorf("%w: the docker command is not on PATH", ErrNoDocker)
	}
	out, err := docker(ctx, "info", "--format", "{{.OperatingSystem}}|{{.CgroupVersion}}")
	if err != nil {
		return engineInfo{}, fmt.Errorf("%w: docker info failed: %v; start Docker", ErrNoDocker, err)
	}
	osName, cgroup, _ := strings.Cut(out, "|")
	if strings.Contains(osName, "Docker Desktop") {
		return engineInfo{}, fmt.Errorf("%w: pods reach irsa-local on the host through the kind network's gateway, which Docker Desktop does not route to the host", ErrNoDocker)
	}
	return engineInfo{cgroupV1: cgroup == "1"}, nil
}

// ImageExists reports whether image is on this machine, without pulling it.
func ImageExists(ctx context.Context, image string) bool {
	_, err := docker(ctx, "image", "inspect", "--format", "{{.Id}}", image)
	return err == nil
}

// OwnedBy reports whether the kind cluster called name exists and its node
// mounts keyDir: whether it is the cluster an environment with that key
// directory created, rather than someone else's under the same name.
func OwnedBy(ctx context.Context, name, keyDir string) bool {
	abs, err := filepath.Abs(keyDir)
	if err != nil {
		return false
	}
	out, err := docker(ctx, "inspect", "--format", "{{range .Mounts}}{{.Source}}\n{{end}}", name+"-control-plane")
	if err != nil {
		return false
	}
	return slices.Contains(strings.Split(out, "\n"), abs)
}

// CreatePlain creates a kind cluster as `kind create cluster --image image`
// would, with nothing of irsa-local in it: the cluster a user already has,
// which `up --cluster existing` adopts. It adds only what the node image
// and this machine need (no default CNI for irsa-local's offline image,
// which brings its own; kubelets allowed on a cgroup v1 host), and writes
// the kubeconfig, with context kind-<name>, to kubeconfig.
func CreatePlain(ctx context.Context, name, image, kubeconfig string) error {
	host, err := engine(ctx)
	if err != nil {
		return err
	}
	labels, err := imageLabels(ctx, image, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	kc := plainConfig(name, image, labels, host.cgroupV1)
	v1alpha4.SetDefaultsCluster(kc)
	provider := kindcluster.NewProvider(kindcluster.ProviderWithDocker())
	if err := provider.Create(name,
		kindcluster.CreateWithV1Alpha4Config(kc),
		kindcluster.CreateWithKubeconfigPath(kubeconfig),
		kindcluster.CreateWithWaitForReady(2*time.Minute),
		kindcluster.CreateWithDisplayUsage(false),
		kindcluster.CreateWithDisplaySalutation(false),
	); err != nil {
		return fmt.Errorf("create kind cluster %s: %s", name, oneLine(err))
	}
	return nil
}

// plainConfig is one control-plane node of image, with what the image and
// the host need and nothing else.
func plainConfig(name, image string, labels map[string]string, hostCgroupV1 bool) *v1alpha4.Cluster {
	kc := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Name:     name,
		Nodes:    []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole, Image: image}},
	}
	if _, ok := labels[ImageLabel]; ok {
		kc.Networking.DisableDefaultCNI = true
	}
	if hostCgroupV1 {
		// Kubelets from v1.35 refuse to start on a cgroup v1 host unless told.
		kc.KubeadmConfigPatches = append(kc.KubeadmConfigPatches, "kind: KubeletConfiguration\nfailCgroupV1: false\n")
	}
	return kc
}

// Create creates the cluster and waits for its node to be Ready. It refuses
// a name kind already uses: the apiserver's issuer and keys are fixed when
// a cluster is created, so an existing cluster cannot be taken over.
func Create(ctx context.Context, cfg Config, opts ...Option) (_ *Cluster, retErr error) {
	o := options{logger: slog.New(slog.DiscardHandler), wait: 2 * time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	host, err := engine(ctx)
	if err != nil {
		return nil, err
	}
	provider := kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(logAdapter{o.logger}))
	names, err := provider.List()
	if err != nil {
		return nil, fmt.Errorf("list kind clusters: %w", err)
	}
	if slices.Contains(names, cfg.Name) {
		return nil, fmt.Errorf("a kind cluster named %q already exists; irsa-local's kind mode creates its own; to add IRSA to this one as it is, adopt it: irsa-local up --cluster existing --context kind-%s (or delete it: kind delete cluster --name %s, or give the environment another name)", cfg.Name, cfg.Name, cfg.Name)
	}
	labels, err := imageLabels(ctx, cfg.Image, o.logger)
	if err != nil {
		return nil, err
	}
	kc, err := clusterConfig(cfg, labels, host.cgroupV1)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Kubeconfig), 0o700); err != nil {
		return nil, fmt.Errorf("create kubeconfig directory: %w", err)
	}
	if o.beforeCreate != nil {
		if err := o.beforeCreate(); err != nil {
			return nil, err
		}
	}
	c := &Cluster{cfg: cfg, provider: provider}
	defer func() {
		if retErr != nil {
			// kind removes a cluster whose creation failed; this covers a
			// failure after it, so that no node is left behind.
			_ = c.Delete(context.WithoutCancel(ctx))
		}
	}()
	// kind's API takes no context; creation runs to its end (its wait is
	// bounded) and a cancelled ctx is reported after.
	err = provider.Create(cfg.Name,
		kindcluster.CreateWithV1Alpha4Config(kc),
		kindcluster.CreateWithKubeconfigPath(cfg.Kubeconfig),
		kindcluster.CreateWithWaitForReady(o.wait),
		kindcluster.CreateWithDisplayUsage(false),
		kindcluster.CreateWithDisplaySalutation(false),
	)
	if err != nil {
		return nil, fmt.Errorf("create kind cluster %s: %s", cfg.Name, oneLine(err))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("create kind cluster %s: %w", cfg.Name, err)
	}
	if c.rest, err = clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig); err != nil {
		return nil, fmt.Errorf("load kind kubeconfig: %w", err)
	}
	if c.gateway, err = gateway(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// clusterConfig is the kind configuration: one control-plane node with the
// key directory mounted, and kubeadm patches for the issuer, keys and
// audiences.
func clusterConfig(cfg Config, labels map[string]string, hostCgroupV1 bool) (*v1alpha4.Cluster, error) {
	if cfg.IssuerURL == "" || cfg.KeyDir == "" || cfg.SigningKeyFile == "" || cfg.VerificationKeyFile == "" {
		return nil, errors.New("configure kind cluster: issuer URL and key files are required")
	}
	keyDir, err := filepath.Abs(cfg.KeyDir)
	if err != nil {
		return nil, fmt.Errorf("resolve key directory: %w", err)
	}
	kc := plainConfig(cfg.Name, cfg.Image, labels, hostCgroupV1)
	kc.Nodes[0].ExtraMounts = []v1alpha4.Mount{{HostPath: keyDir, ContainerPath: KeyDir, Readonly: true}}
	kc.KubeadmConfigPatches = append([]string{apiServerPatch(cfg)}, kc.KubeadmConfigPatches...)
	v1alpha4.SetDefaultsCluster(kc)
	return kc, nil
}

// apiServerPatch is the kubeadm ClusterConfiguration patch. kind merges
// extraArgs by name, so these replace kubeadm's own values for the same
// flags and keep the rest.
func apiServerPatch(cfg Config) string {
	var b strings.Builder
	arg := func(name, value string) {
		fmt.Fprintf(&b, "  - name: %s\n    value: %q\n", name, value)
	}
	b.WriteString("kind: ClusterConfiguration\napiServer:\n  extraArgs:\n")
	arg("service-account-issuer", cfg.IssuerURL)
	arg("service-account-signing-key-file", KeyDir+"/"+cfg.SigningKeyFile)
	arg("service-account-key-file", KeyDir+"/"+cfg.VerificationKeyFile)
	arg("api-audiences", strings.Join(cfg.Audiences, ","))
	b.WriteString("  extraVolumes:\n")
	fmt.Fprintf(&b, "  - name: irsa-local-keys\n    hostPath: %s\n    mountPath: %s\n    readOnly: true\n    pathType: Directory\n", KeyDir, KeyDir)
	return b.String()
}

// imageLabels returns the node image's labels, pulling the image once when
// it is not on the machine.
func imageLabels(ctx context.Context, image string, logger *slog.Logger) (map[string]string, error) {
	inspect := func() (string, error) {
		return docker(ctx, "image", "inspect", "--format", "{{json .Config.Labels}}", image)
	}
	out, err := inspect()
	if err != nil {
		logger.Info("pulling node image", "image", image)
		if _, perr := docker(ctx, "pull", image); perr != nil {
			return nil, fmt.Errorf("%w: %s is not on this machine and could not be pulled (%v); build one offline with hack/kind-node-image.sh, or choose another", ErrNoImage, image, perr)
		}
		if out, err = inspect(); err != nil {
			return nil, fmt.Errorf("inspect node image %s: %w", image, err)
		}
	}
	labels := map[string]string{}
	if err := json.Unmarshal([]byte(out), &labels); err != nil && out != "null" {
		return nil, fmt.Errorf("read labels of node image %s: %w", image, err)
	}
	return labels, nil
}

// gateway returns the kind network's IPv4 gateway: the host's address on
// it, which pods and nodes reach the host through.
func gateway(ctx context.Context) (string, error) {
	out, err := docker(ctx, "network", "inspect", Network, "--format", "{{range .IPAM.Config}}{{.Gateway}} {{end}}")
	if err != nil {
		return "", fmt.Errorf("inspect the %s network: %w", Network, err)
	}
	for _, f := range strings.Fields(out) {
		if ip := net.ParseIP(f); ip != nil && ip.To4() != nil {
			return ip.String(), nil
		}
	}
	return "", fmt.Errorf("the %s network has no IPv4 gateway (got %q)", Network, out)
}

// Node returns the control-plane node's container name.
func (c *Cluster) Node() string { return c.cfg.Name + "-control-plane" }

// Gateway returns the host's address on the kind network.
func (c *Cluster) Gateway() string { return c.gateway }

// Kubeconfig returns the admin kubeconfig file.
func (c *Cluster) Kubeconfig() string { return c.cfg.Kubeconfig }

// RESTConfig returns the admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.rest) }

// Running reports whether the node container runs, and if not, its state.
func (c *Cluster) Running(ctx context.Context) (bool, string) {
	out, err := docker(ctx, "inspect", "--format", "{{.State.Status}}", c.Node())
	if err != nil {
		return false, "node container " + c.Node() + " is gone"
	}
	return out == "running", "node container " + c.Node() + " is " + out
}

// RestartAPIServer makes the kubelet start a new kube-apiserver, so that it
// reads the key files again, and returns once the new process answers
// /readyz. It stamps the static pod manifest with a fresh annotation: the
// kubelet then replaces the pod at once, where stopping the container would
// run into its crash-loop back-off after a few rotations.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	old, err := c.apiServerPID(ctx)
	if err != nil {
		return err
	}
	stamp := time.Now().UTC().Format(time.RFC3339Nano)
	// kubeadm always writes an annotations block for the apiserver (its
	// advertise address); the stamp goes right under it. The kubelet skips
	// dot files, so the edit is made beside the manifest and renamed over it.
	script := `set -e
m=/etc/kubernetes/manifests/kube-apiserver.yaml
n=/etc/kubernetes/manifests/.kube-apiserver.yaml.next
sed -e '/^ *irsa-local\/restarted-at:/d' -e 's|^\( *\)annotations:$|&\n\1  irsa-local/restarted-at: "` + stamp + `"|' "$m" >"$n"
grep -q 'irsa-local/restarted-at: "` + stamp + `"' "$n"
mv "$n" "$m"`
	if _, err := docker(ctx, "exec", c.Node(), "sh", "-c", script); err != nil {
		return fmt.Errorf("restart kube-apiserver in %s: %w", c.Node(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	client, err := rest.HTTPClientFor(c.rest)
	if err != nil {
		return fmt.Errorf("create client for %s: %w", c.cfg.Name, err)
	}
	for {
		pid, err := c.apiServerPID(ctx)
		if err == nil && pid != old && c.ready(ctx, client) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("restart kube-apiserver in %s: not ready again: %w", c.Node(), ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// apiServerPID returns the pid of kube-apiserver inside the node ("" when
// none runs). /proc is read directly, so the node image needs only sh.
func (c *Cluster) apiServerPID(ctx context.Context) (string, error) {
	out, err := docker(ctx, "exec", c.Node(), "sh", "-c",
		`for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = kube-apiserver ] && echo "${p#/proc/}"; done; true`)
	if err != nil {
		return "", fmt.Errorf("find kube-apiserver in %s: %w", c.Node(), err)
	}
	return out, nil
}

func (c *Cluster) ready(ctx context.Context, client *http.Client) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.rest.Host, "/")+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Exec runs a command in the node container and returns its output.
func (c *Cluster) Exec(ctx context.Context, args ...string) (string, error) {
	out, err := docker(ctx, append([]string{"exec", c.Node()}, args...)...)
	if err != nil {
		return "", fmt.Errorf("run %s in %s: %w", args[0], c.Node(), err)
	}
	return out, nil
}

// CopyTo copies a file of this host into the node container.
func (c *Cluster) CopyTo(ctx context.Context, src, dst string) error {
	if _, err := docker(ctx, "cp", src, c.Node()+":"+dst); err != nil {
		return fmt.Errorf("copy %s into %s: %w", src, c.Node(), err)
	}
	return nil
}

// Delete deletes the cluster and its node containers.
func (c *Cluster) Delete(_ context.Context) error {
	return Delete(c.cfg.Name, c.provider)
}

// Delete deletes the kind cluster called name, if it exists. provider may
// be nil.
func Delete(name string, provider *kindcluster.Provider) error {
	if provider == nil {
		provider = kindcluster.NewProvider(kindcluster.ProviderWithDocker())
	}
	// An empty kubeconfig path would make kind edit the user's
	// ~/.kube/config; irsa-local's own kubeconfig is removed with the state.
	if err := provider.Delete(name, os.DevNull); err != nil {
		return fmt.Errorf("delete kind cluster %s: %s", name, oneLine(err))
	}
	return nil
}

func docker(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", errors.New(firstLine(errb.String(), err))
	}
	return strings.TrimSpace(out.String()), nil
}

func firstLine(stderr string, err error) string {
	for _, l := range strings.Split(stderr, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return err.Error()
}

// oneLine flattens kind's multi-line errors (which carry command output)
// to their first line.
func oneLine(err error) string {
	s := strings.TrimSpace(err.Error())
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
