// Package envdir is the state directory of an environment: where it lives,
// its files, its persistent configuration (env.json), the lock its process
// holds, and what can be done with its key files without that process.
package envdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/irsa-local/irsa-local/internal/fsutil"
)

// ClusterMode selects the Kubernetes side of an environment.
type ClusterMode string

// Cluster modes, as env.json records them.
const (
	ClusterNone  ClusterMode = "none"
	ClusterLocal ClusterMode = "local"
	ClusterKind  ClusterMode = "kind"
	// ClusterExisting adopts a running cluster irsa-local did not create.
	ClusterExisting ClusterMode = "existing"
)

// ConfigVersion is bumped when env.json changes incompatibly.
const ConfigVersion = 1

// Config is the persistent identity of an environment, kept in env.json.
// Everything that clients or IAM remember (the issuer URL with its port, the
// account) is fixed here at creation and survives down and up.
type Config struct {
	Version    int    `json:"version"`
	Name       string `json:"name"`
	IssuerID   string `json:"issuerId"`
	IssuerHost string `json:"issuerHost"`
	IssuerPort int    `json:"issuerPort"`
	AWSPort    int    `json:"awsPort"`
	AWSTLSPort int    `json:"awsTlsPort"`
	// APIServerPort and WebhookPort are chosen when a cluster first runs,
	// so the kubeconfig and the webhook registration stay valid.
	APIServerPort int         `json:"apiServerPort,omitempty"`
	WebhookPort   int         `json:"webhookPort,omitempty"`
	Region        string      `json:"region"`
	AccountID     string      `json:"accountId"`
	ClusterName   string      `json:"clusterName"`
	Cluster       ClusterMode `json:"cluster"`
	// KindCluster names the kind cluster of an environment that ran in kind
	// mode, so that down can delete it even after a crash.
	KindCluster string `json:"kindCluster,omitempty"`
	// Kubeconfig and KubeContext name the credentials of an adopted
	// cluster (existing mode), so that down can remove what irsa-local
	// added to it even after a crash; ClusterIssuer is that cluster's
	// service-account issuer, read from its apiserver at each up.
	Kubeconfig    string    `json:"kubeconfig,omitempty"`
	KubeContext   string    `json:"kubeContext,omitempty"`
	ClusterIssuer string    `json:"clusterIssuer,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
}

var namePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)

// ValidateName checks an environment name: it becomes a directory name and
// the EKS cluster name, so it keeps to lower-case letters, digits and dashes.
func ValidateName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("invalid environment name %q: use 1-40 lower-case letters, digits and dashes, starting and ending with a letter or digit", name)
	}
	return nil
}

// Layout names the files of an environment's state directory.
type Layout struct{ Dir string }

// Files and directories of a state directory.
func (l Layout) ConfigFile() string { return filepath.Join(l.Dir, "env.json") }
func (l Layout) PKIDir() string     { return filepath.Join(l.Dir, "pki") }
func (l Layout) KeyDir() string     { return filepath.Join(l.Dir, "keys") }
func (l Layout) RunDir() string     { return filepath.Join(l.Dir, "run") }
func (l Layout) LogDir() string     { return filepath.Join(l.Dir, "logs") }
func (l Layout) LockFile() string   { return filepath.Join(l.RunDir(), "env.lock") }
func (l Layout) StatusFile() string { return filepath.Join(l.RunDir(), "status.json") }
func (l Layout) PIDFile() string    { return filepath.Join(l.RunDir(), "irsa-local.pid") }
func (l Layout) LogFile() string    { return filepath.Join(l.LogDir(), "irsa-local.log") }
func (l Layout) AWSDir() string     { return filepath.Join(l.Dir, "aws") }
func (l Layout) TrailFile() string  { return filepath.Join(l.Dir, "trail.jsonl") }
func (l Layout) ClusterDir() string { return filepath.Join(l.Dir, "cluster") }
func (l Layout) BackendDir() string { return filepath.Join(l.Dir, "backend") }

// Resolve says where the CLI keeps an environment: an explicit directory
// wins, then $IRSA_LOCAL_HOME/<name>, then ~/.irsa-local/<name>.
func Resolve(explicit, name string) (string, error) {
	if explicit != "" {
		return filepath.Abs(explicit)
	}
	if home := os.Getenv("IRSA_LOCAL_HOME"); home != "" {
		return filepath.Abs(filepath.Join(home, name))
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find home directory: %w (set IRSA_LOCAL_HOME or pass --state-dir)", err)
	}
	return filepath.Join(home, ".irsa-local", name), nil
}

// ErrNoEnvironment is returned when a state directory holds no environment.
var ErrNoEnvironment = errors.New("no environment")

// LoadConfig reads env.json of the environment in l.
func LoadConfig(l Layout) (*Config, error) {
	b, err := os.ReadFile(l.ConfigFile())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoEnvironment, l.Dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read environment config: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse %s: %w (restore it from a backup, or remove the state directory to start over)", l.ConfigFile(), err)
	}
	if c.Version != ConfigVersion {
		return nil, fmt.Errorf("read %s: config version %d is not supported by this irsa-local (want %d)", l.ConfigFile(), c.Version, ConfigVersion)
	}
	return &c, nil
}

// SaveConfig writes env.json atomically.
func SaveConfig(l Layout, c *Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("marshal environment config: %w", err)
	}
	if err := fsutil.WriteFileAtomic(l.ConfigFile(), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write environment config: %w", err)
	}
	return nil
}

// Prepare creates the state directory tree and checks it is writable,
// saying which directory could not be made.
func Prepare(l Layout) error {
	for _, d := range []string{l.Dir, l.PKIDir(), l.KeyDir(), l.RunDir(), l.LogDir(), l.AWSDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("create state directory %s: %w", d, unwrapPath(err))
		}
	}
	probe := filepath.Join(l.RunDir(), ".write-test")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return fmt.Errorf("state directory %s is not writable: %w", l.Dir, unwrapPath(err))
	}
	return os.Remove(probe)
}

// unwrapPath drops the path from a *fs.PathError, which the caller's message
// already names, so errors stay one short line.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
