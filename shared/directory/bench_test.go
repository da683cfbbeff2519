package directory_test

import (
	"bytes"
	"fmt"
	"net/url"
	"testing"

	"sectorhub/infra/seed"
	"sectorhub/shared/directory"
)

const benchOrgs = 10000

// syntheticOrgs parses seed.Synthetic(n), failing tb on any problem.
func syntheticOrgs(tb testing.TB, n int) []directory.Organisation {
	tb.Helper()
	orgs, problems, err := directory.ParseCSV(bytes.NewReader(seed.Synthetic(n)))
	if err != nil || len(problems) > 0 {
		tb.Fatalf("ParseCSV(Synthetic(%d)) = %v, %v", n, problems, err)
	}
	return orgs
}

// BenchmarkSearch searches 10,000 synthetic organisations with typical requests.
func BenchmarkSearch(b *testing.B) {
	ix := directory.NewIndex(syntheticOrgs(b, benchOrgs))
	for _, raw := range []string{
		"",
		"q=housing",
		"q=women",
		"q=mentoring+prison",
		"q=hous",
		"q=mentorin",
		"q=acommodation",
		"q=women%27s+centre",
		"q=families&region=london",
		"region=north-west&area=mental-health",
		"q=employment&region=london&region=south-east&setting=prison&lived_experience=true",
		"q=support",
		"q=h",
		"q=the+people+we+support+in+prison",
		"q=zzzzzz",
		"page=50",
	} {
		v, err := url.ParseQuery(raw)
		if err != nil {
			b.Fatal(err)
		}
		q, err := directory.ParseQuery(v)
		if err != nil {
			b.Fatal(err)
		}
		name := raw
		if name == "" {
			name = "all"
		}
		b.Run(name, func(b *testing.B) {
			var total int
			for b.Loop() {
				total = ix.Search(q).Total
			}
			b.ReportMetric(float64(total), "results")
		})
	}
}

// BenchmarkNewIndex builds the index of 10,000 synthetic organisations.
func BenchmarkNewIndex(b *testing.B) {
	orgs := syntheticOrgs(b, benchOrgs)
	for b.Loop() {
		directory.NewIndex(orgs)
	}
}

// BenchmarkParseCSV parses a synthetic directory of 10,000 rows.
func BenchmarkParseCSV(b *testing.B) {
	data := seed.Synthetic(benchOrgs)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		orgs, problems, err := directory.ParseCSV(bytes.NewReader(data))
		if err != nil || len(problems) > 0 || len(orgs) != benchOrgs {
			b.Fatal(fmt.Sprint(len(orgs), problems, err))
		}
	}
}
