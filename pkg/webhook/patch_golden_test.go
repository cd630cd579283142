package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/irsa-local/irsa-local/internal/golden"
)

// A golden case is a multi-document YAML file:
//
//	kind: Case            (apiVersion testing.irsa-local.dev/v1) description and options
//	kind: ServiceAccount  optional; absent means "not found"
//	kind: Pod
//	kind: ExpectedPatch   (apiVersion testing.irsa-local.dev/v1) the exact JSON patch,
//	                      as a literal block; "null" means no patch
const fixtureAPIVersion = "testing.irsa-local.dev/v1"

type goldenCase struct {
	Description string                 `json:"description"`
	Options     goldenOptions          `json:"options"`
	Pod         *corev1.Pod            `json:"-"`
	SA          *corev1.ServiceAccount `json:"-"`
	Expected    *string                `json:"-"`
}

type goldenOptions struct {
	AnnotationPrefix *string         `json:"annotationPrefix,omitempty"`
	Audience         *string         `json:"audience,omitempty"`
	MountPath        *string         `json:"mountPath,omitempty"`
	TokenExpiration  *int64          `json:"tokenExpiration,omitempty"`
	Region           *string         `json:"region,omitempty"`
	RegionalSTS      *bool           `json:"regionalSTS,omitempty"`
	Emulator         *EmulatorConfig `json:"emulator,omitempty"`
	// PodIdentity lists "namespace/serviceAccount" pairs with a Pod
	// Identity association; FullURI is the agent's URL ("" for upstream's).
	PodIdentity []string `json:"podIdentity,omitempty"`
	FullURI     string   `json:"fullURI,omitempty"`
}

// identityList is a fixed Identities.
type identityList []string

func (l identityList) HasAssociation(namespace, serviceAccount string) bool {
	for _, id := range l {
		if id == namespace+"/"+serviceAccount {
			return true
		}
	}
	return false
}

func (o goldenOptions) build() []Option {
	var opts []Option
	if o.AnnotationPrefix != nil {
		opts = append(opts, WithAnnotationPrefix(*o.AnnotationPrefix))
	}
	if o.Audience != nil {
		opts = append(opts, WithAudience(*o.Audience))
	}
	if o.MountPath != nil {
		opts = append(opts, WithMountPath(*o.MountPath))
	}
	if o.TokenExpiration != nil {
		opts = append(opts, WithTokenExpiration(*o.TokenExpiration))
	}
	if o.Region != nil {
		opts = append(opts, WithRegion(*o.Region))
	}
	if o.RegionalSTS != nil {
		opts = append(opts, WithRegionalSTS(*o.RegionalSTS))
	}
	if o.Emulator != nil {
		opts = append(opts, WithEmulator(*o.Emulator))
	}
	if o.PodIdentity != nil {
		opts = append(opts, WithContainerCredentials(identityList(o.PodIdentity), o.FullURI))
	}
	return opts
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*\n`)

func splitDocuments(data []byte) []string {
	return docSeparator.Split(string(data), -1)
}

func parseGoldenCase(data []byte) (*goldenCase, error) {
	c := &goldenCase{}
	var sawCase bool
	for i, doc := range splitDocuments(data) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			return nil, fmt.Errorf("decode document %d: %w", i, err)
		}
		switch {
		case head.APIVersion == fixtureAPIVersion && head.Kind == "Case":
			var v struct {
				APIVersion  string        `json:"apiVersion"`
				Kind        string        `json:"kind"`
				Description string        `json:"description"`
				Options     goldenOptions `json:"options"`
			}
			if err := yaml.UnmarshalStrict([]byte(doc), &v); err != nil {
				return nil, fmt.Errorf("decode case: %w", err)
			}
			c.Description, c.Options, sawCase = v.Description, v.Options, true
		case head.APIVersion == fixtureAPIVersion && head.Kind == "ExpectedPatch":
			var v struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Patch      string `json:"patch"`
			}
			if err := yaml.UnmarshalStrict([]byte(doc), &v); err != nil {
				return nil, fmt.Errorf("decode expected patch: %w", err)
			}
			c.Expected = &v.Patch
		case head.APIVersion == "v1" && head.Kind == "ServiceAccount":
			c.SA = &corev1.ServiceAccount{}
			if err := yaml.UnmarshalStrict([]byte(doc), c.SA); err != nil {
				return nil, fmt.Errorf("decode service account: %w", err)
			}
		case head.APIVersion == "v1" && head.Kind == "Pod":
			c.Pod = &corev1.Pod{}
			if err := yaml.UnmarshalStrict([]byte(doc), c.Pod); err != nil {
				return nil, fmt.Errorf("decode pod: %w", err)
			}
		default:
			return nil, fmt.Errorf("document %d: unexpected %s %s", i, head.APIVersion, head.Kind)
		}
	}
	if !sawCase || c.Description == "" {
		return nil, fmt.Errorf("missing Case document with a description")
	}
	if c.Pod == nil {
		return nil, fmt.Errorf("missing Pod document")
	}
	return c, nil
}

// renderExpected formats ops as the ExpectedPatch document.
func renderExpected(ops []PatchOperation) (string, error) {
	body := []byte("null")
	if ops != nil {
		var err error
		if body, err = json.MarshalIndent(ops, "", "  "); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: %s\nkind: ExpectedPatch\npatch: |\n", fixtureAPIVersion)
	for line := range strings.SplitSeq(string(body), "\n") {
		b.WriteString("  " + line + "\n")
	}
	return b.String(), nil
}

func rewriteExpected(file string, data []byte, ops []PatchOperation) error {
	rendered, err := renderExpected(ops)
	if err != nil {
		return fmt.Errorf("render expected patch: %w", err)
	}
	docs := splitDocuments(data)
	replaced := false
	for i, doc := range docs {
		if strings.Contains(doc, "kind: ExpectedPatch") {
			docs[i] = rendered
			replaced = true
		}
	}
	if !replaced {
		last := docs[len(docs)-1]
		if !strings.HasSuffix(last, "\n") {
			docs[len(docs)-1] = last + "\n"
		}
		docs = append(docs, rendered)
	}
	return os.WriteFile(file, []byte(strings.Join(docs, "---\n")), 0o644)
}

func TestBuildPatchGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("found %d golden cases, want at least 25", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			gc, err := parseGoldenCase(data)
			if err != nil {
				t.Fatalf("parse %s: %v", file, err)
			}
			before := gc.Pod.DeepCopy()
			ops, err := BuildPatch(gc.Pod, gc.SA, gc.Options.build()...)
			if err != nil {
				t.Fatalf("BuildPatch: %v", err)
			}
			if !reflect.DeepEqual(before, gc.Pod) {
				t.Errorf("BuildPatch modified its input pod")
			}
			got, err := json.Marshal(ops)
			if err != nil {
				t.Fatal(err)
			}

			if golden.Update() {
				if err := rewriteExpected(file, data, ops); err != nil {
					t.Fatalf("update %s: %v", file, err)
				}
				return
			}
			if gc.Expected == nil {
				t.Fatalf("%s has no ExpectedPatch document; run go test -update", file)
			}
			if !jsonEqual(t, []byte(*gc.Expected), got) {
				want, _ := json.MarshalIndent(json.RawMessage(*gc.Expected), "", "  ")
				gotIndented, _ := json.MarshalIndent(ops, "", "  ")
				t.Fatalf("%s\npatch mismatch\n--- want\n%s\n--- got\n%s", gc.Description, want, gotIndented)
			}

			patched := applyPatch(t, gc.Pod, []byte(*gc.Expected))
			checkPodValid(t, patched)

			// Reinvoking on its own output must change nothing, or a second
			// admission pass would duplicate variables.
			again, err := BuildPatch(patched, gc.SA, gc.Options.build()...)
			if err != nil {
				t.Fatalf("BuildPatch on patched pod: %v", err)
			}
			againJSON, err := json.Marshal(again)
			if err != nil {
				t.Fatal(err)
			}
			if twice := applyPatch(t, patched, againJSON); !reflect.DeepEqual(twice, patched) {
				t.Errorf("second mutation changed the pod:\n%s", againJSON)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("decode expected patch: %v", err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("decode actual patch: %v", err)
	}
	return reflect.DeepEqual(va, vb)
}

// applyPatch applies a JSON patch the way the apiserver does and decodes the
// result strictly, so a patch that produces unknown fields fails here.
func applyPatch(t *testing.T, pod *corev1.Pod, patch []byte) *corev1.Pod {
	t.Helper()
	if bytes.Equal(bytes.TrimSpace(patch), []byte("null")) {
		return pod.DeepCopy()
	}
	doc, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		t.Fatalf("decode patch: %v", err)
	}
	out, err := p.Apply(doc)
	if err != nil {
		t.Fatalf("apply patch: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	var result corev1.Pod
	if err := dec.Decode(&result); err != nil {
		t.Fatalf("patched pod does not decode as a Pod: %v\n%s", err, out)
	}
	return &result
}

// checkPodValid applies the parts of the apiserver's pod validation that a
// bad patch could break.
func checkPodValid(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	if len(pod.Spec.Containers) == 0 {
		t.Errorf("pod has no containers")
	}
	volumes := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		if volumes[v.Name] {
			t.Errorf("duplicate volume %q", v.Name)
		}
		volumes[v.Name] = true
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if sat := src.ServiceAccountToken; sat != nil {
					if sat.ExpirationSeconds == nil || *sat.ExpirationSeconds < MinTokenExpiration {
						t.Errorf("volume %q: token expiration below %d", v.Name, MinTokenExpiration)
					}
					if sat.Path == "" {
						t.Errorf("volume %q: token path empty", v.Name)
					}
				}
			}
		}
	}
	all := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range all {
		env := map[string]bool{}
		for _, e := range c.Env {
			if env[e.Name] {
				t.Errorf("container %q: duplicate env %q", c.Name, e.Name)
			}
			env[e.Name] = true
		}
		paths := map[string]bool{}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				t.Errorf("container %q: mount %q has no volume", c.Name, m.Name)
			}
			if paths[m.MountPath] {
				t.Errorf("container %q: duplicate mount path %q", c.Name, m.MountPath)
			}
			paths[m.MountPath] = true
		}
	}
}
