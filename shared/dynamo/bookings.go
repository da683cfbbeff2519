package dynamo

// Bookings' items, in their event's partition (events.go has E#DETAIL and E#STATE):
//
//	pk                     sk               what
//	EVENT#<id>             B#<booking id>   a booking (event.Booking: personal data, the raw cancel
//	                                        token); the outbox stamps mail_sent_<kind> on it
//	EVENT#<id>             M#<email key>    the email lock (booking_id) while the booking is confirmed
//	                                        or waitlisted: one booking per address and event
//	                                        (event.EmailKey: sha256 hex of the trimmed, lower-cased address)
//	EVENT#<id>             W#<position>     a waiting-list entry (booking_id, ticket); the position
//	                                        has 6 digits, so the entries sort in order of joining
//	EVENT#<id>             I#<key hash>     an Idempotency-Key's first booking: request_hash,
//	                                        booking_id and the response's booking fields; 24 hours
//	BOOKINGTOKEN#<hash>    TOKEN            a cancel link: event_id, booking_id (sha256 hex of the token)
//
// B#, M#, W# and the token item expire (TTL) 400 days after the event ends; the token item
// lives as long as its booking (the handler refuses it once the event has ended), so that a
// postponed event's links keep working.
//
// Every booking, cancellation and promotion is one transaction with conditions on E#STATE's
// counters: capacity and ticket limits are never checked by reading then writing.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/shared/event"
	"sectorhub/shared/mail"
)

const (
	bookingSKPrefix = "B#"
	emailLockPrefix = "M#"
	waitSKPrefix    = "W#"
	idemSKPrefix    = "I#"
	tokenPKPrefix   = "BOOKINGTOKEN#"
	tokenSK         = "TOKEN"

	// bookingKeep is how long after its event ends a booking is kept (TTL).
	bookingKeep = 400 * 24 * time.Hour
	// idempotencyKeep is how long an Idempotency-Key's first response is replayed.
	idempotencyKeep = 24 * time.Hour
	// writeAttempts bounds the attempts of one booking, cancellation or promotion when other
	// writers to the event keep winning (a transaction conflict, or a condition that moved
	// between the read and the write).
	writeAttempts = 40
	// waitPage is how many waiting-list entries a cancellation reads at a time looking for the
	// first whose ticket fits.
	waitPage = 50
)

func bookingSK(id string) string      { return bookingSKPrefix + id }
func waitSK(position int) string      { return fmt.Sprintf("%s%06d", waitSKPrefix, position) }
func tokenPK(tokenHash string) string { return tokenPKPrefix + tokenHash }

// eventState is what bookings read of E#STATE to decide, and to explain a failed condition.
type eventState struct {
	Status          string         `json:"status"`
	BookingClosesAt time.Time      `json:"booking_closes_at"`
	Capacity        int            `json:"capacity"`
	WaitingList     bool           `json:"waiting_list"`
	Confirmed       int            `json:"confirmed"`
	Waiting         int            `json:"waiting"`
	WaitlistSeq     int            `json:"waitlist_seq"`
	TicketConfirmed map[string]int `json:"ticket_confirmed"`
	TicketCapacity  map[string]int `json:"ticket_capacity"`
}

// open reports whether the event takes bookings (and promotes from its waiting list) at now.
func (st eventState) open(now time.Time) bool {
	return st.Status == event.StatusPublished && now.Before(st.BookingClosesAt)
}

// offers reports whether the event offers ticket t (it may have been removed since).
func (st eventState) offers(t string) bool {
	_, ok := st.TicketConfirmed[t]
	return ok
}

// ticketHasRoom reports whether ticket t is offered and below its own limit (the event's
// capacity aside).
func (st eventState) ticketHasRoom(t string) bool {
	limit, limited := st.TicketCapacity[t]
	return st.offers(t) && (!limited || st.TicketConfirmed[t] < limit)
}

// eventState reads E#STATE, strongly consistent.
func (s *Store) eventState(ctx context.Context, eventID string) (st eventState, ok bool, err error) {
	item, err := s.getItem(ctx, eventPK(eventID), eventStateSK)
	if item == nil || err != nil {
		return st, false, err
	}
	if err := attributevalue.UnmarshalMapWithOptions(item, &st, jsonTagsDecode); err != nil {
		return st, false, fmt.Errorf("decode event state %s: %w", eventID, err)
	}
	return st, true, nil
}

// getItem reads one item, strongly consistent: nil when there is none.
func (s *Store) getItem(ctx context.Context, pk, sk string) (map[string]types.AttributeValue, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(pk, sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", sk, err) // not pk: a token item's names its hash
	}
	return out.Item, nil
}

// Conditions on E#STATE, by name. t is a ticket ID.
var (
	published = expression.Name("status").Equal(expression.Value(event.StatusPublished))
	one       = expression.Value(1)
)

func bookingOpen(now time.Time) expression.ConditionBuilder {
	return published.And(expression.Name("booking_closes_at").GreaterThan(expression.Value(timeKey(now))))
}

// ticketFits: ticket t is offered and below its own limit, if it has one.
func ticketFits(t string) expression.ConditionBuilder {
	counter := ticketPath("ticket_confirmed", t)
	limit := ticketPath("ticket_capacity", t)
	return expression.AttributeExists(counter).And(expression.AttributeNotExists(limit).Or(counter.LessThan(limit)))
}

// bookingResponse is what an Idempotency-Key replays: the first response's booking, without
// personal data.
type bookingResponse struct {
	ID          string    `json:"id"`
	EventID     string    `json:"event_id"`
	Status      string    `json:"status"`
	Position    int       `json:"position,omitempty"`
	Ticket      string    `json:"ticket"`
	AmountPence int       `json:"amount_pence"`
	CreatedAt   time.Time `json:"created_at"`
}

type idempotencyItem struct {
	RequestHash string          `json:"request_hash"`
	BookingID   string          `json:"booking_id"`
	Booking     bookingResponse `json:"booking"`
	ExpiresAt   int64           `json:"expires_at"`
}

// Book records b (a new booking of ev, b.ID and b.Token set) as confirmed, or else on the
// waiting list, and its first mail, in one transaction; it reads first only to explain a
// failed condition. The confirming transaction:
//
//   - Put I#<o.IdempotencyKey> (when given) on condition that it does not exist (or expired);
//   - Put M#<event.EmailKey(b.Email)> on condition that it does not exist;
//   - Update E#STATE: confirmed + 1, ticket_confirmed.<ticket> + 1, on condition that the event
//     is published, booking_closes_at > now, confirmed < capacity and the ticket is offered and
//     below its own limit (ticket_capacity.<ticket>, when it has one);
//   - Put B#<id> (confirmed), the token item BOOKINGTOKEN#<o.TokenHash> and the confirmation
//     mail (mailPut of o.Render's mail, ID event.MailID(kind, id)).
//
// When E#STATE's condition fails, E#STATE is read (consistent): a draft, cancelled or closed
// event is event.ErrBookingClosed; a full event or ticket with a waiting list goes to the
// waiting list; without one, event.ErrSoldOut. Joining the waiting list first reserves a
// place (reserveWaitingPlace: one UpdateItem of E#STATE, waitlist_seq + 1 and waiting + 1, on
// condition that the event is still open and still full for the ticket), then writes the same
// transaction without E#STATE and with Put W#<p>: positions are 1, 2, ... in the order the
// reservations were applied, each used once (a reservation whose booking then fails — the
// address already booked — leaves its position unused). o.Render is called once the status
// and position are known (again if they change on a retry).
//
// An address already booked is event.ErrAlreadyBooked. An Idempotency-Key already used
// returns the first response's booking (id, event_id, status, position, ticket,
// amount_pence, created_at) with replayed true when o.RequestHash matches, and
// event.ErrIdempotencyKeyReused when it does not. A transaction conflict with another
// booking is retried with a short backoff (bookBackoff), at most writeAttempts times.
func (s *Store) Book(ctx context.Context, ev event.Event, b event.Booking, o event.BookOptions, now time.Time) (booked event.Booking, replayed bool, err error) {
	if b.ID == "" || b.Token == "" || o.TokenHash == "" || o.Render == nil || b.EventID != ev.ID {
		return b, false, fmt.Errorf("book event %s: the booking needs an ID, the event's ID, a token and its hash, and a renderer", ev.ID)
	}
	b.Mails = nil
	var (
		waitlist bool
		position int // the waiting-list place reserved, once reserved (reserveWaitingPlace)
		pause    bool
		m        mail.Mail
		rendered string // the status and position m was rendered for
	)
	for attempt := 0; attempt < writeAttempts; attempt++ {
		if pause {
			if nearDeadline(ctx) {
				return b, false, event.ErrBusy
			}
			if err := sleep(ctx, bookBackoff(attempt)); err != nil {
				return b, false, err
			}
		}
		pause = false
		if waitlist && position == 0 {
			p, replay, replayed, err := s.reserveWaitingPlace(ctx, ev.ID, b, o, now)
			switch {
			case err != nil:
				return b, false, err
			case replayed:
				return replay, true, nil
			case p == 0: // the state moved (a place came free, booking closed): decide again
				waitlist = false
			default:
				position = p
			}
		}
		b.Status, b.Position, b.ConfirmedAt = event.BookingConfirmed, 0, now
		if waitlist {
			b.Status, b.Position, b.ConfirmedAt = event.BookingWaitlisted, position, time.Time{}
		}
		if r := fmt.Sprint(b.Status, b.Position); r != rendered {
			if m, err = o.Render(b); err != nil {
				return b, false, fmt.Errorf("render booking mail %s: %w", b.ID, err)
			}
			rendered = r
		}
		tx, at, err := s.bookTransaction(ev, b, o, m, now)
		if err != nil {
			return b, false, err
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		failed := failedConditions(err)
		if err != nil && position > 0 && !transactionConflict(err) {
			// The reserved place is not taken after all: give it back to the count (its
			// position stays unused).
			if rerr := s.releaseWaitingPlace(ctx, ev.ID); rerr != nil {
				return b, false, rerr
			}
		}
		switch {
		case err == nil:
			return b, false, nil
		case at.idem >= 0 && failed[at.idem]:
			replay, ok, err := s.replay(ctx, ev.ID, o, now)
			if err != nil || ok {
				return replay, ok, err
			}
			pause, position = true, 0 // it expired in between: book afresh
		case failed[at.lock]:
			return b, false, event.ErrAlreadyBooked
		case at.state >= 0 && failed[at.state]:
			st, ok, err := s.eventState(ctx, ev.ID)
			if err != nil {
				return b, false, err
			}
			switch full := st.Confirmed >= st.Capacity || !st.ticketHasRoom(b.Ticket); {
			case !ok:
				return b, false, event.ErrEventNotFound
			case !st.open(now):
				return b, false, event.ErrBookingClosed
			case !full:
				waitlist = false // a place came free meanwhile
			case !st.WaitingList || !st.offers(b.Ticket):
				return b, false, event.ErrSoldOut
			default:
				waitlist = true
			}
		case len(failed) > 0:
			return b, false, fmt.Errorf("book event %s: an item that cannot exist yet does (conditions %v failed)", ev.ID, failed)
		case transactionConflict(err):
			pause = true
		default:
			return b, false, fmt.Errorf("book event %s: %w", ev.ID, err)
		}
	}
	return b, false, fmt.Errorf("book event %s: gave up after %d attempts (too many concurrent writes)", ev.ID, writeAttempts)
}

// reserveWaitingPlace takes the next place on the event's waiting list for b: one UpdateItem
// of E#STATE, `SET waitlist_seq = waitlist_seq + 1, waiting = waiting + 1`, on condition that
// booking is open, the event has a waiting list and b's ticket, and the event or the ticket is
// still full; it returns the new waitlist_seq, b's position. Positions are therefore unique and
// in the order DynamoDB applied the reservations, and concurrent joiners do not undo one
// another's work (as a condition on the exact waitlist_seq would make them). p is 0 when the
// condition failed (the caller decides again from the state). A request with an
// Idempotency-Key already answered, or an address already booked, is found before reserving
// (replayed, ErrAlreadyBooked), so that a retry does not take a second place; the booking's
// transaction still checks both, and a place it then does not use is given back
// (releaseWaitingPlace) and its position left unused.
func (s *Store) reserveWaitingPlace(ctx context.Context, eventID string, b event.Booking, o event.BookOptions, now time.Time) (p int, replay event.Booking, replayed bool, err error) {
	if o.IdempotencyKey != "" {
		if replay, ok, err := s.replay(ctx, eventID, o, now); err != nil || ok {
			return 0, replay, ok, err
		}
	}
	lock, err := s.getItem(ctx, eventPK(eventID), emailLockPrefix+event.EmailKey(b.Email))
	if err != nil {
		return 0, replay, false, err
	}
	if lock != nil {
		return 0, replay, false, event.ErrAlreadyBooked
	}
	counter := ticketPath("ticket_confirmed", b.Ticket)
	full := expression.Name("confirmed").GreaterThanEqual(expression.Name("capacity")).
		Or(counter.GreaterThanEqual(ticketPath("ticket_capacity", b.Ticket)))
	up := expression.Set(expression.Name("waitlist_seq"), expression.Name("waitlist_seq").Plus(one)).
		Set(expression.Name("waiting"), expression.Name("waiting").Plus(one))
	cond := bookingOpen(now).And(
		expression.Name("waiting_list").Equal(expression.Value(true)),
		expression.AttributeExists(counter),
		full)
	expr, err := expression.NewBuilder().WithUpdate(up).WithCondition(cond).Build()
	if err != nil {
		return 0, replay, false, err
	}
	for attempt := 0; attempt < writeAttempts; attempt++ {
		out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 &s.table,
			Key:                       key(eventPK(eventID), eventStateSK),
			UpdateExpression:          expr.Update(),
			ConditionExpression:       expr.Condition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ReturnValues:              types.ReturnValueUpdatedNew,
		})
		switch {
		case err == nil:
			var seq struct {
				WaitlistSeq int `json:"waitlist_seq"`
			}
			if err := attributevalue.UnmarshalMapWithOptions(out.Attributes, &seq, jsonTagsDecode); err != nil {
				return 0, replay, false, fmt.Errorf("decode waitlist_seq: %w", err)
			}
			return seq.WaitlistSeq, replay, false, nil
		case conditionFailed(err):
			return 0, replay, false, nil
		case transactionConflict(err):
			if err := sleep(ctx, bookBackoff(attempt)); err != nil {
				return 0, replay, false, err
			}
		default:
			return 0, replay, false, fmt.Errorf("reserve a waiting-list place at event %s: %w", eventID, err)
		}
	}
	return 0, replay, false, fmt.Errorf("reserve a waiting-list place at event %s: gave up after %d attempts", eventID, writeAttempts)
}

// releaseWaitingPlace gives back a place reserveWaitingPlace took that the booking did not use
// (the address was booked, the key replayed): waiting - 1. Its position stays unused.
func (s *Store) releaseWaitingPlace(ctx context.Context, eventID string) error {
	expr, err := expression.NewBuilder().WithUpdate(expression.Set(expression.Name("waiting"), expression.Name("waiting").Minus(one))).Build()
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 &s.table,
			Key:                       key(eventPK(eventID), eventStateSK),
			UpdateExpression:          expr.Update(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		})
		if err == nil {
			return nil
		}
		if !transactionConflict(err) || attempt >= writeAttempts {
			return fmt.Errorf("release a waiting-list place at event %s: %w", eventID, err)
		}
		if err := sleep(ctx, bookBackoff(attempt)); err != nil {
			return err
		}
	}
}

// nearDeadline reports whether ctx ends within a second: too soon for another attempt and the
// answer (a retry at that point would end as the function's timeout, a bare 5xx).
func nearDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < time.Second
}

// bookBackoff is the pause before a booking's retry attempt n after a conflict: exponential
// from 5 ms with full jitter, capped at 200 ms. Bookings into one popular event contend for
// its E#STATE item; short pauses keep a burst of them moving well inside the API's timeout.
func bookBackoff(attempt int) time.Duration {
	d := min(5*time.Millisecond<<min(attempt, 6), 200*time.Millisecond)
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// bookPositions are the positions in Book's transaction of the items whose condition decides
// what a failure means (idem is -1 without an Idempotency-Key).
type bookPositions struct{ idem, lock, state int }

// bookTransaction returns Book's transaction for b as it stands: confirmed (the E#STATE
// counters in the same transaction, on the capacity conditions), or waitlisted at the position
// reserveWaitingPlace took (E#STATE is not in it: the reservation counted it). The idempotency
// record and the email lock come first: when several conditions fail, they decide (a replay,
// then an address already booked), whichever server reports which of the failed conditions.
func (s *Store) bookTransaction(ev event.Event, b event.Booking, o event.BookOptions, m mail.Mail, now time.Time) ([]types.TransactWriteItem, bookPositions, error) {
	pk := eventPK(ev.ID)
	expires := ev.EndsAt.Add(bookingKeep).Unix()
	var tx []types.TransactWriteItem
	at := bookPositions{idem: -1, state: -1}
	if o.IdempotencyKey != "" {
		item, err := marshalRecord(idempotencyItem{
			RequestHash: o.RequestHash,
			BookingID:   b.ID,
			Booking: bookingResponse{ID: b.ID, EventID: b.EventID, Status: b.Status, Position: b.Position,
				Ticket: b.Ticket, AmountPence: b.AmountPence, CreatedAt: b.CreatedAt},
			ExpiresAt: now.Add(idempotencyKeep).Unix(),
		}, pk, idemSKPrefix+o.IdempotencyKey)
		if err != nil {
			return nil, at, fmt.Errorf("encode idempotency record: %w", err)
		}
		unused := expression.AttributeNotExists(expression.Name("pk")).Or(expression.Name("expires_at").LessThan(expression.Value(now.Unix())))
		put, err := s.conditionalPut(item, unused)
		if err != nil {
			return nil, at, err
		}
		at.idem = len(tx)
		tx = append(tx, put)
	}

	lock, err := s.conditionalPut(map[string]types.AttributeValue{
		"pk":         &types.AttributeValueMemberS{Value: pk},
		"sk":         &types.AttributeValueMemberS{Value: emailLockPrefix + event.EmailKey(b.Email)},
		"booking_id": &types.AttributeValueMemberS{Value: b.ID},
		"expires_at": &types.AttributeValueMemberN{Value: fmt.Sprint(expires)},
	}, expression.AttributeNotExists(expression.Name("pk")))
	if err != nil {
		return nil, at, err
	}
	at.lock = len(tx)
	tx = append(tx, lock)

	if b.Status == event.BookingConfirmed {
		counter := ticketPath("ticket_confirmed", b.Ticket)
		up := expression.Set(expression.Name("confirmed"), expression.Name("confirmed").Plus(one)).
			Set(counter, counter.Plus(one))
		cond := bookingOpen(now).And(expression.Name("confirmed").LessThan(expression.Name("capacity")), ticketFits(b.Ticket))
		state, err := s.txUpdate(pk, eventStateSK, up, &cond)
		if err != nil {
			return nil, at, err
		}
		at.state = len(tx)
		tx = append(tx, state)
	}

	if b.Status == event.BookingWaitlisted {
		entry, err := marshalRecord(map[string]any{"booking_id": b.ID, "ticket": b.Ticket, "position": b.Position, "expires_at": expires}, pk, waitSK(b.Position))
		if err != nil {
			return nil, at, fmt.Errorf("encode waiting-list entry: %w", err)
		}
		put, err := s.conditionalPut(entry, expression.AttributeNotExists(expression.Name("pk")))
		if err != nil {
			return nil, at, err
		}
		tx = append(tx, put)
	}

	item, err := marshalRecord(b, pk, bookingSK(b.ID))
	if err != nil {
		return nil, at, fmt.Errorf("encode booking %s: %w", b.ID, err)
	}
	item["expires_at"] = &types.AttributeValueMemberN{Value: fmt.Sprint(expires)}
	token := map[string]types.AttributeValue{
		"pk":         &types.AttributeValueMemberS{Value: tokenPK(o.TokenHash)},
		"sk":         &types.AttributeValueMemberS{Value: tokenSK},
		"event_id":   &types.AttributeValueMemberS{Value: ev.ID},
		"booking_id": &types.AttributeValueMemberS{Value: b.ID},
		"expires_at": &types.AttributeValueMemberN{Value: fmt.Sprint(expires)},
	}
	for _, it := range []map[string]types.AttributeValue{item, token} {
		put, err := s.conditionalPut(it, expression.AttributeNotExists(expression.Name("pk")))
		if err != nil {
			return nil, at, err
		}
		tx = append(tx, put)
	}
	kind := event.MailConfirmation
	if b.Status == event.BookingWaitlisted {
		kind = event.MailWaitlisted
	}
	mp, err := s.bookingMailPut(kind, b, m, now)
	if err != nil {
		return nil, at, err
	}
	return append(tx, mp), at, nil
}

// replay returns the booking an Idempotency-Key's first request made; ok is false when its
// record is gone (expired).
func (s *Store) replay(ctx context.Context, eventID string, o event.BookOptions, now time.Time) (event.Booking, bool, error) {
	item, err := s.getItem(ctx, eventPK(eventID), idemSKPrefix+o.IdempotencyKey)
	if err != nil {
		return event.Booking{}, false, err
	}
	var rec idempotencyItem
	if err := attributevalue.UnmarshalMapWithOptions(item, &rec, jsonTagsDecode); err != nil {
		return event.Booking{}, false, fmt.Errorf("decode idempotency record: %w", err)
	}
	if item == nil || rec.ExpiresAt < now.Unix() {
		return event.Booking{}, false, nil
	}
	if rec.RequestHash != o.RequestHash {
		return event.Booking{}, false, event.ErrIdempotencyKeyReused
	}
	r := rec.Booking
	b := event.Booking{ID: r.ID, EventID: r.EventID, Status: r.Status, Position: r.Position, AmountPence: r.AmountPence, CreatedAt: r.CreatedAt}
	b.Ticket = r.Ticket
	return b, true, nil
}

// BookingByToken returns the booking a cancel link's token names: GetItem
// pk=BOOKINGTOKEN#<tokenHash> sk=TOKEN, then the booking (Booking), both strongly consistent
// (the link may be followed a moment after booking). ok is false for an unknown token.
func (s *Store) BookingByToken(ctx context.Context, tokenHash string) (b event.Booking, ok bool, err error) {
	item, err := s.getItem(ctx, tokenPK(tokenHash), tokenSK)
	if item == nil || err != nil {
		return b, false, err
	}
	var ref struct {
		EventID   string `json:"event_id"`
		BookingID string `json:"booking_id"`
	}
	if err := attributevalue.UnmarshalMapWithOptions(item, &ref, jsonTagsDecode); err != nil {
		return b, false, fmt.Errorf("decode booking token: %w", err)
	}
	return s.Booking(ctx, ref.EventID, ref.BookingID)
}

// Booking returns one booking with the times its mails were sent (Mails): GetItem
// pk=EVENT#<eventID> sk=B#<bookingID>, strongly consistent. ok is false when there is none.
func (s *Store) Booking(ctx context.Context, eventID, bookingID string) (b event.Booking, ok bool, err error) {
	item, err := s.getItem(ctx, eventPK(eventID), bookingSK(bookingID))
	if item == nil || err != nil {
		return b, false, err
	}
	b, err = decodeBooking(item)
	return b, err == nil, err
}

// Bookings returns every booking of an event (confirmed, waitlisted and cancelled), in the
// order they were made: Query pk=EVENT#<eventID> sk begins_with B#, strongly consistent, all
// pages.
func (s *Store) Bookings(ctx context.Context, eventID string) ([]event.Booking, error) {
	cond := expression.Key("pk").Equal(expression.Value(eventPK(eventID))).And(expression.Key("sk").BeginsWith(bookingSKPrefix))
	var bs []event.Booking
	err := s.queryEach(ctx, expression.NewBuilder().WithKeyCondition(cond), true, func(item map[string]types.AttributeValue) error {
		b, err := decodeBooking(item)
		bs = append(bs, b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bookings of %s: %w", eventID, err)
	}
	slices.SortStableFunc(bs, func(a, b event.Booking) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return bs, nil
}

// decodeBooking decodes a B# item, with the outbox's mail_sent_<kind> stamps as Mails.
func decodeBooking(item map[string]types.AttributeValue) (event.Booking, error) {
	var b event.Booking
	if err := attributevalue.UnmarshalMapWithOptions(item, &b, jsonTagsDecode); err != nil {
		return b, fmt.Errorf("decode booking: %w", err)
	}
	for name, av := range item {
		kind, ok := strings.CutPrefix(name, stampPrefix)
		if !ok {
			continue
		}
		var at time.Time
		if err := attributevalue.Unmarshal(av, &at); err != nil {
			return b, fmt.Errorf("decode booking %s %s: %w", b.ID, name, err)
		}
		if b.Mails == nil {
			b.Mails = map[string]time.Time{}
		}
		b.Mails[kind] = at
	}
	return b, nil
}

// CancelBooking cancels a booking at the attendee's request, and gives a freed place to the
// first person on the waiting list whose ticket fits, in one transaction. It reads the booking,
// E#STATE and the waiting list's first entries (Query W#, ascending, consistent) to choose, and
// writes on conditions that make the choice still right:
//
//   - a confirmed booking: B# status cancelled (on condition status = confirmed), Delete M#
//     (the address may book again), the cancelled mail; while the event takes bookings, the
//     first waiting entry whose ticket fits once the place is free is promoted: its B#
//     confirmed (on condition status = waitlisted), Delete its W#, E#STATE's ticket counts
//     moved and waiting − 1 (on condition that the event is still open and its ticket still
//     fits), the promoted mail. With nobody to promote, E#STATE's confirmed and ticket count
//     − 1, on condition that waitlist_seq is as read (nobody joined the list meanwhile);
//   - a waitlisted booking: B# cancelled, Delete W# and M#, waiting − 1, the cancelled mail.
//
// Every one of these E#STATE updates is also on condition that the event is not cancelled.
// A condition that fails (another cancellation promoted the same person, someone joined the
// waiting list, staff cancelled the event) or a transaction conflict reads again and
// retries, at most writeAttempts times. A booking already cancelled is returned with
// AlreadyCancelled and nothing is written; an unknown one is event.ErrBookingNotFound; a
// booking of an event staff have cancelled is event.ErrEventCancelled, and nothing is
// written (no counter moves, no mail: the event-cancelled mail told them). The token item is
// kept: the link still shows the booking, as cancelled.
func (s *Store) CancelBooking(ctx context.Context, eventID, bookingID string, now time.Time, render func(kind string, b event.Booking) (mail.Mail, error)) (event.CancelResult, error) {
	for attempt := 0; attempt < writeAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(min(attempt, 7))); err != nil {
				return event.CancelResult{}, err
			}
		}
		b, ok, err := s.Booking(ctx, eventID, bookingID)
		if err != nil {
			return event.CancelResult{}, err
		}
		if !ok {
			return event.CancelResult{}, event.ErrBookingNotFound
		}
		if b.Status == event.BookingCancelled {
			return event.CancelResult{Booking: b, AlreadyCancelled: true}, nil
		}
		st, ok, err := s.eventState(ctx, eventID)
		if err != nil {
			return event.CancelResult{}, err
		}
		if !ok {
			return event.CancelResult{}, event.ErrEventNotFound
		}
		if st.Status == event.StatusCancelled {
			return event.CancelResult{}, event.ErrEventCancelled
		}
		var promote *event.Booking
		if b.Status == event.BookingConfirmed && st.open(now) && st.Confirmed-1 < st.Capacity {
			fits := func(t string) bool { return t == b.Ticket || st.ticketHasRoom(t) }
			if promote, err = s.firstWaiting(ctx, eventID, fits); err != nil {
				return event.CancelResult{}, err
			}
		}
		res, tx, err := s.cancelTransaction(b, promote, st, now, render)
		if err != nil {
			return event.CancelResult{}, err
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		if err == nil {
			return res, nil
		}
		if !conditionFailed(err) && !transactionConflict(err) {
			return event.CancelResult{}, fmt.Errorf("cancel booking %s: %w", bookingID, err)
		}
	}
	return event.CancelResult{}, fmt.Errorf("cancel booking %s: gave up after %d attempts (too many concurrent writes)", bookingID, writeAttempts)
}

// cancelTransaction returns CancelBooking's transaction for b (confirmed or waitlisted),
// promoting p (nil for nobody), and what it does.
func (s *Store) cancelTransaction(b event.Booking, p *event.Booking, st eventState, now time.Time, render func(kind string, b event.Booking) (mail.Mail, error)) (event.CancelResult, []types.TransactWriteItem, error) {
	pk := eventPK(b.EventID)
	was := b.Status
	b.Status, b.CancelledAt = event.BookingCancelled, now
	res := event.CancelResult{Booking: b}

	cancel, err := s.setStatus(b, was, now)
	if err != nil {
		return res, nil, err
	}
	tx := []types.TransactWriteItem{cancel, {Delete: &types.Delete{TableName: &s.table, Key: key(pk, emailLockPrefix+event.EmailKey(b.Email))}}}

	var up expression.UpdateBuilder
	// Whatever else, the event has not been cancelled meanwhile (staff's cancellation tells
	// everyone; the attendee's would send a second mail).
	cond := expression.Name("status").NotEqual(expression.Value(event.StatusCancelled))
	mine := ticketPath("ticket_confirmed", b.Ticket)
	switch {
	case was == event.BookingWaitlisted:
		tx = append(tx, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(pk, waitSK(b.Position))}})
		up = expression.Set(expression.Name("waiting"), expression.Name("waiting").Minus(one))
	case p == nil:
		up = expression.Set(expression.Name("confirmed"), expression.Name("confirmed").Minus(one)).Set(mine, mine.Minus(one))
		cond = cond.And(expression.Name("waitlist_seq").Equal(expression.Value(st.WaitlistSeq)))
	default:
		promo, err := s.promotion(*p, now, render)
		if err != nil {
			return res, nil, err
		}
		tx = append(tx, promo.items...)
		up = expression.Set(expression.Name("waiting"), expression.Name("waiting").Minus(one))
		cond = cond.And(bookingOpen(now))
		if p.Ticket != b.Ticket {
			theirs := ticketPath("ticket_confirmed", p.Ticket)
			up = up.Set(mine, mine.Minus(one)).Set(theirs, theirs.Plus(one))
			cond = cond.And(ticketFits(p.Ticket))
		}
		res.Promoted = []event.Booking{promo.booking}
		res.MailIDs = append(res.MailIDs, promo.mailID)
	}
	state, err := s.txUpdate(pk, eventStateSK, up, &cond)
	if err != nil {
		return res, nil, err
	}
	tx = append(tx, state)

	m, err := render(event.MailCancelled, b)
	if err != nil {
		return res, nil, fmt.Errorf("render cancelled mail %s: %w", b.ID, err)
	}
	mp, err := s.bookingMailPut(event.MailCancelled, b, m, now)
	if err != nil {
		return res, nil, err
	}
	tx = append(tx, mp)
	res.MailIDs = append([]string{event.MailID(event.MailCancelled, b.ID)}, res.MailIDs...)
	return res, tx, nil
}

// promotionItems are the writes that move a waitlisted booking to a confirmed place, except
// the counters of E#STATE (the caller's update moves them with its own).
type promotionItems struct {
	items   []types.TransactWriteItem
	booking event.Booking // as promoted
	mailID  string
}

// promotion returns the writes promoting p: its B# confirmed (on condition it is still
// waitlisted), its W# deleted, the promoted mail.
func (s *Store) promotion(p event.Booking, now time.Time, render func(kind string, b event.Booking) (mail.Mail, error)) (promotionItems, error) {
	p.Status, p.ConfirmedAt = event.BookingConfirmed, now
	confirm, err := s.setStatus(p, event.BookingWaitlisted, now)
	if err != nil {
		return promotionItems{}, err
	}
	m, err := render(event.MailPromoted, p)
	if err != nil {
		return promotionItems{}, fmt.Errorf("render promoted mail %s: %w", p.ID, err)
	}
	mp, err := s.bookingMailPut(event.MailPromoted, p, m, now)
	if err != nil {
		return promotionItems{}, err
	}
	return promotionItems{
		items: []types.TransactWriteItem{
			confirm,
			{Delete: &types.Delete{TableName: &s.table, Key: key(eventPK(p.EventID), waitSK(p.Position))}},
			mp,
		},
		booking: p,
		mailID:  event.MailID(event.MailPromoted, p.ID),
	}, nil
}

// setStatus is the update of b's B# to b.Status (with confirmed_at or cancelled_at now), on
// condition that its status is still was. Only these attributes are set: the outbox's
// mail_sent_<kind> stamps stay.
func (s *Store) setStatus(b event.Booking, was string, now time.Time) (types.TransactWriteItem, error) {
	at := "confirmed_at"
	if b.Status == event.BookingCancelled {
		at = "cancelled_at"
	}
	up := expression.Set(expression.Name("status"), expression.Value(b.Status)).Set(expression.Name(at), expression.Value(timeKey(now)))
	cond := expression.Name("status").Equal(expression.Value(was))
	u, err := s.txUpdate(eventPK(b.EventID), bookingSK(b.ID), up, &cond)
	return u, err
}

// firstWaiting returns the booking of the first waiting-list entry whose ticket fits (nil if
// none): Query pk=EVENT#<id> sk begins_with W#, ascending, consistent, waitPage entries a page.
func (s *Store) firstWaiting(ctx context.Context, eventID string, fits func(ticket string) bool) (*event.Booking, error) {
	cond := expression.Key("pk").Equal(expression.Value(eventPK(eventID))).And(expression.Key("sk").BeginsWith(waitSKPrefix))
	expr, err := expression.NewBuilder().WithKeyCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("build waiting-list query: %w", err)
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 &s.table,
		ConsistentRead:            aws.Bool(true),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		Limit:                     aws.Int32(waitPage),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("waiting list of %s: %w", eventID, err)
		}
		for _, item := range page.Items {
			var w struct {
				BookingID string `json:"booking_id"`
				Ticket    string `json:"ticket"`
			}
			if err := attributevalue.UnmarshalMapWithOptions(item, &w, jsonTagsDecode); err != nil {
				return nil, fmt.Errorf("decode waiting-list entry: %w", err)
			}
			if !fits(w.Ticket) {
				continue
			}
			b, ok, err := s.Booking(ctx, eventID, w.BookingID)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("waiting list of %s: the entry of booking %s has no booking", eventID, w.BookingID)
			}
			if b.Status != event.BookingWaitlisted {
				continue // promoted or cancelled since the list was read
			}
			return &b, nil
		}
	}
	return nil, nil
}

// Promote fills an event's free places from its waiting list, in order, one transaction per
// person: the first entry whose ticket fits (Query W#), its B# confirmed, its W# deleted,
// E#STATE confirmed + 1, its ticket + 1 and waiting − 1 on condition that the event is open,
// confirmed < capacity and the ticket fits, and the promoted mail. Staff call it after raising
// the capacity or a ticket's limit. It returns the promoted bookings and their mails' IDs;
// a closed or cancelled event promotes nobody.
func (s *Store) Promote(ctx context.Context, eventID string, now time.Time, render func(kind string, b event.Booking) (mail.Mail, error)) (promoted []event.Booking, mailIDs []string, err error) {
	failures := 0
	for failures < writeAttempts {
		if failures > 0 {
			if err := sleep(ctx, backoff(min(failures, 7))); err != nil {
				return promoted, mailIDs, err
			}
		}
		st, ok, err := s.eventState(ctx, eventID)
		if err != nil {
			return promoted, mailIDs, err
		}
		if !ok {
			return promoted, mailIDs, event.ErrEventNotFound
		}
		if !st.open(now) || st.Confirmed >= st.Capacity {
			return promoted, mailIDs, nil
		}
		p, err := s.firstWaiting(ctx, eventID, st.ticketHasRoom)
		if err != nil || p == nil {
			return promoted, mailIDs, err
		}
		promo, err := s.promotion(*p, now, render)
		if err != nil {
			return promoted, mailIDs, err
		}
		counter := ticketPath("ticket_confirmed", p.Ticket)
		up := expression.Set(expression.Name("confirmed"), expression.Name("confirmed").Plus(one)).
			Set(counter, counter.Plus(one)).
			Set(expression.Name("waiting"), expression.Name("waiting").Minus(one))
		cond := bookingOpen(now).And(expression.Name("confirmed").LessThan(expression.Name("capacity")), ticketFits(p.Ticket))
		state, err := s.txUpdate(eventPK(eventID), eventStateSK, up, &cond)
		if err != nil {
			return promoted, mailIDs, err
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append(promo.items, state)})
		switch {
		case err == nil:
			promoted = append(promoted, promo.booking)
			mailIDs = append(mailIDs, promo.mailID)
		case conditionFailed(err) || transactionConflict(err):
			failures++
		default:
			return promoted, mailIDs, fmt.Errorf("promote on %s: %w", eventID, err)
		}
	}
	return promoted, mailIDs, fmt.Errorf("promote on %s: gave up after %d failed attempts (too many concurrent writes)", eventID, writeAttempts)
}

// CancelEventMails records the event-cancelled mail of every confirmed and waitlisted booking
// of a cancelled event (Bookings, then PutItem of each mail on condition that it does not
// exist, a few at a time), and returns the IDs of those recorded now. Nobody is told twice:
// a booking whose event-cancelled mail was sent (stamped on the booking, which outlives the
// outbox record) is skipped, and a mail recorded before (the cancellation is retried) is not
// recorded again while its outbox record lasts (30 days). Bookings already cancelled by their
// attendee get no mail.
func (s *Store) CancelEventMails(ctx context.Context, eventID string, now time.Time, render func(kind string, b event.Booking) (mail.Mail, error)) ([]string, error) {
	bs, err := s.Bookings(ctx, eventID)
	if err != nil {
		return nil, err
	}
	todo := make(chan event.Booking)
	var (
		mu       sync.Mutex
		recorded []string
		errs     []error
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range writers {
		wg.Go(func() {
			for b := range todo {
				id, err := s.recordEventCancelled(ctx, b, now, render)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
					cancel()
				} else if id != "" {
					recorded = append(recorded, id)
				}
				mu.Unlock()
			}
		})
	}
	for _, b := range bs {
		if b.Status != event.BookingConfirmed && b.Status != event.BookingWaitlisted {
			continue
		}
		if _, sent := b.Mails[event.MailEventCancelled]; sent {
			continue
		}
		select {
		case todo <- b:
		case <-ctx.Done():
		}
	}
	close(todo)
	wg.Wait()
	if len(errs) > 0 {
		return recorded, errors.Join(errs...)
	}
	slices.Sort(recorded)
	return recorded, nil
}

// recordEventCancelled records b's event-cancelled mail unless it is recorded already; id is
// "" then.
func (s *Store) recordEventCancelled(ctx context.Context, b event.Booking, now time.Time, render func(kind string, b event.Booking) (mail.Mail, error)) (id string, err error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m, err := render(event.MailEventCancelled, b)
	if err != nil {
		return "", fmt.Errorf("render event-cancelled mail %s: %w", b.ID, err)
	}
	tx, err := s.bookingMailPut(event.MailEventCancelled, b, m, now)
	if err != nil {
		return "", err
	}
	put := tx.Put
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 put.TableName,
		Item:                      put.Item,
		ConditionExpression:       put.ConditionExpression,
		ExpressionAttributeNames:  put.ExpressionAttributeNames,
		ExpressionAttributeValues: put.ExpressionAttributeValues,
	})
	switch {
	case conditionFailed(err):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("record event-cancelled mail %s: %w", b.ID, err)
	}
	return event.MailID(event.MailEventCancelled, b.ID), nil
}

// bookingMailPut is the outbox Put (mailPut) of m, the mail of kind about b: its ID is
// event.MailID(kind, b.ID) (so it is recorded once) and, when sent, it stamps b's B#.
func (s *Store) bookingMailPut(kind string, b event.Booking, m mail.Mail, now time.Time) (types.TransactWriteItem, error) {
	m.ID = event.MailID(kind, b.ID)
	m.Stamp = &mail.Stamp{PK: eventPK(b.EventID), SK: bookingSK(b.ID), Kind: kind}
	put, err := s.mailPut(m, now)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: put}, nil
}

// conditionalPut is a transaction's Put of item on condition cond.
func (s *Store) conditionalPut(item map[string]types.AttributeValue, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("build condition: %w", err)
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}}, nil
}

// txUpdate is a transaction's Update of pk, sk by up, on condition cond (nil for none).
func (s *Store) txUpdate(pk, sk string, up expression.UpdateBuilder, cond *expression.ConditionBuilder) (types.TransactWriteItem, error) {
	b := expression.NewBuilder().WithUpdate(up)
	if cond != nil {
		b = b.WithCondition(*cond)
	}
	expr, err := b.Build()
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("build update of %s %s: %w", pk, sk, err)
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 &s.table,
		Key:                       key(pk, sk),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}}, nil
}
