package dynamo

// Events' items (bookings.go has the booking items of the same partition):
//
//	pk                  sk          what
//	EVENT#<id>          E#DETAIL    the event as staff wrote it (description, description_html, the
//	                                location's joining_url), without the counts
//	EVENT#<id>          E#STATE     the booking state and the public summary: every field but
//	                                description, description_html and location.joining_url, with
//	                                the counters confirmed, waiting, waitlist_seq, ticket_confirmed
//	                                (ticket ID → confirmed places, every ticket) and ticket_capacity
//	                                (ticket ID → its own limit, only tickets that have one; absent,
//	                                or NULL after an update, when none has); gsi2pk EVENTS,
//	                                gsi2sk <ends_at>#<id>
//
// The two are written together (one transaction) whenever staff change the event; bookings
// change only E#STATE's counters, with conditions on them (never by reading then writing).

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/shared/apperr"
	"sectorhub/shared/event"
)

const (
	eventPKPrefix  = "EVENT#"
	eventSKPrefix  = "E#"
	eventDetailSK  = eventSKPrefix + "DETAIL"
	eventStateSK   = eventSKPrefix + "STATE"
	eventsGSIPK    = "EVENTS"
	gsi2           = "gsi2"
	eventsPageSize = 100 // StaffEvents' limit when the caller gives none
)

func eventPK(id string) string { return eventPKPrefix + id }

// eventsSortKey is an event's gsi2 sort key: events sort by the time they end.
func eventsSortKey(endsAt time.Time, id string) string { return timeKey(endsAt) + "#" + id }

// Counters of E#STATE that only bookings change; an update of the event keeps them.
var eventCounters = []string{"confirmed", "waiting", "waitlist_seq", "ticket_confirmed"}

// detailItem is ev's E#DETAIL item: the event without its counts.
func detailItem(ev event.Event) (map[string]types.AttributeValue, error) {
	item, err := marshalRecord(ev, eventPK(ev.ID), eventDetailSK)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	for _, k := range eventCounters {
		delete(item, k)
	}
	return item, nil
}

// stateItem is ev's E#STATE item with every counter at zero: the listing fields, capacity,
// ticket_capacity and the gsi2 keys. UpdateEvent sets its listing fields on the stored one.
func stateItem(ev event.Event) (map[string]types.AttributeValue, error) {
	ev.Description, ev.DescriptionHTML = "", ""
	ev.Location = ev.Location.Public()
	ev.Confirmed, ev.Waiting = 0, 0
	ev.TicketConfirmed = make(map[string]int, len(ev.Tickets))
	limits := map[string]int{}
	for _, t := range ev.Tickets {
		ev.TicketConfirmed[t.ID] = 0
		if t.Capacity > 0 {
			limits[t.ID] = t.Capacity
		}
	}
	item, err := marshalRecord(ev, eventPK(ev.ID), eventStateSK)
	if err != nil {
		return nil, fmt.Errorf("encode event state %s: %w", ev.ID, err)
	}
	delete(item, "description")
	delete(item, "description_html")
	item["waitlist_seq"] = &types.AttributeValueMemberN{Value: "0"}
	if len(limits) > 0 { // never an empty map (see marshalItem)
		if item["ticket_capacity"], err = attributevalue.Marshal(limits); err != nil {
			return nil, fmt.Errorf("encode ticket limits %s: %w", ev.ID, err)
		}
	}
	item["gsi2pk"] = &types.AttributeValueMemberS{Value: eventsGSIPK}
	item["gsi2sk"] = &types.AttributeValueMemberS{Value: eventsSortKey(ev.EndsAt, ev.ID)}
	return item, nil
}

// ticketPath is the document path of ticket id's entry in the map attribute m
// (ticket_confirmed.<id>, ticket_capacity.<id>): the ID is one name, whatever it holds.
func ticketPath(m, id string) expression.NameBuilder {
	return expression.Name(m).AppendName(expression.NameNoDotSplit(id))
}

// CreateEvent stores a new event, its counts at zero: E#DETAIL and E#STATE under pk=EVENT#<id>
// in one transaction, each on condition attribute_not_exists(pk) (an ID is used once).
func (s *Store) CreateEvent(ctx context.Context, ev event.Event) error {
	detail, err := detailItem(ev)
	if err != nil {
		return err
	}
	state, err := stateItem(ev)
	if err != nil {
		return err
	}
	expr, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name("pk"))).Build()
	if err != nil {
		return fmt.Errorf("build event condition: %w", err)
	}
	put := func(item map[string]types.AttributeValue) types.TransactWriteItem {
		return types.TransactWriteItem{Put: &types.Put{
			TableName:                 &s.table,
			Item:                      item,
			ConditionExpression:       expr.Condition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		}}
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{put(detail), put(state)}})
	if conditionFailed(err) {
		return apperr.Errorf(apperr.Conflict, "an event with this id already exists")
	}
	if err != nil {
		return fmt.Errorf("create event %s: %w", ev.ID, err)
	}
	return nil
}

// EventByID returns an event as staff wrote it with its current counts: Query pk=EVENT#<id>
// sk begins_with E#, strongly consistent (E#DETAIL, with confirmed, waiting and
// ticket_confirmed from E#STATE). ok is false when there is no such event.
func (s *Store) EventByID(ctx context.Context, id string) (ev event.Event, ok bool, err error) {
	cond := expression.Key("pk").Equal(expression.Value(eventPK(id))).And(expression.Key("sk").BeginsWith(eventSKPrefix))
	var counts event.Event
	var haveDetail bool
	err = s.queryEach(ctx, expression.NewBuilder().WithKeyCondition(cond), true, func(item map[string]types.AttributeValue) error {
		switch sk := item["sk"].(*types.AttributeValueMemberS); sk.Value {
		case eventDetailSK:
			haveDetail = true
			return attributevalue.UnmarshalMapWithOptions(item, &ev, jsonTagsDecode)
		case eventStateSK:
			return attributevalue.UnmarshalMapWithOptions(item, &counts, jsonTagsDecode)
		}
		return nil
	})
	if err != nil {
		return ev, false, fmt.Errorf("event %s: %w", id, err)
	}
	if !haveDetail {
		return ev, false, nil
	}
	ev.Confirmed, ev.Waiting, ev.TicketConfirmed = counts.Confirmed, counts.Waiting, counts.TicketConfirmed
	return ev, true, nil
}

// UpdateEvent replaces old (as read by EventByID) with updated, in one transaction:
//
//   - Put E#DETAIL on condition updated_at = old.UpdatedAt (nobody else changed it since it
//     was read; else event.ErrEventChanged);
//   - Update E#STATE: set its listing fields, capacity and ticket_capacity from updated, keep
//     the counters, give new tickets a counter at 0 (if_not_exists) and drop removed
//     tickets' counters; on condition, against the stored counts (a booking or a waitlisting
//     may land between the read and the update), that confirmed <= the new capacity, that
//     every ticket whose price changes or which is removed has no confirmed place, that
//     nobody is waiting (waiting = 0) when any ticket's price changes or any ticket is
//     removed, and that every kept ticket's own limit is at least its confirmed places (else
//     event.ErrEventConflict; the handler reads again to say which, with
//     event.PatchConflict).
//
// A clash with a booking in flight is retried (transact). Waiting-list entries are not counted
// by ticket, so any of them may be waiting for any ticket: while anyone waits, no ticket is
// removed (which would strand them: no ticket would ever fit) and no price changes (they
// would be promoted at a price they were not told).
func (s *Store) UpdateEvent(ctx context.Context, old, updated event.Event) error {
	if updated.ID != old.ID {
		return fmt.Errorf("update event %s: the updated event has id %s", old.ID, updated.ID)
	}
	detail, err := detailItem(updated)
	if err != nil {
		return err
	}
	detailCond, err := expression.NewBuilder().WithCondition(expression.Name("updated_at").Equal(expression.Value(timeKey(old.UpdatedAt)))).Build()
	if err != nil {
		return fmt.Errorf("build event condition: %w", err)
	}
	stateUpdate, err := s.stateUpdate(old, updated)
	if err != nil {
		return err
	}
	tx := []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                 &s.table,
			Item:                      detail,
			ConditionExpression:       detailCond.Condition(),
			ExpressionAttributeNames:  detailCond.Names(),
			ExpressionAttributeValues: detailCond.Values(),
		}},
		{Update: stateUpdate},
	}
	err = s.transact(ctx, tx)
	switch failed := failedConditions(err); {
	case err == nil:
		return nil
	case failed[0]:
		return event.ErrEventChanged
	case failed[1]:
		return event.ErrEventConflict
	default:
		return fmt.Errorf("update event %s: %w", old.ID, err)
	}
}

// stateUpdate is UpdateEvent's update of E#STATE (see there).
func (s *Store) stateUpdate(old, updated event.Event) (*types.Update, error) {
	next, err := stateItem(updated)
	if err != nil {
		return nil, err
	}
	prev, err := stateItem(old)
	if err != nil {
		return nil, err
	}
	var up expression.UpdateBuilder
	for _, name := range slices.Sorted(maps.Keys(next)) {
		if name == "pk" || name == "sk" || slices.Contains(eventCounters, name) {
			continue
		}
		up = up.Set(expression.Name(name), expression.Value(next[name]))
	}
	// An attribute that goes (the last theme, the last ticket limit) is set to NULL, which
	// every reader takes as absent (chosen when the embedded server ignored REMOVE of a
	// top-level attribute; its wrapper now applies REMOVE).
	null := &types.AttributeValueMemberNULL{Value: true}
	for _, name := range slices.Sorted(maps.Keys(prev)) {
		if _, kept := next[name]; !kept && !slices.Contains(eventCounters, name) {
			up = up.Set(expression.Name(name), expression.Value(null))
		}
	}

	zero := expression.Value(0)
	cond := expression.Name("confirmed").LessThanEqual(expression.Value(updated.Capacity))
	nobodyWaiting := false // the condition waiting = 0 is added
	for _, t := range old.Tickets {
		counter := ticketPath("ticket_confirmed", t.ID)
		nt, kept := updated.Ticket(t.ID)
		if !kept {
			up = up.Remove(counter)
		}
		if !kept || nt.PricePence != t.PricePence {
			cond = cond.And(counter.Equal(zero))
			if !nobodyWaiting {
				cond = cond.And(expression.Name("waiting").Equal(zero))
				nobodyWaiting = true
			}
		}
		if kept && nt.Capacity > 0 {
			cond = cond.And(counter.LessThanEqual(expression.Value(nt.Capacity)))
		}
	}
	for _, t := range updated.Tickets {
		if _, existed := old.Ticket(t.ID); !existed {
			counter := ticketPath("ticket_confirmed", t.ID)
			up = up.Set(counter, counter.IfNotExists(zero))
		}
	}
	expr, err := expression.NewBuilder().WithUpdate(up).WithCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("build event update %s: %w", old.ID, err)
	}
	return &types.Update{
		TableName:                 &s.table,
		Key:                       key(eventPK(old.ID), eventStateSK),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, nil
}

// CancelEvent cancels an event: one transaction sets status cancelled, cancelled_at and
// updated_at (now) on E#DETAIL and E#STATE, on condition that the event exists and is not
// cancelled. Bookings close at once (Book's condition requires published); the bookings
// themselves are kept, and CancelEventMails tells their people. changed is false, and nothing
// is written, when the event was already cancelled (cancelling is idempotent); the error is
// event.ErrEventNotFound when there is no such event. ev is the event as it now stands.
func (s *Store) CancelEvent(ctx context.Context, id string, now time.Time) (ev event.Event, changed bool, err error) {
	up := expression.Set(expression.Name("status"), expression.Value(event.StatusCancelled)).
		Set(expression.Name("cancelled_at"), expression.Value(timeKey(now))).
		Set(expression.Name("updated_at"), expression.Value(timeKey(now)))
	cond := expression.AttributeExists(expression.Name("pk")).And(expression.Name("status").NotEqual(expression.Value(event.StatusCancelled)))
	expr, err := expression.NewBuilder().WithUpdate(up).WithCondition(cond).Build()
	if err != nil {
		return ev, false, fmt.Errorf("build event cancellation: %w", err)
	}
	update := func(sk string) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName:                 &s.table,
			Key:                       key(eventPK(id), sk),
			UpdateExpression:          expr.Update(),
			ConditionExpression:       expr.Condition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		}}
	}
	err = s.transact(ctx, []types.TransactWriteItem{update(eventDetailSK), update(eventStateSK)})
	if err != nil && !conditionFailed(err) {
		return ev, false, fmt.Errorf("cancel event %s: %w", id, err)
	}
	ev, ok, rerr := s.EventByID(ctx, id)
	if rerr != nil {
		return ev, false, rerr
	}
	if !ok {
		return ev, false, event.ErrEventNotFound
	}
	return ev, err == nil, nil
}

// UpcomingEvents returns every event (drafts and cancelled ones too: the caller filters) that
// ends after now, soonest end first, from E#STATE (so without description or joining URL):
// Query gsi2 gsi2pk=EVENTS gsi2sk > <now>, all pages. Counts are as of the index, a moment
// behind the table.
func (s *Store) UpcomingEvents(ctx context.Context, now time.Time) ([]event.Event, error) {
	// "$" sorts after "#": an event ending exactly now has ended.
	cond := expression.Key("gsi2pk").Equal(expression.Value(eventsGSIPK)).And(expression.Key("gsi2sk").GreaterThan(expression.Value(timeKey(now) + "$")))
	evs, _, err := s.queryEvents(ctx, expression.NewBuilder().WithKeyCondition(cond), true, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("upcoming events: %w", err)
	}
	return evs, nil
}

// EventsStartingBetween returns the events that start in [from, to), from E#STATE (any status:
// the caller filters): Query gsi2 gsi2pk=EVENTS gsi2sk >= <from>, filtered on starts_at. The
// query is by end time, so an event that starts in the window is found however long it lasts
// (its end is after its start, so after from); what it reads is every event not yet ended,
// tens to hundreds.
func (s *Store) EventsStartingBetween(ctx context.Context, from, to time.Time) ([]event.Event, error) {
	cond := expression.Key("gsi2pk").Equal(expression.Value(eventsGSIPK)).And(expression.Key("gsi2sk").GreaterThanEqual(expression.Value(timeKey(from))))
	filter := expression.Name("starts_at").GreaterThanEqual(expression.Value(timeKey(from))).And(expression.Name("starts_at").LessThan(expression.Value(timeKey(to))))
	evs, _, err := s.queryEvents(ctx, expression.NewBuilder().WithKeyCondition(cond).WithFilter(filter), true, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("events starting between %s and %s: %w", timeKey(from), timeKey(to), err)
	}
	return evs, nil
}

// StaffEvents lists every event (drafts, past and cancelled ones too), the latest end first,
// limit at a time (100 when limit <= 0), from E#STATE: Query gsi2 gsi2pk=EVENTS, descending.
// cursor is the opaque next value of the previous page ("" for the first); next is "" on the
// last page. A cursor that is not one of StaffEvents' is apperr.Invalid.
func (s *Store) StaffEvents(ctx context.Context, limit int, cursor string) (evs []event.Event, next string, err error) {
	if limit <= 0 {
		limit = eventsPageSize
	}
	var start map[string]types.AttributeValue
	if cursor != "" {
		if start, err = decodeEventsCursor(cursor); err != nil {
			return nil, "", err
		}
	}
	cond := expression.Key("gsi2pk").Equal(expression.Value(eventsGSIPK))
	evs, last, err := s.queryEvents(ctx, expression.NewBuilder().WithKeyCondition(cond), false, limit, start)
	if err != nil {
		return nil, "", fmt.Errorf("staff events: %w", err)
	}
	if last != nil {
		next = encodeEventsCursor(last)
	}
	return evs, next, nil
}

// queryEvents runs a Query of gsi2 that b describes and decodes the E#STATE items it returns.
// With limit 0 it reads every page; otherwise it stops at limit events and returns the key
// to go on from (nil when nothing is left).
func (s *Store) queryEvents(ctx context.Context, b expression.Builder, forward bool, limit int, start map[string]types.AttributeValue) ([]event.Event, map[string]types.AttributeValue, error) {
	expr, err := b.Build()
	if err != nil {
		return nil, nil, fmt.Errorf("build query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(gsi2),
		KeyConditionExpression:    expr.KeyCondition(),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          &forward,
		ExclusiveStartKey:         start,
	}
	var evs []event.Event
	for {
		if limit > 0 {
			in.Limit = aws.Int32(int32(limit - len(evs)))
		}
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, nil, err
		}
		for _, item := range out.Items {
			var ev event.Event
			if err := attributevalue.UnmarshalMapWithOptions(item, &ev, jsonTagsDecode); err != nil {
				return nil, nil, fmt.Errorf("decode event: %w", err)
			}
			evs = append(evs, ev)
		}
		if out.LastEvaluatedKey == nil {
			return evs, nil, nil
		}
		if limit > 0 && len(evs) >= limit {
			return evs, out.LastEvaluatedKey, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// The events cursor carries the last event's gsi2sk (<ends_at>#<id>); the fixed parts of the
// key are rebuilt on decoding, so a client cannot steer the query to another partition.
func encodeEventsCursor(k map[string]types.AttributeValue) string {
	sk, _ := k["gsi2sk"].(*types.AttributeValueMemberS)
	if sk == nil {
		return ""
	}
	return sortKeyCursor(sk.Value)
}

func decodeEventsCursor(cursor string) (map[string]types.AttributeValue, error) {
	gsk, id, err := parseSortKeyCursor(cursor)
	if err != nil {
		return nil, err
	}
	return map[string]types.AttributeValue{
		"gsi2pk": &types.AttributeValueMemberS{Value: eventsGSIPK},
		"gsi2sk": &types.AttributeValueMemberS{Value: gsk},
		"pk":     &types.AttributeValueMemberS{Value: eventPK(id)},
		"sk":     &types.AttributeValueMemberS{Value: eventStateSK},
	}, nil
}

// sortKeyCursor is the opaque cursor of a list read from an index whose sort key is
// <timeKey>#<id> (events, imports): the last item's sort key, base64url.
func sortKeyCursor(sk string) string { return base64.RawURLEncoding.EncodeToString([]byte(sk)) }

// parseSortKeyCursor returns the sort key a sortKeyCursor carries and the ID in it, or
// apperr.Invalid for anything else: the caller rebuilds the rest of the key itself.
func parseSortKeyCursor(cursor string) (sk, id string, err error) {
	invalid := apperr.Errorf(apperr.Invalid, "cursor is not valid; use the next_cursor of the previous page")
	b, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil || len(b) > 200 {
		return "", "", invalid
	}
	sk = string(b)
	at, id, ok := strings.Cut(sk, "#")
	if !ok || !validID(id) {
		return "", "", invalid
	}
	if _, err := time.Parse(timeLayout, at); err != nil {
		return "", "", invalid
	}
	return sk, id, nil
}

// marshalRecord is marshalItem without zero times: attributevalue knows no omitzero, and would
// store a zero time (a booking not yet confirmed or cancelled) as "0001-01-01…".
func marshalRecord(v any, pk, sk string) (map[string]types.AttributeValue, error) {
	item, err := marshalItem(v, pk, sk)
	if err != nil {
		return nil, err
	}
	zero := timeKey(time.Time{})
	for k, av := range item {
		if s, ok := av.(*types.AttributeValueMemberS); ok && s.Value == zero {
			delete(item, k)
		}
	}
	return item, nil
}

// transact writes tx, again after a pause while it clashes with another transaction on the
// same items (bookings on a busy event), at most writeAttempts times: its conditions are
// evaluated afresh each time, so retrying is safe.
func (s *Store) transact(ctx context.Context, tx []types.TransactWriteItem) error {
	for attempt := 1; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		if !transactionConflict(err) || attempt == writeAttempts {
			return err
		}
		if err := sleep(ctx, backoff(min(attempt, 7))); err != nil {
			return err
		}
	}
}

// transactionConflict reports whether err is a write that clashed with a transaction in
// flight on the same item (DynamoDB cancels one of them): worth retrying after a pause.
func transactionConflict(err error) bool {
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "TransactionConflict" {
				return true
			}
		}
	}
	var tc *types.TransactionConflictException
	return errors.As(err, &tc)
}
