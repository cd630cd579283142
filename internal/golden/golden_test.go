package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; panic(r) }
func (r *recorder) Fatal(...any)          { r.failed = true; panic(r) }

func assert(path string, got []byte) (failed bool) {
	r := &recorder{}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		failed = r.failed
	}()
	Assert(r, path, got)
	return
}

func TestAssert(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "case.golden")
	if !assert(path, []byte("x")) {
		t.Fatal("a missing golden file passed")
	}
	*update = true
	if assert(path, []byte("new")) {
		t.Fatal("-update did not make the comparison pass")
	}
	*update = false
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("-update wrote %q", b)
	}
	if assert(path, []byte("new")) {
		t.Fatal("equal content failed")
	}
	if !assert(path, []byte("other")) {
		t.Fatal("different content passed")
	}
}
