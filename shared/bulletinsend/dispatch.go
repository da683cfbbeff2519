// Package bulletinsend sends the Light Lunch bulletin: each due issue to every subscriber,
// paced to the SES account's sending rate, across as many Lambda invocations as it takes, and
// never twice to anyone.
//
// A dispatch goes NotStarted → Preparing → Sending → Finished (bulletin.DispatchState). The
// invocation that holds the issue's lease (its Lambda request ID; DispatchStore) is the only
// one that works on it; it renews the lease every quarter of it and stops starting sends as
// soon as the store refuses a write for the lease (the progress, recorded every 2 s, the
// renewal, or a recipient another invocation took over). While Preparing it renders the
// issue once (with the upcoming events and the case studies new since the previous issue)
// and lists every Subscribed subscriber as a Queued recipient; then the dispatch is Sending.
// Each recipient is claimed with a conditional write (which also checks that they are still
// subscribed) before their mail is sent, and their outcome is recorded after; a recipient
// found claimed by an invocation that stopped without recording is Uncertain and never sent
// again.
//
// Sends start evenly spaced by one pacer shared by the workers, never more than rate in any
// second (0.98 of it: pacingSlack), where rate is the account's MaxSendRate (SES
// GetSendQuota) or BULLETIN_MAX_RATE when that is lower. SES's throttling is retried after a
// pause, through the pacer again, and counted; nothing is dropped. An invocation stops
// starting sends StopBefore its deadline, waits for those in flight, records the progress
// and releases the lease; the next invocation (the schedule's {"continue": true} every
// minute) takes over at once and carries on.
package bulletinsend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/bulletinmail"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/event"
	"sectorhub/shared/mail"
)

// Content is what an issue lists besides its own text (package dynamo's Store).
type Content interface {
	// UpcomingEvents returns the events that end after now, in any state.
	UpcomingEvents(ctx context.Context, now time.Time) ([]event.Event, error)
	// CaseStudyEntries returns every published case study's list entry.
	CaseStudyEntries(ctx context.Context) ([]casestudy.Entry, error)
}

// Quota tells the account's sending rate (mail.SES).
type Quota interface {
	// MaxSendRate returns the recipients a second SES accepts, or 0 for no limit.
	MaxSendRate(ctx context.Context) (float64, error)
}

// Timing of a dispatch.
const (
	// DefaultLease is how long an invocation holds an issue unless Dispatcher.Lease says
	// otherwise; it is renewed every quarter of it.
	DefaultLease = 60 * time.Second
	// StopBefore is how long before its deadline an invocation stops starting sends: time
	// for those in flight (SendTimeout), their records and the final writes.
	StopBefore = 30 * time.Second
	// SendTimeout bounds one SES call. It is not cut short by the invocation's context: a
	// call stopped half way leaves its recipient uncertain.
	SendTimeout = 10 * time.Second
	// progressEvery is how often the progress is recorded while sending.
	progressEvery = 2 * time.Second
	// recordTimeout bounds each write that goes on after the invocation's context ended.
	recordTimeout = 10 * time.Second
	// firstIssueWindow is how far back the first issue ever sent looks for new case studies.
	firstIssueWindow = 7 * 24 * time.Hour
)

// pageSize is how many subscribers (listed as recipients in one AddRecipients) and queued
// recipients are read at a time.
const pageSize = 100

// unlimitedRate is the rate used when SES reports no limit and BULLETIN_MAX_RATE is unset
// (a local endpoint without limits): as fast as MaxWorkers go.
const unlimitedRate = 1000

// Dispatcher sends the due issues. Store, Content, Sender, Quota and Renderer are required;
// the others have defaults.
type Dispatcher struct {
	Store    DispatchStore
	Content  Content
	Sender   mail.Sender
	Quota    Quota
	Renderer bulletinmail.Renderer
	// MaxRate caps the sending rate below the account's (BULLETIN_MAX_RATE), to leave room
	// for the other mail the account sends; 0 for no cap.
	MaxRate float64
	Log     *slog.Logger     // slog.Default() when nil
	Now     func() time.Time // the clock of the records and the lease; time.Now when nil
	Lease   time.Duration    // DefaultLease when 0
}

// Event is the dispatch function's input: the weekly schedule's (or a manual invoke's) {}
// starts the issues that are due; the every-minute schedule's {"continue": true} only
// carries on with dispatches already started, so that an issue uploaded with a send_at in
// the past is not sent before the weekly time. Any other fields (EventBridge's envelope)
// are ignored.
type Event struct {
	Continue bool `json:"continue"`
}

// Report says what one invocation did, issue by issue. It holds no personal data.
type Report struct {
	Issues []IssueReport `json:"issues"`
}

// Outcome is how an invocation left an issue.
type Outcome string

// Outcomes of an issue in an invocation.
const (
	Finished   Outcome = "finished"   // every recipient attended to; the issue is archived
	Continuing Outcome = "continuing" // stopped (deadline, daily quota, SES unavailable) and released for the next invocation
	Busy       Outcome = "busy"       // another invocation holds it (or it was finished meanwhile)
	LeaseLost  Outcome = "lease_lost" // another invocation took it over while this one worked
	Failed     Outcome = "error"      // the store or SES failed; released when possible
)

// IssueReport counts what an invocation did to one issue.
type IssueReport struct {
	ID      string  `json:"id"`
	Outcome Outcome `json:"outcome"`
	// Listed is how many recipients this invocation listed (when it prepared the dispatch).
	Listed     int `json:"listed"`
	Sent       int `json:"sent"`
	Suppressed int `json:"suppressed"` // unsubscribed (or bounced, complained) since being listed
	Failed     int `json:"failed"`     // rejected by SES for good (or not buildable)
	// Requeued counts temporary SES errors (not throttling): the recipient was put back and
	// tried again later.
	Requeued int `json:"requeued"`
	// Throttled counts SES throttling errors, each retried.
	Throttled int `json:"throttled"`
	// Unknown counts sends without an answer from SES; they are marked uncertain.
	Unknown int `json:"unknown"`
	// Uncertain counts the recipients this invocation marked uncertain: claimed by an
	// invocation that stopped (when taking over), and its own Unknown ones.
	Uncertain int `json:"uncertain"`
	// Rate is the allowed rate (mails a second); AchievedRate is the rate of this
	// invocation's accepted sends, from the first to the last start.
	Rate         float64 `json:"rate"`
	AchievedRate float64 `json:"achieved_rate"`
	// Progress is the dispatch's progress as this invocation left it.
	Progress bulletin.Progress `json:"progress"`
}

// MaxRateFromEnv returns the cap on the sending rate that BULLETIN_MAX_RATE sets (mails a
// second, a positive number), or 0 when it is unset. An invalid value is an error naming the
// variable, for the function to fail at start.
func MaxRateFromEnv(getenv func(string) string) (float64, error) {
	s := strings.TrimSpace(getenv("BULLETIN_MAX_RATE"))
	if s == "" {
		return 0, nil
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || !(r > 0 && r <= 1e6) { // also refuses NaN and Inf
		return 0, fmt.Errorf("BULLETIN_MAX_RATE must be a positive number of mails a second, not %q", s)
	}
	return r, nil
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Log != nil {
		return d.Log
	}
	return slog.Default()
}

func (d *Dispatcher) lease() time.Duration {
	if d.Lease > 0 {
		return d.Lease
	}
	return DefaultLease
}

// Handle is the Lambda handler: it runs the dispatch (Run) as the invocation's request ID,
// so that Lambda's retry of a failed invocation, which has the same ID, takes over its
// issues at once; without a Lambda context (a script) the owner is random. The event is
// Event; {"continue": true} starts nothing new.
func (d *Dispatcher) Handle(ctx context.Context, payload json.RawMessage) (Report, error) {
	var ev Event
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &ev); err != nil {
			return Report{}, fmt.Errorf("bulletin dispatch: the event is not a JSON object: %w", err)
		}
	}
	owner := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		owner = lc.AwsRequestID
	}
	if owner == "" {
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		owner = "local-" + hex.EncodeToString(b[:])
	}
	return d.Run(ctx, owner, !ev.Continue)
}

// Run attends to every due issue as owner, one after another: each one whose dispatch has
// started and whose lease is free (or owner's), and, when startNew, each Ready one whose
// send_at has passed. It returns what it did, and the errors of the issues that failed
// (the others are attended to all the same).
func (d *Dispatcher) Run(ctx context.Context, owner string, startNew bool) (Report, error) {
	rep := Report{Issues: []IssueReport{}}
	due, err := d.Store.DueIssues(ctx, d.now())
	if err != nil {
		return rep, fmt.Errorf("bulletin dispatch: due issues: %w", err)
	}
	var errs []error
	rate := 0.0
	for _, iss := range due {
		if !startNew && iss.Dispatch.State == bulletin.NotStarted {
			continue
		}
		if !timeLeft(ctx) {
			break
		}
		ir, err := d.dispatch(ctx, iss.ID, owner, &rate)
		rep.Issues = append(rep.Issues, ir)
		d.logIssue(ctx, ir, err)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(rep.Issues) == 0 {
		d.log().DebugContext(ctx, "bulletin dispatch: nothing to do", "due", len(due), "start_new", startNew)
	}
	return rep, errors.Join(errs...)
}

// timeLeft reports whether ctx leaves time to start sending: it has not ended, and its
// deadline is more than StopBefore away.
func timeLeft(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > StopBefore
}

// logIssue writes the one line an invocation logs per issue: counts and rates, never
// addresses. An issue another invocation holds is logged at debug level only, since the
// continuation schedule finds the running dispatch busy every minute.
func (d *Dispatcher) logIssue(ctx context.Context, ir IssueReport, err error) {
	p := ir.Progress
	attrs := []any{
		"issue", ir.ID, "outcome", string(ir.Outcome), "listed", ir.Listed,
		"sent", ir.Sent, "suppressed", ir.Suppressed, "failed", ir.Failed, "requeued", ir.Requeued,
		"throttled", ir.Throttled, "unknown", ir.Unknown, "uncertain", ir.Uncertain,
		"rate", ir.Rate, "achieved_rate", math.Round(ir.AchievedRate*100) / 100,
		"recipients", p.Recipients, "total_sent", p.Sent, "remaining", p.Remaining,
	}
	switch {
	case err != nil:
		d.log().ErrorContext(ctx, "bulletin dispatch", append(attrs, "err", err.Error())...)
	case ir.Outcome == Busy:
		d.log().DebugContext(ctx, "bulletin dispatch", attrs...)
	default:
		d.log().InfoContext(ctx, "bulletin dispatch", attrs...)
	}
}

// Preview renders iss as a dispatch starting now would (Render), for a staff test send. It
// uses only the Store's SentIssues, Content, Renderer and Now, so a Dispatcher built for it
// needs no Sender or Quota.
func (d *Dispatcher) Preview(ctx context.Context, iss bulletin.Issue) (bulletin.Rendered, error) {
	return d.render(ctx, iss, d.now())
}

// render renders iss at now with the events bulletinmail.Upcoming lists and the case studies
// published since the previous issue's dispatch started (when it was rendered: a case study
// published while that issue was being sent was not in it), or in the week before now for
// the first issue ever.
func (d *Dispatcher) render(ctx context.Context, iss bulletin.Issue, now time.Time) (bulletin.Rendered, error) {
	evs, err := d.Content.UpcomingEvents(ctx, now)
	if err != nil {
		return bulletin.Rendered{}, fmt.Errorf("render issue %s: %w", iss.ID, err)
	}
	entries, err := d.Content.CaseStudyEntries(ctx)
	if err != nil {
		return bulletin.Rendered{}, fmt.Errorf("render issue %s: %w", iss.ID, err)
	}
	prev, _, err := d.Store.SentIssues(ctx, 1, "")
	if err != nil {
		return bulletin.Rendered{}, fmt.Errorf("render issue %s: previous issue: %w", iss.ID, err)
	}
	since := now.Add(-firstIssueWindow)
	if len(prev) > 0 {
		since = prev[0].Dispatch.StartedAt
		if since.IsZero() {
			since = prev[0].Dispatch.FinishedAt
		}
	}
	return d.Renderer.Render(iss, bulletinmail.Upcoming(evs, now), bulletinmail.NewCaseStudies(entries, since), now)
}

// rate returns the sending rate: the account's, capped by MaxRate.
func (d *Dispatcher) rate(ctx context.Context) (float64, error) {
	quota, err := d.Quota.MaxSendRate(ctx)
	if err != nil {
		return 0, fmt.Errorf("sending quota: %w", err)
	}
	switch {
	case quota > 0 && d.MaxRate > 0:
		return min(quota, d.MaxRate), nil
	case quota > 0:
		return quota, nil
	case d.MaxRate > 0:
		return d.MaxRate, nil
	}
	return unlimitedRate, nil
}
