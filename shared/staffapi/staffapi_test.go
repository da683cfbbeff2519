package staffapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/testenv"
	"sectorhub/shared/directory"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/httpapi"
	"sectorhub/shared/imports"
	"sectorhub/shared/staffapi"
)

func TestListImports(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		api := staffapi.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "events", "staff-imports.json"))
		if err != nil {
			t.Fatal(err)
		}
		var req httpapi.Request
		if err := json.Unmarshal(b, &req); err != nil {
			t.Fatal(err)
		}

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
			rep := imports.Report{ID: fmt.Sprintf("i%d", i), Key: fmt.Sprintf("directory/%d.csv", i), Status: imports.Rejected,
				ReceivedAt: at.Add(time.Duration(i) * time.Hour), ProblemCount: 1,
				Problems: []directory.Problem{{Line: 2, Column: "name", Message: "name is required"}}}
			if err := st.FinishImport(ctx, rep); err != nil {
				t.Fatal(err)
			}
		}
		status, p, body := page("limit=2")
		if status != 200 || len(p.Items) != 2 || p.Items[0].ID != "i2" || p.Items[1].ID != "i1" || p.NextCursor == "" {
			t.Fatalf("first page = %d %s; want i2, i1 and a cursor", status, body)
		}
		if p.Items[0].ProblemCount != 1 || len(p.Items[0].Problems) != 1 {
			t.Fatalf("first item = %+v; want its problem", p.Items[0])
		}
		status, p, body = page("limit=2&cursor=" + p.NextCursor)
		if status != 200 || len(p.Items) != 1 || p.Items[0].ID != "i0" {
			t.Fatalf("second page = %d %s; want i0", status, body)
		}

		for _, raw := range []string{"limit=0", "limit=101", "limit=x", "limit=1&limit=2", "cursor=%%%", "cursor=abc", "sort=asc"} {
			if status, _, body := page(raw); status != 400 {
				t.Errorf("GET /staff/imports?%s = %d %s; want 400", raw, status, body)
			}
		}
	})
}
