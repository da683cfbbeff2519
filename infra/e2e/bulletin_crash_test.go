package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"sectorhub/infra/localstack"
	"sectorhub/shared/bulletin"
)

// Figures of the crash test.
const (
	crashSubscribers = 2000
	crashRate        = 50  // the SES capture's MaxSendRate during the dispatch, per second
	crashAfter       = 300 // mails sent before the kill
	// crashRetryDelay is how long the stack waits before retrying the killed invocation: time
	// to count the recipients it left claimed before the retry marks them uncertain.
	crashRetryDelay = 3 * time.Second
	// crashSettle is how long after the kill the claimed recipients are counted.
	crashSettle = 500 * time.Millisecond
	// crashMaxInFlight bounds the sends in flight at any moment: the dispatch's workers at this
	// rate (ceil(rate × 0.2) + 2, as the design sizes them to cover SES's latency).
	crashMaxInFlight = (crashRate*2+9)/10 + 2
)

// TestBulletinDispatchCrash kills the dispatch's process (SIGKILL) part-way through an issue to
// 2,000 subscribers sent at 50 a second, as a crash would. The weekly schedule started it, an
// asynchronous invocation, so Lambda retries it under the same request ID: the retry takes the
// dispatch over at once, counts the recipients the dead process had claimed as uncertain, and
// sends to the rest. No address receives the issue twice; every recipient not uncertain
// receives it once; the uncertain are those in flight at the kill; the progress adds up.
func TestBulletinDispatchCrash(t *testing.T) {
	for name, endpoint := range targets(t) {
		t.Run(name, func(t *testing.T) { dispatchCrash(t, endpoint) })
	}
}

// dispatchCrash is TestBulletinDispatchCrash on one DynamoDB server.
func dispatchCrash(t *testing.T, endpoint string) {
	began := time.Now()
	reports := &reportList{}
	clock := localstack.NewManualClock(time.Now())
	bs := newBulletinStack(t, startScheduledStack(t, endpoint, reports, clock))
	bs.dispatch(t, `{}`) // the seed's ready issue, sent now, so that the crash's issue goes alone

	rows := make([]listRow, crashSubscribers)
	for i := range rows {
		rows[i] = listRow{fmt.Sprintf("crash.%04d@example.org", i), fmt.Sprintf("Reader %d", i), "Example Trust"}
	}
	checkImported(t, bs.importList(t, "crash", rows), crashSubscribers, bulletin.ImportCounts{Added: crashSubscribers})
	id := issueIDs(1)[0]
	subject := "Light Lunch crash test " + id
	bs.uploadIssue(t, id, subject)
	subscribed := bs.subscribed(t)
	emails := map[string]string{} // by subscriber ID
	for email, s := range subscribed {
		emails[s.ID] = email
	}

	bs.Outbox().SetLimits(crashRate, 0)
	base := bs.outboxTotal(t)
	weekly := bs.weeklySchedule(t)
	t.Logf("setup took %v; firing %s (%s) as at %s", time.Since(began).Round(100*time.Millisecond), weekly.EventID, weekly.Expression, weekly.Next.Format(time.RFC3339))
	sendBegan := time.Now()
	clock.Set(weekly.Next) // EventBridge Scheduler invokes the function, asynchronously

	for bs.outboxTotal(t)-base < crashAfter {
		if time.Since(sendBegan) > 2*time.Minute {
			t.Fatalf("%d mails in 2 minutes after the weekly schedule fired; want %d before the kill (did the dispatch start?)", bs.outboxTotal(t)-base, crashAfter)
		}
		time.Sleep(20 * time.Millisecond)
	}
	killed, err := bs.CrashBusy(dispatchFunction)
	if err != nil {
		t.Fatal(err)
	}
	sentAtKill := bs.outboxTotal(t) - base
	if len(killed) != 1 {
		t.Fatalf("CrashBusy(%s) ended %v; want the dispatch's one invocation", dispatchFunction, killed)
	}
	// A request the process sent just before it died may still be answered: let the
	// DynamoDB endpoint finish those, well within the retry's delay.
	time.Sleep(crashSettle)
	counting := time.Now()
	claimed := countStatus(t, bs, id)[bulletin.Claimed]
	if read := time.Since(counting); read > crashRetryDelay-crashSettle {
		t.Fatalf("reading the recipients took %v, longer than the retry's delay: the retry may have marked them before they were counted", read)
	}
	t.Logf("killed the dispatch %v after the schedule fired, %d mails sent; %d recipients claimed and not recorded (read in %v)",
		time.Since(sendBegan).Round(time.Millisecond), sentAtKill, claimed, time.Since(counting).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := bs.Drain(ctx); err != nil {
		t.Fatalf("waiting for the retry: %v", err)
	}
	si := bs.staffIssue(t, id)
	if si.Dispatch.State != string(bulletin.Finished) {
		// The retry may have stopped with its lease released, leaving the rest to the next
		// minute's continuation; run it by hand.
		t.Logf("after the retry the dispatch is %s, %+v; continuing", si.Dispatch.State, si.Dispatch.Progress)
		bs.dispatch(t, `{"continue": true}`)
		si = bs.staffIssue(t, id)
	}
	sendTook := time.Since(sendBegan)

	runs := reports.of(dispatchFunction, killed[0])
	if len(runs) != 2 || runs[0].ErrorType != "Runtime.ExitError" || runs[1].Status != "success" {
		t.Errorf("runs of request %s: %+v; want the crash (Runtime.ExitError), then one successful retry under the same request ID", killed[0], runs)
	}
	if f := bs.AsyncFailures(); f != 0 {
		t.Errorf("AsyncFailures = %d; want 0", f)
	}

	mails := bs.bySubject(t, subject, "id,subject,destinations")
	recipients, err := bs.store.Recipients(context.Background(), id)
	if err != nil {
		t.Fatalf("Recipients(%s): %v", id, err)
	}
	byStatus := map[bulletin.RecipientStatus]int{}
	uncertainMailed := 0
	for _, r := range recipients {
		byStatus[r.Status]++
		email, ok := emails[r.SubscriberID]
		if !ok {
			t.Errorf("a recipient (%s) that was not subscribed when the issue was uploaded", r.SubscriberID)
			continue
		}
		n := len(mails[email])
		switch {
		case r.Status == bulletin.Delivered && n != 1:
			t.Errorf("recipient %s is %s with %d mails; want exactly 1", r.SubscriberID, r.Status, n)
		case r.Status == bulletin.RecipientUncertain && n > 1:
			t.Errorf("recipient %s is %s with %d mails; want at most 1", r.SubscriberID, r.Status, n)
		case r.Status == bulletin.RecipientUncertain:
			uncertainMailed += n
		case r.Status != bulletin.Delivered && r.Status != bulletin.RecipientUncertain:
			t.Errorf("recipient %s is %s with %d mails; want it sent (or uncertain): no one unsubscribed and the capture refuses nothing for good", r.SubscriberID, r.Status, n)
		}
	}
	twice := 0
	for _, ms := range mails {
		if len(ms) > 1 {
			twice++
		}
	}
	if twice > 0 {
		t.Errorf("%d addresses received the issue more than once; want none", twice)
	}
	if len(recipients) != len(subscribed) || len(mails) > len(subscribed) {
		t.Errorf("%d recipients, %d addresses mailed; want the %d subscribed, each at most once", len(recipients), len(mails), len(subscribed))
	}
	if u := byStatus[bulletin.RecipientUncertain]; u != claimed || u > crashMaxInFlight {
		t.Errorf("%d recipients uncertain; want the %d claimed when the process was killed, at most %d (the sends in flight at %d/s)", u, claimed, crashMaxInFlight, crashRate)
	}

	p := si.Dispatch.Progress
	checkAddsUp(t, id, p)
	if si.Dispatch.State != string(bulletin.Finished) || p.Recipients != len(recipients) || p.Sent != byStatus[bulletin.Delivered] ||
		p.Uncertain != byStatus[bulletin.RecipientUncertain] || p.Remaining != 0 {
		t.Errorf("GET /staff/bulletins/%s: %s, %+v; want %s with the recipients by status, %v", id, si.Dispatch.State, p, bulletin.Finished, byStatus)
	}
	t.Logf("%d recipients: %d sent, %d uncertain (%d of them mailed before the kill), %d throttling errors retried; %d mails in %v (%.1f a second at %d allowed); %d DynamoDB requests in all",
		len(recipients), byStatus[bulletin.Delivered], byStatus[bulletin.RecipientUncertain], uncertainMailed, p.Throttled,
		len(mails), sendTook.Round(100*time.Millisecond), float64(len(mails))/sendTook.Seconds(), crashRate, bs.DynamoDBRequests())
	t.Logf("the crash test took %v", time.Since(began).Round(100*time.Millisecond))
}

// countStatus counts an issue's recipients by status, as the store holds them.
func countStatus(t *testing.T, bs *bulletinStack, id string) map[bulletin.RecipientStatus]int {
	t.Helper()
	rs, err := bs.store.Recipients(context.Background(), id)
	if err != nil {
		t.Fatalf("Recipients(%s): %v", id, err)
	}
	out := map[bulletin.RecipientStatus]int{}
	for _, r := range rs {
		out[r.Status]++
	}
	return out
}

// weeklySchedule is the dispatch's schedule without an Input (the weekly one, which starts due
// issues, not the continuation's), as the stack fires it.
func (bs *bulletinStack) weeklySchedule(t *testing.T) localstack.ScheduleInfo {
	t.Helper()
	for _, tr := range bs.Template().Triggers {
		if tr.FunctionID != dispatchFunction || !tr.Input.IsZero() {
			continue
		}
		i := slices.IndexFunc(bs.Schedules(), func(sc localstack.ScheduleInfo) bool {
			return sc.FunctionID == tr.FunctionID && sc.EventID == tr.EventID
		})
		if i >= 0 && !bs.Schedules()[i].Next.IsZero() {
			return bs.Schedules()[i]
		}
	}
	t.Fatalf("%s has no enabled schedule without an Input (the weekly dispatch) among %+v", dispatchFunction, bs.Schedules())
	return localstack.ScheduleInfo{}
}

// startScheduledStack is startStackReporting with the template's schedules fired on clock,
// and failed asynchronous invocations retried after crashRetryDelay.
func startScheduledStack(t *testing.T, endpoint string, reports *reportList, clock localstack.Clock) *localstack.Stack {
	t.Helper()
	return startStackReporting(t, endpoint, reports, func(o *localstack.Options) {
		o.AsyncRetryDelay, o.Schedules, o.Clock = crashRetryDelay, true, clock
	})
}
