package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/infra/testenv"
	"sectorhub/shared/apperr"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/event"
)

// testEvent returns a published online event starting two days after t0, capacity 50 with a
// waiting list, and three tickets: member (£95), non-member (£125) and student (free, its own
// limit of 10).
func testEvent(id string) event.Event {
	return event.Event{
		ID:              id,
		Title:           "Involvement managers' network",
		Summary:         "The quarterly meeting",
		Description:     "**Agenda** to follow",
		DescriptionHTML: "<p><strong>Agenda</strong> to follow</p>",
		Type:            event.TypeNetworkMeeting,
		StartsAt:        t0.Add(48 * time.Hour),
		EndsAt:          t0.Add(50 * time.Hour),
		Timezone:        "Europe/London",
		Location:        event.Location{Online: true, JoiningURL: "https://meet.example.org/j/secret"},
		Capacity:        50,
		WaitingList:     true,
		BookingClosesAt: t0.Add(47 * time.Hour),
		Tickets: []event.Ticket{
			{ID: "member", Label: "Member", PricePence: 9500, MembersOnly: true},
			{ID: "non-member", Label: "Non-member", PricePence: 12500},
			{ID: "student", Label: "Student", PricePence: 0, Capacity: 10},
		},
		Themes:    []string{"peer-support"},
		Status:    event.StatusPublished,
		CreatedAt: t0,
		UpdatedAt: t0,
	}
}

func createEvent(tb testing.TB, st *dynamo.Store, ev event.Event) event.Event {
	tb.Helper()
	if err := st.CreateEvent(context.Background(), ev); err != nil {
		tb.Fatalf("CreateEvent(%s): %v", ev.ID, err)
	}
	return readEvent(tb, st, ev.ID)
}

func readEvent(tb testing.TB, st *dynamo.Store, id string) event.Event {
	tb.Helper()
	ev, ok, err := st.EventByID(context.Background(), id)
	if err != nil || !ok {
		tb.Fatalf("EventByID(%s) = %v, %v; want the event", id, ok, err)
	}
	return ev
}

// rawItem returns the stored item pk/sk (nil if none).
func rawItem(tb testing.TB, db *dynamodb.Client, table, pk, sk string) map[string]types.AttributeValue {
	tb.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      &table,
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		tb.Fatalf("GetItem(%s, %s): %v", pk, sk, err)
	}
	return out.Item
}

// stateCounts is what E#STATE holds besides the listing.
type stateCounts struct {
	Confirmed       int            `dynamodbav:"confirmed"`
	Waiting         int            `dynamodbav:"waiting"`
	WaitlistSeq     int            `dynamodbav:"waitlist_seq"`
	TicketConfirmed map[string]int `dynamodbav:"ticket_confirmed"`
	TicketCapacity  map[string]int `dynamodbav:"ticket_capacity"`
}

func readState(tb testing.TB, db *dynamodb.Client, table, id string) stateCounts {
	tb.Helper()
	var c stateCounts
	if err := attributevalue.UnmarshalMap(rawItem(tb, db, table, "EVENT#"+id, "E#STATE"), &c); err != nil {
		tb.Fatalf("decode E#STATE of %s: %v", id, err)
	}
	return c
}

func TestEventCreateAndRead(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		want := testEvent("ev1")
		got := createEvent(t, st, want)

		want.TicketConfirmed = map[string]int{"member": 0, "non-member": 0, "student": 0}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Errorf("EventByID(ev1) =\n%+v\nwant\n%+v", got, want)
		}
		if !got.StartsAt.Equal(want.StartsAt) || got.Location.JoiningURL == "" || got.DescriptionHTML == "" {
			t.Errorf("EventByID(ev1) lost the start, joining URL or description: %+v", got)
		}
		if _, ok, err := st.EventByID(ctx, "nope"); ok || err != nil {
			t.Errorf("EventByID(nope) = %v, %v; want not found", ok, err)
		}
		if err := st.CreateEvent(ctx, testEvent("ev1")); apperr.Code(err) != apperr.Conflict {
			t.Errorf("CreateEvent(ev1) again = %v; want conflict", err)
		}

		state := rawItem(t, db, table, "EVENT#ev1", "E#STATE")
		for _, name := range []string{"description", "description_html", "cancelled_at"} {
			if _, ok := state[name]; ok {
				t.Errorf("E#STATE has %s; want it only in E#DETAIL (or nowhere)", name)
			}
		}
		var loc event.Location
		_ = attributevalue.Unmarshal(state["location"], &loc)
		if loc.JoiningURL != "" || !loc.Online {
			t.Errorf("E#STATE location = %+v; want online without the joining URL", loc)
		}
		counts := readState(t, db, table, "ev1")
		if fmt.Sprint(counts.TicketCapacity) != "map[student:10]" || counts.WaitlistSeq != 0 || len(counts.TicketConfirmed) != 3 {
			t.Errorf("E#STATE counters = %+v; want ticket_capacity only for student, seq 0, every ticket counted", counts)
		}
		if gsk := state["gsi2sk"].(*types.AttributeValueMemberS).Value; gsk != "2026-11-04T11:30:00.000000000Z#ev1" {
			t.Errorf("E#STATE gsi2sk = %q; want the end time and id", gsk)
		}
		detail := rawItem(t, db, table, "EVENT#ev1", "E#DETAIL")
		for _, name := range []string{"confirmed", "waiting", "ticket_confirmed", "gsi2pk"} {
			if _, ok := detail[name]; ok {
				t.Errorf("E#DETAIL has %s; want counts only in E#STATE", name)
			}
		}

		// No limited ticket: no ticket_capacity attribute at all (never an empty map).
		free := testEvent("ev2")
		free.Tickets = free.Tickets[:1]
		free.Themes = nil
		createEvent(t, st, free)
		if _, ok := rawItem(t, db, table, "EVENT#ev2", "E#STATE")["ticket_capacity"]; ok {
			t.Error("E#STATE of an event without ticket limits has ticket_capacity; want none")
		}
	})
}

func TestEventLists(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		// Starts and ends, in hours after t0; "long" runs for three days.
		for _, e := range []struct {
			id         string
			start, end int
			status     string
		}{
			{"past", -30, -28, event.StatusPublished},
			{"ending-now", -2, 0, event.StatusPublished},
			{"long", -24, 48, event.StatusPublished},
			{"soon", 20, 22, event.StatusPublished},
			{"draft", 30, 32, event.StatusDraft},
			{"later", 100, 102, event.StatusPublished},
		} {
			ev := testEvent(e.id)
			ev.StartsAt, ev.EndsAt = t0.Add(time.Duration(e.start)*time.Hour), t0.Add(time.Duration(e.end)*time.Hour)
			ev.BookingClosesAt, ev.Status = ev.StartsAt, e.status
			createEvent(t, st, ev)
		}
		ids := func(evs []event.Event) string {
			var s []string
			for _, ev := range evs {
				s = append(s, ev.ID)
				if ev.Description != "" || ev.DescriptionHTML != "" || ev.Location.JoiningURL != "" {
					t.Errorf("listed event %s has its description or joining URL; want the summary only", ev.ID)
				}
				if len(ev.TicketConfirmed) != 3 {
					t.Errorf("listed event %s ticket_confirmed = %v; want the counts", ev.ID, ev.TicketConfirmed)
				}
			}
			return fmt.Sprint(s)
		}

		up, err := st.UpcomingEvents(ctx, t0)
		if got := ids(up); err != nil || got != "[soon draft long later]" {
			t.Errorf("UpcomingEvents(t0) = %s, %v; want those ending after t0, soonest end first", got, err)
		}

		for _, c := range []struct {
			name     string
			from, to int
			want     string
		}{
			{"window", 0, 24, "[soon]"},
			{"from is inclusive, to is not", 20, 30, "[soon]"},
			{"to is exclusive", 0, 20, "[]"},
			{"started before the window, still running", -25, -23, "[long]"},
			{"drafts too", 29, 31, "[draft]"},
		} {
			evs, err := st.EventsStartingBetween(ctx, t0.Add(time.Duration(c.from)*time.Hour), t0.Add(time.Duration(c.to)*time.Hour))
			if got := ids(evs); err != nil || got != c.want {
				t.Errorf("%s: EventsStartingBetween(%d h, %d h) = %s, %v; want %s", c.name, c.from, c.to, got, err, c.want)
			}
		}

		var all []string
		cursor, pages := "", 0
		for {
			evs, next, err := st.StaffEvents(ctx, 4, cursor)
			if err != nil {
				t.Fatalf("StaffEvents(4, %q): %v", cursor, err)
			}
			pages++
			for _, ev := range evs {
				all = append(all, ev.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if got := fmt.Sprint(all); got != "[later long draft soon ending-now past]" || pages != 2 {
			t.Errorf("StaffEvents pages = %s in %d pages; want every event, latest end first, in 2", got, pages)
		}
		evs, next, err := st.StaffEvents(ctx, 0, "")
		if len(evs) != 6 || next != "" || err != nil {
			t.Errorf("StaffEvents(0, \"\") = %d events, next %q, %v; want all 6 in one page", len(evs), next, err)
		}
		for _, bad := range []string{"!!", "bm90LWEtY3Vyc29y", "MjAyNi0xMS0wMlQwOTozMDowMC4wMDAwMDAwMDBaI2JhZCBpZA"} {
			if _, _, err := st.StaffEvents(ctx, 4, bad); apperr.Code(err) != apperr.Invalid {
				t.Errorf("StaffEvents(4, %q) = %v; want invalid_parameter", bad, err)
			}
		}
	})
}

func TestCancelEvent(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		createEvent(t, st, testEvent("ev"))
		at := t0.Add(time.Hour)
		for i, wantChanged := range []bool{true, false} {
			ev, changed, err := st.CancelEvent(ctx, "ev", at.Add(time.Duration(i)*time.Minute))
			if err != nil || changed != wantChanged || ev.Status != event.StatusCancelled || !ev.CancelledAt.Equal(at) || !ev.UpdatedAt.Equal(at) {
				t.Errorf("CancelEvent #%d = status %s, cancelled %v, updated %v, changed %v, %v; want cancelled at %v, changed %v",
					i+1, ev.Status, ev.CancelledAt, ev.UpdatedAt, changed, err, at, wantChanged)
			}
		}
		up, _ := st.UpcomingEvents(ctx, t0)
		if len(up) != 1 || up[0].Status != event.StatusCancelled {
			t.Errorf("UpcomingEvents after cancelling = %+v; want the event listed as cancelled", up)
		}
		if _, _, err := st.CancelEvent(ctx, "nope", at); !errors.Is(err, event.ErrEventNotFound) {
			t.Errorf("CancelEvent(nope) = %v; want ErrEventNotFound", err)
		}
		b, o := newBooking(testEvent("ev"), 1, "member", "a@example.org")
		if _, _, err := st.Book(ctx, testEvent("ev"), b, o, at); !errors.Is(err, event.ErrBookingClosed) {
			t.Errorf("Book on a cancelled event = %v; want ErrBookingClosed", err)
		}
	})
}

func TestUpdateEvent(t *testing.T) {
	// Each case books first (ticket → places), then reads the event, books more (between the
	// handler's read and its update), then changes the event read.
	type places map[string]int
	cases := []struct {
		name          string
		before, after places
		change        func(*event.Event)
		stale         bool // someone else changed the event after the read
		want          error
		wantCounts    string // ticket_confirmed after, when the update succeeds
	}{
		{"summary and capacity", places{"member": 3}, nil, func(e *event.Event) { e.Summary, e.Capacity = "New summary", 3 }, false, nil, "map[member:3 non-member:0 student:0]"},
		{"capacity below confirmed", places{"member": 3}, nil, func(e *event.Event) { e.Capacity = 2 }, false, event.ErrEventConflict, ""},
		{"capacity below confirmed after the read", places{"member": 2}, places{"non-member": 1}, func(e *event.Event) { e.Capacity = 2 }, false, event.ErrEventConflict, ""},
		{"price of an unbooked ticket", places{"member": 1}, nil, func(e *event.Event) { e.Tickets[1].PricePence = 15000 }, false, nil, "map[member:1 non-member:0 student:0]"},
		{"price of a booked ticket", places{"member": 1}, nil, func(e *event.Event) { e.Tickets[0].PricePence = 9000 }, false, event.ErrEventConflict, ""},
		{"price of a ticket booked after the read", nil, places{"member": 1}, func(e *event.Event) { e.Tickets[0].PricePence = 9000 }, false, event.ErrEventConflict, ""},
		{"label of a booked ticket", places{"member": 1}, nil, func(e *event.Event) { e.Tickets[0].Label = "Members" }, false, nil, "map[member:1 non-member:0 student:0]"},
		{"remove an unbooked ticket", places{"member": 1}, nil, func(e *event.Event) { e.Tickets = e.Tickets[:2] }, false, nil, "map[member:1 non-member:0]"},
		{"remove a booked ticket", places{"student": 1}, nil, func(e *event.Event) { e.Tickets = e.Tickets[:2] }, false, event.ErrEventConflict, ""},
		{"add a ticket", places{"member": 1}, nil, func(e *event.Event) {
			e.Tickets = append(e.Tickets, event.Ticket{ID: "speaker", Label: "Speaker", Capacity: 3})
		}, false, nil, "map[member:1 non-member:0 speaker:0 student:0]"},
		{"ticket limit below its places", places{"student": 3}, places{"student": 1}, func(e *event.Event) { e.Tickets[2].Capacity = 3 }, false, event.ErrEventConflict, ""},
		{"ticket limit raised", places{"student": 3}, nil, func(e *event.Event) { e.Tickets[2].Capacity = 20 }, false, nil, "map[member:0 non-member:0 student:3]"},
		{"ticket limit removed", nil, nil, func(e *event.Event) { e.Tickets[2].Capacity = 0 }, false, nil, "map[member:0 non-member:0 student:0]"},
		{"someone else's edit", nil, nil, func(e *event.Event) { e.Summary = "Mine" }, true, event.ErrEventChanged, ""},
	}
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		for i, c := range cases {
			id := fmt.Sprintf("upd%d", i)
			ev := createEvent(t, st, testEvent(id))
			n := 0
			book := func(p places) {
				for _, ticket := range slices.Sorted(maps.Keys(p)) {
					for range p[ticket] {
						n++
						mustBook(t, st, ev, n, ticket, fmt.Sprintf("p%d@example.org", n), event.BookingConfirmed)
					}
				}
			}
			book(c.before)
			old := readEvent(t, st, id)
			book(c.after)
			updated := old
			updated.Tickets = slices.Clone(old.Tickets)
			updated.UpdatedAt = t0.Add(time.Minute)
			c.change(&updated)
			if c.stale {
				old.UpdatedAt = t0.Add(-time.Hour)
			}
			err := st.UpdateEvent(ctx, old, updated)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Errorf("%s: UpdateEvent = %v; want %v", c.name, err, c.want)
				continue
			}
			got := readEvent(t, st, id)
			if c.want != nil {
				if !got.UpdatedAt.Equal(t0) || got.Capacity != 50 || len(got.Tickets) != 3 {
					t.Errorf("%s: a refused update changed the event: %+v", c.name, got)
				}
				continue
			}
			if fmt.Sprint(got.TicketConfirmed) != c.wantCounts || got.Summary != updated.Summary || got.Capacity != updated.Capacity || len(got.Tickets) != len(updated.Tickets) {
				t.Errorf("%s: after UpdateEvent: counts %v, summary %q, capacity %d, %d tickets; want %s, %q, %d, %d",
					c.name, got.TicketConfirmed, got.Summary, got.Capacity, len(got.Tickets), c.wantCounts, updated.Summary, updated.Capacity, len(updated.Tickets))
			}
			counts := readState(t, db, table, id)
			wantLimits := map[string]int{}
			for _, tk := range updated.Tickets {
				if tk.Capacity > 0 {
					wantLimits[tk.ID] = tk.Capacity
				}
			}
			if fmt.Sprint(counts.TicketCapacity) != fmt.Sprint(wantLimits) || counts.Confirmed != n {
				t.Errorf("%s: E#STATE ticket_capacity %v, confirmed %d; want %v, %d", c.name, counts.TicketCapacity, counts.Confirmed, wantLimits, n)
			}
		}
	})
}

func TestUpdateEventWithPeopleWaiting(t *testing.T) {
	// The event (capacity 1) has its one place booked (member); waitBefore people join the
	// waiting list before the handler reads the event, waitAfter between its read and its
	// update.
	cases := []struct {
		name                  string
		waitBefore, waitAfter int
		change                func(*event.Event)
		want                  error
	}{
		{"remove an unbooked ticket", 1, 0, func(e *event.Event) { e.Tickets = e.Tickets[:2] }, event.ErrEventConflict},
		{"remove an unbooked ticket, someone joins the list after the read", 0, 1, func(e *event.Event) { e.Tickets = e.Tickets[:2] }, event.ErrEventConflict},
		{"price of an unbooked ticket", 2, 0, func(e *event.Event) { e.Tickets[1].PricePence = 15000 }, event.ErrEventConflict},
		{"price of an unbooked ticket, someone joins the list after the read", 0, 1, func(e *event.Event) { e.Tickets[1].PricePence = 15000 }, event.ErrEventConflict},
		{"remove an unbooked ticket, nobody waiting", 0, 0, func(e *event.Event) { e.Tickets = e.Tickets[:2] }, nil},
		{"label of an unbooked ticket", 1, 1, func(e *event.Event) { e.Tickets[1].Label = "Anyone" }, nil},
		{"ticket limit", 1, 1, func(e *event.Event) { e.Tickets[2].Capacity = 5 }, nil},
		{"add a ticket", 1, 1, func(e *event.Event) { e.Tickets = append(e.Tickets, event.Ticket{ID: "speaker", Label: "Speaker"}) }, nil},
		{"capacity raised", 1, 1, func(e *event.Event) { e.Capacity = 10 }, nil},
	}
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		for i, c := range cases {
			id := fmt.Sprintf("wait%d", i)
			ev := testEvent(id)
			ev.Capacity = 1
			ev = createEvent(t, st, ev)
			mustBook(t, st, ev, 1, "member", "p1@example.org", event.BookingConfirmed)
			n := 1
			wait := func(k int) {
				for range k {
					n++
					mustBook(t, st, ev, n, "member", fmt.Sprintf("p%d@example.org", n), event.BookingWaitlisted)
				}
			}
			wait(c.waitBefore)
			old := readEvent(t, st, id)
			wait(c.waitAfter)
			updated := old
			updated.Tickets = slices.Clone(old.Tickets)
			updated.UpdatedAt = t0.Add(time.Minute)
			c.change(&updated)
			err := st.UpdateEvent(ctx, old, updated)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Errorf("%s: UpdateEvent = %v; want %v", c.name, err, c.want)
				continue
			}
			got := readEvent(t, st, id)
			if c.want != nil && (!got.UpdatedAt.Equal(t0) || len(got.Tickets) != 3 || got.Tickets[1].PricePence != 12500) {
				t.Errorf("%s: a refused update changed the event: %+v", c.name, got)
			}
			if c.want == nil && !got.UpdatedAt.Equal(updated.UpdatedAt) {
				t.Errorf("%s: updated_at %v; want %v", c.name, got.UpdatedAt, updated.UpdatedAt)
			}
			if w := c.waitBefore + c.waitAfter; got.Waiting != w {
				t.Errorf("%s: waiting %d; want %d", c.name, got.Waiting, w)
			}
		}
	})
}
