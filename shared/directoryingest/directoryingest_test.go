package directoryingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/seed"
	"sectorhub/infra/testenv"
	"sectorhub/shared/directory"
	"sectorhub/shared/directoryingest"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/imports"
	"sectorhub/shared/ingest"
	"sectorhub/shared/objects"
)

const bucket = "sectorhub-test-uploads"

type fixture struct {
	*testenv.Uploads
	store *dynamo.Store
	im    *ingest.Importer[[]directory.Organisation]
	now   time.Time
}

func newFixture(t *testing.T, db *dynamodb.Client, table string) *fixture {
	t.Helper()
	f := &fixture{Uploads: testenv.NewUploads(t, bucket), store: dynamo.New(db, table), now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := func() time.Time { return f.now }
	f.im = &ingest.Importer[[]directory.Organisation]{
		Bucket:  bucket,
		Kind:    directoryingest.Kind{Store: f.store, Log: log, Now: now},
		Objects: objects.New(f.S3),
		Store:   f.store,
		Log:     log,
		Now:     now,
	}
	return f
}

func (f *fixture) upload(t *testing.T, key string, body []byte, at time.Time) events.S3Event {
	t.Helper()
	return f.Put(t, key, body, at)
}

func (f *fixture) handle(t *testing.T, ev events.S3Event, requestID string) {
	t.Helper()
	testenv.HandleS3(t, f.im.HandleS3, ev, requestID)
}

func (f *fixture) report(t *testing.T, key string) (imports.Report, int) {
	t.Helper()
	return f.Report(t, key)
}

func TestPublishValidUpload(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ctx := context.Background()
		key := "directory/2026-11 sample.csv"
		ev := f.upload(t, key, seed.DirectoryCSV, f.now.Add(-time.Second))
		f.handle(t, ev, "req-1")

		cur, ok, err := f.store.CurrentDirectory(ctx)
		if err != nil || !ok {
			t.Fatalf("CurrentDirectory = %v, %v; want published", ok, err)
		}
		want, _, _ := directory.ParseCSV(bytes.NewReader(seed.DirectoryCSV))
		if cur.Count != len(want) || cur.SourceKey != key {
			t.Fatalf("CurrentDirectory = %+v; want %d organisations from %s", cur, len(want), key)
		}
		rep, versions := f.report(t, key)
		if rep.Status != imports.Published || rep.Items != len(want) || rep.ProblemCount != 0 || rep.Version != cur.Version {
			t.Fatalf("report = %+v; want published with %d organisations, version %s", rep, len(want), cur.Version)
		}
		reps, _, err := f.store.Imports(ctx, imports.Filter{}, 10, "")
		if err != nil || len(reps) != 1 || reps[0].Status != imports.Published {
			t.Fatalf("Imports = %+v, %v; want one published import", reps, err)
		}

		// The same event again (S3 delivers at least once; Lambda retries): nothing twice.
		f.now = f.now.Add(time.Minute)
		f.handle(t, ev, "req-2")
		again, _, _ := f.store.CurrentDirectory(ctx)
		if again != cur {
			t.Fatalf("CurrentDirectory after re-delivery = %+v; want unchanged %+v", again, cur)
		}
		if _, v := f.report(t, key); v != versions {
			t.Fatalf("report versions after re-delivery = %d; want %d (not written again)", v, versions)
		}
		if reps, _, _ := f.store.Imports(ctx, imports.Filter{}, 10, ""); len(reps) != 1 {
			t.Fatalf("Imports after re-delivery = %d records; want 1", len(reps))
		}
	})
}

func TestRejectInvalidUpload(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ctx := context.Background()
		f.handle(t, f.upload(t, "directory/good.csv", seed.DirectoryCSV, f.now), "req-1")
		before, _, _ := f.store.CurrentDirectory(ctx)

		bad := "id,name,summary,regions,email\n" +
			"ok-org,OK Org,Fine,London,info@ok.example.org\n" +
			"bad-org,,No name,Mars,not-an-email\n"
		f.now = f.now.Add(time.Hour)
		f.handle(t, f.upload(t, "directory/bad.csv", []byte(bad), f.now), "req-2")

		after, _, _ := f.store.CurrentDirectory(ctx)
		if after != before {
			t.Fatalf("an invalid upload changed the directory: %+v → %+v", before, after)
		}
		rep, _ := f.report(t, "directory/bad.csv")
		if rep.Status != imports.Rejected || rep.ProblemCount < 3 || len(rep.Problems) != rep.ProblemCount {
			t.Fatalf("report = %+v; want rejected with at least 3 problems", rep)
		}
		columns := map[string]bool{}
		for _, p := range rep.Problems {
			if p.Line != 3 {
				t.Errorf("problem %+v on line %d; want line 3", p, p.Line)
			}
			columns[p.Column] = true
		}
		for _, c := range []string{"name", "regions", "email"} {
			if !columns[c] {
				t.Errorf("no problem reported in column %q: %+v", c, rep.Problems)
			}
		}
	})
}

func TestIgnoredAndOversizedUploads(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ctx := context.Background()

		outside := f.upload(t, "casestudies/x.csv", seed.DirectoryCSV, f.now)
		other := f.upload(t, "directory/y.csv", seed.DirectoryCSV, f.now)
		other.Records[0].S3.Bucket.Name = "someone-elses-bucket"
		f.handle(t, outside, "req-1")
		f.handle(t, other, "req-2")
		if reps, _, _ := f.store.Imports(ctx, imports.Filter{}, 10, ""); len(reps) != 0 {
			t.Fatalf("Imports after ignored events = %+v; want none", reps)
		}

		big := f.upload(t, "directory/big.csv", []byte("id,name,summary,regions\n"), f.now)
		big.Records[0].S3.Object.Size = directory.MaxUploadBytes + 1
		f.handle(t, big, "req-3")
		rep, _ := f.report(t, "directory/big.csv")
		if rep.Status != imports.Rejected || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Message, "limit") {
			t.Fatalf("report of an oversized upload = %+v; want rejected for its size", rep)
		}
		if _, ok, _ := f.store.CurrentDirectory(ctx); ok {
			t.Fatal("an oversized upload published a directory")
		}

		// An event that understates the size (or an object replaced since): the read itself stops
		// at the limit.
		huge := []byte("id,name,summary,regions,description\n")
		desc := strings.Repeat("d", 550)
		for i := 0; len(huge) <= directory.MaxUploadBytes; i++ {
			huge = fmt.Appendf(huge, "org-%d,A,S,london,%s\n", i, desc)
		}
		under := f.upload(t, "directory/under.csv", huge, f.now)
		under.Records[0].S3.Object.Size = 100
		f.handle(t, under, "req-4")
		rep, _ = f.report(t, "directory/under.csv")
		if rep.Status != imports.Rejected || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Message, "limit") {
			t.Fatalf("report of an upload larger than its event says = %s with %d problems (first %+v); want rejected for its size", rep.Status, len(rep.Problems), rep.Problems[0])
		}
		if _, ok, _ := f.store.CurrentDirectory(ctx); ok {
			t.Fatal("an oversized upload published a directory")
		}
	})
}

func TestOutOfOrderUploads(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ctx := context.Background()
		older := f.upload(t, "directory/older.csv", seed.Synthetic(5), f.now)
		newer := f.upload(t, "directory/newer.csv", seed.DirectoryCSV, f.now.Add(time.Minute))
		f.handle(t, newer, "req-1")
		f.handle(t, older, "req-2")

		cur, _, _ := f.store.CurrentDirectory(ctx)
		if cur.SourceKey != "directory/newer.csv" {
			t.Fatalf("live directory from %s; want directory/newer.csv", cur.SourceKey)
		}
		rep, _ := f.report(t, "directory/older.csv")
		if rep.Status != imports.Superseded {
			t.Fatalf("older upload's status = %s; want superseded", rep.Status)
		}
	})
}

// flakyObjects is the real S3 adapter with one injected failure: the first report write fails,
// as a throttled or timed-out PutObject would.
type flakyObjects struct {
	*objects.Store
	failed bool
}

func (f *flakyObjects) PutJSON(ctx context.Context, bucket, key string, body []byte) error {
	if !f.failed {
		f.failed = true
		return errors.New("injected: put report failed")
	}
	return f.Store.PutJSON(ctx, bucket, key, body)
}

// TestRetryAfterPublishWritesReport: Lambda retries an invocation that failed after the
// publish transaction (same request ID); the retry must write the missing report, not skip.
func TestRetryAfterPublishWritesReport(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		f.im.Objects = &flakyObjects{Store: objects.New(f.S3)}
		ev := f.upload(t, "directory/flaky.csv", seed.DirectoryCSV, f.now)
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
		if err := f.im.HandleS3(ctx, ev); err == nil {
			t.Fatal("HandleS3 with a failing report write returned nil; want an error so Lambda retries")
		}
		if _, ok, _ := f.store.CurrentDirectory(context.Background()); !ok {
			t.Fatal("the directory was not published before the report write failed")
		}
		f.handle(t, ev, "req-1") // Lambda's retry keeps the request ID
		rep, versions := f.report(t, "directory/flaky.csv")
		if rep.Status != imports.Published || versions != 1 || rep.RequestID != "req-1" {
			t.Fatalf("report after the retry = %s (%d versions, request %q); want published, written once, by req-1", rep.Status, versions, rep.RequestID)
		}
	})
}

// TestDuplicateWhileLeased: a second delivery of an event that another invocation is working on
// fails (so Lambda retries it later) and changes nothing.
func TestDuplicateWhileLeased(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ev := f.upload(t, "directory/busy.csv", seed.DirectoryCSV, f.now)
		rec := ev.Records[0]
		claim := imports.Report{Record: imports.Record{
			ID:     imports.ID(bucket, rec.S3.Object.URLDecodedKey, rec.S3.Object.VersionID, rec.S3.Object.ETag, false),
			Status: imports.Processing, ReceivedAt: f.now, RequestID: "req-first",
		}, Problems: []imports.Problem{}}
		if _, ok, err := f.store.BeginImport(context.Background(), claim, f.now.Add(ingest.Lease), f.now); err != nil || !ok {
			t.Fatalf("claim by the first invocation: %v %v", ok, err)
		}
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-second"})
		if err := f.im.HandleS3(ctx, ev); err == nil || !strings.Contains(err.Error(), "retry later") {
			t.Fatalf("HandleS3 of a duplicate while leased = %v; want a retry-later error", err)
		}
		if _, ok, _ := f.store.CurrentDirectory(context.Background()); ok {
			t.Fatal("the duplicate published a directory")
		}
		// After the lease, the event takes the import over and finishes it.
		f.now = f.now.Add(ingest.Lease + time.Second)
		f.handle(t, ev, "req-third")
		if rep, _ := f.report(t, "directory/busy.csv"); rep.Status != imports.Published {
			t.Fatalf("after the lease ran out, status = %s; want published", rep.Status)
		}
	})
}

func TestRejectedUploadsGetReports(t *testing.T) {
	long := strings.Repeat("x", 450<<10) // one header cell of 450 KB: the record must still fit DynamoDB's 400 KB
	tests := []struct {
		name, key, body, want string
	}{
		{"not a CSV", "directory/orgs.xlsx", "PK\x03\x04 binary", "CSV UTF-8"},
		{"upper-case extension is a CSV", "directory/ORGS.CSV", "id,name,summary,regions\n", "no organisations"},
		{"huge unknown column", "directory/huge.csv", "id,name,summary,regions," + long + "\na,A,S,london,x\n", "unknown column"},
	}
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		for i, tc := range tests {
			f.handle(t, f.upload(t, tc.key, []byte(tc.body), f.now), fmt.Sprintf("req-%d", i))
			rep, _ := f.report(t, tc.key)
			if rep.Status != imports.Rejected || len(rep.Problems) == 0 || !strings.Contains(rep.Problems[0].Message, tc.want) {
				t.Errorf("%s: report = %s %+v; want rejected with %q", tc.name, rep.Status, rep.Problems, tc.want)
			}
			stored, ok, err := f.store.ImportByID(context.Background(), rep.ID)
			if err != nil || !ok || stored.Status != imports.Rejected {
				t.Errorf("%s: stored import = %+v, %v, %v; want rejected", tc.name, stored.Status, ok, err)
			}
		}
	})
}
