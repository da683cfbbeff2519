package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"sectorhub/shared/apperr"
	"sectorhub/shared/bulletin"
	"sectorhub/shared/bulletinapi"
)

// Addresses of the end-to-end test. The mailbox simulator's addresses answer as SES's do: a
// bounce and a complaint for every mail sent to them with the configuration set. They carry a
// label of their own, since the seed's list has the plain ones.
const (
	formReader       = "form.reader@example.org"      // subscribes on the form and confirms
	pendingReader    = "pending.reader@example.org"   // subscribes on the form, never confirms
	pendingImported  = "pending.imported@example.org" // subscribes on the form; the import confirms
	bounceAddress    = "bounce+e2e@simulator.amazonses.com"
	complaintAddress = "complaint+e2e@simulator.amazonses.com"
)

// listAddress is the address of the i-th person of the imported list.
func listAddress(i int) string { return fmt.Sprintf("list.%03d@example.org", i) }

// TestBulletinEndToEnd runs the bulletin as its readers, staff and SES meet it, over the local
// stack with the real functions: subscribing on the form (the confirmation mail, at most three
// a day, the confirm page, the same answer whatever the address), importing a list, an issue
// sent once to every confirmed subscriber with one-click unsubscribe, a second dispatch
// sending nothing, unsubscribing, the mailbox simulator's bounce and complaint suppressing
// their addresses, an import not resubscribing them, a second issue not mailed to them, and
// the web archive.
func TestBulletinEndToEnd(t *testing.T) {
	for name, endpoint := range targets(t) {
		t.Run(name, func(t *testing.T) {
			began := time.Now()
			bs := newBulletinStack(t, startStack(t, endpoint))
			t.Logf("%s: the stack started in %v", name, time.Since(began).Round(100*time.Millisecond))
			ids := issueIDs(2)
			subjects := []string{"Light Lunch e2e: funding news " + ids[0], "Light Lunch e2e: events and case studies " + ids[1]}

			steps := []struct {
				name string
				run  func(t *testing.T)
			}{
				{"the seeded issue goes to the seeded subscribers", func(t *testing.T) { seededIssue(t, bs) }},
				{"subscribing on the form", func(t *testing.T) { subscribeOnForm(t, bs) }},
				{"importing a list", func(t *testing.T) { importFirstList(t, bs) }},
				{"an issue goes once to every subscriber", func(t *testing.T) { firstIssue(t, bs, ids[0], subjects[0]) }},
				{"one-click unsubscribe; a GET never unsubscribes", func(t *testing.T) { oneClick(t, bs, subjects[0]) }},
				{"the mailbox simulator's bounce and complaint suppress", func(t *testing.T) { feedback(t, bs) }},
				{"an import does not resubscribe", func(t *testing.T) { importAgain(t, bs) }},
				{"the next issue skips the suppressed", func(t *testing.T) { secondIssue(t, bs, ids[1], subjects[1]) }},
				{"the web archive", func(t *testing.T) { archive(t, bs, ids, subjects) }},
			}
			for _, s := range steps {
				stepBegan := time.Now()
				ok := t.Run(s.name, s.run)
				t.Logf("%s: %q took %v", name, s.name, time.Since(stepBegan).Round(time.Millisecond))
				if !ok {
					return // each step builds on the one before
				}
			}
			t.Logf("%s: the bulletin end to end took %v; %d DynamoDB requests", name, time.Since(began).Round(100*time.Millisecond), bs.DynamoDBRequests())
		})
	}
}

// seededIssue fires the dispatch as a newcomer would by hand: the seed's ready issue goes to
// the seeded subscribers, and what staff read of every issue adds up. It also leaves the seed's
// issue sent, so that the issues of the later steps are dispatched alone.
func seededIssue(t *testing.T, bs *bulletinStack) {
	subscribed := bs.subscribed(t)
	before := bs.outboxTotal(t)
	bs.dispatch(t, `{}`)
	sent := bs.outboxTotal(t) - before
	t.Logf("the seed has %d subscribed; the first dispatch sent %d mails", len(subscribed), sent)
	if len(subscribed) == 0 || sent != len(subscribed) {
		t.Errorf("the first dispatch sent %d mails to the seed's %d subscribers; want the seed's ready issue to each", sent, len(subscribed))
	}
	for _, it := range bs.staffIssues(t) {
		checkAddsUp(t, it.ID, it.Dispatch.Progress)
	}
}

// subscribeOnForm subscribes on the website's form: 202 pending whatever the address's state,
// a confirmation mail for the first three requests of a day and none for the fourth, the link
// of the first mail confirming (HTML page), confirming again harmless, and bad links refused.
func subscribeOnForm(t *testing.T, bs *bulletinStack) {
	first := bs.subscribe(t, formReader, true)
	var status bulletinapi.StatusResponse
	if first.status != http.StatusAccepted || json.Unmarshal(first.body, &status) != nil || status.Status != "pending" {
		t.Fatalf("POST /bulletin/subscriptions = %v; want 202 {\"status\":\"pending\"}", first)
	}
	if a := bs.subscribe(t, "someone@example.org", false); a.status != http.StatusBadRequest || errorCode(a.body) != apperr.Invalid {
		t.Errorf("a subscription with consent false = %v; want 400 %s", a, apperr.Invalid)
	}
	for i := 2; i <= bulletin.MaxConfirmMails+1; i++ {
		if a := bs.subscribe(t, formReader, true); a.status != first.status || string(a.body) != string(first.body) {
			t.Errorf("subscription request %d of a pending address = %v; want the first answer, %v", i, a, first)
		}
	}
	bs.sweepOutbox(t)
	mails := bs.captures(t, formReader, "id,subject,destinations,configuration_set,raw")
	if len(mails) != bulletin.MaxConfirmMails {
		t.Fatalf("%d subscription requests within a day: %d confirmation mails; want %d", bulletin.MaxConfirmMails+1, len(mails), bulletin.MaxConfirmMails)
	}
	for _, m := range mails {
		if m.ConfigurationSet == "" {
			t.Errorf("a confirmation mail sent without a configuration set; want the one that reports bounces and complaints")
		}
	}
	// The first mail's link still works after the later requests (newest first in the capture).
	token := bs.confirmToken(t, mails[len(mails)-1].Raw)
	for range 2 { // confirming again is harmless
		a, err := do(http.MethodGet, bs.URL()+bulletin.ConfirmPath(token), nil, nil)
		if err != nil || a.status != http.StatusOK || !isHTML(a) || !strings.Contains(pageText(a.body), "You're subscribed to Light Lunch") {
			t.Fatalf("GET the confirmation link = %v, %v; want 200 HTML saying You're subscribed to Light Lunch", a, err)
		}
	}
	s, _ := bs.subscriber(t, formReader)
	if s.State != bulletin.Subscribed || s.Consent == nil || s.Consent.Source != bulletin.SourceWebForm || s.Consent.TextVersion != bulletin.ConsentTextVersion {
		t.Errorf("after confirming: state %s, consent %+v; want subscribed by %s, text %s", s.State, s.Consent, bulletin.SourceWebForm, bulletin.ConsentTextVersion)
	}

	// A subscribed address gets the same answer, and no mail.
	if a := bs.subscribe(t, formReader, true); a.status != first.status || string(a.body) != string(first.body) {
		t.Errorf("a subscription request of a subscribed address = %v; want the same answer as for a new one, %v", a, first)
	}
	bs.sweepOutbox(t)
	if n := len(bs.captures(t, formReader, "id")); n != bulletin.MaxConfirmMails {
		t.Errorf("after a request of a subscribed address, %d mails to it; want still %d", n, bulletin.MaxConfirmMails)
	}

	for _, email := range []string{pendingReader, pendingImported} {
		if a := bs.subscribe(t, email, true); a.status != first.status || string(a.body) != string(first.body) {
			t.Errorf("a subscription request = %v; want %v", a, first)
		}
		if got := bs.state(t, email); got != bulletin.Pending {
			t.Errorf("after a request without confirming, the state is %s; want %s", got, bulletin.Pending)
		}
	}

	// Bad links confirm no one: the pending address stays pending.
	pending, _ := bs.subscriber(t, pendingReader)
	for _, c := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusBadRequest},
		{"an unsubscribe token", bulletin.Token(bulletin.UnsubscribePurpose, pending.ID, pending.UnsubscribeSecret), http.StatusBadRequest},
		{"another secret", bulletin.Token(bulletin.ConfirmPurpose, pending.ID, bulletin.NewSecret()), http.StatusNotFound},
		{"another subscriber", bulletin.Token(bulletin.ConfirmPurpose, bulletin.NewSubscriberID(), pending.ConfirmSecret), http.StatusNotFound},
	} {
		a, err := do(http.MethodGet, bs.URL()+bulletin.ConfirmPath(c.token), nil, nil)
		if err != nil || a.status != c.want || !isHTML(a) {
			t.Errorf("GET /bulletin/confirm with %s = %v, %v; want %d HTML", c.name, a, err, c.want)
		}
	}
	if got := bs.state(t, pendingReader); got != bulletin.Pending {
		t.Errorf("after bad confirmation links, the pending address is %s; want %s", got, bulletin.Pending)
	}
}

// importFirstList imports a list of 40: 36 new people, the mailbox simulator's two addresses,
// the form's subscriber (already subscribed) and a pending address (which the list's consent
// confirms).
func importFirstList(t *testing.T, bs *bulletinStack) {
	var rows []listRow
	for i := range 36 {
		rows = append(rows, listRow{listAddress(i), fmt.Sprintf("Reader %d", i), "Example Trust, North"})
	}
	rows = append(rows,
		listRow{bounceAddress, "", ""}, listRow{complaintAddress, "", ""},
		listRow{formReader, "Form Reader", ""}, listRow{pendingImported, "Pending Imported", ""})
	checkImported(t, bs.importList(t, "e2e-list", rows), len(rows), bulletin.ImportCounts{Added: 38, Confirmed: 1, AlreadySubscribed: 1})
	s, _ := bs.subscriber(t, listAddress(0))
	if s.State != bulletin.Subscribed || s.Consent == nil || s.Consent.Source != bulletin.SourceImportPrefix+"subscribers/e2e-list.csv" ||
		s.Consent.ListSource != "paper form at the 2024 conference" || s.Name != "Reader 0" || s.Organisation != "Example Trust, North" {
		t.Errorf("an imported subscriber: %s, %q, %q, consent %+v; want subscribed with the list's consent", s.State, s.Name, s.Organisation, s.Consent)
	}
	if got := bs.state(t, pendingImported); got != bulletin.Subscribed {
		t.Errorf("a pending address imported: %s; want %s", got, bulletin.Subscribed)
	}
}

// sentIssue dispatches an uploaded issue and checks its mail: exactly one to each address
// subscribed when it starts and none to anyone else, each with its subscriber's own unsubscribe
// link in the headers and both parts; a second dispatch and a continuation send nothing; the
// staff progress adds up. It returns the unsubscribe tokens by address.
func sentIssue(t *testing.T, bs *bulletinStack, id, subject string) (subscribed map[string]bulletin.Subscriber, tokens map[string]string) {
	t.Helper()
	subscribed = bs.subscribed(t)
	began := time.Now()
	bs.dispatch(t, `{}`)
	took := time.Since(began)
	mails := bs.bySubject(t, subject, "id,subject,destinations,configuration_set,raw")
	t.Logf("issue %s: %d mails to %d subscribers in %v", id, len(mails), len(subscribed), took.Round(time.Millisecond))
	tokens = map[string]string{}
	for email, s := range subscribed {
		got := mails[email]
		if len(got) != 1 {
			t.Errorf("issue %s: %d mails to a subscriber; want 1", id, len(got))
			continue
		}
		if got[0].ConfigurationSet == "" {
			t.Errorf("issue %s: a mail sent without a configuration set; want the one that reports bounces and complaints", id)
		}
		m := parseBulletinMail(t, got[0].Raw)
		if to, err := m.header.AddressList("To"); err != nil || len(to) != 1 || !strings.EqualFold(to[0].Address, email) || len(got[0].Destinations) != 1 {
			t.Errorf("issue %s: a mail's To: %v (%v), destinations %d; want the subscriber alone", id, to, err, len(got[0].Destinations))
		}
		token := bs.unsubscribeToken(t, m)
		if token != bulletin.UnsubscribeToken(s) {
			t.Errorf("issue %s: a mail's unsubscribe link is not its subscriber's own", id)
		}
		tokens[email] = token
	}
	for email, got := range mails {
		if _, ok := subscribed[email]; !ok {
			t.Errorf("issue %s: %d mails to an address that was not subscribed (%s)", id, len(got), bs.state(t, email))
		}
	}

	total := bs.outboxTotal(t)
	bs.dispatch(t, `{}`)
	bs.dispatch(t, `{"continue": true}`)
	if after := bs.outboxTotal(t); after != total {
		t.Errorf("issue %s: dispatching again and continuing sent %d more mails; want none", id, after-total)
	}

	si := bs.staffIssue(t, id)
	p := si.Dispatch.Progress
	t.Logf("issue %s: GET /staff/bulletins/%s: %s, %+v", id, id, si.Dispatch.State, p)
	if si.Dispatch.State != string(bulletin.Finished) || p.Recipients != len(subscribed) || p.Sent != len(subscribed) || p.Remaining != 0 ||
		si.Dispatch.StartedAt.IsZero() || si.Dispatch.FinishedAt.Before(si.Dispatch.StartedAt) {
		t.Errorf("GET /staff/bulletins/%s: %s, %+v, started %v, finished %v; want %s with %d recipients, all sent", id, si.Dispatch.State, p,
			si.Dispatch.StartedAt, si.Dispatch.FinishedAt, bulletin.Finished, len(subscribed))
	}
	checkAddsUp(t, id, p)
	return subscribed, tokens
}

// firstIssue sends the first issue: to the form's subscriber, the list and the simulator's
// addresses, not to the address that never confirmed.
func firstIssue(t *testing.T, bs *bulletinStack, id, subject string) {
	bs.uploadIssue(t, id, subject)
	subscribed, _ := sentIssue(t, bs, id, subject)
	for _, email := range []string{formReader, pendingImported, listAddress(0), listAddress(35), bounceAddress, complaintAddress} {
		if _, ok := subscribed[email]; !ok {
			t.Errorf("issue %s was not for %s (%s); want it subscribed", id, email, bs.state(t, email))
		}
	}
	if _, ok := subscribed[pendingReader]; ok {
		t.Errorf("issue %s was for an address that never confirmed", id)
	}
}

// oneClick follows the unsubscribe links of the first issue: a GET (twice, as a mail scanner
// would) shows a page with a button and unsubscribes no one; RFC 8058's one-click POST
// unsubscribes (twice harmless), as does the POST asking for JSON.
func oneClick(t *testing.T, bs *bulletinStack, subject string) {
	mails := bs.bySubject(t, subject, "id,subject,destinations,configuration_set,raw")
	link := func(email string) string {
		got := mails[email]
		if len(got) != 1 {
			t.Fatalf("%d mails of %q; want 1", len(got), subject)
		}
		return bs.URL() + bulletin.UnsubscribePath(bs.unsubscribeToken(t, parseBulletinMail(t, got[0].Raw)))
	}

	u := link(listAddress(0))
	for range 2 {
		a, err := do(http.MethodGet, u, nil, nil)
		if err != nil || a.status != http.StatusOK || !isHTML(a) || !strings.Contains(string(a.body), `method="post"`) || !strings.Contains(string(a.body), "<button") {
			t.Fatalf("GET the List-Unsubscribe URL = %v, %v; want 200 HTML with a form posting with a button", a, err)
		}
	}
	if got := bs.state(t, listAddress(0)); got != bulletin.Subscribed {
		t.Fatalf("after GETs of the unsubscribe link, the state is %s; want %s (a GET never unsubscribes)", got, bulletin.Subscribed)
	}
	oneClickHeader := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for i := range 2 {
		a, err := do(http.MethodPost, u, oneClickHeader, []byte("List-Unsubscribe=One-Click"))
		if err != nil || a.status != http.StatusOK {
			t.Errorf("one-click POST %d of the List-Unsubscribe URL = %v, %v; want 200", i+1, a, err)
		}
	}
	if got := bs.state(t, listAddress(0)); got != bulletin.Unsubscribed {
		t.Errorf("after the one-click POST, the state is %s; want %s", got, bulletin.Unsubscribed)
	}

	a, err := do(http.MethodPost, link(listAddress(1)), http.Header{"Accept": {"application/json"}}, nil)
	var status bulletinapi.StatusResponse
	if err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &status) != nil || status.Status != "unsubscribed" {
		t.Errorf("POST of an unsubscribe link asking for JSON = %v, %v; want 200 {\"status\":\"unsubscribed\"}", a, err)
	}
	if got := bs.state(t, listAddress(1)); got != bulletin.Unsubscribed {
		t.Errorf("after the POST asking for JSON, the state is %s; want %s", got, bulletin.Unsubscribed)
	}
}

// feedback waits for the notifications the mailbox simulator's addresses produced when the
// first issue was sent to them: MailFeedbackFunction suppresses the bounce and the complaint.
func feedback(t *testing.T, bs *bulletinStack) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := bs.Drain(ctx); err != nil {
		t.Fatalf("waiting for the feedback notifications: %v", err)
	}
	want := map[string]bulletin.State{bounceAddress: bulletin.Bounced, complaintAddress: bulletin.Complained}
	for email, state := range want {
		if got := bs.state(t, email); got != state {
			t.Errorf("after the dispatch and its feedback, %s is %s; want %s", email, got, state)
		}
	}
	if f := bs.AsyncFailures(); f != 0 {
		t.Errorf("AsyncFailures = %d; want 0 (MailFeedbackFunction failed on a notification)", f)
	}
	t.Logf("the feedback had suppressed both addresses %v after the dispatch's end", time.Since(began).Round(time.Millisecond))
}

// importAgain imports a list holding the two unsubscribed addresses, the bounced and the
// complained one, a subscribed one and a new one: only the new one is added.
func importAgain(t *testing.T, bs *bulletinStack) {
	suppressed := map[string]bulletin.State{
		listAddress(0): bulletin.Unsubscribed, listAddress(1): bulletin.Unsubscribed,
		bounceAddress: bulletin.Bounced, complaintAddress: bulletin.Complained,
	}
	rows := []listRow{{listAddress(2), "Reader 2", ""}, {listAddress(100), "Reader 100", "New Trust"}}
	for _, email := range slices.Sorted(maps.Keys(suppressed)) {
		rows = append(rows, listRow{email, "Imported Again", ""})
	}
	checkImported(t, bs.importList(t, "e2e-again", rows), len(rows), bulletin.ImportCounts{Added: 1, AlreadySubscribed: 1, Suppressed: len(suppressed)})
	for email, state := range suppressed {
		if got := bs.state(t, email); got != state {
			t.Errorf("after an import listing %s, it is %s; want still %s", email, got, state)
		}
	}
}

// secondIssue sends the next issue: not to the addresses unsubscribed, bounced or complained,
// but to the one the second import added.
func secondIssue(t *testing.T, bs *bulletinStack, id, subject string) {
	bs.uploadIssue(t, id, subject)
	subscribed, _ := sentIssue(t, bs, id, subject)
	for _, email := range []string{listAddress(0), listAddress(1), bounceAddress, complaintAddress, pendingReader} {
		if _, ok := subscribed[email]; ok {
			t.Errorf("issue %s was for %s, %s; want it not mailed", id, email, bs.state(t, email))
		}
	}
	if _, ok := subscribed[listAddress(100)]; !ok {
		t.Errorf("issue %s was not for the address the second import added", id)
	}
}

// archive reads the web archive: the list of sent issues, newest first, and each issue's page,
// with no personal link; both answer 304 to their ETag.
func archive(t *testing.T, bs *bulletinStack, ids, subjects []string) {
	u := bs.URL() + "/bulletin/issues"
	status, h, body := get(t, u, nil)
	var page bulletinapi.IssuesPage
	if status != http.StatusOK || json.Unmarshal(body, &page) != nil {
		t.Fatalf("GET %s = %d %.300s; want 200 and a page", u, status, body)
	}
	if len(page.Items) < 2 || page.Items[0].ID != ids[1] || page.Items[1].ID != ids[0] ||
		page.Items[0].Subject != subjects[1] || page.Items[1].Subject != subjects[0] || page.Items[0].SentAt.Before(page.Items[1].SentAt) {
		t.Errorf("GET %s lists %+v; want issues %s then %s first (newest first)", u, page.Items, ids[1], ids[0])
	}
	checkNotModified(t, u, h)

	for i, id := range ids {
		u := bs.URL() + "/bulletin/issues/" + id
		status, h, body := get(t, u, nil)
		text := pageText(body)
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(text, subjects[i]) || !strings.Contains(text, "small grants round") {
			t.Errorf("GET %s = %d %s %.300s; want 200 HTML with the issue", u, status, h.Get("Content-Type"), body)
		}
		if strings.Contains(text, "token=") || strings.Contains(text, "/bulletin/unsubscribe") || strings.Contains(text, "/bulletin/confirm") {
			t.Errorf("GET %s has a personal link; want none:\n%s", u, body)
		}
		checkNotModified(t, u, h)
	}
	if status, _, body := get(t, bs.URL()+"/bulletin/issues/2031-01-07", nil); status != http.StatusNotFound {
		t.Errorf("GET /bulletin/issues of an issue never uploaded = %d %.200s; want 404", status, body)
	}
}

// checkNotModified GETs u again with the ETag h carries: 304.
func checkNotModified(t *testing.T, u string, h http.Header) {
	t.Helper()
	etag := h.Get("ETag")
	if etag == "" {
		t.Errorf("GET %s has no ETag", u)
		return
	}
	if status, _, body := get(t, u, http.Header{"If-None-Match": {etag}}); status != http.StatusNotModified {
		t.Errorf("GET %s with If-None-Match: %s = %d %.200s; want 304", u, etag, status, body)
	}
}
