package bulletinsend

import (
	"context"
	"math"
	"sync"
	"time"
)

// Pacing.
const (
	// pacingSlack spreads each second's worth of sends over a second and this much more. SES
	// counts the recipients it accepted in the last second as each request arrives, and a
	// request arrives some milliseconds after its start (scheduling, the network, TLS), so
	// starts exactly 1/rate apart would put rate+1 arrivals within one second whenever an
	// earlier request is delayed more than a later one: half the time. 20 ms absorbs that
	// jitter at any rate, and costs 2% of it (the dispatch reaches 0.98 of the allowed rate).
	pacingSlack = 20 * time.Millisecond
	// sesLatency is the time a worker spends on one recipient besides waiting for its turn
	// (the claim, SES's answer, the record), generously: workers(rate) keeps enough workers
	// busy to use every turn the pacer gives.
	sesLatency = 200 * time.Millisecond
	// MaxWorkers bounds the sends in flight at once (and the recipients claimed at a time, so
	// the uncertain ones after a crash). Above 310 a second, the rate is reached only while
	// a recipient takes less than (MaxWorkers-2)/rate: 124 ms at 500 a second.
	MaxWorkers = 64
)

// pacer hands out the start times of sends, evenly spaced at its interval, to any number of
// workers: one pacer per dispatch, so that however many send at once, their starts never come
// closer than the interval. A worker that finds the pacer idle starts at once; the pacer never
// lets a burst catch up on time it was idle.
type pacer struct {
	interval time.Duration

	mu   sync.Mutex
	next time.Time // the earliest start of the next send
}

// newPacer returns a pacer for at most rate sends a second (rate > 0).
func newPacer(rate float64) *pacer {
	return &pacer{interval: interval(rate)}
}

// interval is the spacing of sends at rate a second: (1 s + pacingSlack) / rate, rounded up
// to the nanosecond.
func interval(rate float64) time.Duration {
	return time.Duration(math.Ceil(float64(time.Second+pacingSlack) / rate))
}

// reserve takes the next start time at or after now and returns it.
func (p *pacer) reserve(now time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.next
	if t.Before(now) {
		t = now
	}
	p.next = t.Add(p.interval)
	return t
}

// wait reserves the next start time and sleeps until it; it returns ctx's error if ctx ends
// first (the time reserved is then lost, which only slows the sends after it).
func (p *pacer) wait(ctx context.Context) error {
	return sleepUntil(ctx, p.reserve(time.Now()))
}

// workers returns how many workers send at rate: enough to take every turn when each spends
// up to sesLatency on a recipient, plus two, at most MaxWorkers.
func workers(rate float64) int {
	n := int(math.Ceil(rate*sesLatency.Seconds())) + 2
	return min(n, MaxWorkers)
}

// sleepUntil sleeps until t, or returns ctx's error when ctx ends first (or has ended).
func sleepUntil(ctx context.Context, t time.Time) error {
	return sleep(ctx, time.Until(t))
}

// sleep sleeps for d, or returns ctx's error when ctx ends first (or has ended).
func sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
