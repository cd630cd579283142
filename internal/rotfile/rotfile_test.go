package rotfile

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestRotatesPastTheLimitKeepingOneOldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	rotated := 0
	f, err := Open(path, 100, OnRotate(func(*os.File) error { rotated++; return nil }))
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 39) + "\n" // 40 bytes
	for i := 0; i < 10; i++ {
		if _, err := f.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cur, _ := os.ReadFile(path)
	old, _ := os.ReadFile(path + ".1")
	if len(cur) > 100 || len(old) > 100 || len(cur)+len(old) != 160 || rotated != 4 {
		t.Fatalf("after 400 bytes with a 100-byte limit: current %d bytes, old %d, %d rotations", len(cur), len(old), rotated)
	}
	if _, err := f.Write([]byte("x")); err == nil {
		t.Fatal("write after Close succeeded")
	}
	// Reopening counts what is there: 80 bytes + 40 passes the limit.
	f, err = Open(path, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	cur2, _ := os.ReadFile(path)
	old2, _ := os.ReadFile(path + ".1")
	if len(cur2) != 40 || len(old2) != 80 {
		t.Fatalf("reopened file: current %d bytes, old %d; want 40 and 80", len(cur2), len(old2))
	}
}

func TestWritesStayWholeUnderConcurrency(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	f, err := Open(path, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				_, _ = f.Write([]byte(strings.Repeat("y", 49) + "\n"))
			}
		}()
	}
	wg.Wait()
	_ = f.Close()
	for _, p := range []string{path, path + ".1"} {
		data, _ := os.ReadFile(p)
		for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if len(l) != 49 {
				t.Fatalf("%s has a torn line of %d bytes", p, len(l))
			}
		}
	}
}
