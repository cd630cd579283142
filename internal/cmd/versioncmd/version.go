// Package version implements `irsa-local version`.
package versioncmd

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/cmd/cli"
)

// Version is set at build time with -ldflags "-X ...version.Version=v1.2.3".
var Version = ""

// String returns the version of this binary: the build-time one, else the
// module version Go recorded, else "dev".
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// NewCommand returns the version command.
func NewCommand(s cli.Streams) *cobra.Command {
	var out cli.Output
	cmd := &cobra.Command{
		Use:   "version",
		Args:  cobra.NoArgs,
		Short: "Print the irsa-local version",
		RunE: func(_ *cobra.Command, _ []string) error {
			if out == cli.OutputJSON {
				return cli.PrintJSON(s.Out, map[string]string{
					"version": String(), "os": runtime.GOOS, "arch": runtime.GOARCH, "go": runtime.Version(),
				})
			}
			_, err := fmt.Fprintf(s.Out, "irsa-local %s %s/%s %s\n", String(), runtime.GOOS, runtime.GOARCH, runtime.Version())
			return err
		},
	}
	cli.BindOutput(cmd, &out)
	return cmd
}
