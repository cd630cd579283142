// Package assets implements `irsa-local assets`: build the Kubernetes
// binaries a local cluster runs, and show where they are found.
package assetscmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/assets"
	"github.com/irsa-local/irsa-local/internal/cmd/cli"
)

type buildFlagpole struct {
	Dir    string
	Node   bool
	From   string
	Mirror string
}

// NewCommand returns the assets command and its subcommands.
func NewCommand(s cli.Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "assets",
		Short: "Install and locate the Kubernetes binaries (etcd, kube-apiserver, kube-controller-manager, kubectl)",
		Long: fmt.Sprintf(`The local cluster runs kube-apiserver, kube-controller-manager and kubectl %s
and etcd %s: the official release binaries, each checked against its published
SHA-256, or, where the release servers cannot be reached, built from the Go
module proxy with the installed Go toolchain.`,
			assets.KubernetesVersion, assets.EtcdVersion),
	}
	cmd.AddCommand(newBuildCommand(s), newListCommand(s))
	return cmd
}

func newBuildCommand(s cli.Streams) *cobra.Command {
	f := &buildFlagpole{}
	cmd := &cobra.Command{
		Use:   "build",
		Args:  cobra.NoArgs,
		Short: "Download (or build) the binaries into a directory",
		Long: `build installs the binaries missing from the directory. With --from auto (the
default) it downloads the release binaries from Kubernetes' release server
(` + assets.DefaultKubernetesReleaseURL + `/release/<version>/bin/linux/<arch>/<name>, with
<name>.sha256) and etcd's release archive (with its SHA256SUMS), checks every
SHA-256, and installs each file atomically; when a download fails in any way
(no network, no such file, a broken body, a checksum that differs) it says
why in one line and builds from source instead, which takes minutes of
compiling. A file whose checksum differs is removed, never run.

--mirror (or $` + assets.MirrorEnv + `) points at a mirror serving Kubernetes'
layout at its root and etcd's under /etcd/<version>/.`,
		Example: `  irsa-local assets build                 # into the user cache, where the cluster finds them
  irsa-local assets build --dir bin/k8s
  irsa-local assets build --from source   # never download
  irsa-local assets build --mirror http://mirror.internal/k8s`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := f.Dir
			if dir == "" {
				var err error
				if dir, err = assets.CacheDir(); err != nil {
					return err
				}
			}
			from, err := assets.ParseFrom(f.From)
			if err != nil {
				return err
			}
			rel := assets.DefaultRelease()
			if f.Mirror != "" {
				rel = assets.Mirror(f.Mirror)
			}
			opts := []assets.Option{assets.WithProgress(s.ErrOut)}
			if f.Node {
				opts = append(opts, assets.WithNodeBinaries())
			}
			if err := assets.Install(cmd.Context(), dir, from, rel, opts...); err != nil {
				return fmt.Errorf("install Kubernetes binaries: %w", err)
			}
			fmt.Fprintln(s.Out, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&f.Dir, "dir", "", "directory to build into (default: the user cache directory the cluster looks in)")
	cmd.Flags().StringVar(&f.From, "from", cli.EnvOr("IRSA_LOCAL_ASSETS_FROM", "auto"), "auto (release binaries, else a source build), release or source ($IRSA_LOCAL_ASSETS_FROM)")
	cmd.Flags().StringVar(&f.Mirror, "mirror", "", "base URL of a release mirror (default: $"+assets.MirrorEnv+", else the official servers)")
	cmd.Flags().BoolVar(&f.Node, "node", false, "also build kubelet, kubeadm, kube-scheduler and kube-proxy, for a kind node image")
	return cmd
}

func newListCommand(s cli.Streams) *cobra.Command {
	var out cli.Output
	cmd := &cobra.Command{
		Use:   "list",
		Args:  cobra.NoArgs,
		Short: "Show where each binary is found, or every place looked at",
		RunE: func(_ *cobra.Command, _ []string) error {
			type entry struct {
				Name   string   `json:"name"`
				Path   string   `json:"path,omitempty"`
				Source string   `json:"source,omitempty"`
				Looked []string `json:"looked"`
			}
			var entries []entry
			for _, name := range assets.Names() {
				loc := assets.Locate(name)
				e := entry{Name: name, Path: loc.Path, Source: loc.Source}
				for _, p := range loc.Looked {
					e.Looked = append(e.Looked, p.String())
				}
				entries = append(entries, e)
			}
			if out == cli.OutputJSON {
				return cli.PrintJSON(s.Out, entries)
			}
			for _, e := range entries {
				if e.Path != "" {
					fmt.Fprintf(s.Out, "%s\t%s\t(%s)\n", e.Name, e.Path, e.Source)
					continue
				}
				fmt.Fprintf(s.Out, "%s\tnot found; looked in %s\n", e.Name, strings.Join(e.Looked, ", "))
			}
			return nil
		},
	}
	cli.BindOutput(cmd, &out)
	return cmd
}
