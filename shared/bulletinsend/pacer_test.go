package bulletinsend

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// simulate runs workers(rate) workers against one pacer on a simulated clock: each worker
// reserves a start as soon as it is free, and is free again latency(i) after the start of
// its i-th send. It returns the starts of n sends, in order.
func simulate(rate float64, n int, latency func(i int) time.Duration) []time.Time {
	p := newPacer(rate)
	free := make([]time.Time, workers(rate)) // when each worker is next free
	for i := range free {
		free[i] = t0
	}
	starts := make([]time.Time, 0, n)
	for i := range n {
		w := 0 // the worker free soonest (the lowest index on a tie: deterministic)
		for k := range free {
			if free[k].Before(free[w]) {
				w = k
			}
		}
		start := p.reserve(free[w])
		starts = append(starts, start)
		free[w] = start.Add(latency(i))
	}
	sort.Slice(starts, func(a, b int) bool { return starts[a].Before(starts[b]) })
	return starts
}

// maxInSecond returns the most of times (sorted) that SES's sliding second would count at
// once: for each time, those in the second up to and including it.
func maxInSecond(times []time.Time) int {
	most, lo := 0, 0
	for hi := range times {
		for times[hi].Sub(times[lo]) >= time.Second {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}

func TestPacerRate(t *testing.T) {
	const n = 3000
	latencies := []struct {
		name    string
		latency func(i int) time.Duration
	}{
		{"fast SES (5 ms)", func(int) time.Duration { return 5 * time.Millisecond }},
		// sesLatency, or as slow as MaxWorkers can carry at the rate (124 ms at 500/s).
		{"slow SES", nil},
		{"varying 20-200 ms", func(i int) time.Duration { return time.Duration(20+(i*37)%181) * time.Millisecond }},
	}
	for _, rate := range []float64{1, 14, 100, 500} {
		for _, l := range latencies {
			t.Run(l.name+" at "+formatRate(rate), func(t *testing.T) {
				latency := l.latency
				if latency == nil {
					slowest := min(sesLatency, time.Duration(float64(MaxWorkers-2)/rate*float64(time.Second)))
					latency = func(int) time.Duration { return slowest }
				}
				starts := simulate(rate, n, latency)
				gap := time.Duration(math.MaxInt64)
				for i := 1; i < len(starts); i++ {
					gap = min(gap, starts[i].Sub(starts[i-1]))
				}
				if want := interval(rate); gap < want {
					t.Errorf("closest starts %v apart; want at least %v", gap, want)
				}
				if got := maxInSecond(starts); float64(got) > rate {
					t.Errorf("%d starts within one second; want at most %v", got, rate)
				}
				// The achieved rate from the first start to the last.
				achieved := float64(len(starts)-1) / starts[len(starts)-1].Sub(starts[0]).Seconds()
				ratio := achieved / rate
				if ratio < 0.95 || ratio > 1 {
					t.Errorf("achieved %.3f/s at %v/s: ratio %.4f; want 0.95 to 1", achieved, rate, ratio)
				}
				t.Logf("achieved %.3f/s at %v/s: ratio %.4f", achieved, rate, ratio)
			})
		}
	}
}

// TestPacerJitter checks the reason for pacingSlack: whatever delays each request by less
// than it on its way to SES (the network, scheduling), SES's sliding second never counts
// more than the rate, so a dispatch paced at the account's rate is not throttled by its own
// jitter.
func TestPacerJitter(t *testing.T) {
	for _, rate := range []float64{1, 14, 100, 500} {
		t.Run(formatRate(rate), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(rate)))
			starts := simulate(rate, 5000, func(int) time.Duration { return 50 * time.Millisecond })
			arrivals := make([]time.Time, len(starts))
			for i, s := range starts {
				arrivals[i] = s.Add(time.Duration(rng.Int64N(int64(pacingSlack))))
			}
			sort.Slice(arrivals, func(a, b int) bool { return arrivals[a].Before(arrivals[b]) })
			if got := maxInSecond(arrivals); float64(got) > rate {
				t.Errorf("%d arrivals within one second; want at most %v", got, rate)
			}
		})
	}
}

func formatRate(rate float64) string { return strconv.FormatFloat(rate, 'g', -1, 64) + "/s" }

// TestPacerConcurrent reserves from many goroutines at once: every start is distinct and
// they are exactly one interval apart.
func TestPacerConcurrent(t *testing.T) {
	p := newPacer(50)
	const goroutines, each = 8, 100
	var mu sync.Mutex
	var starts []time.Time
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				s := p.reserve(t0)
				mu.Lock()
				starts = append(starts, s)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sort.Slice(starts, func(a, b int) bool { return starts[a].Before(starts[b]) })
	for i, s := range starts {
		if want := t0.Add(time.Duration(i) * p.interval); !s.Equal(want) {
			t.Fatalf("start %d = %v; want %v", i, s.Sub(t0), want.Sub(t0))
		}
	}
}

func TestPacerIdle(t *testing.T) {
	p := newPacer(10) // 102 ms apart
	if got := p.reserve(t0); !got.Equal(t0) {
		t.Errorf("first reserve = %v; want now", got.Sub(t0))
	}
	if got := p.reserve(t0); !got.Equal(t0.Add(p.interval)) {
		t.Errorf("second reserve = %v; want one interval later", got.Sub(t0))
	}
	// Idle for a minute: the next start is now, and the one after it an interval later: no
	// burst to catch up.
	later := t0.Add(time.Minute)
	if got := p.reserve(later); !got.Equal(later) {
		t.Errorf("reserve after a pause = %v; want now", got.Sub(t0))
	}
	if got := p.reserve(later); !got.Equal(later.Add(p.interval)) {
		t.Errorf("reserve after that = %v; want one interval later", got.Sub(t0))
	}
}

func TestPacerWaitStops(t *testing.T) {
	p := newPacer(0.001) // a start every 17 minutes
	if err := p.wait(context.Background()); err != nil {
		t.Fatalf("first wait = %v; want nil at once", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.wait(ctx); err != context.Canceled {
		t.Errorf("wait with an ended context = %v; want context.Canceled", err)
	}
}

func TestIntervalAndWorkers(t *testing.T) {
	tests := []struct {
		rate     float64
		interval time.Duration
		workers  int
	}{
		{1, 1020 * time.Millisecond, 3},
		{14, 72857143, 5},
		{100, 10200 * time.Microsecond, 22},
		{500, 2040 * time.Microsecond, 64},
		{unlimitedRate, 1020 * time.Microsecond, MaxWorkers},
	}
	for _, tc := range tests {
		if got := interval(tc.rate); got != tc.interval {
			t.Errorf("interval(%v) = %v; want %v", tc.rate, got, tc.interval)
		}
		if got := workers(tc.rate); got != tc.workers {
			t.Errorf("workers(%v) = %d; want %d", tc.rate, got, tc.workers)
		}
	}
}

func TestMaxRateFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    float64
		wantErr bool
	}{
		{"unset", "", 0, false},
		{"whole", "14", 14, false},
		{"fraction with spaces", " 2.5 ", 2.5, false},
		{"zero", "0", 0, true},
		{"negative", "-3", 0, true},
		{"word", "fast", 0, true},
		{"NaN", "NaN", 0, true},
		{"infinite", "Inf", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MaxRateFromEnv(func(k string) string {
				if k == "BULLETIN_MAX_RATE" {
					return tc.value
				}
				return ""
			})
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("MaxRateFromEnv(%q) = %v, %v; want %v, error %v", tc.value, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
