package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"sectorhub/infra/localstack"
	"sectorhub/infra/seed"
	"sectorhub/shared/directory"
)

func getStats(t *testing.T, st *localstack.Stack, query string) directory.Stats {
	t.Helper()
	status, _, body := get(t, st.URL()+"/directory/stats?"+query, nil)
	if status != http.StatusOK {
		t.Fatalf("stats ?%s = %d %s; want 200", query, status, body)
	}
	var s directory.Stats
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("stats ?%s: %v in %s", query, err, body)
	}
	return s
}

// csvFigures counts, organisation by organisation of the uploaded CSV, those with every
// filter (region aside when skipRegion) and with region r if r is not "".
func csvFigures(orgs []directory.Organisation, filters url.Values, skipRegion bool, r string) (n, lived, board int) {
	have := map[string]func(directory.Organisation) []string{
		"area":         func(o directory.Organisation) []string { return o.AreasOfWork },
		"client_group": func(o directory.Organisation) []string { return o.ClientGroups },
		"region":       func(o directory.Organisation) []string { return o.Regions },
		"setting":      func(o directory.Organisation) []string { return o.Settings },
	}
next:
	for _, o := range orgs {
		for param, want := range filters {
			if param == "region" && skipRegion {
				continue
			}
			if !slices.ContainsFunc(have[param](o), func(s string) bool { return slices.Contains(want, s) }) {
				continue next
			}
		}
		if r != "" && !slices.Contains(o.Regions, r) {
			continue
		}
		n++
		if o.LivedExperience {
			lived++
		}
		if o.LivedExperienceBoard {
			board++
		}
	}
	return n, lived, board
}

// TestStatsEndToEnd: the involvement figures over HTTP agree with counts made from the CSV
// uploaded, for the seed directory and after a new upload, and cache as search does.
func TestStatsEndToEnd(t *testing.T) {
	for name, endpoint := range targets(t) {
		t.Run(name, func(t *testing.T) {
			st := startStack(t, endpoint)
			for _, dir := range []struct {
				name string
				key  string // "" for the seeded directory
				csv  []byte
			}{
				{"seed directory", "", seed.DirectoryCSV},
				{"after an upload", "directory/2027-02.csv", seed.Synthetic(450)},
			} {
				t.Run(dir.name, func(t *testing.T) {
					if dir.key != "" {
						upload(t, st, dir.key, dir.csv)
					}
					orgs, problems, err := directory.ParseCSV(bytes.NewReader(dir.csv))
					if err != nil || len(problems) > 0 {
						t.Fatalf("ParseCSV: %v %v", problems, err)
					}
					for _, filters := range []url.Values{
						{},
						{"region": {"wales"}},
						{"area": {"mentoring"}, "region": {"wales"}},
						{"area": {"mentoring", "health"}},
						{"client_group": {"women"}, "setting": {"prison", "community"}},
						{"region": {"london", "north-west"}, "setting": {"community"}},
					} {
						query := filters.Encode()
						got := getStats(t, st, query)
						if n, lived, board := csvFigures(orgs, filters, false, ""); got.Organisations != n || got.LivedExperience.Count != lived || got.LivedExperienceBoard.Count != board {
							t.Errorf("stats ?%s = %d organisations, %d lived experience, %d on the board; the CSV has %d, %d, %d",
								query, got.Organisations, got.LivedExperience.Count, got.LivedExperienceBoard.Count, n, lived, board)
						}
						if total := search(t, st, query).Total; got.Organisations != total {
							t.Errorf("stats ?%s = %d organisations; search total %d", query, got.Organisations, total)
						}
						for _, r := range directory.Regions.Terms {
							fig, ok := got.ByRegion[r.Slug]
							n, lived, board := csvFigures(orgs, filters, true, r.Slug)
							if !ok || fig.Organisations != n || fig.LivedExperience.Count != lived || fig.LivedExperienceBoard.Count != board {
								t.Errorf("stats ?%s by_region[%s] = %+v (present %t); the CSV has %d, %d, %d", query, r.Slug, fig, ok, n, lived, board)
							}
						}
					}
				})
			}

			t.Run("caching and errors", func(t *testing.T) {
				u := st.URL() + "/directory/stats?region=wales"
				status, h, body := get(t, u, nil)
				if status != 200 || h.Get("ETag") == "" || h.Get("Cache-Control") == "" {
					t.Fatalf("GET %s = %d %v %s", u, status, h, body)
				}
				if status, _, _ := get(t, u, http.Header{"If-None-Match": {h.Get("ETag")}}); status != 304 {
					t.Errorf("GET with If-None-Match = %d; want 304", status)
				}
				for _, query := range []string{"region=mars", "page=2", "regoin=wales"} {
					if status, _, body := get(t, st.URL()+"/directory/stats?"+query, nil); status != 400 || !bytes.Contains(body, []byte(`"code":"invalid_parameter"`)) {
						t.Errorf("stats ?%s = %d %s; want 400 invalid_parameter", query, status, body)
					}
				}
			})
		})
	}
}
