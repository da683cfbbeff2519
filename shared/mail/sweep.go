package mail

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Sweep defaults and limits.
const (
	// DefaultSweepLimit is how many due mails Sweep reads from the outbox at a time.
	DefaultSweepLimit = 100
)

// DefaultMaxRate is the sending rate, in mails a second, of a function whose environment does
// not set MAIL_MAX_RATE: well under a production SES account's usual 14, since several
// functions send at once.
const DefaultMaxRate = 5.0

// MaxRate returns the sending rate a function's environment sets in MAIL_MAX_RATE (mails a
// second, a positive number), or DefaultMaxRate when it is unset. An invalid value is an
// error naming the variable, for the function to fail at start.
func MaxRate(getenv func(string) string) (float64, error) {
	s := strings.TrimSpace(getenv("MAIL_MAX_RATE"))
	if s == "" {
		return DefaultMaxRate, nil
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || !(r > 0 && r <= 1e6) { // also refuses NaN
		return 0, fmt.Errorf("MAIL_MAX_RATE must be a positive number of mails a second, not %q", s)
	}
	return r, nil
}

// SweepOptions configures Sweep.
type SweepOptions struct {
	// Rate is the most mails Sweep sends per second (SES's sending rate, or less: other
	// functions send too). Zero or less means 1, the SES sandbox's rate.
	Rate float64
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Limit is how many due mails are read at a time (DefaultSweepLimit when zero or less).
	Limit int
}

// SweepReport counts what a Sweep did. It never holds addresses: it is logged.
type SweepReport struct {
	Sent      int `json:"sent"`      // sent now
	Retried   int `json:"retried"`   // SES did not take them; pending again, due later
	Failed    int `json:"failed"`    // failed for good
	Uncertain int `json:"uncertain"` // found claimed with their lease over: not sent again
	// Unknown counts mails sent without an answer from SES: they stay claimed and become
	// uncertain in a later sweep (counted there).
	Unknown int `json:"unknown"`
}

// Sweep attends to every mail that is due in ob: it delivers each pending one (as Deliver
// does, with SweepSendTimeout for the SES call), at most opts.Rate a second, and marks each
// one left sending after its lease as Uncertain (a sender died between claim and record, and
// SES may have taken the mail: it is never sent again). It stops cleanly, returning what it
// did and no error, when ctx ends, when ctx's deadline is less than two seconds away, or
// when the next mail could not be sent and recorded by then (it starts one only with
// SweepSendTimeout plus two seconds, 12 s, left after the pause that paces it): what is left
// waits, pending, for the next Sweep. It returns an error only when the outbox fails.
// Several Sweeps (and Delivers) may run at once: each mail is sent by whoever claims it.
func Sweep(ctx context.Context, ob Outbox, s Sender, opts SweepOptions) (SweepReport, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = DefaultSweepLimit
	}
	rate := opts.Rate
	if rate <= 0 {
		rate = 1
	}
	interval := time.Duration(float64(time.Second) / rate)

	var rep SweepReport
	seen := map[string]bool{} // mails attended to, which the index may still list for a moment
	var next time.Time        // when the next send may start
	for {
		if !timeLeft(ctx, 0) {
			return rep, nil
		}
		due, err := ob.DueMail(ctx, now(), limit)
		if err != nil {
			if ctx.Err() != nil {
				return rep, nil
			}
			return rep, fmt.Errorf("sweep: %w", err)
		}
		fresh := 0
		for _, m := range due {
			if seen[m.ID] {
				continue
			}
			seen[m.ID] = true
			fresh++
			switch m.Status {
			case Pending:
				wait := time.Until(next)
				if !timeLeft(ctx, wait+SweepSendTimeout) {
					return rep, nil
				}
				if err := sleep(ctx, wait); err != nil {
					return rep, nil
				}
				next = time.Now().Add(interval)
				o, err := deliver(ctx, ob, s, m.ID, now(), SweepSendTimeout)
				rep.count(o)
				if err != nil && !outcomeErr(err) {
					return rep, fmt.Errorf("sweep: %w", err)
				}
			case Sending:
				t := now()
				if t.Before(m.LeaseUntil) {
					continue
				}
				err := ob.MarkMailUncertain(ctx, m.ID, t)
				switch {
				case err == nil:
					rep.Uncertain++
				case !errors.Is(err, ErrStale):
					return rep, fmt.Errorf("sweep: %w", err)
				}
			}
		}
		if fresh == 0 || len(due) < limit {
			return rep, nil
		}
	}
}

func (r *SweepReport) count(o outcome) {
	switch o {
	case sent:
		r.Sent++
	case retried:
		r.Retried++
	case failed:
		r.Failed++
	case unknown:
		r.Unknown++
	}
}

// timeLeft reports whether ctx leaves time for d and then recordMargin, for the outbox
// writes that follow (d is 0 for a step that only reads and records, such as marking a mail
// uncertain; the pacing wait and the SES call's timeout for a send).
func timeLeft(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > d+recordMargin
}

func sleep(ctx context.Context, d time.Duration) error {
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
