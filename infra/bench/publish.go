package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

const (
	// loadWarmup is how long the searchers run before the upload: long enough for the stack to
	// start every instance they need (each loads the live version), which is not measured.
	loadWarmup = 3 * time.Second
	// loadAfter is how long they go on after the ingest has published: every instance loads the
	// new version on its next request, within this.
	loadAfter = 3 * time.Second
)

// sample is one search of the publish-under-load benchmark.
type sample struct {
	at     time.Time
	took   time.Duration
	status int // 0 when the request failed without a response
}

// publishUnderLoad runs searchers concurrent searchers, over the typical queries, while body,
// a new directory of n organisations, is uploaded and published over a live one of live, and
// reports how the searches fared: every status 5xx counts (the goal is none), and the latencies.
func (b *bench) publishUnderLoad(ctx context.Context, w io.Writer, body []byte, n, live, searchers int) error {
	var (
		mu      sync.Mutex
		samples []sample
		wg      sync.WaitGroup
	)
	stop := make(chan struct{})
	for i := range searchers {
		wg.Go(func() {
			for j := i; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				at := time.Now()
				d, status, err := b.get(searchPath + "?" + typicalQueries[j%len(typicalQueries)])
				if err != nil {
					status = 0
				}
				mu.Lock()
				samples = append(samples, sample{at: at, took: d, status: status})
				mu.Unlock()
			}
		})
	}
	stopped := false
	halt := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer halt()

	time.Sleep(loadWarmup)
	finish := b.reports.record()
	start := time.Now()
	ingestTime, err := b.upload(ctx, body)
	if err != nil {
		return err
	}
	time.Sleep(loadAfter)
	halt()
	reps := finish()
	window := time.Since(start)

	var lat []time.Duration
	var fivexx, other, failed int
	for _, s := range samples {
		if s.at.Before(start) {
			continue
		}
		lat = append(lat, s.took)
		switch {
		case s.status == 0:
			failed++
		case s.status >= 500:
			fivexx++
		case s.status != http.StatusOK:
			other++
		}
	}
	var timeouts, fnErrors, coldStarts int
	for _, r := range reps {
		if r.FunctionName != b.search.LogicalID {
			continue
		}
		switch r.Status {
		case "timeout":
			timeouts++
		case "error":
			fnErrors++
		}
		if r.Cold {
			coldStarts++
		}
	}

	fmt.Fprintf(w, "\n== %d concurrent searchers through the publish of %d organisations (%.1f MB; the live directory has %d) ==\n", searchers, n, float64(len(body))/1e6, live)
	fmt.Fprintln(w, "goal: no 5xx")
	fmt.Fprintf(w, "searches from the upload until %v after it was published (%.1f s; ingest %s): %d\n", loadAfter, window.Seconds(), msStr(ingestTime), len(lat))
	fmt.Fprintf(w, "5xx: %d; other non-200: %d; no response: %d\n", fivexx, other, failed)
	fmt.Fprintf(w, "latency: p50 %s, p99 %s, max %s\n", msStr(percentile(lat, 50)), msStr(percentile(lat, 99)), msStr(maxDur(lat)))
	fmt.Fprintf(w, "%s meanwhile: %d timeouts, %d errors, %d new instances\n", b.search.LogicalID, timeouts, fnErrors, coldStarts)
	return nil
}
