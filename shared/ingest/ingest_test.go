package ingest_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/testenv"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/imports"
	"sectorhub/shared/ingest"
	"sectorhub/shared/objects"
)

const bucket = "sectorhub-test-uploads"

// notes is a kind of upload that exists only in these tests, to show that a new kind plugs
// into the lifecycle without editing it: notes/<name>.txt holds one note per line; a line
// starting with "!" is invalid. Publishing keeps the latest upload of each key; deleting the
// object unpublishes it.
type notes struct {
	mu        sync.Mutex
	published map[string]publishedNotes // by key
	removable bool
}

type publishedNotes struct {
	lines []string
	at    time.Time
}

func (n *notes) Name() string    { return "notes" }
func (n *notes) Prefix() string  { return "notes/" }
func (n *notes) MaxBytes() int64 { return 1 << 20 }

func (n *notes) Check(u ingest.Upload) []imports.Problem {
	if !strings.HasSuffix(u.Key, ".txt") {
		return []imports.Problem{{Message: "notes are .txt files"}}
	}
	return nil
}

func (n *notes) Parse(ctx context.Context, u ingest.Upload, body io.Reader) (ingest.Parsed[[]string], error) {
	var p ingest.Parsed[[]string]
	sc := bufio.NewScanner(body)
	for line := 1; sc.Scan(); line++ {
		if strings.HasPrefix(sc.Text(), "!") {
			p.ProblemTotal++
			if len(p.Problems) < imports.MaxProblems {
				p.Problems = append(p.Problems, imports.Problem{Line: line, Field: "note", Message: "a note may not start with !"})
			}
			continue
		}
		p.Content = append(p.Content, sc.Text())
	}
	p.Items = len(p.Content)
	return p, sc.Err()
}

func (n *notes) Publish(ctx context.Context, u ingest.Upload, lines []string, rep imports.Report) (imports.Report, bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if cur, ok := n.published[u.Key]; ok && cur.at.After(u.At) {
		rep.Status = imports.Superseded
		return rep, false, nil
	}
	n.published[u.Key] = publishedNotes{lines: lines, at: u.At}
	rep.Version = u.VersionID
	return rep, false, nil
}

// removableNotes is notes that can be unpublished by deleting the object.
type removableNotes struct{ *notes }

func (n removableNotes) Remove(ctx context.Context, u ingest.Upload, rep imports.Report) (imports.Report, bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if cur, ok := n.published[u.Key]; ok && cur.at.After(u.At) {
		rep.Status = imports.Superseded
		return rep, false, nil
	}
	delete(n.published, u.Key)
	rep.Status = imports.Removed
	return rep, false, nil
}

func (n *notes) live(key string) ([]string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.published[key]
	return p.lines, ok
}

type fixture struct {
	*testenv.Uploads
	store *dynamo.Store
	kind  *notes
	im    *ingest.Importer[[]string]
	now   time.Time
}

func newFixture(t *testing.T, db *dynamodb.Client, table string, removable bool) *fixture {
	t.Helper()
	f := &fixture{Uploads: testenv.NewUploads(t, bucket), store: dynamo.New(db, table), now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	f.kind = &notes{published: map[string]publishedNotes{}}
	var kind ingest.Kind[[]string] = f.kind
	if removable {
		kind = removableNotes{f.kind}
	}
	f.im = &ingest.Importer[[]string]{
		Bucket:  bucket,
		Kind:    kind,
		Objects: objects.New(f.S3),
		Store:   f.store,
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:     func() time.Time { return f.now },
	}
	return f
}

func (f *fixture) upload(t *testing.T, key, body string, at time.Time) events.S3Event {
	t.Helper()
	return f.Put(t, key, []byte(body), at)
}

func (f *fixture) remove(t *testing.T, key string, at time.Time) events.S3Event {
	t.Helper()
	return f.Delete(t, key, at)
}

func (f *fixture) event(t *testing.T, name, key, versionID, etag string, size int64, at time.Time) events.S3Event {
	t.Helper()
	return f.Event(t, name, key, versionID, etag, size, at)
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

func (f *fixture) imports(t *testing.T, filter imports.Filter) []imports.Record {
	t.Helper()
	recs, _, err := f.store.Imports(context.Background(), filter, 100, "")
	if err != nil {
		t.Fatalf("Imports(%+v): %v", filter, err)
	}
	return recs
}

func TestNewKindPublishes(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table, false)
		ev := f.upload(t, "notes/a.txt", "one\ntwo\n", f.now)
		f.handle(t, ev, "req-1")

		if lines, ok := f.kind.live("notes/a.txt"); !ok || len(lines) != 2 {
			t.Fatalf("published notes = %q, %v; want two lines", lines, ok)
		}
		rep := f.report(t, "notes/a.txt")
		if rep.Kind != "notes" || rep.Status != imports.Published || rep.Items != 2 || rep.Problems == nil || rep.Version == "" {
			t.Fatalf("report = %+v; want kind notes, published, 2 items, problems [], a version", rep)
		}
		recs := f.imports(t, imports.Filter{Kind: "notes"})
		if len(recs) != 1 || recs[0].ID != rep.ID || recs[0].Status != imports.Published || recs[0].Kind != "notes" {
			t.Fatalf("Imports(kind=notes) = %+v; want the one published import", recs)
		}
		if recs := f.imports(t, imports.Filter{Kind: "directory"}); len(recs) != 0 {
			t.Fatalf("Imports(kind=directory) = %+v; want none", recs)
		}

		// Redelivery: nothing is done twice.
		f.kind.published = map[string]publishedNotes{}
		f.handle(t, ev, "req-2")
		if _, ok := f.kind.live("notes/a.txt"); ok {
			t.Fatal("a redelivered event was published again")
		}

		// Outside the kind's prefix: ignored (the template routes only notes/ here anyway).
		f.handle(t, f.upload(t, "directory/x.txt", "x\n", f.now), "req-3")
		if recs := f.imports(t, imports.Filter{}); len(recs) != 1 {
			t.Fatalf("Imports after an event outside notes/ = %d records; want 1", len(recs))
		}
	})
}

func TestNewKindRejectsAndCountsEveryProblem(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table, false)
		const bad = imports.MaxProblems + 234
		body := "fine\n" + strings.Repeat("!bad\n", bad)
		f.handle(t, f.upload(t, "notes/bad.txt", body, f.now), "req-1")
		if _, ok := f.kind.live("notes/bad.txt"); ok {
			t.Fatal("an invalid upload was published")
		}
		rep := f.report(t, "notes/bad.txt")
		if rep.Status != imports.Rejected || rep.ProblemCount != bad || len(rep.Problems) != imports.MaxProblems {
			t.Fatalf("report = %s, problem_count %d, %d listed; want rejected, %d, %d", rep.Status, rep.ProblemCount, len(rep.Problems), bad, imports.MaxProblems)
		}
		if p := rep.Problems[0]; p.Line != 2 || p.Field != "note" {
			t.Fatalf("first problem = %+v; want line 2, field note", p)
		}
		stored, ok, err := f.store.ImportByID(context.Background(), rep.ID)
		if err != nil || !ok || stored.ProblemCount != bad || len(stored.Problems) != imports.StoredProblems {
			t.Fatalf("ImportByID = %d problems of %d, %v, %v; want the first %d of %d", len(stored.Problems), stored.ProblemCount, ok, err, imports.StoredProblems, bad)
		}
		if recs := f.imports(t, imports.Filter{Status: imports.Rejected}); len(recs) != 1 || recs[0].ProblemCount != bad {
			t.Fatalf("Imports(status=rejected) = %+v; want the one import with problem_count %d", recs, bad)
		}

		f.handle(t, f.upload(t, "notes/wrong.csv", "x\n", f.now), "req-2")
		if rep := f.report(t, "notes/wrong.csv"); rep.Status != imports.Rejected || len(rep.Problems) != 1 || rep.Problems[0].Message != "notes are .txt files" {
			t.Fatalf("report of a .csv = %+v; want rejected by Check", rep)
		}
	})
}

func TestNewKindRemoval(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table, true)
		f.handle(t, f.upload(t, "notes/gone.txt", "one\n", f.now), "req-1")
		del := f.remove(t, "notes/gone.txt", f.now.Add(time.Minute))
		if del.Records[0].S3.Object.VersionID == "" {
			t.Fatal("DeleteObject in a versioned bucket returned no delete marker version")
		}
		f.handle(t, del, "req-2")
		if _, ok := f.kind.live("notes/gone.txt"); ok {
			t.Fatal("the notes are still published after their object was deleted")
		}
		rep := f.report(t, "notes/gone.txt")
		if rep.Status != imports.Removed || rep.Kind != "notes" {
			t.Fatalf("report after removal = %+v; want removed", rep)
		}
		f.handle(t, del, "req-3") // redelivered: nothing more
		if recs := f.imports(t, imports.Filter{Status: imports.Removed}); len(recs) != 1 {
			t.Fatalf("Imports(status=removed) = %d records; want 1", len(recs))
		}

		// A removal delivered after a later upload of the same key changes nothing.
		f.handle(t, f.upload(t, "notes/back.txt", "again\n", f.now.Add(2*time.Hour)), "req-4")
		stale := f.event(t, ingest.RemovalEvent, "notes/back.txt", "stale-marker", "", 0, f.now.Add(time.Hour))
		f.handle(t, stale, "req-5")
		if _, ok := f.kind.live("notes/back.txt"); !ok {
			t.Fatal("a stale removal unpublished a later upload")
		}
	})
}

func TestRemovalIgnoredByKindsThatCannotRemove(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table, false)
		f.handle(t, f.upload(t, "notes/kept.txt", "one\n", f.now), "req-1")
		f.handle(t, f.remove(t, "notes/kept.txt", f.now.Add(time.Minute)), "req-2")
		if _, ok := f.kind.live("notes/kept.txt"); !ok {
			t.Fatal("a kind without Remove unpublished on a removal event")
		}
		if recs := f.imports(t, imports.Filter{}); len(recs) != 1 {
			t.Fatalf("Imports = %d records; want only the upload's", len(recs))
		}
	})
}

// TestObjectGone: an event whose object version no longer exists (the sample event replayed,
// or a file deleted before it was read) ends failed with a report, and does not ask Lambda to
// retry a condition no retry can cure.
func TestObjectGone(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table, false)
		tests := []struct{ name, key, version string }{
			{"no such key", "notes/never-uploaded.txt", ""},
			{"no such version", "notes/replaced.txt", "Qb9.xK2mZp7LrT4vWn8YcF3hJs6DgA1E"},
		}
		f.upload(t, "notes/replaced.txt", "one\n", f.now)
		for i, tc := range tests {
			ev := f.event(t, "ObjectCreated:Put", tc.key, tc.version, "7d3f1c5b9e2a4068b1c3d5e7f9a1b3c5", 10, f.now)
			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("req-%d", i)})
			if err := f.im.HandleS3(ctx, ev); err != nil {
				t.Fatalf("%s: HandleS3 = %v; want nil (a retry cannot bring the object back)", tc.name, err)
			}
			rep := f.report(t, tc.key)
			if rep.Status != imports.Failed || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Message, "no longer exists") {
				t.Errorf("%s: report = %+v; want failed, saying the file no longer exists", tc.name, rep)
			}
		}
		if recs := f.imports(t, imports.Filter{Status: imports.Failed}); len(recs) != len(tests) {
			t.Fatalf("Imports(status=failed) = %d; want %d", len(recs), len(tests))
		}
	})
}

func TestTooLargeSaysHowMuch(t *testing.T) {
	tests := []struct {
		size, max int64
		want      string
	}{
		{10<<20 + 1, 10 << 20, "the file is 10.000001 MB (10485761 bytes); the limit is 10 MB (10485760 bytes)"},
		{10<<20 + 200<<10, 10 << 20, "the file is 10.2 MB (10690560 bytes); the limit is 10 MB (10485760 bytes)"},
		{11 << 20, 10 << 20, "the file is 11 MB (11534336 bytes); the limit is 10 MB (10485760 bytes)"},
		{-1, 10 << 20, "the file is larger than the 10 MB limit"},
	}
	for _, tc := range tests {
		if got := ingest.TooLarge(tc.size, tc.max).Message; got != tc.want {
			t.Errorf("TooLarge(%d, %d) = %q; want %q", tc.size, tc.max, got, tc.want)
		}
	}
}

// TestOnlyDeleteMarkersRemove: deleting an old version for good, or deleting a delete marker
// (which restores the file), leaves the file's current version in place: nothing unpublishes.
func TestOnlyDeleteMarkersRemove(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table, true)
		f.handle(t, f.upload(t, "notes/kept.txt", "one\n", f.now), "req-1")
		for i, name := range []string{"ObjectRemoved:Delete", "ObjectRemoved:*"} {
			f.handle(t, f.event(t, name, "notes/kept.txt", fmt.Sprintf("old-version-%d", i), "", 0, f.now.Add(time.Hour)), fmt.Sprintf("req-%d", i+2))
		}
		if _, ok := f.kind.live("notes/kept.txt"); !ok {
			t.Fatal("a removal that was not a delete marker unpublished the notes")
		}
		if recs := f.imports(t, imports.Filter{}); len(recs) != 1 {
			t.Fatalf("Imports = %d records; want only the upload's", len(recs))
		}
		rm := f.remove(t, "notes/kept.txt", f.now.Add(2*time.Hour))
		f.handle(t, rm, "req-9")
		rep := f.report(t, "notes/kept.txt")
		if rep.Status != imports.Removed || rep.FinishedAt == nil {
			t.Fatalf("report after a delete marker = %s, finished %v; want removed, with a finish time", rep.Status, rep.FinishedAt)
		}
	})
}

// failingReports is the real S3 adapter whose first report write fails, as a throttled or
// timed-out PutObject would.
type failingReports struct {
	*objects.Store
	failed bool
}

func (f *failingReports) PutJSON(ctx context.Context, bucket, key string, body []byte) error {
	if !f.failed {
		f.failed = true
		return fmt.Errorf("injected: put %s failed", key)
	}
	return f.Store.PutJSON(ctx, bucket, key, body)
}

// TestRejectedReportSurvivesAFailedWrite: a rejected upload's report (its problems are only
// in full in the bucket) is written before the outcome is recorded, so that when the write
// fails, Lambda's retry of the same request finds the import unfinished and writes it.
func TestRejectedReportSurvivesAFailedWrite(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table, false)
		f.im.Objects = &failingReports{Store: objects.New(f.S3)}
		ev := f.upload(t, "notes/bad.txt", "!one\n!two\n", f.now)
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
		if err := f.im.HandleS3(ctx, ev); err == nil {
			t.Fatal("HandleS3 with a failing report write = nil; want an error so that Lambda retries")
		}
		if recs := f.imports(t, imports.Filter{}); len(recs) != 1 || recs[0].Status != imports.Processing {
			t.Fatalf("after the failed report write, imports = %+v; want one still processing", recs)
		}
		f.handle(t, ev, "req-1") // Lambda's retry keeps the request ID
		rep := f.report(t, "notes/bad.txt")
		if rep.Status != imports.Rejected || rep.ProblemCount != 2 || len(rep.Problems) != 2 {
			t.Fatalf("report after the retry = %s with %d of %d problems; want rejected with both", rep.Status, len(rep.Problems), rep.ProblemCount)
		}
	})
}
