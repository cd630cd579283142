// Package cli holds what every irsa-local subcommand shares: the I/O
// streams, the flags that select an environment, and output helpers.
package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/irsa-local/irsa-local/internal/engine"
	"github.com/irsa-local/irsa-local/internal/envdir"
)

// Streams are the standard streams of a command. Program output goes to Out;
// progress and diagnostics go to ErrOut.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// StdStreams returns the process's standard streams.
func StdStreams() Streams { return Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr} }

// EnvFlags select the environment a command acts on; they also carry the
// global output flags every command honours.
type EnvFlags struct {
	Name     string
	StateDir string
	// Quiet silences progress and information lines; errors still print.
	Quiet bool
	// Verbose adds step timings and where to look for details.
	Verbose int
}

// Bind registers the flags on cmd as persistent flags.
func (f *EnvFlags) Bind(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.Name, "name", EnvOr("IRSA_LOCAL_NAME", engine.DefaultName), "environment name (env IRSA_LOCAL_NAME)")
	cmd.PersistentFlags().StringVar(&f.StateDir, "state-dir", "", "state directory of the environment (default $IRSA_LOCAL_HOME/<name> or ~/.irsa-local/<name>)")
	cmd.PersistentFlags().BoolVarP(&f.Quiet, "quiet", "q", false, "print only program output and errors")
	cmd.PersistentFlags().CountVarP(&f.Verbose, "verbose", "v", "print more (step timings, log locations)")
}

// Layout resolves the environment's state directory.
func (f *EnvFlags) Layout() (envdir.Layout, error) {
	if err := envdir.ValidateName(f.Name); err != nil {
		return envdir.Layout{}, err
	}
	dir, err := envdir.Resolve(f.StateDir, f.Name)
	if err != nil {
		return envdir.Layout{}, err
	}
	return envdir.Layout{Dir: dir}, nil
}

// EnvOr is the value of the environment variable key, or def when unset
// or empty: the default of a flag that an environment variable can set.
func EnvOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Output is the value of an -o flag.
type Output string

// Output formats.
const (
	OutputText Output = "text"
	OutputJSON Output = "json"
)

// BindOutput adds -o/--output to cmd.
func BindOutput(cmd *cobra.Command, o *Output) {
	*o = OutputText
	cmd.Flags().VarP((*outputValue)(o), "output", "o", "output format: text or json")
}

type outputValue Output

func (v *outputValue) String() string { return string(*v) }
func (v *outputValue) Type() string   { return "format" }
func (v *outputValue) Set(s string) error {
	switch Output(s) {
	case OutputText, OutputJSON:
		*v = outputValue(s)
		return nil
	}
	return fmt.Errorf("want text or json, not %q", s)
}

// PrintJSON writes v as indented JSON.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ReadArgOrStdin returns the content of the file named by args[0], or of
// standard input when there is no argument or it is "-", trimmed.
func ReadArgOrStdin(s Streams, args []string) (string, error) {
	var b []byte
	var err error
	if len(args) == 0 || args[0] == "-" {
		b, err = io.ReadAll(s.In)
	} else {
		b, err = os.ReadFile(args[0])
	}
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ExitError makes the program exit with Code without printing anything:
// the exit status of a command irsa-local ran for the user.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Describe resolves the selected environment and describes it; a missing
// environment is one line saying where it looked and how to create it.
func (f *EnvFlags) Describe() (envdir.Layout, engine.Description, error) {
	l, err := f.Layout()
	if err != nil {
		return l, engine.Description{}, err
	}
	d, err := engine.Inspect(l.Dir)
	return l, d, f.Explain(l, err)
}

// Explain turns envdir.ErrNoEnvironment into a line that says where the
// environment was looked for and how to create it; other errors pass.
func (f *EnvFlags) Explain(l envdir.Layout, err error) error {
	if errors.Is(err, envdir.ErrNoEnvironment) {
		return fmt.Errorf("environment %q does not exist (looked in %s); create it with 'irsa-local up'", f.Name, l.Dir)
	}
	return err
}
