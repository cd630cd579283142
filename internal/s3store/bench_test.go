package s3store

import (
	"bytes"
	"io"
	"strconv"
	"testing"
)

// BenchmarkPutObject writes 4 KiB objects to the filesystem store: a
// temporary file, fsync, rename, index update.
func BenchmarkPutObject(b *testing.B) {
	s := open(b, b.TempDir())
	if err := s.CreateBucket("bench"); err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 4<<10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.PutObject("bench", "k"+strconv.Itoa(i%100), nil, bytes.NewReader(body), int64(len(body)), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetObject reads a 1 KiB object: open, trailer, content.
func BenchmarkGetObject(b *testing.B) {
	s := open(b, b.TempDir())
	if err := s.CreateBucket("bench"); err != nil {
		b.Fatal(err)
	}
	put(b, s, "bench", "k", string(bytes.Repeat([]byte("x"), 1<<10)))
	b.ReportAllocs()
	for b.Loop() {
		obj, err := s.GetObject("bench", "k", nil)
		if err != nil {
			b.Fatal(err)
		}
		if n, _ := io.Copy(io.Discard, obj.Contents); n != 1<<10 {
			b.Fatalf("read %d bytes", n)
		}
		obj.Contents.Close()
	}
}
