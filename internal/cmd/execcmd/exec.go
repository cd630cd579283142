// Package execcmd implements `irsa-local exec`: run a host command exactly
// as a pod of a service account would run, with the environment the pod
// identity webhook injects and a real, refreshed projected token.
package execcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/envctl"
	"github.com/irsa-local/irsa-local/pkg/harness"
)

type flagpole struct {
	Namespace      string
	ServiceAccount string
	File           string
}

// NewCommand returns the exec command.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	f := &flagpole{}
	cmd := &cobra.Command{
		Use:   "exec [-n NS] --service-account SA [-f pod.yaml] [-- CMD [ARGS...]]",
		Short: "Run a command as a pod of a service account: webhook-injected env and a real token",
		Long: `exec creates a pod of the service account through the apiserver (so the pod
identity webhook mutates it), requests its projected token through TokenRequest
with the volume's audience and expiration, and runs CMD on this host with
exactly the container's injected variables. AWS_WEB_IDENTITY_TOKEN_FILE points
at a private copy of the token, refreshed at 80% of its lifetime as the kubelet
does. The exit code is CMD's.

A service account with an EKS Pod Identity association gets, as on EKS, the
container credentials instead: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE points at
the token (audience pods.eks.amazonaws.com) and
AWS_CONTAINER_CREDENTIALS_FULL_URI at a Pod Identity agent exec serves on a
loopback port for as long as CMD runs.

HOSTNAME is the pod's name, as the kubelet sets it. Nothing of the host's AWS
set-up leaks in: AWS_* variables and AWS_PROFILE are dropped and HOME is an
empty directory, so ~/.aws (profiles, static keys, the AWS CLI's credential
cache) is out of reach. What runs is exactly the pod's session. The pod is
deleted when CMD ends.

With -f and no CMD, the container's own command and args run, as the pod
would run them.`,
		Example: `  irsa-local exec -n demo --service-account s3-reader -- aws s3 ls s3://my-bucket
  irsa-local exec -f s3-test-pod.yaml -- aws sts get-caller-identity
  irsa-local exec -f s3-test-pod.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), s, env, f, args)
		},
	}
	cmd.Flags().StringVarP(&f.Namespace, "namespace", "n", "", "namespace of the pod (default: the pod file's, else \"default\")")
	cmd.Flags().StringVar(&f.ServiceAccount, "service-account", "", "service account of the pod (default: the pod file's)")
	cmd.Flags().StringVarP(&f.File, "filename", "f", "", "pod manifest whose first container's environment to reproduce")
	return cmd
}

func run(ctx context.Context, s cli.Streams, env *cli.EnvFlags, f *flagpole, args []string) error {
	client, err := Connect(env)
	if err != nil {
		return err
	}
	pod, err := podFor(f)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		c := pod.Spec.Containers[0]
		args = append(append([]string{}, c.Command...), c.Args...)
		if len(args) == 0 {
			return errors.New("no command to run: give one after --, or a pod manifest whose container has a command")
		}
	}
	tmp, err := os.MkdirTemp("", "irsa-local-exec-")
	if err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	sess, err := harness.StartPodSession(ctx, client, pod, tmp+"/token")
	if err != nil {
		return err
	}
	defer func() { _ = sess.Close(context.WithoutCancel(ctx)) }()
	if sess.EnvValue("AWS_CA_BUNDLE") != "" {
		// Pods of a cluster with nodes reach the AWS endpoint over HTTPS
		// and trust the environment's CA from a mounted ConfigMap; here
		// the same CA is a file of the state directory.
		_, d, err := env.Describe()
		if err != nil {
			return err
		}
		sess.UseCABundle(d.Issuer.CAFile)
	}
	if sess.PodIdentity {
		// The pod's agent address exists only on a node: serve one on a
		// loopback port, which the SDKs accept, and point the pod's
		// AWS_CONTAINER_CREDENTIALS_FULL_URI at it.
		_, d, err := env.Describe()
		if err != nil {
			return err
		}
		a, err := harness.StartLocalAgent(ctx, d.AWS.Endpoint, d.AWS.Region, d.Cluster.Name)
		if err != nil {
			return err
		}
		defer a.Close()
		sess.UseAgent(a.URL)
	}
	home := tmp + "/home"
	if err := os.Mkdir(home, 0o700); err != nil {
		return fmt.Errorf("create empty home: %w", err)
	}
	refreshCtx, stopRefresh := context.WithCancel(ctx)
	defer stopRefresh()
	go sess.KeepFresh(refreshCtx)

	c := exec.CommandContext(ctx, args[0], args[1:]...)
	c.Env = append(podEnv(os.Environ(), sess.Env, home), "HOSTNAME="+sess.Pod.Name)
	c.Stdin, c.Stdout, c.Stderr = s.In, s.Out, s.ErrOut
	if err := c.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &cli.ExitError{Code: ee.ExitCode()}
		}
		return fmt.Errorf("run %s: %w", args[0], err)
	}
	return nil
}

// podEnv is the host environment without any AWS setting, with an empty
// HOME, plus the container's injected variables.
func podEnv(host []string, injected []corev1.EnvVar, home string) []string {
	var out []string
	for _, kv := range host {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || name == "HOME" || name == "HOSTNAME" {
			continue
		}
		out = append(out, kv)
	}
	out = append(out, "HOME="+home)
	for _, v := range injected {
		out = append(out, v.Name+"="+v.Value)
	}
	return out
}

// podFor builds the pod to create: from the manifest, or one container in
// the service account.
func podFor(f *flagpole) (*corev1.Pod, error) {
	pod := harness.DefaultPod("default", "")
	if f.File != "" {
		b, err := os.ReadFile(f.File)
		if err != nil {
			return nil, fmt.Errorf("read pod manifest: %w", err)
		}
		pod = &corev1.Pod{}
		if err := yaml.UnmarshalStrict(b, pod); err != nil {
			return nil, fmt.Errorf("parse pod manifest %s: %w", f.File, err)
		}
		if pod.Kind != "" && pod.Kind != "Pod" {
			return nil, fmt.Errorf("parse pod manifest %s: kind %s, want Pod", f.File, pod.Kind)
		}
		// A pod exists only for its token here; its name must not collide
		// with a real one.
		pod.GenerateName, pod.Name = pod.Name+"-irsa-local-", ""
		pod.ResourceVersion, pod.UID = "", ""
	}
	if f.Namespace != "" {
		pod.Namespace = f.Namespace
	}
	if f.ServiceAccount != "" {
		pod.Spec.ServiceAccountName = f.ServiceAccount
	}
	if pod.Spec.ServiceAccountName == "" {
		return nil, errors.New("name the service account with --service-account or in the pod manifest (serviceAccountName)")
	}
	if f.File == "" {
		pod.GenerateName = harness.DefaultPod(pod.Namespace, pod.Spec.ServiceAccountName).GenerateName
	}
	return pod, nil
}

// Connect returns a client for the running environment's cluster.
func Connect(env *cli.EnvFlags) (kubernetes.Interface, error) {
	_, d, err := env.Describe()
	if err != nil {
		return nil, err
	}
	return envctl.ClusterClient(d)
}
