// Package clock is the emulator's notion of now. Tests and users move it
// forward to reach token and session expiry without sleeping; it never
// affects request signing, which follows the real clock as clients do.
package clock

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// MaxOffset is how far ahead of real time the clock may be moved: far
// beyond any token or session lifetime, and far from time.Duration's
// overflow.
const MaxOffset = 10 * 365 * 24 * time.Hour

// ErrNotForward is returned for an advance that is not forward: moving
// back would revive expired tokens and sessions.
var ErrNotForward = errors.New("the clock only moves forward; use reset to return to real time")

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Offset is a Clock running at real speed, shifted by an adjustable offset.
// Its zero value is real time.
type Offset struct {
	mu     sync.RWMutex
	offset time.Duration
	real   func() time.Time
}

// NewOffset returns an Offset clock shifted by d.
func NewOffset(d time.Duration) *Offset { return &Offset{offset: d} }

// Now returns real time plus the offset.
func (c *Offset) Now() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	now := time.Now
	if c.real != nil {
		now = c.real
	}
	return now().Add(c.offset)
}

// Advance moves the clock forward by d and returns the new offset. It
// refuses d <= 0 and an offset beyond MaxOffset, leaving the clock as it
// was.
func (c *Offset) Advance(d time.Duration) (time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d <= 0 {
		return c.offset, ErrNotForward
	}
	if d > MaxOffset-c.offset {
		return c.offset, fmt.Errorf("the clock would be more than %s ahead of real time", MaxOffset)
	}
	c.offset += d
	return c.offset, nil
}

// Reset returns the clock to real time.
func (c *Offset) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = 0
}

// Offset returns the current offset from real time.
func (c *Offset) Offset() time.Duration {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.offset
}
