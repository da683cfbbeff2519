package seed

import (
	"encoding/json"
	"fmt"
	"time"
)

// SampleEvent is a fictional event the local stack creates through the staff API
// (POST /staff/events, as staff would), then books places on through the public route, so
// that a newcomer sees every availability: Bookings are booking request bodies, made in order.
// An event that has already ended (Past) cannot be created through the API, which refuses
// it; the stack writes that one to the table directly.
type SampleEvent struct {
	Body     map[string]any
	Bookings []map[string]any
	Past     bool
}

// JSON is the staff body of e.
func (e SampleEvent) JSON() []byte {
	b, err := json.Marshal(e.Body)
	if err != nil {
		panic(err) // only maps of strings, numbers and bools
	}
	return b
}

// Events returns about eight fictional events around now: past and future, online and in
// person, free and paid ("From £95"), a network meeting, one nearly full, one with a waiting
// list, one draft. Dates are days from now at fixed UK times, so the sample stays current.
func Events(now time.Time) []SampleEvent {
	uk, err := time.LoadLocation("Europe/London")
	if err != nil {
		uk = time.UTC
	}
	day := func(days, hour, minute int) string {
		d := now.In(uk).AddDate(0, 0, days)
		return time.Date(d.Year(), d.Month(), d.Day(), hour, minute, 0, 0, uk).Format(time.RFC3339)
	}
	online := map[string]any{"online": true, "joining_url": "https://meet.example.org/j/sectorhub-sample"}
	free := []map[string]any{{"id": "standard", "label": "Free place", "price_pence": 0, "members_only": false}}
	people := func(n int, ticket string, paid bool) []map[string]any {
		out := make([]map[string]any, n)
		for i := range out {
			b := map[string]any{
				"name":         fmt.Sprintf("Sample Attendee %d", i+1),
				"email":        fmt.Sprintf("attendee%d@example.org", i+1),
				"organisation": "Example Community Trust",
				"ticket":       ticket,
			}
			if paid {
				b["invoice"] = map[string]any{"billing_email": "accounts@example.org", "address": "1 Example Street\nExampletown\nEX1 2MP"}
			}
			out[i] = b
		}
		return out
	}
	return []SampleEvent{
		{Body: map[string]any{
			"title":       "Service user involvement managers' network: winter meeting",
			"summary":     "Managers who lead involvement share what is working, and what is not, with peers from across England and Wales.",
			"description": "## Agenda\n\n- Welcome and introductions\n- Paying people for their time: a practical guide\n- Breakout rooms by region\n\nThe network is for staff who lead service user involvement in voluntary organisations.",
			"type":        "network-meeting", "starts_at": day(14, 10, 0), "ends_at": day(14, 12, 30),
			"location": online, "capacity": 80, "waiting_list": true, "tickets": free,
			"themes": []string{"service-user-councils", "co-production"}, "status": "published",
		}},
		{Body: map[string]any{
			"title":       "Annual conference: lived experience leadership",
			"summary":     "A day of talks and workshops on leadership by people with lived experience of the criminal justice system.",
			"description": "Speakers from across the sector, workshops in the afternoon, and lunch.\n\n**Member organisations** pay the member rate.",
			"type":        "conference", "starts_at": day(75, 9, 30), "ends_at": day(75, 16, 30),
			"location": map[string]any{"online": false, "venue": "Example Conference Centre", "address": "10 Sample Square, Birmingham", "postcode": "B1 1AA"},
			"capacity": 250, "waiting_list": true,
			"tickets": []map[string]any{
				{"id": "member", "label": "Member organisation", "price_pence": 9500, "members_only": true},
				{"id": "non-member", "label": "Non-member", "price_pence": 14500, "members_only": false},
			},
			"themes": []string{"lived-experience-leadership"}, "regions": []string{"west-midlands"}, "status": "published",
		}},
		{Body: map[string]any{
			"title":   "Safeguarding essentials for volunteers",
			"summary": "A half-day course for volunteers and the staff who support them.",
			"type":    "training", "starts_at": day(21, 13, 30), "ends_at": day(21, 17, 0),
			"location": map[string]any{"online": false, "venue": "Sample Hall", "address": "22 Example Road, Manchester", "postcode": "M1 1AE"},
			"capacity": 12, "waiting_list": false,
			"tickets": []map[string]any{
				{"id": "member", "label": "Member", "price_pence": 4500, "members_only": true},
				{"id": "standard", "label": "Standard", "price_pence": 6500, "members_only": false},
			},
			"regions": []string{"north-west"}, "status": "published",
		}, Bookings: people(10, "standard", true)},
		{Body: map[string]any{
			"title":   "Peer mentoring: getting started",
			"summary": "An online course for organisations starting a peer mentoring scheme.",
			"type":    "training", "starts_at": day(9, 10, 0), "ends_at": day(9, 12, 0),
			"location": online, "capacity": 6, "waiting_list": true,
			"tickets": []map[string]any{{"id": "standard", "label": "Standard", "price_pence": 2500, "members_only": false}},
			"themes":  []string{"peer-support"}, "status": "published",
		}, Bookings: people(9, "standard", true)},
		{Body: map[string]any{
			"title":   "Webinar: commissioning with lived experience",
			"summary": "Commissioners and providers on building lived experience into contracts.",
			"type":    "webinar", "starts_at": day(30, 12, 30), "ends_at": day(30, 13, 30),
			"location": online, "capacity": 300, "waiting_list": false, "tickets": free,
			"themes": []string{"co-production"}, "status": "published",
		}},
		{Body: map[string]any{
			"title":   "Housing on release: what works",
			"summary": "Practitioners compare approaches to housing people leaving prison.",
			"type":    "webinar", "starts_at": day(45, 14, 0), "ends_at": day(45, 15, 30),
			"location": online, "capacity": 200, "waiting_list": true, "tickets": free,
			"themes": []string{"accommodation", "resettlement"}, "status": "published",
		}},
		{Body: map[string]any{
			"title":   "Women's services roundtable",
			"summary": "Leaders of women's services met to plan joint work for the year.",
			"type":    "network-meeting", "starts_at": day(-30, 10, 0), "ends_at": day(-30, 15, 0),
			"location": map[string]any{"online": false, "venue": "Example House", "address": "5 Sample Lane, London", "postcode": "SE1 7PB"},
			"capacity": 30, "waiting_list": false, "tickets": free,
			"regions": []string{"london"}, "status": "published",
		}, Past: true},
		{Body: map[string]any{
			"title":   "Spring network meeting (draft)",
			"summary": "Not announced yet: staff are still planning it.",
			"type":    "network-meeting", "starts_at": day(120, 10, 0), "ends_at": day(120, 12, 0),
			"location": online, "capacity": 80, "waiting_list": true, "tickets": free,
			"status": "draft",
		}},
	}
}
