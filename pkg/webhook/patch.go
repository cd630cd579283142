package webhook

import (
	"encoding/csv"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Environment variables the mutation reads or writes.
const (
	envRoleARN          = "AWS_ROLE_ARN"
	envTokenFile        = "AWS_WEB_IDENTITY_TOKEN_FILE"
	envRegion           = "AWS_REGION"
	envDefaultRegion    = "AWS_DEFAULT_REGION"
	envRegionalSTS      = "AWS_STS_REGIONAL_ENDPOINTS"
	envEndpointURL      = "AWS_ENDPOINT_URL"
	envEndpointURLSTS   = "AWS_ENDPOINT_URL_STS"
	envCABundle         = "AWS_CA_BUNDLE"
	envFullURI          = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	envAuthTokenFile    = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
	regionalSTSEndpoint = "regional"
)

// roleARNPattern is upstream's sanity check; a mismatch is only logged.
var roleARNPattern = regexp.MustCompile(`^arn:aws[a-z0-9-]*:iam::\d{12}:role\/[\w-\/.@+=,]+$`)

// PatchOperation is one RFC 6902 JSON-patch operation.
type PatchOperation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// Mutator computes the web-identity patch for a pod. It holds only
// configuration, so one Mutator may be shared by concurrent requests.
type Mutator struct {
	cfg config
}

// NewMutator returns a Mutator with upstream's defaults overridden by opts.
// Nil options are ignored.
func NewMutator(opts ...Option) (*Mutator, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyMutator(&cfg); err != nil {
			return nil, fmt.Errorf("apply mutator option: %w", err)
		}
	}
	return &Mutator{cfg: cfg}, nil
}

// BuildPatch is NewMutator(opts...).BuildPatch(pod, sa), for one-off use.
func BuildPatch(pod *corev1.Pod, sa *corev1.ServiceAccount, opts ...Option) ([]PatchOperation, error) {
	m, err := NewMutator(opts...)
	if err != nil {
		return nil, err
	}
	return m.BuildPatch(pod, sa)
}

// podSettings is everything the mutation of one pod depends on, after the
// precedence rules have been applied.
type podSettings struct {
	// podIdentity: the service account has a Pod Identity association, so
	// the pod gets the container-credentials variables and token instead
	// of the web-identity ones.
	podIdentity     bool
	volume          string // the token volume's (and mount's) name
	mountPath       string
	tokenPath       string // the token's file name in the volume
	roleARN         string
	audience        string
	regionalSTS     bool
	tokenExpiration int64
	skip            map[string]bool
	tokenFile       string
	caBundle        string
}

// BuildPatch returns the JSON patch that upstream's webhook would return for
// pod, whose service account is sa. It returns no operations when sa is nil
// (not found), or has neither a role-arn annotation nor (with
// WithContainerCredentials) a Pod Identity association. pod and sa are not
// modified.
//
// A service account with an association gets the container-credentials
// variables, volume and mount; its role-arn annotation is then ignored, as
// upstream's webhook gives container credentials precedence.
//
// Precedence, as upstream:
//
//	audience:        service account annotation > WithAudience
//	regional STS:    service account annotation > WithRegionalSTS
//	token expiry:    pod annotation > service account annotation > WithTokenExpiration
func (m *Mutator) BuildPatch(pod *corev1.Pod, sa *corev1.ServiceAccount) ([]PatchOperation, error) {
	if pod == nil {
		return nil, errors.New("build patch: pod is nil")
	}
	if sa == nil {
		return nil, nil
	}
	s, ok := m.settings(pod, sa)
	if !ok {
		return nil, nil
	}

	initContainers := make([]corev1.Container, 0, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		initContainers = append(initContainers, m.mutateContainer(&pod.Spec.InitContainers[i], s))
	}
	containers := make([]corev1.Container, 0, len(pod.Spec.Containers))
	for i := range pod.Spec.Containers {
		containers = append(containers, m.mutateContainer(&pod.Spec.Containers[i], s))
	}

	var ops []PatchOperation
	if !hasVolume(pod.Spec.Volumes, s.volume) {
		vol := m.tokenVolume(s)
		if pod.Spec.Volumes != nil {
			// Prepending keeps the index stable whatever the list holds.
			ops = append(ops, PatchOperation{Op: "add", Path: "/spec/volumes/0", Value: vol})
		} else {
			// A JSON pointer into a missing array is an error, so create it.
			ops = append(ops, PatchOperation{Op: "add", Path: "/spec/volumes", Value: []corev1.Volume{vol}})
		}
	}
	// The list exists by now: a pod without volumes just got the token one.
	// Appending leaves upstream's operation above untouched.
	if e := m.cfg.emulator; e != nil && e.tls && !hasVolume(pod.Spec.Volumes, CAVolumeName) {
		ops = append(ops, PatchOperation{Op: "add", Path: "/spec/volumes/-", Value: caVolume(e.caConfigMap)})
	}

	// Upstream always replaces the whole container list, even when nothing
	// in it changed.
	ops = append(ops, PatchOperation{Op: "add", Path: "/spec/containers", Value: containers})
	if len(initContainers) > 0 {
		ops = append(ops, PatchOperation{Op: "add", Path: "/spec/initContainers", Value: initContainers})
	}
	return ops, nil
}

// settings resolves the per-pod configuration; ok is false when the pod must
// not be mutated.
func (m *Mutator) settings(pod *corev1.Pod, sa *corev1.ServiceAccount) (podSettings, bool) {
	prefix := m.cfg.annotationPrefix + "/"
	roleARN := sa.Annotations[prefix+annotationRoleARN]
	cc := m.cfg.containerCredentials
	podIdentity := cc != nil && cc.identities.HasAssociation(sa.Namespace, sa.Name)
	if roleARN == "" && !podIdentity {
		return podSettings{}, false
	}
	log := m.cfg.logger.With("namespace", sa.Namespace, "serviceAccount", sa.Name)
	s := podSettings{
		roleARN:         roleARN,
		audience:        m.cfg.audience,
		regionalSTS:     m.cfg.regionalSTS,
		tokenExpiration: m.cfg.tokenExpiration,
		volume:          TokenVolumeName,
		mountPath:       m.cfg.mountPath,
		tokenPath:       TokenPath,
	}
	if podIdentity {
		s.podIdentity, s.roleARN = true, ""
		s.audience, s.volume, s.mountPath, s.tokenPath = PodIdentityAudience, PodIdentityVolumeName, PodIdentityMountPath, PodIdentityTokenPath
		s.tokenExpiration = DefaultTokenExpiration
	} else {
		if !roleARNPattern.MatchString(roleARN) {
			// Upstream injects it anyway; STS will reject it with a clearer error.
			log.Warn("role ARN does not look like an IAM role ARN", "roleARN", roleARN)
		}
		// Present-but-empty counts: upstream then requests a token with no
		// explicit audience, which the apiserver fills with its own.
		if v, ok := sa.Annotations[prefix+annotationAudience]; ok {
			s.audience = v
		}
	}
	if v, ok := sa.Annotations[prefix+annotationRegionalSTS]; ok {
		if b, err := strconv.ParseBool(v); err == nil {
			s.regionalSTS = b
		} else {
			log.Info("ignoring unparsable annotation", "annotation", prefix+annotationRegionalSTS, "value", v)
		}
	}
	if v, ok := sa.Annotations[prefix+annotationTokenExpiration]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			s.tokenExpiration = clampExpiration(n)
		} else {
			log.Info("ignoring unparsable annotation", "annotation", prefix+annotationTokenExpiration, "value", v)
		}
	}
	if v, ok := pod.Annotations[prefix+annotationTokenExpiration]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			s.tokenExpiration = clampExpiration(n)
		} else {
			log.Info("ignoring unparsable pod annotation", "annotation", prefix+annotationTokenExpiration, "value", v)
		}
	}
	s.skip = m.containersToSkip(pod, prefix+annotationSkipContainers)

	windows := isWindows(pod)
	s.tokenFile = filePath(path.Join(s.mountPath, s.tokenPath), windows)
	s.caBundle = filePath(path.Join(CAMountPath, CAKey), windows)
	return s, true
}

// filePath returns p as the SDKs in the container must see it. On Windows
// only the variables need a drive path; mountPath stays unix-style, as
// upstream.
func filePath(p string, windows bool) string {
	if !windows {
		return p
	}
	return "C:" + strings.ReplaceAll(p, "/", `\`)
}

// containersToSkip reads one CSV record of container names. A malformed
// value skips nothing, as upstream.
func (m *Mutator) containersToSkip(pod *corev1.Pod, key string) map[string]bool {
	v, ok := pod.Annotations[key]
	if !ok {
		return nil
	}
	names, err := csv.NewReader(strings.NewReader(v)).Read()
	if err != nil {
		m.cfg.logger.Info("ignoring unparsable pod annotation", "annotation", key, "value", v, "error", err)
		return nil
	}
	skip := make(map[string]bool, len(names))
	for _, n := range names {
		skip[n] = true
	}
	return skip
}

func isWindows(pod *corev1.Pod) bool {
	return pod.Spec.NodeSelector["kubernetes.io/os"] == "windows" ||
		pod.Spec.NodeSelector["beta.kubernetes.io/os"] == "windows"
}

// mutateContainer returns a copy of c with the variables and mounts added.
func (m *Mutator) mutateContainer(orig *corev1.Container, s podSettings) corev1.Container {
	c := *orig.DeepCopy()
	if s.skip[c.Name] {
		return c
	}

	var hasWebIdentity, hasRegion, hasRegionalSTS, hasEndpoint, hasSTSEndpoint, hasCABundle, hasContainerCreds bool
	for _, e := range c.Env {
		switch e.Name {
		case envRoleARN, envTokenFile:
			hasWebIdentity = true
		case envFullURI, envAuthTokenFile:
			hasContainerCreds = true
		case envRegion, envDefaultRegion:
			hasRegion = true
		case envRegionalSTS:
			hasRegionalSTS = true
		case envEndpointURL:
			hasEndpoint = true
		case envEndpointURLSTS:
			hasSTSEndpoint = true
		case envCABundle:
			hasCABundle = true
		}
	}
	// A container that already configures all three groups is treated as
	// opted out, so it does not even get the mount.
	if !s.podIdentity && hasWebIdentity && hasRegion && hasRegionalSTS {
		return c
	}

	if s.regionalSTS && !hasRegionalSTS {
		c.Env = append(c.Env, corev1.EnvVar{Name: envRegionalSTS, Value: regionalSTSEndpoint})
	}
	// Both region variables or neither: mixing a user value with ours would
	// leave the SDKs disagreeing about the region.
	if m.cfg.region != "" && !hasRegion {
		c.Env = append(c.Env,
			corev1.EnvVar{Name: envDefaultRegion, Value: m.cfg.region},
			corev1.EnvVar{Name: envRegion, Value: m.cfg.region})
	}
	// Same pairing for the web-identity variables, and for the container
	// credentials ones.
	switch {
	case s.podIdentity && !hasContainerCreds:
		c.Env = append(c.Env,
			corev1.EnvVar{Name: envFullURI, Value: m.cfg.containerCredentials.fullURI},
			corev1.EnvVar{Name: envAuthTokenFile, Value: s.tokenFile})
	case !s.podIdentity && !hasWebIdentity:
		c.Env = append(c.Env,
			corev1.EnvVar{Name: envRoleARN, Value: s.roleARN},
			corev1.EnvVar{Name: envTokenFile, Value: s.tokenFile})
	}
	if e := m.cfg.emulator; e != nil {
		if !hasEndpoint {
			c.Env = append(c.Env, corev1.EnvVar{Name: envEndpointURL, Value: e.endpoint})
			// aws-sdk-go-v2 builds the STS client of its web-identity
			// credential provider before it reads AWS_ENDPOINT_URL, so only
			// the service-specific variable reaches it. A container that
			// sets its own global endpoint keeps it for STS too.
			if !hasSTSEndpoint {
				c.Env = append(c.Env, corev1.EnvVar{Name: envEndpointURLSTS, Value: e.endpoint})
			}
		}
		if e.tls && !hasCABundle {
			c.Env = append(c.Env, corev1.EnvVar{Name: envCABundle, Value: s.caBundle})
		}
	}

	if !hasMount(c.VolumeMounts, s.volume) {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{
			Name:      s.volume,
			ReadOnly:  true,
			MountPath: s.mountPath,
		})
	}
	if e := m.cfg.emulator; e != nil && e.tls && !hasMount(c.VolumeMounts, CAVolumeName) {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{
			Name:      CAVolumeName,
			ReadOnly:  true,
			MountPath: CAMountPath,
		})
	}
	return c
}

func (m *Mutator) tokenVolume(s podSettings) corev1.Volume {
	exp := s.tokenExpiration
	return corev1.Volume{
		Name: s.volume,
		VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{
					ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
						Audience:          s.audience,
						ExpirationSeconds: &exp,
						Path:              s.tokenPath,
					},
				}},
			},
		},
	}
}

// caVolume projects the emulator CA. Optional, so a namespace the publisher
// has not reached yet delays nothing but TLS verification.
func caVolume(configMap string) corev1.Volume {
	optional := true
	return corev1.Volume{
		Name: CAVolumeName,
		VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: configMap},
				Items:                []corev1.KeyToPath{{Key: CAKey, Path: CAKey}},
				Optional:             &optional,
			},
		},
	}
}

func hasVolume(vols []corev1.Volume, name string) bool {
	for _, v := range vols {
		if v.Name == name {
			return true
		}
	}
	return false
}

func hasMount(mounts []corev1.VolumeMount, name string) bool {
	for _, vm := range mounts {
		if vm.Name == name {
			return true
		}
	}
	return false
}
