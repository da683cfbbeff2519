package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/infra/testenv"
	"sectorhub/shared/directory"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/imports"
)

func TestImportsFilter(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		kinds := []string{"directory", "case-study", "directory", "case-study", "directory", "directory"}
		statuses := []imports.Status{imports.Published, imports.Rejected, imports.Rejected, imports.Published, imports.Superseded, imports.Rejected}
		for i := range kinds {
			rep := report(fmt.Sprintf("imp%d", i), fmt.Sprintf("%s/%d", kinds[i], i), t0.Add(time.Duration(i)*time.Minute))
			rep.Kind = kinds[i]
			rep.Problems = []imports.Problem{{Line: 1, Message: "a problem the list must not carry"}}
			finish(t, st, rep, statuses[i])
		}
		tests := []struct {
			filter imports.Filter
			want   string
		}{
			{imports.Filter{}, "[imp5 imp4 imp3 imp2 imp1 imp0]"},
			{imports.Filter{Kind: "directory"}, "[imp5 imp4 imp2 imp0]"},
			{imports.Filter{Status: imports.Rejected}, "[imp5 imp2 imp1]"},
			{imports.Filter{Kind: "directory", Status: imports.Rejected}, "[imp5 imp2]"},
			{imports.Filter{Kind: "case-study", Status: imports.Superseded}, "[]"},
			{imports.Filter{Kind: "bulletin"}, "[]"},
		}
		for _, tc := range tests {
			for _, limit := range []int{1, 2, 100} {
				var ids []string
				cursor := ""
				for page := 0; ; page++ {
					recs, next, err := st.Imports(ctx, tc.filter, limit, cursor)
					if err != nil {
						t.Fatalf("Imports(%+v, %d) page %d: %v", tc.filter, limit, page, err)
					}
					if len(recs) > limit {
						t.Fatalf("Imports(%+v, %d) page %d has %d records", tc.filter, limit, page, len(recs))
					}
					for _, r := range recs {
						ids = append(ids, r.ID)
					}
					if next == "" {
						break
					}
					if page > 10 {
						t.Fatalf("Imports(%+v, %d) never ends", tc.filter, limit)
					}
					cursor = next
				}
				if got := fmt.Sprint(ids); got != tc.want && !(tc.want == "[]" && ids == nil) {
					t.Errorf("Imports(%+v) in pages of %d = %s; want %s", tc.filter, limit, got, tc.want)
				}
			}
		}

		// gsi1 carries the list's fields, not the problems (up to ~100 KB an import).
		out, err := db.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(table), IndexName: aws.String("gsi1"),
			KeyConditionExpression:    aws.String("gsi1pk = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "IMPORTS"}},
		})
		if err != nil || len(out.Items) != len(kinds) {
			t.Fatalf("Query gsi1 = %d items, %v; want %d", len(out.Items), err, len(kinds))
		}
		desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatalf("DescribeTable: %v", err)
		}
		i := slices.IndexFunc(desc.Table.GlobalSecondaryIndexes, func(g types.GlobalSecondaryIndexDescription) bool { return aws.ToString(g.IndexName) == "gsi1" })
		if i < 0 {
			t.Fatalf("DescribeTable: no gsi1 in %d indexes", len(desc.Table.GlobalSecondaryIndexes))
		}
		if p := desc.Table.GlobalSecondaryIndexes[i].Projection; p == nil || p.ProjectionType != types.ProjectionTypeInclude || slices.Contains(p.NonKeyAttributes, "problems") {
			t.Fatalf("gsi1 projection = %+v; want INCLUDE without problems", p)
		}
		for _, item := range out.Items {
			// The embedded minidyn copies whole items into every index; DynamoDB Local (make
			// test) applies the projection, as DynamoDB does.
			if _, ok := item["problems"]; ok && !strings.HasSuffix(t.Name(), "/minidyn") {
				t.Fatalf("gsi1 item carries problems: %v", item)
			}
			if _, ok := item["problem_count"]; !ok {
				t.Fatalf("gsi1 item lacks problem_count: %v", item)
			}
		}
		full, ok, err := st.ImportByID(ctx, "imp1")
		if err != nil || !ok || len(full.Problems) != 1 {
			t.Fatalf("ImportByID(imp1) = %d problems, %v, %v; want its problem", len(full.Problems), ok, err)
		}
	})
}

// TestPublishRaceKeepsTheLatestUpload: PublishDirectory reads the live version before its
// transaction; an older upload that read "nothing newer is live" and then lost the race to a
// newer one must be refused by the transaction's own condition, not overwrite the newer one.
func TestPublishRaceKeepsTheLatestUpload(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		orgs := syntheticOrgs(t, 3)
		for _, v := range []string{"older", "newer"} {
			if err := st.WriteDirectoryVersion(ctx, v, orgs, t0); err != nil {
				t.Fatal(err)
			}
		}
		older := claim(t, st, report("older", "directory/older.csv", t0))
		newer := claim(t, st, report("newer", "directory/newer.csv", t0))
		for _, r := range []*imports.Report{&older, &newer} {
			r.Status = imports.Published
		}

		var stepped atomic.Bool
		var newerPublished bool
		var newerErr error
		dynamo.SetBeforePublish(st, func() {
			if !stepped.CompareAndSwap(false, true) {
				return // the newer upload's own publish
			}
			func() {
				// The older upload has read the (empty) pointer; the newer one publishes now, on
				// another goroutine, as a concurrent invocation would.
				done := make(chan struct{})
				go func() {
					defer close(done)
					newerPublished, newerErr = st.PublishDirectory(ctx, directory.Published{Version: "newer", Count: len(orgs), UploadedAt: t0.Add(time.Minute)}, newer)
				}()
				<-done
			}()
		})
		published, err := st.PublishDirectory(ctx, directory.Published{Version: "older", Count: len(orgs), UploadedAt: t0}, older)
		if newerErr != nil || !newerPublished {
			t.Fatalf("PublishDirectory(newer) = %v, %v; want published", newerPublished, newerErr)
		}
		if err != nil || published {
			t.Fatalf("PublishDirectory(older) after newer went live = %v, %v; want refused (false, nil)", published, err)
		}
		if cur, _, _ := st.LiveDirectory(ctx); cur.Version != "newer" {
			t.Fatalf("live version = %q; want newer", cur.Version)
		}
		if rec, _, _ := st.ImportByID(ctx, "older"); rec.Status != imports.Processing {
			t.Fatalf("older import = %s; want still processing (the refused transaction wrote nothing)", rec.Status)
		}
		if rec, _, _ := st.ImportByID(ctx, "newer"); rec.Status != imports.Published {
			t.Fatalf("newer import = %s; want published", rec.Status)
		}
	})
}

// TestConcurrentPublishes: many imports publish at once, all reading the pointer before any
// writes it; whatever order their transactions run in, the latest upload ends live, and every
// import that reported success was recorded with it.
func TestConcurrentPublishes(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		orgs := syntheticOrgs(t, 3)
		const n = 8
		reps := make([]imports.Report, n)
		for i := range n {
			v := fmt.Sprintf("v%d", i)
			if err := st.WriteDirectoryVersion(ctx, v, orgs, t0); err != nil {
				t.Fatal(err)
			}
			reps[i] = claim(t, st, report(v, "directory/"+v+".csv", t0))
			reps[i].Status = imports.Published
		}
		var read sync.WaitGroup
		read.Add(n)
		dynamo.SetBeforePublish(st, func() { read.Done(); read.Wait() }) // all read, then all write
		var wg sync.WaitGroup
		results := make([]bool, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				// Upload times in an order unrelated to the goroutines' start.
				at := t0.Add(time.Duration((i*5)%n) * time.Second)
				results[i], errs[i] = st.PublishDirectory(ctx, directory.Published{Version: reps[i].ID, Count: len(orgs), UploadedAt: at}, reps[i])
			})
		}
		wg.Wait()
		latest := ""
		for i := range n {
			if errs[i] != nil && !errors.Is(errs[i], imports.ErrLeaseLost) {
				// DynamoDB may cancel a transaction that conflicts with another in flight: the
				// caller retries it. It must still have written nothing.
				t.Logf("PublishDirectory(%s): %v", reps[i].ID, errs[i])
			}
			if (i*5)%n == n-1 {
				latest = reps[i].ID
			}
			rec, _, err := st.ImportByID(ctx, reps[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			if results[i] != (rec.Status == imports.Published) {
				t.Errorf("PublishDirectory(%s) = %v but its record is %s", reps[i].ID, results[i], rec.Status)
			}
		}
		cur, _, err := st.LiveDirectory(ctx)
		if err != nil || cur.Version != latest {
			t.Fatalf("live version after concurrent publishes = %q, %v; want %s (the latest upload)", cur.Version, err, latest)
		}
	})
}

// TestConcurrentClaims: deliveries of one event to several invocations at once all read "no
// record" before any writes; the claim's condition lets exactly one of them proceed.
func TestConcurrentClaims(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		const n = 6
		var read sync.WaitGroup
		read.Add(n)
		dynamo.SetBeforeClaim(st, func() { read.Done(); read.Wait() })
		var wg sync.WaitGroup
		var proceeded atomic.Int32
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				rep := report("contested", "directory/contested.csv", t0)
				rep.RequestID = fmt.Sprintf("req-%d", i)
				_, ok, err := st.BeginImport(ctx, rep, t0.Add(time.Minute), t0)
				errs[i] = err
				if ok {
					proceeded.Add(1)
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("BeginImport by req-%d: %v", i, err)
			}
		}
		if got := proceeded.Load(); got != 1 {
			t.Fatalf("%d of %d concurrent claims proceeded; want exactly 1", got, n)
		}
	})
}

// TestPublishAfterLosingTheLease: an import whose lease ran out and was taken over by another
// request must not publish: the transaction's import condition refuses it, whole.
func TestPublishAfterLosingTheLease(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		orgs := syntheticOrgs(t, 3)
		if !publish(t, st, "live", orgs, t0) {
			t.Fatal("first publish refused")
		}
		if err := st.WriteDirectoryVersion(ctx, "slow", orgs, t0); err != nil {
			t.Fatal(err)
		}
		first := report("slow", "directory/slow.csv", t0)
		first.RequestID = "req-1"
		if _, ok, err := st.BeginImport(ctx, first, t0.Add(time.Minute), t0); err != nil || !ok {
			t.Fatalf("claim by req-1 = %v, %v", ok, err)
		}
		second := first
		second.RequestID = "req-2"
		later := t0.Add(2 * time.Minute) // req-1's lease has run out
		if _, ok, err := st.BeginImport(ctx, second, later.Add(time.Minute), later); err != nil || !ok {
			t.Fatalf("takeover by req-2 = %v, %v", ok, err)
		}
		first.Status = imports.Published
		published, err := st.PublishDirectory(ctx, directory.Published{Version: "slow", Count: len(orgs), UploadedAt: t0.Add(time.Hour)}, first)
		if !errors.Is(err, imports.ErrLeaseLost) || published {
			t.Fatalf("PublishDirectory by req-1 after the takeover = %v, %v; want ErrLeaseLost", published, err)
		}
		if cur, _, _ := st.LiveDirectory(ctx); cur.Version != "live" {
			t.Fatalf("live version = %q; want live (the refused transaction switched nothing)", cur.Version)
		}
		if rec, _, _ := st.ImportByID(ctx, "slow"); rec.Status != imports.Processing || rec.RequestID != "req-2" {
			t.Fatalf("import after the refused publish = %s by %q; want processing by req-2", rec.Status, rec.RequestID)
		}
	})
}
