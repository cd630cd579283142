package upcmd

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/irsa-local/irsa-local/internal/cmd/versioncmd"
)

func TestServeArgvPrefersTheServingBinaryOfTheSameVersion(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "irsa-local")
	lean := filepath.Join(dir, serveBinary)
	self := []string{exe, "serve"}
	if got := serveArgv(t.Context(), exe); !slices.Equal(got, self) {
		t.Errorf("without %s: %q, want %q", serveBinary, got, self)
	}
	write := func(version string) {
		t.Helper()
		script := "#!/bin/sh\necho '" + serveBinary + " version " + version + "'\n"
		if err := os.WriteFile(lean, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("v0.0.0-another")
	if got := serveArgv(t.Context(), exe); !slices.Equal(got, self) {
		t.Errorf("with a %s of another version: %q, want %q", serveBinary, got, self)
	}
	write(versioncmd.String())
	if got := serveArgv(t.Context(), exe); !slices.Equal(got, []string{lean}) {
		t.Errorf("with a %s of this version: %q, want %q", serveBinary, got, []string{lean})
	}
}
