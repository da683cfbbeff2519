package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"sectorhub/infra/localstack"
	"sectorhub/infra/localstack/lambdart"
	"sectorhub/infra/seed"
	"sectorhub/shared/directory"
)

// TestSearchThroughPublish runs concurrent searchers while a new directory is published: no
// search may fail (a 5xx is what a reload storm gives: instances timing out while they load the
// new version, and the gateway giving up on the queue behind them), and every answer must be
// exactly what the old directory or the new one gives, never a mix or part of either. The
// searchers go on until each has seen the new directory a few times, so the switch of every
// instance is inside the run.
func TestSearchThroughPublish(t *testing.T) {
	const (
		searchers = 32
		oldSize   = 2000
		newSize   = 4000
		newSeen   = 3 // answers from the new directory each searcher waits for
	)
	queries := []string{"per_page=100", "q=housing", "q=mentor&region=london", "area=mental-health&lived_experience=true&page=2", "q=women+prison+"}

	for name, endpoint := range targets(t) {
		t.Run(name, func(t *testing.T) {
			reports := &reportList{}
			st := startStackReporting(t, endpoint, reports)
			searchFn := routeFunction(t, st, http.MethodGet, "/directory/organisations")
			oldCSV, newCSV := seed.Synthetic(oldSize), seed.Synthetic(newSize)
			upload(t, st, "directory/before.csv", oldCSV)
			if res := search(t, st, ""); res.Total != oldSize {
				t.Fatalf("before the publish the directory has %d organisations; want %d", res.Total, oldSize)
			}
			oldWant, newWant := answers(t, oldCSV, queries), answers(t, newCSV, queries)
			for q := range queries {
				if oldWant[q] == newWant[q] {
					t.Fatalf("?%s answers alike over both directories; the test cannot tell them apart", queries[q])
				}
			}

			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				counts   = map[string]int{}
				failures []string
			)
			published := make(chan struct{})
			for i := range searchers {
				wg.Go(func() {
					seen := 0
					for j := i; seen < newSeen; j++ {
						q := j % len(queries)
						got, err := answer(st.URL(), queries[q])
						kind := ""
						switch {
						case err != nil:
							kind = "failed"
						case got == oldWant[q]:
							kind = "old"
						case got == newWant[q]:
							kind = "new"
							select {
							case <-published: // counted once the new version is live
								seen++
							default:
							}
						default:
							kind = "neither"
							err = fmt.Errorf("answer %s is neither the old directory's %s nor the new one's %s", got, oldWant[q], newWant[q])
						}
						mu.Lock()
						counts[kind]++
						if err != nil && len(failures) < 10 {
							failures = append(failures, fmt.Sprintf("?%s: %v", queries[q], err))
						}
						stop := len(failures) > 0
						mu.Unlock()
						if stop {
							return
						}
					}
				})
			}
			upload(t, st, "directory/after.csv", newCSV)
			close(published)
			wg.Wait()

			for _, f := range failures {
				t.Error(f)
			}
			t.Logf("answers: %v", counts)
			if counts["new"] < searchers*newSeen {
				t.Errorf("%d answers from the new directory; want at least %d", counts["new"], searchers*newSeen)
			}
			for _, rep := range reports.all() {
				if rep.FunctionName == searchFn && rep.Status != "success" {
					t.Errorf("%s invocation %s ended %s %s; want every search to succeed", searchFn, rep.RequestID, rep.Status, rep.ErrorType)
				}
			}
		})
	}
}

// answer is what a search answers, reduced to what tells two directories apart: the status,
// the total and the organisations of the page, in order.
func answer(base, query string) (string, error) {
	resp, err := http.Get(base + "/directory/organisations?" + query)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	var res directory.Result
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		return "", err
	}
	return summary(res), nil
}

func summary(res directory.Result) string {
	ids := make([]string, len(res.Items))
	for i, o := range res.Items {
		ids[i] = o.ID
	}
	return fmt.Sprintf("total %d %v", res.Total, ids)
}

// answers returns what each query gives over the directory in csv, searched in process.
func answers(t *testing.T, csv []byte, queries []string) []string {
	t.Helper()
	orgs, problems, err := directory.ParseCSV(bytes.NewReader(csv))
	if err != nil || len(problems) > 0 {
		t.Fatalf("ParseCSV = %v, %v", problems, err)
	}
	ix := directory.NewIndex(orgs)
	out := make([]string, len(queries))
	for i, raw := range queries {
		v, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatal(err)
		}
		q, err := directory.ParseQuery(v)
		if err != nil {
			t.Fatalf("ParseQuery(%q): %v", raw, err)
		}
		out[i] = summary(ix.Search(q))
	}
	return out
}

// routeFunction finds, in the stack's template, the function that serves method and path.
func routeFunction(t *testing.T, st *localstack.Stack, method, path string) string {
	t.Helper()
	for _, r := range st.Template().Routes {
		if r.Method == method && r.Path == path {
			return r.FunctionID
		}
	}
	t.Fatalf("no route of the template is %s %s", method, path)
	return ""
}

// all returns every report so far.
func (r *reportList) all() []lambdart.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}
