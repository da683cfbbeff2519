package dynamo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/seed"
	"sectorhub/infra/testenv"
	"sectorhub/shared/apperr"
	"sectorhub/shared/directory"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/imports"
)

var t0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

// syntheticOrgs returns n valid organisations from the seed generator.
func syntheticOrgs(tb testing.TB, n int) []directory.Organisation {
	tb.Helper()
	orgs, problems, err := directory.ParseCSV(bytes.NewReader(seed.Synthetic(n)))
	if err != nil || len(problems) > 0 {
		tb.Fatalf("ParseCSV(Synthetic(%d)) = %v, %v", n, problems, err)
	}
	return orgs
}

func publish(tb testing.TB, st *dynamo.Store, version string, orgs []directory.Organisation, uploaded time.Time) bool {
	tb.Helper()
	ctx := context.Background()
	if err := st.WriteDirectoryVersion(ctx, version, orgs, uploaded); err != nil {
		tb.Fatalf("WriteDirectoryVersion(%s): %v", version, err)
	}
	rep := claim(tb, st, report(version, "directory/"+version+".csv", uploaded))
	rep.Status = imports.Published
	rep.UploadedAt = uploaded
	ok, err := st.PublishDirectory(ctx, directory.Published{Version: version, Count: len(orgs), PublishedAt: uploaded, UploadedAt: uploaded}, rep)
	if err != nil {
		tb.Fatalf("PublishDirectory(%s): %v", version, err)
	}
	return ok
}

// report returns a new import record for key, received at.
func report(id, key string, at time.Time) imports.Report {
	return imports.Report{Record: imports.Record{ID: id, Kind: "directory", Key: key, Status: imports.Processing, ReceivedAt: at}, Problems: []imports.Problem{}}
}

// claim begins rep's import for request "req-<id>" and returns rep as claimed.
func claim(tb testing.TB, st *dynamo.Store, rep imports.Report) imports.Report {
	tb.Helper()
	rep.RequestID = "req-" + rep.ID
	if _, ok, err := st.BeginImport(context.Background(), rep, rep.ReceivedAt.Add(time.Hour), rep.ReceivedAt); err != nil || !ok {
		tb.Fatalf("BeginImport(%s) = %v, %v; want claimed", rep.ID, ok, err)
	}
	return rep
}

// finish records rep (claimed first) as ended in status.
func finish(tb testing.TB, st *dynamo.Store, rep imports.Report, status imports.Status) {
	tb.Helper()
	rep = claim(tb, st, rep)
	rep.Status = status
	if err := st.FinishImport(context.Background(), rep); err != nil {
		tb.Fatalf("FinishImport(%s): %v", rep.ID, err)
	}
}

func TestDirectoryVersions(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)

		if _, ok, err := st.CurrentDirectory(ctx); err != nil || ok {
			t.Fatalf("CurrentDirectory on an empty table = ok %v, err %v; want nothing", ok, err)
		}

		// Enough organisations for the snapshot to need several chunks.
		big := syntheticOrgs(t, 2500)
		if !publish(t, st, "v1", big, t0) {
			t.Fatal("first publish refused")
		}
		cur, ok, err := st.CurrentDirectory(ctx)
		if err != nil || !ok || cur.Version != "v1" || cur.Count != len(big) {
			t.Fatalf("CurrentDirectory = %+v, %v, %v; want v1 with %d", cur, ok, err, len(big))
		}
		snap, err := st.DirectorySnapshot(ctx, "v1")
		if err != nil {
			t.Fatal(err)
		}
		if len(snap) != len(big) {
			t.Fatalf("DirectorySnapshot(v1) = %d organisations; want %d", len(snap), len(big))
		}
		for i := range snap {
			if fmt.Sprint(snap[i]) != fmt.Sprint(big[i]) {
				t.Fatalf("snapshot[%d] = %+v; want %+v", i, snap[i], big[i])
			}
		}
		got, ok, err := st.OrganisationByID(ctx, "v1", big[7].ID)
		if err != nil || !ok || fmt.Sprint(got) != fmt.Sprint(big[7]) {
			t.Fatalf("OrganisationByID(%s) = %+v, %v, %v; want %+v", big[7].ID, got, ok, err, big[7])
		}
		if _, ok, err := st.OrganisationByID(ctx, "v1", "no-such-org"); err != nil || ok {
			t.Fatalf("OrganisationByID(no-such-org) = ok %v, err %v; want not found", ok, err)
		}

		small := syntheticOrgs(t, 3)
		if !publish(t, st, "v2", small, t0.Add(time.Hour)) {
			t.Fatal("publish of a later upload refused")
		}
		// An upload older than the live one (an out-of-order event) must not replace it.
		if publish(t, st, "v0", small[:1], t0.Add(time.Minute)) {
			t.Fatal("publish of an earlier upload accepted; want refused")
		}
		if cur, _, _ := st.CurrentDirectory(ctx); cur.Version != "v2" {
			t.Fatalf("CurrentDirectory after out-of-order publish = %s; want v2", cur.Version)
		}
		if !publish(t, st, "v3", small[:2], t0.Add(2*time.Hour)) {
			t.Fatal("publish v3 refused")
		}

		if err := st.PruneDirectoryVersions(ctx, "v3", "v2", t0.Add(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			version string
			kept    bool
		}{{"v0", false}, {"v1", false}, {"v2", true}, {"v3", true}} {
			_, ok, err := st.OrganisationByID(ctx, tc.version, small[0].ID)
			if err != nil || ok != tc.kept {
				t.Errorf("after prune, OrganisationByID(%s) found = %v (err %v); want %v", tc.version, ok, err, tc.kept)
			}
			snap, err := st.DirectorySnapshot(ctx, tc.version)
			if err != nil || (len(snap) > 0) != tc.kept {
				t.Errorf("after prune, DirectorySnapshot(%s) = %d orgs (err %v); want kept %v", tc.version, len(snap), err, tc.kept)
			}
		}
	})
}

// TestPruneKeepsVersionsBeingWritten: an import that is still writing its version (to publish
// it next) must not lose it to another import's prune.
func TestPruneKeepsVersionsBeingWritten(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		orgs := syntheticOrgs(t, 5)
		publish(t, st, "old", orgs, t0)
		publish(t, st, "prev", orgs, t0.Add(time.Minute))
		// "slow" started writing at t0+2m; "fast" publishes at t0+3m and prunes with a cutoff
		// of its own start minus the lease (here t0+1m30s): "old" goes, "slow" stays.
		if err := st.WriteDirectoryVersion(ctx, "slow", orgs, t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		publish(t, st, "fast", orgs, t0.Add(3*time.Minute))
		if err := st.PruneDirectoryVersions(ctx, "fast", "prev", t0.Add(90*time.Second)); err != nil {
			t.Fatal(err)
		}
		for version, kept := range map[string]bool{"old": false, "prev": true, "slow": true, "fast": true} {
			snap, err := st.DirectorySnapshot(ctx, version)
			if err != nil || (len(snap) == len(orgs)) != kept || (!kept && len(snap) != 0) {
				t.Errorf("after prune, DirectorySnapshot(%s) = %d organisations (err %v); want kept %v", version, len(snap), err, kept)
			}
		}
	})
}

func TestBeginImport(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		rep := report("imp1", "directory/a.csv", t0)
		lease := t0.Add(time.Minute)

		steps := []struct {
			name        string
			owner       string
			now         time.Time
			wantProceed bool
		}{
			{"first claim", "req-1", t0, true},
			{"retry by the same invocation", "req-1", t0.Add(time.Second), true},
			{"another invocation while leased", "req-2", t0.Add(2 * time.Second), false},
			{"another invocation after the lease", "req-2", lease.Add(time.Second), true},
		}
		for _, s := range steps {
			until := lease
			if s.owner == "req-2" {
				until = s.now.Add(time.Minute)
			}
			claim := rep
			claim.RequestID = s.owner
			existing, proceed, err := st.BeginImport(ctx, claim, until, s.now)
			if err != nil {
				t.Fatalf("%s: BeginImport: %v", s.name, err)
			}
			if proceed != s.wantProceed {
				t.Fatalf("%s: BeginImport proceed = %v; want %v", s.name, proceed, s.wantProceed)
			}
			if !proceed && (existing.Status != imports.Processing || existing.RequestID != "req-1") {
				t.Fatalf("%s: existing = %s by %q; want processing by req-1", s.name, existing.Status, existing.RequestID)
			}
		}

		done := rep
		done.Status = imports.Rejected
		done.Problems = []imports.Problem{{Line: 2, Column: "name", Message: "name is required"}}
		done.ProblemCount = 1
		// req-1 lost its lease to req-2: its outcome is refused and changes nothing.
		done.RequestID = "req-1"
		if err := st.FinishImport(ctx, done); !errors.Is(err, imports.ErrLeaseLost) {
			t.Fatalf("FinishImport by a request that lost the lease = %v; want ErrLeaseLost", err)
		}
		if cur, _, _ := st.ImportByID(ctx, rep.ID); cur.Status != imports.Processing || cur.RequestID != "req-2" {
			t.Fatalf("after a refused finish, import = %s by %q; want processing by req-2", cur.Status, cur.RequestID)
		}
		done.RequestID = "req-2"
		if err := st.FinishImport(ctx, done); err != nil {
			t.Fatal(err)
		}
		// Finished: no second outcome, even from the holder.
		twice := done
		twice.Status = imports.Published
		if err := st.FinishImport(ctx, twice); !errors.Is(err, imports.ErrLeaseLost) {
			t.Fatalf("FinishImport of a finished import = %v; want ErrLeaseLost", err)
		}
		again := rep
		again.RequestID = "req-3"
		existing, proceed, err := st.BeginImport(ctx, again, t0.Add(time.Hour), t0.Add(time.Hour))
		if err != nil || proceed {
			t.Fatalf("BeginImport after finish = proceed %v, err %v; want refused", proceed, err)
		}
		if existing.Status != imports.Rejected || existing.ProblemCount != 1 || len(existing.Problems) != 1 || existing.Problems[0] != done.Problems[0] {
			t.Fatalf("existing = %+v; want the finished report %+v", existing, done)
		}
	})
}

func TestImportsNewestFirst(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		for i := range 5 {
			finish(t, st, report(fmt.Sprintf("imp%d", i), fmt.Sprintf("directory/%d.csv", i), t0.Add(time.Duration(i)*time.Minute)), imports.Published)
		}
		var ids []string
		cursor := ""
		for page := 0; ; page++ {
			reps, next, err := st.Imports(ctx, imports.Filter{}, 2, cursor)
			if err != nil {
				t.Fatalf("Imports page %d: %v", page, err)
			}
			for _, r := range reps {
				ids = append(ids, r.ID)
			}
			if next == "" {
				break
			}
			if page > 5 {
				t.Fatal("Imports never ends")
			}
			cursor = next
		}
		if fmt.Sprint(ids) != "[imp4 imp3 imp2 imp1 imp0]" {
			t.Fatalf("Imports pages = %v; want [imp4 imp3 imp2 imp1 imp0]", ids)
		}

		for _, bad := range []string{"!!!", "bm90LWEtY3Vyc29y", "MjAyNi0xMS0wMlQwOTozMDowMC4wMDAwMDAwMDBaIw"} {
			if _, _, err := st.Imports(ctx, imports.Filter{}, 2, bad); apperr.Code(err) != apperr.Invalid {
				t.Errorf("Imports(cursor %q) error = %v; want invalid_parameter", bad, err)
			}
		}
	})
}
