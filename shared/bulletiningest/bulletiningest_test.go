package bulletiningest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/testenv"
	"sectorhub/shared/bulletin"
	"sectorhub/shared/bulletiningest"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/imports"
	"sectorhub/shared/ingest"
	"sectorhub/shared/objects"
)

const bucket = "sectorhub-test-uploads"

// fixture is BulletinIngestFunction's handler on an in-process S3 and a real store.
type fixture struct {
	*testenv.Uploads
	store  *dynamo.Store
	issues *storeHook // the issue kind's store
	handle func(context.Context, events.S3Event) error
	logs   *bytes.Buffer
	now    time.Time
}

// storeHook is the real store, with a hook called after each IssueByID (to start a dispatch
// between a kind's Parse and its Publish).
type storeHook struct {
	*dynamo.Store
	afterIssueByID func()
}

func (s *storeHook) IssueByID(ctx context.Context, id string) (bulletin.StoredIssue, bool, error) {
	iss, ok, err := s.Store.IssueByID(ctx, id)
	if s.afterIssueByID != nil {
		s.afterIssueByID()
	}
	return iss, ok, err
}

func newFixture(tb testing.TB, db *dynamodb.Client, table string) *fixture {
	tb.Helper()
	f := &fixture{Uploads: testenv.NewUploads(tb, bucket), store: dynamo.New(db, table), logs: &bytes.Buffer{}, now: time.Date(2026, 11, 27, 10, 5, 0, 0, time.UTC)}
	hook := &storeHook{Store: f.store}
	log := slog.New(slog.NewTextHandler(f.logs, nil))
	now := func() time.Time { return f.now }
	objs := objects.New(f.S3)
	subscribers := &ingest.Importer[[]bulletin.ImportRow]{
		Bucket: bucket, Kind: bulletiningest.Subscribers{Store: f.store, Now: now},
		Objects: objs, Store: f.store, Log: log, Now: now,
	}
	issues := &ingest.Importer[bulletin.Issue]{
		Bucket: bucket, Kind: bulletiningest.Issues{Store: hook, Now: now},
		Objects: objs, Store: f.store, Log: log, Now: now,
	}
	f.issues = hook
	f.handle = bulletiningest.Router(log,
		bulletiningest.Route{Prefix: bulletiningest.SubscribersPrefix, Handle: subscribers.HandleS3},
		bulletiningest.Route{Prefix: bulletiningest.IssuesPrefix, Handle: issues.HandleS3},
	)
	return f
}

func (f *fixture) deliver(tb testing.TB, ev events.S3Event, requestID string) {
	tb.Helper()
	testenv.HandleS3(tb, f.handle, ev, requestID)
}

func (f *fixture) report(tb testing.TB, key string) imports.Report {
	tb.Helper()
	rep, _ := f.Report(tb, key)
	return rep
}

func (f *fixture) subscriber(t *testing.T, email string) bulletin.Subscriber {
	t.Helper()
	sub, ok, err := f.store.SubscriberByEmail(context.Background(), email)
	if err != nil || !ok {
		t.Fatalf("SubscriberByEmail = %v, %v; want a record", ok, err)
	}
	return sub
}

const header = "email,name,organisation,consented_at,consent_source\n"

func TestImportSubscribers(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ctx := context.Background()
		// Before the import: one address bounced, one already subscribed by an earlier list.
		if _, err := f.store.Suppress(ctx, "gone@fernhill-trust.example", bulletin.Bounced, f.now.AddDate(0, -1, 0)); err != nil {
			t.Fatal(err)
		}
		f.deliver(t, f.Put(t, "subscribers/early.csv", []byte(header+"kept@fernhill-trust.example,,,2025-01-10,early list\n"), f.now.Add(-time.Hour)), "req-0")

		const key = "subscribers/Light Lunch 2026.CSV"
		body := header +
			"rowan.ashby@fernhill-trust.example,Rowan Ashby,Fernhill Trust,2024-03-18,sign-up form at the 2024 conference\n" +
			"Sam.Okafor@Quillfeather.example,Sam Okafor,,2025-06-02T10:15:00+01:00,email reply\n" +
			"gone@fernhill-trust.example,,,2024-01-01,old list\n" +
			"kept@fernhill-trust.example,,,2024-01-01,old list\n" +
			",,,,\n"
		ev := f.Put(t, key, []byte(body), f.now)
		f.deliver(t, ev, "req-1")

		rep := f.report(t, key)
		wantCounts := map[string]int{"added": 2, "confirmed": 0, "already_subscribed": 1, "suppressed": 1}
		if rep.Status != imports.Published || rep.Kind != "subscribers" || rep.Items != 4 || !maps.Equal(rep.Counts, wantCounts) || rep.Version != "" {
			t.Fatalf("report = %+v; want published, kind subscribers, 4 items, counts %v, no version", rep.Record, wantCounts)
		}
		if stored, ok, err := f.store.ImportByID(ctx, rep.ID); err != nil || !ok || !maps.Equal(stored.Counts, wantCounts) {
			t.Errorf("ImportByID = %+v, %v, %v; want counts %v", stored.Record, ok, err, wantCounts)
		}
		rowan := f.subscriber(t, "rowan.ashby@fernhill-trust.example")
		wantConsent := bulletin.Consent{At: time.Date(2024, 3, 18, 0, 0, 0, 0, time.UTC), Source: "import:" + key, ListSource: "sign-up form at the 2024 conference"}
		if rowan.State != bulletin.Subscribed || rowan.Name != "Rowan Ashby" || rowan.Organisation != "Fernhill Trust" || rowan.Consent == nil ||
			!rowan.Consent.At.Equal(wantConsent.At) || rowan.Consent.Source != wantConsent.Source || rowan.Consent.ListSource != wantConsent.ListSource {
			t.Errorf("imported subscriber = %+v, consent %+v; want subscribed with consent %+v", rowan, rowan.Consent, wantConsent)
		}
		if sam := f.subscriber(t, "sam.okafor@quillfeather.example"); sam.State != bulletin.Subscribed {
			t.Errorf("Sam's state = %s; want %s", sam.State, bulletin.Subscribed)
		}
		if gone := f.subscriber(t, "gone@fernhill-trust.example"); gone.State != bulletin.Bounced {
			t.Errorf("a bounced address after the import = %s; want %s (not resubscribed)", gone.State, bulletin.Bounced)
		}
		if kept := f.subscriber(t, "kept@fernhill-trust.example"); kept.Consent == nil || kept.Consent.Source != "import:subscribers/early.csv" {
			t.Errorf("an already subscribed address's consent = %+v; want the earlier list's, unchanged", kept.Consent)
		}

		// Delivered again: nothing twice, and the report stands.
		f.deliver(t, ev, "req-2")
		if recs, _, _ := f.store.Imports(ctx, imports.Filter{Kind: "subscribers"}, 10, ""); len(recs) != 2 {
			t.Errorf("Imports(kind=subscribers) = %d; want 2 (the early list and this one, once)", len(recs))
		}
		if again, versions := f.Report(t, key); !maps.Equal(again.Counts, wantCounts) || versions != 1 {
			t.Errorf("report after redelivery = %v (%d versions written); want %v, written once", again.Counts, versions, wantCounts)
		}
		if n, err := f.store.SubscribedCount(ctx); err != nil || n != 3 {
			t.Errorf("SubscribedCount = %d, %v; want 3", n, err)
		}
		if strings.Contains(f.logs.String(), "rowan") || strings.Contains(f.logs.String(), "Okafor") {
			t.Errorf("the log holds personal data:\n%s", f.logs)
		}
	})
}

func TestRejectInvalidSubscriberList(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		const key = "subscribers/list.csv"
		body := header + // 1
			"rowan.ashby@fernhill-trust.example,Rowan,,2024-03-18,form\n" + // 2
			"not-an-address,,,2024-03-18,form\n" + // 3
			"sam@quillfeather.example,,,18/03/2024,form\n" + // 4
			"ROWAN.ASHBY@fernhill-trust.example,,,2024-03-18,\n" // 5
		f.deliver(t, f.Put(t, key, []byte(body), f.now), "req-1")
		rep := f.report(t, key)
		want := []imports.Problem{
			{Line: 3, Column: "email"},
			{Line: 4, Column: "consented_at"},
			{Line: 5, Column: "email"},
			{Line: 5, Column: "consent_source"},
		}
		if rep.Status != imports.Rejected || rep.ProblemCount != len(want) || len(rep.Problems) != len(want) {
			t.Fatalf("report = %+v; want rejected with %d problems", rep, len(want))
		}
		for i, p := range rep.Problems {
			if p.Line != want[i].Line || p.Column != want[i].Column {
				t.Errorf("problem %d = %+v; want line %d column %s", i, p, want[i].Line, want[i].Column)
			}
			if strings.Contains(p.Message, "not-an-address") || strings.Contains(strings.ToLower(p.Message), "rowan") {
				t.Errorf("problem %d quotes a cell: %q", i, p.Message)
			}
		}
		if _, ok, err := f.store.SubscriberByEmail(context.Background(), "rowan.ashby@fernhill-trust.example"); ok || err != nil {
			t.Errorf("SubscriberByEmail after a rejected list = %v, %v; want nothing imported", ok, err)
		}
	})
}

func TestRejectSubscriberListThatIsNotCSV(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		for _, key := range []string{"subscribers/list.xlsx", "subscribers/list"} {
			f.deliver(t, f.Put(t, key, []byte(header+"a@b.example,,,2024-01-01,x\n"), f.now), "req-"+key)
			if rep := f.report(t, key); rep.Status != imports.Rejected || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Message, "CSV UTF-8") {
				t.Errorf("upload %q: report %+v; want rejected, saying to save as CSV UTF-8", key, rep)
			}
		}
	})
}

// issue returns an issue file.
func issue(subject, status, extra, body string) string {
	return "---\nsubject: " + subject + "\npreheader: Three deadlines this month\nstatus: " + status + "\n" + extra + "---\n" + body
}

const issueKey = "bulletins/2026-12-01.md"

// dueNow makes an issue due at the fixture's start, so that its dispatch may begin.
const dueNow = "send_at: 2026-11-27T10:00:00Z\n"

func TestStoreIssue(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ctx := context.Background()
		uploaded := f.now
		ev := f.Put(t, issueKey, []byte(issue(`"Light Lunch: funding news"`, "ready", "", "## Funding\n\nThe [fund](https://example.org/fund) opens.\n")), uploaded)
		f.deliver(t, ev, "req-1")
		iss, ok, err := f.store.IssueByID(ctx, "2026-12-01")
		if err != nil || !ok {
			t.Fatalf("IssueByID = %v, %v; want stored; report %+v", ok, err, f.report(t, issueKey))
		}
		wantSend := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) // London is on GMT in December
		if iss.Subject != "Light Lunch: funding news" || iss.Status != bulletin.Ready || !iss.SendAt.Equal(wantSend) || iss.Key != issueKey ||
			!iss.UploadedAt.Equal(uploaded) || !strings.Contains(iss.HTML, `<h2 id="funding">Funding</h2>`) || iss.Dispatch.State != bulletin.NotStarted {
			t.Fatalf("stored issue = %+v; want the upload, ready, sent at %v", iss, wantSend)
		}
		rep := f.report(t, issueKey)
		if rep.Status != imports.Published || rep.Kind != "bulletin" || rep.Items != 1 || rep.ReportKey != "reports/bulletins/2026-12-01.md.json" {
			t.Fatalf("report = %+v; want published, kind bulletin, 1 item", rep.Record)
		}

		// Delivered again: recorded once.
		f.deliver(t, ev, "req-2")
		if recs, _, _ := f.store.Imports(ctx, imports.Filter{Kind: "bulletin"}, 10, ""); len(recs) != 1 {
			t.Errorf("Imports(kind=bulletin) = %d; want 1", len(recs))
		}

		// A later upload replaces it; an earlier one delivered late is superseded.
		stale := f.Put(t, issueKey, []byte(issue("Stale", "ready", "", "Old text.\n")), uploaded.Add(-time.Minute))
		f.now = f.now.Add(time.Hour)
		f.deliver(t, f.Put(t, issueKey, []byte(issue("Light Lunch, corrected", "draft", "send_at: 2026-12-01T12:30:00Z\n", "Text.\n")), f.now), "req-3")
		f.deliver(t, stale, "req-4")
		if iss, _, _ := f.store.IssueByID(ctx, "2026-12-01"); iss.Subject != "Light Lunch, corrected" || iss.Status != bulletin.Draft || !iss.SendAt.Equal(wantSend.Add(30*time.Minute)) {
			t.Errorf("issue after a later upload and a stale one = %q, %s, %v; want the later upload's", iss.Subject, iss.Status, iss.SendAt)
		}
		if rep := f.report(t, issueKey); rep.Status != imports.Superseded {
			t.Errorf("stale upload's report = %s; want superseded", rep.Status)
		}
	})
}

func TestRejectInvalidIssue(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ctx := context.Background()
		f.deliver(t, f.Put(t, issueKey, []byte(issue("Light Lunch", "ready", "", "Text.\n")), f.now), "req-1")
		bad := "---\n" + // 1
			"subject: Light Lunch v2\n" + // 2
			"status: maybe\n" + // 3
			"send_at: next Tuesday\n" + // 4
			"colour: blue\n" + // 5
			"---\nText.\n"
		f.now = f.now.Add(time.Hour)
		f.deliver(t, f.Put(t, issueKey, []byte(bad), f.now), "req-2")
		rep := f.report(t, issueKey)
		want := map[string]int{"status": 3, "send_at": 4, "colour": 5}
		if rep.Status != imports.Rejected || rep.ProblemCount != len(want) {
			t.Fatalf("report = %+v; want rejected with %d problems", rep, len(want))
		}
		for _, p := range rep.Problems {
			if want[p.Field] != p.Line {
				t.Errorf("problem %+v; want field %s on line %d", p, p.Field, want[p.Field])
			}
		}
		if iss, _, _ := f.store.IssueByID(ctx, "2026-12-01"); iss.Subject != "Light Lunch" {
			t.Errorf("issue after an invalid upload = %q; want the stored one intact", iss.Subject)
		}
	})
}

func TestRejectBadIssueKeys(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		for key, msg := range map[string]string{
			"bulletins/2026-12-01.MD":      "must end in .md in lower case: upload it as bulletins/2026-12-01.md",
			"bulletins/2026/2026-12-01.md": "not in a folder: upload \"2026/2026-12-01.md\" as bulletins/2026-12-01.md",
			"bulletins/2026-13-01.md":      `such as bulletins/2026-12-01.md; "2026-13-01.md" is not`,
			"bulletins/tuesday.md":         `"tuesday.md" is not`,
			"bulletins/2026-12-01.txt":     `"2026-12-01.txt" is not`,
		} {
			f.deliver(t, f.Put(t, key, []byte(issue("T", "ready", "", "Text.\n")), f.now), "req-"+key)
			rep := f.report(t, key)
			if rep.Status != imports.Rejected || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Message, msg) {
				t.Errorf("upload %q: report %+v; want rejected with %q", key, rep.Problems, msg)
			}
		}
		if iss, _, err := f.store.Issues(context.Background(), 10, ""); err != nil || len(iss) != 0 {
			t.Errorf("Issues = %d, %v; want none stored", len(iss), err)
		}
	})
}

func TestIssueBeingSentCannotChange(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ctx := context.Background()
		f.deliver(t, f.Put(t, issueKey, []byte(issue("Light Lunch", "ready", dueNow, "Text.\n")), f.now), "req-1")
		started := f.now.Add(time.Minute)
		if _, ok, err := f.store.BeginDispatch(ctx, "2026-12-01", "dispatch-1", started, time.Minute); err != nil || !ok {
			t.Fatalf("BeginDispatch = %v, %v", ok, err)
		}
		f.now = f.now.Add(time.Hour)
		f.deliver(t, f.Put(t, issueKey, []byte(issue("Light Lunch, corrected", "ready", "", "Text.\n")), f.now), "req-2")
		rep := f.report(t, issueKey)
		want := "began to be sent at " + started.Format(time.RFC3339)
		if rep.Status != imports.Rejected || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Message, want) {
			t.Fatalf("report = %+v; want rejected, saying %q", rep, want)
		}
		if iss, _, _ := f.store.IssueByID(ctx, "2026-12-01"); iss.Subject != "Light Lunch" {
			t.Errorf("issue being sent = %q; want it unchanged", iss.Subject)
		}
	})
}

// TestIssueStartedWhileImporting: the dispatch begins after Parse looked and before Publish
// stores: PutIssue refuses, and the import ends rejected with the same problem.
func TestIssueStartedWhileImporting(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ctx := context.Background()
		f.deliver(t, f.Put(t, issueKey, []byte(issue("Light Lunch", "ready", dueNow, "Text.\n")), f.now), "req-1")
		started := f.now.Add(time.Minute)
		f.issues.afterIssueByID = func() {
			f.issues.afterIssueByID = nil
			if _, ok, err := f.store.BeginDispatch(ctx, "2026-12-01", "dispatch-1", started, time.Minute); err != nil || !ok {
				t.Errorf("BeginDispatch = %v, %v", ok, err)
			}
		}
		f.now = f.now.Add(time.Hour)
		ev := f.Put(t, issueKey, []byte(issue("Light Lunch, corrected", "ready", "", "Text.\n")), f.now)
		f.deliver(t, ev, "req-2")
		rep := f.report(t, issueKey)
		want := "began to be sent at " + started.Format(time.RFC3339)
		if rep.Status != imports.Rejected || rep.ProblemCount != 1 || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Message, want) || rep.FinishedAt == nil {
			t.Fatalf("report = %+v; want rejected, finished, saying %q", rep, want)
		}
		stored, ok, err := f.store.ImportByID(ctx, rep.ID)
		if err != nil || !ok || stored.Status != imports.Rejected || stored.ProblemCount != 1 {
			t.Errorf("import record = %+v, %v, %v; want rejected with the problem", stored.Record, ok, err)
		}
		if iss, _, _ := f.store.IssueByID(ctx, "2026-12-01"); iss.Subject != "Light Lunch" {
			t.Errorf("issue being sent = %q; want it unchanged", iss.Subject)
		}
	})
}

// TestRouterTakesBothKinds: one event with a record of each kind and one of neither, as S3
// could batch them, reaches both importers.
func TestRouterTakesBothKinds(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ctx := context.Background()
		var ev events.S3Event
		for _, put := range []events.S3Event{
			f.Put(t, "subscribers/list.csv", []byte(header+"rowan@fernhill-trust.example,,,2024-03-18,form\n"), f.now),
			f.Put(t, "directory/orgs.csv", []byte("id\n"), f.now),
			f.Put(t, issueKey, []byte(issue("Light Lunch", "ready", "", "Text.\n")), f.now),
		} {
			ev.Records = append(ev.Records, put.Records...)
		}
		f.deliver(t, ev, "req-1")
		if f.report(t, "subscribers/list.csv").Status != imports.Published || f.report(t, issueKey).Status != imports.Published {
			t.Errorf("reports: subscribers %s, issue %s; want both published", f.report(t, "subscribers/list.csv").Status, f.report(t, issueKey).Status)
		}
		if recs, _, _ := f.store.Imports(ctx, imports.Filter{}, 10, ""); len(recs) != 2 {
			t.Errorf("Imports = %d; want 2 (nothing for directory/)", len(recs))
		}
		if !strings.Contains(f.logs.String(), "ignored object under no prefix of this function") || !strings.Contains(f.logs.String(), "directory/orgs.csv") {
			t.Errorf("log does not say the directory upload was ignored:\n%s", f.logs)
		}
	})
}

func TestRouter(t *testing.T) {
	subs := testenv.SampleS3Event(t, "bulletiningest-subscribers-s3-put.json")
	iss := testenv.SampleS3Event(t, "bulletiningest-issue-s3-put.json")
	other := testenv.SampleS3Event(t, "case-study-upload-s3-put.json")
	errDown := fmt.Errorf("dynamodb: service unavailable")
	for _, tc := range []struct {
		name      string
		records   []events.S3EventRecord
		failIssue bool
		want      map[string][]string // prefix → keys it got
		wantErr   bool
	}{
		{"subscribers", subs.Records, false, map[string][]string{"subscribers/": {"subscribers/light-lunch-list-2026-11.csv"}}, false},
		{"issue", iss.Records, false, map[string][]string{"bulletins/": {"bulletins/2026-12-01.md"}}, false},
		{"neither", other.Records, false, map[string][]string{}, false},
		{"mixed, in order", append(append(append([]events.S3EventRecord{}, iss.Records...), other.Records...), subs.Records[0], iss.Records[0]), false,
			map[string][]string{"subscribers/": {"subscribers/light-lunch-list-2026-11.csv"}, "bulletins/": {"bulletins/2026-12-01.md", "bulletins/2026-12-01.md"}}, false},
		{"one kind fails, the other still runs", append(append([]events.S3EventRecord{}, iss.Records...), subs.Records...), true,
			map[string][]string{"subscribers/": {"subscribers/light-lunch-list-2026-11.csv"}, "bulletins/": {"bulletins/2026-12-01.md"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string][]string{}
			route := func(prefix string, fail bool) bulletiningest.Route {
				return bulletiningest.Route{Prefix: prefix, Handle: func(ctx context.Context, ev events.S3Event) error {
					for _, r := range ev.Records {
						got[prefix] = append(got[prefix], r.S3.Object.URLDecodedKey)
					}
					if fail {
						return errDown
					}
					return nil
				}}
			}
			h := bulletiningest.Router(slog.New(slog.NewTextHandler(io.Discard, nil)),
				route(bulletiningest.SubscribersPrefix, false), route(bulletiningest.IssuesPrefix, tc.failIssue))
			err := h(context.Background(), events.S3Event{Records: tc.records})
			if (err != nil) != tc.wantErr {
				t.Errorf("Router = %v; want error %v", err, tc.wantErr)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("Router routed %v; want %v", got, tc.want)
			}
		})
	}
}

func TestRouterLongestPrefix(t *testing.T) {
	var got []string
	route := func(prefix string) bulletiningest.Route {
		return bulletiningest.Route{Prefix: prefix, Handle: func(ctx context.Context, ev events.S3Event) error {
			got = append(got, prefix)
			return nil
		}}
	}
	ev := testenv.SampleS3Event(t, "bulletiningest-issue-s3-put.json")
	h := bulletiningest.Router(slog.New(slog.DiscardHandler), route("bulletins/"), route("bulletins/2026-"), route("b"))
	if err := h(context.Background(), ev); err != nil || len(got) != 1 || got[0] != "bulletins/2026-" {
		t.Errorf("Router(%s) routed to %v, %v; want bulletins/2026- only", ev.Records[0].S3.Object.URLDecodedKey, got, err)
	}
}

// BenchmarkImportSubscribers imports a list of 7,040 subscribers (the bulletin's list today)
// through BulletinIngestFunction's handler, from the S3 event to the report, on each DynamoDB
// server; rows/s is the figure (the issue asks for well under a minute).
func BenchmarkImportSubscribers(b *testing.B) {
	const rows = 7040
	var body strings.Builder
	body.WriteString(header)
	for i := range rows {
		fmt.Fprintf(&body, "subscriber.%d@agency-%d.example,Subscriber %d,Agency %d,2024-03-18,2024 conference sign-up sheet\n", i, i%300, i, i%300)
	}
	for _, target := range testenv.DynamoTargets(b) {
		b.Run(target.Name, func(b *testing.B) {
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db, table := testenv.NewTable(b, target)
				f := newFixture(b, db, table)
				ev := f.Put(b, "subscribers/list.csv", []byte(body.String()), f.now)
				b.StartTimer()
				start := time.Now()
				f.deliver(b, ev, fmt.Sprint("req-", i))
				elapsed += time.Since(start)
				b.StopTimer()
				if rep := f.report(b, "subscribers/list.csv"); rep.Status != imports.Published || rep.Items != rows {
					b.Fatalf("report = %+v; want published, %d items", rep.Record, rows)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(rows*b.N)/elapsed.Seconds(), "rows/s")
		})
	}
}
