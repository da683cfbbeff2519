package bulletinmail

import (
	"fmt"
	"testing"
	"time"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/event"
	"sectorhub/shared/mail"
)

// benchIssue is a full issue: the fixture body, 12 events and 5 case studies.
func benchIssue(tb testing.TB) (bulletin.Issue, []event.Event, []casestudy.Entry) {
	tb.Helper()
	base := fixtureEvents(tb)["online paid"]
	var evs []event.Event
	for i := range 12 {
		ev := base
		ev.ID = fmt.Sprintf("ev-%02d", i)
		ev.Title = fmt.Sprintf("Event number %d: a day on peer mentoring and co-production", i)
		ev.StartsAt = now.Add(time.Duration(i+1) * 72 * time.Hour)
		ev.EndsAt = ev.StartsAt.Add(6 * time.Hour)
		evs = append(evs, ev)
	}
	var cs []casestudy.Entry
	for i := range 5 {
		cs = append(cs, casestudy.Entry{Summary: casestudy.Summary{
			Slug: fmt.Sprintf("case-%d", i), Title: fmt.Sprintf("Case study %d", i), Published: "2026-11-30",
			Summary: "How a small charity rebuilt its service with people who had used it, and what it learned on the way.",
		}})
	}
	return fixtureIssue(tb), evs, cs
}

// benchRendered is the bench issue rendered, and a recipient.
func benchRendered(b *testing.B) (bulletin.Rendered, bulletin.Recipient) {
	b.Helper()
	iss, evs, cs := benchIssue(b)
	rd, err := renderer.Render(iss, evs, cs, now)
	if err != nil {
		b.Fatal(err)
	}
	return rd, bulletin.Recipient{Email: "zoe@example.org", Name: "Zoë Brontë", UnsubscribeToken: token}
}

// BenchmarkPersonal is the per-recipient cost of personalising the rendered issue.
func BenchmarkPersonal(b *testing.B) {
	rd, to := benchRendered(b)
	b.ReportAllocs()
	for b.Loop() {
		renderer.Personal(rd, to)
	}
	b.ReportMetric(float64(len(rd.HTML)+len(rd.Text)), "rendered-bytes")
}

// BenchmarkPersonalBuild adds mail.Build, which the dispatch runs next, for scale.
func BenchmarkPersonalBuild(b *testing.B) {
	rd, to := benchRendered(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mail.Build(renderer.Personal(rd, to), now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRender is the once-per-issue cost.
func BenchmarkRender(b *testing.B) {
	iss, evs, cs := benchIssue(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := renderer.Render(iss, evs, cs, now); err != nil {
			b.Fatal(err)
		}
	}
}
