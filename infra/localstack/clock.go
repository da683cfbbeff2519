package localstack

import (
	"slices"
	"sync"
	"time"
)

// ManualClock is a Clock that tests move on by hand (Set): the schedules fire only when it
// reaches their time.
type ManualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []clockWaiter
}

type clockWaiter struct {
	at      time.Time
	reached chan struct{}
}

// NewManualClock returns a ManualClock standing at now.
func NewManualClock(now time.Time) *ManualClock { return &ManualClock{now: now} }

// Now implements Clock.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// At implements Clock.
func (c *ManualClock) At(t time.Time) (<-chan struct{}, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan struct{})
	if !t.After(c.now) {
		close(ch)
		return ch, func() {}
	}
	c.waiters = append(c.waiters, clockWaiter{t, ch})
	return ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.waiters = slices.DeleteFunc(c.waiters, func(w clockWaiter) bool { return w.reached == ch })
	}
}

// Set moves the clock to t, waking everything waiting for a time up to t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	c.waiters = slices.DeleteFunc(c.waiters, func(w clockWaiter) bool {
		if w.at.After(t) {
			return false
		}
		close(w.reached)
		return true
	})
}
