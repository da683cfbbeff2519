package dynamo_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/infra/testenv"
	"sectorhub/shared/apperr"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/event"
	"sectorhub/shared/mail"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// renderMail is the tests' mail renderer: a tiny message naming the kind, the status and the
// position it was rendered for, so that a test can tell which one was recorded.
func renderMail(kind string, b event.Booking) (mail.Mail, error) {
	return mail.Mail{
		Kind: "event-" + kind,
		From: "events@example.org",
		To:   []string{b.Email},
		Raw:  fmt.Appendf(nil, "Subject: %s\r\n\r\n%s %d\r\n", kind, b.Status, b.Position),
	}, nil
}

// newBooking returns booking n of ev (ticket, email) with its options, as the handler makes
// them (IDs and tokens from local helpers).
func newBooking(ev event.Event, n int, ticket, email string) (event.Booking, event.BookOptions) {
	tk, _ := ev.Ticket(ticket)
	id := fmt.Sprintf("%s-b%04d", ev.ID, n)
	token := "token-" + id
	b := event.Booking{ID: id, EventID: ev.ID, AmountPence: tk.PricePence, CreatedAt: t0.Add(time.Duration(n) * time.Second), Token: token,
		BookingRequest: event.BookingRequest{Name: fmt.Sprintf("Person %d", n), Email: email, Organisation: "Org", Ticket: ticket}}
	return b, event.BookOptions{
		TokenHash:   sha(token),
		RequestHash: sha(fmt.Sprint(ticket, email)),
		Render: func(b event.Booking) (mail.Mail, error) {
			kind := event.MailConfirmation
			if b.Status == event.BookingWaitlisted {
				kind = event.MailWaitlisted
			}
			return renderMail(kind, b)
		},
	}
}

// mustBook books place n and checks its status.
func mustBook(tb testing.TB, st *dynamo.Store, ev event.Event, n int, ticket, email, status string) event.Booking {
	tb.Helper()
	b, o := newBooking(ev, n, ticket, email)
	got, replayed, err := st.Book(context.Background(), ev, b, o, t0)
	if err != nil || replayed || got.Status != status {
		tb.Fatalf("Book(%s, %s) = %s, replayed %v, %v; want %s", ev.ID, ticket, got.Status, replayed, err, status)
	}
	return got
}

// mailRaw returns the raw message of the outbox mail id ("" if there is none).
func mailRaw(tb testing.TB, db *dynamodb.Client, table, id string) string {
	tb.Helper()
	item := rawItem(tb, db, table, "MAIL#"+id, "MAIL")
	if item == nil {
		return ""
	}
	raw, _ := item["raw"].(*types.AttributeValueMemberB)
	if raw == nil {
		tb.Fatalf("mail %s has no raw message", id)
	}
	return string(raw.Value)
}

// partition returns the sort keys in pk that begin with prefix ("" for all).
func partition(tb testing.TB, db *dynamodb.Client, table, pk, prefix string) []string {
	tb.Helper()
	in := &dynamodb.QueryInput{
		TableName:                 &table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead:            aws.Bool(true),
	}
	if prefix != "" { // DynamoDB refuses begins_with ""
		in.KeyConditionExpression = aws.String("pk = :pk AND begins_with(sk, :p)")
		in.ExpressionAttributeValues[":p"] = &types.AttributeValueMemberS{Value: prefix}
	}
	p := dynamodb.NewQueryPaginator(db, in)
	var sks []string
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			tb.Fatalf("query %s %s: %v", pk, prefix, err)
		}
		for _, it := range page.Items {
			sks = append(sks, it["sk"].(*types.AttributeValueMemberS).Value)
		}
	}
	return sks
}

func TestBookRace(t *testing.T) {
	for _, target := range testenv.DynamoTargets(t) {
		t.Run(target.Name, func(t *testing.T) {
			db, table := testenv.NewTable(t, target)
			ctx := context.Background()
			st := dynamo.New(db, table)
			ev := createEvent(t, st, testEvent("race"))

			// 200 people book at once: every fourth a student (limited to 10 places).
			const people = 200
			tickets := make([]string, people)
			results := make([]event.Booking, people)
			errs := make([]error, people)
			start := time.Now()
			var wg sync.WaitGroup
			for i := range people {
				tickets[i] = []string{"member", "non-member", "member", "student"}[i%4]
				wg.Go(func() {
					b, o := newBooking(ev, i, tickets[i], fmt.Sprintf("Person.%d@Example.org", i))
					results[i], _, errs[i] = st.Book(ctx, ev, b, o, t0)
				})
			}
			wg.Wait()
			t.Logf("%s: %d concurrent bookings took %v", target.Name, people, time.Since(start).Round(time.Millisecond))

			var confirmed, students int
			positions := map[int]int{}
			for i, b := range results {
				if errs[i] != nil {
					t.Fatalf("Book #%d: %v", i, errs[i])
				}
				switch b.Status {
				case event.BookingConfirmed:
					confirmed++
					if b.Ticket == "student" {
						students++
					}
				case event.BookingWaitlisted:
					positions[b.Position]++
				}
				want := event.MailConfirmation
				if b.Status == event.BookingWaitlisted {
					want = event.MailWaitlisted
				}
				raw := mailRaw(t, db, table, event.MailID(want, b.ID))
				if !strings.HasSuffix(raw, fmt.Sprintf("%s %d\r\n", b.Status, b.Position)) {
					t.Errorf("booking %s (%s %d): its %s mail = %q; want one rendered for its status and position", b.ID, b.Status, b.Position, want, raw)
				}
			}
			if confirmed != 50 || students > 10 || len(positions) != 150 {
				t.Fatalf("after the race: %d confirmed (%d students), %d positions; want 50, at most 10, 150", confirmed, students, len(positions))
			}
			for p := 1; p <= 150; p++ {
				if positions[p] != 1 {
					t.Errorf("waiting-list position %d used %d times; want once", p, positions[p])
				}
			}
			counts := readState(t, db, table, "race")
			perTicket := map[string]int{"member": 0, "non-member": 0, "student": 0}
			for _, b := range results {
				if b.Status == event.BookingConfirmed {
					perTicket[b.Ticket]++
				}
			}
			if counts.Confirmed != 50 || counts.Waiting != 150 || counts.WaitlistSeq != 150 || fmt.Sprint(counts.TicketConfirmed) != fmt.Sprint(perTicket) {
				t.Errorf("E#STATE = %+v; want confirmed 50, waiting 150, seq 150, per ticket %v", counts, perTicket)
			}
			if n := len(partition(t, db, table, "EVENT#race", "W#")); n != 150 {
				t.Errorf("%d waiting-list entries; want 150", n)
			}
			if n := len(partition(t, db, table, "EVENT#race", "M#")); n != 200 {
				t.Errorf("%d email locks; want 200", n)
			}

			// The order of promotion: each cancellation below frees a member or non-member
			// place, so the waiting list is walked in position order, students only while
			// their ticket has room.
			waiting := slices.DeleteFunc(slices.Clone(results), func(b event.Booking) bool { return b.Status != event.BookingWaitlisted })
			slices.SortFunc(waiting, func(a, b event.Booking) int { return a.Position - b.Position })
			var want []int
			room := 10 - students
			for _, b := range waiting {
				if len(want) == 20 {
					break
				}
				if b.Ticket == "student" {
					if room == 0 {
						continue
					}
					room--
				}
				want = append(want, b.Position)
			}

			var cancel []event.Booking
			for _, b := range results {
				if b.Status == event.BookingConfirmed && b.Ticket != "student" && len(cancel) < 20 {
					cancel = append(cancel, b)
				}
			}
			start = time.Now()
			res := make([]event.CancelResult, len(cancel))
			for i, b := range cancel {
				wg.Go(func() {
					res[i], errs[i] = st.CancelBooking(ctx, "race", b.ID, t0, renderMail)
				})
			}
			wg.Wait()
			t.Logf("%s: %d concurrent cancellations took %v", target.Name, len(cancel), time.Since(start).Round(time.Millisecond))
			var promoted []int
			for i, r := range res {
				if errs[i] != nil {
					t.Fatalf("CancelBooking #%d: %v", i, errs[i])
				}
				if r.AlreadyCancelled || r.Booking.Status != event.BookingCancelled || len(r.Promoted) != 1 || len(r.MailIDs) != 2 {
					t.Fatalf("CancelBooking #%d = %+v; want cancelled, one promoted, two mails", i, r)
				}
				p := r.Promoted[0]
				promoted = append(promoted, p.Position)
				if stored, _, _ := st.Booking(ctx, "race", p.ID); stored.Status != event.BookingConfirmed || !stored.ConfirmedAt.Equal(t0) {
					t.Errorf("promoted booking %s stored as %s (confirmed at %v); want confirmed at t0", p.ID, stored.Status, stored.ConfirmedAt)
				}
				for _, id := range r.MailIDs {
					if mailRaw(t, db, table, id) == "" {
						t.Errorf("mail %s is not in the outbox", id)
					}
				}
			}
			slices.Sort(promoted)
			if fmt.Sprint(promoted) != fmt.Sprint(want) {
				t.Errorf("promoted positions %v; want the first fitting, %v", promoted, want)
			}
			after := readState(t, db, table, "race")
			if after.Confirmed != 50 || after.Waiting != 130 || after.WaitlistSeq != 150 || after.TicketConfirmed["student"] > 10 {
				t.Errorf("E#STATE after the cancellations = %+v; want confirmed 50, waiting 130, students at most 10", after)
			}
			if n := len(partition(t, db, table, "EVENT#race", "W#")); n != 130 {
				t.Errorf("%d waiting-list entries after promotions; want 130", n)
			}

			// Cancelling again changes nothing.
			again, err := st.CancelBooking(ctx, "race", cancel[0].ID, t0.Add(time.Hour), renderMail)
			if err != nil || !again.AlreadyCancelled || len(again.MailIDs) != 0 || !again.Booking.CancelledAt.Equal(t0) {
				t.Errorf("CancelBooking again = %+v, %v; want already cancelled at t0, no mail", again, err)
			}
			if got := readState(t, db, table, "race"); fmt.Sprint(got) != fmt.Sprint(after) {
				t.Errorf("E#STATE after a second cancellation = %+v; want unchanged %+v", got, after)
			}
		})
	}
}

func TestBookIdempotency(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		ev := testEvent("idem")
		ev.Capacity = 1
		createEvent(t, st, ev)
		mustBook(t, st, ev, 0, "member", "first@example.org", event.BookingConfirmed)

		b, o := newBooking(ev, 1, "member", "second@example.org")
		o.IdempotencyKey = sha("key-1")
		first, replayed, err := st.Book(ctx, ev, b, o, t0)
		if err != nil || replayed || first.Status != event.BookingWaitlisted || first.Position != 1 {
			t.Fatalf("Book with a key = %+v, %v, %v; want waitlisted at 1", first, replayed, err)
		}
		// The retry comes with a new booking ID and token, as a retried request would.
		retry, ro := newBooking(ev, 2, "member", "second@example.org")
		ro.IdempotencyKey = o.IdempotencyKey
		got, replayed, err := st.Book(ctx, ev, retry, ro, t0.Add(time.Minute))
		if err != nil || !replayed || got.ID != first.ID || got.Status != event.BookingWaitlisted || got.Position != 1 || got.Ticket != "member" || got.AmountPence != 9500 || got.EventID != "idem" {
			t.Errorf("Book retried with the key = %+v, replayed %v, %v; want the first response replayed", got, replayed, err)
		}
		if got.Email != "" || got.Token != "" {
			t.Errorf("a replay carries personal data or the token: %+v", got)
		}
		if bs, _ := st.Bookings(ctx, "idem"); len(bs) != 2 {
			t.Errorf("%d bookings stored; want 2 (the replay stores nothing)", len(bs))
		}

		other, oo := newBooking(ev, 3, "non-member", "third@example.org")
		oo.IdempotencyKey = o.IdempotencyKey
		if _, _, err := st.Book(ctx, ev, other, oo, t0); !errors.Is(err, event.ErrIdempotencyKeyReused) || apperr.Code(err) != apperr.Conflict {
			t.Errorf("Book with the key and another body = %v; want ErrIdempotencyKeyReused (conflict)", err)
		}
		// After 24 hours the key is forgotten: the same body is a new request (and the
		// address is already booked).
		if _, _, err := st.Book(ctx, ev, retry, ro, t0.Add(25*time.Hour)); !errors.Is(err, event.ErrAlreadyBooked) {
			t.Errorf("Book with an expired key = %v; want ErrAlreadyBooked", err)
		}
	})
}

func TestBookRefused(t *testing.T) {
	cases := []struct {
		name   string
		change func(*event.Event)
		at     time.Time
		ticket string
		want   error
	}{
		{"after booking closes", nil, t0.Add(47 * time.Hour), "member", event.ErrBookingClosed},
		{"draft", func(e *event.Event) { e.Status = event.StatusDraft }, t0, "member", event.ErrBookingClosed},
		{"cancelled", func(e *event.Event) { e.Status = event.StatusCancelled }, t0, "member", event.ErrBookingClosed},
		{"full without a waiting list", func(e *event.Event) { e.Capacity, e.WaitingList = 1, false }, t0, "member", event.ErrSoldOut},
		{"limited ticket full without a waiting list", func(e *event.Event) { e.Tickets[2].Capacity, e.WaitingList = 1, false }, t0, "student", event.ErrSoldOut},
		{"ticket no longer offered", nil, t0, "speaker", event.ErrSoldOut},
	}
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		for i, c := range cases {
			ev := testEvent(fmt.Sprintf("refuse%d", i))
			if c.change != nil {
				c.change(&ev)
			}
			createEvent(t, st, ev)
			if ev.Status == event.StatusPublished {
				ticket := c.ticket
				if ticket == "speaker" {
					ticket = "member"
				}
				mustBook(t, st, ev, 0, ticket, "first@example.org", event.BookingConfirmed)
			}
			b, o := newBooking(ev, 1, c.ticket, "second@example.org")
			b.Ticket = c.ticket
			if _, _, err := st.Book(ctx, ev, b, o, c.at); !errors.Is(err, c.want) {
				t.Errorf("%s: Book = %v; want %v", c.name, err, c.want)
			}
			if n := len(partition(t, db, table, "EVENT#"+ev.ID, "B#")); ev.Status == event.StatusPublished && n != 1 {
				t.Errorf("%s: %d bookings stored; want only the first", c.name, n)
			}
		}

		ev := createEvent(t, st, testEvent("twice"))
		mustBook(t, st, ev, 0, "member", "Someone@Example.org", event.BookingConfirmed)
		for n, email := range []string{"someone@example.org", "  SOMEONE@EXAMPLE.ORG "} {
			b, o := newBooking(ev, n+1, "non-member", email)
			if _, _, err := st.Book(ctx, ev, b, o, t0); !errors.Is(err, event.ErrAlreadyBooked) || strings.Contains(apperr.Message(err), "@") {
				t.Errorf("Book(%q) after Someone@Example.org = %v; want ErrAlreadyBooked, naming nobody", email, err)
			}
		}
		b, o := newBooking(testEvent("nope"), 1, "member", "x@example.org")
		if _, _, err := st.Book(ctx, testEvent("nope"), b, o, t0); !errors.Is(err, event.ErrEventNotFound) {
			t.Errorf("Book on an unknown event = %v; want ErrEventNotFound", err)
		}
	})
}

func TestBookingReads(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		ev := testEvent("reads")
		ev.Capacity = 2
		createEvent(t, st, ev)
		var made []event.Booking
		for n := range 3 {
			made = append(made, mustBook(t, st, ev, 3-n, "member", fmt.Sprintf("p%d@example.org", n), []string{event.BookingConfirmed, event.BookingConfirmed, event.BookingWaitlisted}[n]))
		}
		b, ok, err := st.BookingByToken(ctx, sha(made[2].Token))
		if err != nil || !ok || b.ID != made[2].ID || b.Email != "p2@example.org" || b.Position != 1 || b.Token != made[2].Token || b.Invoice != nil {
			t.Errorf("BookingByToken = %+v, %v, %v; want the waitlisted booking", b, ok, err)
		}
		if _, ok, err := st.BookingByToken(ctx, sha("nope")); ok || err != nil {
			t.Errorf("BookingByToken(unknown) = %v, %v; want not found", ok, err)
		}
		if _, ok, err := st.Booking(ctx, "reads", "nope"); ok || err != nil {
			t.Errorf("Booking(unknown) = %v, %v; want not found", ok, err)
		}
		item := rawItem(t, db, table, "EVENT#reads", "B#"+made[2].ID)
		for _, name := range []string{"confirmed_at", "cancelled_at", "mails"} {
			if _, ok := item[name]; ok {
				t.Errorf("a new waitlisted booking has %s; want no zero times or empty maps stored", name)
			}
		}

		// The outbox stamps a sent mail on the booking.
		sent := t0.Add(time.Minute)
		_, err = db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 &table,
			Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "EVENT#reads"}, "sk": &types.AttributeValueMemberS{Value: "B#" + made[0].ID}},
			UpdateExpression:          aws.String("SET mail_sent_confirmation = :t"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: sent.Format("2006-01-02T15:04:05.000000000Z07:00")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		bs, err := st.Bookings(ctx, "reads")
		if err != nil || len(bs) != 3 {
			t.Fatalf("Bookings = %d, %v; want 3", len(bs), err)
		}
		var order []string
		for _, b := range bs {
			order = append(order, b.ID)
		}
		if want := []string{made[2].ID, made[1].ID, made[0].ID}; !slices.Equal(order, want) {
			t.Errorf("Bookings order = %v; want created order %v", order, want)
		}
		if got := bs[2].Mails[event.MailConfirmation]; !got.Equal(sent) || len(bs[2].Mails) != 1 || bs[0].Mails != nil {
			t.Errorf("Mails = %v (and %v); want the confirmation stamp at %v only", bs[2].Mails, bs[0].Mails, sent)
		}
		if bs, err := st.Bookings(ctx, "nope"); len(bs) != 0 || err != nil {
			t.Errorf("Bookings(unknown) = %v, %v; want none", bs, err)
		}
	})
}

func TestCancelBooking(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		ev := testEvent("cancel")
		ev.Capacity = 3
		ev.Tickets[2].Capacity = 1
		createEvent(t, st, ev)
		student := mustBook(t, st, ev, 1, "student", "s1@example.org", event.BookingConfirmed)
		member := mustBook(t, st, ev, 2, "member", "m1@example.org", event.BookingConfirmed)
		other := mustBook(t, st, ev, 3, "member", "m2@example.org", event.BookingConfirmed)
		w1 := mustBook(t, st, ev, 4, "student", "s2@example.org", event.BookingWaitlisted)    // position 1: no room for a student
		w2 := mustBook(t, st, ev, 5, "non-member", "n1@example.org", event.BookingWaitlisted) // 2
		w3 := mustBook(t, st, ev, 6, "member", "m3@example.org", event.BookingWaitlisted)     // 3

		// A member cancels: the student first in line does not fit (their ticket is full);
		// the non-member behind does.
		res, err := st.CancelBooking(ctx, "cancel", member.ID, t0, renderMail)
		if err != nil || len(res.Promoted) != 1 || res.Promoted[0].ID != w2.ID || res.Promoted[0].Status != event.BookingConfirmed {
			t.Fatalf("CancelBooking(member) = %+v, %v; want %s promoted", res, err, w2.ID)
		}
		wantIDs := []string{event.MailID(event.MailCancelled, member.ID), event.MailID(event.MailPromoted, w2.ID)}
		if !slices.Equal(res.MailIDs, wantIDs) {
			t.Errorf("MailIDs = %v; want %v", res.MailIDs, wantIDs)
		}
		if raw := mailRaw(t, db, table, wantIDs[1]); !strings.Contains(raw, "confirmed 2") {
			t.Errorf("promoted mail = %q; want rendered for the confirmed booking", raw)
		}
		if got := readState(t, db, table, "cancel"); got.Confirmed != 3 || got.Waiting != 2 || fmt.Sprint(got.TicketConfirmed) != "map[member:1 non-member:1 student:1]" {
			t.Errorf("E#STATE = %+v; want 3 confirmed, 2 waiting, the member place moved to non-member", got)
		}
		if sks := partition(t, db, table, "EVENT#cancel", "W#"); fmt.Sprint(sks) != "[W#000001 W#000003]" {
			t.Errorf("waiting list = %v; want positions 1 and 3", sks)
		}

		// The student cancels: the student waiting gets the place.
		res, err = st.CancelBooking(ctx, "cancel", student.ID, t0, renderMail)
		if err != nil || len(res.Promoted) != 1 || res.Promoted[0].ID != w1.ID {
			t.Fatalf("CancelBooking(student) = %+v, %v; want %s promoted", res, err, w1.ID)
		}

		// Someone on the waiting list leaves it: no promotion, the list shrinks.
		res, err = st.CancelBooking(ctx, "cancel", w3.ID, t0, renderMail)
		if err != nil || len(res.Promoted) != 0 || res.Booking.Status != event.BookingCancelled || !slices.Equal(res.MailIDs, []string{event.MailID(event.MailCancelled, w3.ID)}) {
			t.Fatalf("CancelBooking(waitlisted) = %+v, %v; want cancelled alone", res, err)
		}
		if got := readState(t, db, table, "cancel"); got.Confirmed != 3 || got.Waiting != 0 || got.WaitlistSeq != 3 {
			t.Errorf("E#STATE = %+v; want 3 confirmed, nobody waiting, seq kept at 3", got)
		}
		if sks := partition(t, db, table, "EVENT#cancel", "W#"); len(sks) != 0 {
			t.Errorf("waiting list = %v; want empty", sks)
		}
		if raw := mailRaw(t, db, table, res.MailIDs[0]); !strings.Contains(raw, "cancelled 3") {
			t.Errorf("cancelled mail = %q; want rendered for the cancelled booking, its position kept", raw)
		}

		// Nobody waits: the place is freed; the address may book again.
		res, err = st.CancelBooking(ctx, "cancel", other.ID, t0, renderMail)
		if err != nil || len(res.Promoted) != 0 {
			t.Fatalf("CancelBooking(other) = %+v, %v; want cancelled, nobody promoted", res, err)
		}
		if got := readState(t, db, table, "cancel"); got.Confirmed != 2 || got.TicketConfirmed["member"] != 0 {
			t.Errorf("E#STATE = %+v; want 2 confirmed, no member", got)
		}
		mustBook(t, st, ev, 7, "member", "m2@example.org", event.BookingConfirmed)
		if tok, ok, _ := st.BookingByToken(ctx, sha(other.Token)); !ok || tok.Status != event.BookingCancelled {
			t.Errorf("BookingByToken of a cancelled booking = %s, %v; want it shown as cancelled", tok.Status, ok)
		}

		// Twice is harmless, unknown is not found.
		before := len(partition(t, db, table, "EVENT#cancel", ""))
		res, err = st.CancelBooking(ctx, "cancel", other.ID, t0.Add(time.Hour), renderMail)
		if err != nil || !res.AlreadyCancelled || res.Booking.ID != other.ID || len(res.MailIDs) != 0 {
			t.Errorf("CancelBooking twice = %+v, %v; want already cancelled", res, err)
		}
		if after := len(partition(t, db, table, "EVENT#cancel", "")); after != before {
			t.Errorf("a second cancellation wrote: %d items, then %d", before, after)
		}
		if _, err := st.CancelBooking(ctx, "cancel", "nope", t0, renderMail); !errors.Is(err, event.ErrBookingNotFound) {
			t.Errorf("CancelBooking(unknown) = %v; want ErrBookingNotFound", err)
		}
	})
}

func TestCancelAfterBookingCloses(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		ev := testEvent("late")
		ev.Capacity = 1
		createEvent(t, st, ev)
		first := mustBook(t, st, ev, 1, "member", "a@example.org", event.BookingConfirmed)
		mustBook(t, st, ev, 2, "member", "b@example.org", event.BookingWaitlisted)
		res, err := st.CancelBooking(ctx, "late", first.ID, ev.BookingClosesAt, renderMail)
		if err != nil || len(res.Promoted) != 0 {
			t.Errorf("CancelBooking once booking has closed = %+v, %v; want cancelled, nobody promoted", res, err)
		}
		if got := readState(t, db, table, "late"); got.Confirmed != 0 || got.Waiting != 1 {
			t.Errorf("E#STATE = %+v; want the place free, one still waiting", got)
		}
	})
}

func TestPromote(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		ev := testEvent("promote")
		ev.Capacity = 2
		ev.Tickets[2].Capacity = 1
		createEvent(t, st, ev)
		mustBook(t, st, ev, 1, "member", "a@example.org", event.BookingConfirmed)
		mustBook(t, st, ev, 2, "member", "b@example.org", event.BookingConfirmed)
		var waiting []event.Booking
		for n, ticket := range []string{"student", "student", "non-member", "member"} {
			waiting = append(waiting, mustBook(t, st, ev, 3+n, ticket, fmt.Sprintf("w%d@example.org", n), event.BookingWaitlisted))
		}
		if p, ids, err := st.Promote(ctx, "promote", t0, renderMail); len(p) != 0 || len(ids) != 0 || err != nil {
			t.Errorf("Promote with no free place = %v, %v, %v; want nobody", p, ids, err)
		}

		old := readEvent(t, st, "promote")
		raised := old
		raised.Capacity, raised.UpdatedAt = 10, t0.Add(time.Minute)
		if err := st.UpdateEvent(ctx, old, raised); err != nil {
			t.Fatalf("UpdateEvent(capacity 10): %v", err)
		}
		if p, _, err := st.Promote(ctx, "promote", ev.BookingClosesAt, renderMail); len(p) != 0 || err != nil {
			t.Errorf("Promote once booking has closed = %v, %v; want nobody", p, err)
		}
		promoted, ids, err := st.Promote(ctx, "promote", t0, renderMail)
		if err != nil {
			t.Fatalf("Promote: %v", err)
		}
		var got, wantIDs []string
		for _, b := range promoted {
			got = append(got, fmt.Sprintf("%d %s", b.Position, b.Status))
			wantIDs = append(wantIDs, event.MailID(event.MailPromoted, b.ID))
		}
		// The second student does not fit: the student ticket's one place went to the first.
		if fmt.Sprint(got) != "[1 confirmed 3 confirmed 4 confirmed]" || !slices.Equal(ids, wantIDs) {
			t.Errorf("Promote = %v, mails %v; want positions 1, 3, 4 confirmed, their mails", got, ids)
		}
		if c := readState(t, db, table, "promote"); c.Confirmed != 5 || c.Waiting != 1 || c.TicketConfirmed["student"] != 1 {
			t.Errorf("E#STATE = %+v; want 5 confirmed, 1 waiting, 1 student", c)
		}
		if b, _, _ := st.Booking(ctx, "promote", waiting[1].ID); b.Status != event.BookingWaitlisted {
			t.Errorf("second student = %s; want still waitlisted", b.Status)
		}
		if p, _, err := st.Promote(ctx, "promote", t0, renderMail); len(p) != 0 || err != nil {
			t.Errorf("Promote again = %v, %v; want nobody (the one left does not fit)", p, err)
		}
	})
}

func TestCancelEventMails(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		ev := testEvent("off")
		ev.Capacity = 2
		createEvent(t, st, ev)
		a := mustBook(t, st, ev, 1, "member", "a@example.org", event.BookingConfirmed)
		b := mustBook(t, st, ev, 2, "member", "b@example.org", event.BookingConfirmed)
		c := mustBook(t, st, ev, 3, "member", "c@example.org", event.BookingWaitlisted)
		d := mustBook(t, st, ev, 4, "member", "d@example.org", event.BookingWaitlisted)
		if _, err := st.CancelBooking(ctx, "off", d.ID, t0, renderMail); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.CancelEvent(ctx, "off", t0); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, x := range []event.Booking{a, b, c} {
			want = append(want, event.MailID(event.MailEventCancelled, x.ID))
		}
		slices.Sort(want)
		ids, err := st.CancelEventMails(ctx, "off", t0, renderMail)
		if err != nil || !slices.Equal(ids, want) {
			t.Errorf("CancelEventMails = %v, %v; want %v (not the booking cancelled before)", ids, err, want)
		}
		for _, id := range want {
			if mailRaw(t, db, table, id) == "" {
				t.Errorf("mail %s is not in the outbox", id)
			}
		}
		if mailRaw(t, db, table, event.MailID(event.MailEventCancelled, d.ID)) != "" {
			t.Error("the booking cancelled before has an event-cancelled mail")
		}
		if ids, err := st.CancelEventMails(ctx, "off", t0.Add(time.Minute), renderMail); len(ids) != 0 || err != nil {
			t.Errorf("CancelEventMails again = %v, %v; want nothing recorded twice", ids, err)
		}
		failing := func(string, event.Booking) (mail.Mail, error) { return mail.Mail{}, errors.New("template broken") }
		if _, err := st.CancelEventMails(ctx, "off", t0, failing); err == nil {
			t.Error("CancelEventMails with a failing renderer = nil error; want the failure")
		}

		// The mails go (the outbox stamps each booking), and 30 days later their outbox
		// records expire (TTL, done here by hand): cancelling again tells nobody again.
		for _, id := range want {
			m, ok, err := st.ClaimMail(ctx, id, t0, mail.Lease)
			if err != nil || !ok {
				t.Fatalf("ClaimMail(%s) = %v, %v", id, ok, err)
			}
			if err := st.MarkMailSent(ctx, m, "ses-"+id, t0); err != nil {
				t.Fatal(err)
			}
			if _, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table, Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "MAIL#" + id}, "sk": &types.AttributeValueMemberS{Value: "MAIL"},
			}}); err != nil {
				t.Fatal(err)
			}
		}
		if ids, err := st.CancelEventMails(ctx, "off", t0.Add(31*24*time.Hour), renderMail); len(ids) != 0 || err != nil {
			t.Errorf("CancelEventMails after the outbox records expired = %v, %v; want nothing (the bookings are stamped)", ids, err)
		}
		for _, id := range want {
			if mailRaw(t, db, table, id) != "" {
				t.Errorf("mail %s was recorded again", id)
			}
		}
	})
}

func TestCancelBookingOfCancelledEvent(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		ev := testEvent("gone")
		ev.Capacity = 1
		createEvent(t, st, ev)
		confirmed := mustBook(t, st, ev, 1, "member", "a@example.org", event.BookingConfirmed)
		waiting := mustBook(t, st, ev, 2, "member", "b@example.org", event.BookingWaitlisted)
		if _, _, err := st.CancelEvent(ctx, "gone", t0); err != nil {
			t.Fatal(err)
		}
		before := partition(t, db, table, "EVENT#gone", "")
		for _, b := range []event.Booking{confirmed, waiting} {
			res, err := st.CancelBooking(ctx, "gone", b.ID, t0, renderMail)
			if !errors.Is(err, event.ErrEventCancelled) || apperr.Code(err) != apperr.Conflict {
				t.Errorf("CancelBooking(%s) of a cancelled event = %+v, %v; want ErrEventCancelled (a conflict)", b.Status, res, err)
			}
			if got, _, _ := st.Booking(ctx, "gone", b.ID); got.Status != b.Status {
				t.Errorf("booking %s is %s after the refused cancellation; want %s", b.ID, got.Status, b.Status)
			}
			if raw := mailRaw(t, db, table, event.MailID(event.MailCancelled, b.ID)); raw != "" {
				t.Errorf("a cancelled mail was recorded for %s", b.ID)
			}
		}
		if got := readState(t, db, table, "gone"); got.Confirmed != 1 || got.Waiting != 1 || got.TicketConfirmed["member"] != 1 {
			t.Errorf("E#STATE = %+v; want the counts untouched (1 confirmed, 1 waiting)", got)
		}
		if after := partition(t, db, table, "EVENT#gone", ""); !slices.Equal(after, before) {
			t.Errorf("items %v after the refused cancellations; want %v", after, before)
		}
	})
}
