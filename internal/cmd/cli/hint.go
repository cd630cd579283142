package cli

import (
	"errors"
	"fmt"

	"github.com/irsa-local/irsa-local/internal/backend"
	"github.com/irsa-local/irsa-local/internal/cluster/kind"
	"github.com/irsa-local/irsa-local/pkg/issuer"
)

// Hint adds to an error of the library the command or flag that mends it:
// the library, used from Go, describes the problem but cannot name them.
// It adds at most one hint, however often it is called.
func Hint(err error) error {
	var h *hinted
	if err == nil || errors.As(err, &h) {
		return err
	}
	var ke *issuer.KeyError
	switch {
	case errors.As(err, &ke) && ke.StartOver():
		return &hinted{err, "'irsa-local delete' removes the environment to start over"}
	case errors.Is(err, issuer.ErrSigningKey):
		return &hinted{err, "run 'irsa-local keys rotate' first"}
	case errors.Is(err, kind.ErrNoDocker):
		return &hinted{err, "the default --cluster local needs no Docker"}
	case errors.Is(err, kind.ErrNoImage):
		return &hinted{err, "pass another with --kind-image"}
	case errors.Is(err, backend.ErrNoMoto):
		return &hinted{err, "or pass --backend none, container:moto or the URL of an emulator you run"}
	case errors.Is(err, backend.ErrNoDocker):
		return &hinted{err, "--backend moto runs moto_server without Docker"}
	}
	return err
}

type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return fmt.Sprintf("%v; %s", h.err, h.hint) }
func (h *hinted) Unwrap() error { return h.err }
