package directory_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"testing"

	"sectorhub/infra/seed"
	"sectorhub/shared/directory"
)

// plainOrganisation is Organisation without its MarshalJSON (see encode_test.go): the
// reference the custom encoder is held to.
type plainOrganisation = directory.PlainOrganisation

// plainResult is Result as encoding/json would write it without any custom encoder.
type plainResult struct {
	Items   []plainOrganisation       `json:"items"`
	Total   int                       `json:"total"`
	Page    int                       `json:"page"`
	PerPage int                       `json:"per_page"`
	Facets  map[string]map[string]int `json:"facets"`
}

func plain(res directory.Result) plainResult {
	items := make([]plainOrganisation, len(res.Items))
	for i, o := range res.Items {
		items[i] = plainOrganisation(o)
	}
	return plainResult{Items: items, Total: res.Total, Page: res.Page, PerPage: res.PerPage, Facets: res.Facets}
}

// decodeJSON decodes data into a generic value, so that encodings that differ only in key order
// compare equal.
func decodeJSON(tb testing.TB, what string, data []byte) any {
	tb.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		tb.Fatalf("%s made invalid JSON: %v\n%s", what, err, data)
	}
	return v
}

// firstDifference returns the path of the first place decoded JSON values got and want
// differ, and what each holds there, or "" if they are equal.
func firstDifference(path string, got, want any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		for _, k := range slices.Sorted(maps.Keys(w)) {
			if d := firstDifference(path+"."+k, g[k], w[k]); d != "" {
				return d
			}
		}
		for _, k := range slices.Sorted(maps.Keys(g)) {
			if _, ok := w[k]; !ok {
				return fmt.Sprintf("%s.%s: got %v, want no such key", path, k, g[k])
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			break
		}
		for i := range w {
			if d := firstDifference(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); d != "" {
				return d
			}
		}
		return ""
	}
	if reflect.DeepEqual(got, want) {
		return ""
	}
	return fmt.Sprintf("%s: got %v, want %v", path, got, want)
}

func TestResultAppendJSON(t *testing.T) {
	csv := append(bytes.Clone(seed.DirectoryCSV), "zz-special,\"Quote \"\" and \\ backslash <b>&</b>\",\"Café – ’s\",\"line one\nline two\",,,wales,,no,yes,,,,\n"...)
	orgs, problems, err := directory.ParseCSV(bytes.NewReader(csv))
	if err != nil || len(problems) > 0 {
		t.Fatalf("ParseCSV(seed directory) = %v, %v; want no problems", problems, err)
	}
	ix := directory.NewIndex(orgs)
	tests := []struct {
		name, raw string
		empty     bool // the page has no items
	}{
		{"every organisation", "per_page=100", false},
		{"text", "q=women", false},
		{"prefix and filter", "q=hous&region=london", false},
		{"second page of two regions", "region=london&region=wales&per_page=3&page=2", false},
		{"special characters", "q=backslash", false},
		{"without lived experience", "lived_experience=false", false},
		{"no results", "q=zzzzzz", true},
		{"page past the end", "page=999", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			q, err := directory.ParseQuery(v)
			if err != nil {
				t.Fatalf("ParseQuery(%q): %v", tt.raw, err)
			}
			res := ix.Search(q)
			if (len(res.Items) == 0) != tt.empty {
				t.Fatalf("Search(%q) = %d items; the case needs empty = %t", tt.raw, len(res.Items), tt.empty)
			}
			ref, err := json.Marshal(plain(res))
			if err != nil {
				t.Fatal(err)
			}
			want := decodeJSON(t, "encoding/json", ref)
			if d := firstDifference("", decodeJSON(t, "AppendJSON", res.AppendJSON(nil)), want); d != "" {
				t.Errorf("Search(%q).AppendJSON differs from encoding/json of a plain struct at %s", tt.raw, d)
			}
			marshalled, err := json.Marshal(res)
			if err != nil {
				t.Fatalf("json.Marshal(Search(%q)): %v", tt.raw, err)
			}
			if d := firstDifference("", decodeJSON(t, "json.Marshal", marshalled), want); d != "" {
				t.Errorf("json.Marshal(Search(%q)) differs from encoding/json of a plain struct at %s", tt.raw, d)
			}
		})
	}
}
