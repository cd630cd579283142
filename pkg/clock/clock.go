// Package clock is the emulator's notion of now. Tests and users move it
// forward to reach token and session expiry without sleeping; it never
// affects request signing, which follows the real clock as clients do.
package clock

import (
	"sync"
	"time"
)

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

// Advance moves the clock forward by d (backwards when d is negative) and
// returns the new offset.
func (c *Offset) Advance(d time.Duration) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	return c.offset
}

// Reset returns the clock to real time.
func (c *Offset) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = 0
}

// Get returns the current offset from real time.
func (c *Offset) Get() time.Duration {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.offset
}
