package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/testenv"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/imports"
)

// caseStudyDoc returns a valid case study about org ("" for none).
func caseStudyDoc(slug, title, published, org string) casestudy.Document {
	d := casestudy.Document{CaseStudy: casestudy.CaseStudy{
		Summary: casestudy.Summary{Slug: slug, Title: title, Summary: "About " + title, Published: published,
			Themes: []string{"peer-support"}, ReadingMinutes: 3},
		HTML: "<p>" + title + "</p>",
	}, Text: title + " body text"}
	if org != "" {
		d.Organisation = &casestudy.Organisation{ID: org, Name: "Org " + org}
	}
	return d
}

// caseStudyImport returns a claimed import record for an upload of slug.
func caseStudyImport(tb testing.TB, st *dynamo.Store, id, slug string, at time.Time) imports.Report {
	tb.Helper()
	rep := report(id, "case-studies/"+slug+".md", at)
	rep.Kind = "case-study"
	rep = claim(tb, st, rep)
	rep.Status = imports.Published
	return rep
}

func publishCaseStudy(tb testing.TB, st *dynamo.Store, id string, d casestudy.Document, at time.Time) bool {
	tb.Helper()
	ok, err := st.PublishCaseStudy(context.Background(), d, at, caseStudyImport(tb, st, id, d.Slug, at))
	if err != nil {
		tb.Fatalf("PublishCaseStudy(%s, %s): %v", id, d.Slug, err)
	}
	return ok
}

func removeCaseStudy(tb testing.TB, st *dynamo.Store, id, slug string, at time.Time) bool {
	tb.Helper()
	rep := caseStudyImport(tb, st, id, slug, at)
	rep.Status = imports.Removed
	ok, err := st.RemoveCaseStudy(context.Background(), slug, at, rep)
	if err != nil {
		tb.Fatalf("RemoveCaseStudy(%s, %s): %v", id, slug, err)
	}
	return ok
}

// listed returns the slugs of the list entries, and the revision.
func listed(tb testing.TB, st *dynamo.Store) (string, int64) {
	tb.Helper()
	ctx := context.Background()
	entries, err := st.CaseStudyEntries(ctx)
	if err != nil {
		tb.Fatalf("CaseStudyEntries: %v", err)
	}
	rev, err := st.CaseStudiesRevision(ctx)
	if err != nil {
		tb.Fatalf("CaseStudiesRevision: %v", err)
	}
	var slugs []string
	for _, e := range entries {
		slugs = append(slugs, e.Slug)
	}
	return fmt.Sprint(slugs), rev
}

func orgRefs(tb testing.TB, st *dynamo.Store, org string) string {
	tb.Helper()
	links, err := st.CaseStudyLinks(context.Background())
	if err != nil {
		tb.Fatalf("CaseStudyLinks: %v", err)
	}
	return fmt.Sprint(links[org])
}

func TestCaseStudyPublishAndRead(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		if got, rev := listed(t, st); got != "[]" || rev != 0 {
			t.Fatalf("empty table: entries %s, revision %d; want none, 0", got, rev)
		}
		if !publishCaseStudy(t, st, "i1", caseStudyDoc("peer-mentors", "Peer mentors", "2026-10-14", "quill"), t0) ||
			!publishCaseStudy(t, st, "i2", caseStudyDoc("housing-first", "Housing first", "2026-11-01", "quill"), t0) ||
			!publishCaseStudy(t, st, "i3", caseStudyDoc("council", "A council", "2026-11-01", ""), t0) {
			t.Fatal("a first publish was refused")
		}
		cs, ok, err := st.CaseStudyBySlug(ctx, "peer-mentors")
		if err != nil || !ok || cs.HTML != "<p>Peer mentors</p>" || cs.Organisation == nil || cs.Organisation.Name != "Org quill" || cs.Regions == nil {
			t.Fatalf("CaseStudyBySlug = %+v, %v, %v; want the case study, regions [] not nil", cs, ok, err)
		}
		if _, ok, err := st.CaseStudyBySlug(ctx, "nope"); ok || err != nil {
			t.Errorf("CaseStudyBySlug(nope) = %v, %v; want not found", ok, err)
		}
		if got, rev := listed(t, st); got != "[council housing-first peer-mentors]" || rev != 3 {
			t.Errorf("entries %s, revision %d; want three, 3", got, rev)
		}
		entries, _ := st.CaseStudyEntries(ctx)
		if entries[1].Text != "Housing first body text" || entries[1].Themes[0] != "peer-support" {
			t.Errorf("entry = %+v; want its text and themes", entries[1])
		}
		if got := orgRefs(t, st, "quill"); got != "[{housing-first Housing first} {peer-mentors Peer mentors}]" {
			t.Errorf("CaseStudyLinks()[quill] = %s; want newest first", got)
		}
		if got := orgRefs(t, st, "nobody"); got != "[]" {
			t.Errorf("CaseStudyLinks()[nobody] = %s; want []", got)
		}
		rec, _, _ := st.ImportByID(ctx, "i1")
		if rec.Status != imports.Published {
			t.Errorf("import i1 = %s; want recorded as published with the switch", rec.Status)
		}
	})
}

func TestCaseStudyNewerUploadWins(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		publishCaseStudy(t, st, "new", caseStudyDoc("story", "New title", "2026-10-14", "quill"), t0.Add(time.Minute))
		// An earlier upload delivered later is superseded: nothing written, not even its record.
		if publishCaseStudy(t, st, "old", caseStudyDoc("story", "Old title", "2026-01-01", "other"), t0) {
			t.Fatal("an older upload was published over a newer one")
		}
		cs, _, _ := st.CaseStudyBySlug(ctx, "story")
		if cs.Title != "New title" || orgRefs(t, st, "other") != "[]" {
			t.Errorf("after a stale upload: title %q, other's links %s; want the newer one intact", cs.Title, orgRefs(t, st, "other"))
		}
		if rec, _, _ := st.ImportByID(ctx, "old"); rec.Status != imports.Processing {
			t.Errorf("stale import = %s; want left for the lifecycle to record (processing)", rec.Status)
		}
		// A later upload moves the organisation: the old link goes.
		publishCaseStudy(t, st, "later", caseStudyDoc("story", "Later title", "2026-10-15", "other"), t0.Add(2*time.Minute))
		if q, o := orgRefs(t, st, "quill"), orgRefs(t, st, "other"); q != "[]" || o != "[{story Later title}]" {
			t.Errorf("after moving organisation: quill %s, other %s; want [], [story]", q, o)
		}
	})
}

func TestCaseStudyDraftAndRemoval(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		publishCaseStudy(t, st, "v1", caseStudyDoc("story", "Story", "2026-10-14", "quill"), t0)
		draft := caseStudyDoc("story", "Story (draft)", "2026-10-14", "quill")
		draft.Draft = true
		publishCaseStudy(t, st, "v2", draft, t0.Add(time.Minute))
		if _, ok, _ := st.CaseStudyBySlug(ctx, "story"); ok {
			t.Error("a draft is shown; want 404")
		}
		if got, _ := listed(t, st); got != "[]" || orgRefs(t, st, "quill") != "[]" {
			t.Errorf("after a draft: entries %s, links %s; want none", got, orgRefs(t, st, "quill"))
		}

		publishCaseStudy(t, st, "v3", caseStudyDoc("story", "Story", "2026-10-14", "quill"), t0.Add(2*time.Minute))
		if !removeCaseStudy(t, st, "rm", "story", t0.Add(3*time.Minute)) {
			t.Fatal("removal refused")
		}
		if _, ok, _ := st.CaseStudyBySlug(ctx, "story"); ok {
			t.Error("a removed case study is shown; want 404")
		}
		got, rev := listed(t, st)
		if got != "[]" || orgRefs(t, st, "quill") != "[]" || rev != 4 {
			t.Errorf("after removal: entries %s, links %s, revision %d; want none, none, 4", got, orgRefs(t, st, "quill"), rev)
		}
		// The tombstone keeps an upload made before the removal, delivered late, out...
		if publishCaseStudy(t, st, "late", caseStudyDoc("story", "Late", "2026-10-14", ""), t0.Add(150*time.Second)) {
			t.Error("an upload older than the removal resurrected the case study")
		}
		// ...and a removal older than the live upload changes nothing...
		if removeCaseStudy(t, st, "rm-old", "other-story", t0) != true {
			t.Error("removing a slug never published: want a tombstone written")
		}
		// ...while a later upload publishes again.
		if !publishCaseStudy(t, st, "again", caseStudyDoc("story", "Again", "2026-12-01", ""), t0.Add(4*time.Minute)) {
			t.Fatal("a re-upload after the removal was refused")
		}
		if cs, ok, _ := st.CaseStudyBySlug(ctx, "story"); !ok || cs.Title != "Again" {
			t.Errorf("after a re-upload: %q, %v; want Again", cs.Title, ok)
		}
		if removeCaseStudy(t, st, "rm-stale", "story", t0.Add(3*time.Minute+time.Second)) {
			t.Error("a removal older than the live upload removed it")
		}
	})
}

func TestCaseStudyLeaseLostWritesNothing(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		rep := caseStudyImport(t, st, "taken", "story", t0)
		rep.RequestID = "another-request"
		_, err := st.PublishCaseStudy(ctx, caseStudyDoc("story", "Story", "2026-10-14", "quill"), t0, rep)
		if !errors.Is(err, imports.ErrLeaseLost) {
			t.Fatalf("PublishCaseStudy with a lost lease = %v; want ErrLeaseLost", err)
		}
		if _, ok, _ := st.CaseStudyBySlug(ctx, "story"); ok {
			t.Error("the case study was published although the transaction failed")
		}
		if got, rev := listed(t, st); got != "[]" || rev != 0 || orgRefs(t, st, "quill") != "[]" {
			t.Errorf("after a lost lease: entries %s, revision %d; want nothing written", got, rev)
		}
	})
}

// A newer upload that lands between a publish's read and its write wins: the publish reads
// again and finds itself stale.
func TestCaseStudyConcurrentNewerUpload(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		publishCaseStudy(t, st, "first", caseStudyDoc("story", "First", "2026-10-14", ""), t0)
		other := dynamo.New(db, table)
		rep := caseStudyImport(t, st, "slow", "story", t0.Add(time.Minute))
		newerRep := caseStudyImport(t, other, "fast", "story", t0.Add(2*time.Minute))
		once := false
		dynamo.SetBeforePublish(st, func() {
			if once {
				return
			}
			once = true
			if ok, err := other.PublishCaseStudy(ctx, caseStudyDoc("story", "Newer", "2026-10-14", ""), t0.Add(2*time.Minute), newerRep); err != nil || !ok {
				t.Errorf("the newer publish = %v, %v", ok, err)
			}
		})
		ok, err := st.PublishCaseStudy(ctx, caseStudyDoc("story", "Slow", "2026-10-14", ""), t0.Add(time.Minute), rep)
		if err != nil || ok {
			t.Fatalf("the slow publish = %v, %v; want superseded", ok, err)
		}
		if cs, _, _ := st.CaseStudyBySlug(ctx, "story"); cs.Title != "Newer" {
			t.Errorf("title = %q; want Newer", cs.Title)
		}
	})
}
