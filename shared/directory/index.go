package directory

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Result is one page of search results with the facet counts of the whole result.
type Result struct {
	Items   []Organisation `json:"items"`
	Total   int            `json:"total"`
	Page    int            `json:"page"`
	PerPage int            `json:"per_page"`
	// Facets maps each List.Param to the count of matching organisations per slug, counted as
	// if that list's own filter were not set (so every region still shows how many
	// organisations selecting it would add). Every slug of the vocabulary is present.
	Facets map[string]map[string]int `json:"facets"`

	// itemJSON holds the index's ready-made encoding of each item, for AppendJSON.
	itemJSON []string
}

// Index answers searches over a fixed set of organisations. It is built once (NewIndex), or
// read from the snapshot of one that was (ReadIndex), and never changes, so any number of
// goroutines may Search it at once.
//
// Organisations are numbered in name order, so that any set of them, kept as a bitset, lists
// them in name order. Text search uses an inverted index: every distinct folded word (token)
// has a posting list of the organisations it appears in, with the fields it appears in. Tokens
// are sorted, so the tokens a prefix matches are one binary search away; tokens of 4 or more
// ASCII letters are also kept in buckets by length, sorted both forwards and backwards, so that
// the tokens within one typo of a word are found by two range lookups per length instead of a
// scan (see appendTypos). Each vocabulary term has the bitset of its organisations: filters
// are unions and intersections of bitsets, and a facet count is the population count of one
// intersection, so neither costs a pass over the organisations.
type Index struct {
	orgs  []Organisation // in name order
	json  []string       // json[i] is orgs[i] encoded, made once so searches only copy it
	byID  map[string]int
	terms [numLists][]bitset // terms[l][t]: organisations with term t of list l
	count [numLists][]int    // count[l][t]: organisations with term t of list l
	lived bitset
	all   bitset // every organisation

	// board: the organisations with lived experience on their board, made by the first Stats
	// (boardOnce), so that neither NewIndex nor the snapshot format carries it.
	boardOnce sync.Once
	board     bitset

	tokens   []string // sorted
	starts   []uint32 // postings of tokens[t] are postings[starts[t]:starts[t+1]]
	postings []posting
	buckets  []bucket // by token length, for typo lookup

	scratch sync.Pool // of *scratch
}

const numLists = 4

// Fields a token appears in, as posting bit flags.
const (
	inName uint8 = 1 << iota
	inSummary
	inLabel // the label of one of the organisation's terms
	inDescription
)

type posting struct {
	org    uint32
	fields uint8
}

// Ranking: a word's score in an organisation is the weight of how it matched times the sum of
// the weights of the fields it matched in; an organisation's score is the sum over the query's
// words.
const (
	matchTypo   = 1
	matchPrefix = 2
	matchExact  = 4
)

var fieldWeight = func() (w [16]uint16) {
	for f := range w {
		for bit, weight := range []uint16{8, 4, 3, 2} { // name, summary, label, description
			if f&(1<<bit) != 0 {
				w[f] += weight
			}
		}
	}
	return w
}()

// Typo tolerance applies to query words of minTypoLen or more letters; candidate tokens are
// therefore at least minTypoLen-1 long. Tokens longer than maxTypoLen are left out of it.
const (
	minTypoLen = 5
	maxTypoLen = 40
	maxWords   = 32 // query words beyond this many are ignored
)

type bucket struct {
	fwd   []uint32 // token numbers, in token order
	rev   []string // the tokens reversed, sorted
	revID []uint32 // token numbers in rev's order
}

// NewIndex builds the index of orgs. It keeps its own copy of the slice (not of each
// organisation's lists, which it never changes). Of two organisations with one id, Get
// returns the first.
func NewIndex(orgs []Organisation) *Index {
	n := len(orgs)
	ix := &Index{
		orgs:  slices.Clone(orgs),
		byID:  make(map[string]int, n),
		lived: newBitset(n),
		all:   newBitset(n),
	}
	// Name order: folded name, then id, then input order.
	names := make([]string, n)
	order := make([]int, n) // order[r] is the input position of the organisation numbered r
	for i := range orgs {
		names[i] = fold(orgs[i].Name)
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(strings.Compare(names[a], names[b]), strings.Compare(orgs[a].ID, orgs[b].ID))
	})
	number := make([]int, n) // number[i] is the number of the organisation at input position i
	for r, i := range order {
		ix.orgs[r] = orgs[i]
		number[i] = r
	}
	ix.json = encodeAll(ix.orgs)
	for i := range orgs {
		if _, dup := ix.byID[orgs[i].ID]; !dup {
			ix.byID[orgs[i].ID] = number[i]
		}
	}

	lists := Lists()
	for l, list := range lists {
		ix.terms[l] = make([]bitset, len(list.Terms))
		ix.count[l] = make([]int, len(list.Terms))
		for t := range list.Terms {
			ix.terms[l][t] = newBitset(n)
		}
	}
	for i := range ix.orgs {
		o := &ix.orgs[i]
		ix.all.set(uint32(i))
		if o.LivedExperience {
			ix.lived.set(uint32(i))
		}
		for l, list := range lists {
			for _, slug := range o.terms(list) {
				if t := list.index(slug); t >= 0 {
					ix.terms[l][t].set(uint32(i))
				}
			}
		}
	}
	for l := range lists {
		for t, b := range ix.terms[l] {
			ix.count[l][t] = b.count()
		}
	}
	ix.buildText(lists)
	return ix
}

// buildText builds the inverted index. Occurrences are collected in organisation order under
// provisional token numbers, then laid out by sorted token in one counting-sort pass, so that
// each posting list is in organisation order without per-token allocations.
func (ix *Index) buildText(lists []List) {
	type occurrence struct {
		tok    uint32
		org    uint32
		fields uint8
	}
	var (
		ids     = map[string]uint32{}
		names   []string
		lastOcc []int // per provisional token, index in occs of its latest occurrence
		occs    []occurrence
		buf     []byte
	)
	size := 0
	for i := range ix.orgs {
		o := &ix.orgs[i]
		size += len(o.Name) + len(o.Summary) + len(o.Description)
	}
	occs = make([]occurrence, 0, size/7+len(ix.orgs)*8) // about one per word, and the labels
	for i := range ix.orgs {
		o := &ix.orgs[i]
		org := uint32(i)
		add := func(w []byte, f uint8) {
			t, ok := ids[string(w)]
			if !ok {
				t = uint32(len(names))
				s := string(w)
				ids[s] = t
				names = append(names, s)
				lastOcc = append(lastOcc, -1)
			}
			if j := lastOcc[t]; j >= 0 && occs[j].org == org {
				occs[j].fields |= f
				return
			}
			lastOcc[t] = len(occs)
			occs = append(occs, occurrence{tok: t, org: org, fields: f})
		}
		text := func(s string, f uint8) {
			buf = words(s, buf, func(w, stem []byte) {
				add(w, f)
				if stem != nil {
					add(stem, f)
				}
			})
		}
		text(o.Name, inName)
		text(o.Summary, inSummary)
		text(o.Description, inDescription)
		for _, list := range lists {
			for _, slug := range o.terms(list) {
				if t := list.index(slug); t >= 0 {
					text(list.Terms[t].Label, inLabel)
				}
			}
		}
	}

	order := make([]uint32, len(names)) // provisional numbers in token order
	for t := range order {
		order[t] = uint32(t)
	}
	slices.SortFunc(order, func(a, b uint32) int { return strings.Compare(names[a], names[b]) })
	final := make([]uint32, len(names))
	ix.tokens = make([]string, len(names))
	for f, t := range order {
		final[t] = uint32(f)
		ix.tokens[f] = names[t]
	}
	ix.starts = make([]uint32, len(names)+1)
	for _, oc := range occs {
		ix.starts[final[oc.tok]+1]++
	}
	for t := range names {
		ix.starts[t+1] += ix.starts[t]
	}
	next := slices.Clone(ix.starts[:len(names)])
	ix.postings = make([]posting, len(occs))
	for _, oc := range occs {
		t := final[oc.tok]
		ix.postings[next[t]] = posting{org: oc.org, fields: oc.fields}
		next[t]++
	}

	ix.buckets = make([]bucket, maxTypoLen+1)
	for t, tok := range ix.tokens {
		if inBucket(tok) {
			b := &ix.buckets[len(tok)]
			b.fwd = append(b.fwd, uint32(t))
		}
	}
	for l := range ix.buckets {
		b := &ix.buckets[l]
		b.revID = slices.Clone(b.fwd)
		rev := make(map[uint32]string, len(b.fwd))
		for _, t := range b.fwd {
			rev[t] = reverse(ix.tokens[t])
		}
		slices.SortFunc(b.revID, func(x, y uint32) int { return strings.Compare(rev[x], rev[y]) })
		b.rev = make([]string, len(b.revID))
		for i, t := range b.revID {
			b.rev[i] = rev[t]
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// reverse reverses an ASCII string.
func reverse(s string) string {
	b := []byte(s)
	slices.Reverse(b)
	return string(b)
}

// Len returns the number of organisations in the index.
func (ix *Index) Len() int { return len(ix.orgs) }

// Get returns the organisation with the given id (exactly: ids are case-sensitive here). Its
// lists are shared with the index: callers must not modify them.
func (ix *Index) Get(id string) (Organisation, bool) {
	i, ok := ix.byID[id]
	if !ok {
		return Organisation{}, false
	}
	return ix.orgs[i], true
}

// match is a token a query word matches, and how.
type match struct {
	tok  uint32
	kind uint16
}

// queryWord is one word of the query with the tokens it matches.
type queryWord struct {
	matches []match
	cost    int // postings to visit
}

// scratch is the per-search working memory, reused through a pool: at 10,000 organisations it
// is about 130 kB that would otherwise be allocated and zeroed on every search.
type scratch struct {
	cells   []cell // per organisation; all zero between searches
	touched []uint32
	hits    []uint32
	keys    []uint64
	buf     []byte
	text    bitset // organisations that match the text; all zero between searches
	base    bitset // ... and the lived experience flag
	unions  [numLists]bitset
	result  bitset
	facet   bitset
}

type cell struct {
	total    uint32 // score over the words matched so far
	cur      uint16 // best score of the current word
	words    uint8  // number of words matched so far
	nameWord uint8  // 1 + the last word matched in the name
	inName   uint8  // number of words matched in the name
}

func (ix *Index) getScratch() *scratch {
	if s, ok := ix.scratch.Get().(*scratch); ok {
		return s
	}
	n := len(ix.orgs)
	s := &scratch{cells: make([]cell, n), text: newBitset(n), base: newBitset(n), result: newBitset(n), facet: newBitset(n)}
	for l := range s.unions {
		s.unions[l] = newBitset(n)
	}
	return s
}

// orAll returns b, or the set of every organisation if b is nil.
func (ix *Index) orAll(b bitset) bitset {
	if b == nil {
		return ix.all
	}
	return b
}

// Search returns the page of organisations q asks for, and the facet counts. Page and PerPage
// below 1 mean the defaults; filter slugs the vocabulary does not have match nothing. The
// items share their lists with the index: callers must not modify them.
func (ix *Index) Search(q Query) Result {
	page, perPage := q.Page, q.PerPage
	if page < 1 {
		page = 1
	}
	if perPage < 1 {
		perPage = DefaultPerPage
	}
	res := Result{Items: []Organisation{}, Page: page, PerPage: perPage}
	first := (page - 1) * perPage
	s := ix.getScratch()
	defer ix.scratch.Put(s)
	sel := ix.selectQuery(q, s)
	defer sel.release()
	words, unions, matching := sel.words, sel.unions, sel.matching
	result := matching(s.result, -1)

	res.Facets = make(map[string]map[string]int, numLists)
	for l, list := range Lists() {
		set := result
		if unions[l] != nil {
			set = matching(s.facet, l)
		}
		f := make(map[string]int, len(list.Terms))
		for t, term := range list.Terms {
			if set == nil {
				f[term.Slug] = ix.count[l][t]
			} else {
				f[term.Slug] = set.countAnd(ix.terms[l][t])
			}
		}
		res.Facets[list.Param] = f
	}

	if result == nil {
		result = ix.all
	}
	if words == nil {
		// Organisations are numbered in name order: the page is a run of the result's members.
		res.Total = result.count()
		for o := range result.from(first) {
			if len(res.Items) == perPage {
				break
			}
			res.Items = append(res.Items, ix.orgs[o])
			res.itemJSON = append(res.itemJSON, ix.json[o])
		}
	} else {
		keys := s.keys[:0]
		k := uint8(len(words))
		for o := range result.from(0) {
			c := &s.cells[o]
			var notName uint64
			if c.inName != k {
				notName = 1
			}
			keys = append(keys, notName<<63|uint64(1<<31-1-c.total)<<32|uint64(o))
		}
		res.Total = len(keys)
		if first < len(keys) {
			keys = smallest(keys, first+perPage)
			for _, key := range keys[first:min(first+perPage, len(keys))] {
				res.Items = append(res.Items, ix.orgs[uint32(key)])
				res.itemJSON = append(res.itemJSON, ix.json[uint32(key)])
			}
		}
		s.keys = keys[:0]
	}
	return res
}

// selection is what the text and filters of a query select, worked out in a scratch by
// selectQuery, so that every answer made from it (Search, Stats) counts the same
// organisations. It uses the scratch until release.
type selection struct {
	ix    *Index
	s     *scratch
	words []queryWord // nil for a query without text
	cands []uint32    // the organisations that match the text, scored in s.cells
	// base: the organisations that match the text and the lived experience flag, or nil for all.
	base bitset
	// unions[l]: the organisations with any selected term of list l, or nil if l has no filter.
	unions [numLists]bitset
}

func (ix *Index) selectQuery(q Query, s *scratch) selection {
	sel := selection{ix: ix, s: s, words: ix.queryWords(q.Text, s)}
	if sel.words != nil {
		sel.cands = ix.matchText(sel.words, s)
		for _, o := range sel.cands {
			s.text.set(o)
		}
		sel.base = s.text
	}
	switch q.LivedExperience {
	case FlagYes:
		sel.base = s.base.and(ix.orAll(sel.base), ix.lived)
	case FlagNo:
		in := ix.orAll(sel.base)
		for i := range s.base {
			s.base[i] = in[i] &^ ix.lived[i]
		}
		sel.base = s.base
	}
	for l, list := range Lists() {
		vals := q.Filters[list.Param]
		if len(vals) == 0 {
			continue
		}
		u := s.unions[l]
		clear(u)
		for _, slug := range vals {
			if t := list.index(slug); t >= 0 {
				u.or(ix.terms[l][t])
			}
		}
		sel.unions[l] = u
	}
	return sel
}

// matching returns base ∩ every union but skip's, in dst; nil means every organisation.
func (sel *selection) matching(dst bitset, skip int) bitset {
	var out bitset
	for l, u := range sel.unions {
		if u == nil || l == skip {
			continue
		}
		if out == nil {
			out = dst.and(sel.ix.orAll(sel.base), u)
		} else {
			out.and(out, u)
		}
	}
	if out == nil {
		return sel.base
	}
	return out
}

// release leaves the scratch as selectQuery found it: cells and text bits all zero.
func (sel *selection) release() {
	for _, o := range sel.s.touched {
		sel.s.cells[o] = cell{}
	}
	for _, o := range sel.cands {
		sel.s.text.unset(o)
	}
}

// smallest sorts the n smallest keys to the front of keys and returns keys, cut to n if
// longer. With few wanted of many, a bounded heap is cheaper than sorting everything.
func smallest(keys []uint64, n int) []uint64 {
	if n >= len(keys) || n*8 >= len(keys) {
		slices.Sort(keys)
		return keys[:min(n, len(keys))]
	}
	h := keys[:n] // a max-heap of the n smallest keys seen so far
	for i := n/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	for _, k := range keys[n:] {
		if k < h[0] {
			h[0] = k
			siftDown(h, 0)
		}
	}
	slices.Sort(h)
	return h
}

func siftDown(h []uint64, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		if r := l + 1; r < len(h) && h[r] > h[l] {
			l = r
		}
		if h[i] >= h[l] {
			return
		}
		h[i], h[l] = h[l], h[i]
		i = l
	}
}

// queryWords splits the query text into words and finds the tokens each matches. It returns
// nil for a query with no words, and a non-nil slice (possibly with a word that matches
// nothing) otherwise.
func (ix *Index) queryWords(text string, s *scratch) []queryWord {
	type word struct {
		alts []string
	}
	var ws []word
	s.buf = words(text, s.buf, func(w, stem []byte) {
		alts := []string{string(w)}
		if stem != nil {
			alts = append(alts, string(stem))
		}
		for _, x := range ws {
			if x.alts[0] == alts[0] {
				return
			}
		}
		if len(ws) < maxWords {
			ws = append(ws, word{alts})
		}
	})
	if len(ws) == 0 {
		return nil
	}
	// The last word is still being typed unless the text ends after it.
	last, _ := utf8.DecodeLastRuneInString(text)
	prefix := !isSpace(last)
	out := make([]queryWord, len(ws))
	for i, w := range ws {
		var ms []match
		for _, alt := range w.alts {
			ms = ix.appendMatches(ms, alt, prefix && i == len(ws)-1)
		}
		slices.SortFunc(ms, func(a, b match) int { return cmp.Or(cmp.Compare(a.tok, b.tok), -cmp.Compare(a.kind, b.kind)) })
		ms = slices.CompactFunc(ms, func(a, b match) bool { return a.tok == b.tok })
		cost := 0
		for _, m := range ms {
			cost += int(ix.starts[m.tok+1] - ix.starts[m.tok])
		}
		out[i] = queryWord{matches: ms, cost: cost}
	}
	return out
}

// appendMatches appends the tokens w matches: itself, the tokens it starts (if prefix), and
// the tokens one typo away (if it is long enough).
func (ix *Index) appendMatches(ms []match, w string, prefix bool) []match {
	lo, found := slices.BinarySearch(ix.tokens, w)
	if found {
		ms = append(ms, match{uint32(lo), matchExact})
	}
	if prefix {
		for t := lo; t < len(ix.tokens) && strings.HasPrefix(ix.tokens[t], w); t++ {
			if ix.tokens[t] != w {
				ms = append(ms, match{uint32(t), matchPrefix})
			}
		}
	}
	if len(w) >= minTypoLen && len(w) < maxTypoLen && isASCII(w) {
		ms = ix.appendTypos(ms, w)
	}
	return ms
}

// appendTypos appends the tokens one edit (insertion, deletion, substitution or transposition
// of neighbours) away from w. An edit leaves intact either the first k letters of w or its last
// n-1-k, with k = (n-1)/2, so the candidates are the tokens of length n-1, n and n+1 that start
// with w[:k] or end with w[n-m:]: two range lookups per length, each then checked exactly.
func (ix *Index) appendTypos(ms []match, w string) []match {
	n := len(w)
	k := (n - 1) / 2
	head := w[:k]
	tail := reverse(w)[:n-1-k]
	for l := n - 1; l <= n+1 && l < len(ix.buckets); l++ {
		b := &ix.buckets[l]
		i, _ := slices.BinarySearchFunc(b.fwd, head, func(t uint32, h string) int { return strings.Compare(ix.tokens[t], h) })
		for ; i < len(b.fwd) && strings.HasPrefix(ix.tokens[b.fwd[i]], head); i++ {
			if t := ix.tokens[b.fwd[i]]; t != w && oneEdit(w, t) {
				ms = append(ms, match{b.fwd[i], matchTypo})
			}
		}
		i, _ = slices.BinarySearch(b.rev, tail)
		for ; i < len(b.rev) && strings.HasPrefix(b.rev[i], tail); i++ {
			if t := ix.tokens[b.revID[i]]; t != w && oneEdit(w, t) {
				ms = append(ms, match{b.revID[i], matchTypo})
			}
		}
	}
	return ms
}

// oneEdit reports whether a and b are at most one insertion, deletion, substitution or
// transposition of neighbouring letters apart.
func oneEdit(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if i == len(a) {
		return true
	}
	if len(a) < len(b) {
		return a[i:] == b[i+1:]
	}
	if a[i+1:] == b[i+1:] {
		return true
	}
	return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
}

// matchText returns the organisations every word matches, leaving their scores in s.cells.
// Words are visited from the cheapest, so the first word bounds the candidates; an
// organisation is a candidate for word i only if it matched every earlier word.
func (ix *Index) matchText(words []queryWord, s *scratch) []uint32 {
	slices.SortFunc(words, func(a, b queryWord) int { return cmp.Compare(a.cost, b.cost) })
	s.touched = s.touched[:0]
	var hits []uint32
	for i, w := range words {
		if len(w.matches) == 0 {
			return nil
		}
		wi := uint8(i)
		hits = s.hits[:0]
		if i == 0 {
			hits = s.touched
		}
		for _, m := range w.matches {
			for _, p := range ix.postings[ix.starts[m.tok]:ix.starts[m.tok+1]] {
				c := &s.cells[p.org]
				score := m.kind * fieldWeight[p.fields]
				switch c.words {
				case wi:
					c.words++
					c.cur = score
					hits = append(hits, p.org)
				case wi + 1:
					c.cur = max(c.cur, score)
				default:
					continue
				}
				if p.fields&inName != 0 && c.nameWord != wi+1 {
					c.nameWord = wi + 1
					c.inName++
				}
			}
		}
		for _, o := range hits {
			c := &s.cells[o]
			c.total += uint32(c.cur)
		}
		if i == 0 {
			s.touched = hits
		} else {
			s.hits = hits
		}
		if len(hits) == 0 {
			return nil
		}
	}
	return hits
}
