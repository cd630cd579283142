// Package up implements `irsa-local up`: start an environment in the
// background and return once it serves.
package upcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/assets"
	"github.com/irsa-local/irsa-local/internal/cmd/applycmd"
	"github.com/irsa-local/irsa-local/internal/cmd/cli"
	"github.com/irsa-local/irsa-local/internal/cmd/versioncmd"
	"github.com/irsa-local/irsa-local/internal/daemon"
	"github.com/irsa-local/irsa-local/internal/envctl"
	"github.com/irsa-local/irsa-local/internal/envdir"
	"github.com/irsa-local/irsa-local/pkg/harness"
)

type flagpole struct {
	cli.CreateFlags
	Wait   time.Duration
	File   string
	Output cli.Output
}

// NewCommand returns the up command.
func NewCommand(s cli.Streams, env *cli.EnvFlags) *cobra.Command {
	f := &flagpole{}
	cmd := &cobra.Command{
		Use:   "up",
		Args:  cobra.NoArgs,
		Short: "Start an environment in the background (created on first use)",
		Example: `  # the whole chain: issuer, AWS endpoint, kube-apiserver and the webhook
  irsa-local up

  # issuer and AWS endpoint only; tokens minted by 'irsa-local token'
  irsa-local up --cluster none

  # add IRSA to a cluster you already run (kind, k3d, minikube, kubeadm)
  irsa-local up --cluster existing --context kind-dev

  # a second, independent environment
  irsa-local up --name other`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.Validate(); err != nil {
				return err
			}
			switch {
			case cmd.Flags().Changed("wait"):
			case f.Cluster == string(harness.ClusterKind):
				// kind creates a node and runs kubeadm in it.
				f.Wait = 4 * time.Minute
			case strings.HasPrefix(f.Backend, "container:"):
				// A container's first start on a busy machine takes
				// longer than the processes of the other modes.
				f.Wait = 2 * time.Minute
			}
			return run(cmd.Context(), s, env, f)
		},
	}
	f.Bind(cmd)
	cli.BindOutput(cmd, &f.Output)
	cmd.Flags().StringVarP(&f.File, "filename", "f", "", "environment file to apply once the environment is up (see 'irsa-local apply')")
	cmd.Flags().DurationVar(&f.Wait, "wait", time.Minute, "how long to wait for the environment to serve (default 4m with --cluster kind, 2m with a container backend)")
	return cmd
}

func run(ctx context.Context, s cli.Streams, env *cli.EnvFlags, f *flagpole) error {
	l, err := env.Layout()
	if err != nil {
		return err
	}
	if envctl.Open(l).Running() {
		d, err := harness.Inspect(l.Dir)
		if err != nil {
			return err
		}
		if string(d.Cluster.Mode) != f.Cluster {
			return fmt.Errorf("environment %q is running with --cluster %s; run 'irsa-local down --name %s' first to change it", d.Name, d.Cluster.Mode, d.Name)
		}
		cli.NewStatus(s, env).Info("Environment %q is already running.", d.Name)
		if f.File != "" {
			if err := applycmd.Run(ctx, s, env, f.File); err != nil {
				return err
			}
		}
		return printSummary(s, f, d)
	}
	if err := envdir.Prepare(l); err != nil {
		return fmt.Errorf("%w (choose another with --state-dir or IRSA_LOCAL_HOME)", err)
	}
	if pid, err := daemon.ReadPID(l.PIDFile()); err == nil {
		// The lock is free, so whatever wrote this pid no longer runs the environment.
		if err := os.Remove(l.PIDFile()); err != nil {
			return fmt.Errorf("remove stale pid file %s: %w", l.PIDFile(), err)
		}
		cli.NewStatus(s, env).Info("Removed stale pid file %s (process %d no longer runs the environment).", l.PIDFile(), pid)
	} else if !errors.Is(err, fs.ErrNotExist) {
		if err := os.Remove(l.PIDFile()); err != nil {
			return fmt.Errorf("remove unreadable pid file %s: %w", l.PIDFile(), err)
		}
		cli.NewStatus(s, env).Info("Removed unreadable pid file %s.", l.PIDFile())
	}
	if f.Cluster == string(harness.ClusterLocal) {
		if err := installBinaries(ctx, s, env); err != nil {
			return err
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the irsa-local executable: %w", err)
	}
	argv := append(serveArgv(ctx, exe), "--name", env.Name, "--state-dir", l.Dir)
	argv = append(argv, f.Args()...)
	ctx, cancel := context.WithTimeout(ctx, f.Wait)
	defer cancel()
	start := time.Now()
	st := cli.NewStatus(s, env)
	st.Verbose("Starting environment %q in %s (log: %s)", env.Name, l.Dir, l.LogFile())
	if _, err := daemon.Spawn(ctx, argv, l.LogFile(), st.Start); err != nil {
		st.End(false)
		return err
	}
	st.End(true)
	d, err := harness.Inspect(l.Dir)
	if err != nil {
		return err
	}
	st.Info("Environment %q is up (%s).", d.Name, time.Since(start).Round(time.Millisecond))
	if f.File != "" {
		if err := applycmd.Run(ctx, s, env, f.File); err != nil {
			return err
		}
		if d, err = harness.Inspect(l.Dir); err != nil {
			return err
		}
	}
	return printSummary(s, f, d)
}

func printSummary(s cli.Streams, f *flagpole, d harness.Description) error {
	if f.Output == cli.OutputJSON {
		return cli.PrintJSON(s.Out, d)
	}
	fmt.Fprintf(s.Out, "issuer:   %s\n", d.Issuer.URL)
	fmt.Fprintf(s.Out, "jwks:     %s\n", d.Issuer.JWKSURL)
	if d.Issuer.ViaAPIServer {
		fmt.Fprintf(s.Out, "          (the cluster's issuer URL is not reachable from this machine: its keys are read through the apiserver with the kubeconfig's credentials)\n")
	}
	fmt.Fprintf(s.Out, "ca file:  %s\n", d.Issuer.CAFile)
	fmt.Fprintf(s.Out, "aws:      %s (https: %s)\n", d.AWS.Endpoint, d.AWS.EndpointHTTPS)
	if d.Cluster.Kubeconfig != "" {
		fmt.Fprintf(s.Out, "kubeconfig: %s\n", d.Cluster.Kubeconfig)
	}
	if d.Cluster.Server != "" {
		ctx := d.Cluster.Context
		fmt.Fprintf(s.Out, "cluster:  %s (context %s), adopted; down removes what irsa-local added and leaves it running\n", d.Cluster.Server, ctx)
		if d.Cluster.PodAWSEndpoint == "" {
			fmt.Fprintf(s.Out, "pods:     NO AWS ENDPOINT: no address of this machine is reachable from the cluster's nodes; give one with --pod-aws-endpoint (irsa-local doctor says the same)\n")
		} else if d.Cluster.Reach != "" {
			fmt.Fprintf(s.Out, "pods:     reach AWS at %s (%s)\n", d.Cluster.PodAWSEndpoint, d.Cluster.Reach)
		} else {
			fmt.Fprintf(s.Out, "pods:     reach AWS at %s\n", d.Cluster.PodAWSEndpoint)
		}
		for _, c := range d.Components {
			if c.Name == "webhook" && strings.HasPrefix(c.Listen, "in-cluster ") {
				fmt.Fprintf(s.Out, "webhook:  in the cluster (deployment irsa-local/irsa-local-webhook, %s)\n", strings.TrimPrefix(c.Listen, "in-cluster "))
			}
		}
	}
	if d.Cluster.KindCluster != "" {
		fmt.Fprintf(s.Out, "kind:     %s (pods reach AWS at %s)\n", d.Cluster.KindCluster, d.Cluster.PodAWSEndpoint)
	}
	if d.AWS.OIDCProviderARN != "" {
		fmt.Fprintf(s.Out, "provider: %s\n", d.AWS.OIDCProviderARN)
	}
	fmt.Fprintf(s.Out, "state:    %s\n", d.StateDir)
	return nil
}

// installBinaries puts the Kubernetes binaries a local cluster runs into
// the user cache when they are found nowhere, as 'irsa-local assets build'
// does: the release binaries, checked against their SHA-256, or a source
// build where the release servers cannot be reached
// ($IRSA_LOCAL_ASSETS_FROM and $IRSA_LOCAL_RELEASE_MIRROR choose). It does
// this before the environment starts, so that --wait does not count it.
// A binary the user named ($IRSA_LOCAL_<NAME>, $KUBEBUILDER_ASSETS) is
// never replaced: a missing one there is reported as before.
func installBinaries(ctx context.Context, s cli.Streams, env *cli.EnvFlags) error {
	if os.Getenv("KUBEBUILDER_ASSETS") != "" {
		return nil
	}
	var missing []string
	for _, name := range assets.Names() {
		if os.Getenv(assets.EnvVar(name)) != "" {
			return nil
		}
		if assets.Locate(name).Path == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	from, err := assets.ParseFrom(cli.EnvOr("IRSA_LOCAL_ASSETS_FROM", "auto"))
	if err != nil {
		return fmt.Errorf("read IRSA_LOCAL_ASSETS_FROM: %w", err)
	}
	dir, err := assets.CacheDir()
	if err != nil {
		return err
	}
	progress := io.Writer(s.ErrOut)
	if env.Quiet {
		progress = io.Discard
	}
	cli.NewStatus(s, env).Info("%s not found; installing the Kubernetes %s binaries into %s (once per machine).", strings.Join(missing, ", "), assets.KubernetesVersion, dir)
	if err := assets.Install(ctx, dir, from, assets.DefaultRelease(), assets.WithProgress(progress)); err != nil {
		return fmt.Errorf("install Kubernetes binaries: %w", err)
	}
	return nil
}

// serveBinary is the serving program built beside irsa-local.
const serveBinary = "irsa-local-serve"

// serveArgv is how up starts the environment's process: irsa-local-serve
// beside this executable when it is of the same version — it links none of
// the CLI's AWS SDK service clients, so it holds less memory for as long
// as the environment runs — and this executable's own serve command
// otherwise (a 'go install' of the CLI alone, or a stale build).
func serveArgv(ctx context.Context, exe string) []string {
	lean := filepath.Join(filepath.Dir(exe), serveBinary)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, lean, "--version").Output()
	if err == nil && strings.TrimSpace(string(out)) == serveBinary+" version "+versioncmd.String() {
		return []string{lean}
	}
	return []string{exe, "serve"}
}
