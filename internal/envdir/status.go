package envdir

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// Lock is an exclusive flock held by the process running an environment.
// The kernel drops it when that process dies, so unlike a pid file it cannot
// go stale.
type Lock struct{ f *os.File }

// ErrRunning is returned when another process runs the environment.
var ErrRunning = errors.New("environment is already running")

// AcquireLock takes the environment lock at path, or says who holds it.
func AcquireLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: another process holds %s", ErrRunning, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Release drops the lock.
func (l *Lock) Release() error {
	defer l.f.Close()
	if err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN); err != nil {
		return fmt.Errorf("unlock %s: %w", l.f.Name(), err)
	}
	return nil
}

// LockHeld reports whether some process holds the environment lock at path.
func LockHeld(path string) bool {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// MintToken signs a token with the key files of the environment in l, without
// needing it to run: the token verifies once the environment serves its keys.
func MintToken(l Layout, req issuer.TokenRequest) (string, error) {
	cfg, err := LoadConfig(l)
	if err != nil {
		return "", err
	}
	ks, err := issuer.LoadKeys(l.KeyDir())
	if err != nil {
		return "", err
	}
	return issuer.Mint(issuer.URL(cfg.IssuerHost, cfg.IssuerPort, cfg.IssuerID), ks, req)
}

// Keys lists the published keys of the environment in l; the first signs.
func Keys(l Layout) (*issuer.KeySet, error) {
	if _, err := LoadConfig(l); err != nil {
		return nil, err
	}
	return issuer.LoadKeys(l.KeyDir())
}
