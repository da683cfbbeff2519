package bulletin

import (
	"strings"
	"time"

	"sectorhub/shared/event"
)

// Limits of an issue upload.
const (
	// MaxIssueBytes is the largest issue file, front matter and body together (100 KB).
	MaxIssueBytes = 100 << 10
	// MaxFrontMatterBytes bounds the front matter, as for a case study.
	MaxFrontMatterBytes = 16 << 10
	// MaxIssueHTML bounds the rendered body (100 KB): Gmail cuts a mail's HTML off after
	// about 102 KB, and the issue is stored three times over (mail HTML, plain text and the
	// archive page) in one DynamoDB item of at most 400 KB when its dispatch starts.
	MaxIssueHTML = 100 << 10
	// MaxSendAtPast is how long before the upload a ready issue's send_at may be: the
	// dispatch sends at once every ready issue whose time has passed, so an older time is
	// far more likely a copied front matter than an intended send.
	MaxSendAtPast = 7 * 24 * time.Hour
	// MaxSendAtAhead is how far after the upload send_at may be.
	MaxSendAtAhead = 366 * 24 * time.Hour
)

// IssueZone is the time zone of an issue's default send time.
const IssueZone = "Europe/London"

// Status says whether an issue may be sent.
type Status string

// Statuses of an issue.
const (
	Ready Status = "ready" // to be sent at SendAt
	Draft Status = "draft" // stored and never sent; a test send may still show it
)

// Issue is one week's bulletin as uploaded: its own part of the mail. The upcoming events
// and new case studies are added when it is sent.
type Issue struct {
	// ID is the issue's date, YYYY-MM-DD, from its key bulletins/<date>.md.
	ID        string
	Subject   string // one line, at most MaxSubject characters
	Preheader string // one line, at most MaxPreheader characters; may be ""
	// SendAt is when the dispatch may send it: the front matter's send_at, or 12:00 in
	// London on the issue's date.
	SendAt time.Time
	Status Status
	HTML   string // the body rendered and sanitised by markdown.Render
	Text   string // the body's plain text, words separated by single spaces
}

// IssueID returns the date an issue's key names (bulletins/<yyyy-mm-dd>.md), and whether the
// key is of that form with a date that exists.
func IssueID(key string) (string, bool) {
	d, ok := strings.CutPrefix(key, "bulletins/")
	if !ok {
		return "", false
	}
	if d, ok = strings.CutSuffix(d, ".md"); !ok || len(d) != len(time.DateOnly) {
		return "", false
	}
	if _, err := time.Parse(time.DateOnly, d); err != nil {
		return "", false
	}
	return d, true
}

// DefaultSendAt is 12:00 in London on the date id (YYYY-MM-DD, known to parse).
func DefaultSendAt(id string) time.Time {
	d, _ := time.Parse(time.DateOnly, id)
	loc, err := event.LoadZone(IssueZone)
	if err != nil { // cannot happen: event embeds the zone database
		loc = time.UTC
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, loc)
}
