package bulletinsend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/smithy-go"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/mail"
)

// Why a dispatch stops starting sends before its recipients are done.
var (
	// errDeadline: the invocation's deadline is less than StopBefore away.
	errDeadline = errors.New("the invocation's deadline is near")
	// errDailyQuota: SES refuses more mail today (its 24-hour quota).
	errDailyQuota = errors.New("SES's 24-hour sending quota is used up")
	// errSESUnavailable: SES refused every send of several passes with temporary errors.
	errSESUnavailable = errors.New("SES did not take any mail in several passes")
)

// Retries.
const (
	// throttleBackoff and maxThrottleBackoff pace retries after SES throttled a send: 100 ms,
	// doubling, at most 2 s, then the pacer's next turn.
	throttleBackoff    = 100 * time.Millisecond
	maxThrottleBackoff = 2 * time.Second
	// requeuePause is how long a worker pauses after SES refused a send with another
	// temporary error (the recipient is queued again for the next pass).
	requeuePause = time.Second
	// maxIdlePasses is how many passes in a row may send nothing, each ending with recipients
	// put back after temporary errors, before the invocation gives up; such passes are
	// 1 s, 2 s, 4 s, 8 s apart.
	maxIdlePasses = 5
)

// job is one invocation's work on one issue while it holds the lease.
type job struct {
	d     *Dispatcher
	id    string
	owner string
	rep   *IssueReport
	// rec is for records: it outlives the invocation's context, so that an outcome SES
	// gave is recorded even when the invocation is stopping.
	rec context.Context
	// work ends when sends must stop starting: the deadline is StopBefore away, the lease
	// is lost, SES's daily quota is used up, or the store failed (its cause says which).
	work context.Context
	stop context.CancelCauseFunc
	lost atomic.Bool // the lease is another invocation's

	rendered bulletin.Rendered
	pacer    *pacer
	base     bulletin.Progress // CountRecipients when sending began, Throttled as stored

	sent, suppressed, failed, requeued, throttled, unknown atomic.Int64
	claims                                                 atomic.Int64 // claims that found the recipient queued

	mu          sync.Mutex
	first, last time.Time // the starts of the first and last sends SES accepted
	sends       int
}

// dispatch attends to issue id as owner: it takes the lease, prepares the dispatch when it
// is Preparing, marks what a stopped invocation left claimed as uncertain, sends to the
// queued recipients at rate, and then finishes the dispatch, or records its progress and
// releases the lease for the next invocation. *rate is read from the quota the first time
// it is needed in a Run.
func (d *Dispatcher) dispatch(ctx context.Context, id, owner string, rate *float64) (IssueReport, error) {
	ir := IssueReport{ID: id}
	iss, ok, err := d.Store.BeginDispatch(ctx, id, owner, d.now(), d.lease())
	if err != nil {
		ir.Outcome = Failed
		return ir, fmt.Errorf("issue %s: begin dispatch: %w", id, err)
	}
	ir.Progress = iss.Dispatch.Progress
	if !ok {
		ir.Outcome = Busy
		return ir, nil
	}

	j := &job{d: d, id: id, owner: owner, rep: &ir, rec: context.WithoutCancel(ctx)}
	j.base.Throttled = iss.Dispatch.Progress.Throttled
	work := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		work, cancel = context.WithDeadlineCause(ctx, deadline.Add(-StopBefore), errDeadline)
		defer cancel()
	}
	j.work, j.stop = context.WithCancelCause(work)
	defer j.stop(nil)

	renewing := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		j.keepLease(renewing)
	}()
	err = j.run(iss, rate)
	close(renewing)
	<-renewed
	return j.end(err)
}

// run does the work of dispatch between taking the lease and ending: it returns the error
// that stopped it, if any, and records in j.rep how far it got.
func (j *job) run(iss bulletin.StoredIssue, rate *float64) error {
	d := j.d
	if *rate == 0 {
		r, err := d.rate(j.work)
		if err != nil {
			return err
		}
		*rate = r
	}
	j.rep.Rate = *rate
	switch iss.Dispatch.State {
	case bulletin.Preparing:
		if err := j.prepare(iss.Issue); err != nil {
			return err
		}
	case bulletin.Sending:
		// Whatever is claimed was claimed by an invocation that stopped before recording
		// it (or by this one's earlier attempt, which Lambda is retrying): it may have gone.
		n, err := d.Store.MarkUncertain(j.work, j.id, j.owner, d.now())
		j.rep.Uncertain += n
		if err != nil {
			return fmt.Errorf("mark uncertain: %w", err)
		}
		rd, ok, err := d.Store.RenderedIssue(j.work, j.id)
		if err != nil {
			return fmt.Errorf("rendered issue: %w", err)
		}
		if !ok {
			return errors.New("the issue is being sent but its rendered mail is missing")
		}
		j.rendered = rd
	default:
		return fmt.Errorf("the dispatch is %q, not preparing or sending", iss.Dispatch.State)
	}
	return j.send(*rate)
}

// prepare renders the issue, keeps the rendering, lists every subscribed subscriber as a
// queued recipient and starts sending. An invocation that stops half way leaves the
// dispatch Preparing; the next one renders and lists again from the top (nothing was sent).
func (j *job) prepare(iss bulletin.Issue) error {
	d := j.d
	rd, err := d.render(j.work, iss, d.now())
	if err != nil {
		return err
	}
	if err := d.Store.SaveRendered(j.work, j.id, j.owner, rd); err != nil {
		return fmt.Errorf("save rendered: %w", err)
	}
	j.rendered = rd
	n := 0
	cursor := ""
	for {
		subs, next, err := d.Store.SubscribedPage(j.work, cursor, pageSize)
		if err != nil {
			return fmt.Errorf("subscribers: %w", err)
		}
		if len(subs) > 0 {
			rs := make([]bulletin.Recipient, len(subs))
			for i, s := range subs {
				rs[i] = bulletin.Recipient{
					SubscriberID:     s.ID,
					Email:            s.Email,
					Name:             s.Name,
					UnsubscribeToken: bulletin.UnsubscribeToken(s),
					Status:           bulletin.Queued,
				}
			}
			if err := d.Store.AddRecipients(j.work, j.id, j.owner, rs); err != nil {
				return fmt.Errorf("add recipients: %w", err)
			}
			n += len(rs)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if err := d.Store.StartSending(j.work, j.id, j.owner, n); err != nil {
		return fmt.Errorf("start sending: %w", err)
	}
	j.rep.Listed = n
	return nil
}

// send sends to the queued recipients at rate with workers(rate) workers and one pacer, in
// passes: a pass offers every queued recipient to the workers; recipients put back after a
// temporary SES error are offered again by the next pass, after a pause. It returns when a
// pass claims nothing (the queue is empty), or when j.work ends, once every send in flight
// has been recorded.
func (j *job) send(rate float64) error {
	d := j.d
	base, err := d.Store.CountRecipients(j.work, j.id)
	if err != nil {
		return fmt.Errorf("count recipients: %w", err)
	}
	base.Throttled = j.base.Throttled
	j.base = base
	j.pacer = newPacer(rate)

	offered := make(chan bulletin.Recipient, pageSize) // a page ahead, so that reading the next one keeps nobody waiting
	var workersDone, pass sync.WaitGroup
	for range workers(rate) {
		workersDone.Go(func() {
			for r := range offered {
				j.attend(r)
				pass.Done()
			}
		})
	}
	progressing := make(chan struct{})
	progressed := make(chan struct{})
	go func() {
		defer close(progressed)
		j.recordProgress(progressing)
	}()
	defer func() {
		close(offered)
		workersDone.Wait()
		close(progressing)
		<-progressed
	}()

	idle := 0
	for {
		sentBefore, requeuedBefore, claimsBefore := j.sent.Load(), j.requeued.Load(), j.claims.Load()
		err := j.offer(offered, &pass)
		pass.Wait()
		if err != nil {
			return err
		}
		if j.work.Err() != nil || j.claims.Load() == claimsBefore {
			return nil
		}
		if j.requeued.Load() == requeuedBefore {
			continue // a pass that leaves nothing to retry: the next finds the queue empty
		}
		if j.sent.Load() > sentBefore {
			idle = 0
		} else if idle++; idle >= maxIdlePasses {
			j.stop(errSESUnavailable)
			return nil
		}
		if sleep(j.work, time.Duration(1<<idle)*time.Second/2) != nil { // ½ s after a pass that sent some
			return nil
		}
	}
}

// offer hands every queued recipient, page by page, to the workers, adding each to pass.
// It stops early when j.work ends.
func (j *job) offer(offered chan<- bulletin.Recipient, pass *sync.WaitGroup) error {
	cursor := ""
	for {
		rs, next, err := j.d.Store.QueuedRecipients(j.work, j.id, cursor, pageSize)
		if err != nil {
			if j.work.Err() != nil {
				return nil
			}
			return fmt.Errorf("queued recipients: %w", err)
		}
		for _, r := range rs {
			pass.Add(1)
			select {
			case offered <- r:
			case <-j.work.Done():
				pass.Done()
				return nil
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// attend sends r their mail, if it can claim them: claim, wait for the pacer's turn, send,
// record. Throttling is retried, after a pause, at a later turn; a recipient SES certainly
// did not take (a temporary error, or a stop before the send) is put back in the queue; one
// whose send got no answer stays claimed, to be marked uncertain.
func (j *job) attend(r bulletin.Recipient) {
	d := j.d
	// The send's turn comes before the claim: a recipient is claimed only when its mail is
	// about to go, so that a crash leaves uncertain only the sends in flight, not every
	// worker's recipient waiting for its turn (which was never sent).
	if j.pacer.wait(j.work) != nil {
		return // stopping: r stays queued
	}
	claim, cancel := context.WithTimeout(j.rec, recordTimeout)
	res, err := d.Store.ClaimRecipient(claim, j.id, j.owner, r, d.now())
	cancel()
	if err != nil {
		j.fail("claim recipient", err)
		return
	}
	switch res {
	case bulletin.ClaimTaken:
		return
	case bulletin.ClaimSuppressed:
		j.claims.Add(1)
		j.suppressed.Add(1)
		return
	}
	j.claims.Add(1)
	msg := d.Renderer.Personal(j.rendered, r)
	raw, err := mail.Build(msg, d.now())
	if err != nil {
		// An address the mail cannot be built for (an import that predates a check): it
		// was never sent, and never will be.
		j.record(r, bulletin.RecipientFailed, "", "unbuildable", &j.failed)
		return
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 && j.pacer.wait(j.work) != nil { // a retry after throttling waits its turn again
			j.unclaim(r)
			return
		}
		start := time.Now()
		send, cancel := context.WithTimeout(j.rec, SendTimeout)
		messageID, err := d.Sender.SendRaw(send, msg.From, []string{r.Email}, raw)
		cancel()
		code := mail.Code(err)
		switch {
		case err == nil:
			j.noteSend(start)
			j.record(r, bulletin.Delivered, messageID, "", &j.sent)
			return
		case code == "Throttling":
			j.throttled.Add(1)
			if dailyQuota(err) {
				j.unclaim(r)
				j.stop(errDailyQuota)
				return
			}
			if sleep(j.work, min(throttleBackoff<<attempt, maxThrottleBackoff)) != nil {
				j.unclaim(r)
				return
			}
		case mail.Permanent(err):
			j.record(r, bulletin.RecipientFailed, "", code, &j.failed)
			return
		case mail.Temporary(err):
			j.requeued.Add(1)
			j.unclaim(r)
			_ = sleep(j.work, requeuePause)
			return
		default:
			// No answer: SES may have taken it. It stays claimed and becomes uncertain.
			j.unknown.Add(1)
			return
		}
	}
}

// dailyQuota reports whether a throttling error is SES's 24-hour quota rather than its rate:
// retrying within seconds cannot help.
func dailyQuota(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && strings.Contains(strings.ToLower(apiErr.ErrorMessage()), "daily message quota")
}

// record records a claimed recipient's outcome and counts it in n. A recipient whose record
// fails stays claimed, so it is counted as unknown (it becomes uncertain), and the store's
// failure stops the invocation.
func (j *job) record(r bulletin.Recipient, status bulletin.RecipientStatus, messageID, code string, n *atomic.Int64) {
	ctx, cancel := context.WithTimeout(j.rec, recordTimeout)
	defer cancel()
	if err := j.d.Store.FinishRecipient(ctx, j.id, r.SubscriberID, status, messageID, code, j.d.now()); err != nil {
		j.unknown.Add(1)
		j.fail("record recipient", err)
		return
	}
	n.Add(1)
}

// unclaim puts back a claimed recipient whose mail was certainly not sent. If that fails it
// stays claimed, and becomes uncertain (never sent: the price of never sending twice).
func (j *job) unclaim(r bulletin.Recipient) {
	ctx, cancel := context.WithTimeout(j.rec, recordTimeout)
	defer cancel()
	if err := j.d.Store.UnclaimRecipient(ctx, j.id, r.SubscriberID); err != nil {
		j.fail("unclaim recipient", err)
	}
}

// fail stops the sending after the store refused or failed a write: the lease is lost when
// the store says so (another invocation took the dispatch over and marked this one's
// recipients uncertain), and otherwise the store is failing.
func (j *job) fail(what string, err error) {
	if errors.Is(err, bulletin.ErrLeaseLost) {
		j.lost.Store(true)
	}
	j.stop(fmt.Errorf("%s: %w", what, err))
}

// noteSend notes the start of a send SES accepted, for the achieved rate.
func (j *job) noteSend(start time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.sends == 0 || start.Before(j.first) {
		j.first = start
	}
	if start.After(j.last) {
		j.last = start
	}
	j.sends++
}

// progress is the dispatch's progress: the counts when sending began with this
// invocation's outcomes added.
func (j *job) progress() bulletin.Progress {
	p := j.base
	sent, suppressed, failed := int(j.sent.Load()), int(j.suppressed.Load()), int(j.failed.Load())
	p.Sent += sent
	p.Suppressed += suppressed
	p.Failed += failed
	p.Remaining = max(0, p.Remaining-sent-suppressed-failed)
	p.Throttled += int(j.throttled.Load())
	return p
}

// recordProgress records the progress every progressEvery until done is closed.
func (j *job) recordProgress(done <-chan struct{}) {
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(j.rec, recordTimeout)
		err := j.d.Store.SetProgress(ctx, j.id, j.owner, j.progress())
		cancel()
		switch {
		case errors.Is(err, bulletin.ErrLeaseLost):
			j.fail("record progress", err)
			return
		case err != nil:
			// The final record (end) will try again; a missed interim one only delays
			// what staff see.
			j.d.log().Warn("bulletin dispatch: record progress", "issue", j.id, "err", err.Error())
		}
	}
}

// keepLease renews the lease every quarter of it until done is closed. When the store says
// the lease is lost, or renewals have failed for half of it (the lease may end before the
// next one), it stops the sending.
func (j *job) keepLease(done <-chan struct{}) {
	lease := j.d.lease()
	t := time.NewTicker(lease / 4)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(j.rec, recordTimeout)
		err := j.d.Store.RenewDispatch(ctx, j.id, j.owner, j.d.now(), lease)
		cancel()
		switch {
		case err == nil:
			renewed = time.Now()
		case errors.Is(err, bulletin.ErrLeaseLost):
			j.fail("renew lease", err)
			return
		case time.Since(renewed) >= lease/2:
			j.stop(fmt.Errorf("renew lease: %w", err))
			return
		default:
			j.d.log().Warn("bulletin dispatch: renew lease", "issue", j.id, "err", err.Error())
		}
	}
}

// end ends the invocation's work on the issue, workers and renewals stopped, given the error
// that stopped run. Unless the lease was lost: whatever is still claimed got no answer (or
// no record) and is marked uncertain; then the dispatch is finished when no recipient is
// left, and otherwise its exact progress is recorded and the lease released for the next
// invocation. It fills in the report and returns the error to report, if any.
func (j *job) end(runErr error) (IssueReport, error) {
	d := j.d
	ir := j.rep
	ir.Sent, ir.Suppressed, ir.Failed = int(j.sent.Load()), int(j.suppressed.Load()), int(j.failed.Load())
	ir.Requeued, ir.Throttled, ir.Unknown = int(j.requeued.Load()), int(j.throttled.Load()), int(j.unknown.Load())
	j.mu.Lock()
	if j.sends >= 2 && j.last.After(j.first) {
		ir.AchievedRate = float64(j.sends-1) / j.last.Sub(j.first).Seconds()
	}
	j.mu.Unlock()

	cause := context.Cause(j.work)
	if j.lost.Load() || errors.Is(runErr, bulletin.ErrLeaseLost) {
		ir.Outcome = LeaseLost
		if j.pacer != nil {
			ir.Progress = j.progress()
		}
		return *ir, nil
	}
	// What stopped the work, if it is a failure rather than the deadline or the end of the
	// invocation: the store's or SES's.
	var stopErr error
	if runErr != nil && j.work.Err() == nil {
		stopErr = runErr
	} else if cause != nil && !errors.Is(cause, errDeadline) && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
		stopErr = cause
	}

	ctx, cancel := context.WithTimeout(j.rec, 3*recordTimeout)
	defer cancel()
	var errs []error
	if stopErr != nil {
		errs = append(errs, stopErr)
	}
	finished := false
	if j.pacer != nil { // sending began
		n, err := d.Store.MarkUncertain(ctx, j.id, j.owner, d.now())
		ir.Uncertain += n
		if err != nil {
			errs = append(errs, fmt.Errorf("mark uncertain: %w", err))
		}
		p, err := d.Store.CountRecipients(ctx, j.id)
		if err != nil {
			errs = append(errs, fmt.Errorf("count recipients: %w", err))
			p = j.progress()
		}
		p.Throttled = j.base.Throttled + ir.Throttled
		ir.Progress = p
		if err == nil && p.Remaining == 0 && len(errs) == 0 {
			if err := d.Store.FinishDispatch(ctx, j.id, j.owner, p, d.now()); err != nil {
				errs = append(errs, fmt.Errorf("finish dispatch: %w", err))
			} else {
				finished = true
			}
		} else if err := d.Store.SetProgress(ctx, j.id, j.owner, p); err != nil {
			errs = append(errs, fmt.Errorf("record progress: %w", err))
		}
	}
	if !finished {
		if err := d.Store.ReleaseDispatch(ctx, j.id, j.owner); err != nil {
			errs = append(errs, fmt.Errorf("release dispatch: %w", err))
		}
	}
	switch err := errors.Join(errs...); {
	case errors.Is(err, bulletin.ErrLeaseLost):
		// Taken over while ending (the store refused the final writes): the other
		// invocation carries on.
		ir.Outcome = LeaseLost
	case err != nil:
		ir.Outcome = Failed
		return *ir, fmt.Errorf("issue %s: %w", j.id, err)
	case finished:
		ir.Outcome = Finished
	default:
		ir.Outcome = Continuing
	}
	return *ir, nil
}
