package webhook

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNewMutatorRejectsBadOptions(t *testing.T) {
	tests := map[string]struct {
		opt  Option
		want string
	}{
		"empty prefix":        {WithAnnotationPrefix(""), "annotation prefix is empty"},
		"empty mount path":    {WithMountPath(""), "mount path is empty"},
		"endpoint scheme":     {WithEmulator(EmulatorConfig{EndpointURL: "ftp://example.com"}), "scheme must be http or https"},
		"endpoint no host":    {WithEmulator(EmulatorConfig{EndpointURL: "https://"}), "missing host"},
		"endpoint unparsable": {WithEmulator(EmulatorConfig{EndpointURL: "http://[::1"}), "parse endpoint url"},
		"endpoint relative":   {WithEmulator(EmulatorConfig{EndpointURL: "irsa-local:8443"}), "scheme must be http or https"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := NewMutator(tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewMutator error = %v, want one containing %q", err, tc.want)
			}
			if _, err := BuildPatch(&corev1.Pod{}, &corev1.ServiceAccount{}, tc.opt); err == nil {
				t.Fatalf("BuildPatch accepted the bad option")
			}
		})
	}
}

func TestBuildPatchNilPod(t *testing.T) {
	if _, err := BuildPatch(nil, &corev1.ServiceAccount{}); err == nil {
		t.Fatal("BuildPatch(nil pod) returned no error")
	}
}

func TestNilOptionsAreIgnored(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/r"},
	}}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}
	ops, err := BuildPatch(pod, sa, nil, WithRegion("us-east-1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 2 {
		t.Fatalf("got %d operations, want 2", len(ops))
	}
}

// The input's env slice has spare capacity; appending in place would leak
// the mutation into the caller's pod.
func TestBuildPatchDoesNotAliasInput(t *testing.T) {
	env := make([]corev1.EnvVar, 1, 8)
	env[0] = corev1.EnvVar{Name: "A", Value: "1"}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Env: env}}}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/r"},
	}}
	if _, err := BuildPatch(pod, sa); err != nil {
		t.Fatal(err)
	}
	if got := env[:2][1]; got.Name != "" {
		t.Fatalf("caller's env backing array was written: %+v", got)
	}
}
