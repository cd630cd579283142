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
	if got := c.Advance(2 * time.Hour); got != 2*time.Hour {
		t.Fatalf("Advance returned %v", got)
	}
	c.Advance(30 * time.Minute)
	if want := base.Add(150 * time.Minute); !c.Now().Equal(want) {
		t.Fatalf("after advancing: %v, want %v", c.Now(), want)
	}
	c.Reset()
	if !c.Now().Equal(base) || c.Get() != 0 {
		t.Fatalf("after reset: %v (offset %v)", c.Now(), c.Get())
	}
}
