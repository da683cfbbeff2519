package bulletinmail

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/config"
	"sectorhub/shared/event"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func allEvents(tb testing.TB) []event.Event {
	tb.Helper()
	m := fixtureEvents(tb)
	var evs []event.Event
	for _, name := range slices.Sorted(maps.Keys(m)) {
		evs = append(evs, m[name])
	}
	return evs
}

// lastIssue is when the issue before the fixture's was rendered: Tuesday 24 November 2026.
var lastIssue = time.Date(2026, 11, 24, 12, 0, 5, 0, time.UTC)

// rendered renders the fixture issue with its events and case studies.
func rendered(tb testing.TB) bulletin.Rendered {
	tb.Helper()
	rd, err := renderer.Render(fixtureIssue(tb), Upcoming(allEvents(tb), now), NewCaseStudies(fixtureCases(), lastIssue), now)
	if err != nil {
		tb.Fatalf("Render: %v", err)
	}
	return rd
}

func TestFromEnv(t *testing.T) {
	env := config.New(func(k string) string {
		return map[string]string{"SENDER_ADDRESS": sender, "SITE_URL": siteURL + "/"}[k]
	})
	r := FromEnv(env)
	if err := env.Err(); err != nil {
		t.Fatalf("Err() = %v; want nil", err)
	}
	if want := (Renderer{From: sender, SiteURL: siteURL}); r != want {
		t.Errorf("FromEnv = %+v; want %+v", r, want)
	}
	missing := config.New(func(string) string { return "" })
	FromEnv(missing)
	if err := missing.Err(); err == nil || !strings.Contains(err.Error(), "SENDER_ADDRESS") || !strings.Contains(err.Error(), "SITE_URL") {
		t.Errorf("Err() with nothing set = %v; want both variables named", err)
	}
}

func TestUpcoming(t *testing.T) {
	evs := fixtureEvents(t)
	tests := []struct {
		name   string
		listed bool
	}{
		{"online paid", true},
		{"in person free", true},
		{"free and paid", true},
		{"full", true},
		{"regions only", true},
		{"last minute", true},
		{"draft", false},
		{"cancelled", false},
		{"started", false},
		{"starts at now", false},
		{"after eight weeks", false},
		{"past", false},
	}
	got := Upcoming(allEvents(t), now)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := evs[tc.name].ID
			listed := slices.ContainsFunc(got, func(e event.Event) bool { return e.ID == id })
			if listed != tc.listed {
				t.Errorf("Upcoming lists %s = %v; want %v", id, listed, tc.listed)
			}
		})
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	want := []string{"ev-free", "ev-online", "ev-full", "ev-mixed", "ev-regions", "ev-last"}
	if !slices.Equal(ids, want) {
		t.Errorf("Upcoming order = %q; want %q (soonest first)", ids, want)
	}

	t.Run("same start: by title", func(t *testing.T) {
		a, b := evs["online paid"], evs["in person free"]
		b.StartsAt = a.StartsAt
		got := Upcoming([]event.Event{a, b}, now)
		if len(got) != 2 || got[0].ID != b.ID {
			t.Errorf("Upcoming(same start) = %v; want %s (Co-production…) first", got, b.ID)
		}
	})
	t.Run("input unchanged", func(t *testing.T) {
		in := allEvents(t)
		before := slices.Clone(in)
		Upcoming(in, now)
		for i := range in {
			if in[i].ID != before[i].ID {
				t.Fatalf("Upcoming reordered its input at %d", i)
			}
		}
	})
}

func TestNewCaseStudies(t *testing.T) {
	entries := fixtureCases()
	summer := []casestudy.Entry{
		{Summary: casestudy.Summary{Slug: "june", Title: "June", Published: "2026-06-30"}},
		{Summary: casestudy.Summary{Slug: "july", Title: "July", Published: "2026-07-01"}},
	}
	tests := []struct {
		name    string
		entries []casestudy.Entry
		since   time.Time
		want    []string
	}{
		{"since the last issue, newest first, its own day included", entries, lastIssue, []string{"newest", "peer-mentors-north-west", "same-day"}},
		{"zero since lists none", entries, time.Time{}, nil},
		{"since after all", entries, now, nil},
		// 23:30 UTC on 30 June is 00:30 on 1 July in London (BST).
		{"since's day is London's", summer, time.Date(2026, 6, 30, 23, 30, 0, 0, time.UTC), []string{"july"}},
		{"same date: by title", []casestudy.Entry{
			{Summary: casestudy.Summary{Slug: "b", Title: "Beta", Published: "2026-11-30"}},
			{Summary: casestudy.Summary{Slug: "a", Title: "Alpha", Published: "2026-11-30"}},
		}, lastIssue, []string{"a", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range NewCaseStudies(tc.entries, tc.since) {
				got = append(got, e.Slug)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("NewCaseStudies(since %s) = %q; want %q", tc.since, got, tc.want)
			}
		})
	}
}

func TestRender(t *testing.T) {
	rd := rendered(t)
	if want := "Light Lunch: funding news & a new peer mentors guide"; rd.Subject != want {
		t.Errorf("Subject = %q; want %q", rd.Subject, want)
	}
	if rd.Preheader != "Three deadlines this month" {
		t.Errorf("Preheader = %q", rd.Preheader)
	}
	if rd.Events != 6 || rd.CaseStudies != 3 {
		t.Errorf("Events, CaseStudies = %d, %d; want 6, 3", rd.Events, rd.CaseStudies)
	}
	if !rd.RenderedAt.Equal(now) {
		t.Errorf("RenderedAt = %s; want %s", rd.RenderedAt, now)
	}
	for _, p := range []struct{ name, s string }{{"HTML", rd.HTML}, {"Text", rd.Text}} {
		if n := strings.Count(p.s, markerGreeting); n != 1 {
			t.Errorf("%s has %d greeting placeholders; want 1", p.name, n)
		}
		if n := strings.Count(p.s, markerUnsubscribe); n != 1 {
			t.Errorf("%s has %d unsubscribe placeholders; want 1", p.name, n)
		}
		if n := strings.Count(p.s, "\x00"); n != 4 {
			t.Errorf("%s has %d NUL bytes; want 4 (two placeholders)", p.name, n)
		}
	}

	msg := renderer.Personal(rd, bulletin.Recipient{Email: "zoe@example.org", Name: "Zoë", UnsubscribeToken: token})
	// What both parts say, each in its own words.
	for _, want := range []struct{ what, text, html string }{
		{"event price", "Online · From £95", "Online · From £95"},
		{"free event", "Friends House, London · Free", "Friends House, London · Free"},
		{"free and paid", "Manchester · Free or from £50", "Manchester · Free or from £50"},
		{"availability", "From £25 · Fully booked: waiting list open", "From £25 · Fully booked: waiting list open"},
		{"regions", "North West, Wales · Free", "North West, Wales · Free"},
		{"event date", "Monday 14 December 2026, 09:30 to 16:00 (UK time)", "Monday 14 December 2026, 09:30 to 16:00 (UK time)"},
		{"event title escaped", "Service user involvement <managers> & network", "Service user involvement &lt;managers&gt; &amp; network"},
		{"event link", siteURL + "/events/ev-online", `href="` + siteURL + `/events/ev-online"`},
		{"case study link", siteURL + "/case-studies/peer-mentors-north-west", `href="` + siteURL + `/case-studies/peer-mentors-north-west"`},
		{"case study summary escaped", "How <one> charity & its mentors", "How &lt;one&gt; charity &amp; its mentors"},
		{"organisation", "About Quillfeather Resettlement", "About Quillfeather Resettlement"},
		{"body", "Welcome to this week's Light Lunch", "Welcome to this week&#39;s <strong>Light Lunch</strong>"},
		{"relative link made absolute", "guide to applying (" + siteURL + "/guides/funding)", `href="` + siteURL + `/guides/funding"`},
		{"issue date", "Light Lunch · Tuesday 1 December 2026", "Light Lunch · Tuesday 1 December 2026"},
		{"archive link", siteURL + "/bulletin/issues/2026-12-01", `href="` + siteURL + `/bulletin/issues/2026-12-01"`},
		{"sections", "Upcoming events\n---------------", ">Upcoming events</h2>"},
	} {
		if !strings.Contains(msg.Text, want.text) {
			t.Errorf("text part lacks the %s %q", want.what, want.text)
		}
		if !strings.Contains(msg.HTML, want.html) {
			t.Errorf("HTML part lacks the %s %q", want.what, want.html)
		}
	}
	for _, absent := range []string{"Draft event", "Cancelled course", "Too far ahead", "Last month's", "An old story", "A bad date", "meet.example.net"} {
		if strings.Contains(msg.Text, absent) || strings.Contains(msg.HTML, absent) {
			t.Errorf("the mail holds %q; want it left out", absent)
		}
	}

	doc, err := html.Parse(strings.NewReader(msg.HTML))
	if err != nil {
		t.Fatal(err)
	}
	var h1s int
	var hidden string
	for _, n := range descendants(doc) {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "h1":
			h1s++
		case "a", "img":
			for _, a := range n.Attr {
				if (a.Key == "href" || a.Key == "src") && !strings.HasPrefix(a.Val, "https://") && !strings.HasPrefix(a.Val, "mailto:") {
					t.Errorf("<%s %s=%q>: want an absolute https or mailto URL in a mail", n.Data, a.Key, a.Val)
				}
			}
		case "span":
			if strings.Contains(attrOf(n, "style"), "display:none") {
				hidden = textOf(n)
			}
		case "p", "h2", "h3", "li", "td":
			if attrOf(n, "style") == "" {
				t.Errorf("<%s> %q has no inline style", n.Data, textOf(n))
			}
		}
	}
	if h1s != 1 {
		t.Errorf("HTML part has %d h1; want 1 (the subject; the body's headings go one level down)", h1s)
	}
	if !strings.HasPrefix(hidden, "Three deadlines this month") {
		t.Errorf("hidden preheader = %q; want it to start with the preheader", hidden)
	}
}

func TestRenderEmptySections(t *testing.T) {
	rd, err := renderer.Render(fixtureIssue(t), nil, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if rd.Events != 0 || rd.CaseStudies != 0 {
		t.Errorf("Events, CaseStudies = %d, %d; want 0, 0", rd.Events, rd.CaseStudies)
	}
	for _, part := range []struct{ name, s string }{{"HTML", rd.HTML}, {"Text", rd.Text}, {"archive", rd.ArchiveHTML}} {
		for _, want := range []string{"No events in the next eight weeks.", "No new case studies since the last issue.", siteURL + "/events", siteURL + "/case-studies"} {
			if !strings.Contains(part.s, want) {
				t.Errorf("%s lacks %q", part.name, want)
			}
		}
	}
}

func TestRenderRefusesNoSubject(t *testing.T) {
	iss := fixtureIssue(t)
	for _, subject := range []string{"", " \t", "\x00\x01"} {
		iss.Subject = subject
		if _, err := renderer.Render(iss, nil, nil, now); err == nil || !strings.Contains(err.Error(), iss.ID) {
			t.Errorf("Render(subject %q) error = %v; want one naming the issue", subject, err)
		}
	}
}

// TestPlaceholdersFromContent: placeholders written into the content (a NUL, a letter, a NUL)
// are not placeholders; only the renderer's are filled in.
func TestPlaceholdersFromContent(t *testing.T) {
	iss := fixtureIssue(t)
	iss.Subject = "Subject \x00u\x00 here"
	iss.Preheader = "Pre \x00g\x00"
	iss.HTML = "<p>Body \x00u\x00 and \x00g\x00 and bmu" + strings.Repeat("A", 26) + "</p>"
	ev := fixtureEvents(t)["online paid"]
	ev.Title = "Title \x00g\x00"
	ev.Location = event.Location{Venue: "Hall \x00u\x00"}
	cs := casestudy.Entry{Summary: casestudy.Summary{Slug: "nul", Title: "Case \x00u\x00", Summary: "Sum \x00g\x00", Published: "2026-11-30"}}
	rd, err := renderer.Render(iss, []event.Event{ev}, []casestudy.Entry{cs}, now)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(rd.ArchiveHTML, "\x00"); n != 0 {
		t.Errorf("archive has %d NUL bytes; want 0", n)
	}
	msg := renderer.Personal(rd, bulletin.Recipient{Email: "zoe@example.org", Name: "Zoë", UnsubscribeToken: token})
	unsub := siteURL + "/bulletin/unsubscribe?token=" + token
	for _, p := range []struct{ name, s string }{{"text", msg.Text}, {"HTML", msg.HTML}} {
		if strings.Contains(p.s, "\x00") {
			t.Errorf("%s part holds a NUL", p.name)
		}
		if n := strings.Count(p.s, "Dear Zoë,"); n != 1 {
			t.Errorf("%s part greets %d times; want 1", p.name, n)
		}
		if n := strings.Count(p.s, unsub); n != 1 {
			t.Errorf("%s part has the unsubscribe URL %d times; want 1", p.name, n)
		}
		for _, want := range []string{"Title \uFFFDg\uFFFD", "Case \uFFFDu\uFFFD", "Body \uFFFDu\uFFFD"} {
			if !strings.Contains(p.s, want) {
				t.Errorf("%s part lacks %q (the content's NULs as U+FFFD)", p.name, want)
			}
		}
	}
	if strings.Contains(msg.Subject, "\x00") {
		t.Errorf("Subject %q holds a NUL", msg.Subject)
	}
	receive(t, msg) // Build takes it
}

func TestPersonal(t *testing.T) {
	rd := rendered(t)
	tests := []struct {
		name      string
		to        bulletin.Recipient
		wantText  string // the greeting in the text part
		wantHTML  string // the greeting in the HTML part
		wantUnsub string
	}{
		{"name", bulletin.Recipient{Email: "zoe@example.org", Name: "Zoë Brontë", UnsubscribeToken: token},
			"Dear Zoë Brontë,", "Dear Zoë Brontë,", siteURL + "/bulletin/unsubscribe?token=" + token},
		{"no name", bulletin.Recipient{Email: "a@example.org", UnsubscribeToken: token},
			"Hello,", "Hello,", siteURL + "/bulletin/unsubscribe?token=" + token},
		{"blank name", bulletin.Recipient{Email: "a@example.org", Name: " \t\u2028 ", UnsubscribeToken: token},
			"Hello,", "Hello,", siteURL + "/bulletin/unsubscribe?token=" + token},
		{"markup and ampersand", bulletin.Recipient{Email: "a@example.org", Name: `<script>alert("x")</script> & Co`, UnsubscribeToken: token},
			`Dear <script>alert("x")</script> & Co,`, "Dear &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co,", siteURL + "/bulletin/unsubscribe?token=" + token},
		{"line breaks, NUL and tab", bulletin.Recipient{Email: "a@example.org", Name: "Ann\r\nBcc: x@example.org\x00\tLee", UnsubscribeToken: token},
			"Dear Ann Bcc: x@example.org Lee,", "Dear Ann Bcc: x@example.org Lee,", siteURL + "/bulletin/unsubscribe?token=" + token},
		{"invalid UTF-8", bulletin.Recipient{Email: "a@example.org", Name: "Jo\xff\xfeé", UnsubscribeToken: token},
			"Dear Jo é,", "Dear Jo é,", siteURL + "/bulletin/unsubscribe?token=" + token},
		{"strange token is escaped", bulletin.Recipient{Email: "a@example.org", Name: "Al", UnsubscribeToken: "a b&c\r\n<x>"},
			"Dear Al,", "Dear Al,", siteURL + "/bulletin/unsubscribe?token=a+b%26c%0D%0A%3Cx%3E"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := receive(t, renderer.Personal(rd, tc.to))
			if h := got.header.Get("List-Unsubscribe"); h != "<"+tc.wantUnsub+">" {
				t.Errorf("List-Unsubscribe = %q; want %q", h, "<"+tc.wantUnsub+">")
			}
			if h := got.header.Get("List-Unsubscribe-Post"); h != "List-Unsubscribe=One-Click" {
				t.Errorf("List-Unsubscribe-Post = %q; want List-Unsubscribe=One-Click", h)
			}
			if s := got.subject(t); s != rd.Subject {
				t.Errorf("Subject = %q; want %q", s, rd.Subject)
			}
			if to, err := got.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != tc.to.Email {
				t.Errorf("To = %v (%v); want %s", to, err, tc.to.Email)
			}
			if !strings.Contains(got.text, tc.wantText+"\n") {
				t.Errorf("text part lacks the greeting %q", tc.wantText)
			}
			if !strings.Contains(got.html, ">"+tc.wantHTML+"</p>") {
				t.Errorf("HTML part lacks the greeting %q", tc.wantHTML)
			}
			if strings.Contains(got.html, "<script") {
				t.Errorf("HTML part holds <script")
			}
			if !strings.Contains(got.text, "Unsubscribe from Light Lunch:\n"+tc.wantUnsub+"\n") {
				t.Errorf("text part lacks the visible unsubscribe link %q", tc.wantUnsub)
			}
			if links := linksTo(t, got.html, tc.wantUnsub); !slices.Equal(links, []string{"Unsubscribe from Light Lunch"}) {
				t.Errorf("HTML links to %q = %q; want one, Unsubscribe from Light Lunch", tc.wantUnsub, links)
			}
		})
	}
}

func TestArchive(t *testing.T) {
	rd := rendered(t)
	a := rd.ArchiveHTML
	for _, absent := range []string{"\x00", token, "unsubscribe", "Dear ", "Hello,", "bmu", "bmg", "you subscribed"} {
		if strings.Contains(strings.ToLower(a), strings.ToLower(absent)) {
			t.Errorf("archive holds %q; want no personal part", absent)
		}
	}
	for _, want := range []string{
		"<!DOCTYPE html>", `<html lang="en-GB"`, "<title>Light Lunch: funding news &amp; a new peer mentors guide – Light Lunch</title>",
		`<meta name="description" content="Three deadlines this month">`, "<main", "</html>",
		`href="` + siteURL + `/events/ev-online"`, `href="` + siteURL + `/case-studies/newest"`,
		"Welcome to this week&#39;s <strong>Light Lunch</strong>", "Online · From £95",
	} {
		if !strings.Contains(a, want) {
			t.Errorf("archive lacks %q", want)
		}
	}
	doc, err := html.Parse(strings.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	var h1s int
	for _, n := range descendants(doc) {
		if n.Type == html.ElementNode && n.Data == "h1" {
			h1s++
		}
	}
	if h1s != 1 {
		t.Errorf("archive has %d h1; want 1", h1s)
	}
}

func TestFill(t *testing.T) {
	tests := []struct{ name, part, want string }{
		{"empty", "", ""},
		{"none", "plain text", "plain text"},
		{"both", "a\x00g\x00b\x00u\x00c", "aGREETbUNSUBc"},
		{"twice", "\x00u\x00\x00u\x00", "UNSUBUNSUB"},
		{"lone NUL", "a\x00b", "ab"},
		{"unknown letter", "a\x00x\x00b", "axb"},
		{"unterminated", "a\x00g", "ag"},
		{"NUL at end", "abc\x00", "abc"},
		{"two NULs then a placeholder", "\x00\x00g\x00", "GREET"},
		{"placeholder without its end", "\x00u", "u"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fill(tc.part, "GREET", "UNSUB"); got != tc.want {
				t.Errorf("fill(%q) = %q; want %q", tc.part, got, tc.want)
			}
		})
	}
}

func TestGreeting(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"name", "Zoë", "Dear Zoë,"},
		{"trimmed, inner runs one space", "  Ann   Lee \n", "Dear Ann Lee,"},
		{"empty", "", "Hello,"},
		{"control characters only", "\x00\x01\r\n", "Hello,"},
		{"line separator", "Ann\u2028Lee", "Dear Ann Lee,"},
		{"cut to the limit", strings.Repeat("é", bulletin.MaxName+50), "Dear " + strings.Repeat("é", bulletin.MaxName) + ","},
		{"cut does not end in a space", strings.Repeat("a", bulletin.MaxName-1) + " b", "Dear " + strings.Repeat("a", bulletin.MaxName-1) + ","},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := greeting(tc.in); got != tc.want {
				t.Errorf("greeting(%q) = %q; want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPrice(t *testing.T) {
	tk := func(prices ...int) []event.Ticket {
		var ts []event.Ticket
		for _, p := range prices {
			ts = append(ts, event.Ticket{PricePence: p})
		}
		return ts
	}
	tests := []struct {
		name    string
		tickets []event.Ticket
		want    string
	}{
		{"no tickets", nil, "Free"},
		{"all free", tk(0, 0), "Free"},
		{"lowest of paid", tk(12550, 9500), "From £95"},
		{"pence", tk(1250), "From £12.50"},
		{"free and paid", tk(5000, 0, 2500), "Free or from £25"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := price(tc.tickets); got != tc.want {
				t.Errorf("price(%v) = %q; want %q", tc.tickets, got, tc.want)
			}
		})
	}
}

func TestPlace(t *testing.T) {
	tests := []struct {
		name string
		loc  event.Location
		reg  []string
		want string
	}{
		{"online", event.Location{Online: true, Venue: "ignored"}, nil, "Online"},
		{"venue and town", event.Location{Venue: "Friends House", Address: "173 Euston Road\nLondon\n", Postcode: "NW1 2BJ"}, nil, "Friends House, London"},
		{"venue only", event.Location{Venue: "Friends House"}, []string{"london"}, "Friends House"},
		{"town only", event.Location{Address: "Leeds"}, nil, "Leeds"},
		{"venue repeated as address", event.Location{Venue: "Leeds", Address: "Leeds"}, nil, "Leeds"},
		{"regions, unknown ones left out", event.Location{}, []string{"wales", "north-west", "nowhere"}, "North West, Wales"},
		{"nothing", event.Location{}, nil, "Place to be confirmed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := place(event.Event{Location: tc.loc, Regions: tc.reg}); got != tc.want {
				t.Errorf("place(%+v, %q) = %q; want %q", tc.loc, tc.reg, got, tc.want)
			}
		})
	}
}

func TestConfirmation(t *testing.T) {
	id, secret := bulletin.NewSubscriberID(), bulletin.NewSecret()
	tests := []struct {
		name        string
		s           bulletin.Subscriber
		wantText    []string
		wantHTML    []string
		absentHTML  []string
		wantExpires string
	}{
		{
			name: "name and expiry",
			s: bulletin.Subscriber{ID: id, Email: "zoe@example.org", Name: `<b>Zoë</b> & "co"`, ConfirmSecret: secret,
				ConfirmExpires: time.Date(2026, 12, 8, 12, 5, 0, 0, time.UTC)},
			wantText:   []string{`Dear <b>Zoë</b> & "co",`, "until 12:05 on Tuesday 8 December 2026 (UK time)"},
			wantHTML:   []string{"Dear &lt;b&gt;Zoë&lt;/b&gt; &amp; &#34;co&#34;,", "until 12:05 on Tuesday 8 December 2026 (UK time)"},
			absentHTML: []string{"<b>Zoë"},
		},
		{
			name:     "no name, no expiry, summer time",
			s:        bulletin.Subscriber{ID: id, Email: "a@example.org", ConfirmSecret: secret},
			wantText: []string{"Hello,", "The link works for 7 days."},
			wantHTML: []string{"Hello,", "The link works for 7 days."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := renderer.Confirmation(tc.s)
			url := siteURL + bulletin.ConfirmPath(bulletin.ConfirmToken(tc.s))
			got := receive(t, msg)
			if s := got.subject(t); s != ConfirmSubject {
				t.Errorf("Subject = %q; want %q", s, ConfirmSubject)
			}
			if to, err := got.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != tc.s.Email {
				t.Errorf("To = %v (%v); want %s", to, err, tc.s.Email)
			}
			if h := got.header.Get("List-Unsubscribe"); h != "" {
				t.Errorf("List-Unsubscribe = %q; want none on a confirmation", h)
			}
			ignore := "If you did not ask for Light Lunch, you can ignore this email"
			for _, w := range append(tc.wantText, url, ignore) {
				if !strings.Contains(got.text, w) {
					t.Errorf("text part lacks %q", w)
				}
			}
			for _, w := range append(tc.wantHTML, ignore) {
				if !strings.Contains(got.html, w) {
					t.Errorf("HTML part lacks %q", w)
				}
			}
			for _, w := range tc.absentHTML {
				if strings.Contains(got.html, w) {
					t.Errorf("HTML part holds %q unescaped", w)
				}
			}
			if links := linksTo(t, got.html, url); !slices.Equal(links, []string{"Yes, subscribe me to Light Lunch"}) {
				t.Errorf("HTML links to the confirmation URL = %q; want one button", links)
			}
		})
	}
}

// TestGolden keeps the fixture issue's mail to Zoë, its archive page and a confirmation mail
// in testdata/ for people to read: go test -run TestGolden -update rewrites them.
func TestGolden(t *testing.T) {
	rd := rendered(t)
	msg := renderer.Personal(rd, bulletin.Recipient{Email: "zoe@example.org", Name: "Zoë", UnsubscribeToken: token})
	golden(t, "issue.txt", "Subject: "+msg.Subject+"\n\n"+msg.Text)
	golden(t, "issue.html", msg.HTML)
	golden(t, "archive.html", rd.ArchiveHTML)
	c := renderer.Confirmation(bulletin.Subscriber{
		ID: "AAECAwQFBgcICQoLDA0ODw", Email: "zoe@example.org", Name: "Zoë", ConfirmSecret: "EBESExQVFhcYGRobHB0eHw",
		ConfirmExpires: time.Date(2026, 12, 8, 12, 5, 0, 0, time.UTC),
	})
	golden(t, "confirmation.txt", "Subject: "+c.Subject+"\n\n"+c.Text)
	golden(t, "confirmation.html", c.HTML)
}

func golden(tb testing.TB, name, got string) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		tb.Errorf("%s differs from what is rendered (go test -run TestGolden -update rewrites it); got:\n%s", path, got)
	}
}

// linksTo returns the text of every link in h whose href is url.
func linksTo(tb testing.TB, h, url string) []string {
	tb.Helper()
	doc, err := html.Parse(strings.NewReader(h))
	if err != nil {
		tb.Fatal(err)
	}
	var texts []string
	for _, n := range descendants(doc) {
		if n.Type == html.ElementNode && n.Data == "a" && attrOf(n, "href") == url {
			texts = append(texts, textOf(n))
		}
	}
	return texts
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for _, d := range descendants(n) {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.TrimSpace(b.String())
}

// descendants lists n's descendants in document order.
func descendants(n *html.Node) []*html.Node {
	var out []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		out = append(out, c)
		out = append(out, descendants(c)...)
	}
	return out
}
