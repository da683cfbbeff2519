package casestudyingest_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/testenv"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/casestudyingest"
	"sectorhub/shared/directory"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/imports"
	"sectorhub/shared/ingest"
	"sectorhub/shared/objects"
)

const bucket = "sectorhub-test-uploads"

type fixture struct {
	*testenv.Uploads
	store *dynamo.Store
	im    *ingest.Importer[casestudy.Document]
	now   time.Time
}

func newFixture(t *testing.T, db *dynamodb.Client, table string) *fixture {
	t.Helper()
	f := &fixture{Uploads: testenv.NewUploads(t, bucket), store: dynamo.New(db, table), now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := func() time.Time { return f.now }
	f.im = &ingest.Importer[casestudy.Document]{
		Bucket:  bucket,
		Kind:    casestudyingest.Kind{Store: f.store},
		Objects: objects.New(f.S3),
		Store:   f.store,
		Log:     log,
		Now:     now,
	}
	f.publishDirectory(t)
	return f
}

// publishDirectory publishes a directory of one organisation, quillfeather.
func (f *fixture) publishDirectory(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	orgs := []directory.Organisation{{ID: "quillfeather", Name: "Quillfeather Resettlement", Summary: "s", Regions: []string{"north-west"}}}
	if err := f.store.WriteDirectoryVersion(ctx, "v1", orgs, f.now); err != nil {
		t.Fatal(err)
	}
	rep := imports.Report{Record: imports.Record{ID: "dir", Kind: "directory", Status: imports.Processing, ReceivedAt: f.now, RequestID: "req-dir"}, Problems: []imports.Problem{}}
	if _, ok, err := f.store.BeginImport(ctx, rep, f.now.Add(time.Hour), f.now); err != nil || !ok {
		t.Fatal(ok, err)
	}
	rep.Status = imports.Published
	if ok, err := f.store.PublishDirectory(ctx, directory.Published{Version: "v1", Count: 1, UploadedAt: f.now}, rep); err != nil || !ok {
		t.Fatal(ok, err)
	}
}

func (f *fixture) upload(t *testing.T, key, body string, at time.Time) events.S3Event {
	t.Helper()
	return f.Put(t, key, []byte(body), at)
}

func (f *fixture) remove(t *testing.T, key string, at time.Time) events.S3Event {
	t.Helper()
	return f.Delete(t, key, at)
}

func (f *fixture) handle(t *testing.T, ev events.S3Event, requestID string) {
	t.Helper()
	testenv.HandleS3(t, f.im.HandleS3, ev, requestID)
}

func (f *fixture) report(t *testing.T, key string) imports.Report {
	t.Helper()
	rep, _ := f.Report(t, key)
	return rep
}

func doc(title, extra, body string) string {
	return "---\ntitle: " + title + "\nsummary: A summary.\npublished: 2026-10-14\nthemes: [Peer support, mentoring]\n" + extra + "---\n" + body
}

const key = "case-studies/peer-mentors.md"

func TestPublishValidUpload(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ctx := context.Background()
		ev := f.upload(t, key, doc("Peer mentors", "organisation: quillfeather\n", "## How\n\nThey [met](https://example.org) people.\n"), f.now)
		f.handle(t, ev, "req-1")
		cs, ok, err := f.store.CaseStudyBySlug(ctx, "peer-mentors")
		if err != nil || !ok {
			t.Fatalf("CaseStudyBySlug = %v, %v; want published", ok, err)
		}
		if cs.Title != "Peer mentors" || cs.Organisation == nil || cs.Organisation.Name != "Quillfeather Resettlement" ||
			!strings.Contains(cs.HTML, `<h2 id="how">How</h2>`) || !strings.Contains(cs.HTML, `rel="nofollow noopener"`) {
			t.Fatalf("case study = %+v; want title, the organisation's name and rendered HTML", cs)
		}
		rep := f.report(t, key)
		if rep.Status != imports.Published || rep.Kind != "case-study" || rep.Items != 1 || rep.ReportKey != "reports/case-studies/peer-mentors.md.json" {
			t.Fatalf("report = %+v; want published, kind case-study, 1 item", rep)
		}
		rev, _ := f.store.CaseStudiesRevision(ctx)

		// Redelivered: nothing twice.
		f.handle(t, ev, "req-2")
		if again, _ := f.store.CaseStudiesRevision(ctx); again != rev {
			t.Fatalf("revision after redelivery = %d; want %d (nothing published again)", again, rev)
		}
		if reps, _, _ := f.store.Imports(ctx, imports.Filter{Kind: "case-study"}, 10, ""); len(reps) != 1 {
			t.Fatalf("Imports(kind=case-study) = %d; want 1", len(reps))
		}
	})
}

func TestRejectInvalidUploadKeepsThePublishedVersion(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ctx := context.Background()
		f.handle(t, f.upload(t, key, doc("Peer mentors", "", "Text.\n"), f.now), "req-1")

		bad := "---\n" + // 1
			"title: Peer mentors v2\n" + // 2
			"summary: s\n" + // 3
			"published: 14 October\n" + // 4
			"themes: [knitting]\n" + // 5
			"organisation: nobody\n" + // 6
			"tittle: x\n" + // 7
			"---\nText\n"
		f.now = f.now.Add(time.Hour)
		f.handle(t, f.upload(t, key, bad, f.now), "req-2")
		if cs, ok, _ := f.store.CaseStudyBySlug(ctx, "peer-mentors"); !ok || cs.Title != "Peer mentors" {
			t.Fatalf("after an invalid upload: %q, %v; want the published version intact", cs.Title, ok)
		}
		rep := f.report(t, key)
		want := map[string]int{"published": 4, "themes": 5, "organisation": 6, "tittle": 7}
		if rep.Status != imports.Rejected || rep.ProblemCount != len(want) {
			t.Fatalf("report = %+v; want rejected with %d problems", rep, len(want))
		}
		for _, p := range rep.Problems {
			if want[p.Field] != p.Line {
				t.Errorf("problem %+v; want field %s on line %d", p, p.Field, want[p.Field])
			}
		}
	})
}

func TestRejectBadKeys(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		for k, msg := range map[string]string{
			"case-studies/Peer Mentors.md": "(peer-mentors.md)",
			"case-studies/notes.txt":       "Markdown file whose name ends in .md",
			"case-studies/story.MD":        "must end in .md in lower case",
			"case-studies/2026/story.md":   "not in a folder",
			"case-studies/ab.md":           "3 to 80 lower-case letters",
			"case-studies/under_score.md":  "(under-score.md)",
		} {
			f.handle(t, f.upload(t, k, doc("T", "", "Text.\n"), f.now), "req-"+k)
			rep := f.report(t, k)
			if rep.Status != imports.Rejected || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Message, msg) {
				t.Errorf("upload %q: report %+v; want rejected with %q", k, rep, msg)
			}
		}
		if entries, _ := f.store.CaseStudyEntries(context.Background()); len(entries) != 0 {
			t.Errorf("entries = %d; want none published", len(entries))
		}
	})
}

func TestDeleteUnpublishes(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ctx := context.Background()
		early := f.now
		stale := f.upload(t, key, doc("Early", "", "Text.\n"), early) // delivered late, below
		f.now = f.now.Add(time.Minute)
		f.handle(t, f.upload(t, key, doc("Peer mentors", "organisation: quillfeather\n", "Text.\n"), f.now), "req-1")

		f.now = f.now.Add(time.Minute)
		del := f.remove(t, key, f.now)
		f.handle(t, del, "req-2")
		if _, ok, _ := f.store.CaseStudyBySlug(ctx, "peer-mentors"); ok {
			t.Fatal("the case study is still published after its object was deleted")
		}
		if links, _ := f.store.CaseStudyLinks(ctx); len(links["quillfeather"]) != 0 {
			t.Errorf("organisation still lists %v", links["quillfeather"])
		}
		if rep := f.report(t, key); rep.Status != imports.Removed || rep.FinishedAt == nil {
			t.Errorf("report after delete = %+v; want removed, finished", rep)
		}
		f.handle(t, del, "req-3") // redelivered: nothing more
		if recs, _, _ := f.store.Imports(ctx, imports.Filter{Status: imports.Removed}, 10, ""); len(recs) != 1 {
			t.Errorf("removed imports = %d; want 1", len(recs))
		}

		// The upload made before the delete, delivered after it, stays out.
		f.handle(t, stale, "req-4")
		if _, ok, _ := f.store.CaseStudyBySlug(ctx, "peer-mentors"); ok {
			t.Fatal("an upload older than the delete resurrected the case study")
		}
		if rep := f.report(t, key); rep.Status != imports.Superseded {
			t.Errorf("stale upload's report = %s; want superseded", rep.Status)
		}

		// A new upload publishes again.
		f.now = f.now.Add(time.Minute)
		f.handle(t, f.upload(t, key, doc("Back again", "", "Text.\n"), f.now), "req-5")
		if cs, ok, _ := f.store.CaseStudyBySlug(ctx, "peer-mentors"); !ok || cs.Title != "Back again" {
			t.Fatalf("after a re-upload: %q, %v; want published", cs.Title, ok)
		}
	})
}
