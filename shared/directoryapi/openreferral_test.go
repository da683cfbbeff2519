package directoryapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/orukcheck"
	"sectorhub/infra/seed"
	"sectorhub/infra/testenv"
	"sectorhub/shared/directory"
	"sectorhub/shared/directoryapi"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/httpapi"
	"sectorhub/shared/openreferral"
)

// TestOpenReferralRoutes drives every feed route from its sample event over a published
// directory: every 200 validates against the profile's schemas; errors are in the one shape;
// conditional GET works; search totals are directory search's.
func TestOpenReferralRoutes(t *testing.T) {
	schemas := orukcheck.Load(t)
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		st := dynamo.New(db, table)
		api := directoryapi.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		services := loadEvent(t, "openreferral-services.json")

		// Before anything is published: an empty list, not an error.
		resp := serve(t, api, services)
		if resp.StatusCode != 200 {
			t.Fatalf("services before publishing = %d %s; want 200", resp.StatusCode, resp.Body)
		}
		schemas.Check(t, services.RouteKey, []byte(resp.Body))

		directoryapi.Publish(t, st, "v1", seed.DirectoryCSV, time.Now())
		for _, file := range []string{
			"openreferral-root.json", "openreferral-services.json", "openreferral-service.json",
			"openreferral-taxonomies.json", "openreferral-taxonomy.json", "openreferral-taxonomy-terms.json", "openreferral-taxonomy-term.json",
		} {
			req := loadEvent(t, file)
			resp := serve(t, api, req)
			if resp.StatusCode != 200 || resp.Headers["ETag"] == "" || resp.Headers["Cache-Control"] == "" {
				t.Errorf("%s = %d %v %s; want 200 with ETag and Cache-Control", file, resp.StatusCode, resp.Headers, resp.Body)
				continue
			}
			schemas.Check(t, req.RouteKey, []byte(resp.Body))
			cond := req
			cond.Headers = map[string]string{"if-none-match": resp.Headers["ETag"]}
			if r := serve(t, api, cond); r.StatusCode != 304 || r.Body != "" {
				t.Errorf("%s with If-None-Match = %d %q; want 304 without body", file, r.StatusCode, r.Body)
			}
		}

		all := withQuery(services, "")
		for _, tc := range []struct {
			name   string
			req    httpapi.Request
			status int
			code   string
		}{
			{"bad per_page", loadEvent(t, "openreferral-services-bad.json"), 400, "invalid_parameter"},
			{"missing service", loadEvent(t, "openreferral-service-missing.json"), 404, "not_found"},
			{"service by directory id", withID(loadEvent(t, "openreferral-service.json"), "brum-bridge-project"), 404, "not_found"},
			{"missing taxonomy", withID(loadEvent(t, "openreferral-taxonomy.json"), openreferral.TaxonomyID("regions")), 404, "not_found"},
			{"missing term", withID(loadEvent(t, "openreferral-taxonomy-term.json"), "not-a-uuid"), 404, "not_found"},
			{"unknown term filter", withQuery(all, "taxonomy_term_id="+openreferral.ServiceID("x")), 400, "invalid_parameter"},
			{"directory's q", withQuery(all, "q=housing"), 400, "invalid_parameter"},
			{"unsupported parameter", withQuery(all, "postcode=M1+1AA"), 400, "invalid_parameter"},
			{"root with parameters", withQuery(loadEvent(t, "openreferral-root.json"), "page=1"), 400, "invalid_parameter"},
			{"bad encoding", withQuery(all, "search=%zz"), 400, "invalid_parameter"},
		} {
			resp := serve(t, api, tc.req)
			var e errorBody
			if resp.StatusCode != tc.status || json.Unmarshal([]byte(resp.Body), &e) != nil || e.Error.Code != tc.code || e.Error.Message == "" {
				t.Errorf("%s: %d %s; want %d with code %s", tc.name, resp.StatusCode, resp.Body, tc.status, tc.code)
			}
		}

		for _, words := range []string{"housing", "mentoring prison", "women", "zzzzzz"} {
			q := "search=" + strings.ReplaceAll(words, " ", "+")
			var page struct {
				TotalItems int `json:"total_items"`
			}
			resp := serve(t, api, withQuery(all, q))
			var res directory.Result
			dir := serve(t, api, withQuery(loadEvent(t, "directory-search.json"), "q="+strings.ReplaceAll(words, " ", "+")))
			if json.Unmarshal([]byte(resp.Body), &page) != nil || json.Unmarshal([]byte(dir.Body), &res) != nil || page.TotalItems != res.Total {
				t.Errorf("services ?%s total = %d; directory search total = %d", q, page.TotalItems, res.Total)
			}
			schemas.Check(t, services.RouteKey, []byte(resp.Body))
		}

		// A new version is seen by the next request of a warm instance.
		directoryapi.Publish(t, st, "v2", seed.Synthetic(7), time.Now().Add(time.Minute))
		var page struct {
			TotalItems int `json:"total_items"`
		}
		if resp := serve(t, api, all); json.Unmarshal([]byte(resp.Body), &page) != nil || page.TotalItems != 7 {
			t.Fatalf("services after a new version = %s; want 7", resp.Body)
		}
	})
}

func withID(req httpapi.Request, id string) httpapi.Request {
	req.PathParameters = map[string]string{"id": id}
	return req
}

// TestOpenReferralWarmReads: a warm services list or service costs one DynamoDB request (the
// published pointer), like search; the taxonomies read nothing.
func TestOpenReferralWarmReads(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		var calls atomic.Int64
		st := dynamo.New(countingClient(db, &calls), table)
		api := directoryapi.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		directoryapi.Publish(t, st, "v1", seed.Synthetic(500), time.Now())
		services := loadEvent(t, "openreferral-services.json")
		serve(t, api, services) // cold: loads the index
		for _, tc := range []struct {
			name string
			req  httpapi.Request
			want int64
		}{
			{"services", withQuery(services, "per_page=50"), 1},
			{"services by organization", withQuery(services, "organization_id="+openreferral.OrganizationID("no-such")), 1},
			{"service", loadEvent(t, "openreferral-service.json"), 1},
			{"taxonomies", loadEvent(t, "openreferral-taxonomies.json"), 0},
			{"terms", loadEvent(t, "openreferral-taxonomy-terms.json"), 0},
			{"term", loadEvent(t, "openreferral-taxonomy-term.json"), 0},
		} {
			calls.Store(0)
			resp := serve(t, api, tc.req)
			if resp.StatusCode >= 500 {
				t.Errorf("%s = %d %s", tc.name, resp.StatusCode, resp.Body)
			}
			if got := calls.Load(); got != tc.want {
				t.Errorf("warm %s made %d DynamoDB requests; want %d", tc.name, got, tc.want)
			}
		}
	})
}
