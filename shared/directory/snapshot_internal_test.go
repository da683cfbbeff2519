package directory

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// snapshotOrgs is a directory with what the snapshot must carry exactly: values that JSON
// escapes, nil and empty lists, a slug outside the vocabulary, two organisations with one id,
// non-ASCII words and words too long for typo lookup.
func snapshotOrgs() []Organisation {
	orgs := fuzzOrgs()
	orgs = append(orgs,
		Organisation{ID: "esc", Name: `Quote " and \ backslash & <b>`, Summary: "line one\nline two\u2028 – Café ’s",
			Description: "bad \xff byte", Website: "https://example.org/?a=1&b=2", AreasOfWork: []string{"health"},
			Regions: []string{"wales", "national"}, Settings: []string{}, LivedExperience: true, LivedExperienceBoard: true},
		Organisation{ID: "nil-lists", Name: "Nil lists", Summary: strings.Repeat("supercalifragilistic", 3)},
		Organisation{ID: "odd-slug", Name: "Odd slug", Regions: []string{"atlantis", "london"}, ClientGroups: []string{"women"}},
		Organisation{ID: "twin", Name: "Twin B", Summary: "second"},
		Organisation{ID: "twin", Name: "Twin A", Summary: "first in input, second in name order"},
		Organisation{ID: "empty"},
	)
	return orgs
}

// indexFields returns what an index holds, for comparison (the scratch pool aside).
func indexFields(ix *Index) []any {
	return []any{ix.orgs, ix.json, ix.byID, ix.terms, ix.count, ix.lived, ix.all, ix.tokens, ix.starts, ix.postings, ix.buckets}
}

func snapshot(tb testing.TB, ix *Index) []byte {
	tb.Helper()
	var buf bytes.Buffer
	n, err := ix.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		tb.Fatalf("WriteTo = %d, %v; wrote %d bytes", n, err, buf.Len())
	}
	return buf.Bytes()
}

func TestReadIndexIsNewIndex(t *testing.T) {
	for _, tc := range []struct {
		name string
		orgs []Organisation
	}{
		{"empty", nil},
		{"one", snapshotOrgs()[len(snapshotOrgs())-1:]},
		{"varied", snapshotOrgs()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := NewIndex(tc.orgs)
			data := snapshot(t, want)
			got, rebuilt, err := ReadIndex(bytes.NewReader(data), int64(len(data)))
			if err != nil || rebuilt {
				t.Fatalf("ReadIndex = %v, rebuilt %t; want the index", err, rebuilt)
			}
			names := []string{"orgs", "json", "byID", "terms", "count", "lived", "all", "tokens", "starts", "postings", "buckets"}
			for i, w := range indexFields(want) {
				if g := indexFields(got)[i]; !reflect.DeepEqual(g, w) {
					t.Errorf("decoded %s differ from NewIndex's:\n got %v\nwant %v", names[i], g, w)
				}
			}
			if again := snapshot(t, got); !bytes.Equal(again, data) {
				t.Errorf("the decoded index's snapshot differs from the original's")
			}
		})
	}
}

func TestReadIndexOtherFingerprintRebuilds(t *testing.T) {
	orgs := snapshotOrgs()
	want := NewIndex(orgs)
	data := snapshot(t, want)
	data[len(indexMagic)+1] ^= 0xff // the fingerprint's first byte
	got, rebuilt, err := ReadIndex(bytes.NewReader(data), int64(len(data)))
	if err != nil || !rebuilt {
		t.Fatalf("ReadIndex of a snapshot with another fingerprint = %v, rebuilt %t; want a rebuilt index", err, rebuilt)
	}
	// The twins share an id; a rebuild sees them in name order, so Get returns the other.
	got.byID["twin"], want.byID["twin"] = 0, 0
	if !reflect.DeepEqual(indexFields(got), indexFields(want)) {
		t.Errorf("the rebuilt index differs from NewIndex's")
	}
}

func TestReadIndexRefuses(t *testing.T) {
	data := snapshot(t, NewIndex(snapshotOrgs()))
	otherFormat := bytes.Clone(data)
	otherFormat[len(indexMagic)] = indexFormat + 1
	tests := []struct {
		name   string
		data   []byte
		format bool // refused as another format rather than as corrupt
	}{
		{"nothing", nil, true},
		{"gzip JSON of the old snapshot", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00"), true},
		{"another format", otherFormat, true},
		{"truncated in the preamble", data[:len(indexMagic)+10], false},
		{"truncated in the middle", data[:len(data)/2], false},
		{"without its trailer", data[:len(data)-1], false},
		{"with bytes after the trailer", append(bytes.Clone(data), 0), false},
	}
	for _, tc := range tests {
		_, _, err := ReadIndex(bytes.NewReader(tc.data), int64(len(data)))
		if err == nil || errors.Is(err, ErrIndexFormat) != tc.format {
			t.Errorf("%s: ReadIndex = %v; want an error, ErrIndexFormat %t", tc.name, err, tc.format)
		}
	}
}

// TestReadIndexCorrupt changes every byte of a small snapshot in turn: each result is an error
// or an index (some bytes, such as a flag or a list entry, are as valid changed), never a panic.
func TestReadIndexCorrupt(t *testing.T) {
	data := snapshot(t, NewIndex(snapshotOrgs()[:12]))
	for i := range data {
		for _, b := range []byte{0, 0x80, data[i] + 1} {
			c := bytes.Clone(data)
			c[i] = b
			if ix, _, err := ReadIndex(bytes.NewReader(c), int64(len(c))); err == nil {
				ix.Search(Query{Text: "house mentor"})
			}
		}
	}
}

// FuzzReadIndex: ReadIndex returns an error or an index that searches without panicking.
func FuzzReadIndex(f *testing.F) {
	f.Add(snapshot(f, NewIndex(snapshotOrgs()[:6])))
	f.Add(snapshot(f, NewIndex(nil)))
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, _, err := ReadIndex(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, text := range []string{"", "house", "hous", "mentr", "café "} {
			ix.Search(Query{Text: text, Filters: map[string][]string{"region": {"london"}}})
		}
	})
}
