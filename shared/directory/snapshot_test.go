package directory_test

import (
	"bytes"
	"compress/gzip"
	"net/url"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"sectorhub/infra/seed"
	"sectorhub/shared/directory"
)

// snapshotOf writes ix's snapshot and reads it back, failing tb unless it decodes as is.
func snapshotOf(tb testing.TB, ix *directory.Index) *directory.Index {
	tb.Helper()
	var buf bytes.Buffer
	n, err := ix.WriteTo(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	got, rebuilt, err := directory.ReadIndex(&buf, n)
	if err != nil || rebuilt {
		tb.Fatalf("ReadIndex = %v, rebuilt %t; want the index as written", err, rebuilt)
	}
	return got
}

// sampleQueries returns queries over orgs: each of many of their words whole, finished (with
// a space), as a prefix and with a typo, two words together, under filters and on later pages,
// and filters alone.
func sampleQueries(orgs []directory.Organisation) []string {
	seen := map[string]bool{}
	var ws []string
	for _, o := range orgs[:min(len(orgs), 60)] {
		for _, w := range strings.FieldsFunc(o.Name+" "+o.Summary, func(r rune) bool { return r == ' ' || r == '.' || r == ',' }) {
			if w = strings.ToLower(w); !seen[w] && len(ws) < 120 {
				seen[w] = true
				ws = append(ws, w)
			}
		}
	}
	filters := []string{"", "region=london", "area=mental-health&lived_experience=true", "client_group=women&setting=prison&region=north-west&region=wales", "lived_experience=false&per_page=7"}
	var out []string
	add := func(text, filter string) {
		q := url.Values{"q": {text}}.Encode()
		if filter != "" {
			q += "&" + filter
		}
		out = append(out, q)
	}
	for i, w := range ws {
		f := filters[i%len(filters)]
		add(w, f)
		add(w+" ", f)
		add(w[:min(3, len(w))], f)
		if len(w) >= 5 {
			add(w[:2]+w[3:], f) // a letter missing
			add(w[:1]+w[2:3]+w[1:2]+w[3:], "")
		}
		add(w+" "+ws[(i*7+3)%len(ws)], f)
	}
	for _, f := range filters {
		out = append(out, f, f+"&page=3", f+"&page=2&q=support+prison")
	}
	return out
}

// TestDecodedIndexSearchesAsBuilt: a decoded snapshot answers every query exactly as the index
// it was written from — the same items in the same order, totals, facets and JSON.
func TestDecodedIndexSearchesAsBuilt(t *testing.T) {
	for _, tc := range []struct {
		name string
		csv  []byte
	}{
		{"seed directory", seed.DirectoryCSV},
		{"synthetic 3000", seed.Synthetic(3000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orgs, problems, err := directory.ParseCSV(bytes.NewReader(tc.csv))
			if err != nil || len(problems) > 0 {
				t.Fatalf("ParseCSV = %v, %v", problems, err)
			}
			built := directory.NewIndex(orgs)
			decoded := snapshotOf(t, built)
			queries := sampleQueries(orgs)
			found := 0
			for _, raw := range queries {
				want, got := search(t, built, raw), search(t, decoded, raw)
				if want.Total > 0 {
					found++
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Search(%q) = %d results %v; built index gives %d %v", raw, got.Total, ids(got.Items), want.Total, ids(want.Items))
					continue
				}
				if g, w := got.AppendJSON(nil), want.AppendJSON(nil); !bytes.Equal(g, w) {
					t.Errorf("Search(%q).AppendJSON differs from the built index's", raw)
				}
			}
			if found < len(queries)/2 {
				t.Errorf("only %d of %d queries found anything; the comparison needs more", found, len(queries))
			}
			for _, o := range orgs {
				if got, ok := decoded.Get(o.ID); !ok || !reflect.DeepEqual(got, o) {
					t.Fatalf("decoded Get(%q) = %v, %t; want %v", o.ID, got, ok, o)
				}
			}
		})
	}
}

// gzipSnapshot returns the compressed snapshot of a synthetic directory of n organisations, as
// the store keeps it, and its uncompressed size.
func gzipSnapshot(tb testing.TB, n int) ([]byte, int64) {
	ix := directory.NewIndex(syntheticOrgs(tb, n))
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	size, err := ix.WriteTo(zw)
	if err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), size
}

// BenchmarkReadIndex decodes the compressed snapshot of 10,000 synthetic organisations, what a
// cold search instance does; retained-MB is the heap the index holds.
func BenchmarkReadIndex(b *testing.B) {
	data, size := gzipSnapshot(b, benchOrgs)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := directory.ReadIndex(gunzip(b, data), size); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(retainedMB(func() any { ix, _, _ := directory.ReadIndex(gunzip(b, data), size); return ix }), "retained-MB")
}

// BenchmarkNewIndexRetained reports the heap an index built from parsed organisations holds,
// the organisations included, to compare with BenchmarkReadIndex's.
func BenchmarkNewIndexRetained(b *testing.B) {
	csv := seed.Synthetic(benchOrgs)
	b.ReportMetric(retainedMB(func() any {
		orgs, _, _ := directory.ParseCSV(bytes.NewReader(csv))
		return directory.NewIndex(orgs)
	}), "retained-MB")
}

func gunzip(tb testing.TB, data []byte) *gzip.Reader {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	return zr
}

// retainedMB returns how much the heap grows by keeping what make returns.
func retainedMB(make func() any) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := make()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / 1e6
}

// BenchmarkWriteIndex writes the compressed snapshot of 10,000 synthetic organisations, what
// publishing adds to an import.
func BenchmarkWriteIndex(b *testing.B) {
	ix := directory.NewIndex(syntheticOrgs(b, benchOrgs))
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		zw := gzip.NewWriter(&buf)
		if _, err := ix.WriteTo(zw); err != nil {
			b.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/1e6, "compressed-MB")
}
