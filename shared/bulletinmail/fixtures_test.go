package bulletinmail

import (
	"testing"
	"time"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/casestudy/markdown"
	"sectorhub/shared/event"
)

const (
	siteURL = "https://www.example.org"
	sender  = "Light Lunch <bulletin@example.org>"
	// A token of the shape bulletin.UnsubscribeToken makes.
	token = "uAAECAwQFBgcICQoLDA0ODwAQIDBAUGBwgJCgsMDQ4PA"
)

var renderer = Renderer{From: sender, SiteURL: siteURL}

// now is when the fixture issue is rendered: Tuesday 1 December 2026, 12:00 in London.
var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// issueBody is a Markdown body using everything the renderer allows.
const issueBody = `Welcome to this week's **Light Lunch**: three funding deadlines and a new guide.

# Funding news

The [Lottery's fund](https://lottery.example.net/fund?a=1&b=2) reopens on *Monday*. Read our
[guide to applying](/guides/funding) first, or email [grants@example.org](mailto:grants@example.org).

## Deadlines

1. Small grants: 4 December
2. Peer mentoring fund: 11 December
   - online form only
   - up to £5,000

| Fund | Closes |
|:-----|-------:|
| Small grants | 4 December |

> "Peer mentors changed how we work." — a reader

![Volunteers at a peer mentoring session](/images/mentors.jpg)

---

    go run ./cmd/report
`

func fixtureIssue(tb testing.TB) bulletin.Issue {
	tb.Helper()
	h, text, err := markdown.Render([]byte(issueBody))
	if err != nil {
		tb.Fatal(err)
	}
	return bulletin.Issue{
		ID:        "2026-12-01",
		Subject:   "Light Lunch: funding news & a new peer mentors guide",
		Preheader: "Three deadlines this month",
		SendAt:    now,
		Status:    bulletin.Ready,
		HTML:      h,
		Text:      text,
	}
}

// fixtureEvents are events of every kind Upcoming sees, by name.
func fixtureEvents(tb testing.TB) map[string]event.Event {
	tb.Helper()
	ev := func(id, title, start string, status string, loc event.Location, prices ...int) event.Event {
		s := mustTime(tb, start)
		e := event.Event{
			ID: id, Title: title, StartsAt: s, EndsAt: s.Add(6*time.Hour + 30*time.Minute), Timezone: "Europe/London",
			Location: loc, Capacity: 40, BookingClosesAt: s, Status: status, Type: event.TypeTraining,
		}
		for i, p := range prices {
			e.Tickets = append(e.Tickets, event.Ticket{ID: "t" + string(rune('a'+i)), Label: "Place", PricePence: p})
		}
		return e
	}
	online := event.Location{Online: true, JoiningURL: "https://meet.example.net/j/secret"}
	venue := event.Location{Venue: "Friends House", Address: "173 Euston Road\nLondon", Postcode: "NW1 2BJ"}
	cancelled := ev("ev-cancelled", "Cancelled course", "2026-12-10T09:30:00Z", event.StatusCancelled, venue, 0)
	cancelled.CancelledAt = mustTime(tb, "2026-11-20T09:00:00Z")
	full := ev("ev-full", "Trustee induction", "2026-12-15T10:00:00Z", event.StatusPublished, venue, 2500)
	full.Confirmed, full.WaitingList = 40, true
	regions := ev("ev-regions", "Regional meeting", "2027-01-20T10:00:00Z", event.StatusPublished, event.Location{}, 0)
	regions.Regions = []string{"wales", "north-west"}
	return map[string]event.Event{
		"online paid":       ev("ev-online", "Service user involvement <managers> & network", "2026-12-14T09:30:00Z", event.StatusPublished, online, 12550, 9500),
		"in person free":    ev("ev-free", "Co-production in practice", "2026-12-08T09:30:00Z", event.StatusPublished, venue, 0, 0),
		"free and paid":     ev("ev-mixed", "Peer mentors' forum", "2027-01-12T13:00:00Z", event.StatusPublished, event.Location{Address: "Manchester"}, 5000, 0),
		"full":              full,
		"regions only":      regions,
		"draft":             ev("ev-draft", "Draft event", "2026-12-09T09:30:00Z", event.StatusDraft, venue, 0),
		"cancelled":         cancelled,
		"started":           ev("ev-started", "Started this morning", "2026-12-01T09:00:00Z", event.StatusPublished, venue, 0),
		"starts at now":     ev("ev-now", "Starts at noon", "2026-12-01T12:00:00Z", event.StatusPublished, venue, 0),
		"last minute":       ev("ev-last", "Last minute of the window", "2027-01-26T12:00:00Z", event.StatusPublished, online, 0),
		"after eight weeks": ev("ev-late", "Too far ahead", "2027-01-26T12:00:01Z", event.StatusPublished, online, 0),
		"past":              ev("ev-past", "Last month's", "2026-11-03T09:30:00Z", event.StatusPublished, venue, 0),
	}
}

func fixtureCases() []casestudy.Entry {
	c := func(slug, title, summary, published string) casestudy.Entry {
		return casestudy.Entry{Summary: casestudy.Summary{Slug: slug, Title: title, Summary: summary, Published: published}}
	}
	withOrg := c("peer-mentors-north-west", "Peer mentors in the North West", "How <one> charity & its mentors rebuilt a service.", "2026-11-27")
	withOrg.Organisation = &casestudy.Organisation{ID: "quill", Name: "Quillfeather Resettlement"}
	return []casestudy.Entry{
		c("old-story", "An old story", "Published long ago.", "2026-10-14"),
		withOrg,
		c("same-day", "Published on the last issue's day", "Dated the day the last issue went out.", "2026-11-24"),
		c("day-before", "The day before", "Dated the day before the last issue.", "2026-11-23"),
		c("bad-date", "A bad date", "Its date does not parse.", "24/11/2026"),
		c("newest", "The newest", "Published yesterday.", "2026-11-30"),
	}
}
