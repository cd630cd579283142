package clock

import (
	"testing"
	"time"
)

func TestOffset(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &Offset{real: func() time.Time { return base }}
	if !c.Now().Equal(base) {
		t.Fatalf("zero offset: %v", c.Now())
	}
	if got, err := c.Advance(2 * time.Hour); got != 2*time.Hour || err != nil {
		t.Fatalf("Advance returned %v, %v", got, err)
	}
	if _, err := c.Advance(30 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if want := base.Add(150 * time.Minute); !c.Now().Equal(want) {
		t.Fatalf("after advancing: %v, want %v", c.Now(), want)
	}
	c.Reset()
	if !c.Now().Equal(base) || c.Offset() != 0 {
		t.Fatalf("after reset: %v (offset %v)", c.Now(), c.Offset())
	}
}

func TestAdvanceRefusesBackwardsAndOverflow(t *testing.T) {
	c := NewOffset(0)
	for _, d := range []time.Duration{0, -time.Hour, MaxOffset + 1, 2562047 * time.Hour} {
		if got, err := c.Advance(d); err == nil || got != 0 {
			t.Errorf("Advance(%v) = %v, %v; want an error and the clock unmoved", d, got, err)
		}
	}
	if _, err := c.Advance(MaxOffset - time.Hour); err != nil {
		t.Fatal(err)
	}
	// Twice a large step would overflow time.Duration; it must not wrap.
	if got, err := c.Advance(2 * time.Hour); err == nil || got != MaxOffset-time.Hour {
		t.Errorf("past MaxOffset: %v, %v", got, err)
	}
}
