package directoryapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/seed"
	"sectorhub/infra/testenv"
	"sectorhub/shared/directory"
	"sectorhub/shared/directoryapi"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/httpapi"
)

// TestStatsRoute: GET /directory/stats answers from the published directory, agrees with
// search for the same filters, caches as search does, and refuses what search refuses.
func TestStatsRoute(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		var calls atomic.Int64
		st := dynamo.New(countingClient(db, &calls), table)
		api := directoryapi.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		sample := loadEvent(t, "directory-stats.json")
		search := loadEvent(t, "directory-search.json")

		// Before anything is published: zeros for every region, not an error.
		got := getJSON[directory.Stats](t, api, withQuery(sample, ""))
		if got.Organisations != 0 || len(got.ByRegion) != len(directory.Regions.Terms) {
			t.Fatalf("stats before publishing = %+v; want 0 organisations and every region", got)
		}

		directoryapi.Publish(t, st, "v1", seed.DirectoryCSV, time.Now())
		for _, raw := range []string{
			sample.RawQueryString,
			"",
			"q=housing",
			"area=mentoring&region=wales",
			"region=north-west,london&setting=prison",
			"client_group=women&lived_experience=yes",
			"q=support+&lived_experience=no&area=Mental+health",
		} {
			got := getJSON[directory.Stats](t, api, withQuery(sample, raw))
			res := getJSON[directory.Result](t, api, withQuery(search, raw))
			if got.Organisations != res.Total {
				t.Errorf("stats?%s organisations = %d; search total %d", raw, got.Organisations, res.Total)
			}
			for r, fig := range got.ByRegion {
				if fig.Organisations != res.Facets["region"][r] {
					t.Errorf("stats?%s by_region[%s] = %d organisations; search region facet %d", raw, r, fig.Organisations, res.Facets["region"][r])
				}
			}
		}
		if got := getJSON[directory.Stats](t, api, withQuery(sample, "")); got.Organisations == 0 || got.LivedExperience.Count == 0 || got.LivedExperienceBoard.Count == 0 {
			t.Errorf("stats of the seed directory = %+v; want organisations with lived experience, and on boards", got.Figures)
		}

		// Caching as search: ETag, Cache-Control, 304; and one DynamoDB request when warm.
		calls.Store(0)
		resp := serve(t, api, sample)
		if calls.Load() != 1 {
			t.Errorf("warm stats made %d DynamoDB requests; want 1", calls.Load())
		}
		if resp.StatusCode != 200 || resp.Headers["ETag"] == "" || resp.Headers["Cache-Control"] != "public, max-age=60" {
			t.Fatalf("stats = %d %v; want 200 with ETag and Cache-Control as search", resp.StatusCode, resp.Headers)
		}
		cond := sample
		cond.Headers = map[string]string{"if-none-match": resp.Headers["ETag"]}
		if r := serve(t, api, cond); r.StatusCode != 304 || r.Body != "" {
			t.Errorf("stats with If-None-Match = %d %q; want 304 without body", r.StatusCode, r.Body)
		}

		for _, tc := range []struct {
			name string
			raw  string
		}{
			{"unknown parameter", "regoin=wales"},
			{"unknown region", "region=mars"},
			{"unknown area", "area=knitting"},
			{"page", "page=2"},
			{"per_page", "per_page=50"},
			{"bad lived_experience", "lived_experience=maybe"},
			{"bad encoding", "q=%zz"},
		} {
			resp := serve(t, api, withQuery(sample, tc.raw))
			var e errorBody
			if resp.StatusCode != 400 || json.Unmarshal([]byte(resp.Body), &e) != nil || e.Error.Code != "invalid_parameter" || e.Error.Message == "" {
				t.Errorf("%s: stats?%s = %d %s; want 400 with code invalid_parameter", tc.name, tc.raw, resp.StatusCode, resp.Body)
			}
		}

		// A new version is counted by the next request of a warm instance.
		directoryapi.Publish(t, st, "v2", seed.Synthetic(9), time.Now().Add(time.Minute))
		if got := getJSON[directory.Stats](t, api, withQuery(sample, "")); got.Organisations != 9 {
			t.Errorf("stats after a new version of 9 organisations = %d organisations", got.Organisations)
		}
	})
}

// getJSON serves req and decodes its 200 response as a T.
func getJSON[T any](t *testing.T, api *httpapi.Router, req httpapi.Request) T {
	t.Helper()
	resp := serve(t, api, req)
	var v T
	if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &v) != nil {
		t.Fatalf("%s?%s = %d %s; want 200", req.RouteKey, req.RawQueryString, resp.StatusCode, resp.Body)
	}
	return v
}
