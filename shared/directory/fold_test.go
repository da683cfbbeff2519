package directory

import (
	"strings"
	"testing"
)

func TestFold(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Café ÆSIR Straße", "cafe aesir strasse"},
		{"Ev\u200bIL", "evil"},
		{"Ev\u200d\u200c\u2060\ufeff\u00ad\u034f\ufe0f\U000E0100il", "evil"},
		{"\u3164Ev\uffa0il\u115f\u1160", "evil"},
		{"Ev\U000E0065\U000E007Fil", "evil"},
		{"Ev\u2028il", "ev\u2028il"}, // a line break is not ignorable
	}
	for _, tt := range tests {
		if got := fold(tt.in); got != tt.want {
			t.Errorf("fold(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestWordsIgnorable checks that invisible characters neither end a word nor join two.
func TestWordsIgnorable(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // words joined by spaces, stems after "/"
	}{
		{"zero width space", "Ev\u200bil Trust", "evil trust"},
		{"zero width joiner", "Ev\u200dil", "evil"},
		{"zero width non-joiner", "Ev\u200cil", "evil"},
		{"soft hyphen", "Ev\u00adil", "evil"},
		{"word joiner and byte order mark", "Ev\u2060i\ufeffl", "evil"},
		{"bidirectional marks and isolates", "\u2067Ev\u200fil\u2069", "evil"},
		{"tag characters", "Evil\U000E0068\U000E0069", "evil"},
		{"Hangul fillers", "\u3164Ev\u115fil\uffa0", "evil"},
		{"variation selector", "Ev\ufe0fil", "evil"},
		{"only invisible characters", "\u200b\u200d\u3164", ""},
		{"between words they do not join", "Evil \u200d Trust", "evil trust"},
		{"after an apostrophe", "Women'\u200bs centre", "womens/women centre"},
		{"after a curly apostrophe", "Women\u2019\u200d\u200ds", "womens/women"},
		{"before an apostrophe", "Women\u200b's", "womens/women"},
		{"at the end after an apostrophe", "Womens'\u200b", "womens"},
		{"line separator splits", "Ev\u2028il", "ev il"},
		{"visible emoji splits", "Ev\U0001F642il", "ev il"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			words(tt.in, nil, func(w, stem []byte) {
				s := string(w)
				if stem != nil {
					s += "/" + string(stem)
				}
				got = append(got, s)
			})
			if strings.Join(got, " ") != tt.want {
				t.Errorf("words(%q) = %q; want %q", tt.in, strings.Join(got, " "), tt.want)
			}
		})
	}
}
