package harness

import "github.com/irsa-local/irsa-local/internal/envdir"

func (e *Env) writeStatus() error {
	return envdir.WriteStatus(e.layout, e.Describe())
}
