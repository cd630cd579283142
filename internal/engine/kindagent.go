package engine

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/irsa-local/irsa-local/internal/agent"
	"github.com/irsa-local/irsa-local/internal/cluster/kind"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// The Pod Identity agent of a kind node: as the EKS add-on, the DaemonSet
// kube-system/eks-pod-identity-agent with the host's network, answering on
// 169.254.170.23:80, which a dummy link of the node carries (the add-on's
// init container makes the same link), or its loopback device where the
// kernel has no dummy links. Its image is the node's kube-proxy
// image, which every node already holds (no registry is reached); the
// agent is this irsa-local binary, copied into the node.
const (
	agentName     = "eks-pod-identity-agent"
	agentNodeDir  = "/opt/irsa-local"
	agentLinkName = "pod-id-link0"
)

// startKindAgent installs the agent on the kind node and waits until it
// answers.
func (e *Env) startKindAgent(ctx context.Context, c *kind.Cluster) error {
	if _, err := c.Exec(ctx, "mkdir", "-p", agentNodeDir); err != nil {
		return err
	}
	if err := c.CopyTo(ctx, e.opts.agentBinary, agentNodeDir+"/irsa-local"); err != nil {
		return err
	}
	if err := c.CopyTo(ctx, e.layout.PKIDir()+"/"+issuer.CACertFile, agentNodeDir+"/ca.crt"); err != nil {
		return err
	}
	// A dummy link as the add-on's init container makes; where the kernel
	// has no dummy links, the loopback device serves the same: the node
	// accepts the address whatever device carries it.
	link := "if ip link add " + agentLinkName + " type dummy 2>/dev/null || ip link show " + agentLinkName + " >/dev/null 2>&1; then dev=" + agentLinkName + "; ip link set " + agentLinkName + " up; else dev=lo; fi; ip addr replace " + agent.IPv4Address + "/32 dev $dev"
	if _, err := c.Exec(ctx, "sh", "-c", link); err != nil {
		return fmt.Errorf("give the node the agent's address %s: %w", agent.IPv4Address, err)
	}
	proxy, err := e.client.AppsV1().DaemonSets("kube-system").Get(ctx, "kube-proxy", metav1.GetOptions{})
	if err != nil || len(proxy.Spec.Template.Spec.Containers) == 0 {
		return fmt.Errorf("find the node's kube-proxy image for the Pod Identity agent: %w", err)
	}
	ds := agentDaemonSet(proxy.Spec.Template.Spec.Containers[0].Image, e.cfg.ClusterName, e.podAWSURL, e.cfg.Region)
	dss := e.client.AppsV1().DaemonSets("kube-system")
	existing, err := dss.Get(ctx, agentName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = dss.Create(ctx, ds, metav1.CreateOptions{})
	case err == nil:
		ds.ResourceVersion = existing.ResourceVersion
		_, err = dss.Update(ctx, ds, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("create DaemonSet kube-system/%s: %w", agentName, err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		got, err := dss.Get(ctx, agentName, metav1.GetOptions{})
		if err == nil && got.Status.ObservedGeneration >= got.Generation && got.Status.DesiredNumberScheduled > 0 &&
			got.Status.NumberReady == got.Status.DesiredNumberScheduled && got.Status.UpdatedNumberScheduled == got.Status.DesiredNumberScheduled {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("start the Pod Identity agent: DaemonSet kube-system/%s not ready after 90s (kubectl -n kube-system logs ds/%s)", agentName, agentName)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// agentDaemonSet runs irsa-local agent on every node.
func agentDaemonSet(image, cluster, endpoint, region string) *appsv1.DaemonSet {
	labels := map[string]string{"app.kubernetes.io/name": agentName}
	hostPath := corev1.HostPathDirectory
	root := int64(0)
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: agentName, Namespace: "kube-system", Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					HostNetwork:                  true,
					PriorityClassName:            "system-node-critical",
					Tolerations:                  []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					AutomountServiceAccountToken: ptrTo(false),
					Containers: []corev1.Container{{
						Name:            "agent",
						Image:           image,
						ImagePullPolicy: corev1.PullNever,
						Command:         []string{agentNodeDir + "/irsa-local", "agent"},
						Args: []string{
							"--cluster-name", cluster, "--endpoint", endpoint, "--region", region,
							"--ca-file", agentNodeDir + "/ca.crt", "--bind", agent.IPv4Address + ":80", "--probe-address", "127.0.0.1:2703",
						},
						// The node role's part: irsa-local's admin credentials
						// sign the calls to eks-auth.
						Env: []corev1.EnvVar{
							{Name: "AWS_ACCESS_KEY_ID", Value: DefaultAccessKeyID},
							{Name: "AWS_SECRET_ACCESS_KEY", Value: DefaultSecretAccessKey},
						},
						SecurityContext: &corev1.SecurityContext{RunAsUser: &root},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
							TCPSocket: &corev1.TCPSocketAction{Host: agent.IPv4Address, Port: intstr.FromInt32(80)},
						}, PeriodSeconds: 2},
						VolumeMounts: []corev1.VolumeMount{{Name: "irsa-local", MountPath: agentNodeDir, ReadOnly: true}},
					}},
					Volumes: []corev1.Volume{{Name: "irsa-local", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: agentNodeDir, Type: &hostPath}}}},
				},
			},
		},
	}
}

func ptrTo[T any](v T) *T { return &v }

// requireStatic refuses a dynamically linked binary: the agent runs in the
// node's kube-proxy image, whose C library may not be the one it was
// built against.
func requireStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New(path + " is dynamically linked; the node runs it as its agent only when built with CGO_ENABLED=0, as make build does")
		}
	}
	return nil
}
