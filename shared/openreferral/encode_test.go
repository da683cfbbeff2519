package openreferral

import (
	"encoding/json"
	"testing"

	"sectorhub/shared/directory"
)

// TestAppendServiceSummary: the hand-written encoding is exactly encoding/json's.
func TestAppendServiceSummary(t *testing.T) {
	for _, tc := range []struct {
		name string
		org  directory.Organisation
	}{
		{"full", directory.Organisation{ID: "a", Name: "A & B <c>", Summary: "s", Description: "d\n\t\"q\"\\", Website: "https://a.example/?x=1&y=2", Email: "a@example.org"}},
		{"no description, website or email", directory.Organisation{ID: "b", Name: "B", Summary: "only summary"}},
		{"control and line separators", directory.Organisation{ID: "c", Name: "\x00\x01\x1f\b\f\u2028\u2029", Summary: "é ü 中"}},
		{"invalid UTF-8", directory.Organisation{ID: "d", Name: "bad \xff\xfe byte", Summary: "x"}},
	} {
		want, err := json.Marshal(summaryOf(&tc.org))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendServiceSummary(nil, &tc.org); string(got) != string(want) {
			t.Errorf("%s: appendServiceSummary = %s; want %s", tc.name, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<script>&amp;</script>", "\"\\\n\r\t\b\f\x00\x7f", "\u2028\u2029", "\xff", "é中😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s; want %s", s, got, want)
		}
	})
}
