package openreferral_test

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"

	"sectorhub/shared/directory"
	"sectorhub/shared/openreferral"
)

type page struct {
	TotalItems int                           `json:"total_items"`
	TotalPages int                           `json:"total_pages"`
	PageNumber int                           `json:"page_number"`
	Size       int                           `json:"size"`
	FirstPage  bool                          `json:"first_page"`
	LastPage   bool                          `json:"last_page"`
	Empty      bool                          `json:"empty"`
	Contents   []openreferral.ServiceSummary `json:"contents"`
}

func services(t *testing.T, feed *openreferral.Feed, raw string) page {
	t.Helper()
	q, err := openreferral.ParseServicesQuery(mustParse(t, raw))
	if err != nil {
		t.Fatalf("ParseServicesQuery(%q): %v", raw, err)
	}
	var p page
	if err := json.Unmarshal(feed.Services(q).AppendJSON(nil), &p); err != nil {
		t.Fatalf("Services(%q): %v", raw, err)
	}
	return p
}

// TestServicesAgreeWithSearch: the feed lists exactly what directory search finds for the same
// words and terms, in the same order.
func TestServicesAgreeWithSearch(t *testing.T) {
	orgs := sampleOrgs(t)
	ix := directory.NewIndex(orgs)
	feed := openreferral.NewFeed(ix)
	mentoring := openreferral.TaxonomyTermID(directory.Areas.Column, "mentoring")
	settings := openreferral.TaxonomyID(directory.Settings.Column)
	for _, tc := range []struct{ name, oruk, dir string }{
		{"everything", "per_page=100", "per_page=100"},
		{"words", "search=housing+support&per_page=100", "q=housing+support&per_page=100"},
		{"prefix and typo", "search=acommodation+hou", "q=acommodation+hou"},
		{"term", "taxonomy_term_id=" + mentoring, "area=mentoring"},
		{"taxonomy", "taxonomy_id=" + settings + "&per_page=100", "setting=prison,community,through-the-gate,courts,police-custody&per_page=100"},
		{"words and term, page 2", "search=support&taxonomy_term_id=" + mentoring + "&page=2&per_page=3", "q=support&area=mentoring&page=2&per_page=3"},
		{"nothing", "search=zzzzzz", "q=zzzzzz"},
	} {
		p := services(t, feed, tc.oruk)
		dq, err := directory.ParseQuery(mustParse(t, tc.dir))
		if err != nil {
			t.Fatal(err)
		}
		res := ix.Search(dq)
		if p.TotalItems != res.Total || p.Size != len(res.Items) {
			t.Errorf("%s: Services(%q) = %d total, %d in page; search ?%s = %d, %d", tc.name, tc.oruk, p.TotalItems, p.Size, tc.dir, res.Total, len(res.Items))
			continue
		}
		for i, s := range p.Contents {
			if want := openreferral.ServiceID(res.Items[i].ID); s.ID != want {
				t.Errorf("%s: item %d = %s (%s); want %s's service", tc.name, i, s.ID, s.Name, res.Items[i].ID)
			}
		}
		if p.Empty != (p.Size == 0) || p.FirstPage != (p.PageNumber == 1) {
			t.Errorf("%s: envelope %+v is inconsistent", tc.name, p)
		}
	}
}

func TestServicesPaging(t *testing.T) {
	orgs := sampleOrgs(t)
	feed := openreferral.NewFeed(directory.NewIndex(orgs))
	n := len(orgs)
	per := 7
	pages := (n + per - 1) / per
	for _, tc := range []struct {
		name               string
		page               int
		size               int
		first, last, empty bool
	}{
		{"first", 1, per, true, pages == 1, false},
		{"last", pages, n - (pages-1)*per, pages == 1, true, false},
		{"past the end", pages + 1, 0, false, true, true},
	} {
		p := services(t, feed, "per_page=7&page="+itoa(tc.page))
		if p.TotalItems != n || p.TotalPages != pages || p.PageNumber != tc.page || p.Size != tc.size || len(p.Contents) != tc.size || p.FirstPage != tc.first || p.LastPage != tc.last || p.Empty != tc.empty {
			t.Errorf("%s page: %+v; want %d items of %d in %d pages, first %v, last %v, empty %v", tc.name, p, tc.size, n, pages, tc.first, tc.last, tc.empty)
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestServicesOfOneOrganization(t *testing.T) {
	orgs := sampleOrgs(t)
	feed := openreferral.NewFeed(directory.NewIndex(orgs))
	o := orgs[0]
	org := "organization_id=" + openreferral.OrganizationID(o.ID)
	otherArea := ""
	for _, term := range directory.Areas.Terms {
		if !slices.Contains(o.AreasOfWork, term.Slug) {
			otherArea = openreferral.TaxonomyTermID(directory.Areas.Column, term.Slug)
			break
		}
	}
	for _, tc := range []struct {
		name, raw string
		want      int
	}{
		{"the organization", org, 1},
		{"its name as search", org + "&search=" + firstWord(o.Name), 1},
		{"a word it lacks", org + "&search=zzzzzz", 0},
		{"a term it lacks", org + "&taxonomy_term_id=" + otherArea, 0},
		{"page 2", org + "&page=2", 0},
		{"unknown organization", "organization_id=" + openreferral.OrganizationID("no-such-organisation"), 0},
	} {
		p := services(t, feed, tc.raw)
		if p.Size != tc.want || tc.want == 1 && p.Contents[0].ID != openreferral.ServiceID(o.ID) {
			t.Errorf("%s: Services(%q) = %+v; want %d service", tc.name, tc.raw, p, tc.want)
		}
	}
}

func TestServiceByID(t *testing.T) {
	orgs := sampleOrgs(t)
	feed := openreferral.NewFeed(directory.NewIndex(orgs))
	id := openreferral.ServiceID(orgs[3].ID)
	for _, tc := range []struct {
		name, id string
		found    bool
	}{
		{"service id", id, true},
		{"in upper case", upper(id), true},
		{"organization id", openreferral.OrganizationID(orgs[3].ID), false},
		{"directory id", orgs[3].ID, false},
		{"another namespace", "6557a9e2-ba1c-4bf3-8924-e3cd21a4da21", false},
		{"empty", "", false},
	} {
		s, ok := feed.Service(tc.id)
		if ok != tc.found || ok && s.Name != orgs[3].Name {
			t.Errorf("%s: Service(%q) = %q, %v; want found %v", tc.name, tc.id, s.Name, ok, tc.found)
		}
	}
}

func firstWord(s string) string {
	for i, r := range s {
		if r == ' ' {
			return s[:i]
		}
	}
	return s
}

// TestFeedConcurrent: many requests at once on one feed (as concurrent invocations cannot share
// an instance, this is the goroutines of one request path under -race) give what one at a time
// gives.
func TestFeedConcurrent(t *testing.T) {
	orgs := sampleOrgs(t)
	want := services(t, openreferral.NewFeed(directory.NewIndex(orgs)), "per_page=100")
	feed := openreferral.NewFeed(directory.NewIndex(orgs))
	q, err := openreferral.ParseServicesQuery(mustParse(t, "per_page=100"))
	if err != nil {
		t.Fatal(err)
	}
	wantJSON := string(feed.Services(q).AppendJSON(nil))
	feed = openreferral.NewFeed(directory.NewIndex(orgs))
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := range 8 {
		wg.Go(func() {
			if got := string(feed.Services(q).AppendJSON(nil)); got != wantJSON {
				errs <- "services differ"
			}
			id := want.Contents[g%len(want.Contents)].ID
			if s, ok := feed.Service(id); !ok || s.ID != id {
				errs <- "service " + id + " not found"
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
