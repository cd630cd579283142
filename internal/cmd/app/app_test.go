package app

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/irsa-local/irsa-local/internal/cmd/cli"
)

func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = Run(context.Background(), cli.Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, args)
	return out.String(), errOut.String(), err
}

// TestFlagParsing runs the command tree on arguments that are refused (or
// answered) before any environment is needed, and checks each answer.
func TestFlagParsing(t *testing.T) {
	home := t.TempDir()
	t.Setenv("IRSA_LOCAL_HOME", home)
	t.Setenv("IRSA_LOCAL_NAME", "")
	for _, tc := range []struct {
		args    []string
		wantErr string // "" means success
		wantOut string
	}{
		{args: []string{"version"}, wantOut: "irsa-local "},
		{args: []string{"status"}, wantErr: `environment "irsa-local" does not exist (looked in ` + filepath.Join(home, "irsa-local") + `); create it with 'irsa-local up'`},
		{args: []string{"status", "--name", "other"}, wantErr: `environment "other" does not exist (looked in ` + filepath.Join(home, "other")},
		{args: []string{"status", "--state-dir", "rel/dir"}, wantErr: "rel/dir); create it"},
		{args: []string{"status", "--name", "Bad_Name"}, wantErr: `invalid environment name "Bad_Name"`},
		{args: []string{"status", "--name", strings.Repeat("a", 41)}, wantErr: "invalid environment name"},
		{args: []string{"status", "-o", "yaml"}, wantErr: `want text or json, not "yaml"`},
		{args: []string{"up", "--kind-image", "x"}, wantErr: "--kind-image applies to --cluster kind only"},
		{args: []string{"up", "--cluster", "kind", "--kubernetes-version", "1.35"}, wantErr: "want a version such as v1.35.0"},
		{args: []string{"up", "--issuer-port", "x"}, wantErr: `invalid argument "x" for "--issuer-port"`},
		{args: []string{"up", "extra"}, wantErr: `unknown command "extra"`},
		{args: []string{"token", "verify", "--help"}, wantOut: "Usage:"},
		{args: []string{"frob"}, wantErr: `unknown command "frob" for "irsa-local"`},
		{args: []string{"status", "--frob"}, wantErr: "unknown flag: --frob"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, _, err := run(t, tc.args...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if !strings.Contains(out, tc.wantOut) {
				t.Fatalf("output %q, want it to contain %q", out, tc.wantOut)
			}
		})
	}
}

// TestEveryCommandHasHelp walks the tree: each command answers --help with
// its usage and a one-line summary.
func TestEveryCommandHasHelp(t *testing.T) {
	root := NewCommand(cli.Streams{})
	var paths [][]string
	for _, c := range root.Commands() {
		paths = append(paths, []string{c.Name()})
		for _, sub := range c.Commands() {
			paths = append(paths, []string{c.Name(), sub.Name()})
		}
	}
	if len(paths) < 15 {
		t.Fatalf("only %d commands found", len(paths))
	}
	for _, p := range paths {
		if p[len(p)-1] == "help" || p[len(p)-1] == "completion" {
			continue
		}
		out, _, err := run(t, append(p, "--help")...)
		if err != nil || !strings.Contains(out, "Usage:") || !strings.Contains(out, "irsa-local "+strings.Join(p, " ")) {
			t.Errorf("%v --help: %v\n%s", p, err, out)
		}
	}
}
