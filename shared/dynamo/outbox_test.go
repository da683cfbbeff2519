package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"sectorhub/infra/testenv"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/mail"
)

var mailT0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

const mailSource = "events@sectorhub.example.org"

// outboxMail returns a mail with a real message from mailSource to to.
func outboxMail(tb testing.TB, id string, to ...string) mail.Mail {
	tb.Helper()
	if len(to) == 0 {
		to = []string{"reader@example.org"}
	}
	raw, err := mail.Build(mail.Message{
		From: "Events <" + mailSource + ">", To: to, Subject: "Booked: " + id,
		Text: "Your place is booked.", HTML: "<p>Your place is booked.</p>",
	}, mailT0)
	if err != nil {
		// An address Build refuses still makes a mail, for SES to refuse.
		raw = []byte("From: " + mailSource + "\r\nSubject: " + id + "\r\n\r\nhello\r\n")
	}
	return mail.Mail{ID: id, Kind: "test", From: mailSource, To: to, Raw: raw}
}

// rawMail returns the mail's item as stored.
func rawMail(tb testing.TB, db *dynamodb.Client, table, id string) map[string]types.AttributeValue {
	tb.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "MAIL#" + id}, "sk": &types.AttributeValueMemberS{Value: "MAIL"}},
	})
	if err != nil {
		tb.Fatalf("GetItem MAIL#%s: %v", id, err)
	}
	return out.Item
}

func mustMail(tb testing.TB, st *dynamo.Store, id string) mail.Mail {
	tb.Helper()
	m, ok, err := st.MailByID(context.Background(), id)
	if err != nil || !ok {
		tb.Fatalf("MailByID(%s) = %v, %v", id, ok, err)
	}
	return m
}

func dueIDs(tb testing.TB, st *dynamo.Store, now time.Time, limit int) []string {
	tb.Helper()
	due, err := st.DueMail(context.Background(), now, limit)
	if err != nil {
		tb.Fatalf("DueMail(%v): %v", now, err)
	}
	ids := []string{}
	for _, m := range due {
		if m.Raw != nil || m.To != nil {
			tb.Errorf("DueMail returned %s with its body or recipients", m.ID)
		}
		ids = append(ids, m.ID+":"+m.Status)
	}
	return ids
}

func TestOutboxLifecycle(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		booking := map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "EVENT#e1"}, "sk": &types.AttributeValueMemberS{Value: "B#b1"},
			"status": &types.AttributeValueMemberS{Value: "confirmed"},
		}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: booking}); err != nil {
			t.Fatal(err)
		}
		m := outboxMail(t, "confirmation-b1")
		m.Stamp = &mail.Stamp{PK: "EVENT#e1", SK: "B#b1", Kind: "confirmation"}

		if created, err := st.PutMail(ctx, m, mailT0); err != nil || !created {
			t.Fatalf("PutMail = %v, %v; want created", created, err)
		}
		again := m
		again.Raw = []byte("a different body")
		if created, err := st.PutMail(ctx, again, mailT0.Add(time.Second)); err != nil || created {
			t.Fatalf("PutMail of the same ID = %v, %v; want not created", created, err)
		}
		got := mustMail(t, st, m.ID)
		if got.Status != mail.Pending || string(got.Raw) != string(m.Raw) || !got.NextAttemptAt.Equal(mailT0) || got.Attempts != 0 || *got.Stamp != *m.Stamp {
			t.Fatalf("recorded %+v; want the first mail, pending, due at %v", got, mailT0)
		}
		item := rawMail(t, db, table, m.ID)
		for _, name := range []string{"gsi2pk", "gsi2sk", "expires_at", "raw", "to"} {
			if item[name] == nil {
				t.Errorf("pending mail has no %s", name)
			}
		}
		if item["lease_until"] != nil || item["sent_at"] != nil {
			t.Errorf("pending mail has lease_until or sent_at: %v", item)
		}

		if ids := dueIDs(t, st, mailT0.Add(-time.Nanosecond), 10); len(ids) != 0 {
			t.Errorf("DueMail before it is due = %v; want none", ids)
		}
		if ids := fmt.Sprint(dueIDs(t, st, mailT0, 10)); ids != "[confirmation-b1:pending]" {
			t.Errorf("DueMail when due = %s; want the mail, pending", ids)
		}

		// Claim: once.
		if _, ok, err := st.ClaimMail(ctx, m.ID, mailT0.Add(-time.Nanosecond), mail.Lease); ok || err != nil {
			t.Errorf("ClaimMail before due = %v, %v; want not claimable", ok, err)
		}
		claimed, ok, err := st.ClaimMail(ctx, m.ID, mailT0, mail.Lease)
		if err != nil || !ok || claimed.Status != mail.Sending || string(claimed.Raw) != string(m.Raw) || !claimed.LeaseUntil.Equal(mailT0.Add(mail.Lease)) {
			t.Fatalf("ClaimMail = %+v, %v, %v; want the mail, sending until %v", claimed, ok, err, mailT0.Add(mail.Lease))
		}
		if _, ok, err := st.ClaimMail(ctx, m.ID, mailT0, mail.Lease); ok || err != nil {
			t.Errorf("second ClaimMail = %v, %v; want not claimable", ok, err)
		}
		if _, ok, err := st.ClaimMail(ctx, "no-such-mail", mailT0, mail.Lease); ok || err != nil {
			t.Errorf("ClaimMail(unknown) = %v, %v; want not claimable", ok, err)
		}
		// While the lease runs the mail is not due; when it is over, it is (for Sweep).
		if ids := dueIDs(t, st, mailT0.Add(time.Minute), 10); len(ids) != 0 {
			t.Errorf("DueMail during the lease = %v; want none", ids)
		}
		if ids := fmt.Sprint(dueIDs(t, st, mailT0.Add(mail.Lease), 10)); ids != "[confirmation-b1:sending]" {
			t.Errorf("DueMail at the end of the lease = %s; want the mail, sending", ids)
		}

		// Retry: pending again, due later, one attempt more.
		at := mailT0.Add(time.Minute)
		if err := st.RetryMail(ctx, claimed, at, "Throttling"); err != nil {
			t.Fatalf("RetryMail: %v", err)
		}
		got = mustMail(t, st, m.ID)
		if got.Status != mail.Pending || got.Attempts != 1 || !got.NextAttemptAt.Equal(at) || got.LastError != "Throttling" {
			t.Errorf("after RetryMail: %+v; want pending, 1 attempt, due %v, Throttling", got, at)
		}
		if ids := dueIDs(t, st, at.Add(-time.Nanosecond), 10); len(ids) != 0 {
			t.Errorf("DueMail before the retry = %v; want none", ids)
		}
		if _, ok, _ := st.ClaimMail(ctx, m.ID, at.Add(-time.Nanosecond), mail.Lease); ok {
			t.Errorf("ClaimMail before the retry is due claimed it")
		}
		claimed, ok, err = st.ClaimMail(ctx, m.ID, at, mail.Lease)
		if err != nil || !ok || claimed.Attempts != 1 {
			t.Fatalf("ClaimMail at the retry = %+v, %v, %v", claimed, ok, err)
		}

		// Sent: the body and recipients go, the stamp is set.
		sentAt := at.Add(time.Second)
		if err := st.MarkMailSent(ctx, claimed, "ses-message-1", sentAt); err != nil {
			t.Fatalf("MarkMailSent: %v", err)
		}
		got = mustMail(t, st, m.ID)
		if got.Status != mail.Sent || got.MessageID != "ses-message-1" || !got.SentAt.Equal(sentAt) || got.Raw != nil || got.To != nil {
			t.Errorf("after MarkMailSent: %+v; want sent, its message ID and time, no body or recipients", got)
		}
		item = rawMail(t, db, table, m.ID)
		for _, name := range []string{"gsi2pk", "gsi2sk", "raw", "to", "lease_until"} {
			if item[name] != nil {
				t.Errorf("sent mail still has %s", name)
			}
		}
		stamped, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"pk": booking["pk"], "sk": booking["sk"]}, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := stamped.Item["mail_sent_confirmation"].(*types.AttributeValueMemberS); !ok || v.Value != "2026-12-07T09:01:01.000000000Z" {
			t.Errorf("booking's mail_sent_confirmation = %v; want the send time", stamped.Item["mail_sent_confirmation"])
		}
		if v, ok := stamped.Item["status"].(*types.AttributeValueMemberS); !ok || v.Value != "confirmed" {
			t.Errorf("the stamp changed the booking's other attributes: %v", stamped.Item)
		}
		if ids := dueIDs(t, st, mailT0.Add(24*time.Hour), 10); len(ids) != 0 {
			t.Errorf("DueMail after the send = %v; want none", ids)
		}
		if err := st.MarkMailSent(ctx, claimed, "ses-message-2", sentAt); !errors.Is(err, mail.ErrStale) {
			t.Errorf("MarkMailSent again = %v; want ErrStale", err)
		}
	})
}

func TestOutboxTransitionsAreConditional(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		leaseOver := mailT0.Add(mail.Lease + time.Second)
		// setup brings mail id to a status.
		setup := map[string]func(id string){
			mail.Pending: func(id string) {},
			mail.Sending: func(id string) { claimMail(t, st, id) },
			mail.Sent: func(id string) {
				if err := st.MarkMailSent(ctx, claimMail(t, st, id), "x", mailT0); err != nil {
					t.Fatal(err)
				}
			},
			mail.Failed: func(id string) {
				if err := st.FailMail(ctx, claimMail(t, st, id), "MessageRejected", mailT0); err != nil {
					t.Fatal(err)
				}
			},
			mail.Uncertain: func(id string) {
				claimMail(t, st, id)
				if err := st.MarkMailUncertain(ctx, id, leaseOver); err != nil {
					t.Fatal(err)
				}
			},
		}
		ops := map[string]func(m mail.Mail) error{
			"MarkMailSent":      func(m mail.Mail) error { return st.MarkMailSent(ctx, m, "x", mailT0) },
			"RetryMail":         func(m mail.Mail) error { return st.RetryMail(ctx, m, mailT0, "Throttling") },
			"FailMail":          func(m mail.Mail) error { return st.FailMail(ctx, m, "MessageRejected", mailT0) },
			"MarkMailUncertain": func(m mail.Mail) error { return st.MarkMailUncertain(ctx, m.ID, leaseOver) },
		}
		tests := []struct {
			from, op string
			want     string // the status after, or "stale" for ErrStale (and no change)
		}{
			{mail.Pending, "MarkMailSent", "stale"},
			{mail.Pending, "RetryMail", "stale"},
			{mail.Pending, "FailMail", "stale"},
			{mail.Pending, "MarkMailUncertain", "stale"},
			{mail.Sending, "MarkMailSent", mail.Sent},
			{mail.Sending, "RetryMail", mail.Pending},
			{mail.Sending, "FailMail", mail.Failed},
			{mail.Sending, "MarkMailUncertain", mail.Uncertain},
			{mail.Sent, "MarkMailSent", "stale"},
			{mail.Sent, "RetryMail", "stale"},
			{mail.Sent, "FailMail", "stale"},
			{mail.Sent, "MarkMailUncertain", "stale"},
			{mail.Failed, "MarkMailSent", "stale"},
			{mail.Failed, "RetryMail", "stale"},
			{mail.Failed, "MarkMailUncertain", "stale"},
			// A sender slower than its lease did send: the record says so.
			{mail.Uncertain, "MarkMailSent", mail.Sent},
			{mail.Uncertain, "RetryMail", "stale"},
			{mail.Uncertain, "FailMail", "stale"},
		}
		for i, tc := range tests {
			id := fmt.Sprintf("m%d", i)
			if _, err := st.PutMail(ctx, outboxMail(t, id), mailT0); err != nil {
				t.Fatal(err)
			}
			setup[tc.from](id)
			err := ops[tc.op](mustMail(t, st, id))
			status := mustMail(t, st, id).Status
			switch {
			case tc.want == "stale" && (!errors.Is(err, mail.ErrStale) || status != tc.from):
				t.Errorf("%s on a %s mail = %v, now %s; want ErrStale and still %s", tc.op, tc.from, err, status, tc.from)
			case tc.want != "stale" && (err != nil || status != tc.want):
				t.Errorf("%s on a %s mail = %v, now %s; want nil and %s", tc.op, tc.from, err, status, tc.want)
			}
		}

		// MarkMailUncertain needs the lease to be over.
		if _, err := st.PutMail(ctx, outboxMail(t, "leased"), mailT0); err != nil {
			t.Fatal(err)
		}
		claimMail(t, st, "leased")
		if err := st.MarkMailUncertain(ctx, "leased", mailT0.Add(mail.Lease)); !errors.Is(err, mail.ErrStale) {
			t.Errorf("MarkMailUncertain at the end of the lease = %v; want ErrStale (the lease runs until then)", err)
		}
		if err := st.MarkMailUncertain(ctx, "leased", mailT0.Add(mail.Lease+time.Nanosecond)); err != nil {
			t.Errorf("MarkMailUncertain after the lease = %v; want nil", err)
		}
		got := rawMail(t, db, table, "leased")
		for _, name := range []string{"gsi2pk", "gsi2sk", "raw", "to"} {
			if got[name] != nil {
				t.Errorf("uncertain mail still has %s", name)
			}
		}
	})
}

func claimMail(tb testing.TB, st *dynamo.Store, id string) mail.Mail {
	tb.Helper()
	m, ok, err := st.ClaimMail(context.Background(), id, mailT0, mail.Lease)
	if err != nil || !ok {
		tb.Fatalf("ClaimMail(%s) = %v, %v", id, ok, err)
	}
	return m
}

func TestOutboxStampedRecordGone(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		m := outboxMail(t, "confirmation-gone")
		m.Stamp = &mail.Stamp{PK: "EVENT#e1", SK: "B#deleted", Kind: "confirmation"}
		if _, err := st.PutMail(ctx, m, mailT0); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkMailSent(ctx, claimMail(t, st, m.ID), "ses-1", mailT0); err != nil {
			t.Fatalf("MarkMailSent with the stamped record gone = %v; want nil", err)
		}
		if got := mustMail(t, st, m.ID); got.Status != mail.Sent {
			t.Errorf("status %s; want sent", got.Status)
		}
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true), Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "EVENT#e1"}, "sk": &types.AttributeValueMemberS{Value: "B#deleted"},
		}})
		if err != nil || out.Item != nil {
			t.Errorf("the stamp made an item %v (%v); want none", out.Item, err)
		}
	})
}

func TestOutboxPutRefusesBadStamp(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		m := outboxMail(t, "bad-stamp")
		m.Stamp = &mail.Stamp{PK: "EVENT#e1", SK: "B#b1", Kind: "mails.confirmation"}
		if created, err := dynamo.New(db, table).PutMail(context.Background(), m, mailT0); err == nil || created {
			t.Errorf("PutMail with stamp kind %q = %v, %v; want an error", m.Stamp.Kind, created, err)
		}
	})
}

func TestDueMailOrderAndLimit(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		// Recorded out of order; m3 and m4 at the same instant.
		for _, p := range []struct {
			id string
			at time.Duration
		}{{"m2", 2}, {"m0", 0}, {"m4", 3}, {"m3", 3}, {"m1", 1}, {"m5", 10}} {
			if _, err := st.PutMail(ctx, outboxMail(t, p.id), mailT0.Add(p.at*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		// An event in gsi2's other partition is not mail.
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "EVENT#e1"}, "sk": &types.AttributeValueMemberS{Value: "E#STATE"},
			"gsi2pk": &types.AttributeValueMemberS{Value: "EVENTS"}, "gsi2sk": &types.AttributeValueMemberS{Value: "2026-01-01T00:00:00.000000000Z#e1"},
		}}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			now   time.Duration
			limit int
			want  string
		}{
			{3, 10, "[m0:pending m1:pending m2:pending m3:pending m4:pending]"},
			{3, 3, "[m0:pending m1:pending m2:pending]"},
			{2, 10, "[m0:pending m1:pending m2:pending]"},
			{60, 100, "[m0:pending m1:pending m2:pending m3:pending m4:pending m5:pending]"},
			{60, 0, "[]"},
		}
		for _, tc := range tests {
			if got := fmt.Sprint(dueIDs(t, st, mailT0.Add(tc.now*time.Minute), tc.limit)); got != tc.want {
				t.Errorf("DueMail(t0+%dm, %d) = %s; want %s", tc.now, tc.limit, got, tc.want)
			}
		}
	})
}

// countingSender counts the sends SES accepted.
type countingSender struct {
	mail.Sender
	sent atomic.Int64
}

func (c *countingSender) SendRaw(ctx context.Context, from string, to []string, raw []byte) (string, error) {
	id, err := c.Sender.SendRaw(ctx, from, to, raw)
	if err == nil {
		c.sent.Add(1)
	}
	return id, err
}

func mailSESEnv(endpoint string) func(string) string {
	env := map[string]string{
		"AWS_REGION": testenv.Region, "AWS_ACCESS_KEY_ID": testenv.AccessKey, "AWS_SECRET_ACCESS_KEY": testenv.SecretKey,
		"AWS_ENDPOINT_URL_SES": endpoint,
	}
	return func(k string) string { return env[k] }
}

// forEachOutbox runs fn on every DynamoDB server with every SES server (the embedded ones,
// and DynamoDB Local and moto under `make test`), each pair with its own table and capture.
func forEachOutbox(t *testing.T, fn func(t *testing.T, st *dynamo.Store, db *dynamodb.Client, table string, ses testenv.SESTarget)) {
	for _, dynamoTarget := range testenv.DynamoTargets(t) {
		t.Run(dynamoTarget.Name, func(t *testing.T) {
			for _, sesTarget := range testenv.SESTargets(t) {
				t.Run(sesTarget.Name, func(t *testing.T) {
					db, table := testenv.NewTable(t, dynamoTarget)
					testenv.VerifySender(t, sesTarget, mailSource)
					fn(t, dynamo.New(db, table), db, table, sesTarget)
				})
			}
		})
	}
}

// capturedTo returns how many messages the capture holds for address (-1 for moto, which cannot tell).
func capturedTo(target testenv.SESTarget, address string) int {
	if target.Outbox == nil {
		return -1
	}
	n := 0
	for _, m := range target.Outbox.Messages() {
		for _, d := range m.Destinations {
			if d == address {
				n++
			}
		}
	}
	return n
}

func TestOutboxDeliverOnceUnderConcurrency(t *testing.T) {
	forEachOutbox(t, func(t *testing.T, st *dynamo.Store, db *dynamodb.Client, table string, target testenv.SESTarget) {
		ctx := context.Background()
		const to = "concurrent@example.org"
		if _, err := st.PutMail(ctx, outboxMail(t, "race", to), mailT0); err != nil {
			t.Fatal(err)
		}
		s := &countingSender{Sender: mail.NewSES(mailSESEnv(target.Endpoint))}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		start := make(chan struct{})
		for range 8 {
			wg.Go(func() {
				<-start
				errs <- mail.Deliver(ctx, st, s, "race", mailT0)
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Deliver = %v; want nil (sent, or someone else's)", err)
			}
		}
		if n := s.sent.Load(); n != 1 {
			t.Errorf("8 concurrent Delivers made %d SES sends; want 1", n)
		}
		if n := capturedTo(target, to); n != 1 && n != -1 {
			t.Errorf("the capture holds %d messages to %s; want 1", n, to)
		}
		if got := mustMail(t, st, "race"); got.Status != mail.Sent || got.MessageID == "" {
			t.Errorf("status %s, message ID %q; want sent with SES's ID", got.Status, got.MessageID)
		}
	})
}

func TestOutboxLeaseExpiryIsUncertain(t *testing.T) {
	forEachOutbox(t, func(t *testing.T, st *dynamo.Store, db *dynamodb.Client, table string, target testenv.SESTarget) {
		ctx := context.Background()
		const to = "lease@example.org"
		if _, err := st.PutMail(ctx, outboxMail(t, "died", to), mailT0); err != nil {
			t.Fatal(err)
		}
		claimMail(t, st, "died") // a sender claims it, then dies before recording anything
		s := &countingSender{Sender: mail.NewSES(mailSESEnv(target.Endpoint))}
		sweep := func(now time.Time) mail.SweepReport {
			t.Helper()
			rep, err := mail.Sweep(ctx, st, s, mail.SweepOptions{Rate: 100, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatalf("Sweep at %v: %v", now, err)
			}
			return rep
		}
		if rep := sweep(mailT0.Add(time.Minute)); rep != (mail.SweepReport{}) {
			t.Errorf("Sweep during the lease = %+v; want nothing done", rep)
		}
		if rep := sweep(mailT0.Add(mail.Lease + time.Second)); rep != (mail.SweepReport{Uncertain: 1}) {
			t.Errorf("Sweep after the lease = %+v; want 1 uncertain", rep)
		}
		if rep := sweep(mailT0.Add(time.Hour)); rep != (mail.SweepReport{}) {
			t.Errorf("Sweep an hour later = %+v; want nothing done", rep)
		}
		if err := mail.Deliver(ctx, st, s, "died", mailT0.Add(time.Hour)); err != nil {
			t.Errorf("Deliver of the uncertain mail = %v; want nil (nothing to do)", err)
		}
		if got := mustMail(t, st, "died"); got.Status != mail.Uncertain || got.Raw != nil {
			t.Errorf("status %s with %d bytes of body; want uncertain without", got.Status, len(got.Raw))
		}
		if n, c := s.sent.Load(), capturedTo(target, to); n != 0 || c > 0 {
			t.Errorf("%d sends (%d captured); want none: an uncertain mail is never sent again", n, c)
		}
	})
}

func TestOutboxOutageThenRecovery(t *testing.T) {
	forEachOutbox(t, func(t *testing.T, st *dynamo.Store, db *dynamodb.Client, table string, target testenv.SESTarget) {
		ctx := context.Background()
		const to = "outage@example.org"
		if _, err := st.PutMail(ctx, outboxMail(t, "outage", to), mailT0); err != nil {
			t.Fatal(err)
		}
		down := mail.NewSES(mailSESEnv(closedSESPort(t)))
		if err := mail.Deliver(ctx, st, down, "outage", mailT0); !errors.Is(err, mail.ErrRetryLater) {
			t.Fatalf("Deliver with SES unreachable = %v; want ErrRetryLater", err)
		}
		got := mustMail(t, st, "outage")
		if got.Status != mail.Pending || got.Attempts != 1 || got.LastError != "dial" || !got.NextAttemptAt.Equal(mailT0.Add(time.Minute)) {
			t.Fatalf("after the outage: %+v; want pending, 1 attempt, dial, due a minute later", got)
		}
		// Still down at the next sweep: due two minutes after that.
		rep, err := mail.Sweep(ctx, st, down, mail.SweepOptions{Rate: 100, Now: func() time.Time { return mailT0.Add(time.Minute) }})
		if err != nil || rep != (mail.SweepReport{Retried: 1}) {
			t.Fatalf("Sweep while down = %+v, %v; want 1 retried", rep, err)
		}
		if got := mustMail(t, st, "outage"); got.Attempts != 2 || !got.NextAttemptAt.Equal(mailT0.Add(3*time.Minute)) {
			t.Fatalf("after the second attempt: %d attempts, due %v; want 2, t0+3m", got.Attempts, got.NextAttemptAt)
		}
		// Back up: the sweep when it is due sends it, once.
		up := &countingSender{Sender: mail.NewSES(mailSESEnv(target.Endpoint))}
		for _, now := range []time.Time{mailT0.Add(2 * time.Minute), mailT0.Add(3 * time.Minute), mailT0.Add(4 * time.Minute)} {
			if _, err := mail.Sweep(ctx, st, up, mail.SweepOptions{Rate: 100, Now: func() time.Time { return now }}); err != nil {
				t.Fatalf("Sweep at %v: %v", now, err)
			}
		}
		if n, c := up.sent.Load(), capturedTo(target, to); n != 1 || c != 1 && c != -1 {
			t.Errorf("%d sends (%d captured) once SES is back; want 1", n, c)
		}
		if got := mustMail(t, st, "outage"); got.Status != mail.Sent || !got.SentAt.Equal(mailT0.Add(3*time.Minute)) {
			t.Errorf("status %s sent at %v; want sent at t0+3m", got.Status, got.SentAt)
		}
	})
}

func TestOutboxPermanentRejection(t *testing.T) {
	forEachOutbox(t, func(t *testing.T, st *dynamo.Store, db *dynamodb.Client, table string, target testenv.SESTarget) {
		ctx := context.Background()
		if _, err := st.PutMail(ctx, outboxMail(t, "rejected", "not an address"), mailT0); err != nil {
			t.Fatal(err)
		}
		s := &countingSender{Sender: mail.NewSES(mailSESEnv(target.Endpoint))}
		rep, err := mail.Sweep(ctx, st, s, mail.SweepOptions{Rate: 100, Now: func() time.Time { return mailT0 }})
		if err != nil || rep != (mail.SweepReport{Failed: 1}) {
			t.Fatalf("Sweep = %+v, %v; want 1 failed", rep, err)
		}
		got := mustMail(t, st, "rejected")
		if got.Status != mail.Failed || got.LastError != "InvalidParameterValue" || got.Raw != nil || got.To != nil || !got.FailedAt.Equal(mailT0) {
			t.Errorf("after the rejection: %+v; want failed, InvalidParameterValue, no body or recipients, failed at t0", got)
		}
		if rep, err := mail.Sweep(ctx, st, s, mail.SweepOptions{Rate: 100, Now: func() time.Time { return mailT0.Add(time.Hour) }}); err != nil || rep != (mail.SweepReport{}) {
			t.Errorf("Sweep an hour later = %+v, %v; want nothing done", rep, err)
		}
	})
}

func TestOutboxNoAnswerIsNeverResent(t *testing.T) {
	forEachOutbox(t, func(t *testing.T, st *dynamo.Store, db *dynamodb.Client, table string, target testenv.SESTarget) {
		ctx := context.Background()
		const to = "silence@example.org"
		if _, err := st.PutMail(ctx, outboxMail(t, "silence", to), mailT0); err != nil {
			t.Fatal(err)
		}
		// SES reads the request and the connection drops before the answer: it may have sent it.
		var requests atomic.Int64
		hangUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
		}))
		t.Cleanup(hangUp.Close)
		if err := mail.Deliver(ctx, st, mail.NewSES(mailSESEnv(hangUp.URL)), "silence", mailT0); !errors.Is(err, mail.ErrOutcomeUnknown) {
			t.Fatalf("Deliver without an answer = %v; want ErrOutcomeUnknown", err)
		}
		if n := requests.Load(); n != 1 {
			t.Errorf("SES got %d requests; want 1 (no retry of a request that may have been taken)", n)
		}
		s := &countingSender{Sender: mail.NewSES(mailSESEnv(target.Endpoint))}
		for _, now := range []time.Time{mailT0.Add(time.Minute), mailT0.Add(mail.Lease + time.Second), mailT0.Add(time.Hour)} {
			if _, err := mail.Sweep(ctx, st, s, mail.SweepOptions{Rate: 100, Now: func() time.Time { return now }}); err != nil {
				t.Fatalf("Sweep at %v: %v", now, err)
			}
		}
		if got := mustMail(t, st, "silence"); got.Status != mail.Uncertain || s.sent.Load() != 0 || capturedTo(target, to) > 0 {
			t.Errorf("status %s after %d sends; want uncertain and none", got.Status, s.sent.Load())
		}
	})
}

// closedSESPort returns the URL of a loopback port nothing listens on.
func closedSESPort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestOutboxDoneNeedsTheMailAsRead(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		if _, err := st.PutMail(ctx, outboxMail(t, "m"), mailT0); err != nil {
			t.Fatal(err)
		}
		claimed := claimMail(t, st, "m")
		madeUp := mail.Mail{ID: "m", Status: mail.Sending}
		if err := st.MarkMailSent(ctx, madeUp, "x", mailT0); err == nil {
			t.Errorf("MarkMailSent(a Mail with only an ID) = nil; want an error")
		}
		other := claimed
		other.CreatedAt = mailT0.Add(time.Second)
		if err := st.FailMail(ctx, other, "MessageRejected", mailT0); !errors.Is(err, mail.ErrStale) {
			t.Errorf("FailMail(a Mail created at another time) = %v; want ErrStale", err)
		}
		if got := mustMail(t, st, "m"); got.Status != mail.Sending || got.Kind != "test" || got.Raw == nil {
			t.Errorf("after the refused changes: %+v; want the claimed record unchanged", got)
		}
	})
}

func TestOutboxSentWhenTheStampIsRefused(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		// A policy that does not allow the stamp: every transaction is refused.
		denied := dynamodb.New(db.Options(), func(o *dynamodb.Options) {
			o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
				return s.Initialize.Add(middleware.InitializeMiddlewareFunc("deny", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if middleware.GetOperationName(ctx) == "TransactWriteItems" {
						return middleware.InitializeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.Before)
			})
		})
		st := dynamo.New(denied, table)
		m := outboxMail(t, "denied")
		m.Stamp = &mail.Stamp{PK: "EVENT#e1", SK: "B#b1", Kind: "confirmation"}
		if _, err := st.PutMail(ctx, m, mailT0); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkMailSent(ctx, claimMail(t, st, m.ID), "ses-1", mailT0); err != nil {
			t.Fatalf("MarkMailSent with the stamp refused = %v; want nil", err)
		}
		if got := mustMail(t, st, m.ID); got.Status != mail.Sent {
			t.Errorf("status %s; want sent (not left to become uncertain)", got.Status)
		}
	})
}

func TestWithdrawMails(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		put := func(id string) {
			t.Helper()
			if _, err := st.PutMail(ctx, outboxMail(t, id), mailT0); err != nil {
				t.Fatal(err)
			}
		}
		// pending, pending after a failed attempt, being sent, sent, failed.
		for _, id := range []string{"pending", "retrying", "sending", "sent", "failed"} {
			put(id)
		}
		if err := st.RetryMail(ctx, claimMail(t, st, "retrying"), mailT0.Add(time.Minute), "Throttling"); err != nil {
			t.Fatal(err)
		}
		claimMail(t, st, "sending")
		if err := st.MarkMailSent(ctx, claimMail(t, st, "sent"), "ses-1", mailT0); err != nil {
			t.Fatal(err)
		}
		if err := st.FailMail(ctx, claimMail(t, st, "failed"), "MessageRejected", mailT0); err != nil {
			t.Fatal(err)
		}

		n, err := st.WithdrawMails(ctx, []string{"pending", "retrying", "sending", "sent", "failed", "unknown"})
		if err != nil || n != 2 {
			t.Fatalf("WithdrawMails = %d, %v; want 2 (the pending ones), nil", n, err)
		}
		want := map[string]string{"pending": "", "retrying": "", "sending": mail.Sending, "sent": mail.Sent, "failed": mail.Failed}
		for id, status := range want {
			m, ok, err := st.MailByID(ctx, id)
			switch {
			case err != nil:
				t.Fatalf("MailByID(%s): %v", id, err)
			case status == "" && ok:
				t.Errorf("%s: still recorded (%s); want withdrawn", id, m.Status)
			case status != "" && (!ok || m.Status != status):
				t.Errorf("%s: recorded %v, status %s; want %s, untouched", id, ok, m.Status, status)
			}
		}

		// A sender that listed a withdrawn mail finds nothing to claim; the rest of the
		// outbox goes on as before.
		if _, ok, err := st.ClaimMail(ctx, "pending", mailT0.Add(time.Hour), mail.Lease); ok || err != nil {
			t.Errorf("ClaimMail(withdrawn) = %v, %v; want not claimable", ok, err)
		}
		if got := dueIDs(t, st, mailT0.Add(time.Hour), 10); fmt.Sprint(got) != "[sending:sending]" {
			t.Errorf("due after withdrawal = %v; want only the mail being sent (its lease over)", got)
		}
		if n, err := st.WithdrawMails(ctx, []string{"pending", "retrying"}); err != nil || n != 0 {
			t.Errorf("WithdrawMails again = %d, %v; want 0, nil", n, err)
		}
		if n, err := st.WithdrawMails(ctx, nil); err != nil || n != 0 {
			t.Errorf("WithdrawMails(none) = %d, %v; want 0, nil", n, err)
		}
	})
}
