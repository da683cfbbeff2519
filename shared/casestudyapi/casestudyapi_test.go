package casestudyapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/testenv"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/casestudyapi"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/httpapi"
	"sectorhub/shared/imports"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func loadEvent(t *testing.T, name string) httpapi.Request { return testenv.HTTPEvent(t, name) }

func countingClient(db *dynamodb.Client, calls *atomic.Int64) *dynamodb.Client {
	return testenv.CountingDynamo(db, calls)
}

// publish stores a case study as an upload at at would.
func publish(t *testing.T, st *dynamo.Store, slug, title string, draft bool, at time.Time) {
	t.Helper()
	ctx := context.Background()
	d := casestudy.Document{CaseStudy: casestudy.CaseStudy{Summary: casestudy.Summary{
		Slug: slug, Title: title, Summary: "About " + title, Published: at.Format(time.DateOnly),
		Themes: []string{"peer-support"}, Regions: []string{"north-west"}, ReadingMinutes: 2,
	}, HTML: "<p>" + title + "</p>"}, Text: "mentoring on the wing", Draft: draft}
	rep := imports.Report{Record: imports.Record{ID: slug + at.String(), Kind: "case-study", Status: imports.Processing, ReceivedAt: at, RequestID: "req-" + slug}}
	if _, ok, err := st.BeginImport(ctx, rep, at.Add(time.Hour), at); err != nil || !ok {
		t.Fatalf("BeginImport = %v, %v", ok, err)
	}
	rep.Status = imports.Published
	if ok, err := st.PublishCaseStudy(ctx, d, at, rep); err != nil || !ok {
		t.Fatalf("PublishCaseStudy(%s) = %v, %v", slug, ok, err)
	}
}

func serve(t *testing.T, r *httpapi.Router, req httpapi.Request) httpapi.Response {
	t.Helper()
	resp, err := r.Serve(context.Background(), req)
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	return resp
}

type errorBody struct {
	Error struct{ Code, Message string } `json:"error"`
}

func TestListAndGet(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		var calls atomic.Int64
		st := dynamo.New(db, table)
		api := casestudyapi.New(dynamo.New(countingClient(db, &calls), table), slog.New(slog.NewTextHandler(io.Discard, nil)))

		list := loadEvent(t, "case-studies-list.json")
		if resp := serve(t, api, list); resp.StatusCode != 200 || !strings.Contains(resp.Body, `"items":[]`) || !strings.Contains(resp.Body, `"total":0`) {
			t.Fatalf("list before anything is published = %d %s; want 200 with no items", resp.StatusCode, resp.Body)
		}
		publish(t, st, "peer-mentors-on-the-wing", "Peer mentors", false, t0)
		publish(t, st, "older-story", "Older", false, t0.Add(-48*time.Hour))
		publish(t, st, "draft-story", "Draft", true, t0)

		resp := serve(t, api, list)
		var res casestudy.Result
		if err := json.Unmarshal([]byte(resp.Body), &res); err != nil || resp.StatusCode != 200 {
			t.Fatalf("list = %d %s", resp.StatusCode, resp.Body)
		}
		if res.Total != 2 || res.Items[0].Slug != "peer-mentors-on-the-wing" || res.Items[1].Slug != "older-story" || res.PerPage != 10 {
			t.Fatalf("list = %+v; want the two published case studies, newest first, 10 a page", res)
		}
		if !strings.Contains(resp.Body, `"organisation":null`) || strings.Contains(resp.Body, `"text"`) || strings.Contains(resp.Body, `"html"`) {
			t.Errorf("list body %s; want organisation null, and no text or html", resp.Body)
		}
		if resp.Headers["ETag"] == "" || resp.Headers["Cache-Control"] != "public, max-age=60" {
			t.Errorf("list headers %v; want ETag and Cache-Control", resp.Headers)
		}
		// Warm: one GetItem of the revision, whatever the number of case studies.
		calls.Store(0)
		cond := list
		cond.Headers = map[string]string{"if-none-match": resp.Headers["ETag"]}
		if again := serve(t, api, cond); again.StatusCode != 304 || again.Body != "" {
			t.Errorf("list with If-None-Match = %d %q; want 304", again.StatusCode, again.Body)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("a warm list made %d DynamoDB requests; want 1", n)
		}
		// A new publish moves the revision: the next list shows it.
		publish(t, st, "newest", "Newest", false, t0.Add(time.Hour))
		if resp := serve(t, api, list); !strings.Contains(resp.Body, `"slug":"newest"`) {
			t.Errorf("list after a publish = %s; want the new case study", resp.Body)
		}

		get := serve(t, api, loadEvent(t, "case-study-get.json"))
		var cs casestudy.CaseStudy
		if err := json.Unmarshal([]byte(get.Body), &cs); err != nil || get.StatusCode != 200 || cs.HTML != "<p>Peer mentors</p>" || cs.ReadingMinutes != 2 {
			t.Fatalf("get = %d %s; want the case study with its HTML", get.StatusCode, get.Body)
		}
		if get.Headers["Cache-Control"] != "public, max-age=300" || get.Headers["ETag"] == "" {
			t.Errorf("get headers %v", get.Headers)
		}
		for _, slug := range []string{"draft-story", "no-such-case-study", "Bad_Slug", "x"} {
			req := loadEvent(t, "case-study-get-missing.json")
			req.PathParameters["slug"] = slug
			resp := serve(t, api, req)
			var e errorBody
			if json.Unmarshal([]byte(resp.Body), &e); resp.StatusCode != 404 || e.Error.Code != "not_found" {
				t.Errorf("get %s = %d %s; want 404 not_found", slug, resp.StatusCode, resp.Body)
			}
		}
	})
}

func TestListBadParameters(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		api := casestudyapi.New(dynamo.New(db, table), slog.New(slog.NewTextHandler(io.Discard, nil)))
		req := loadEvent(t, "case-studies-list-bad.json")
		for raw, msg := range map[string]string{
			req.RawQueryString: `unknown parameter "topic"`,
			"theme=knitting":   `unknown theme "knitting"`,
			"per_page=101":     "per_page must be between 1 and 100",
			"q=%zz":            "not valid URL encoding",
		} {
			req.RawQueryString = raw
			resp := serve(t, api, req)
			var e errorBody
			if json.Unmarshal([]byte(resp.Body), &e); resp.StatusCode != 400 || e.Error.Code != "invalid_parameter" || !strings.Contains(e.Error.Message, msg) {
				t.Errorf("?%s = %d %s; want 400 with %q", raw, resp.StatusCode, resp.Body, msg)
			}
		}
	})
}
