package engine

import (
	"context"
	"time"
)

func (e *Env) writeStatus(ctx context.Context) error {
	return writeStatusFile(e.layout, e.Describe(ctx))
}

// recordStatus writes the status from a goroutine that saw a component
// end, with a bound of its own on asking Docker about a kind node.
func (e *Env) recordStatus() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.writeStatus(ctx)
}
