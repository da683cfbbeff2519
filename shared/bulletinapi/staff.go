package bulletinapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"sectorhub/shared/apperr"
	"sectorhub/shared/bulletin"
	"sectorhub/shared/event"
	"sectorhub/shared/httpapi"
	"sectorhub/shared/mail"
)

// The staff routes of StaffBulletinFunction, behind the JWT authorizer:
//
//	GET  /staff/bulletins             every issue, newest first, with its dispatch's progress (?limit=&cursor=)
//	GET  /staff/bulletins/{id}        one issue, with its text and what its mail was rendered with
//	POST /staff/bulletins/{id}/test   {"email"}: send the issue, rendered now, to one address (202)

// MailKindTest is the outbox Kind of a test send.
const MailKindTest = "bulletin-test"

// maxTestBody bounds the body of a test send, as a booking's.
const maxTestBody = 16 << 10

// TestUnsubscribeToken is the unsubscribe token of a test send's recipient: well formed, so
// that its link reaches the page, but naming no subscriber (no random ID is all these
// letters), so that it unsubscribes nobody and its page says the link is not valid.
var TestUnsubscribeToken = bulletin.Token(bulletin.UnsubscribePurpose, "testsendonlynotalinkAA", "testsendonlynotalinkAA")

// StaffStore is what the staff routes read and write (package dynamo's Store): the issues,
// and the outbox a test send goes through.
type StaffStore interface {
	IssueByID(ctx context.Context, id string) (bulletin.StoredIssue, bool, error)
	Issues(ctx context.Context, limit int, cursor string) (iss []bulletin.StoredIssue, next string, err error)
	RenderedIssue(ctx context.Context, id string) (bulletin.Rendered, bool, error)
	mail.Outbox
	MailByID(ctx context.Context, id string) (mail.Mail, bool, error)
}

// Previewer renders an issue's mail now, with the upcoming events and new case studies of
// the moment, as its dispatch would (bulletinsend.Dispatcher), without storing anything.
type Previewer interface {
	Preview(ctx context.Context, iss bulletin.Issue) (bulletin.Rendered, error)
}

// PersonalRenderer writes one recipient's mail from an issue's rendering
// (bulletinmail.Renderer).
type PersonalRenderer interface {
	Personal(rd bulletin.Rendered, to bulletin.Recipient) mail.Message
}

// StaffDeps are the staff routes' dependencies.
type StaffDeps struct {
	Store   StaffStore
	Sender  mail.Sender
	Preview Previewer
	Mail    PersonalRenderer
	Now     func() time.Time
	Log     *slog.Logger
}

type staffAPI struct{ StaffDeps }

// NewStaff returns the staff bulletin routes on a router.
func NewStaff(d StaffDeps) *httpapi.Router {
	if d.Now == nil {
		d.Now = time.Now
	}
	a := &staffAPI{d}
	r := httpapi.NewRouter(d.Log)
	r.Handle("GET /staff/bulletins", a.list)
	r.Handle("GET /staff/bulletins/{id}", a.get)
	r.Handle("POST /staff/bulletins/{id}/test", a.testSend)
	return r
}

// StaffDispatch is an issue's dispatch as staff see it: its state ("not_started",
// "preparing", "sending" or "sent"), when it started and finished, and its progress
// (recipients, sent, remaining, suppressed, failed, uncertain, throttled).
type StaffDispatch struct {
	State      string    `json:"state"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	bulletin.Progress
}

// StaffIssue is an issue as staff see it in the list, times in London.
type StaffIssue struct {
	ID         string          `json:"id"`
	Subject    string          `json:"subject"`
	Preheader  string          `json:"preheader"`
	Status     bulletin.Status `json:"status"` // ready or draft
	SendAt     time.Time       `json:"send_at"`
	Key        string          `json:"key"`
	UploadedAt time.Time       `json:"uploaded_at"`
	Dispatch   StaffDispatch   `json:"dispatch"`
}

// StaffIssueDetail is the body of GET /staff/bulletins/{id}: the issue with its own part of
// the mail, and once its dispatch has rendered it, what the mail was rendered with.
type StaffIssueDetail struct {
	StaffIssue
	HTML     string          `json:"html"`
	Text     string          `json:"text"`
	Rendered *RenderedDetail `json:"rendered"` // null until the dispatch renders the mail
}

// RenderedDetail is what an issue's mail was rendered with when its dispatch began.
type RenderedDetail struct {
	Subject     string    `json:"subject"`
	Events      int       `json:"events"`
	CaseStudies int       `json:"case_studies"`
	RenderedAt  time.Time `json:"rendered_at"`
}

// london is the zone of staff times.
func london() *time.Location {
	if loc, err := event.LoadZone(bulletin.IssueZone); err == nil {
		return loc
	}
	return time.UTC
}

func inZone(t time.Time, loc *time.Location) time.Time {
	if t.IsZero() {
		return t
	}
	return t.In(loc)
}

func staffIssue(iss bulletin.StoredIssue) StaffIssue {
	loc := london()
	state := string(iss.Dispatch.State)
	if iss.Dispatch.State == bulletin.NotStarted {
		state = "not_started"
	}
	return StaffIssue{
		ID: iss.ID, Subject: iss.Subject, Preheader: iss.Preheader, Status: iss.Status,
		SendAt: inZone(iss.SendAt, loc), Key: iss.Key, UploadedAt: inZone(iss.UploadedAt, loc),
		Dispatch: StaffDispatch{
			State: state, StartedAt: inZone(iss.Dispatch.StartedAt, loc), FinishedAt: inZone(iss.Dispatch.FinishedAt, loc),
			Progress: iss.Dispatch.Progress,
		},
	}
}

// StaffIssuesPage is the body of GET /staff/bulletins.
type StaffIssuesPage struct {
	Items      []StaffIssue `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

func (a *staffAPI) list(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	limit, cursor, err := httpapi.LimitCursor(req, "GET /staff/bulletins")
	if err != nil {
		return httpapi.Response{}, err
	}
	iss, next, err := a.Store.Issues(ctx, limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	page := StaffIssuesPage{Items: make([]StaffIssue, 0, len(iss)), NextCursor: next}
	for _, is := range iss {
		page.Items = append(page.Items, staffIssue(is))
	}
	return httpapi.PrivateJSON(http.StatusOK, page), nil
}

func (a *staffAPI) issueByID(ctx context.Context, id string) (bulletin.StoredIssue, error) {
	notFound := apperr.Errorf(apperr.NotFound, "no issue %s", quote(id))
	if !validIssueID(id) {
		return bulletin.StoredIssue{}, notFound
	}
	iss, ok, err := a.Store.IssueByID(ctx, id)
	if err != nil {
		return bulletin.StoredIssue{}, err
	}
	if !ok {
		return bulletin.StoredIssue{}, notFound
	}
	return iss, nil
}

// rendered returns the mail iss's dispatch rendered, when it has.
func (a *staffAPI) rendered(ctx context.Context, iss bulletin.StoredIssue) (bulletin.Rendered, bool, error) {
	if iss.Dispatch.State == bulletin.NotStarted {
		return bulletin.Rendered{}, false, nil
	}
	return a.Store.RenderedIssue(ctx, iss.ID)
}

func (a *staffAPI) get(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	iss, err := a.issueByID(ctx, req.PathParameters["id"])
	if err != nil {
		return httpapi.Response{}, err
	}
	d := StaffIssueDetail{StaffIssue: staffIssue(iss), HTML: iss.HTML, Text: iss.Text}
	r, ok, err := a.rendered(ctx, iss)
	if err != nil {
		return httpapi.Response{}, err
	}
	if ok {
		d.Rendered = &RenderedDetail{Subject: r.Subject, Events: r.Events, CaseStudies: r.CaseStudies, RenderedAt: inZone(r.RenderedAt, london())}
	}
	return httpapi.PrivateJSON(http.StatusOK, d), nil
}

// parseTestSend validates the body of a test send, {"email": "…"}, as a booking's address.
func parseTestSend(body []byte) (string, []apperr.Problem) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return "", []apperr.Problem{{Message: "the body must be a JSON object"}}
	}
	var ps []apperr.Problem
	for _, k := range slices.Sorted(maps.Keys(members)) {
		if k != "email" {
			ps = append(ps, apperr.Problem{Field: event.KeyName(k), Message: "is not a field here; the only field is email"})
		}
	}
	raw, ok := members["email"]
	var s string
	switch {
	case !ok || event.JSONKind(raw) == 'n':
		ps = append([]apperr.Problem{{Field: "email", Message: "is required: the address to send the test to"}}, ps...)
	case event.JSONKind(raw) != '"' || json.Unmarshal(raw, &s) != nil:
		ps = append([]apperr.Problem{{Field: "email", Message: "must be a string, not " + event.JSONKindName(event.JSONKind(raw))}}, ps...)
	default:
		email, msg := event.NormaliseEmail(strings.TrimSpace(s))
		if msg != "" {
			ps = append([]apperr.Problem{{Field: "email", Message: msg}}, ps...)
		}
		s = email
	}
	if len(ps) > 0 {
		return "", ps
	}
	return s, nil
}

// TestSendResponse is the body of POST /staff/bulletins/{id}/test: "sent" when SES took the
// mail, "queued" when it did not now and the outbox will send it (within a minute, or after
// SES's throttling passes), "failed" when SES refused it for good (an address SES will not
// mail, such as an unverified one in the sandbox).
type TestSendResponse struct {
	Status string `json:"status"`
	MailID string `json:"mail_id"`
}

// testSend is POST /staff/bulletins/{id}/test: the issue as a subscriber would get it now
// (the mail its dispatch rendered, or rendered now with the upcoming events and new case
// studies of the moment if it has not started), to one address, its subject starting
// "[Test] " and its unsubscribe link TestUnsubscribeToken's. It goes through the outbox, so a
// failure of SES now leaves it to MailOutboxFunction. Drafts can be tested too.
func (a *staffAPI) testSend(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	body, err := httpapi.JSONBody(req, maxTestBody)
	if err != nil {
		return httpapi.Response{}, err
	}
	email, problems := parseTestSend(body)
	if len(problems) > 0 {
		return httpapi.Response{}, apperr.Invalidf(problems)
	}
	iss, err := a.issueByID(ctx, req.PathParameters["id"])
	if err != nil {
		return httpapi.Response{}, err
	}
	rd, ok, err := a.rendered(ctx, iss)
	if err != nil {
		return httpapi.Response{}, err
	}
	if !ok {
		if rd, err = a.Preview.Preview(ctx, iss.Issue); err != nil {
			return httpapi.Response{}, fmt.Errorf("preview issue %s: %w", iss.ID, err)
		}
	}
	now := a.Now()
	msg := a.Mail.Personal(rd, bulletin.Recipient{SubscriberID: "test", Email: email, UnsubscribeToken: TestUnsubscribeToken, Status: bulletin.Queued})
	msg.Subject = "[Test] " + msg.Subject
	raw, err := mail.Build(msg, now)
	if err != nil {
		return httpapi.Response{}, fmt.Errorf("test mail of issue %s: %w", iss.ID, err)
	}
	m := mail.Mail{ID: "bulletin-test-" + iss.ID + "-" + bulletin.NewSecret(), Kind: MailKindTest, From: msg.From, To: msg.To, Raw: raw}
	if _, err := a.Store.PutMail(ctx, m, now); err != nil {
		return httpapi.Response{}, err
	}
	deliver(ctx, a.Log, a.Store, a.Sender, m.ID, now)
	status := "queued"
	if got, ok, err := a.Store.MailByID(ctx, m.ID); err != nil {
		a.Log.WarnContext(ctx, "test mail's status not read", "mail", m.ID, "err", err.Error())
	} else if ok && got.Status == mail.Sent {
		status = "sent"
	} else if ok && got.Status == mail.Failed {
		status = "failed"
	}
	a.Log.InfoContext(ctx, "bulletin test sent", "issue", iss.ID, "mail", m.ID, "status", status)
	return httpapi.PrivateJSON(http.StatusAccepted, TestSendResponse{Status: status, MailID: m.ID}), nil
}
