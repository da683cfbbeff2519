package openreferral_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"testing"

	"sectorhub/infra/seed"
	"sectorhub/shared/directory"
	"sectorhub/shared/openreferral"
)

// sampleOrgs parses the seed directory.
func sampleOrgs(tb testing.TB) []directory.Organisation {
	tb.Helper()
	orgs, problems, err := directory.ParseCSV(bytes.NewReader(seed.DirectoryCSV))
	if err != nil || len(problems) > 0 {
		tb.Fatalf("ParseCSV(seed) = %v, %v", problems, err)
	}
	return orgs
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustParse(tb testing.TB, raw string) url.Values {
	tb.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

var uuidV5 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestIDsAreStable: consumers store the ids, so these values must never change. The wanted
// values were computed independently (Python's uuid.uuid5 under the same namespace and names).
func TestIDsAreStable(t *testing.T) {
	for _, tc := range []struct {
		name, got, want string
	}{
		{"organization", openreferral.OrganizationID("quillfeather-resettlement"), "e8b70fb7-879d-55ed-9469-07eb842e36af"},
		{"service", openreferral.ServiceID("quillfeather-resettlement"), "c7d9c34c-aa90-5283-86d8-73134c80a729"},
		{"taxonomy", openreferral.TaxonomyID(directory.Areas.Column), "2bce3f02-de1d-5df8-a3d8-7914fafa6068"},
		{"term", openreferral.TaxonomyTermID(directory.Areas.Column, "mentoring"), "4fa21b16-8c84-5a22-b36f-f833e2a08e11"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s id = %s; want %s", tc.name, tc.got, tc.want)
		}
	}
}

// TestIDsAreDistinct: ids are canonical UUID v5, and things of different kinds, or made from
// different directory ids, never share one.
func TestIDsAreDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, tc := range []struct{ name, id string }{
		{"organization abc", openreferral.OrganizationID("abc")},
		{"service abc", openreferral.ServiceID("abc")},
		{"taxonomy abc", openreferral.TaxonomyID("abc")},
		{"term abc/x", openreferral.TaxonomyTermID("abc", "x")},
		{"organization abd", openreferral.OrganizationID("abd")},
		{"organization ABC", openreferral.OrganizationID("ABC")},
	} {
		if !uuidV5.MatchString(tc.id) {
			t.Errorf("%s: id %q is not a canonical UUID v5", tc.name, tc.id)
		}
		if other, ok := seen[tc.id]; ok {
			t.Errorf("%s and %s share the id %s", tc.name, other, tc.id)
		}
		seen[tc.id] = tc.name
	}
}

// TestServiceOf checks the mapping of one organisation field by field.
func TestServiceOf(t *testing.T) {
	o := directory.Organisation{
		ID: "acme", Name: "Acme Mentoring", Summary: "Mentors for women leaving prison.", Description: "Longer text.",
		AreasOfWork: []string{"mentoring"}, ClientGroups: []string{"women"}, Regions: []string{"north-west", "wales"},
		Settings: []string{"prison", "through-the-gate"}, Website: "https://acme.example.org", Email: "info@acme.example.org", Phone: "0161 496 0000",
	}
	s := openreferral.ServiceOf(o)
	sid := openreferral.ServiceID("acme")
	for _, tc := range []struct{ name, got, want string }{
		{"id", s.ID, sid},
		{"organization_id", s.OrganizationID, openreferral.OrganizationID("acme")},
		{"organization.id", s.Organization.ID, openreferral.OrganizationID("acme")},
		{"name", s.Name, "Acme Mentoring"},
		{"description", s.Description, "Longer text."},
		{"organization.description", s.Organization.Description, "Mentors for women leaving prison."},
		{"url", s.URL, "https://acme.example.org"},
		{"email", s.Email, "info@acme.example.org"},
		{"organization.website", s.Organization.Website, "https://acme.example.org"},
		{"status", s.Status, "active"},
	} {
		if tc.got != tc.want {
			t.Errorf("ServiceOf(acme).%s = %q; want %q", tc.name, tc.got, tc.want)
		}
	}
	var terms []string
	for _, a := range s.Attributes {
		if a.LinkID != sid || a.TaxonomyTermID != a.TaxonomyTerm.ID {
			t.Errorf("attribute %+v does not link the service to its term", a)
		}
		terms = append(terms, a.TaxonomyTerm.Name)
	}
	if got, want := terms, []string{"Mentoring", "Women", "Prison", "Through the gate"}; !slices.Equal(got, want) {
		t.Errorf("attribute terms = %q; want %q", got, want)
	}
	var areas []string
	for _, a := range s.ServiceAreas {
		areas = append(areas, a.Name)
	}
	if got, want := areas, []string{"North West", "Wales"}; !slices.Equal(got, want) {
		t.Errorf("service areas = %q; want %q", got, want)
	}
	if len(s.Phones) != 1 || s.Phones[0].Number != "0161 496 0000" {
		t.Errorf("phones = %+v; want one with 0161 496 0000", s.Phones)
	}

	// Without a description, website, email or phone: the summary describes the service, and
	// the empty fields are left out rather than sent empty (an empty url is no URI).
	bare := openreferral.ServiceOf(directory.Organisation{ID: "b", Name: "B", Summary: "Sum.", Regions: []string{"national"}})
	b := string(mustJSON(t, bare))
	if bare.Description != "Sum." {
		t.Errorf("description without one = %q; want the summary", bare.Description)
	}
	for _, field := range []string{`"url"`, `"email"`, `"website"`} {
		if bytes.Contains([]byte(b), []byte(field)) {
			t.Errorf("service without %s encodes it: %s", field, b)
		}
	}
	for _, field := range []string{`"attributes":[]`, `"phones":[]`} {
		if !bytes.Contains([]byte(b), []byte(field)) {
			t.Errorf("service without terms or phone lacks %s: %s", field, b)
		}
	}
}
