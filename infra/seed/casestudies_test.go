package seed_test

import (
	"bytes"
	"path"
	"strings"
	"testing"

	"sectorhub/infra/seed"
	"sectorhub/shared/casestudy/markdown"
	"sectorhub/shared/directory"
)

// The sample case studies are valid, name organisations of the sample directory, and vary
// enough (themes, regions, a table) for the local site to show every part of the list working.
func TestCaseStudySamples(t *testing.T) {
	uploads, err := seed.Uploads()
	if err != nil {
		t.Fatal(err)
	}
	orgs, _, err := directory.ParseCSV(bytes.NewReader(seed.DirectoryCSV))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, o := range orgs {
		ids[o.ID] = true
	}
	var n, linked, tables int
	themes, regions := map[string]bool{}, map[string]bool{}
	directoryFirst := false
	for _, u := range uploads {
		if strings.HasPrefix(u.Key, "directory/") {
			directoryFirst = n == 0
		}
		if !strings.HasPrefix(u.Key, "case-studies/") {
			continue
		}
		n++
		slug := strings.TrimSuffix(path.Base(u.Key), ".md")
		r := markdown.Parse(slug, u.Body)
		for _, p := range r.Problems {
			t.Errorf("%s line %d, field %q: %s", u.Key, p.Line, p.Field, p.Message)
		}
		d := r.Document
		if d.Organisation != nil {
			linked++
			if !ids[d.Organisation.ID] {
				t.Errorf("%s: organisation %q is not in the sample directory", u.Key, d.Organisation.ID)
			}
		}
		if strings.Contains(d.HTML, "<table>") {
			tables++
		}
		for _, s := range d.Themes {
			themes[s] = true
		}
		for _, s := range d.Regions {
			regions[s] = true
		}
	}
	if n < 10 || linked < 5 || tables < 1 || len(themes) < 10 || len(regions) < 6 {
		t.Errorf("%d case studies, %d linked, %d with a table, %d themes, %d regions; want about 12, several linked, a table, varied themes and regions", n, linked, tables, len(themes), len(regions))
	}
	if !directoryFirst {
		t.Error("the directory's sample is not uploaded before the case studies that name its organisations")
	}
}
