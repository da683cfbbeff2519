package openreferral_test

import (
	"strings"
	"testing"

	"sectorhub/infra/orukcheck"
	"sectorhub/infra/seed"
	"sectorhub/shared/directory"
	"sectorhub/shared/openreferral"
)

// TestResponsesValidate checks every kind of response the feed makes, over the seed directory
// and a synthetic one, against the profile's schemas and OpenAPI document.
func TestResponsesValidate(t *testing.T) {
	schemas := orukcheck.Load(t)
	orgs := sampleOrgs(t)
	synthetic, _, err := directory.ParseCSV(strings.NewReader(string(seed.Synthetic(300))))
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []struct {
		name string
		orgs []directory.Organisation
	}{{"seed", orgs}, {"synthetic", synthetic}} {
		t.Run(set.name, func(t *testing.T) {
			feed := openreferral.NewFeed(directory.NewIndex(set.orgs))
			for _, o := range set.orgs {
				s, ok := feed.Service(openreferral.ServiceID(o.ID))
				if !ok {
					t.Fatalf("Service(%s) not found", o.ID)
				}
				schemas.Check(t, "GET /openreferral/services/{id}", mustJSON(t, s))
			}
			for _, raw := range []string{"", "per_page=100", "page=2&per_page=7", "search=housing", "search=mentoring+prison", "page=10000"} {
				q, err := openreferral.ParseServicesQuery(mustParse(t, raw))
				if err != nil {
					t.Fatalf("ParseServicesQuery(%q): %v", raw, err)
				}
				schemas.Check(t, "GET /openreferral/services", feed.Services(q).AppendJSON(nil))
			}
		})
	}
	schemas.Check(t, "GET /openreferral", mustJSON(t, openreferral.RootDocument()))
	for _, raw := range []string{"", "per_page=1&page=2", "page=9"} {
		q, err := openreferral.ParsePageQuery(mustParse(t, raw))
		if err != nil {
			t.Fatal(err)
		}
		schemas.Check(t, "GET /openreferral/taxonomies", openreferral.Taxonomies(q).AppendJSON(nil))
		tq, err := openreferral.ParseTermsQuery(mustParse(t, raw))
		if err != nil {
			t.Fatal(err)
		}
		schemas.Check(t, "GET /openreferral/taxonomy_terms", openreferral.TaxonomyTerms(tq).AppendJSON(nil))
	}
	for _, l := range []directory.List{directory.Areas, directory.ClientGroups, directory.Settings} {
		tx, ok := openreferral.TaxonomyByID(openreferral.TaxonomyID(l.Column))
		if !ok || len(tx.TaxonomyTerms) != len(l.Terms) {
			t.Fatalf("TaxonomyByID(%s) = %d terms, %v; want %d", l.Column, len(tx.TaxonomyTerms), ok, len(l.Terms))
		}
		schemas.Check(t, "GET /openreferral/taxonomies/{id}", mustJSON(t, tx))
		for _, term := range l.Terms {
			tt, ok := openreferral.TaxonomyTermByID(openreferral.TaxonomyTermID(l.Column, term.Slug))
			if !ok {
				t.Fatalf("TaxonomyTermByID(%s/%s) not found", l.Column, term.Slug)
			}
			schemas.Check(t, "GET /openreferral/taxonomy_terms/{id}", mustJSON(t, tt))
		}
	}
}

// TestSchemasCanFail proves the check is not vacuous: responses broken the ways a mapping could
// break them are rejected.
func TestSchemasCanFail(t *testing.T) {
	schemas := orukcheck.Load(t)
	good := openreferral.ServiceOf(sampleOrgs(t)[0])
	for _, tc := range []struct {
		name, route, body string
	}{
		{"service id not a UUID", "GET /openreferral/services/{id}", `{"id":"acme","name":"A","status":"active"}`},
		{"service without a name", "GET /openreferral/services/{id}", `{"id":"` + good.ID + `","status":"active"}`},
		{"unknown status", "GET /openreferral/services/{id}", `{"id":"` + good.ID + `","name":"A","status":"open"}`},
		{"empty url", "GET /openreferral/services/{id}", `{"id":"` + good.ID + `","name":"A","status":"active","url":""}`},
		{"bad email", "GET /openreferral/services/{id}", `{"id":"` + good.ID + `","name":"A","status":"active","email":"not an address"}`},
		{"organization without description", "GET /openreferral/services/{id}", `{"id":"` + good.ID + `","name":"A","status":"active","organization":{"id":"` + good.ID + `","name":"O"}}`},
		{"attribute term without name", "GET /openreferral/services/{id}", `{"id":"` + good.ID + `","name":"A","status":"active","attributes":[{"id":"` + good.ID + `","taxonomy_term":{"id":"` + good.ID + `","description":"d"}}]}`},
		{"list item without status", "GET /openreferral/services", `{"total_items":1,"total_pages":1,"page_number":1,"size":1,"first_page":true,"last_page":true,"empty":false,"contents":[{"id":"` + good.ID + `","name":"A"}]}`},
		{"page number as text", "GET /openreferral/services", `{"total_items":0,"total_pages":0,"page_number":"1","size":0,"first_page":true,"last_page":true,"empty":true,"contents":[]}`},
		{"envelope without empty", "GET /openreferral/services", `{"total_items":0,"total_pages":0,"page_number":1,"size":0,"first_page":true,"last_page":true,"contents":[]}`},
		{"size disagrees", "GET /openreferral/taxonomies", `{"total_items":0,"total_pages":0,"page_number":1,"size":3,"first_page":true,"last_page":true,"empty":true,"contents":[]}`},
		{"taxonomy without description", "GET /openreferral/taxonomies/{id}", `{"id":"` + good.ID + `","name":"T"}`},
		{"term id not a UUID", "GET /openreferral/taxonomy_terms/{id}", `{"id":"x","name":"T","description":"d"}`},
		{"root profile not a URI", "GET /openreferral", `{"version":"3.0","profile":"not a uri","openapi_url":"https://example.org/"}`},
	} {
		if problems := schemas.Validate(tc.route, []byte(tc.body)); len(problems) == 0 {
			t.Errorf("%s: Validate(%s) passed; want a schema error", tc.name, tc.body)
		}
	}
}
