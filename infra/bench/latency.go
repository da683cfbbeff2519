package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// request is one GET of a latency table: its name, and its path in round i.
type request struct {
	name string
	path func(i int) string
}

// latency is one request's warm figures: its round trips, and its function's durations from
// the REPORT lines (the function's work without the transport's).
type latency struct {
	name      string
	trips, fn []time.Duration
	base      int // the row of its table that it is compared to
}

// inTurns makes rounds rounds of reqs, one request after the other, so that drift on the
// machine hits them all alike, and returns each request's figures; fn is the function behind
// them. Every row is compared to the first.
func (b *bench) inTurns(rounds int, fn string, reqs []request) ([]latency, error) {
	rows := make([]latency, len(reqs))
	for i := range rounds {
		for j, r := range reqs {
			d, err := b.fetch(r.path(i))
			if err != nil {
				return nil, err
			}
			rows[j].name = r.name
			rows[j].trips = append(rows[j].trips, d)
			rows[j].fn = append(rows[j].fn, b.reports.get(fn).Duration)
		}
	}
	return rows, nil
}

// pooled is rows' round trips taken together, under name, compared to row base.
func pooled(name string, rows []latency, base int) latency {
	all := latency{base: base}
	for _, r := range rows {
		all.trips = append(all.trips, r.trips...)
	}
	all.name = fmt.Sprintf("%s (%d)", name, len(all.trips))
	return all
}

// printLatencies prints rows as a table: p50 and p99 of the round trips, each as a ratio to
// its base row's, and the function's p50.
func printLatencies(w io.Writer, rows []latency) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "request\tp50\tp99\tp50 ratio\tp99 ratio\tfunction p50\t")
	for _, r := range rows {
		base := rows[r.base].trips
		p50, p99 := percentile(r.trips, 50), percentile(r.trips, 99)
		fn := ""
		if len(r.fn) > 0 {
			fn = msStr(median(r.fn))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f×\t%.2f×\t%s\t\n", r.name, msStr(p50), msStr(p99),
			ratio(p50, percentile(base, 50)), ratio(p99, percentile(base, 99)), fn)
	}
	return tw.Flush()
}

// fixed returns a request whose path is the same in every round.
func fixed(name, p string) request {
	return request{name: name, path: func(int) string { return p }}
}
