package directoryapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/seed"
	"sectorhub/infra/testenv"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/directory"
	"sectorhub/shared/directoryapi"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/httpapi"
	"sectorhub/shared/imports"
)

func loadEvent(t *testing.T, name string) httpapi.Request { return testenv.HTTPEvent(t, name) }

func countingClient(db *dynamodb.Client, calls *atomic.Int64) *dynamodb.Client {
	return testenv.CountingDynamo(db, calls)
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func serve(t *testing.T, api *httpapi.Router, req httpapi.Request) httpapi.Response {
	t.Helper()
	resp, err := api.Serve(context.Background(), req)
	if err != nil {
		t.Fatalf("Serve(%s) returned an error to Lambda: %v", req.RouteKey, err)
	}
	return resp
}

func TestDirectoryRoutes(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		st := dynamo.New(db, table)
		api := directoryapi.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		search := loadEvent(t, "directory-search.json")
		get := loadEvent(t, "directory-get.json")

		// Before anything is published: an empty directory, not an error.
		resp := serve(t, api, search)
		var res directory.Result
		if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &res) != nil || res.Total != 0 || res.Items == nil {
			t.Fatalf("search before publishing = %d %s; want 200 with no items", resp.StatusCode, resp.Body)
		}
		if resp := serve(t, api, get); resp.StatusCode != 404 {
			t.Fatalf("get before publishing = %d; want 404", resp.StatusCode)
		}

		orgs := directoryapi.Publish(t, st, "v1", seed.DirectoryCSV, time.Now())

		all := search
		all.RawQueryString = ""
		all.QueryStringParameters = nil
		resp = serve(t, api, all)
		if err := json.Unmarshal([]byte(resp.Body), &res); err != nil || resp.StatusCode != 200 {
			t.Fatalf("search = %d %s", resp.StatusCode, resp.Body)
		}
		if res.Total != len(orgs) || len(res.Items) != 20 || res.PerPage != 20 || res.Page != 1 {
			t.Fatalf("search without parameters = total %d, %d items, page %d/%d; want %d, 20, 1/20", res.Total, len(res.Items), res.Page, res.PerPage, len(orgs))
		}
		if resp.Headers["ETag"] == "" || resp.Headers["Cache-Control"] == "" {
			t.Fatalf("search headers = %v; want ETag and Cache-Control", resp.Headers)
		}
		if resp := serve(t, api, search); resp.StatusCode != 200 {
			t.Fatalf("sample search event = %d %s; want 200", resp.StatusCode, resp.Body)
		}

		resp = serve(t, api, get)
		var org directory.Organisation
		if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &org) != nil || org.ID != get.PathParameters["id"] {
			t.Fatalf("get = %d %s; want organisation %s", resp.StatusCode, resp.Body, get.PathParameters["id"])
		}
		cond := get
		cond.Headers = map[string]string{"if-none-match": resp.Headers["ETag"]}
		if r := serve(t, api, cond); r.StatusCode != 304 || r.Body != "" {
			t.Fatalf("get with If-None-Match = %d %q; want 304 without body", r.StatusCode, r.Body)
		}

		for _, tc := range []struct {
			name   string
			req    httpapi.Request
			status int
			code   string
		}{
			{"bad per_page", loadEvent(t, "directory-search-bad.json"), 400, "invalid_parameter"},
			{"missing organisation", loadEvent(t, "directory-get-missing.json"), 404, "not_found"},
			{"unknown region", withQuery(all, "region=mars"), 400, "invalid_parameter"},
			{"unknown parameter", withQuery(all, "regoin=london"), 400, "invalid_parameter"},
			{"bad encoding", withQuery(all, "q=%zz"), 400, "invalid_parameter"},
			{"unknown route", httpapi.Request{RouteKey: "DELETE /directory/organisations/{id}"}, 404, "not_found"},
		} {
			resp := serve(t, api, tc.req)
			var e errorBody
			if resp.StatusCode != tc.status || json.Unmarshal([]byte(resp.Body), &e) != nil || e.Error.Code != tc.code || e.Error.Message == "" {
				t.Errorf("%s: %d %s; want %d with code %s", tc.name, resp.StatusCode, resp.Body, tc.status, tc.code)
			}
		}

		// A new version is seen by the next request of a warm instance.
		directoryapi.Publish(t, st, "v2", seed.Synthetic(7), time.Now().Add(time.Minute))
		resp = serve(t, api, all)
		if json.Unmarshal([]byte(resp.Body), &res) != nil || res.Total != 7 {
			t.Fatalf("search after a new version = %s; want 7 organisations", resp.Body)
		}
	})
}

func withQuery(req httpapi.Request, raw string) httpapi.Request {
	req.RawQueryString = raw
	return req
}

// TestIncompleteSnapshotIsNotServed: an index is only built from a complete snapshot; a
// partial one is an internal error, retried on the next request, not a smaller directory.
func TestIncompleteSnapshotIsNotServed(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		st := dynamo.New(db, table)
		api := directoryapi.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		orgs, _, _ := directory.ParseCSV(bytes.NewReader(seed.Synthetic(3)))
		ctx := context.Background()
		at := time.Now()
		if err := st.WriteDirectoryVersion(ctx, "partial", orgs, at); err != nil {
			t.Fatal(err)
		}
		rep := imports.Report{Record: imports.Record{ID: "partial", Status: imports.Processing, ReceivedAt: at, UploadedAt: at, RequestID: "req-partial"}}
		if _, ok, err := st.BeginImport(ctx, rep, at.Add(time.Hour), at); err != nil || !ok {
			t.Fatalf("BeginImport = %v, %v", ok, err)
		}
		rep.Status = imports.Published
		if _, err := st.PublishDirectory(ctx, directory.Published{Version: "partial", Count: 5, UploadedAt: at}, rep); err != nil {
			t.Fatal(err)
		}
		search := loadEvent(t, "directory-search.json")
		if resp := serve(t, api, search); resp.StatusCode != 500 {
			t.Fatalf("search over a snapshot of 3 of 5 organisations = %d %s; want 500", resp.StatusCode, resp.Body)
		}
		directoryapi.Publish(t, st, "whole", seed.Synthetic(4), at.Add(time.Minute))
		all := withQuery(search, "")
		var res directory.Result
		if resp := serve(t, api, all); resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &res) != nil || res.Total != 4 {
			t.Fatalf("search after a complete version = %d %s; want 4 organisations", resp.StatusCode, resp.Body)
		}
	})
}

// TestWarmSearchReads checks the design's promise: a warm search makes the same number of
// DynamoDB requests (one) whatever the size of the directory; an organisation's page makes
// two (the pointer, and the case studies' revision).
func TestWarmSearchReads(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		var calls atomic.Int64
		st := dynamo.New(countingClient(db, &calls), table)
		api := directoryapi.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		search := loadEvent(t, "directory-search.json")
		get := loadEvent(t, "directory-get.json")

		for i, n := range []int{100, 2000} {
			orgs := directoryapi.Publish(t, st, "v"+string(rune('a'+i)), seed.Synthetic(n), time.Now().Add(time.Duration(i)*time.Minute))
			get.PathParameters = map[string]string{"id": orgs[n/2].ID}
			serve(t, api, search) // cold: loads the index
			serve(t, api, get)    // and the case studies' links
			for _, req := range []httpapi.Request{search, withQuery(search, "q=support&per_page=5"), get} {
				calls.Store(0)
				resp := serve(t, api, req)
				if resp.StatusCode != 200 {
					t.Fatalf("%s?%s = %d %s", req.RouteKey, req.RawQueryString, resp.StatusCode, resp.Body)
				}
				want := int64(1)
				if req.RouteKey == get.RouteKey {
					want = 2
				}
				if got := calls.Load(); got != want {
					t.Errorf("at %d organisations, warm %s?%s made %d DynamoDB requests; want %d", n, req.RouteKey, req.RawQueryString, got, want)
				}
			}
		}
	})
}

// TestOrganisationCaseStudies: an organisation's page lists the published case studies about
// it, newest first, and an empty list when there are none.
func TestOrganisationCaseStudies(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		api := directoryapi.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		get := loadEvent(t, "directory-get.json")
		id := get.PathParameters["id"]
		at := time.Now()
		directoryapi.Publish(t, st, "v1", seed.DirectoryCSV, at)

		page := func() (map[string]json.RawMessage, []casestudy.Ref) {
			t.Helper()
			resp := serve(t, api, get)
			var fields map[string]json.RawMessage
			if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &fields) != nil {
				t.Fatalf("get = %d %s; want 200 with an object", resp.StatusCode, resp.Body)
			}
			var refs []casestudy.Ref
			if err := json.Unmarshal(fields["case_studies"], &refs); err != nil || refs == nil {
				t.Fatalf("get = %s; want case_studies as a list: %v", resp.Body, err)
			}
			return fields, refs
		}
		fields, refs := page()
		if len(refs) != 0 || string(fields["id"]) != fmt.Sprintf("%q", id) || fields["name"] == nil {
			t.Fatalf("organisation page before any case study = %v; want the organisation and case_studies []", fields)
		}

		for i, cs := range []struct{ slug, title, published, org string }{
			{"older-story", "An older story", "2026-01-10", id},
			{"newer-story", "A newer story", "2026-10-14", id},
			{"elsewhere", "About someone else", "2026-11-01", "someone-else"},
		} {
			d := casestudy.Document{CaseStudy: casestudy.CaseStudy{Summary: casestudy.Summary{
				Slug: cs.slug, Title: cs.title, Summary: "A summary", Published: cs.published, Themes: []string{"peer-support"},
				Organisation: &casestudy.Organisation{ID: cs.org, Name: "Org"}, ReadingMinutes: 1,
			}, HTML: "<p>Story</p>"}, Text: "Story"}
			rep := imports.Report{Record: imports.Record{ID: fmt.Sprintf("cs%d", i), Kind: "case-study", Status: imports.Processing,
				ReceivedAt: at, UploadedAt: at, RequestID: fmt.Sprintf("req-cs%d", i)}}
			if _, ok, err := st.BeginImport(ctx, rep, at.Add(time.Hour), at); err != nil || !ok {
				t.Fatalf("BeginImport = %v, %v", ok, err)
			}
			rep.Status = imports.Published
			if ok, err := st.PublishCaseStudy(ctx, d, at.Add(time.Duration(i)*time.Second), rep); err != nil || !ok {
				t.Fatalf("PublishCaseStudy(%s) = %v, %v", cs.slug, ok, err)
			}
		}
		_, refs = page()
		want := []casestudy.Ref{{Slug: "newer-story", Title: "A newer story"}, {Slug: "older-story", Title: "An older story"}}
		if !reflect.DeepEqual(refs, want) {
			t.Fatalf("case_studies = %+v; want %+v", refs, want)
		}
	})
}
