// Package rotfile is an append-only file that moves itself aside when it
// grows past a limit: <path> is renamed to <path>.1 (replacing an older
// one) and a new <path> is started, so a file written under sustained
// load never holds more than about twice the limit on disk.
package rotfile

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// File is safe for concurrent use; each Write lands whole in one file.
type File struct {
	mu       sync.Mutex
	path     string
	limit    int64
	f        *os.File
	size     int64
	onRotate func(*os.File) error
}

// Option configures Open.
type Option func(*File)

// OnRotate calls fn with each new file after a rotation, for instance to
// point the process's standard error at it.
func OnRotate(fn func(*os.File) error) Option {
	return func(f *File) { f.onRotate = fn }
}

// Open opens (creating, mode 0600) the file at path for appending. A limit
// of 0 or less never rotates.
func Open(path string, limit int64, opts ...Option) (*File, error) {
	w := &File{path: path, limit: limit}
	for _, o := range opts {
		o(w)
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *File) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", w.path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("stat %s: %w", w.path, err)
	}
	w.f, w.size = f, fi.Size()
	return nil
}

// Write appends p, first rotating when p would take the file past its
// limit.
func (w *File) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, errors.New("write " + w.path + ": closed")
	}
	if w.limit > 0 && w.size > 0 && w.size+int64(len(p)) > w.limit {
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", w.path, err)
	}
	return n, nil
}

func (w *File) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", w.path, err)
	}
	w.f = nil
	if err := os.Rename(w.path, w.path+".1"); err != nil {
		return fmt.Errorf("rotate %s: %w", w.path, err)
	}
	if err := w.open(); err != nil {
		return err
	}
	if w.onRotate != nil {
		return w.onRotate(w.f)
	}
	return nil
}

// Close closes the file.
func (w *File) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
