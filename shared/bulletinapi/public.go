// Package bulletinapi serves the Light Lunch bulletin's routes: the public ones of
// BulletinFunction
//
//	POST /bulletin/subscriptions          ask to subscribe: 202 {"status":"pending"}, whatever the address's state
//	GET  /bulletin/confirm?token=…        confirm (the double opt-in link): an HTML page
//	GET  /bulletin/unsubscribe?token=…    an HTML page with an "Unsubscribe" button; a GET never unsubscribes
//	POST /bulletin/unsubscribe?token=…    unsubscribe at once (RFC 8058 one-click; the page's button)
//	GET  /bulletin/issues                 the issues sent, newest first (?page=&per_page=; ETag/304)
//	GET  /bulletin/issues/{id}            one issue as sent, as an HTML page without personal links (ETag/304)
//
// and the staff ones of StaffBulletinFunction (staff.go). The subscriber's state, the
// confirmation mail's limits and its recording in the outbox are the store's, in one
// transaction; the handlers validate, call the store once, and send the mail it recorded
// (package mail's outbox: if SES fails now, MailOutboxFunction sends it later).
//
// Nothing a response says, and nothing logged, tells whether an address is known: the
// subscription request answers the same to every valid body, and the link pages identify
// subscribers by their random ID only.
package bulletinapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sectorhub/shared/apperr"
	"sectorhub/shared/bulletin"
	"sectorhub/shared/httpapi"
	"sectorhub/shared/mail"
)

// MailKindConfirmation is the outbox Kind of a confirmation mail.
const MailKindConfirmation = "bulletin-confirmation"

// Cache-Control of the archive, as the case studies': an issue once sent never changes, and
// the list changes once a week.
const (
	issuesCacheControl = "public, max-age=60"
	issueCacheControl  = "public, max-age=300"
)

// Limits of GET /bulletin/issues. The list is paged by walking the store's cursor, so a page
// far down costs reading the pages before it: at one issue a week, 100 pages of 50 are a
// century.
const (
	defaultPerPage = 10
	maxPerPage     = 50
	maxPage        = 100
	storePage      = 100 // issues read from the store at a time
)

// Store is what the public routes read and write (package dynamo's Store).
type Store interface {
	RequestSubscription(ctx context.Context, sub bulletin.Subscription, now time.Time, build func(bulletin.Subscriber) (mail.Mail, error)) (mailID string, err error)
	ConfirmSubscription(ctx context.Context, id, secret string, now time.Time) (bulletin.ConfirmResult, error)
	SubscriberByID(ctx context.Context, id string) (bulletin.Subscriber, bool, error)
	Unsubscribe(ctx context.Context, id, secret string, now time.Time) (changed bool, err error)
	IssueByID(ctx context.Context, id string) (bulletin.StoredIssue, bool, error)
	SentIssues(ctx context.Context, limit int, cursor string) (iss []bulletin.StoredIssue, next string, err error)
	RenderedIssue(ctx context.Context, id string) (bulletin.Rendered, bool, error)
}

// ConfirmationRenderer writes the confirmation mail of a subscriber whose record holds a
// confirmation secret (bulletinmail.Renderer).
type ConfirmationRenderer interface {
	Confirmation(s bulletin.Subscriber) mail.Message
}

// Deps are the public routes' dependencies.
type Deps struct {
	Store   Store
	Outbox  mail.Outbox
	Sender  mail.Sender
	Mail    ConfirmationRenderer
	SiteURL string // the website (SITE_URL), for the archive's links and the pages' "back" links
	Now     func() time.Time
	Log     *slog.Logger
}

// API serves the public bulletin routes.
type API struct{ Deps }

// New returns the public bulletin routes on a router.
func New(d Deps) *httpapi.Router {
	if d.Now == nil {
		d.Now = time.Now
	}
	a := &API{d}
	r := httpapi.NewRouter(d.Log)
	r.Handle("POST /bulletin/subscriptions", a.subscribe)
	r.Handle("GET /bulletin/confirm", a.confirm)
	r.Handle("GET /bulletin/unsubscribe", a.unsubscribePage)
	r.Handle("POST /bulletin/unsubscribe", a.unsubscribe)
	r.Handle("GET /bulletin/issues", a.issues)
	r.Handle("GET /bulletin/issues/{id}", a.issue)
	return r
}

// StatusResponse is the body of the subscription request's 202 ("pending") and of a one-click
// unsubscribe asked for JSON ("unsubscribed").
type StatusResponse struct {
	Status string `json:"status"`
}

func (a *API) subscribe(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	body, err := httpapi.JSONBody(req, bulletin.MaxSubscriptionBody)
	if err != nil {
		return httpapi.Response{}, err
	}
	sub, problems := bulletin.ParseSubscription(body)
	if len(problems) > 0 {
		return httpapi.Response{}, apperr.Invalidf(problems)
	}
	now := a.Now()
	mailID, err := a.Store.RequestSubscription(ctx, sub, now, func(s bulletin.Subscriber) (mail.Mail, error) {
		msg := a.Mail.Confirmation(s)
		raw, err := mail.Build(msg, now)
		if err != nil {
			return mail.Mail{}, fmt.Errorf("confirmation mail for subscriber %s: %w", s.ID, err)
		}
		return mail.Mail{Kind: MailKindConfirmation, From: msg.From, To: msg.To, Raw: raw}, nil
	})
	if err != nil {
		return httpapi.Response{}, err
	}
	if mailID != "" {
		deliver(ctx, a.Log, a.Outbox, a.Sender, mailID, now)
	}
	// The same answer whether a mail went or not (new, pending, subscribed, suppressed, or
	// over the limit of confirmation mails): the log says which, by the mail's ID only.
	a.Log.InfoContext(ctx, "subscription requested", "mail", mailID)
	resp := httpapi.JSON(http.StatusAccepted, StatusResponse{Status: "pending"})
	resp.Headers["Cache-Control"] = "no-store"
	return resp, nil
}

// deliver sends a recorded mail now. A failure is not the request's: the mail stays in the
// outbox and MailOutboxFunction retries it; only its ID and the error's code (no personal
// data) are logged.
func deliver(ctx context.Context, log *slog.Logger, ob mail.Outbox, s mail.Sender, id string, now time.Time) {
	if err := mail.Deliver(ctx, ob, s, id, now); err != nil {
		log.WarnContext(ctx, "mail not sent now; the outbox will retry", "mail", id, "err", err.Error())
	}
}

// linkToken returns the token query parameter of a link ("" when absent or given twice).
// Other parameters are ignored: mail clients and link checkers add their own.
func linkToken(req httpapi.Request) string {
	v, err := url.ParseQuery(req.RawQueryString)
	if err != nil || len(v["token"]) != 1 {
		return ""
	}
	return v["token"][0]
}

// Pages of the links. None says whose link it is.
var (
	pageBadLink = pageData{
		Title:      "This link is not complete",
		Paragraphs: []string{"The link is missing part of its code. Please open the whole link from the email again, or copy all of it into your browser’s address bar."},
	}
	pageUnknownLink = pageData{
		Title:      "This link is not valid",
		Paragraphs: []string{"We could not find what this link is for. Please check that you used the whole link from the most recent email we sent you."},
	}
	pageError = pageData{
		Title:      "Something went wrong",
		Paragraphs: []string{"We could not do this just now. Please try the link again in a few minutes."},
	}
)

// withSiteLink adds a link to the website to d.
func (a *API) withSiteLink(d pageData, text string) pageData {
	if a.SiteURL != "" {
		d.LinkURL, d.LinkText = a.SiteURL, text
	}
	return d
}

// failPage is the page of an error the store returned: logged in full (it carries no
// personal data), shown as "something went wrong".
func (a *API) failPage(ctx context.Context, err error) httpapi.Response {
	a.Log.ErrorContext(ctx, "request failed", "err", err.Error())
	return render(http.StatusInternalServerError, pageError)
}

func (a *API) confirm(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	id, secret, ok := bulletin.ParseToken(bulletin.ConfirmPurpose, linkToken(req))
	if !ok {
		return render(http.StatusBadRequest, pageBadLink), nil
	}
	res, err := a.Store.ConfirmSubscription(ctx, id, secret, a.Now())
	if errors.Is(err, bulletin.ErrBadToken) {
		res, err = bulletin.ConfirmInvalid, nil
	}
	if err != nil {
		return a.failPage(ctx, err), nil
	}
	a.Log.InfoContext(ctx, "subscription confirmation", "subscriber", id, "result", string(res))
	switch res {
	case bulletin.Confirmed, bulletin.AlreadyConfirmed:
		return render(http.StatusOK, a.withSiteLink(pageData{
			Title: "You’re subscribed to Light Lunch",
			Paragraphs: []string{
				"Thank you for confirming. Light Lunch, our weekly e-bulletin, will come to you by email.",
				"Every issue has a link at the bottom to unsubscribe, at any time, in one click.",
			},
			Status: "Your subscription is confirmed.",
		}, "Back to the website")), nil
	case bulletin.ConfirmExpired:
		return render(http.StatusGone, a.withSiteLink(pageData{
			Title: "This link has expired",
			Paragraphs: []string{
				"Confirmation links work for 7 days, and this one is older. You are not subscribed.",
				"To receive Light Lunch, please subscribe again on our website: we will send you a new link.",
			},
		}, "Subscribe again on the website")), nil
	default:
		return render(http.StatusNotFound, a.withSiteLink(pageUnknownLink, "Back to the website")), nil
	}
}

// unsubscriber returns the subscriber an unsubscribe token names, or errBadLink for a
// malformed token (or one made for another purpose) and errUnknownLink for an unknown
// subscriber or a secret that is not theirs.
func (a *API) unsubscriber(ctx context.Context, token string) (bulletin.Subscriber, error) {
	id, secret, ok := bulletin.ParseToken(bulletin.UnsubscribePurpose, token)
	if !ok {
		return bulletin.Subscriber{}, errBadLink
	}
	s, ok, err := a.Store.SubscriberByID(ctx, id)
	if err != nil {
		return bulletin.Subscriber{}, err
	}
	if !ok || !bulletin.SecretMatches(s.UnsubscribeSecret, secret) {
		return bulletin.Subscriber{}, errUnknownLink
	}
	return s, nil
}

// Errors of the links, in JSON and as pages (linkPage).
var (
	errBadLink     = apperr.Errorf(apperr.Invalid, "the link is not complete: token must be the whole code from the email")
	errUnknownLink = apperr.Errorf(apperr.NotFound, "this link is not valid")
)

// linkPage is the page of an error of a link.
func (a *API) linkPage(ctx context.Context, err error) httpapi.Response {
	switch {
	case errors.Is(err, errBadLink):
		return render(http.StatusBadRequest, pageBadLink)
	case errors.Is(err, errUnknownLink):
		return render(http.StatusNotFound, a.withSiteLink(pageUnknownLink, "Back to the website"))
	}
	return a.failPage(ctx, err)
}

// unsubscribePage is GET /bulletin/unsubscribe: the question and the button, which posts to
// the same URL. It never unsubscribes: mail scanners and link previews follow links.
func (a *API) unsubscribePage(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	token := linkToken(req)
	s, err := a.unsubscriber(ctx, token)
	if err != nil {
		return a.linkPage(ctx, err), nil
	}
	if s.State != bulletin.Subscribed && s.State != bulletin.Pending {
		return render(http.StatusOK, a.withSiteLink(pageData{
			Title:      "You’re unsubscribed",
			Paragraphs: []string{"This address does not receive Light Lunch. There is nothing more to do."},
		}, "Back to the website")), nil
	}
	return render(http.StatusOK, pageData{
		Title:      "Unsubscribe from Light Lunch",
		Paragraphs: []string{"Do you want to stop receiving Light Lunch, our weekly e-bulletin? You can subscribe again at any time."},
		// Relative to /bulletin/unsubscribe: the page works under any API path prefix.
		Action: "?token=" + url.QueryEscape(token),
		Button: "Unsubscribe",
	}), nil
}

// unsubscribe is POST /bulletin/unsubscribe: RFC 8058's one-click unsubscribe (a mail
// client posts List-Unsubscribe=One-Click, form-encoded) and the page's button. The body is
// not read and any content type is taken. Unsubscribing twice answers as the first time.
func (a *API) unsubscribe(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	asJSON := prefersJSON(httpapi.Header(req, "Accept"))
	var err error = errBadLink
	if id, secret, ok := bulletin.ParseToken(bulletin.UnsubscribePurpose, linkToken(req)); ok {
		var changed bool
		changed, err = a.Store.Unsubscribe(ctx, id, secret, a.Now())
		if errors.Is(err, bulletin.ErrBadToken) {
			err = errUnknownLink
		}
		if err == nil {
			a.Log.InfoContext(ctx, "unsubscribed", "subscriber", id, "changed", changed)
		}
	}
	if asJSON {
		if err != nil {
			return httpapi.Response{}, err
		}
		resp := httpapi.JSON(http.StatusOK, StatusResponse{Status: "unsubscribed"})
		privateHeaders(resp.Headers)
		return resp, nil
	}
	if err != nil {
		return a.linkPage(ctx, err), nil
	}
	return render(http.StatusOK, a.withSiteLink(pageData{
		Title:      "You’re unsubscribed",
		Paragraphs: []string{"You will not receive Light Lunch any more. If this was a mistake, you can subscribe again on our website."},
		Status:     "You have been unsubscribed from Light Lunch.",
	}, "Back to the website")), nil
}

// prefersJSON reports whether an Accept header ranks application/json above text/html
// (each range's q; the most specific range that matches a type decides its q). No header,
// or a tie, is HTML: the routes' first readers are people.
func prefersJSON(accept string) bool {
	q := func(target string) float64 {
		best, spec := 0.0, -1
		typ, _, _ := strings.Cut(target, "/")
		for part := range strings.SplitSeq(accept, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			s := -1
			switch mt {
			case target:
				s = 2
			case typ + "/*":
				s = 1
			case "*/*":
				s = 0
			}
			if s < spec || s < 0 {
				continue
			}
			v := 1.0
			if qs, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(qs, 64); err == nil && f >= 0 && f <= 1 {
					v = f
				}
			}
			if s > spec || v > best {
				best, spec = v, s
			}
		}
		return best
	}
	j := q("application/json")
	return j > 0 && j > q("text/html")
}

// IssueSummary is a sent issue in GET /bulletin/issues.
type IssueSummary struct {
	ID        string    `json:"id"`
	Subject   string    `json:"subject"`
	Preheader string    `json:"preheader"`
	SentAt    time.Time `json:"sent_at"`
	URL       string    `json:"url"` // the issue's archive page
}

// IssuesPage is the body of GET /bulletin/issues.
type IssuesPage struct {
	Page    int            `json:"page"`
	PerPage int            `json:"per_page"`
	HasMore bool           `json:"has_more"` // a next page has issues
	Items   []IssueSummary `json:"items"`
}

// parsePaging parses page and per_page, as GET /events does: whole numbers in range, each at
// most once, an empty value counting as absent; an unknown parameter is an error.
func parsePaging(req httpapi.Request) (page, perPage int, err error) {
	params, err := httpapi.Query(req)
	if err != nil {
		return 0, 0, err
	}
	page, perPage = 1, defaultPerPage
	for key, vals := range params {
		if key != "page" && key != "per_page" {
			return 0, 0, apperr.Errorf(apperr.Invalid, "unknown parameter %s; GET /bulletin/issues takes page and per_page", quote(key))
		}
		if len(vals) > 1 {
			return 0, 0, apperr.Errorf(apperr.Invalid, "%s must be given only once", key)
		}
		s := ""
		if len(vals) == 1 {
			s = strings.TrimSpace(vals[0])
		}
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		switch {
		case key == "page" && (err != nil || n < 1 || n > maxPage):
			return 0, 0, apperr.Errorf(apperr.Invalid, "page must be a whole number between 1 and %d", maxPage)
		case key == "per_page" && (err != nil || n < 1 || n > maxPerPage):
			return 0, 0, apperr.Errorf(apperr.Invalid, "per_page must be between 1 and %d", maxPerPage)
		case key == "page":
			page = n
		default:
			perPage = n
		}
	}
	return page, perPage, nil
}

func (a *API) issues(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	page, perPage, err := parsePaging(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	// Read up to the page's last issue: the store's cursor says whether there are more.
	need := page * perPage
	var sent []bulletin.StoredIssue
	cursor, more := "", false
	for len(sent) < need {
		got, next, err := a.Store.SentIssues(ctx, min(need-len(sent), storePage), cursor)
		if err != nil {
			return httpapi.Response{}, err
		}
		sent = append(sent, got...)
		if more = next != ""; !more {
			break
		}
		cursor = next
	}
	body := IssuesPage{Page: page, PerPage: perPage, HasMore: more, Items: []IssueSummary{}}
	start := min((page-1)*perPage, len(sent))
	for _, iss := range sent[start:min(start+perPage, len(sent))] {
		body.Items = append(body.Items, IssueSummary{
			ID: iss.ID, Subject: iss.Subject, Preheader: iss.Preheader,
			SentAt: iss.Dispatch.FinishedAt.UTC(),
			URL:    bulletin.SiteURL(a.SiteURL, "/bulletin/issues/"+iss.ID),
		})
	}
	return httpapi.CachedJSON(req, body, issuesCacheControl), nil
}

// validIssueID reports whether id names an issue: a date that exists, YYYY-MM-DD.
func validIssueID(id string) bool {
	got, ok := bulletin.IssueID("bulletins/" + id + ".md")
	return ok && got == id
}

// issue is GET /bulletin/issues/{id}: the web page of a sent issue, as rendered when its
// dispatch began (Rendered.ArchiveHTML, without personal links). The page is there from the
// moment the mails start going (every mail links to it), not only once the last one has
// gone; an issue not yet sending is 404, as an unknown one.
func (a *API) issue(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	id := req.PathParameters["id"]
	page, err := a.archivePage(ctx, id)
	if err == nil {
		return cachedHTML(req, page, issueCacheControl), nil
	}
	if prefersJSON(httpapi.Header(req, "Accept")) {
		return httpapi.Response{}, err
	}
	if apperr.Code(err) != apperr.NotFound {
		return a.failPage(ctx, err), nil
	}
	resp := render(http.StatusNotFound, a.withSiteLink(pageData{
		Title:      "No such issue",
		Paragraphs: []string{"There is no issue of Light Lunch at this address, or it has not been sent yet."},
	}, "Back to the website"))
	return resp, nil
}

func (a *API) archivePage(ctx context.Context, id string) (string, error) {
	notFound := apperr.Errorf(apperr.NotFound, "no sent issue %s", quote(id))
	if !validIssueID(id) {
		return "", notFound
	}
	iss, ok, err := a.Store.IssueByID(ctx, id)
	if err != nil {
		return "", err
	}
	if !ok || iss.Dispatch.State != bulletin.Sending && iss.Dispatch.State != bulletin.Finished {
		return "", notFound
	}
	r, ok, err := a.Store.RenderedIssue(ctx, id)
	if err != nil {
		return "", err
	}
	if !ok || r.ArchiveHTML == "" {
		return "", fmt.Errorf("issue %s is sent but has no archive page", id)
	}
	return r.ArchiveHTML, nil
}

// quote quotes s for a message, shortened if long.
func quote(s string) string {
	if len([]rune(s)) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return strconv.Quote(s)
}
