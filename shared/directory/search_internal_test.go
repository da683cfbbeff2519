package directory

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// bruteForce answers which organisations match text by checking every token of every
// organisation, the definition the index must agree with.
func bruteForce(orgs []Organisation, text string) map[string]bool {
	var qwords [][]string
	words(text, nil, func(w, stem []byte) {
		alts := []string{string(w)}
		if stem != nil {
			alts = append(alts, string(stem))
		}
		for _, q := range qwords {
			if q[0] == alts[0] {
				return
			}
		}
		if len(qwords) < maxWords {
			qwords = append(qwords, alts)
		}
	})
	last, _ := utf8.DecodeLastRuneInString(text)
	prefix := !isSpace(last)
	out := map[string]bool{}
	for _, o := range orgs {
		tokens := map[string]bool{}
		add := func(s string) {
			words(s, nil, func(w, stem []byte) {
				tokens[string(w)] = true
				if stem != nil {
					tokens[string(stem)] = true
				}
			})
		}
		add(o.Name)
		add(o.Summary)
		add(o.Description)
		for _, l := range Lists() {
			for _, s := range o.terms(l) {
				add(l.Label(s))
			}
		}
		all := true
		for i, alts := range qwords {
			found := false
			for _, alt := range alts {
				for tok := range tokens {
					typo := len(alt) >= minTypoLen && len(alt) < maxTypoLen && len(tok) <= maxTypoLen && isASCII(alt) && isASCII(tok) && oneEdit(alt, tok)
					if tok == alt || prefix && i == len(qwords)-1 && strings.HasPrefix(tok, alt) || typo {
						found = true
					}
				}
			}
			all = all && found
		}
		if all {
			out[o.ID] = true
		}
	}
	return out
}

// fuzzOrgs is a directory with many similar words, so that typos and prefixes have plenty
// of near misses to tell apart.
func fuzzOrgs() []Organisation {
	vocab := strings.Fields("house housing houses horse hose shelter shelters sheltar women women's womens woman " +
		"mentor mentors mentoring menton prison prisons poison reason café cafe caff éclair eclairs " +
		"advice advise device devices support supports supper suppert sport spot spots trust truest " +
		"abcde abced bacde abcdef abcd abdce ñandú straße strasse ÆSIR aesir")
	rng := rand.New(rand.NewPCG(1, 2))
	var orgs []Organisation
	for i := range 120 {
		text := func(n int) string {
			var w []string
			for range n {
				w = append(w, vocab[rng.IntN(len(vocab))])
			}
			return strings.Join(w, " ")
		}
		o := Organisation{ID: fmt.Sprintf("o%03d", i), Name: text(2), Summary: text(4), Description: text(8), Regions: []string{"london"}}
		if i%3 == 0 {
			o.AreasOfWork = []string{"mental-health"}
		}
		if i%5 == 0 {
			o.ClientGroups = []string{"young-adults"}
		}
		orgs = append(orgs, o)
	}
	return orgs
}

// checkAgainstBruteForce fails tb unless a search for text returns exactly the organisations
// bruteForce finds.
func checkAgainstBruteForce(tb testing.TB, ix *Index, orgs []Organisation, text string) {
	tb.Helper()
	want := bruteForce(orgs, text)
	res := ix.Search(Query{Text: text, PerPage: len(orgs) + 1})
	got := map[string]bool{}
	for _, o := range res.Items {
		got[o.ID] = true
	}
	if res.Total != len(res.Items) {
		tb.Fatalf("Search(%q).Total = %d with %d items on one page", text, res.Total, len(res.Items))
	}
	words := bruteForceWords(text)
	if len(words) == 0 {
		if len(got) != len(orgs) {
			tb.Fatalf("Search(%q) = %d organisations; want all %d (no words)", text, len(got), len(orgs))
		}
		return
	}
	if len(got) != len(want) {
		var missing, extra []string
		for id := range want {
			if !got[id] {
				missing = append(missing, id)
			}
		}
		for id := range got {
			if !want[id] {
				extra = append(extra, id)
			}
		}
		slices.Sort(missing)
		slices.Sort(extra)
		tb.Fatalf("Search(%q) misses %v and wrongly finds %v", text, missing, extra)
	}
	for id := range want {
		if !got[id] {
			tb.Fatalf("Search(%q) misses %s", text, id)
		}
	}
}

func bruteForceWords(text string) []string {
	var out []string
	words(text, nil, func(w, _ []byte) { out = append(out, string(w)) })
	return out
}

// TestSearchAgreesWithBruteForce checks the index's exact, prefix and typo lookups against
// a scan of every token, for every single edit of a set of words.
func TestSearchAgreesWithBruteForce(t *testing.T) {
	orgs := fuzzOrgs()
	ix := NewIndex(orgs)
	queries := []string{"housing", "hous", "hous ", "women's", "womens", "woman ", "café", "CAFE ", "strasse", "straße", "aesir"}
	for _, w := range []string{"shelter", "mentoring", "support", "abcde", "prisons", "advice"} {
		for i := 0; i <= len(w); i++ {
			for c := 'a'; c <= 'z'; c++ {
				queries = append(queries, w[:i]+string(c)+w[i:]) // insertions
				if i < len(w) {
					queries = append(queries, w[:i]+string(c)+w[i+1:]) // substitutions
				}
			}
			if i < len(w) {
				queries = append(queries, w[:i]+w[i+1:]) // deletions
			}
			if i+1 < len(w) {
				queries = append(queries, w[:i]+string(w[i+1])+string(w[i])+w[i+2:]) // transpositions
			}
		}
	}
	for _, q := range queries {
		checkAgainstBruteForce(t, ix, orgs, q)
		checkAgainstBruteForce(t, ix, orgs, q+" ")
		checkAgainstBruteForce(t, ix, orgs, "trust "+q)
	}
}

// FuzzSearch checks that Search never panics on any text and finds exactly what a scan of
// every token finds.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{"", "housing", "hous", "women's centre", "shelter prison ", "cafe", "ÆSIR", "abced", "!!!", "a b c d e f g"} {
		f.Add(s)
	}
	orgs := fuzzOrgs()
	ix := NewIndex(orgs)
	f.Fuzz(func(t *testing.T, text string) {
		checkAgainstBruteForce(t, ix, orgs, text)
	})
}

func TestOneEdit(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"house", "house", true},
		{"house", "hous", true},
		{"house", "ouse", true},
		{"house", "houses", true},
		{"house", "horse", true},
		{"house", "hosue", true},
		{"house", "ohuse", true},
		{"house", "uhose", false},
		{"house", "hoseu", false},
		{"house", "hose", true},
		{"house", "homes", false},
		{"house", "housing", false},
		{"abc", "bcd", false},
		{"", "a", true},
		{"", "ab", false},
	}
	for _, tt := range tests {
		if got := oneEdit(tt.a, tt.b); got != tt.want {
			t.Errorf("oneEdit(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
		if got := oneEdit(tt.b, tt.a); got != tt.want {
			t.Errorf("oneEdit(%q, %q) = %v; want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want string // words joined by spaces, stems after "/"
	}{
		{"Hello, World!", "hello world"},
		{"Women's centre", "womens/women centre"},
		{"women’s", "womens/women"},
		{"'quoted' words'", "quoted words"},
		{"rock 'n' roll", "rock n roll"},
		{"Café Ñandú ÆSIR Straße Łódź", "cafe nandu aesir strasse lodz"},
		{"cafe\u0301", "cafe"},
		{"through-the-gate 18–25", "through the gate 18 25"},
		{"Сводка ΑΒΓ", "сводка αβγ"},
		{"", ""},
		{"!!!", ""},
	}
	for _, tt := range tests {
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
	}
}
