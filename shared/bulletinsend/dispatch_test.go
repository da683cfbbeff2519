package bulletinsend_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/localstack/sescapture"
	"sectorhub/infra/testenv"
	"sectorhub/shared/bulletin"
	"sectorhub/shared/bulletinmail"
	"sectorhub/shared/bulletinsend"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/imports"
	sesmail "sectorhub/shared/mail"
)

// The store is the dispatch's store.
var _ bulletinsend.DispatchStore = (*dynamo.Store)(nil)

const (
	issueID = "2026-12-01"
	sender  = "Light Lunch <bulletin@sectorhub.example.org>"
	siteURL = "https://sectorhub.example.org"
)

// clock is the dispatch's clock: the real time moved on by what a test adds (to end a
// lease without waiting for it).
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// fixedQuota is an account whose GetSendQuota says rate, while the SES endpoint enforces its
// own (lower) limit: how a dispatch meets throttling it did not expect.
type fixedQuota float64

func (q fixedQuota) MaxSendRate(context.Context) (float64, error) { return float64(q), nil }

// counting is a mail.Sender that sends through SES and calls after(n) once the n-th mail
// has been accepted (to stop or disturb a dispatch part way).
type counting struct {
	sesmail.Sender
	n     atomic.Int64
	after func(n int64)
}

func (c *counting) SendRaw(ctx context.Context, from string, to []string, raw []byte) (string, error) {
	id, err := c.Sender.SendRaw(ctx, from, to, raw)
	if err == nil && c.after != nil {
		c.after(c.n.Add(1))
	}
	return id, err
}

// fixture is a table with subscribers and a due issue, an SES capture, and a dispatcher
// sending through it.
type fixture struct {
	store   *dynamo.Store
	capture *sescapture.Outbox
	clock   *clock
	logs    *testenv.Buffer
	ses     *sesmail.SES
	emails  []string // the subscribers' addresses, in import order
}

// newFixture imports n subscribers and uploads a ready issue due an hour ago, with an SES
// capture configured by opts.
func newFixture(t *testing.T, db *dynamodb.Client, table string, n int, opts sescapture.Options) *fixture {
	t.Helper()
	f := &fixture{store: dynamo.New(db, table), capture: sescapture.NewWithOptions(opts), clock: &clock{}, logs: &testenv.Buffer{}}
	srv := httptest.NewServer(f.capture)
	t.Cleanup(srv.Close)
	env := map[string]string{
		"AWS_REGION": testenv.Region, "AWS_ACCESS_KEY_ID": testenv.AccessKey, "AWS_SECRET_ACCESS_KEY": testenv.SecretKey,
		"AWS_ENDPOINT_URL_SES": srv.URL,
	}
	f.ses = sesmail.NewSES(func(k string) string { return env[k] })
	ctx := context.Background()
	now := f.clock.Now()
	rows := make([]bulletin.ImportRow, n)
	for i := range rows {
		f.emails = append(f.emails, fmt.Sprintf("reader%04d@example.org", i))
		rows[i] = bulletin.ImportRow{Line: i + 2, Email: f.emails[i], Name: fmt.Sprintf("Reader %d", i), ConsentedAt: now.Add(-24 * time.Hour), ConsentSource: "paper form"}
	}
	if counts, err := f.store.ImportSubscribers(ctx, "subscribers/test.csv", rows, now); err != nil || counts.Added != n {
		t.Fatalf("ImportSubscribers(%d rows) = %+v, %v; want %d added", n, counts, err, n)
	}
	iss := bulletin.Issue{
		ID: issueID, Subject: "Light Lunch: funding news", Preheader: "Three deadlines", SendAt: now.Add(-time.Hour),
		Status: bulletin.Ready, HTML: "<p>This week: funding news.</p>", Text: "This week: funding news.",
	}
	key := "bulletins/" + issueID + ".md"
	rep := imports.Report{Record: imports.Record{ID: "import-issue", Kind: "bulletins", Key: key, Status: imports.Processing, ReceivedAt: now, RequestID: "req-import"}, Problems: []imports.Problem{}}
	if _, ok, err := f.store.BeginImport(ctx, rep, now.Add(time.Hour), now); err != nil || !ok {
		t.Fatalf("BeginImport = %v, %v", ok, err)
	}
	rep.Status, rep.Items = imports.Published, 1
	if ok, err := f.store.PutIssue(ctx, iss, key, now.Add(-2*time.Hour), rep); err != nil || !ok {
		t.Fatalf("PutIssue = %v, %v", ok, err)
	}
	return f
}

// dispatcher returns a dispatcher of the fixture sending with s (f.ses when nil) at the
// quota q (SES's GetSendQuota when nil).
func (f *fixture) dispatcher(s sesmail.Sender, q bulletinsend.Quota) *bulletinsend.Dispatcher {
	if s == nil {
		s = f.ses
	}
	if q == nil {
		q = f.ses
	}
	return &bulletinsend.Dispatcher{
		Store: f.store, Content: f.store, Sender: s, Quota: q,
		Renderer: bulletinmail.Renderer{From: sender, SiteURL: siteURL},
		Log:      slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:      f.clock.Now,
	}
}

// received counts the mails the capture holds by recipient.
func (f *fixture) received(t *testing.T) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, m := range f.capture.Messages() {
		for _, to := range m.Destinations {
			got[to]++
		}
	}
	return got
}

// checkOnce fails t unless every address but those in missing received the issue exactly
// once, and those in missing none; it returns how many mails were received.
func (f *fixture) checkOnce(t *testing.T, missing map[string]bool) int {
	t.Helper()
	got := f.received(t)
	total := 0
	for _, addr := range f.emails {
		want := 1
		if missing[addr] {
			want = 0
		}
		if got[addr] != want {
			t.Errorf("%s received %d mails; want %d", addr, got[addr], want)
		}
		total += got[addr]
	}
	if len(got) > len(f.emails) {
		t.Errorf("%d addresses received mail; want at most the %d subscribers", len(got), len(f.emails))
	}
	return total
}

// issue returns the issue as stored.
func (f *fixture) issue(t *testing.T) bulletin.StoredIssue {
	t.Helper()
	iss, ok, err := f.store.IssueByID(context.Background(), issueID)
	if err != nil || !ok {
		t.Fatalf("IssueByID(%s) = %v, %v", issueID, ok, err)
	}
	return iss
}

// checkProgress fails t unless the stored progress adds up, agrees with the recipients'
// records, and is want (Throttled not compared when wantThrottled is false).
func (f *fixture) checkProgress(t *testing.T, want bulletin.Progress, wantThrottled bool) bulletin.Progress {
	t.Helper()
	p := f.issue(t).Dispatch.Progress
	if p.Recipients != p.Sent+p.Suppressed+p.Failed+p.Uncertain+p.Remaining {
		t.Errorf("progress %+v does not add up", p)
	}
	counted, err := f.store.CountRecipients(context.Background(), issueID)
	if err != nil {
		t.Fatal(err)
	}
	counted.Throttled = p.Throttled
	if counted != p {
		t.Errorf("progress %+v; the recipients' records count %+v", p, counted)
	}
	if !wantThrottled {
		want.Throttled = p.Throttled
	}
	if p != want {
		t.Errorf("progress %+v; want %+v", p, want)
	}
	return p
}

// run runs the dispatch as owner and fails t on error.
func run(t *testing.T, ctx context.Context, d *bulletinsend.Dispatcher, owner string, startNew bool) bulletinsend.Report {
	t.Helper()
	rep, err := d.Run(ctx, owner, startNew)
	if err != nil {
		t.Fatalf("Run(%s) = %+v, %v", owner, rep, err)
	}
	return rep
}

// runStopped starts the dispatch as req-first and ends its context once SES has accepted
// stopAfter mails (the sends in flight then go on and are recorded), and returns its report.
func (f *fixture) runStopped(t *testing.T, stopAfter int64) bulletinsend.IssueReport {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &counting{Sender: f.ses, after: func(k int64) {
		if k == stopAfter {
			cancel()
		}
	}}
	return only(t, run(t, ctx, f.dispatcher(s, nil), "req-first", true))
}

// only returns the report's one issue, failing t unless there is exactly one.
func only(t *testing.T, rep bulletinsend.Report) bulletinsend.IssueReport {
	t.Helper()
	if len(rep.Issues) != 1 {
		t.Fatalf("report of %d issues (%+v); want 1", len(rep.Issues), rep)
	}
	return rep.Issues[0]
}

func TestDispatchSendsEachOnce(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		const n = 300
		f := newFixture(t, db, table, n, sescapture.Options{MaxSendRate: 100})
		d := f.dispatcher(nil, nil)
		ctx := context.Background()

		ir := only(t, run(t, ctx, d, "req-1", true))
		if ir.Outcome != bulletinsend.Finished || ir.Listed != n || ir.Sent != n || ir.Rate != 100 || ir.Uncertain != 0 || ir.Failed != 0 {
			t.Errorf("report %+v; want finished, %d listed and sent at rate 100", ir, n)
		}
		t.Logf("sent %d at %.1f/s (allowed %v/s; ratio %.3f), %d throttled", ir.Sent, ir.AchievedRate, ir.Rate, ir.AchievedRate/ir.Rate, ir.Throttled)
		f.checkOnce(t, nil)
		f.checkProgress(t, bulletin.Progress{Recipients: n, Sent: n}, false)
		iss := f.issue(t)
		if iss.Dispatch.State != bulletin.Finished || iss.Dispatch.FinishedAt.IsZero() || iss.Dispatch.LeaseOwner != "" {
			t.Errorf("dispatch %+v; want finished, lease ended", iss.Dispatch)
		}
		if sent, _, err := f.store.SentIssues(ctx, 10, ""); err != nil || len(sent) != 1 || sent[0].ID != issueID {
			t.Errorf("SentIssues = %d issues, %v; want the issue archived", len(sent), err)
		}

		// Each mail is its recipient's: their own unsubscribe link, in the header and the body.
		for _, m := range f.capture.Messages() {
			msg, err := mail.ReadMessage(strings.NewReader(string(m.Raw)))
			if err != nil {
				t.Fatalf("parse mail: %v", err)
			}
			sub, ok, err := f.store.SubscriberByEmail(ctx, m.Destinations[0])
			if err != nil || !ok {
				t.Fatalf("SubscriberByEmail = %v, %v", ok, err)
			}
			want := "<" + siteURL + bulletin.UnsubscribePath(bulletin.UnsubscribeToken(sub)) + ">"
			if got := msg.Header.Get("List-Unsubscribe"); got != want {
				t.Errorf("List-Unsubscribe = %q; want %q", got, want)
			}
			if got := msg.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
				t.Errorf("List-Unsubscribe-Post = %q", got)
			}
			if got := msg.Header.Get("Subject"); got != "Light Lunch: funding news" {
				t.Errorf("Subject = %q", got)
			}
		}

		// Sent: the schedule's next run, a retry or a continuation sends nothing.
		for _, startNew := range []bool{true, false} {
			if rep := run(t, ctx, d, "req-2", startNew); len(rep.Issues) != 0 {
				t.Errorf("Run after the dispatch (startNew %v) = %+v; want nothing", startNew, rep)
			}
		}
		if got := len(f.capture.Messages()); got != n {
			t.Errorf("the capture holds %d mails; want %d", got, n)
		}

		logs := f.logs.String()
		if !strings.Contains(logs, `"msg":"bulletin dispatch","issue":"`+issueID+`","outcome":"finished","listed":300,"sent":300`) {
			t.Errorf("log = %s; want one summary line", logs)
		}
		if strings.Contains(logs, "@") || strings.Contains(logs, "Reader") {
			t.Errorf("log = %s; want no address or name", logs)
		}
	})
}

func TestDispatchThrottled(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		const n = 200
		// SES accepts 50 a second; the dispatch believes 100.
		f := newFixture(t, db, table, n, sescapture.Options{MaxSendRate: 50})
		d := f.dispatcher(nil, fixedQuota(100))
		ir := only(t, run(t, context.Background(), d, "req-1", true))
		if ir.Outcome != bulletinsend.Finished || ir.Sent != n || ir.Throttled == 0 || ir.Requeued != 0 || ir.Unknown != 0 {
			t.Errorf("report %+v; want finished, %d sent, throttling seen and retried", ir, n)
		}
		t.Logf("sent %d, %d throttling errors retried, %.1f/s", ir.Sent, ir.Throttled, ir.AchievedRate)
		f.checkOnce(t, nil)
		f.checkProgress(t, bulletin.Progress{Recipients: n, Sent: n, Throttled: ir.Throttled}, true)
	})
}

// TestDispatchResumesAfterCrash stops a dispatch part way and leaves one recipient claimed
// by an invocation that died between SES's answer and its record: the next invocation,
// another after the lease or Lambda's retry of the dead one at once, marks that recipient
// uncertain and sends to everyone else, each once.
func TestDispatchResumesAfterCrash(t *testing.T) {
	tests := []struct {
		name    string
		owner   string        // the invocation that resumes
		advance time.Duration // the time it comes after the crash
		busy    bool          // whether it finds the lease held when it comes at once
	}{
		{name: "next invocation after the lease", owner: "req-next", advance: bulletinsend.DefaultLease + time.Second, busy: true},
		{name: "Lambda's retry of the dead invocation", owner: "req-crashed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
				const n, stopAfter = 300, 100
				f := newFixture(t, db, table, n, sescapture.Options{MaxSendRate: 200})
				ir := f.runStopped(t, stopAfter)
				if ir.Outcome != bulletinsend.Continuing || ir.Sent < stopAfter || ir.Sent >= n {
					t.Fatalf("stopped run's report %+v; want continuing after %d or a few more", ir, stopAfter)
				}
				first := f.checkProgress(t, bulletin.Progress{Recipients: n, Sent: ir.Sent, Remaining: n - ir.Sent}, false)
				if got := len(f.capture.Messages()); got != first.Sent {
					t.Errorf("the capture holds %d mails; the progress says %d sent", got, first.Sent)
				}
				if iss := f.issue(t); iss.Dispatch.LeaseOwner != "" || iss.Dispatch.State != bulletin.Sending {
					t.Errorf("dispatch %+v; want sending, lease released", iss.Dispatch)
				}

				// An invocation takes the dispatch, claims a recipient, sends (or not) and dies.
				bg := context.Background()
				if _, ok, err := f.store.BeginDispatch(bg, issueID, "req-crashed", f.clock.Now(), bulletinsend.DefaultLease); err != nil || !ok {
					t.Fatalf("BeginDispatch(req-crashed) = %v, %v", ok, err)
				}
				queued, _, err := f.store.QueuedRecipients(bg, issueID, "", 1)
				if err != nil || len(queued) != 1 {
					t.Fatalf("QueuedRecipients = %d, %v", len(queued), err)
				}
				if res, err := f.store.ClaimRecipient(bg, issueID, "req-crashed", queued[0], f.clock.Now()); err != nil || res != bulletin.ClaimOK {
					t.Fatalf("ClaimRecipient = %v, %v", res, err)
				}
				d := f.dispatcher(nil, nil)
				if tc.busy {
					if ir := only(t, run(t, bg, d, tc.owner, false)); ir.Outcome != bulletinsend.Busy || ir.Sent != 0 {
						t.Errorf("run while the dead invocation's lease lasts = %+v; want busy", ir)
					}
				}
				f.clock.Advance(tc.advance)

				ir = only(t, run(t, bg, d, tc.owner, false))
				if ir.Outcome != bulletinsend.Finished || ir.Uncertain != 1 || ir.Sent != n-first.Sent-1 {
					t.Errorf("resumed run's report %+v; want finished, 1 uncertain, %d sent", ir, n-first.Sent-1)
				}
				f.checkOnce(t, map[string]bool{queued[0].Email: true})
				f.checkProgress(t, bulletin.Progress{Recipients: n, Sent: n - 1, Uncertain: 1}, false)
			})
		})
	}
}

func TestDispatchSuppressedMidway(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		const n, stopAfter = 120, 40
		f := newFixture(t, db, table, n, sescapture.Options{MaxSendRate: 200})
		ir := f.runStopped(t, stopAfter)
		if ir.Outcome != bulletinsend.Continuing {
			t.Fatalf("stopped run's report %+v; want continuing", ir)
		}

		// Three of those still queued unsubscribe, bounce and complain before their turn.
		bg := context.Background()
		queued, _, err := f.store.QueuedRecipients(bg, issueID, "", 3)
		if err != nil || len(queued) != 3 {
			t.Fatalf("QueuedRecipients = %d, %v", len(queued), err)
		}
		sub, _, err := f.store.SubscriberByEmail(bg, queued[0].Email)
		if err != nil {
			t.Fatal(err)
		}
		if changed, err := f.store.Unsubscribe(bg, sub.ID, sub.UnsubscribeSecret, f.clock.Now()); err != nil || !changed {
			t.Fatalf("Unsubscribe = %v, %v", changed, err)
		}
		for i, st := range []bulletin.State{bulletin.Bounced, bulletin.Complained} {
			if changed, err := f.store.Suppress(bg, queued[i+1].Email, st, f.clock.Now()); err != nil || !changed {
				t.Fatalf("Suppress(%s) = %v, %v", st, changed, err)
			}
		}

		ir = only(t, run(t, bg, f.dispatcher(nil, nil), "req-next", false))
		if ir.Outcome != bulletinsend.Finished || ir.Suppressed != 3 {
			t.Errorf("resumed run's report %+v; want finished, 3 suppressed", ir)
		}
		f.checkOnce(t, map[string]bool{queued[0].Email: true, queued[1].Email: true, queued[2].Email: true})
		f.checkProgress(t, bulletin.Progress{Recipients: n, Sent: n - 3, Suppressed: 3}, false)
	})
}

// TestDispatchContinues stops one invocation on SES's daily quota and another on its
// deadline: each records its progress and releases the lease, and the next invocation
// finishes the issue.
func TestDispatchContinues(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		const n, daily = 150, 30
		f := newFixture(t, db, table, n, sescapture.Options{MaxSendRate: 20, Max24HourSend: daily})
		d := f.dispatcher(nil, nil)
		bg := context.Background()

		// The daily quota: 30 go, then SES refuses; the invocation stops and says why.
		rep, err := d.Run(bg, "req-1", true)
		if err == nil || !strings.Contains(err.Error(), "24-hour sending quota") {
			t.Errorf("Run with the daily quota used up = %v; want an error saying so", err)
		}
		ir := only(t, rep)
		if ir.Sent != daily || ir.Listed != n || ir.Throttled == 0 {
			t.Errorf("report %+v; want %d sent of %d listed, throttling seen", ir, daily, n)
		}
		f.checkProgress(t, bulletin.Progress{Recipients: n, Sent: daily, Remaining: n - daily}, false)
		if iss := f.issue(t); iss.Dispatch.LeaseOwner != "" {
			t.Errorf("lease held by %q after stopping; want released", iss.Dispatch.LeaseOwner)
		}

		// The deadline: an invocation with StopBefore and two seconds left sends for about
		// two seconds at 20 a second, then stops and releases.
		f.capture.SetLimits(20, 0)
		ctx, cancel := context.WithTimeout(bg, bulletinsend.StopBefore+2*time.Second)
		defer cancel()
		ir = only(t, run(t, ctx, d, "req-2", false))
		if ir.Outcome != bulletinsend.Continuing || ir.Sent >= n-daily {
			t.Errorf("report near the deadline %+v; want continuing, not all sent", ir)
		}
		p := f.checkProgress(t, bulletin.Progress{Recipients: n, Sent: daily + ir.Sent, Remaining: n - daily - ir.Sent}, false)
		if iss := f.issue(t); iss.Dispatch.LeaseOwner != "" || iss.Dispatch.State != bulletin.Sending {
			t.Errorf("dispatch %+v; want sending, lease released", iss.Dispatch)
		}

		// The next invocation takes over at once and finishes.
		f.capture.SetLimits(200, 0)
		ir = only(t, run(t, bg, d, "req-3", false))
		if ir.Outcome != bulletinsend.Finished || ir.Sent != p.Remaining {
			t.Errorf("last report %+v; want finished, %d sent", ir, p.Remaining)
		}
		f.checkOnce(t, nil)
		f.checkProgress(t, bulletin.Progress{Recipients: n, Sent: n}, false)
	})
}

// TestDispatchLeaseLost lets another invocation take the dispatch over while the first is
// sending (the first's lease ended as far as the store knows): the first stops without
// releasing what is no longer its own, and nobody is sent the issue twice.
func TestDispatchLeaseLost(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		const n, takeAt = 200, 30
		f := newFixture(t, db, table, n, sescapture.Options{MaxSendRate: 50})
		bg := context.Background()
		var once sync.Once
		took := make(chan error, 1)
		s := &counting{Sender: f.ses, after: func(k int64) {
			if k == takeAt {
				once.Do(func() {
					f.clock.Advance(bulletinsend.DefaultLease + time.Second)
					_, ok, err := f.store.BeginDispatch(bg, issueID, "req-thief", f.clock.Now(), bulletinsend.DefaultLease)
					if err == nil && !ok {
						err = errors.New("not taken")
					}
					took <- err
				})
			}
		}}
		ir := only(t, run(t, bg, f.dispatcher(s, nil), "req-first", true))
		if err := <-took; err != nil {
			t.Fatalf("BeginDispatch(req-thief) mid-run: %v", err)
		}
		if ir.Outcome != bulletinsend.LeaseLost {
			t.Errorf("first run's report %+v; want lease lost", ir)
		}
		if iss := f.issue(t); iss.Dispatch.LeaseOwner != "req-thief" {
			t.Errorf("lease owner %q; want req-thief's lease left alone", iss.Dispatch.LeaseOwner)
		}
		ir = only(t, run(t, bg, f.dispatcher(nil, nil), "req-thief", false))
		if ir.Outcome != bulletinsend.Finished {
			t.Errorf("second run's report %+v; want finished", ir)
		}
		p := f.checkProgress(t, f.issue(t).Dispatch.Progress, true)
		if p.Recipients != n || p.Sent+p.Uncertain != n {
			t.Errorf("progress %+v; want all %d sent or uncertain", p, n)
		}
		// Each recipient recorded as sent received the mail once; those in flight when the
		// thief took over are uncertain and received it once or not at all; nobody twice.
		got := f.received(t)
		status := map[string]bulletin.RecipientStatus{}
		rs, err := f.store.Recipients(bg, issueID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			status[r.SubscriberID] = r.Status
		}
		for _, addr := range f.emails {
			sub, _, err := f.store.SubscriberByEmail(bg, addr)
			if err != nil {
				t.Fatal(err)
			}
			switch st := status[sub.ID]; {
			case st == bulletin.Delivered && got[addr] != 1, st == bulletin.RecipientUncertain && got[addr] > 1:
				t.Errorf("%s, %s, received %d mails", addr, st, got[addr])
			case st != bulletin.Delivered && st != bulletin.RecipientUncertain:
				t.Errorf("%s is %s; want sent or uncertain", addr, st)
			}
		}
	})
}

func TestHandle(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		const n = 5
		f := newFixture(t, db, table, n, sescapture.Options{})
		d := f.dispatcher(nil, nil)
		lc := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-handle"})
		tests := []struct {
			name    string
			payload string
			sent    int
		}{
			{"the continuation starts nothing new", `{"continue": true}`, 0},
			{"the weekly schedule's event starts the due issue", `{"version":"0","detail-type":"Scheduled Event","source":"aws.scheduler","detail":"{}"}`, n},
			{"a manual {} after it sends nothing more", `{}`, 0},
		}
		for _, tc := range tests {
			rep, err := d.Handle(lc, json.RawMessage(tc.payload))
			sent := 0
			for _, ir := range rep.Issues {
				sent += ir.Sent
			}
			if err != nil || sent != tc.sent {
				t.Errorf("%s: Handle(%s) = %+v, %v; want %d sent", tc.name, tc.payload, rep, err, tc.sent)
			}
		}
		if _, err := d.Handle(lc, json.RawMessage(`"continue"`)); err == nil {
			t.Errorf("Handle of a JSON string = nil error; want one")
		}
		f.checkOnce(t, nil)
	})
}

func TestPreview(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table, 1, sescapture.Options{})
		d := &bulletinsend.Dispatcher{Store: f.store, Content: f.store, Renderer: bulletinmail.Renderer{From: sender, SiteURL: siteURL}, Now: f.clock.Now}
		iss := f.issue(t)
		rd, err := d.Preview(context.Background(), iss.Issue)
		if err != nil || rd.Subject != iss.Subject || !strings.Contains(rd.ArchiveHTML, "This week: funding news.") {
			t.Errorf("Preview = subject %q, %v; want the issue rendered", rd.Subject, err)
		}
		// Nothing stored, nothing started.
		if _, ok, err := f.store.RenderedIssue(context.Background(), issueID); ok || err != nil {
			t.Errorf("RenderedIssue after Preview = %v, %v; want none", ok, err)
		}
		if got := f.issue(t).Dispatch.State; got != bulletin.NotStarted {
			t.Errorf("dispatch state after Preview = %q; want not started", got)
		}
	})
}
