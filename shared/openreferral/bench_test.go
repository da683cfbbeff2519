package openreferral_test

import (
	"bytes"
	"testing"

	"sectorhub/infra/seed"
	"sectorhub/shared/directory"
	"sectorhub/shared/openreferral"
)

// BenchmarkServicesVersusSearch compares, in process, a page of 50 services with directory
// search's page of 50 at 10,000 organisations: the search and the encoding of the body (what a
// warm request does besides its one GetItem). make bench measures the same through the local
// stack; compare the two sub-benchmarks' ns/op as a ratio.
func BenchmarkServicesVersusSearch(b *testing.B) {
	orgs, problems, err := directory.ParseCSV(bytes.NewReader(seed.Synthetic(10000)))
	if err != nil || len(problems) > 0 {
		b.Fatalf("ParseCSV: %v %v", problems, err)
	}
	ix := directory.NewIndex(orgs)
	feed := openreferral.NewFeed(ix)
	for _, raw := range []string{"per_page=50", "per_page=50&page=40", "search=support&per_page=50"} {
		b.Run("search/"+raw, func(b *testing.B) {
			q, err := directory.ParseQuery(mustParse(b, directoryRaw(raw)))
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				_ = ix.Search(q).AppendJSON(make([]byte, 0, 16<<10))
			}
		})
		b.Run("services/"+raw, func(b *testing.B) {
			q, err := openreferral.ParseServicesQuery(mustParse(b, raw))
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				_ = feed.Services(q).AppendJSON(make([]byte, 0, 16<<10))
			}
		})
	}
}

func directoryRaw(raw string) string {
	return string(bytes.ReplaceAll([]byte(raw), []byte("search="), []byte("q=")))
}
