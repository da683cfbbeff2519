package event

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sectorhub/shared/apperr"
)

// now is the time the tests run at: before the sample events.
var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// venueBody is a valid staff body for an event at a venue, as a map a test can change.
func venueBody() map[string]any {
	return map[string]any{
		"title":       "  Service user involvement managers' network ",
		"summary":     "The network's winter meeting.",
		"description": "## Agenda\r\n\r\n- Welcome\r\n- Lunch",
		"type":        "network-meeting",
		"starts_at":   "2026-12-11T10:00:00Z",
		"ends_at":     "2026-12-11T16:00:00Z",
		"location": map[string]any{
			"online": false, "venue": "Resource Centre", "address": "356 Holloway Road\r\nLondon", "postcode": " n7  6pa ",
		},
		"capacity":     50,
		"waiting_list": true,
		"tickets": []any{
			map[string]any{"id": "member", "label": "Member", "price_pence": 9500, "members_only": true},
			map[string]any{"id": "non-member", "label": "Non-member", "price_pence": 12550, "capacity": 10},
		},
		"themes":  []any{"peer-support", "Co-production", "peer support"},
		"regions": []any{"london", "North East"},
		"status":  "published",
	}
}

// onlineBody is a valid staff body for a free online event.
func onlineBody() map[string]any {
	return map[string]any{
		"title":     "Webinar: co-production in probation",
		"summary":   "An hour on co-production.",
		"type":      "webinar",
		"starts_at": "2027-03-02T13:00:00+00:00",
		"ends_at":   "2027-03-02T14:00:00+00:00",
		"location":  map[string]any{"online": true, "joining_url": "https://meet.example.org/abc?pwd=x"},
		"capacity":  100,
		"tickets":   []any{map[string]any{"id": "free", "label": "Free place", "price_pence": 0}},
		"status":    "published",
	}
}

// with returns body with changes applied: a key to nil deletes it; "a.b" sets inside an
// object; "tickets.1.price_pence" inside a list's element.
func with(body map[string]any, changes map[string]any) map[string]any {
	for k, v := range changes {
		set(body, strings.Split(k, "."), v)
	}
	return body
}

func set(m map[string]any, path []string, v any) {
	if len(path) == 1 {
		if v == nil {
			delete(m, path[0])
		} else {
			m[path[0]] = v
		}
		return
	}
	switch c := m[path[0]].(type) {
	case map[string]any:
		set(c, path[1:], v)
	case []any:
		i := int(path[1][0] - '0')
		set(c[i].(map[string]any), path[2:], v)
	}
}

// null is JSON null in a change (nil deletes).
var null = json.RawMessage("null")

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// caseBody is a test case's body: raw when given, else body as JSON.
func caseBody(tb testing.TB, raw string, body map[string]any) []byte {
	tb.Helper()
	if raw != "" {
		return []byte(raw)
	}
	return mustJSON(tb, body)
}

// mustEvent parses a valid body.
func mustEvent(tb testing.TB, body map[string]any) Event {
	tb.Helper()
	ev, problems := ParseEvent(mustJSON(tb, body), now)
	if len(problems) > 0 {
		tb.Fatalf("ParseEvent: %v", problems)
	}
	ev.ID = "abcdefghijklmnopqrstuvwxyz"
	return ev
}

func fields(ps []apperr.Problem) []string {
	fs := make([]string, len(ps))
	for i, p := range ps {
		fs[i] = p.Field
	}
	return fs
}
