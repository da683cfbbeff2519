package mail_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"sectorhub/shared/mail"
)

// memOutbox is mail.Outbox's state machine over a map, for the delivery logic's tests (the
// DynamoDB store has the same tests against real servers in shared/dynamo).
type memOutbox struct {
	mu     sync.Mutex
	mails  map[string]mail.Mail
	claims int
}

func newMemOutbox() *memOutbox { return &memOutbox{mails: map[string]mail.Mail{}} }

func (o *memOutbox) PutMail(_ context.Context, m mail.Mail, now time.Time) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.mails[m.ID]; ok {
		return false, nil
	}
	m.Status, m.CreatedAt, m.NextAttemptAt = mail.Pending, now, now
	o.mails[m.ID] = m
	return true, nil
}

func (o *memOutbox) ClaimMail(_ context.Context, id string, now time.Time, lease time.Duration) (mail.Mail, bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m, ok := o.mails[id]
	if !ok || m.Status != mail.Pending || m.NextAttemptAt.After(now) {
		return mail.Mail{}, false, nil
	}
	m.Status, m.LeaseUntil = mail.Sending, now.Add(lease)
	o.mails[id] = m
	o.claims++
	return m, true, nil
}

// change applies f to the mail with id if its status is one of from.
func (o *memOutbox) change(id string, from []string, f func(m *mail.Mail)) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	m, ok := o.mails[id]
	if !ok || !slices.Contains(from, m.Status) {
		return mail.ErrStale
	}
	f(&m)
	o.mails[id] = m
	return nil
}

func (o *memOutbox) MarkMailSent(_ context.Context, m mail.Mail, messageID string, now time.Time) error {
	return o.change(m.ID, []string{mail.Sending, mail.Uncertain}, func(m *mail.Mail) {
		m.Status, m.MessageID, m.SentAt, m.Raw, m.To = mail.Sent, messageID, now, nil, nil
	})
}

func (o *memOutbox) RetryMail(_ context.Context, m mail.Mail, at time.Time, code string) error {
	return o.change(m.ID, []string{mail.Sending}, func(m *mail.Mail) {
		m.Status, m.Attempts, m.NextAttemptAt, m.LastError, m.LeaseUntil = mail.Pending, m.Attempts+1, at, code, time.Time{}
	})
}

func (o *memOutbox) FailMail(_ context.Context, m mail.Mail, code string, now time.Time) error {
	return o.change(m.ID, []string{mail.Sending}, func(m *mail.Mail) {
		m.Status, m.Attempts, m.LastError, m.FailedAt, m.Raw, m.To = mail.Failed, m.Attempts+1, code, now, nil, nil
	})
}

func (o *memOutbox) MarkMailUncertain(_ context.Context, id string, now time.Time) error {
	o.mu.Lock()
	m, ok := o.mails[id]
	o.mu.Unlock()
	if !ok || !m.LeaseUntil.Before(now) {
		return mail.ErrStale
	}
	return o.change(id, []string{mail.Sending}, func(m *mail.Mail) { m.Status, m.Raw, m.To = mail.Uncertain, nil, nil })
}

func (o *memOutbox) DueMail(_ context.Context, now time.Time, limit int) ([]mail.Mail, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	due := func(m mail.Mail) (time.Time, bool) {
		switch m.Status {
		case mail.Pending:
			return m.NextAttemptAt, !m.NextAttemptAt.After(now)
		case mail.Sending:
			return m.LeaseUntil, !m.LeaseUntil.After(now)
		}
		return time.Time{}, false
	}
	var out []mail.Mail
	for _, m := range o.mails {
		if _, ok := due(m); ok {
			m.Raw, m.To = nil, nil
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b mail.Mail) int {
		ta, _ := due(a)
		tb, _ := due(b)
		if c := ta.Compare(tb); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out[:min(limit, len(out))], nil
}

func (o *memOutbox) get(tb testing.TB, id string) mail.Mail {
	tb.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	m, ok := o.mails[id]
	if !ok {
		tb.Fatalf("no mail %s", id)
	}
	return m
}

// fakeSender answers every SendRaw with err (nil: success), recording what it was given.
type fakeSender struct {
	mu    sync.Mutex
	err   error
	sends []fakeSend
	// during, if set, runs inside SendRaw with SendRaw's context (to cancel the caller's
	// context, say, or to look at SendRaw's).
	during func(ctx context.Context)
}

type fakeSend struct {
	from string
	to   []string
	raw  []byte
	at   time.Time
}

func (s *fakeSender) SendRaw(ctx context.Context, from string, to []string, raw []byte) (string, error) {
	if s.during != nil {
		s.during(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sends = append(s.sends, fakeSend{from, to, raw, time.Now()})
	if s.err != nil {
		return "", s.err
	}
	return fmt.Sprintf("ses-%d", len(s.sends)), nil
}

func (s *fakeSender) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sends)
}

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func testMail(id string) mail.Mail {
	return mail.Mail{
		ID: id, Kind: "test", From: "events@sectorhub.example.org", To: []string{"reader@example.org"},
		Raw: []byte("From: events@sectorhub.example.org\r\n\r\nhello\r\n"),
	}
}

func apiError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "reader@example.org: " + code}
}

func httpError(status int) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      errors.New("not XML"),
	}}
}

func TestDeliverOutcomes(t *testing.T) {
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	tests := []struct {
		name       string
		sendErr    error
		attempts   int    // failed attempts before this one
		wantStatus string // after Deliver
		wantErr    error  // errors.Is
		wantCode   string
		wantDue    time.Duration // next attempt after t0, for a retry
	}{
		{"sent", nil, 0, mail.Sent, nil, "", 0},
		{"throttled", apiError("Throttling"), 0, mail.Pending, mail.ErrRetryLater, "Throttling", time.Minute},
		{"throttled, third time", apiError("Throttling"), 2, mail.Pending, mail.ErrRetryLater, "Throttling", 4 * time.Minute},
		{"service unavailable, eighth time: capped at an hour", apiError("ServiceUnavailable"), 7, mail.Pending, mail.ErrRetryLater, "ServiceUnavailable", time.Hour},
		{"internal failure", apiError("InternalFailure"), 0, mail.Pending, mail.ErrRetryLater, "InternalFailure", time.Minute},
		{"configuration set missing: the operator's to fix", apiError("ConfigurationSetDoesNotExist"), 0, mail.Pending, mail.ErrRetryLater, "ConfigurationSetDoesNotExist", time.Minute},
		{"MAIL FROM domain not verified", apiError("MailFromDomainNotVerifiedException"), 0, mail.Pending, mail.ErrRetryLater, "MailFromDomainNotVerifiedException", time.Minute},
		{"account paused", apiError("AccountSendingPausedException"), 0, mail.Pending, mail.ErrRetryLater, "AccountSendingPausedException", time.Minute},
		{"access denied", apiError("AccessDenied"), 0, mail.Pending, mail.ErrRetryLater, "AccessDenied", time.Minute},
		{"502 without an error code", httpError(502), 0, mail.Pending, mail.ErrRetryLater, "http_502", time.Minute},
		{"connection refused", fmt.Errorf("operation error SES: SendRawEmail: %w", dialErr), 0, mail.Pending, mail.ErrRetryLater, "dial", time.Minute},
		{"name not resolved", &net.DNSError{Err: "no such host", Name: "email.eu-west-2.amazonaws.com"}, 0, mail.Pending, mail.ErrRetryLater, "dial", time.Minute},
		{"throttled for the twelfth time: fails", apiError("Throttling"), mail.MaxAttempts - 1, mail.Failed, mail.ErrRejected, "Throttling", 0},
		{"message rejected", apiError("MessageRejected"), 0, mail.Failed, mail.ErrRejected, "MessageRejected", 0},
		{"invalid address", apiError("InvalidParameterValue"), 3, mail.Failed, mail.ErrRejected, "InvalidParameterValue", 0},
		{"connection reset after the request was written", fmt.Errorf("send: %w", io.ErrUnexpectedEOF), 0, mail.Sending, mail.ErrOutcomeUnknown, "", 0},
		{"timed out waiting for the answer", context.DeadlineExceeded, 0, mail.Sending, mail.ErrOutcomeUnknown, "", 0},
		{"200 with a body that did not parse", httpError(200), 0, mail.Sending, mail.ErrOutcomeUnknown, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ob := newMemOutbox()
			m := testMail("m1")
			if _, err := ob.PutMail(context.Background(), m, t0); err != nil {
				t.Fatal(err)
			}
			ob.mails["m1"] = func() mail.Mail { x := ob.mails["m1"]; x.Attempts = tc.attempts; return x }()
			s := &fakeSender{err: tc.sendErr}

			err := mail.Deliver(context.Background(), ob, s, "m1", t0)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Deliver with SES answering %v = %v; want %v", tc.sendErr, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "reader@") {
				t.Errorf("Deliver's error %q quotes an address", err)
			}
			if s.count() != 1 || s.sends[0].from != m.From || !slices.Equal(s.sends[0].to, m.To) || string(s.sends[0].raw) != string(m.Raw) {
				t.Fatalf("SES got %d sends %+v; want one of the mail", s.count(), s.sends)
			}
			got := ob.get(t, "m1")
			if got.Status != tc.wantStatus || got.LastError != tc.wantCode {
				t.Errorf("after Deliver: status %s, last error %q; want %s, %q", got.Status, got.LastError, tc.wantStatus, tc.wantCode)
			}
			switch tc.wantStatus {
			case mail.Pending:
				if !got.NextAttemptAt.Equal(t0.Add(tc.wantDue)) || got.Attempts != tc.attempts+1 {
					t.Errorf("retry: next attempt %v, attempts %d; want %v, %d", got.NextAttemptAt, got.Attempts, t0.Add(tc.wantDue), tc.attempts+1)
				}
			case mail.Sent:
				if got.MessageID != "ses-1" || !got.SentAt.Equal(t0) {
					t.Errorf("sent: message ID %q at %v; want ses-1 at %v", got.MessageID, got.SentAt, t0)
				}
			case mail.Sending:
				// No answer: not given back, so not sent again; the lease runs out (Sweep).
				if !got.LeaseUntil.Equal(t0.Add(mail.Lease)) {
					t.Errorf("unknown outcome: lease until %v; want %v", got.LeaseUntil, t0.Add(mail.Lease))
				}
				if err := mail.Deliver(context.Background(), ob, s, "m1", t0.Add(time.Hour)); err != nil || s.count() != 1 {
					t.Errorf("Deliver again an hour later = %v with %d sends; want nil and still 1", err, s.count())
				}
			}
		})
	}
}

func TestRetryDelay(t *testing.T) {
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour, time.Hour, time.Hour, time.Hour}
	var total time.Duration
	for i, w := range want {
		if got := mail.RetryDelay(i + 1); got != w {
			t.Errorf("RetryDelay(%d) = %v; want %v", i+1, got, w)
		}
		total += w
	}
	if got := mail.RetryDelay(1000); got != time.Hour {
		t.Errorf("RetryDelay(1000) = %v; want 1h", got)
	}
	// With MaxAttempts 12, a mail is retried for 6h03m before it fails.
	if len(want) != mail.MaxAttempts-1 || total != 6*time.Hour+3*time.Minute {
		t.Errorf("%d retries over %v; want %d over 6h3m", len(want), total, mail.MaxAttempts-1)
	}
}

func TestDeliverSendsOnlyWhatItClaims(t *testing.T) {
	tests := []struct {
		name   string
		status string
		due    time.Time
	}{
		{"not due yet", mail.Pending, t0.Add(time.Minute)},
		{"claimed by another sender", mail.Sending, t0},
		{"sent", mail.Sent, t0},
		{"failed", mail.Failed, t0},
		{"uncertain", mail.Uncertain, t0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ob := newMemOutbox()
			m := testMail("m1")
			m.Status, m.NextAttemptAt, m.LeaseUntil = tc.status, tc.due, t0.Add(time.Minute)
			ob.mails["m1"] = m
			s := &fakeSender{}
			if err := mail.Deliver(context.Background(), ob, s, "m1", t0); err != nil {
				t.Errorf("Deliver = %v; want nil (nothing to do)", err)
			}
			if s.count() != 0 || ob.get(t, "m1").Status != tc.status {
				t.Errorf("Deliver sent %d and left status %s; want 0 sends and %s", s.count(), ob.get(t, "m1").Status, tc.status)
			}
		})
	}
	t.Run("unknown mail", func(t *testing.T) {
		s := &fakeSender{}
		if err := mail.Deliver(context.Background(), newMemOutbox(), s, "nope", t0); err != nil || s.count() != 0 {
			t.Errorf("Deliver(unknown) = %v with %d sends; want nil and none", err, s.count())
		}
	})
}

func TestDeliverRecordsAfterContextEnds(t *testing.T) {
	ob := newMemOutbox()
	if _, err := ob.PutMail(context.Background(), testMail("m1"), t0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var sendErr error
	s := &fakeSender{during: func(send context.Context) {
		cancel() // the caller gives up while SES is accepting the mail
		sendErr = send.Err()
	}}
	if err := mail.Deliver(ctx, ob, s, "m1", t0); err != nil {
		t.Fatalf("Deliver = %v; want nil", err)
	}
	if sendErr != nil {
		t.Errorf("the SES call's context ended (%v) with the caller's; want it to go on (its own timeout)", sendErr)
	}
	if got := ob.get(t, "m1"); got.Status != mail.Sent {
		t.Errorf("status = %s; want sent (recorded although the caller's context ended)", got.Status)
	}
}

// TestDeliverNeedsTimeToSend: Deliver claims a mail only when its context leaves the time to
// send it (InlineSendTimeout) and record the outcome (2 s); otherwise it leaves it pending,
// untouched, for the sweep.
func TestDeliverNeedsTimeToSend(t *testing.T) {
	tests := []struct {
		name       string
		deadline   time.Duration // from now; 0 for none
		wantStatus string
	}{
		{"no deadline (tests, scripts)", 0, mail.Sent},
		{"a booking request: 9.9 s of its 10 s left", 9900 * time.Millisecond, mail.Sent},
		{"time to send and record", mail.InlineSendTimeout + 3*time.Second, mail.Sent},
		{"time to send but not to record", mail.InlineSendTimeout + time.Second, mail.Pending},
		{"less than the send's timeout", mail.InlineSendTimeout - time.Second, mail.Pending},
		{"deadline passed", -time.Second, mail.Pending},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ob := newMemOutbox()
			if _, err := ob.PutMail(context.Background(), testMail("m1"), t0); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tc.deadline != 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, time.Now().Add(tc.deadline))
				defer cancel()
			}
			s := &fakeSender{}
			if err := mail.Deliver(ctx, ob, s, "m1", t0); err != nil {
				t.Fatalf("Deliver with the deadline %v away = %v; want nil", tc.deadline, err)
			}
			got := ob.get(t, "m1")
			if got.Status != tc.wantStatus {
				t.Errorf("Deliver with the deadline %v away left the mail %s; want %s", tc.deadline, got.Status, tc.wantStatus)
			}
			if tc.wantStatus == mail.Pending && (s.count() != 0 || ob.claims != 0 || got.Attempts != 0 || !got.NextAttemptAt.Equal(t0)) {
				t.Errorf("%d sends, %d claims, attempts %d, due %v; want the mail untouched, due at once", s.count(), ob.claims, got.Attempts, got.NextAttemptAt)
			}
		})
	}
}

// TestSendTimeouts: the SES call gets a context of its own, InlineSendTimeout from Deliver
// and SweepSendTimeout from Sweep, well inside the lease (a claimed mail is recorded by its
// sender, not found by a sweep after its lease).
func TestSendTimeouts(t *testing.T) {
	if mail.InlineSendTimeout >= mail.SweepSendTimeout || mail.SweepSendTimeout+2*time.Second > mail.Lease/4 {
		t.Errorf("InlineSendTimeout %v, SweepSendTimeout %v, Lease %v; want inline < sweep, and sweep + 2 s well inside the lease",
			mail.InlineSendTimeout, mail.SweepSendTimeout, mail.Lease)
	}
	tests := []struct {
		name string
		send func(ctx context.Context, ob mail.Outbox, s mail.Sender) error
		want time.Duration
	}{
		{"Deliver", func(ctx context.Context, ob mail.Outbox, s mail.Sender) error {
			return mail.Deliver(ctx, ob, s, "m1", t0)
		}, mail.InlineSendTimeout},
		{"Sweep", func(ctx context.Context, ob mail.Outbox, s mail.Sender) error {
			_, err := mail.Sweep(ctx, ob, s, mail.SweepOptions{Rate: 1000, Now: func() time.Time { return t0 }})
			return err
		}, mail.SweepSendTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ob := newMemOutbox()
			if _, err := ob.PutMail(context.Background(), testMail("m1"), t0); err != nil {
				t.Fatal(err)
			}
			var deadline time.Time
			var hasDeadline bool
			s := &fakeSender{during: func(ctx context.Context) { deadline, hasDeadline = ctx.Deadline() }}
			before := time.Now()
			if err := tc.send(context.Background(), ob, s); err != nil {
				t.Fatalf("%s = %v; want nil", tc.name, err)
			}
			after := time.Now()
			if !hasDeadline || deadline.Before(before.Add(tc.want)) || deadline.After(after.Add(tc.want)) {
				t.Errorf("%s: the SES call's deadline %v (set: %v); want %v after the call began", tc.name, deadline, hasDeadline, tc.want)
			}
		})
	}
}

func TestDeliverGivesBackWhenCancelledBeforeSending(t *testing.T) {
	ob := newMemOutbox()
	if _, err := ob.PutMail(context.Background(), testMail("m1"), t0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &fakeSender{}
	if err := mail.Deliver(ctx, ob, s, "m1", t0); !errors.Is(err, mail.ErrRetryLater) {
		t.Fatalf("Deliver(cancelled) = %v; want ErrRetryLater", err)
	}
	if got := ob.get(t, "m1"); s.count() != 0 || got.Status != mail.Pending || !got.NextAttemptAt.Equal(t0) {
		t.Errorf("%d sends, status %s due %v; want none, pending due at once", s.count(), got.Status, got.NextAttemptAt)
	}
}

func TestDeliverFailsIncompleteMail(t *testing.T) {
	ob := newMemOutbox()
	m := testMail("m1")
	m.Raw = nil
	if _, err := ob.PutMail(context.Background(), m, t0); err != nil {
		t.Fatal(err)
	}
	s := &fakeSender{}
	if err := mail.Deliver(context.Background(), ob, s, "m1", t0); !errors.Is(err, mail.ErrRejected) {
		t.Fatalf("Deliver(no body) = %v; want ErrRejected", err)
	}
	if got := ob.get(t, "m1"); s.count() != 0 || got.Status != mail.Failed {
		t.Errorf("%d sends, status %s; want none, failed", s.count(), got.Status)
	}
}

func TestSweep(t *testing.T) {
	ob := newMemOutbox()
	put := func(id string, status string, due, lease time.Time) {
		m := testMail(id)
		m.Status, m.NextAttemptAt, m.LeaseUntil, m.CreatedAt = status, due, lease, due
		ob.mails[id] = m
	}
	now := t0.Add(10 * time.Minute)
	for i := range 5 {
		put(fmt.Sprintf("due-%d", i), mail.Pending, t0.Add(time.Duration(i)*time.Minute), time.Time{})
	}
	put("later", mail.Pending, now.Add(time.Second), time.Time{})
	put("lease-over", mail.Sending, t0, now.Add(-time.Second))
	put("lease-running", mail.Sending, t0, now.Add(time.Second))
	put("sent", mail.Sent, t0, time.Time{})

	s := &fakeSender{}
	rep, err := mail.Sweep(context.Background(), ob, s, mail.SweepOptions{Rate: 1000, Now: func() time.Time { return now }, Limit: 2})
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if want := (mail.SweepReport{Sent: 5, Uncertain: 1}); rep != want {
		t.Errorf("Sweep = %+v; want %+v", rep, want)
	}
	want := map[string]string{
		"due-0": mail.Sent, "due-1": mail.Sent, "due-2": mail.Sent, "due-3": mail.Sent, "due-4": mail.Sent,
		"later": mail.Pending, "lease-over": mail.Uncertain, "lease-running": mail.Sending, "sent": mail.Sent,
	}
	for id, status := range want {
		if got := ob.get(t, id).Status; got != status {
			t.Errorf("%s: status %s; want %s", id, got, status)
		}
	}
	if s.count() != 5 {
		t.Errorf("SES got %d sends; want 5 (the due ones only, each once)", s.count())
	}

	// The next sweep finds nothing to do.
	rep, err = mail.Sweep(context.Background(), ob, s, mail.SweepOptions{Rate: 1000, Now: func() time.Time { return now }})
	if err != nil || rep != (mail.SweepReport{}) || s.count() != 5 {
		t.Errorf("second Sweep = %+v, %v with %d sends in all; want nothing done", rep, err, s.count())
	}
}

func TestSweepCountsOutcomes(t *testing.T) {
	ob := newMemOutbox()
	for i := range 3 {
		if _, err := ob.PutMail(context.Background(), testMail(fmt.Sprint("m", i)), t0); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		sendErr error
		want    mail.SweepReport
	}{
		{apiError("Throttling"), mail.SweepReport{Retried: 3}},
		{io.ErrUnexpectedEOF, mail.SweepReport{Unknown: 3}},
	}
	now := t0
	for _, tc := range tests {
		now = now.Add(time.Minute)
		rep, err := mail.Sweep(context.Background(), ob, &fakeSender{err: tc.sendErr}, mail.SweepOptions{Rate: 1000, Now: func() time.Time { return now }})
		if err != nil || rep != tc.want {
			t.Errorf("Sweep with SES answering %v = %+v, %v; want %+v", tc.sendErr, rep, err, tc.want)
		}
	}
	// The three claimed without an answer become uncertain once their lease is over.
	now = now.Add(mail.Lease + time.Nanosecond)
	s := &fakeSender{}
	rep, err := mail.Sweep(context.Background(), ob, s, mail.SweepOptions{Rate: 1000, Now: func() time.Time { return now }})
	if want := (mail.SweepReport{Uncertain: 3}); err != nil || rep != want || s.count() != 0 {
		t.Errorf("Sweep after the leases = %+v, %v with %d sends; want %+v and none", rep, err, s.count(), want)
	}
}

func TestSweepPaces(t *testing.T) {
	const n, rate = 6, 10.0 // one send every 100 ms
	ob := newMemOutbox()
	for i := range n {
		if _, err := ob.PutMail(context.Background(), testMail(fmt.Sprint("m", i)), t0); err != nil {
			t.Fatal(err)
		}
	}
	s := &fakeSender{}
	rep, err := mail.Sweep(context.Background(), ob, s, mail.SweepOptions{Rate: rate, Now: func() time.Time { return t0 }})
	if err != nil || rep.Sent != n {
		t.Fatalf("Sweep = %+v, %v; want %d sent", rep, err, n)
	}
	// Starts are at least 100 ms apart; the sends follow each start within microseconds, so
	// the first and last send are at least (n-2) intervals apart whatever the scheduler does.
	if span := s.sends[n-1].at.Sub(s.sends[0].at); span < (n-2)*time.Second/rate {
		t.Errorf("%d sends at %v a second took %v; want at least %v", n, rate, span, (n-2)*time.Second/rate)
	}
}

func TestSweepStopsBeforeDeadline(t *testing.T) {
	tests := []struct {
		name     string
		deadline time.Duration
		want     int // mails sent
	}{
		// At one mail a second, each send needs SweepSendTimeout + 2 s left after its pause:
		// 900 ms over that leaves time for the first only (the second would start a second
		// later).
		{"time for one", mail.SweepSendTimeout + 2*time.Second + 900*time.Millisecond, 1},
		{"time to record but not to send", mail.SweepSendTimeout + time.Second, 0},
		{"under two seconds", 1500 * time.Millisecond, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ob := newMemOutbox()
			for i := range 10 {
				if _, err := ob.PutMail(context.Background(), testMail(fmt.Sprint("m", i)), t0); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
			defer cancel()
			s := &fakeSender{}
			rep, err := mail.Sweep(ctx, ob, s, mail.SweepOptions{Rate: 1, Now: func() time.Time { return t0 }})
			if err != nil {
				t.Fatalf("Sweep = %v; want nil (a clean stop)", err)
			}
			if ctx.Err() != nil {
				t.Errorf("Sweep returned after the deadline; want before it")
			}
			if rep.Sent != tc.want || s.count() != tc.want || ob.claims != tc.want {
				t.Errorf("Sweep = %+v with %d sends and %d claims; want %d of each", rep, s.count(), ob.claims, tc.want)
			}
			for id, m := range ob.mails {
				if m.Status != mail.Pending && m.Status != mail.Sent {
					t.Errorf("%s left %s; want pending or sent (nothing claimed and left)", id, m.Status)
				}
			}
		})
	}
}

func TestStampCheck(t *testing.T) {
	tests := []struct {
		stamp mail.Stamp
		ok    bool
	}{
		{mail.Stamp{PK: "EVENT#1", SK: "B#2", Kind: "confirmation"}, true},
		{mail.Stamp{PK: "EVENT#1", SK: "B#2", Kind: "event-cancelled"}, true},
		{mail.Stamp{PK: "EVENT#1", SK: "B#2", Kind: "a.b"}, false},
		{mail.Stamp{PK: "EVENT#1", SK: "B#2", Kind: "Confirmation"}, false},
		{mail.Stamp{PK: "EVENT#1", SK: "B#2", Kind: ""}, false},
		{mail.Stamp{PK: "EVENT#1", SK: "B#2", Kind: strings.Repeat("a", 65)}, false},
		{mail.Stamp{PK: "", SK: "B#2", Kind: "confirmation"}, false},
	}
	for _, tc := range tests {
		if err := tc.stamp.Check(); (err == nil) != tc.ok {
			t.Errorf("%+v.Check() = %v; want ok %v", tc.stamp, err, tc.ok)
		}
	}
}

func TestMaxRate(t *testing.T) {
	tests := []struct {
		value   string
		want    float64
		wantErr bool
	}{
		{"", mail.DefaultMaxRate, false},
		{"14", 14, false},
		{" 0.5 ", 0.5, false},
		{"0", 0, true},
		{"-1", 0, true},
		{"fast", 0, true},
		{"NaN", 0, true},
		{"Inf", 0, true},
	}
	for _, tc := range tests {
		got, err := mail.MaxRate(func(k string) string {
			if k == "MAIL_MAX_RATE" {
				return tc.value
			}
			return ""
		})
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("MaxRate(MAIL_MAX_RATE=%q) = %v, %v; want %v, error %v", tc.value, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "MAIL_MAX_RATE") {
			t.Errorf("MaxRate(MAIL_MAX_RATE=%q) error %q does not name the variable", tc.value, err)
		}
	}
}
