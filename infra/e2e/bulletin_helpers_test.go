package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	netmail "net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sectorhub/infra/localstack"
	"sectorhub/infra/testenv"
	"sectorhub/shared/bulletin"
	"sectorhub/shared/bulletinapi"
	"sectorhub/shared/bulletiningest"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/imports"
)

// The bulletin tests' helpers: a local stack with a staff token and a store on its table, the
// routes as a visitor, staff and a mail client call them, the SES capture read through
// /_local/outbox.json, and the mail parsed with net/mail and mime/multipart (decodeMail).

// dispatchFunction is the logical ID of the function that sends issues.
const dispatchFunction = "BulletinDispatchFunction"

// bulletinStack is a local stack with a staff token, and a store on its table to read what
// the routes do not show (a subscriber's state, an issue's recipients).
type bulletinStack struct {
	*localstack.Stack
	staff string
	store *dynamo.Store
}

// newBulletinStack wraps a started stack.
func newBulletinStack(t *testing.T, st *localstack.Stack) *bulletinStack {
	t.Helper()
	token, err := st.StaffToken("bulletin@example.org")
	if err != nil {
		t.Fatal(err)
	}
	store := dynamo.New(testenv.DynamoClient(t, st.DynamoDBEndpoint()), st.TableName("Table"))
	return &bulletinStack{Stack: st, staff: token, store: store}
}

// subscribe POSTs a subscription body for email, as the website's form does.
func (bs *bulletinStack) subscribe(t *testing.T, email string, consent bool) reply {
	t.Helper()
	body, err := json.Marshal(map[string]any{"email": email, "name": "Test Reader", "organisation": "Example Trust", "consent": consent})
	if err != nil {
		t.Fatal(err)
	}
	a, err := do(http.MethodPost, bs.URL()+"/bulletin/subscriptions", jsonHeader(nil), body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// captured is a message of /_local/outbox.json.
type captured struct {
	ID           string    `json:"id"`
	Received     time.Time `json:"received"`
	Destinations []string  `json:"destinations"`
	Subject      string    `json:"subject"`
	// ConfigurationSet is the SES configuration set the mail was sent with.
	ConfigurationSet string `json:"configuration_set"`
	Raw              string `json:"raw"`
}

// outboxPage is the body of /_local/outbox.json.
type outboxPage struct {
	Messages []captured `json:"messages"`
	Total    int        `json:"total"`
	Next     string     `json:"next"`
}

// outboxJSON GETs /_local/outbox.json with query.
func (bs *bulletinStack) outboxJSON(t *testing.T, query url.Values) outboxPage {
	t.Helper()
	u := bs.URL() + "/_local/outbox.json?" + query.Encode()
	status, _, body := get(t, u, nil)
	var p outboxPage
	if status != http.StatusOK || json.Unmarshal(body, &p) != nil {
		t.Fatalf("GET %s = %d %.300s; want 200 and the messages", u, status, body)
	}
	return p
}

// outboxTotal is how many messages the capture holds.
func (bs *bulletinStack) outboxTotal(t *testing.T) int {
	t.Helper()
	return bs.outboxJSON(t, url.Values{"limit": {"0"}}).Total
}

// captures returns every captured message (newest first) with fields, to one recipient if
// to is not "", walking the pages as a script would: limit, then after the page's next.
func (bs *bulletinStack) captures(t *testing.T, to, fields string) []captured {
	t.Helper()
	q := url.Values{"limit": {"1000"}, "fields": {fields}}
	if to != "" {
		q.Set("to", to)
	}
	var all []captured
	for {
		p := bs.outboxJSON(t, q)
		all = append(all, p.Messages...)
		if p.Next == "" {
			if len(all) != p.Total {
				t.Fatalf("outbox.json pages held %d messages; its total says %d", len(all), p.Total)
			}
			return all
		}
		q.Set("after", p.Next)
	}
}

// bySubject returns the captured messages with subject, by recipient address.
func (bs *bulletinStack) bySubject(t *testing.T, subject, fields string) map[string][]captured {
	t.Helper()
	out := map[string][]captured{}
	for _, m := range bs.captures(t, "", fields) {
		if m.Subject != subject {
			continue
		}
		for _, to := range m.Destinations {
			to = strings.ToLower(to)
			out[to] = append(out[to], m)
		}
	}
	return out
}

// sweepOutbox runs MailOutboxFunction's sweep, as its schedule does every minute: a
// confirmation mail the route could not send at once is sent by it.
func (bs *bulletinStack) sweepOutbox(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := bs.Invoke(ctx, "MailOutboxFunction", []byte(`{}`)); err != nil {
		t.Fatalf("invoke MailOutboxFunction = %s, %v", out, err)
	}
}

// dispatch invokes BulletinDispatchFunction with event and waits for its answer, as
// POST /_local/invoke does.
func (bs *bulletinStack) dispatch(t *testing.T, event string) {
	t.Helper()
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := bs.Invoke(ctx, dispatchFunction, []byte(event))
	if err != nil {
		t.Fatalf("invoke %s with %s: %v", dispatchFunction, event, err)
	}
	t.Logf("dispatch %s answered in %v: %.300s", event, time.Since(began).Round(time.Millisecond), out)
}

// subscriber reads an address's record from the store.
func (bs *bulletinStack) subscriber(t *testing.T, email string) (bulletin.Subscriber, bool) {
	t.Helper()
	s, ok, err := bs.store.SubscriberByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("SubscriberByEmail: %v", err)
	}
	return s, ok
}

// state is an address's state, or "none" without a record.
func (bs *bulletinStack) state(t *testing.T, email string) bulletin.State {
	t.Helper()
	s, ok := bs.subscriber(t, email)
	if !ok {
		return "none"
	}
	return s.State
}

// subscribed returns every Subscribed subscriber, by address: those a dispatch starting now
// lists.
func (bs *bulletinStack) subscribed(t *testing.T) map[string]bulletin.Subscriber {
	t.Helper()
	out := map[string]bulletin.Subscriber{}
	cursor := ""
	for {
		page, next, err := bs.store.SubscribedPage(context.Background(), cursor, 500)
		if err != nil {
			t.Fatalf("SubscribedPage: %v", err)
		}
		for _, s := range page {
			out[s.Email] = s
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

// listRow is a row of a subscriber list upload.
type listRow struct{ email, name, organisation string }

// subscriberCSV is a subscriber list in the import format, every row consented on a
// conference's paper form.
func subscriberCSV(rows []listRow) []byte {
	var b bytes.Buffer
	b.WriteString("email,name,organisation,consented_at,consent_source\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%s,2024-03-01,paper form at the 2024 conference\n", r.email, csvField(r.name), csvField(r.organisation))
	}
	return b.Bytes()
}

// csvField quotes a CSV field that needs it.
func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// importList uploads subscribers/<name>.csv to the uploads bucket, waits for its import and
// returns its report.
func (bs *bulletinStack) importList(t *testing.T, name string, rows []listRow) imports.Report {
	t.Helper()
	key := "subscribers/" + name + ".csv"
	began := time.Now()
	upload(t, bs.Stack, key, subscriberCSV(rows))
	var rep imports.Report
	readJSONObject(t, bs.Stack, imports.ReportKey(key), &rep)
	t.Logf("import of %d rows (%s) took %v: %s, counts %v", len(rows), key, time.Since(began).Round(time.Millisecond), rep.Status, rep.Counts)
	return rep
}

// checkImported checks the report of a subscriber list: published, every row an item, and
// the counts of what importing did.
func checkImported(t *testing.T, rep imports.Report, rows int, want bulletin.ImportCounts) {
	t.Helper()
	if rep.Status != imports.Published || rep.Items != rows || !maps.Equal(rep.Counts, bulletiningest.Counts(want)) {
		t.Fatalf("the report of %s: %s, %d items, counts %v, problems %+v; want published, %d items, counts %v", rep.Key, rep.Status, rep.Items, rep.Counts, rep.Problems, rows, bulletiningest.Counts(want))
	}
}

// readJSONObject reads a JSON object of the uploads bucket into out.
func readJSONObject(t *testing.T, st *localstack.Stack, key string, out any) {
	t.Helper()
	client := testenv.S3Client(t, st.S3URL())
	obj, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(st.Bucket("UploadsBucket")), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("read s3://%s/%s: %v", st.Bucket("UploadsBucket"), key, err)
	}
	defer obj.Body.Close()
	body, err := io.ReadAll(obj.Body)
	if err != nil {
		t.Fatalf("read s3://%s/%s: %v", st.Bucket("UploadsBucket"), key, err)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("s3://%s/%s: %v in %.300s", st.Bucket("UploadsBucket"), key, err, body)
	}
}

// issueFile is an issue upload: ready, to be sent at sendAt, its subject quoted (YAML reads a
// double-quoted Go string literal as the same string).
func issueFile(subject string, sendAt time.Time) []byte {
	return []byte("---\nsubject: " + strconv.Quote(subject) + "\npreheader: News, funding and events for the sector\nsend_at: " +
		sendAt.UTC().Format(time.RFC3339) + "\nstatus: ready\n---\n" +
		"Welcome to this week's **Light Lunch**.\n\n## Funding\n\nThe Example Foundation opens its small grants round on Monday.\n\n" +
		"Read more on [our website](https://example.org/funding).\n")
}

// uploadIssue uploads bulletins/<id>.md, ready with send_at a minute ago, and checks that its
// import stored it.
func (bs *bulletinStack) uploadIssue(t *testing.T, id, subject string) {
	t.Helper()
	key := "bulletins/" + id + ".md"
	upload(t, bs.Stack, key, issueFile(subject, time.Now().Add(-time.Minute)))
	var rep imports.Report
	readJSONObject(t, bs.Stack, imports.ReportKey(key), &rep)
	if rep.Status != imports.Published {
		t.Fatalf("the report of %s: %s %+v; want published", key, rep.Status, rep.Problems)
	}
}

// issueIDs are the IDs of the tests' issues: dates a week on from today in London, so that
// they name no issue the seed made, in upload order.
func issueIDs(n int) []string {
	uk, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	today := time.Now().In(uk)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = today.AddDate(0, 0, 7+i).Format(time.DateOnly)
	}
	return ids
}

// staffIssue GETs /staff/bulletins/{id}.
func (bs *bulletinStack) staffIssue(t *testing.T, id string) bulletinapi.StaffIssueDetail {
	t.Helper()
	u := bs.URL() + "/staff/bulletins/" + id
	status, _, body := get(t, u, http.Header{"Authorization": {"Bearer " + bs.staff}})
	var si bulletinapi.StaffIssueDetail
	if status != http.StatusOK || json.Unmarshal(body, &si) != nil {
		t.Fatalf("GET %s = %d %.300s; want 200 and the issue", u, status, body)
	}
	return si
}

// checkAddsUp checks that a progress accounts for every recipient.
func checkAddsUp(t *testing.T, id string, p bulletin.Progress) {
	t.Helper()
	if sum := p.Sent + p.Suppressed + p.Failed + p.Uncertain + p.Remaining; sum != p.Recipients {
		t.Errorf("issue %s: progress %+v: sent+suppressed+failed+uncertain+remaining = %d; want recipients %d", id, p, sum, p.Recipients)
	}
}

// bulletinMail is a captured bulletin mail, parsed as a mail client would.
type bulletinMail struct {
	header netmail.Header
	received
}

// parseBulletinMail parses a raw message.
func parseBulletinMail(t *testing.T, raw string) bulletinMail {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("a captured mail: %v", err)
	}
	r, err := decodeMail([]byte(raw))
	if err != nil {
		t.Fatalf("a captured mail: %v", err)
	}
	return bulletinMail{header: msg.Header, received: r}
}

// tokenLink matches a link of path (such as /bulletin/unsubscribe) on the stack's site, and
// captures its token.
func (bs *bulletinStack) tokenLink(path string) *regexp.Regexp {
	return regexp.MustCompile(regexp.QuoteMeta(bs.URL()+path+"?token=") + `([A-Za-z0-9_-]+)`)
}

// links returns the distinct tokens of links to path in s.
func (bs *bulletinStack) links(path, s string) []string {
	var tokens []string
	for _, m := range bs.tokenLink(path).FindAllStringSubmatch(s, -1) {
		if !slices.Contains(tokens, m[1]) {
			tokens = append(tokens, m[1])
		}
	}
	return tokens
}

// unsubscribeToken checks a bulletin mail's unsubscribe links (RFC 8058's two headers, and one
// visible link in each part, all the same) and returns their token.
func (bs *bulletinStack) unsubscribeToken(t *testing.T, m bulletinMail) string {
	t.Helper()
	if got := m.header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post: %q; want List-Unsubscribe=One-Click", got)
	}
	var inHeader []string
	for _, v := range strings.Split(m.header.Get("List-Unsubscribe"), ",") {
		v = strings.TrimSpace(v)
		if !strings.HasPrefix(v, "<") || !strings.HasSuffix(v, ">") {
			t.Errorf("List-Unsubscribe: %q; want URIs in angle brackets", m.header.Get("List-Unsubscribe"))
			continue
		}
		if tokens := bs.links("/bulletin/unsubscribe", v); len(tokens) == 1 && v == "<"+bs.URL()+bulletin.UnsubscribePath(tokens[0])+">" {
			inHeader = append(inHeader, tokens[0])
		}
	}
	text := bs.links("/bulletin/unsubscribe", m.text)
	htmlLinks := bs.links("/bulletin/unsubscribe", html.UnescapeString(m.html))
	if len(inHeader) != 1 || len(text) != 1 || len(htmlLinks) != 1 || text[0] != inHeader[0] || htmlLinks[0] != inHeader[0] {
		t.Fatalf("unsubscribe links: List-Unsubscribe %q, text part %q, HTML part %q; want the one same link <%s?token=…> in each",
			m.header.Get("List-Unsubscribe"), text, htmlLinks, bs.URL()+"/bulletin/unsubscribe")
	}
	if _, _, ok := bulletin.ParseToken(bulletin.UnsubscribePurpose, inHeader[0]); !ok {
		t.Errorf("the unsubscribe link's token %q is not an unsubscribe token", inHeader[0])
	}
	return inHeader[0]
}

// confirmToken returns the token of the one confirmation link in a confirmation mail.
func (bs *bulletinStack) confirmToken(t *testing.T, raw string) string {
	t.Helper()
	m := parseBulletinMail(t, raw)
	text := bs.links("/bulletin/confirm", m.text)
	htmlLinks := bs.links("/bulletin/confirm", html.UnescapeString(m.html))
	if len(text) != 1 || len(htmlLinks) != 1 || text[0] != htmlLinks[0] {
		t.Fatalf("confirmation links: text part %q, HTML part %q; want one same link %s?token=… in each\n%s", text, htmlLinks, bs.URL()+"/bulletin/confirm", m.text)
	}
	if _, _, ok := bulletin.ParseToken(bulletin.ConfirmPurpose, text[0]); !ok {
		t.Errorf("the confirmation link's token %q is not a confirmation token", text[0])
	}
	return text[0]
}

// pageText is an HTML page's text as a reader reads it: entities undone, typographic
// apostrophes as plain ones.
func pageText(body []byte) string {
	return strings.ReplaceAll(html.UnescapeString(string(body)), "’", "'")
}

// isHTML reports whether a reply is an HTML page.
func isHTML(a reply) bool {
	return strings.HasPrefix(a.header.Get("Content-Type"), "text/html")
}

// staffIssues GETs /staff/bulletins: the first page of issues, newest first.
func (bs *bulletinStack) staffIssues(t *testing.T) []bulletinapi.StaffIssue {
	t.Helper()
	u := bs.URL() + "/staff/bulletins"
	status, _, body := get(t, u, http.Header{"Authorization": {"Bearer " + bs.staff}})
	var page bulletinapi.StaffIssuesPage
	if status != http.StatusOK || json.Unmarshal(body, &page) != nil {
		t.Fatalf("GET %s = %d %.300s; want 200 and the issues", u, status, body)
	}
	return page.Items
}
