package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/irsa-local/irsa-local/internal/backend"
	"github.com/irsa-local/irsa-local/internal/cluster/kind"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

func TestHint(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, issuer.SigningKeyFile), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, damaged := issuer.LoadOrCreateKeys(dir)
	keyDir := t.TempDir()
	signing, err := issuer.LoadOrCreateKeys(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	_, _, retire := issuer.RetireKeys(keyDir, signing.SigningID)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{damaged, "'irsa-local delete' removes the environment"},
		{retire, "run 'irsa-local keys rotate' first"},
		{fmt.Errorf("start kind: %w: docker info failed", kind.ErrNoDocker), "the default --cluster local needs no Docker"},
		{fmt.Errorf("%w: img", kind.ErrNoImage), "--kind-image"},
		{fmt.Errorf("start the backend: %w; install it", backend.ErrNoMoto), "--backend none, container:moto"},
		{fmt.Errorf("start the moto container: %w", backend.ErrNoDocker), "--backend moto runs moto_server without Docker"},
	} {
		if tc.err == nil {
			t.Fatalf("no error to hint at for %q", tc.want)
		}
		once := Hint(tc.err)
		if !strings.HasPrefix(once.Error(), tc.err.Error()) || !strings.Contains(once.Error(), tc.want) {
			t.Errorf("Hint(%v) = %v, want the error and %q", tc.err, once, tc.want)
		}
		if twice := Hint(once); twice.Error() != once.Error() {
			t.Errorf("hinted twice: %v", twice)
		}
		if !errors.Is(once, tc.err) {
			t.Errorf("the hint hides the error")
		}
	}
	plain := errors.New("plain")
	if Hint(plain) != plain || Hint(nil) != nil {
		t.Error("an error without a hint changed")
	}
}
