package kind

import (
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/irsa-local/irsa-local/internal/golden"
)

func testConfig() Config {
	return Config{
		Name:                "irsa-local",
		Image:               OfflineImage,
		IssuerURL:           "https://127.0.0.1:8443/id/0123456789ABCDEF0123456789ABCDEF",
		KeyDir:              "/state/keys",
		SigningKeyFile:      "sa.key",
		VerificationKeyFile: "sa.pub",
		Audiences:           []string{"https://127.0.0.1:8443/id/0123456789ABCDEF0123456789ABCDEF", "https://kubernetes.default.svc", "sts.amazonaws.com"},
		Kubeconfig:          "/state/cluster/kubeconfig",
	}
}

// The kind configuration is what kind turns into kubeadm's: its golden
// files show the exact mounts and flags a cluster is created with.
func TestClusterConfigGolden(t *testing.T) {
	cases := []struct {
		name     string
		labels   map[string]string
		cgroupV1 bool
	}{
		{"upstream-image", nil, false},
		{"offline-image-cgroup-v1", map[string]string{ImageLabel: "v1.37.2"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kc, err := clusterConfig(testConfig(), tc.labels, tc.cgroupV1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := yaml.Marshal(kc)
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", tc.name+".yaml"), got)
		})
	}
}

func TestClusterConfigNeedsIssuerAndKeys(t *testing.T) {
	cfg := testConfig()
	cfg.IssuerURL = ""
	if _, err := clusterConfig(cfg, nil, false); err == nil || !strings.Contains(err.Error(), "issuer URL") {
		t.Errorf("clusterConfig without issuer: err = %v", err)
	}
}

// The patch must parse as YAML with the flags as kubeadm v1beta4's
// name/value list, whatever characters the values hold.
func TestAPIServerPatchParses(t *testing.T) {
	cfg := testConfig()
	cfg.IssuerURL = `https://example.com/id/"quoted": yes`
	var patch struct {
		Kind      string `json:"kind"`
		APIServer struct {
			ExtraArgs []struct {
				Name, Value string
			} `json:"extraArgs"`
			ExtraVolumes []struct {
				HostPath, MountPath string
				ReadOnly            bool
			} `json:"extraVolumes"`
		} `json:"apiServer"`
	}
	if err := yaml.Unmarshal([]byte(apiServerPatch(cfg)), &patch); err != nil {
		t.Fatalf("patch does not parse: %v\n%s", err, apiServerPatch(cfg))
	}
	args := map[string]string{}
	for _, a := range patch.APIServer.ExtraArgs {
		args[a.Name] = a.Value
	}
	want := map[string]string{
		"service-account-issuer":           cfg.IssuerURL,
		"service-account-signing-key-file": KeyDir + "/sa.key",
		"service-account-key-file":         KeyDir + "/sa.pub",
		"api-audiences":                    strings.Join(cfg.Audiences, ","),
	}
	for k, v := range want {
		if args[k] != v {
			t.Errorf("%s = %q, want %q", k, args[k], v)
		}
	}
	if len(patch.APIServer.ExtraVolumes) != 1 || patch.APIServer.ExtraVolumes[0].HostPath != KeyDir || !patch.APIServer.ExtraVolumes[0].ReadOnly {
		t.Errorf("extraVolumes = %+v, want the key directory read-only", patch.APIServer.ExtraVolumes)
	}
}
