package servecmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The detached process's stderr is its log: it is rotated, and stderr
// follows the new file so that the runtime's own writes land there too.
func TestLogRotatesAndStderrFollows(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "irsa-local.log")
	stderr, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	other, err := os.Create(filepath.Join(dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if lf := rotatingLog(other, path, 100); lf != nil {
		t.Fatal("a stderr that is not the log got a rotating log")
	}
	lf := rotatingLog(stderr, path, 100)
	if lf == nil {
		t.Fatal("no rotating log for a stderr that is the log")
	}
	defer lf.Close()
	for i := 0; i < 3; i++ {
		if _, err := lf.Write([]byte(strings.Repeat("l", 59) + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stderr.WriteString("panic: from the runtime\n"); err != nil {
		t.Fatal(err)
	}
	cur, _ := os.ReadFile(path)
	if !strings.HasSuffix(string(cur), "panic: from the runtime\n") || len(cur) > 100+24 {
		t.Fatalf("current log after rotation: %q", cur)
	}
	if old, _ := os.ReadFile(path + ".1"); len(old) == 0 || strings.Contains(string(old), "panic") {
		t.Fatalf("rotated log: %q", old)
	}
}
