// Package golden compares what a test produces with a file under testdata,
// and rewrites the files when the tests run with -update. It is the one
// golden-file helper of the project's tests.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata with what the tests produce")

// Update reports whether the tests run with -update, for tests that keep
// their expected output inside a larger file and rewrite it themselves.
func Update() bool { return *update }

// Assert compares got with the file at path and reports a difference as
// an error of t. With -update it first writes got to path (creating its
// directory), so the comparison passes and `git diff` shows what changed.
func Assert(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (go test -update creates it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
