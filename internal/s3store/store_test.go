package s3store

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
)

func open(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func put(t testing.TB, s *Store, bucket, key, body string) {
	t.Helper()
	if _, err := s.PutObject(bucket, key, map[string]string{"X-Amz-Meta-K": key}, strings.NewReader(body), int64(len(body)), nil); err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

func read(t testing.TB, s *Store, bucket, key string) (string, error) {
	t.Helper()
	obj, err := s.GetObject(bucket, key, nil)
	if err != nil {
		return "", err
	}
	defer obj.Contents.Close()
	b, err := io.ReadAll(obj.Contents)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), nil
}

// files lists every file under dir, relative to it.
func files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return err
	})
	return out
}

func TestObjectsSurviveReopenWithTheirMetadata(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.CreateBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "bkt", "a", "1")
	put(t, s, "bkt", "a/b", "22")
	s = open(t, dir)
	for key, want := range map[string]string{"a": "1", "a/b": "22"} {
		if got, err := read(t, s, "bkt", key); got != want || err != nil {
			t.Errorf("%q after reopen: %q %v", key, got, err)
		}
	}
	obj, err := s.HeadObject("bkt", "a/b")
	if err != nil || obj.Size != 2 || obj.Metadata["X-Amz-Meta-K"] != "a/b" {
		t.Fatalf("head: %+v %v", obj, err)
	}
	list, err := s.ListBucket("bkt", nil, gofakes3.ListBucketPage{})
	if err != nil || len(list.Contents) != 2 || list.Contents[0].Key != "a" || list.Contents[1].Key != "a/b" {
		t.Fatalf("list: %+v %v", list, err)
	}
}

func TestRangesAndPaging(t *testing.T) {
	s := open(t, t.TempDir())
	if err := s.CreateBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "bkt", "k", "0123456789")
	obj, err := s.GetObject("bkt", "k", &gofakes3.ObjectRangeRequest{Start: 2, End: 4})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(obj.Contents)
	obj.Contents.Close()
	if string(got) != "234" || obj.Range.Length != 3 {
		t.Errorf("range 2-4: %q %+v", got, obj.Range)
	}
	for _, k := range []string{"p1", "p2", "p3"} {
		put(t, s, "bkt", k, k)
	}
	page, err := s.ListBucket("bkt", &gofakes3.Prefix{Prefix: "p", HasPrefix: true}, gofakes3.ListBucketPage{MaxKeys: 2})
	if err != nil || len(page.Contents) != 2 || !page.IsTruncated || page.NextMarker != "p2" {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page, err = s.ListBucket("bkt", &gofakes3.Prefix{Prefix: "p", HasPrefix: true}, gofakes3.ListBucketPage{MaxKeys: 2, Marker: "p2", HasMarker: true})
	if err != nil || len(page.Contents) != 1 || page.IsTruncated || page.Contents[0].Key != "p3" {
		t.Fatalf("second page: %+v %v", page, err)
	}
}

// failingReader returns data, then an error instead of EOF: how a signed
// body reports a hash mismatch, or a connection that broke.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, f.err
	}
	return n, err
}

func TestFailedWritesKeepThePreviousVersion(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.CreateBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "bkt", "k", "old")
	broken := errors.New("connection reset")
	for name, c := range map[string]struct {
		r    func() io.Reader
		size int64
	}{
		"short body":             {func() io.Reader { return strings.NewReader("ne") }, 10},
		"long body":              {func() io.Reader { return strings.NewReader("new content") }, 3},
		"error at the end":       {func() io.Reader { return &failingReader{strings.NewReader("new"), broken} }, 3},
		"error before the end":   {func() io.Reader { return &failingReader{strings.NewReader("ne"), broken} }, 3},
		"declared empty, had 1":  {func() io.Reader { return strings.NewReader("x") }, 0},
		"nothing sent for 1 MiB": {func() io.Reader { return strings.NewReader("") }, 1 << 20},
	} {
		for _, key := range []string{"k", "fresh"} {
			if _, err := s.PutObject("bkt", key, nil, c.r(), c.size, nil); err == nil {
				t.Errorf("%s: put %q succeeded", name, key)
			}
		}
		if got, err := read(t, s, "bkt", "k"); got != "old" || err != nil {
			t.Errorf("%s: k is %q %v, want the previous version", name, got, err)
		}
		if _, err := read(t, s, "bkt", "fresh"); !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
			t.Errorf("%s: fresh: %v, want NoSuchKey", name, err)
		}
	}
	if tmp := files(t, filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}
	list, err := s.ListBucket("bkt", nil, gofakes3.ListBucketPage{})
	if err != nil || len(list.Contents) != 1 {
		t.Errorf("list after failed writes: %+v %v", list, err)
	}
}

func TestReadersKeepTheVersionTheyOpened(t *testing.T) {
	s := open(t, t.TempDir())
	if err := s.CreateBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "bkt", "k", strings.Repeat("a", 1000))
	obj, err := s.GetObject("bkt", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, "bkt", "k", "b")
	if _, err := s.DeleteObject("bkt", "k"); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(obj.Contents)
	obj.Contents.Close()
	if string(got) != strings.Repeat("a", 1000) {
		t.Fatalf("reader saw %d bytes %q…", len(got), got[:min(len(got), 10)])
	}
}

func TestPutConditionsAreCheckedWhenCommitting(t *testing.T) {
	s := open(t, t.TempDir())
	if err := s.CreateBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	star := "*"
	if _, err := s.PutObject("bkt", "k", nil, strings.NewReader("1"), 1, &gofakes3.PutConditions{IfNoneMatch: &star}); err != nil {
		t.Fatal(err)
	}
	_, err := s.PutObject("bkt", "k", nil, strings.NewReader("2"), 1, &gofakes3.PutConditions{IfNoneMatch: &star})
	if !gofakes3.HasErrorCode(err, gofakes3.ErrPreconditionFailed) {
		t.Fatalf("If-None-Match * on an existing key: %v", err)
	}
	if got, _ := read(t, s, "bkt", "k"); got != "1" {
		t.Fatalf("k is %q after a refused put", got)
	}
}

func TestBucketsAreNamedNotPaths(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	for _, name := range []string{"..", ".", "a/b", "../x", "", "UPPER", "x\x00y"} {
		if err := s.CreateBucket(name); err == nil {
			t.Errorf("bucket %q created", name)
		}
		if _, err := s.PutObject(name, "k", nil, strings.NewReader("x"), 1, nil); !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchBucket) {
			t.Errorf("put into bucket %q: %v", name, err)
		}
	}
	if err := s.CreateBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "bkt", "k", "v")
	if err := s.DeleteBucket("bkt"); !gofakes3.HasErrorCode(err, gofakes3.ErrBucketNotEmpty) {
		t.Errorf("delete a bucket with objects: %v", err)
	}
	if err := s.ForceDeleteBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	if left := files(t, filepath.Join(dir, "buckets")); len(left) != 0 {
		t.Errorf("files left after deleting the bucket: %v", left)
	}
}

// FuzzKeys writes, reads, lists and deletes arbitrary keys: every key must
// round-trip, and nothing may be written outside the bucket's directory.
func FuzzKeys(f *testing.F) {
	for _, k := range []string{"a", "a/b", "../x", "..", "x//y", "x/./y", "/", "\x00", "folder/", strings.Repeat("é", 300)} {
		f.Add(k, "../evil")
	}
	f.Fuzz(func(t *testing.T, key, other string) {
		dir := t.TempDir()
		s := open(t, dir)
		if err := s.CreateBucket("fuzz"); err != nil {
			t.Fatal(err)
		}
		bucketDir := filepath.Join(dir, "buckets", "fuzz", objectsDir)
		put(t, s, "fuzz", key, key)
		put(t, s, "fuzz", other, other)
		if got, err := read(t, s, "fuzz", key); err != nil || (got != key && key != other) || (key == other && got != other) {
			t.Fatalf("get %q: %q %v", key, got, err)
		}
		list, err := s.ListBucket("fuzz", &gofakes3.Prefix{Prefix: key, HasPrefix: true}, gofakes3.ListBucketPage{})
		if err != nil || len(list.Contents) == 0 || list.Contents[0].Key != key {
			t.Fatalf("list %q: %+v %v", key, list, err)
		}
		for _, f := range files(t, dir) {
			if filepath.Dir(filepath.Join(dir, f)) != bucketDir && f != filepath.Join("buckets", "fuzz", bucketFile) {
				t.Fatalf("key %q wrote %s", key, f)
			}
		}
		for _, k := range []string{key, other} {
			if _, err := s.DeleteObject("fuzz", k); err != nil {
				t.Fatal(err)
			}
		}
		if left := files(t, bucketDir); len(left) != 0 {
			t.Fatalf("after deleting %q and %q: %v", key, other, left)
		}
	})
}

// slowReader yields one byte of b at a time, every delay.
type slowReader struct {
	b     byte
	delay time.Duration
}

func (r slowReader) Read(p []byte) (int, error) {
	time.Sleep(r.delay)
	p[0] = r.b
	return 1, nil
}

const killChild = "S3STORE_KILL_CHILD"

// TestKill9MidWriteKeepsAWholeVersion kills a process with SIGKILL while it
// overwrites an object, then reopens the store: the object must be a whole
// version, and the dead write's temporary file is gone.
func TestKill9MidWriteKeepsAWholeVersion(t *testing.T) {
	if dir := os.Getenv(killChild); dir != "" {
		s := open(t, dir)
		for i := 0; ; i++ {
			b := byte('a' + i%26)
			// Fast writes, then one that never ends.
			var r io.Reader = bytes.NewReader(bytes.Repeat([]byte{b}, 4096))
			if i == 5 {
				os.Stdout.WriteString("slow\n")
				r = slowReader{b, time.Millisecond}
			}
			if _, err := s.PutObject("bkt", "k", nil, r, 4096, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.CreateBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "bkt", "k", strings.Repeat("z", 4096))
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9MidWriteKeepsAWholeVersion$")
	cmd.Env = append(os.Environ(), killChild+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "slow\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	time.Sleep(50 * time.Millisecond) // part of the slow body is on disk
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if tmp := files(t, filepath.Join(dir, "tmp")); len(tmp) != 1 {
		t.Fatalf("the killed write left %d temporary files, want 1 (the test is not testing a write in flight)", len(tmp))
	}
	s = open(t, dir)
	got, err := read(t, s, "bkt", "k")
	if err != nil || len(got) != 4096 || strings.Trim(got, got[:1]) != "" || got[0] == byte('a'+5) {
		t.Fatalf("after kill -9: %d bytes starting %q, %v; want a whole earlier version", len(got), got[:min(len(got), 8)], err)
	}
	if tmp := files(t, filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("temporary files after reopening: %v", tmp)
	}
}

// A bucket directory without its bucket file, as a crash while creating or
// deleting a bucket leaves, is no bucket and does not stop the store.
func TestHalfMadeBucketsAreNoBuckets(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.CreateBucket("kept"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "kept", "k", "v")
	half := filepath.Join(dir, "buckets", "half", objectsDir)
	if err := os.MkdirAll(half, 0o700); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	if ok, _ := s.BucketExists("half"); ok {
		t.Fatal("a directory without its bucket file is a bucket")
	}
	if got, err := read(t, s, "kept", "k"); got != "v" || err != nil {
		t.Fatalf("kept/k: %q %v", got, err)
	}
	if err := s.CreateBucket("half"); err != nil {
		t.Fatalf("create a bucket where a half-made one was: %v", err)
	}
}
