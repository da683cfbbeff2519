package seed_test

import (
	"bytes"
	"strings"
	"testing"

	"sectorhub/infra/seed"
	"sectorhub/shared/directory"
)

func parse(tb testing.TB, data []byte) []directory.Organisation {
	tb.Helper()
	orgs, problems, err := directory.ParseCSV(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("ParseCSV: %v", err)
	}
	for _, p := range problems {
		tb.Errorf("line %d, column %q: %s", p.Line, p.Column, p.Message)
	}
	return orgs
}

func TestDirectoryCSV(t *testing.T) {
	orgs := parse(t, seed.DirectoryCSV)
	if len(orgs) < 50 {
		t.Errorf("DirectoryCSV has %d organisations; want about 60", len(orgs))
	}
	// Every term of every vocabulary is used, so the local site shows every filter working.
	used := map[string]bool{}
	lived, board := 0, 0
	for _, o := range orgs {
		for _, list := range [][]string{o.AreasOfWork, o.ClientGroups, o.Regions, o.Settings} {
			for _, s := range list {
				used[s] = true
			}
		}
		if o.LivedExperience {
			lived++
		}
		if o.LivedExperienceBoard {
			board++
		}
	}
	for _, l := range directory.Lists() {
		for _, term := range l.Terms {
			if !used[term.Slug] {
				t.Errorf("no organisation in DirectoryCSV has %s %q", l.Param, term.Slug)
			}
		}
	}
	if lived == 0 || lived == len(orgs) || board == 0 || board == len(orgs) {
		t.Errorf("lived experience flags are not varied: %d and %d of %d", lived, board, len(orgs))
	}
}

func TestSynthetic(t *testing.T) {
	data := seed.Synthetic(500)
	orgs := parse(t, data)
	if len(orgs) != 500 {
		t.Errorf("Synthetic(500) has %d organisations; want 500", len(orgs))
	}
	if !bytes.Equal(data, seed.Synthetic(500)) {
		t.Error("Synthetic(500) differs between calls; want the same output")
	}
}

func TestUploadsByKey(t *testing.T) {
	uploads, err := seed.Uploads()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, u := range uploads {
		if u.Key == "directory/sample-directory.csv" {
			found = bytes.Equal(u.Body, seed.DirectoryCSV)
		}
		if strings.HasPrefix(u.Key, "uploads/") || strings.HasSuffix(u.Key, "/") || len(u.Body) == 0 {
			t.Errorf("sample upload %q (%d bytes): want a key as uploaded, with content", u.Key, len(u.Body))
		}
	}
	if !found {
		t.Errorf("Uploads() = %d files; want directory/sample-directory.csv holding DirectoryCSV", len(uploads))
	}
}

func TestSyntheticCompactFitsTheLimits(t *testing.T) {
	data := seed.SyntheticCompact(directory.MaxRows)
	if len(data) > directory.MaxUploadBytes {
		t.Fatalf("SyntheticCompact(%d) is %d bytes; want at most %d", directory.MaxRows, len(data), directory.MaxUploadBytes)
	}
	if orgs := parse(t, data); len(orgs) != directory.MaxRows {
		t.Fatalf("SyntheticCompact(%d) parses to %d organisations", directory.MaxRows, len(orgs))
	}
}
