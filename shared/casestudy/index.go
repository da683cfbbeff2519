package casestudy

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"sectorhub/shared/directory"
)

// Result is one page of the list, with facet counts over the whole result.
type Result struct {
	Items   []Summary `json:"items"`
	Total   int       `json:"total"`
	Page    int       `json:"page"`
	PerPage int       `json:"per_page"`
	// Facets maps "theme" and "region" to the count of matching case studies per slug, each
	// counted as if its own filter were not set, as the directory's facets are. Every slug of
	// the vocabulary is present.
	Facets map[string]map[string]int `json:"facets"`
}

// Index answers list requests over a fixed set of case studies. It is built once (NewIndex)
// and never changes, so any number of goroutines may Search it at once.
//
// It is made for hundreds of case studies, not millions: a search visits each case study
// once for the filters and facets (a few bit operations each), and finds the words of the
// text through a sorted dictionary of the distinct words of every case study, each with the
// case studies that hold it: a binary search for a word and the words it starts, and for typos
// a pass over the dictionary's words of nearby lengths. The dictionary grows far more slowly
// than the number of case studies (new case studies mostly reuse words).
type Index struct {
	entries []Summary // newest published first, then title A–Z, then slug
	themes  []uint64  // themes[i]: bit t set when entries[i] has Themes[t]
	regions []uint64  // likewise for Regions.Terms
	orgs    []string  // orgs[i]: entries[i]'s organisation id, or ""

	tokens []string   // sorted, distinct
	posts  [][]uint32 // posts[t]: the entries holding tokens[t], ascending
	byLen  [][]uint32 // byLen[n]: the tokens of n bytes, for typo candidates
}

// NewIndex builds the index of entries. Of two entries with one slug, it keeps the first.
func NewIndex(entries []Entry) *Index {
	ix := &Index{}
	seen := make(map[string]bool, len(entries))
	var kept []Entry
	for _, e := range entries {
		if !seen[e.Slug] {
			seen[e.Slug] = true
			e.Normalise()
			kept = append(kept, e)
		}
	}
	titles := make(map[string]string, len(kept))
	for _, e := range kept {
		titles[e.Slug] = foldedText(e.Title)
	}
	slices.SortStableFunc(kept, func(a, b Entry) int {
		return cmp.Or(strings.Compare(b.Published, a.Published), strings.Compare(titles[a.Slug], titles[b.Slug]), strings.Compare(a.Slug, b.Slug))
	})
	n := len(kept)
	ix.entries = make([]Summary, n)
	ix.themes = make([]uint64, n)
	ix.regions = make([]uint64, n)
	ix.orgs = make([]string, n)
	postings := map[string][]uint32{}
	for i, e := range kept {
		ix.entries[i] = e.Summary
		for _, s := range e.Themes {
			if t := themeIndex(s); t >= 0 {
				ix.themes[i] |= 1 << t
			}
		}
		for _, s := range e.Regions {
			if t := regionIndex(s); t >= 0 {
				ix.regions[i] |= 1 << t
			}
		}
		if e.Organisation != nil {
			ix.orgs[i] = e.Organisation.ID
		}
		add := func(w string) {
			p := postings[w]
			if len(p) == 0 || p[len(p)-1] != uint32(i) {
				postings[w] = append(p, uint32(i))
			}
		}
		for _, s := range []string{e.Title, e.Summary.Summary, e.Text} {
			directory.Words(s, func(w, stem string) {
				add(w)
				if stem != "" {
					add(stem)
				}
			})
		}
	}
	ix.tokens = make([]string, 0, len(postings))
	for w := range postings {
		ix.tokens = append(ix.tokens, w)
	}
	slices.Sort(ix.tokens)
	ix.posts = make([][]uint32, len(ix.tokens))
	for t, w := range ix.tokens {
		ix.posts[t] = postings[w]
		if l := len(w); l <= maxTypoToken {
			for len(ix.byLen) <= l {
				ix.byLen = append(ix.byLen, nil)
			}
			ix.byLen[l] = append(ix.byLen[l], uint32(t))
		}
	}
	return ix
}

// maxTypoToken bounds the length of the words typo matching looks at (the directory's limit).
const maxTypoToken = 40

// minTypoWord is the shortest query word typo matching applies to (the directory's).
const minTypoWord = 5

func foldedText(s string) string {
	var b strings.Builder
	directory.Words(s, func(w, _ string) {
		b.WriteString(w)
		b.WriteByte(' ')
	})
	return b.String()
}

// Len returns the number of case studies in the index.
func (ix *Index) Len() int { return len(ix.entries) }

// Search returns the page of case studies q asks for, and the facet counts. Page and PerPage
// below 1 mean the defaults. The items share their lists with the index: callers must not
// modify them.
func (ix *Index) Search(q Query) Result {
	page, perPage := q.Page, q.PerPage
	if page < 1 {
		page = 1
	}
	if perPage < 1 {
		perPage = DefaultPerPage
	}
	res := Result{Items: []Summary{}, Page: page, PerPage: perPage}
	text := ix.matchText(q.Text) // nil: no words, every case study
	wantThemes, wantRegions := mask(q.Themes, themeIndex), mask(q.Regions, regionIndex)
	themeCount := make([]int, len(Themes))
	regionCount := make([]int, len(Regions.Terms))
	first := (page - 1) * perPage
	for i := range ix.entries {
		if text != nil && !text[i] || len(q.Organisations) > 0 && !slices.Contains(q.Organisations, ix.orgs[i]) {
			continue
		}
		themeOK := wantThemes == 0 || ix.themes[i]&wantThemes != 0
		regionOK := wantRegions == 0 || ix.regions[i]&wantRegions != 0
		if regionOK {
			count(themeCount, ix.themes[i])
		}
		if themeOK {
			count(regionCount, ix.regions[i])
		}
		if themeOK && regionOK {
			if res.Total >= first && len(res.Items) < perPage {
				res.Items = append(res.Items, ix.entries[i])
			}
			res.Total++
		}
	}
	res.Facets = map[string]map[string]int{
		paramTheme:  facet(themeCount, Themes),
		paramRegion: facet(regionCount, Regions.Terms),
	}
	return res
}

func mask(slugs []string, index func(string) int) uint64 {
	var m uint64
	for _, s := range slugs {
		if i := index(s); i >= 0 {
			m |= 1 << i
		}
	}
	if m == 0 && len(slugs) > 0 {
		return 1 << 63 // slugs outside the vocabulary match nothing
	}
	return m
}

func count(counts []int, m uint64) {
	for t := range counts {
		if m&(1<<t) != 0 {
			counts[t]++
		}
	}
}

func facet(counts []int, terms []directory.Term) map[string]int {
	f := make(map[string]int, len(terms))
	for t, term := range terms {
		f[term.Slug] = counts[t]
	}
	return f
}

// matchText returns which case studies every word of text matches, or nil when text has no
// words. A word matches a case study when one of the case study's words is the word, starts
// with it (the last word of text, unless text ends with a space), or is one typo away from it
// (words of 5 or more letters): directory.MatchWord's rules.
func (ix *Index) matchText(text string) []bool {
	type queryWord struct{ word, stem string }
	var qws []queryWord
	directory.Words(text, func(w, stem string) {
		if len(qws) < maxWords && !slices.ContainsFunc(qws, func(q queryWord) bool { return q.word == w }) {
			qws = append(qws, queryWord{w, stem})
		}
	})
	if len(qws) == 0 {
		return nil
	}
	last, _ := utf8.DecodeLastRuneInString(text)
	prefix := !unicode.IsSpace(last)
	out := make([]bool, len(ix.entries))
	hit := make([]bool, len(ix.entries))
	for i := range out {
		out[i] = true
	}
	for wi, qw := range qws {
		clear(hit)
		for _, alt := range []string{qw.word, qw.stem} {
			if alt != "" {
				ix.markMatches(hit, alt, prefix && wi == len(qws)-1)
			}
		}
		for i := range out {
			out[i] = out[i] && hit[i]
		}
	}
	return out
}

// markMatches sets hit[i] for every case study holding a word w matches.
func (ix *Index) markMatches(hit []bool, w string, prefix bool) {
	mark := func(t int) {
		for _, i := range ix.posts[t] {
			hit[i] = true
		}
	}
	lo, _ := slices.BinarySearch(ix.tokens, w)
	for t := lo; t < len(ix.tokens) && strings.HasPrefix(ix.tokens[t], w); t++ {
		if directory.MatchWord(w, ix.tokens[t], prefix) != directory.NoMatch {
			mark(t)
		}
	}
	if len(w) < minTypoWord {
		return
	}
	for l := len(w) - 1; l <= len(w)+1 && l < len(ix.byLen); l++ {
		for _, t := range ix.byLen[l] {
			if tok := ix.tokens[t]; !strings.HasPrefix(tok, w) && directory.MatchWord(w, tok, false) == directory.TypoMatch {
				mark(int(t))
			}
		}
	}
}
