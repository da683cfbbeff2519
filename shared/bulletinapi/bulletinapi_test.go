package bulletinapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http/httptest"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"

	"sectorhub/infra/localstack/sescapture"
	"sectorhub/infra/testenv"
	"sectorhub/shared/bulletin"
	"sectorhub/shared/bulletinapi"
	"sectorhub/shared/bulletinmail"
	"sectorhub/shared/bulletinsend"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/httpapi"
	"sectorhub/shared/imports"
	"sectorhub/shared/mail"
)

const site = "https://www.example.org"

// clock is a settable time shared by the routes under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// env is the public and staff routes over one table and one SES capture. Subscribers' and
// test recipients' addresses are at example.net, so that logs can be checked for them.
type env struct {
	public, staff *httpapi.Router
	capture       *sescapture.Outbox
	store         *dynamo.Store
	clock         *clock
	logs          *testenv.Buffer
	renderer      bulletinmail.Renderer
	sender        mail.Sender
}

func newEnv(t *testing.T, db *dynamodb.Client, table string) *env {
	t.Helper()
	store := dynamo.New(db, table)
	capture := sescapture.New()
	srv := httptest.NewServer(capture)
	t.Cleanup(srv.Close)
	vars := map[string]string{
		"AWS_REGION": testenv.Region, "AWS_ACCESS_KEY_ID": testenv.AccessKey, "AWS_SECRET_ACCESS_KEY": testenv.SecretKey,
		"AWS_ENDPOINT_URL_SES": srv.URL,
	}
	sender := mail.NewSES(func(k string) string { return vars[k] })
	renderer := bulletinmail.Renderer{From: "Light Lunch <bulletin@example.org>", SiteURL: site}
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	c := &clock{t: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	e := &env{capture: capture, store: store, clock: c, logs: logs, renderer: renderer, sender: sender}
	e.public = bulletinapi.New(bulletinapi.Deps{Store: store, Outbox: store, Sender: sender, Mail: renderer, SiteURL: site, Now: c.Now, Log: log})
	e.staff = bulletinapi.NewStaff(bulletinapi.StaffDeps{Store: store, Sender: sender, Preview: &bulletinsend.Dispatcher{Store: store, Content: store, Renderer: renderer, Now: c.Now, Log: log}, Mail: renderer, Now: c.Now, Log: log})
	t.Cleanup(func() {
		if strings.Contains(logs.String(), "example.net") {
			t.Errorf("an address was logged:\n%s", logs.String())
		}
	})
	return e
}

// req is one request to a route.
type req struct {
	route   string            // "GET /bulletin/issues/{id}"
	params  map[string]string // path parameters
	query   string
	body    string
	headers map[string]string // lower-case names; content-type defaults to JSON when there is a body
}

// call sends r to router, built from a sample event of the same kind (public or staff).
func call(t *testing.T, router *httpapi.Router, r req) httpapi.Response {
	t.Helper()
	sample := "booking-get.json"
	if strings.Contains(r.route, "/staff/") {
		sample = "staff-event-get.json"
	}
	ev := testenv.HTTPEvent(t, sample)
	method, path, _ := strings.Cut(r.route, " ")
	ev.RouteKey, ev.RequestContext.RouteKey = r.route, r.route
	ev.RequestContext.HTTP.Method = method
	for k, v := range r.params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	ev.RawPath, ev.RequestContext.HTTP.Path = path, path
	ev.PathParameters = r.params
	ev.RawQueryString = r.query
	ev.Body = r.body
	ev.IsBase64Encoded = false
	h := map[string]string{}
	for k, v := range ev.Headers {
		if k != "content-type" && k != "accept" {
			h[k] = v
		}
	}
	if r.body != "" {
		h["content-type"] = "application/json"
	}
	for k, v := range r.headers {
		h[strings.ToLower(k)] = v
	}
	ev.Headers = h
	resp, err := router.Serve(context.Background(), ev)
	if err != nil {
		t.Fatalf("%s: %v", r.route, err)
	}
	return resp
}

func decode[T any](t *testing.T, resp httpapi.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		t.Fatalf("decode %q: %v", resp.Body, err)
	}
	return v
}

type errorBody struct {
	Error struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Problems []struct {
			Field, Message string
		} `json:"problems"`
	} `json:"error"`
}

func (e *env) subscribe(t *testing.T, body string) httpapi.Response {
	t.Helper()
	return call(t, e.public, req{route: "POST /bulletin/subscriptions", body: body})
}

func subscription(email string) string {
	return `{"email":"` + email + `","name":"Sam Taylor","organisation":"Example Trust","consent":true}`
}

// received is a captured mail, parsed with the standard library's MIME readers.
type received struct {
	header     netmail.Header
	text, html string
}

func parseMail(t *testing.T, raw []byte) received {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("read mail: %v", err)
	}
	r := received{header: m.Header}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("mail Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("mail part: %v", err)
		}
		var body io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(p)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("mail part: %v", err)
		}
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			r.text = string(b)
		case "text/html":
			r.html = string(b)
		}
	}
	return r
}

// mailsTo returns the captured mails to address, oldest first.
func (e *env) mailsTo(t *testing.T, address string) []sescapture.Message {
	t.Helper()
	var out []sescapture.Message
	msgs := e.capture.Messages() // newest first
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, d := range msgs[i].Destinations {
			if d == address {
				out = append(out, msgs[i])
			}
		}
	}
	return out
}

// confirmToken is the token of the confirmation link in the last mail to address.
func (e *env) confirmToken(t *testing.T, address string) string {
	t.Helper()
	mails := e.mailsTo(t, address)
	if len(mails) == 0 {
		t.Fatalf("no mail to %s", address)
	}
	text := parseMail(t, mails[len(mails)-1].Raw).text
	_, after, ok := strings.Cut(text, site+"/bulletin/confirm?token=")
	if !ok || len(after) < bulletin.TokenLen {
		t.Fatalf("no confirmation link in %q", text)
	}
	return after[:bulletin.TokenLen]
}

func (e *env) subscriber(t *testing.T, address string) bulletin.Subscriber {
	t.Helper()
	s, ok, err := e.store.SubscriberByEmail(context.Background(), address)
	if err != nil || !ok {
		t.Fatalf("SubscriberByEmail = %v, %v", ok, err)
	}
	return s
}

func tokenQuery(token string) string { return "token=" + token }

// checkPage checks that resp is an HTML page of status with title (its h1), sent with the
// link pages' headers.
func checkPage(t *testing.T, what string, resp httpapi.Response, status int, title string) {
	t.Helper()
	if resp.StatusCode != status || !strings.Contains(resp.Body, "<h1>"+title+"</h1>") {
		t.Errorf("%s = %d %s; want %d with the heading %q", what, resp.StatusCode, resp.Body, status, title)
	}
	for k, want := range map[string]string{
		"Content-Type":    "text/html; charset=utf-8",
		"Cache-Control":   "no-store",
		"Referrer-Policy": "no-referrer",
		"X-Frame-Options": "DENY",
	} {
		if got := resp.Headers[k]; got != want {
			t.Errorf("%s: %s = %q; want %q", what, k, got, want)
		}
	}
	if csp := resp.Headers["Content-Security-Policy"]; !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("%s: Content-Security-Policy = %q", what, csp)
	}
	if !strings.Contains(resp.Body, `<html lang="en-GB">`) || strings.Count(resp.Body, "<h1>") != 1 || strings.Contains(resp.Body, "<script") {
		t.Errorf("%s: page %s; want lang en-GB, one h1, no script", what, resp.Body)
	}
}

func TestSubscribeConfirmUnsubscribe(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		e := newEnv(t, db, table)
		const addr = "sam@example.net"

		first := e.subscribe(t, subscription(addr))
		if first.StatusCode != 202 || first.Body != `{"status":"pending"}` || first.Headers["Cache-Control"] != "no-store" {
			t.Fatalf("subscribe = %d %s %v; want 202 pending, no-store", first.StatusCode, first.Body, first.Headers)
		}
		mails := e.mailsTo(t, addr)
		if len(mails) != 1 || mails[0].Subject != bulletinmail.ConfirmSubject {
			t.Fatalf("mails to %s: %d; want one confirmation mail", addr, len(mails))
		}
		if s := e.subscriber(t, addr); s.State != bulletin.Pending {
			t.Errorf("after the request: state %s; want pending", s.State)
		}
		token := e.confirmToken(t, addr)

		// Confirming is a GET (the double opt-in link) and confirming twice is harmless.
		for i := range 2 {
			resp := call(t, e.public, req{route: "GET /bulletin/confirm", query: tokenQuery(token)})
			checkPage(t, "confirm", resp, 200, "You’re subscribed to Light Lunch")
			if s := e.subscriber(t, addr); s.State != bulletin.Subscribed || s.Consent == nil || s.Consent.Source != bulletin.SourceWebForm {
				t.Errorf("after confirm %d: %+v; want subscribed with web-form consent", i+1, s)
			}
		}

		// The unsubscribe link's page asks; GETs never unsubscribe.
		s := e.subscriber(t, addr)
		unsub := bulletin.UnsubscribeToken(s)
		for range 3 {
			page := call(t, e.public, req{route: "GET /bulletin/unsubscribe", query: tokenQuery(unsub), headers: map[string]string{"accept": "text/html"}})
			checkPage(t, "unsubscribe page", page, 200, "Unsubscribe from Light Lunch")
			if !strings.Contains(page.Body, `<form method="post" action="?token=`+unsub+`">`) || !strings.Contains(page.Body, `<button type="submit">Unsubscribe</button>`) {
				t.Errorf("unsubscribe page %s; want a form posting to ?token=…", page.Body)
			}
		}
		if s := e.subscriber(t, addr); s.State != bulletin.Subscribed {
			t.Fatalf("after three GETs of the unsubscribe link: %s; want still subscribed", s.State)
		}

		// One click (RFC 8058): a form-encoded POST with List-Unsubscribe=One-Click.
		oneClick := req{route: "POST /bulletin/unsubscribe", query: tokenQuery(unsub), body: "List-Unsubscribe=One-Click",
			headers: map[string]string{"content-type": "application/x-www-form-urlencoded"}}
		done := call(t, e.public, oneClick)
		checkPage(t, "one-click unsubscribe", done, 200, "You’re unsubscribed")
		if s := e.subscriber(t, addr); s.State != bulletin.Unsubscribed {
			t.Errorf("after the one-click POST: %s; want unsubscribed", s.State)
		}
		// Again, with any body or none, as HTML or JSON: the same answer.
		checkPage(t, "second unsubscribe", call(t, e.public, oneClick), 200, "You’re unsubscribed")
		for _, accept := range []string{"application/json", "application/json, text/html;q=0.5"} {
			js := call(t, e.public, req{route: "POST /bulletin/unsubscribe", query: tokenQuery(unsub), headers: map[string]string{"accept": accept}})
			if js.StatusCode != 200 || js.Body != `{"status":"unsubscribed"}` || js.Headers["Cache-Control"] != "no-store" {
				t.Errorf("unsubscribe, Accept %q = %d %s; want 200 {\"status\":\"unsubscribed\"}", accept, js.StatusCode, js.Body)
			}
		}
		after := call(t, e.public, req{route: "GET /bulletin/unsubscribe", query: tokenQuery(unsub)})
		checkPage(t, "unsubscribe page once unsubscribed", after, 200, "You’re unsubscribed")
		if strings.Contains(after.Body, "<form") {
			t.Errorf("unsubscribe page once unsubscribed has a form: %s", after.Body)
		}
		// The old confirmation link does not resubscribe.
		checkPage(t, "old confirm link", call(t, e.public, req{route: "GET /bulletin/confirm", query: tokenQuery(token)}), 404, "This link is not valid")
		if s := e.subscriber(t, addr); s.State != bulletin.Unsubscribed {
			t.Errorf("after the old confirm link: %s; want unsubscribed", s.State)
		}

		// Subscribing again sends a new link, which resubscribes.
		if r := e.subscribe(t, subscription(addr)); r.StatusCode != 202 {
			t.Fatalf("subscribe again = %d %s", r.StatusCode, r.Body)
		}
		again := e.confirmToken(t, addr)
		checkPage(t, "new confirm link", call(t, e.public, req{route: "GET /bulletin/confirm", query: tokenQuery(again)}), 200, "You’re subscribed to Light Lunch")
		if s := e.subscriber(t, addr); s.State != bulletin.Subscribed || bulletin.UnsubscribeToken(s) != unsub {
			t.Errorf("after resubscribing: %s; want subscribed with the same unsubscribe link", s.State)
		}
	})
}

// TestSubscribeNoEnumeration checks that the answer to a valid request is the same whatever
// the address's state, while the mails differ as they should.
func TestSubscribeNoEnumeration(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		e := newEnv(t, db, table)
		confirm := func(address string) {
			call(t, e.public, req{route: "GET /bulletin/confirm", query: tokenQuery(e.confirmToken(t, address))})
		}
		e.subscribe(t, subscription("subscribed@example.net"))
		confirm("subscribed@example.net")
		e.subscribe(t, subscription("left@example.net"))
		confirm("left@example.net")
		call(t, e.public, req{route: "POST /bulletin/unsubscribe", query: tokenQuery(bulletin.UnsubscribeToken(e.subscriber(t, "left@example.net")))})
		if _, err := e.store.Suppress(context.Background(), "bounced@example.net", bulletin.Bounced, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		e.subscribe(t, subscription("pending@example.net"))
		for range bulletin.MaxConfirmMails {
			e.subscribe(t, subscription("limit@example.net"))
		}
		var want httpapi.Response
		for i, tc := range []struct {
			name, email string
			mails       int // new mails to the address
		}{
			{"new address", "new@example.net", 1},
			{"pending", "pending@example.net", 1},
			{"pending, in capitals", "PENDING@EXAMPLE.NET", 1}, // the same subscriber: its third mail
			{"subscribed", "subscribed@example.net", 0},
			{"unsubscribed", "left@example.net", 1},
			{"bounced", "bounced@example.net", 1},
			{"over the limit of confirmation mails", "limit@example.net", 0},
		} {
			address := strings.ToLower(tc.email)
			before := len(e.mailsTo(t, address))
			got := e.subscribe(t, subscription(tc.email))
			if i == 0 {
				want = got
			}
			if got.StatusCode != 202 || got.Body != want.Body || !maps.Equal(got.Headers, want.Headers) {
				t.Errorf("%s: subscribe = %d %s %v; want the same as a new address: %d %s %v", tc.name, got.StatusCode, got.Body, got.Headers, want.StatusCode, want.Body, want.Headers)
			}
			if n := len(e.mailsTo(t, address)) - before; n != tc.mails {
				t.Errorf("%s: %d new mails; want %d", tc.name, n, tc.mails)
			}
		}
		if n := len(e.mailsTo(t, "limit@example.net")); n != bulletin.MaxConfirmMails {
			t.Errorf("mails to an address asked for 4 times = %d; want %d", n, bulletin.MaxConfirmMails)
		}
		if s := e.subscriber(t, "bounced@example.net"); s.State != bulletin.Bounced {
			t.Errorf("a bounced address asking again: %s; want bounced until confirmed", s.State)
		}
	})
}

func TestSubscribeBadInput(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		e := newEnv(t, db, table)
		for _, tc := range []struct {
			name    string
			body    string
			headers map[string]string
			status  int
			code    string
			fields  []string // the problems' fields, in order
		}{
			{"consent false", `{"email":"a@example.net","consent":false}`, nil, 400, "invalid_parameter", []string{"consent"}},
			{"no consent", `{"email":"a@example.net"}`, nil, 400, "invalid_parameter", []string{"consent"}},
			{"bad email and a long name", `{"email":"not an address","name":"` + strings.Repeat("n", 201) + `","consent":true}`, nil, 400, "invalid_parameter", []string{"email", "name"}},
			{"unknown field", `{"email":"a@example.net","consent":true,"Email":"b@example.net"}`, nil, 400, "invalid_parameter", []string{"Email"}},
			{"consent as a string", `{"email":"a@example.net","consent":"yes"}`, nil, 400, "invalid_parameter", []string{"consent"}},
			{"an array", `[{"email":"a@example.net","consent":true}]`, nil, 400, "invalid_parameter", nil},
			{"not JSON", `{"email":`, nil, 400, "invalid_parameter", nil},
			{"empty", ``, map[string]string{"content-type": "application/json"}, 400, "invalid_parameter", nil},
			{"text/plain", subscription("a@example.net"), map[string]string{"content-type": "text/plain"}, 415, "unsupported_media_type", nil},
			{"a form", "email=a%40example.net&consent=true", map[string]string{"content-type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type", nil},
			{"17 KB", `{"email":"a@example.net","consent":true,"name":"` + strings.Repeat("x", 17<<10) + `"}`, nil, 413, "too_large", nil},
			{"16 KB of spaces and a valid body", strings.Repeat(" ", 16<<10) + subscription("a@example.net"), nil, 413, "too_large", nil},
		} {
			resp := call(t, e.public, req{route: "POST /bulletin/subscriptions", body: tc.body, headers: tc.headers})
			eb := decode[errorBody](t, resp)
			var fields []string
			for _, p := range eb.Error.Problems {
				fields = append(fields, p.Field)
			}
			if resp.StatusCode != tc.status || eb.Error.Code != tc.code || strings.Join(fields, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("%s: subscribe = %d %s; want %d %s with problems %v", tc.name, resp.StatusCode, resp.Body, tc.status, tc.code, tc.fields)
			}
			if strings.Contains(resp.Body, "example.net") {
				t.Errorf("%s: the error quotes the address: %s", tc.name, resp.Body)
			}
		}
		if n := len(e.capture.Messages()); n != 0 {
			t.Errorf("bad requests sent %d mails; want 0", n)
		}
		if n, err := e.store.SubscribedCount(context.Background()); err != nil || n != 0 {
			t.Errorf("SubscribedCount = %d, %v; want 0", n, err)
		}
	})
}

func TestLinkErrors(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		e := newEnv(t, db, table)
		const addr = "kim@example.net"
		e.subscribe(t, subscription(addr))
		confirm := e.confirmToken(t, addr)
		s := e.subscriber(t, addr)
		unsub := bulletin.UnsubscribeToken(s)
		other := bulletin.NewSecret()
		stranger := bulletin.Token(bulletin.UnsubscribePurpose, bulletin.NewSubscriberID(), other)

		for _, tc := range []struct {
			name   string
			route  string
			query  string
			status int
			title  string
		}{
			{"confirm without a token", "GET /bulletin/confirm", "", 400, "This link is not complete"},
			{"confirm with an empty token", "GET /bulletin/confirm", "token=", 400, "This link is not complete"},
			{"confirm, token cut short", "GET /bulletin/confirm", tokenQuery(confirm[:30]), 400, "This link is not complete"},
			{"confirm, token with a character more", "GET /bulletin/confirm", tokenQuery(confirm + "A"), 400, "This link is not complete"},
			{"confirm, token twice", "GET /bulletin/confirm", tokenQuery(confirm) + "&" + tokenQuery(confirm), 400, "This link is not complete"},
			{"confirm, bad query encoding", "GET /bulletin/confirm", "token=%zz", 400, "This link is not complete"},
			{"confirm with the unsubscribe token", "GET /bulletin/confirm", tokenQuery(unsub), 400, "This link is not complete"},
			{"confirm, not base64url", "GET /bulletin/confirm", tokenQuery("c" + strings.Repeat("!", 44)), 400, "This link is not complete"},
			{"confirm, unknown subscriber", "GET /bulletin/confirm", tokenQuery(bulletin.Token(bulletin.ConfirmPurpose, bulletin.NewSubscriberID(), other)), 404, "This link is not valid"},
			{"confirm, wrong secret", "GET /bulletin/confirm", tokenQuery(bulletin.Token(bulletin.ConfirmPurpose, s.ID, other)), 404, "This link is not valid"},
			{"unsubscribe page without a token", "GET /bulletin/unsubscribe", "", 400, "This link is not complete"},
			{"unsubscribe page with the confirm token", "GET /bulletin/unsubscribe", tokenQuery(confirm), 400, "This link is not complete"},
			{"unsubscribe page, unknown subscriber", "GET /bulletin/unsubscribe", tokenQuery(stranger), 404, "This link is not valid"},
			{"unsubscribe page, wrong secret", "GET /bulletin/unsubscribe", tokenQuery(bulletin.Token(bulletin.UnsubscribePurpose, s.ID, other)), 404, "This link is not valid"},
			{"unsubscribe page, a test send's link", "GET /bulletin/unsubscribe", tokenQuery(bulletinapi.TestUnsubscribeToken), 404, "This link is not valid"},
			{"unsubscribe without a token", "POST /bulletin/unsubscribe", "", 400, "This link is not complete"},
			{"unsubscribe with the confirm token", "POST /bulletin/unsubscribe", tokenQuery(confirm), 400, "This link is not complete"},
			{"unsubscribe, unknown subscriber", "POST /bulletin/unsubscribe", tokenQuery(stranger), 404, "This link is not valid"},
			{"unsubscribe, wrong secret", "POST /bulletin/unsubscribe", tokenQuery(bulletin.Token(bulletin.UnsubscribePurpose, s.ID, other)), 404, "This link is not valid"},
			{"unsubscribe, a test send's link", "POST /bulletin/unsubscribe", tokenQuery(bulletinapi.TestUnsubscribeToken), 404, "This link is not valid"},
		} {
			resp := call(t, e.public, req{route: tc.route, query: tc.query, body: "List-Unsubscribe=One-Click", headers: map[string]string{"content-type": "application/x-www-form-urlencoded"}})
			checkPage(t, tc.name, resp, tc.status, tc.title)
		}
		// The same errors in JSON, for a POST that asks for it.
		for _, tc := range []struct {
			name, query string
			status      int
			code        string
		}{
			{"no token", "", 400, "invalid_parameter"},
			{"confirm token", tokenQuery(confirm), 400, "invalid_parameter"},
			{"unknown subscriber", tokenQuery(stranger), 404, "not_found"},
			{"wrong secret", tokenQuery(bulletin.Token(bulletin.UnsubscribePurpose, s.ID, other)), 404, "not_found"},
		} {
			resp := call(t, e.public, req{route: "POST /bulletin/unsubscribe", query: tc.query, headers: map[string]string{"accept": "application/json"}})
			if eb := decode[errorBody](t, resp); resp.StatusCode != tc.status || eb.Error.Code != tc.code {
				t.Errorf("unsubscribe (JSON), %s = %d %s; want %d %s", tc.name, resp.StatusCode, resp.Body, tc.status, tc.code)
			}
		}
		if got := e.subscriber(t, addr); got.State != bulletin.Pending {
			t.Errorf("after the bad links: %s; want still pending", got.State)
		}

		// A week on, the confirmation link has expired: 410, and the address stays pending.
		e.clock.Set(e.clock.Now().Add(bulletin.ConfirmValidity + time.Minute))
		expired := call(t, e.public, req{route: "GET /bulletin/confirm", query: tokenQuery(confirm)})
		checkPage(t, "expired confirm link", expired, 410, "This link has expired")
		if !strings.Contains(expired.Body, "subscribe again") || !strings.Contains(expired.Body, `href="`+site+`"`) {
			t.Errorf("expired page %s; want it to say to subscribe again, with a link to the site", expired.Body)
		}
		if got := e.subscriber(t, addr); got.State != bulletin.Pending {
			t.Errorf("after the expired link: %s; want still pending", got.State)
		}
		// A pending subscriber may unsubscribe (the link in an old mail, or a mistaken request).
		checkPage(t, "unsubscribe a pending address", call(t, e.public, req{route: "POST /bulletin/unsubscribe", query: tokenQuery(unsub)}), 200, "You’re unsubscribed")
		if got := e.subscriber(t, addr); got.State != bulletin.Unsubscribed {
			t.Errorf("after unsubscribing while pending: %s; want unsubscribed", got.State)
		}
	})
}

func TestPrefersJSON(t *testing.T) {
	for _, tc := range []struct {
		accept string
		want   bool
	}{
		{"", false},
		{"*/*", false},
		{"text/html", false},
		{"application/json", true},
		{"APPLICATION/JSON", true},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false},
		{"application/json, text/html;q=0.5", true},
		{"text/html;q=0.5, application/json;q=0.9", true},
		{"text/html, application/json", false},
		{"application/json;q=0, */*", false},
		{"application/*", true},
		{"application/json;q=0.5, */*;q=0.9", false}, // text/html takes */*'s 0.9
		{"text/*;q=0.2, application/json;q=0.3", true},
		{"text/html;q=0, application/json;q=0.1", true},
		{"application/json;q=x", true}, // a q that does not parse counts as 1
		{"bad value, application/json", true},
	} {
		if got := bulletinapi.PrefersJSON(tc.accept); got != tc.want {
			t.Errorf("PrefersJSON(%q) = %v; want %v", tc.accept, got, tc.want)
		}
	}
}

// putIssue stores an issue as an upload at at would.
func (e *env) putIssue(t *testing.T, id, subject string, status bulletin.Status, at time.Time) bulletin.Issue {
	t.Helper()
	ctx := context.Background()
	iss := bulletin.Issue{
		ID: id, Subject: subject, Preheader: "About " + subject, Status: status,
		SendAt: at.Add(time.Hour), HTML: "<p>News of the week: " + subject + ".</p>", Text: "News of the week: " + subject + ".",
	}
	key := "bulletins/" + id + ".md"
	rep := imports.Report{Record: imports.Record{ID: "import-" + id, Kind: "bulletin", Key: key, Status: imports.Processing, ReceivedAt: at, RequestID: "req-" + id}}
	if _, ok, err := e.store.BeginImport(ctx, rep, at.Add(time.Hour), at); err != nil || !ok {
		t.Fatalf("BeginImport = %v, %v", ok, err)
	}
	rep.Status = imports.Published
	if ok, err := e.store.PutIssue(ctx, iss, key, at, rep); err != nil || !ok {
		t.Fatalf("PutIssue(%s) = %v, %v", id, ok, err)
	}
	return iss
}

// send runs iss's dispatch to nobody at at, its mail rendered with subject (or the issue's),
// and returns the rendering.
func (e *env) send(t *testing.T, iss bulletin.Issue, subject string, at time.Time, finish bool) bulletin.Rendered {
	t.Helper()
	ctx := context.Background()
	const owner = "test-dispatch"
	if _, ok, err := e.store.BeginDispatch(ctx, iss.ID, owner, at, time.Minute); err != nil || !ok {
		t.Fatalf("BeginDispatch(%s) = %v, %v", iss.ID, ok, err)
	}
	rd, err := e.renderer.Render(iss, nil, nil, at)
	if err != nil {
		t.Fatal(err)
	}
	if subject != "" {
		rd.Subject = subject
	}
	if err := e.store.SaveRendered(ctx, iss.ID, owner, rd); err != nil {
		t.Fatal(err)
	}
	if err := e.store.StartSending(ctx, iss.ID, owner, 0); err != nil {
		t.Fatal(err)
	}
	if finish {
		if err := e.store.FinishDispatch(ctx, iss.ID, owner, bulletin.Progress{}, at.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	return rd
}

func TestArchive(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		e := newEnv(t, db, table)
		t0 := time.Date(2026, 11, 3, 11, 0, 0, 0, time.UTC)
		older := e.putIssue(t, "2026-11-03", "Funding news", bulletin.Ready, t0)
		newer := e.putIssue(t, "2026-11-10", "Peer mentors", bulletin.Ready, t0.Add(7*24*time.Hour))
		sending := e.putIssue(t, "2026-11-17", "Still going out", bulletin.Ready, t0.Add(14*24*time.Hour))
		e.putIssue(t, "2026-11-24", "Not yet", bulletin.Ready, t0.Add(21*24*time.Hour))
		e.putIssue(t, "2026-12-01", "A draft", bulletin.Draft, t0.Add(21*24*time.Hour))
		rdOlder := e.send(t, older, "", t0.Add(time.Hour), true)
		e.send(t, newer, "", t0.Add(7*24*time.Hour+time.Hour), true)
		e.send(t, sending, "", t0.Add(14*24*time.Hour+time.Hour), false)

		list := call(t, e.public, req{route: "GET /bulletin/issues"})
		page := decode[bulletinapi.IssuesPage](t, list)
		if list.StatusCode != 200 || len(page.Items) != 2 || page.Items[0].ID != newer.ID || page.Items[1].ID != older.ID || page.HasMore || page.Page != 1 || page.PerPage != 10 {
			t.Fatalf("issues = %d %s; want the two sent issues, newest first", list.StatusCode, list.Body)
		}
		it := page.Items[1]
		if it.Subject != "Funding news" || it.Preheader != "About Funding news" || it.URL != site+"/bulletin/issues/2026-11-03" || !it.SentAt.Equal(t0.Add(time.Hour+time.Minute)) {
			t.Errorf("issue item = %+v", it)
		}
		if list.Headers["Cache-Control"] != "public, max-age=60" || list.Headers["ETag"] == "" {
			t.Errorf("issues headers %v; want ETag and Cache-Control public, max-age=60", list.Headers)
		}
		if r := call(t, e.public, req{route: "GET /bulletin/issues", headers: map[string]string{"if-none-match": list.Headers["ETag"]}}); r.StatusCode != 304 || r.Body != "" {
			t.Errorf("issues with its ETag = %d %q; want 304", r.StatusCode, r.Body)
		}
		for _, tc := range []struct {
			query string
			ids   []string
			more  bool
		}{
			{"per_page=1", []string{newer.ID}, true},
			{"page=2&per_page=1", []string{older.ID}, false},
			{"page=3&per_page=1", nil, false},
			{"page=&per_page=", []string{newer.ID, older.ID}, false},
		} {
			p := decode[bulletinapi.IssuesPage](t, call(t, e.public, req{route: "GET /bulletin/issues", query: tc.query}))
			var ids []string
			for _, it := range p.Items {
				ids = append(ids, it.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tc.ids, ",") || p.HasMore != tc.more || p.Items == nil {
				t.Errorf("issues?%s = %v, has_more %v; want %v, %v", tc.query, ids, p.HasMore, tc.ids, tc.more)
			}
		}
		for query, msg := range map[string]string{
			"page=0":                "page must be a whole number between 1 and 100",
			"page=101":              "page must be a whole number between 1 and 100",
			"page=one":              "page must be a whole number",
			"per_page=51":           "per_page must be between 1 and 50",
			"per_page=1&per_page=2": "per_page must be given only once",
			"year=2026":             `unknown parameter "year"`,
			"page=%zz":              "not valid URL encoding",
		} {
			r := call(t, e.public, req{route: "GET /bulletin/issues", query: query})
			if eb := decode[errorBody](t, r); r.StatusCode != 400 || !strings.Contains(eb.Error.Message, msg) {
				t.Errorf("issues?%s = %d %s; want 400 with %q", query, r.StatusCode, r.Body, msg)
			}
		}

		// One issue: its archive page as rendered, cacheable, with its ETag.
		get := call(t, e.public, req{route: "GET /bulletin/issues/{id}", params: map[string]string{"id": older.ID}, headers: map[string]string{"accept": "text/html"}})
		if get.StatusCode != 200 || get.Body != rdOlder.ArchiveHTML || get.Headers["Content-Type"] != "text/html; charset=utf-8" {
			t.Fatalf("issue = %d %v; want its archive page", get.StatusCode, get.Headers)
		}
		if get.Headers["Cache-Control"] != "public, max-age=300" || get.Headers["ETag"] == "" || !strings.Contains(get.Headers["Content-Security-Policy"], "default-src 'none'") {
			t.Errorf("issue headers %v", get.Headers)
		}
		if strings.Contains(get.Body, "/bulletin/unsubscribe") {
			t.Errorf("the archive page has an unsubscribe link")
		}
		for _, inm := range []string{get.Headers["ETag"], "W/" + get.Headers["ETag"], `"other", ` + get.Headers["ETag"], "*"} {
			r := call(t, e.public, req{route: "GET /bulletin/issues/{id}", params: map[string]string{"id": older.ID}, headers: map[string]string{"if-none-match": inm}})
			if r.StatusCode != 304 || r.Body != "" || r.Headers["ETag"] != get.Headers["ETag"] {
				t.Errorf("issue with If-None-Match %s = %d; want 304 with the ETag", inm, r.StatusCode)
			}
		}
		if r := call(t, e.public, req{route: "GET /bulletin/issues/{id}", params: map[string]string{"id": older.ID}, headers: map[string]string{"if-none-match": `"stale"`}}); r.StatusCode != 200 {
			t.Errorf("issue with a stale ETag = %d; want 200", r.StatusCode)
		}
		// An issue still going out has its page already (its mails link to it); it is not
		// listed until it has finished.
		if r := call(t, e.public, req{route: "GET /bulletin/issues/{id}", params: map[string]string{"id": sending.ID}}); r.StatusCode != 200 || !strings.Contains(r.Body, "Still going out") {
			t.Errorf("issue %s while sending = %d %.200s; want 200, its page", sending.ID, r.StatusCode, r.Body)
		}
		for _, id := range []string{"2026-11-24", "2026-12-01", "2026-11-04", "2026-13-01", "2026-11-3", "../2026-11-03", "x"} {
			r := call(t, e.public, req{route: "GET /bulletin/issues/{id}", params: map[string]string{"id": id}})
			checkPage(t, "issue "+id, r, 404, "No such issue")
			js := call(t, e.public, req{route: "GET /bulletin/issues/{id}", params: map[string]string{"id": id}, headers: map[string]string{"accept": "application/json"}})
			if eb := decode[errorBody](t, js); js.StatusCode != 404 || eb.Error.Code != "not_found" {
				t.Errorf("issue %s as JSON = %d %s; want 404 not_found", id, js.StatusCode, js.Body)
			}
		}
	})
}

// staffIssues stores three issues uploaded at t0: one sent (its mail rendered with the
// subject "Funding news, as sent"), one ready and one draft.
func (e *env) staffIssues(t *testing.T) (t0 time.Time, sent, ready, draft bulletin.Issue) {
	t.Helper()
	t0 = time.Date(2026, 11, 3, 11, 0, 0, 0, time.UTC)
	sent = e.putIssue(t, "2026-11-03", "Funding news", bulletin.Ready, t0)
	ready = e.putIssue(t, "2026-11-10", "Peer mentors", bulletin.Ready, t0)
	draft = e.putIssue(t, "2026-11-17", "A draft", bulletin.Draft, t0)
	e.send(t, sent, "Funding news, as sent", t0.Add(time.Hour), true)
	return t0, sent, ready, draft
}

func TestStaff(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		e := newEnv(t, db, table)
		t0, sent, ready, draft := e.staffIssues(t)

		list := call(t, e.staff, req{route: "GET /staff/bulletins"})
		page := decode[bulletinapi.StaffIssuesPage](t, list)
		if list.StatusCode != 200 || len(page.Items) != 3 || page.Items[0].ID != draft.ID || page.Items[2].ID != sent.ID || page.NextCursor != "" {
			t.Fatalf("staff list = %d %s; want the three issues, newest first", list.StatusCode, list.Body)
		}
		if list.Headers["Cache-Control"] != "private, no-store" {
			t.Errorf("staff list Cache-Control = %q", list.Headers["Cache-Control"])
		}
		if d := page.Items[2].Dispatch; d.State != "sent" || d.StartedAt.IsZero() || !d.FinishedAt.Equal(t0.Add(time.Hour+time.Minute)) || d.Recipients != 0 {
			t.Errorf("sent issue's dispatch = %+v", d)
		}
		if d := page.Items[1].Dispatch; d.State != "not_started" || !d.StartedAt.IsZero() || page.Items[1].Status != bulletin.Ready {
			t.Errorf("ready issue = %+v", page.Items[1])
		}
		for _, key := range []string{`"recipients":0`, `"sent":0`, `"remaining":0`, `"suppressed":0`, `"failed":0`, `"uncertain":0`, `"throttled":0`, `"started_at":"2026-11-03T12:00:00Z"`, `"send_at":"2026-11-03T12:00:00Z"`, `"status":"draft"`} {
			if !strings.Contains(list.Body, key) {
				t.Errorf("staff list has no %s: %s", key, list.Body)
			}
		}
		first := decode[bulletinapi.StaffIssuesPage](t, call(t, e.staff, req{route: "GET /staff/bulletins", query: "limit=2"}))
		if len(first.Items) != 2 || first.NextCursor == "" {
			t.Fatalf("limit=2 = %+v; want 2 and a cursor", first)
		}
		rest := decode[bulletinapi.StaffIssuesPage](t, call(t, e.staff, req{route: "GET /staff/bulletins", query: "limit=2&cursor=" + first.NextCursor}))
		if len(rest.Items) != 1 || rest.Items[0].ID != sent.ID || rest.NextCursor != "" {
			t.Errorf("second page = %+v; want the sent issue only", rest)
		}
		for query, msg := range map[string]string{
			"limit=0":     "limit must be between 1 and 100",
			"limit=101":   "limit must be between 1 and 100",
			"cursor=%%%":  "not valid URL encoding",
			"cursor=zzz":  "cursor is not valid",
			"status=sent": `unknown parameter "status"`,
		} {
			r := call(t, e.staff, req{route: "GET /staff/bulletins", query: query})
			if eb := decode[errorBody](t, r); r.StatusCode != 400 || !strings.Contains(eb.Error.Message, msg) {
				t.Errorf("staff list ?%s = %d %s; want 400 with %q", query, r.StatusCode, r.Body, msg)
			}
		}

		get := decode[bulletinapi.StaffIssueDetail](t, call(t, e.staff, req{route: "GET /staff/bulletins/{id}", params: map[string]string{"id": sent.ID}}))
		if get.Rendered == nil || get.Rendered.Subject != "Funding news, as sent" || get.HTML != sent.HTML || get.Text != sent.Text || get.Dispatch.State != "sent" {
			t.Errorf("staff get of the sent issue = %+v", get)
		}
		if got := decode[bulletinapi.StaffIssueDetail](t, call(t, e.staff, req{route: "GET /staff/bulletins/{id}", params: map[string]string{"id": ready.ID}})); got.Rendered != nil || got.Subject != "Peer mentors" {
			t.Errorf("staff get of the ready issue = %+v; want no rendering yet", got)
		}
		for _, id := range []string{"2026-11-24", "2026-02-30", "latest"} {
			r := call(t, e.staff, req{route: "GET /staff/bulletins/{id}", params: map[string]string{"id": id}})
			if eb := decode[errorBody](t, r); r.StatusCode != 404 || eb.Error.Code != "not_found" {
				t.Errorf("staff get %s = %d %s; want 404", id, r.StatusCode, r.Body)
			}
		}
	})
}

func TestStaffTestSend(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		e := newEnv(t, db, table)
		_, sent, ready, draft := e.staffIssues(t)
		testSend := func(id, body string, headers map[string]string) httpapi.Response {
			return call(t, e.staff, req{route: "POST /staff/bulletins/{id}/test", params: map[string]string{"id": id}, body: body, headers: headers})
		}

		for _, tc := range []struct {
			name, id, to, subject string
		}{
			{"not started: rendered now", ready.ID, "tester@example.net", "[Test] Peer mentors"},
			{"a draft", draft.ID, "Tester2@Example.NET", "[Test] A draft"},
			{"sent: as rendered for its dispatch", sent.ID, "tester3@example.net", "[Test] Funding news, as sent"},
		} {
			resp := testSend(tc.id, `{"email":"`+tc.to+`"}`, nil)
			got := decode[bulletinapi.TestSendResponse](t, resp)
			if resp.StatusCode != 202 || got.Status != "sent" || !strings.HasPrefix(got.MailID, "bulletin-test-"+tc.id+"-") {
				t.Fatalf("%s: test send = %d %s; want 202 sent", tc.name, resp.StatusCode, resp.Body)
			}
			to := tc.to[:strings.IndexByte(tc.to, '@')] + "@example.net" // the domain lower-cased
			mails := e.mailsTo(t, to)
			if len(mails) != 1 || mails[0].Subject != tc.subject {
				t.Fatalf("%s: mails to %s = %d; want one with subject %q", tc.name, to, len(mails), tc.subject)
			}
			m := parseMail(t, mails[0].Raw)
			link := site + "/bulletin/unsubscribe?token=" + bulletinapi.TestUnsubscribeToken
			if !strings.Contains(m.text, "Upcoming events") || !strings.Contains(m.text, "New case studies") {
				t.Errorf("%s: text %q; want the issue with its sections", tc.name, m.text)
			}
			if lu := m.header.Get("List-Unsubscribe"); lu != "<"+link+">" || !strings.Contains(m.text, link) {
				t.Errorf("%s: List-Unsubscribe %q, text %q; want the placeholder link", tc.name, lu, m.text)
			}
			rec, ok, err := e.store.MailByID(context.Background(), got.MailID)
			if err != nil || !ok || rec.Kind != bulletinapi.MailKindTest || rec.Status != mail.Sent {
				t.Errorf("%s: outbox record = %+v, %v, %v; want a sent bulletin-test", tc.name, rec, ok, err)
			}
		}
		// Nothing changed for the issues: the ready one is still not started, with no rendering.
		if iss, _, _ := e.store.IssueByID(context.Background(), ready.ID); iss.Dispatch.State != bulletin.NotStarted {
			t.Errorf("after a test send: dispatch %q; want not started", iss.Dispatch.State)
		}
		if _, ok, _ := e.store.RenderedIssue(context.Background(), ready.ID); ok {
			t.Errorf("after a test send: the ready issue has a rendering; want none stored")
		}

		for _, tc := range []struct {
			name, id, body string
			headers        map[string]string
			status         int
			code           string
		}{
			{"bad address", ready.ID, `{"email":"not an address"}`, nil, 400, "invalid_parameter"},
			{"no address", ready.ID, `{}`, nil, 400, "invalid_parameter"},
			{"address as a number", ready.ID, `{"email":42}`, nil, 400, "invalid_parameter"},
			{"a name with the address", ready.ID, `{"email":"Sam <sam@example.net>"}`, nil, 400, "invalid_parameter"},
			{"unknown field", ready.ID, `{"email":"a@example.net","to":"b@example.net"}`, nil, 400, "invalid_parameter"},
			{"not JSON", ready.ID, `email=a@example.net`, nil, 400, "invalid_parameter"},
			{"text/plain", ready.ID, `{"email":"a@example.net"}`, map[string]string{"content-type": "text/plain"}, 415, "unsupported_media_type"},
			{"17 KB", ready.ID, `{"email":"a@example.net","x":"` + strings.Repeat("x", 17<<10) + `"}`, nil, 413, "too_large"},
			{"unknown issue", "2026-11-24", `{"email":"a@example.net"}`, nil, 404, "not_found"},
			{"not an issue ID", "latest", `{"email":"a@example.net"}`, nil, 404, "not_found"},
		} {
			resp := testSend(tc.id, tc.body, tc.headers)
			if eb := decode[errorBody](t, resp); resp.StatusCode != tc.status || eb.Error.Code != tc.code {
				t.Errorf("%s: test send = %d %s; want %d %s", tc.name, resp.StatusCode, resp.Body, tc.status, tc.code)
			}
			if strings.Contains(resp.Body, "example.net") {
				t.Errorf("%s: the error quotes an address: %s", tc.name, resp.Body)
			}
		}
		if n := len(e.mailsTo(t, "a@example.net")); n != 0 {
			t.Errorf("refused test sends mailed %d times", n)
		}

		// SES refusing for now (the daily quota): recorded in the outbox, answered "queued".
		e.capture.SetLimits(0, len(e.capture.Messages()))
		resp := testSend(ready.ID, `{"email":"later@example.net"}`, nil)
		got := decode[bulletinapi.TestSendResponse](t, resp)
		if resp.StatusCode != 202 || got.Status != "queued" {
			t.Fatalf("test send over the quota = %d %s; want 202 queued", resp.StatusCode, resp.Body)
		}
		if rec, ok, err := e.store.MailByID(context.Background(), got.MailID); err != nil || !ok || rec.Status != mail.Pending || rec.Attempts != 1 {
			t.Errorf("queued test mail = %+v, %v, %v; want pending after one attempt", rec, ok, err)
		}
		e.capture.SetLimits(0, 0)
		e.clock.Set(e.clock.Now().Add(time.Hour))
		if _, err := mail.Sweep(context.Background(), e.store, e.sender, mail.SweepOptions{Rate: 1000, Now: e.clock.Now}); err != nil {
			t.Fatal(err)
		}
		if n := len(e.mailsTo(t, "later@example.net")); n != 1 {
			t.Errorf("the queued test mail, after a sweep: %d mails; want 1", n)
		}

		// SES refusing the mail for good: "failed".
		rejecting := bulletinapi.NewStaff(bulletinapi.StaffDeps{Store: e.store, Sender: rejectSender{}, Preview: &bulletinsend.Dispatcher{Store: e.store, Content: e.store, Renderer: e.renderer, Now: e.clock.Now}, Mail: e.renderer, Now: e.clock.Now, Log: slog.New(slog.NewTextHandler(e.logs, nil))})
		resp = call(t, rejecting, req{route: "POST /staff/bulletins/{id}/test", params: map[string]string{"id": ready.ID}, body: `{"email":"refused@example.net"}`})
		if got := decode[bulletinapi.TestSendResponse](t, resp); resp.StatusCode != 202 || got.Status != "failed" {
			t.Errorf("test send that SES rejects = %d %s; want 202 failed", resp.StatusCode, resp.Body)
		}
	})
}

// rejectSender is SES rejecting every mail (as it does an unverified address in the sandbox).
type rejectSender struct{}

func (rejectSender) SendRaw(context.Context, string, []string, []byte) (string, error) {
	return "", &smithy.GenericAPIError{Code: "MessageRejected", Message: "Email address is not verified."}
}

// failingStore is a store whose every call fails, as DynamoDB down would.
type failingStore struct{ bulletinapi.Store }

var errDown = errors.New("dynamo: request failed: connection refused (SUB#secret-detail)")

func (failingStore) RequestSubscription(context.Context, bulletin.Subscription, time.Time, func(bulletin.Subscriber) (mail.Mail, error)) (string, error) {
	return "", errDown
}
func (failingStore) ConfirmSubscription(context.Context, string, string, time.Time) (bulletin.ConfirmResult, error) {
	return "", errDown
}
func (failingStore) SubscriberByID(context.Context, string) (bulletin.Subscriber, bool, error) {
	return bulletin.Subscriber{}, false, errDown
}
func (failingStore) Unsubscribe(context.Context, string, string, time.Time) (bool, error) {
	return false, errDown
}
func (failingStore) IssueByID(context.Context, string) (bulletin.StoredIssue, bool, error) {
	return bulletin.StoredIssue{}, false, errDown
}

// TestStoreFailure checks that a failing store is a 500 that shows nothing of the error (a
// page on the links, the one JSON shape elsewhere) and logs it.
func TestStoreFailure(t *testing.T) {
	logs := &testenv.Buffer{}
	api := bulletinapi.New(bulletinapi.Deps{Store: failingStore{}, Log: slog.New(slog.NewTextHandler(logs, nil))})
	token := bulletin.Token(bulletin.UnsubscribePurpose, bulletin.NewSubscriberID(), bulletin.NewSecret())
	for _, tc := range []struct {
		name string
		r    req
		page bool
	}{
		{"subscribe", req{route: "POST /bulletin/subscriptions", body: subscription("a@example.net")}, false},
		{"confirm", req{route: "GET /bulletin/confirm", query: tokenQuery(bulletin.Token(bulletin.ConfirmPurpose, bulletin.NewSubscriberID(), bulletin.NewSecret()))}, true},
		{"unsubscribe page", req{route: "GET /bulletin/unsubscribe", query: tokenQuery(token)}, true},
		{"unsubscribe", req{route: "POST /bulletin/unsubscribe", query: tokenQuery(token)}, true},
		{"unsubscribe (JSON)", req{route: "POST /bulletin/unsubscribe", query: tokenQuery(token), headers: map[string]string{"accept": "application/json"}}, false},
		{"archive page", req{route: "GET /bulletin/issues/{id}", params: map[string]string{"id": "2026-11-03"}}, true},
	} {
		resp := call(t, api, tc.r)
		if strings.Contains(resp.Body, "secret-detail") || resp.StatusCode != 500 {
			t.Errorf("%s = %d %s; want 500 without the error's detail", tc.name, resp.StatusCode, resp.Body)
		}
		if tc.page {
			checkPage(t, tc.name, resp, 500, "Something went wrong")
		} else if eb := decode[errorBody](t, resp); eb.Error.Code != "internal" || eb.Error.Message != "internal error" {
			t.Errorf("%s = %s; want the internal error shape", tc.name, resp.Body)
		}
	}
	if n := strings.Count(logs.String(), "secret-detail"); n != 6 {
		t.Errorf("the error was logged %d times; want 6:\n%s", n, logs.String())
	}
}
