package trail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func rec(name string, at time.Time) *Record {
	return &Record{EventName: name, EventTime: at, EventSource: "s3.amazonaws.com"}
}

func TestWriteReadAndSince(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trail.jsonl")
	w, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, name := range []string{"A", "B", "C"} {
		if err := w.Write(rec(name, t0.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	all, err := Read(path, time.Time{})
	if err != nil || len(all) != 3 || all[2].EventName != "C" {
		t.Fatalf("Read: %+v %v", all, err)
	}
	recent, _ := Read(path, t0.Add(90*time.Second))
	if len(recent) != 1 || recent[0].EventName != "C" {
		t.Fatalf("Read since: %+v", recent)
	}
	// A damaged line is skipped, not fatal.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString("{not json\n")
	f.Close()
	if all, err := Read(path, time.Time{}); err != nil || len(all) != 3 {
		t.Fatalf("Read with a damaged line: %d records, %v", len(all), err)
	}
}

func TestRotationKeepsOneOldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trail.jsonl")
	w, err := Open(path, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < 20; i++ {
		if err := w.Write(rec("E", time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{path, path + ".1"} {
		fi, err := os.Stat(p)
		if err != nil || fi.Size() > 1000 {
			t.Fatalf("%s: %v, size %d exceeds the limit", p, err, fi.Size())
		}
	}
	if _, err := os.Stat(path + ".2"); err == nil {
		t.Fatal("more than one rotated file kept")
	}
}

func TestFollowSeesNewRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trail.jsonl")
	w, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_ = w.Write(rec("before", time.Now()))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got := make(chan string, 4)
	started := make(chan struct{})
	go func() {
		_ = follow(ctx, path, func(r Record) error { got <- r.EventName; return nil }, func() { close(started) })
	}()
	<-started // "before" is behind the starting point, "after" will not be
	_ = w.Write(rec("after", time.Now()))
	select {
	case name := <-got:
		if name != "after" {
			t.Fatalf("Follow delivered %q first, want only records written after it started", name)
		}
	case <-ctx.Done():
		t.Fatal("Follow delivered nothing")
	}
}

func TestTailDeliversTheNewestThenWhatFollows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trail.jsonl")
	w, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, name := range []string{"one", "two", "three"} {
		_ = w.Write(rec(name, time.Now()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got := make(chan string, 8)
	go func() {
		_ = Tail(ctx, path, 2, func(r Record) error { got <- r.EventName; return nil })
	}()
	next := func() string {
		select {
		case name := <-got:
			return name
		case <-ctx.Done():
			t.Fatal("Tail delivered too little")
			return ""
		}
	}
	if a, b := next(), next(); a != "two" || b != "three" {
		t.Fatalf("Tail replayed %q, %q; want the newest two, oldest first: two, three", a, b)
	}
	_ = w.Write(rec("four", time.Now()))
	if name := next(); name != "four" {
		t.Fatalf("Tail delivered %q after the replay, want four", name)
	}
}

func TestTailStartsInsideALongTrail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trail.jsonl")
	w, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pad := strings.Repeat("x", 4096)
	for i := 0; i < tailWindow/4096+50; i++ {
		r := rec(fmt.Sprintf("e%d", i), time.Now())
		r.UserAgent = pad
		_ = w.Write(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var names []string
	err = Tail(ctx, path, 1000, func(r Record) error {
		names = append(names, r.EventName)
		if r.EventName == fmt.Sprintf("e%d", tailWindow/4096+49) {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The window holds about a MiB of ~4.4 KB records, every one whole.
	if len(names) < 200 || len(names) > 260 {
		t.Fatalf("Tail replayed %d records from a long trail, want the last MiB's (~230)", len(names))
	}
}
