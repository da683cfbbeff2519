// Package bulletinmail writes the Light Lunch bulletin's mail: an issue rendered once per
// dispatch (Render) with its "Upcoming events" and "New case studies" sections, each
// recipient's copy of it (Personal), the web archive's page of it, and the double opt-in
// confirmation mail (Confirmation).
//
// Rendering is once per issue, not per recipient: Render writes the HTML and plain-text
// parts with two placeholders, the greeting and the unsubscribe URL, and Personal fills them
// in by copying the parts around them. A placeholder is a NUL byte, one letter and a NUL
// byte (markerGreeting, markerUnsubscribe). Nothing else in a rendered part can hold a NUL:
// Render replaces every NUL that came from content (the issue, events, case studies) with
// U+FFFD before it writes the placeholders, so a name, a title or a body can never be taken
// for one, and Personal drops any NUL that is not a placeholder it knows.
//
// Every value Render inserts is escaped by html/template; the issue's body (already
// sanitised by markdown.Render when it was uploaded) is passed through markdown.Sanitise
// again, then given inline styles, its headings moved one level down (the subject is the
// only h1) and its relative links made absolute on SITE_URL, since a mail has no base URL.
// Personal escapes the name in the HTML part itself.
package bulletinmail

import (
	"cmp"
	"errors"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/config"
	"sectorhub/shared/event"
	"sectorhub/shared/mail"
)

// Renderer renders the bulletin's mails for one site.
type Renderer struct {
	From    string // the sender (SENDER_ADDRESS), e.g. "Light Lunch <bulletin@example.org>"
	SiteURL string // the site's base URL (SITE_URL), without a trailing slash
}

// FromEnv returns the renderer a function's environment configures: SENDER_ADDRESS and
// SITE_URL (its trailing slash dropped), each recorded as missing in env when unset.
func FromEnv(env *config.Env) Renderer {
	return Renderer{From: env.Required("SENDER_ADDRESS"), SiteURL: strings.TrimRight(env.Required("SITE_URL"), "/")}
}

func (r Renderer) site() string { return strings.TrimRight(r.SiteURL, "/") }

// UpcomingWindow is how far ahead an issue lists events.
const UpcomingWindow = 8 * 7 * 24 * time.Hour

// Upcoming returns the events an issue rendered at now lists: published (not draft, not
// cancelled), starting after now and at most UpcomingWindow after it, soonest first (then by
// title and ID). evs is not changed.
func Upcoming(evs []event.Event, now time.Time) []event.Event {
	until := now.Add(UpcomingWindow)
	var out []event.Event
	for _, ev := range evs {
		if ev.Status != event.StatusPublished || !ev.CancelledAt.IsZero() {
			continue
		}
		if !ev.StartsAt.After(now) || ev.StartsAt.After(until) {
			continue
		}
		out = append(out, ev)
	}
	slices.SortStableFunc(out, func(a, b event.Event) int {
		return cmp.Or(a.StartsAt.Compare(b.StartsAt), strings.Compare(a.Title, b.Title), strings.Compare(a.ID, b.ID))
	})
	return out
}

// NewCaseStudies returns the case studies an issue lists as new: those whose published date
// is on or after since's date in London (bulletin.IssueZone), newest first (then by title
// and slug). since is when the previous issue was rendered (its dispatch's start); entries
// are the published case studies (the list's index holds no drafts).
//
// A case study's published date is a day, not a moment, so one dated the day the previous
// issue went out may have been in it already; it is listed again rather than risk never
// listing one published that afternoon. A zero since (no issue was sent before) lists none:
// a first issue does not list the whole catalogue as new. Callers wanting a window then pass
// now less seven days. Entries with a published date that is not YYYY-MM-DD are left out.
func NewCaseStudies(entries []casestudy.Entry, since time.Time) []casestudy.Entry {
	if since.IsZero() {
		return nil
	}
	from := since.In(london()).Format(time.DateOnly)
	var out []casestudy.Entry
	for _, e := range entries {
		if _, err := time.Parse(time.DateOnly, e.Published); err != nil || e.Published < from {
			continue
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b casestudy.Entry) int {
		return cmp.Or(strings.Compare(b.Published, a.Published), strings.Compare(a.Title, b.Title), strings.Compare(a.Slug, b.Slug))
	})
	return out
}

// london is bulletin.IssueZone's location (UTC if the zone database were missing, which
// event's embedded copy prevents).
func london() *time.Location {
	loc, err := event.LoadZone(bulletin.IssueZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// The placeholders of a rendered part: a NUL, a letter, a NUL. Content never holds a NUL
// (Render replaces each with U+FFFD), so content is never taken for one.
const (
	markerGreeting    = "\x00g\x00" // "Dear Zoë," or "Hello,"
	markerUnsubscribe = "\x00u\x00" // the recipient's unsubscribe URL
)

// Render renders iss as of now with the events and case studies its sections list (as
// Upcoming and NewCaseStudies chose them, in that order): the mail's HTML part (a 600 px
// table layout with inline styles, readable without images or CSS, with the preheader in a
// hidden span) and plain-text part, each with the placeholders Personal fills in, and the
// archive page (a whole HTML page with the same content, no greeting and no personal link).
// An empty section says so ("No events in the next eight weeks.") and links to the site's
// list. Its errors name the issue's ID, never personal data.
func (r Renderer) Render(iss bulletin.Issue, events []event.Event, cases []casestudy.Entry, now time.Time) (bulletin.Rendered, error) {
	if cleanLine(iss.Subject, maxLine) == "" {
		return bulletin.Rendered{}, fmt.Errorf("render issue %s: no subject", iss.ID)
	}
	c := r.compose(iss, events, cases, now)
	var rd bulletin.Rendered
	var err error
	// A random sentinel stands for each placeholder while the templates run (html/template
	// would escape a NUL); the count of sentinels found proves that none came from content.
	// A clash is a 1 in 2^130 chance per try.
	for range 3 {
		if rd, err = r.renderWith(c, newSentinels()); !errors.Is(err, errSentinelClash) {
			break
		}
	}
	if err != nil {
		return bulletin.Rendered{}, fmt.Errorf("render issue %s: %w", iss.ID, err)
	}
	rd.Subject = c.Subject
	rd.Preheader = c.Preheader
	rd.Events = len(events)
	rd.CaseStudies = len(cases)
	rd.RenderedAt = now
	return rd, nil
}

// Personal returns to's copy of the rendered issue rd: its parts with to's greeting ("Dear
// Zoë," from the name, HTML-escaped in the HTML part; "Hello," without one) and
// unsubscribe URL (SITE_URL + bulletin.UnsubscribePath(token), the token query-escaped)
// filled in, from r.From to to.Email, with the headers of RFC 8058's one-click unsubscribe:
// List-Unsubscribe: <url> and List-Unsubscribe-Post: List-Unsubscribe=One-Click.
//
// It copies the parts around the placeholders, once per recipient (no template runs), and
// does not fail or panic on any input: a name is made one line of valid UTF-8 without
// control characters and at most bulletin.MaxName characters; a NUL in rd that is not a
// known placeholder is dropped. to.UnsubscribeToken must be the subscriber's token
// (bulletin.UnsubscribeToken, 45 characters); Personal does not check it, and escapes any
// token so that it cannot break the link or the header, but mail.Build refuses a
// List-Unsubscribe line over 998 characters (a token of several hundred).
func (r Renderer) Personal(rd bulletin.Rendered, to bulletin.Recipient) mail.Message {
	greet := greeting(to.Name)
	unsub := r.UnsubscribeURL(to.UnsubscribeToken)
	return mail.Message{
		From:    r.From,
		To:      []string{to.Email},
		Subject: rd.Subject,
		Text:    fill(rd.Text, greet, unsub),
		HTML:    fill(rd.HTML, html.EscapeString(greet), html.EscapeString(unsub)),
		Headers: map[string]string{
			"List-Unsubscribe":      "<" + unsub + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
	}
}

// UnsubscribeURL is the unsubscribe link of token: SITE_URL +
// bulletin.UnsubscribePath(token), the token query-escaped (a real token, base64url, is
// unchanged by it), so that no token can break the link or the List-Unsubscribe header.
func (r Renderer) UnsubscribeURL(token string) string {
	return bulletin.SiteURL(r.site(), bulletin.UnsubscribePath(url.QueryEscape(token)))
}

// fill replaces the placeholders of a rendered part: markerGreeting with greet and
// markerUnsubscribe with unsub (each already escaped for the part). A NUL that does not start
// a known placeholder is dropped, so fill never fails and its result holds no NUL.
func fill(part, greet, unsub string) string {
	var b strings.Builder
	b.Grow(len(part) + len(greet) + 2*len(unsub))
	for {
		i := strings.IndexByte(part, 0)
		if i < 0 {
			b.WriteString(part)
			return b.String()
		}
		b.WriteString(part[:i])
		part = part[i:]
		switch {
		case strings.HasPrefix(part, markerGreeting):
			b.WriteString(greet)
			part = part[len(markerGreeting):]
		case strings.HasPrefix(part, markerUnsubscribe):
			b.WriteString(unsub)
			part = part[len(markerUnsubscribe):]
		default:
			part = part[1:]
		}
	}
}

// greeting is "Dear <name>," or, without a usable name, "Hello,". The name is made valid
// UTF-8 on one line, its control characters, line separators and runs of spaces made single
// spaces, at most bulletin.MaxName characters: a stored name cannot break a line of the text
// part or the UTF-8 Build requires.
func greeting(name string) string {
	name = cleanLine(name, bulletin.MaxName)
	if name == "" {
		return "Hello,"
	}
	return "Dear " + name + ","
}

// cleanLine returns s as one line of valid UTF-8: control characters and Unicode line and
// paragraph separators become spaces, runs of spaces become one, leading and trailing ones
// go, and it is cut to at most max characters.
func cleanLine(s string, max int) string {
	var b strings.Builder
	b.Grow(min(len(s), 4*max))
	n, space := 0, false
	for _, c := range s {
		if c == utf8.RuneError || unicode.IsControl(c) || unicode.IsSpace(c) || c == '\u2028' || c == '\u2029' {
			space = true
			continue
		}
		if n >= max {
			break
		}
		if space && n > 0 {
			if n+1 >= max {
				break
			}
			b.WriteByte(' ')
			n++
		}
		space = false
		b.WriteRune(c)
		n++
	}
	return b.String()
}
