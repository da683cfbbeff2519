package staffapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/testenv"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/httpapi"
	"sectorhub/shared/imports"
	"sectorhub/shared/staffapi"
)

func TestListImports(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		api := staffapi.New(st, staffapi.Uploads{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		req := sample(t, "staff-imports.json")

		page := func(raw string) (int, staffapi.ImportsPage, string) {
			t.Helper()
			r := req
			r.RawQueryString = raw
			resp, err := api.Serve(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			var p staffapi.ImportsPage
			if resp.StatusCode == 200 {
				if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
					t.Fatal(err)
				}
			}
			return resp.StatusCode, p, resp.Body
		}

		if status, p, body := page(""); status != 200 || p.Items == nil || len(p.Items) != 0 || p.NextCursor != "" {
			t.Fatalf("GET /staff/imports with no imports = %d %s; want 200 with empty items", status, body)
		}

		at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		for i := range 3 {
			kind := "directory"
			if i == 1 {
				kind = "case-study"
			}
			record(t, st, imports.Report{Record: imports.Record{ID: fmt.Sprintf("i%d", i), Kind: kind, Key: fmt.Sprintf("%s/%d", kind, i), Status: imports.Rejected,
				ReceivedAt: at.Add(time.Duration(i) * time.Hour), ProblemCount: 1},
				Problems: []imports.Problem{{Line: 2, Column: "name", Message: "name is required"}}})
		}
		status, p, body := page("limit=2")
		if status != 200 || len(p.Items) != 2 || p.Items[0].ID != "i2" || p.Items[1].ID != "i1" || p.NextCursor == "" {
			t.Fatalf("first page = %d %s; want i2, i1 and a cursor", status, body)
		}
		if p.Items[0].ProblemCount != 1 || p.Items[0].Kind != "directory" || strings.Contains(body, `"problems"`) {
			t.Fatalf("first page = %s; want problem_count 1, kind, and no problems (GET /staff/imports/{id} has them)", body)
		}
		status, p, body = page("limit=2&cursor=" + p.NextCursor)
		if status != 200 || len(p.Items) != 1 || p.Items[0].ID != "i0" {
			t.Fatalf("second page = %d %s; want i0", status, body)
		}

		if status, p, body := page("kind=case-study"); status != 200 || len(p.Items) != 1 || p.Items[0].ID != "i1" {
			t.Fatalf("kind=case-study = %d %s; want i1", status, body)
		}
		if status, p, body := page("kind=directory&status=rejected&limit=1"); status != 200 || len(p.Items) != 1 || p.Items[0].ID != "i2" || p.NextCursor == "" {
			t.Fatalf("kind=directory&status=rejected&limit=1 = %d %s; want i2 and a cursor", status, body)
		}
		if status, p, body := page("status=published"); status != 200 || p.Items == nil || len(p.Items) != 0 {
			t.Fatalf("status=published = %d %s; want 200 with empty items", status, body)
		}

		for _, raw := range []string{"limit=0", "limit=101", "limit=x", "limit=1&limit=2", "cursor=%%%", "cursor=abc", "sort=asc",
			"status=done", "status=", "kind=Directory", "kind=", "kind=" + strings.Repeat("a", 40)} {
			if status, _, body := page(raw); status != 400 {
				t.Errorf("GET /staff/imports?%s = %d %s; want 400", raw, status, body)
			}
		}
	})
}

func TestGetImport(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		api := staffapi.New(st, staffapi.Uploads{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		req := sample(t, "staff-import-get.json")
		id := req.PathParameters["id"]
		get := func(id string) (int, imports.Report, string) {
			t.Helper()
			r := req
			r.PathParameters = map[string]string{"id": id}
			resp, err := api.Serve(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			var rep imports.Report
			if resp.StatusCode == 200 {
				if err := json.Unmarshal([]byte(resp.Body), &rep); err != nil {
					t.Fatal(err)
				}
			}
			return resp.StatusCode, rep, resp.Body
		}
		if status, _, body := get(id); status != 404 || !strings.Contains(body, "not_found") {
			t.Fatalf("GET /staff/imports/%s before any import = %d %s; want 404 not_found", id, status, body)
		}
		problems := []imports.Problem{{Line: 2, Column: "name", Message: "name is required"}, {Line: 3, Column: "regions", Message: "unknown region"}}
		record(t, st, imports.Report{Record: imports.Record{ID: id, Kind: "directory", Key: "directory/x.csv", Status: imports.Rejected, ProblemCount: 2,
			ReceivedAt: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}, Problems: problems})
		record(t, st, imports.Report{Record: imports.Record{ID: "fine", Kind: "directory", Key: "directory/y.csv", Status: imports.Published,
			ReceivedAt: time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC)}, Problems: []imports.Problem{}})

		if status, rep, body := get(id); status != 200 || rep.ID != id || len(rep.Problems) != 2 || rep.Problems[1] != problems[1] {
			t.Fatalf("GET /staff/imports/%s = %d %s; want the report with its 2 problems", id, status, body)
		}
		if status, _, body := get("fine"); status != 200 || !strings.Contains(body, `"problems":[]`) {
			t.Fatalf("GET /staff/imports/fine = %d %s; want problems: []", status, body)
		}
		for _, bad := range []string{"nope", "UPPER", "../etc", strings.Repeat("a", 65), ""} {
			if status, _, body := get(bad); status != 404 {
				t.Errorf("GET /staff/imports/%q = %d %s; want 404", bad, status, body)
			}
		}
	})
}

// sample loads a sample event from events/ as the handler receives it.
func sample(t *testing.T, name string) httpapi.Request { return testenv.HTTPEvent(t, name) }

// record stores rep as an ingest function would: claimed, then finished.
func record(t *testing.T, st *dynamo.Store, rep imports.Report) {
	t.Helper()
	ctx := context.Background()
	done := rep
	rep.Status, rep.RequestID, done.RequestID = imports.Processing, "req-"+rep.ID, "req-"+rep.ID
	if _, ok, err := st.BeginImport(ctx, rep, rep.ReceivedAt.Add(time.Hour), rep.ReceivedAt); err != nil || !ok {
		t.Fatalf("BeginImport(%s) = %v, %v", rep.ID, ok, err)
	}
	if err := st.FinishImport(ctx, done); err != nil {
		t.Fatalf("FinishImport(%s): %v", rep.ID, err)
	}
}
