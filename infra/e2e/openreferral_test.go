package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"sectorhub/infra/localstack"
	"sectorhub/infra/orukcheck"
	"sectorhub/infra/seed"
	"sectorhub/shared/directory"
	"sectorhub/shared/openreferral"
)

// orukPage is the profile's page envelope with its items left encoded.
type orukPage struct {
	TotalItems int               `json:"total_items"`
	TotalPages int               `json:"total_pages"`
	PageNumber int               `json:"page_number"`
	Size       int               `json:"size"`
	LastPage   bool              `json:"last_page"`
	Contents   []json.RawMessage `json:"contents"`
}

// orukGet gets path (under /openreferral) as a consumer would, wants a 200 that validates
// against the schemas of routeKey, and returns the body.
func orukGet(t *testing.T, st *localstack.Stack, schemas *orukcheck.Schemas, routeKey, path string) []byte {
	t.Helper()
	status, h, body := get(t, st.URL()+"/openreferral"+path, nil)
	if status != http.StatusOK || h.Get("ETag") == "" || h.Get("Cache-Control") == "" {
		t.Fatalf("GET /openreferral%s = %d %v %s; want 200 with ETag and Cache-Control", path, status, h, body)
	}
	schemas.Check(t, routeKey, body)
	return body
}

// orukList gets every page of a list route and returns every item's id, checking each page's
// envelope against the total.
func orukList(t *testing.T, st *localstack.Stack, schemas *orukcheck.Schemas, routeKey, path, query string) []string {
	t.Helper()
	var ids []string
	for page := 1; ; page++ {
		q := query + "&per_page=10&page=" + itoa(page)
		var p orukPage
		if err := json.Unmarshal(orukGet(t, st, schemas, routeKey, path+"?"+q), &p); err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Contents {
			var item struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(c, &item); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, item.ID)
		}
		if p.PageNumber != page || p.Size != len(p.Contents) {
			t.Fatalf("%s?%s: page_number %d, size %d, %d items", path, q, p.PageNumber, p.Size, len(p.Contents))
		}
		if p.LastPage {
			if len(ids) != p.TotalItems || p.TotalPages != page {
				t.Fatalf("%s?%s: %d items over %d pages; envelope says %d in %d", path, query, len(ids), page, p.TotalItems, p.TotalPages)
			}
			return ids
		}
		if page > 1000 {
			t.Fatalf("%s?%s: no last page", path, query)
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// TestOpenReferralEndToEnd reads the seeded directory through the Open Referral UK feed as a
// consumer would, every response checked against the profile's schemas.
func TestOpenReferralEndToEnd(t *testing.T) {
	schemas := orukcheck.Load(t)
	sample, _, err := directory.ParseCSV(bytes.NewReader(seed.DirectoryCSV))
	if err != nil {
		t.Fatal(err)
	}
	for name, endpoint := range targets(t) {
		t.Run(name, func(t *testing.T) {
			st := startStack(t, endpoint)

			t.Run("root", func(t *testing.T) {
				var root openreferral.Root
				if err := json.Unmarshal(orukGet(t, st, schemas, "GET /openreferral", ""), &root); err != nil || root.Version != "3.0" || root.OpenAPIURL == "" {
					t.Fatalf("root = %+v, %v; want version 3.0 with openapi_url", root, err)
				}
				// HTTP API routes no path ending in "/" to a route without it; nor does the
				// local gateway.
				if status, _, body := get(t, st.URL()+"/openreferral/", nil); status != http.StatusNotFound {
					t.Errorf("GET /openreferral/ = %d %s; want the gateway's 404", status, body)
				}
			})

			t.Run("taxonomies and terms", func(t *testing.T) {
				taxonomies := orukList(t, st, schemas, "GET /openreferral/taxonomies", "/taxonomies", "")
				if len(taxonomies) != 3 {
					t.Fatalf("%d taxonomies; want 3 (areas of work, client groups, settings)", len(taxonomies))
				}
				terms := 0
				for _, id := range taxonomies {
					var tx openreferral.Taxonomy
					if err := json.Unmarshal(orukGet(t, st, schemas, "GET /openreferral/taxonomies/{id}", "/taxonomies/"+id), &tx); err != nil {
						t.Fatal(err)
					}
					ids := orukList(t, st, schemas, "GET /openreferral/taxonomy_terms", "/taxonomy_terms", "taxonomy_id="+id)
					if len(ids) != len(tx.TaxonomyTerms) {
						t.Errorf("taxonomy %s: %d terms listed; the taxonomy has %d", tx.Name, len(ids), len(tx.TaxonomyTerms))
					}
					for _, tid := range ids {
						orukGet(t, st, schemas, "GET /openreferral/taxonomy_terms/{id}", "/taxonomy_terms/"+tid)
					}
					terms += len(ids)
				}
				if all := orukList(t, st, schemas, "GET /openreferral/taxonomy_terms", "/taxonomy_terms", ""); len(all) != terms {
					t.Errorf("%d terms in all; the taxonomies have %d", len(all), terms)
				}
			})

			t.Run("every service", func(t *testing.T) {
				ids := orukList(t, st, schemas, "GET /openreferral/services", "/services", "")
				if len(ids) != len(sample) {
					t.Fatalf("%d services; want one per seeded organisation (%d)", len(ids), len(sample))
				}
				want := map[string]bool{}
				for _, o := range sample {
					want[openreferral.ServiceID(o.ID)] = true
				}
				for _, id := range ids {
					if !want[id] {
						t.Errorf("service %s is no seeded organisation's", id)
					}
					orukGet(t, st, schemas, "GET /openreferral/services/{id}", "/services/"+id)
				}
			})

			t.Run("search agrees with the directory", func(t *testing.T) {
				mentoring := openreferral.TaxonomyTermID(directory.Areas.Column, "mentoring")
				for _, tc := range []struct{ name, oruk, dir string }{
					{"one word", "search=housing", "q=housing"},
					{"two words", "search=mentoring+prison", "q=mentoring+prison"},
					{"prefix", "search=wom", "q=wom"},
					{"typo", "search=acommodation", "q=acommodation"},
					{"no match", "search=zzzzzz", "q=zzzzzz"},
					{"words and a term", "search=support&taxonomy_term_id=" + mentoring, "q=support&area=mentoring"},
				} {
					var p orukPage
					if err := json.Unmarshal(orukGet(t, st, schemas, "GET /openreferral/services", "/services?"+tc.oruk), &p); err != nil {
						t.Fatal(err)
					}
					if res := search(t, st, tc.dir); p.TotalItems != res.Total {
						t.Errorf("%s: services ?%s total %d; /directory/organisations ?%s total %d", tc.name, tc.oruk, p.TotalItems, tc.dir, res.Total)
					}
				}
			})

			t.Run("errors and caching", func(t *testing.T) {
				for _, tc := range []struct {
					name, path string
					status     int
				}{
					{"unknown service", "/services/" + openreferral.ServiceID("no-such-organisation"), 404},
					{"directory id for a service", "/services/" + url.PathEscape(sample[0].ID), 404},
					{"unknown taxonomy", "/taxonomies/" + openreferral.TaxonomyID("regions"), 404},
					{"unknown term", "/taxonomy_terms/" + openreferral.ServiceID("x"), 404},
					{"per_page too large", "/services?per_page=500", 400},
					{"unknown parameter", "/services?q=housing", 400},
					{"unknown term filter", "/services?taxonomy_term_id=mentoring", 400},
				} {
					status, _, body := get(t, st.URL()+"/openreferral"+tc.path, nil)
					var e struct {
						Error struct{ Code, Message string } `json:"error"`
					}
					if status != tc.status || json.Unmarshal(body, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
						t.Errorf("%s: GET /openreferral%s = %d %s; want %d in the one error shape", tc.name, tc.path, status, body, tc.status)
					}
				}
				_, h, _ := get(t, st.URL()+"/openreferral/services?per_page=5", nil)
				status, _, body := get(t, st.URL()+"/openreferral/services?per_page=5", http.Header{"If-None-Match": {h.Get("ETag")}})
				if status != http.StatusNotModified || len(body) != 0 {
					t.Errorf("services with If-None-Match = %d %q; want 304 without body", status, body)
				}
			})
		})
	}
}
