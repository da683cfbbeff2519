package directory

import (
	"math"
	"math/bits"
	"net/url"
	"slices"

	"sectorhub/shared/apperr"
)

// Share is how many organisations of a set have something, and what percentage of the set
// that is, rounded to one decimal place (0 for an empty set).
type Share struct {
	Count   int     `json:"count"`
	Percent float64 `json:"percent"`
}

// Figures are the involvement figures of a set of organisations: how many there are, and how
// many of them involve people with lived experience of the criminal justice system in their
// work and on their board.
type Figures struct {
	Organisations        int   `json:"organisations"`
	LivedExperience      Share `json:"lived_experience"`
	LivedExperienceBoard Share `json:"lived_experience_board"`
}

// Stats are the involvement figures of the organisations a query selects, and by region.
type Stats struct {
	Figures
	// ByRegion holds every region slug of the vocabulary, with zeros where there are no
	// organisations, so that a page can list the regions without knowing them. Like the region
	// facet of Search, each region's figures are counted as if the query's own region filter
	// were not set: ByRegion[r] is what Stats would give with region=r and the other filters,
	// so its Organisations is Search's Facets["region"][r].
	ByRegion map[string]Figures `json:"by_region"`
}

// ParseStatsQuery parses the query parameters of a request for involvement figures: those of
// ParseQuery that select organisations (q, area, client_group, region, setting and
// lived_experience), read as ParseQuery reads them. page and per_page are refused like any
// unknown parameter: the figures have no pages. Every problem is an *apperr.Error with code
// apperr.Invalid.
func ParseStatsQuery(v url.Values) (Query, error) {
	for _, key := range []string{paramPage, paramPerPage} {
		if _, ok := v[key]; ok {
			return Query{}, apperr.Errorf(apperr.Invalid, "unknown parameter %s: the figures have no pages", quote(key))
		}
	}
	q, err := ParseQuery(v)
	if err != nil {
		return Query{}, err
	}
	q.Page, q.PerPage = 0, 0
	return q, nil
}

// Stats returns the involvement figures of the organisations q selects: the organisations
// Search(q) would count in its Total, whatever q's page. Like Search's facets, every count is
// the population count of an intersection of bitsets, so the cost grows with the size of the
// directory by a pass over its bitsets per region, not by any work per organisation.
func (ix *Index) Stats(q Query) Stats {
	board := ix.boardSet()
	s := ix.getScratch()
	defer ix.scratch.Put(s)
	sel := ix.selectQuery(q, s)
	defer sel.release()

	st := Stats{
		Figures:  ix.figures(ix.orAll(sel.matching(s.result, -1)), ix.all, board),
		ByRegion: make(map[string]Figures, len(Regions.Terms)),
	}
	region := slices.IndexFunc(Lists(), func(l List) bool { return l.Column == Regions.Column })
	set := ix.orAll(sel.matching(s.facet, region))
	for t, term := range Regions.Terms {
		st.ByRegion[term.Slug] = ix.figures(set, ix.terms[region][t], board)
	}
	return st
}

// boardSet returns the set of organisations with lived experience on their board, made once
// per index: one pass over the organisations, the first time an instance answers for figures.
func (ix *Index) boardSet() bitset {
	ix.boardOnce.Do(func() {
		ix.board = newBitset(len(ix.orgs))
		for i := range ix.orgs {
			if ix.orgs[i].LivedExperienceBoard {
				ix.board.set(uint32(i))
			}
		}
	})
	return ix.board
}

// figures returns the figures of the organisations in both a and b, in one pass.
func (ix *Index) figures(a, b, board bitset) Figures {
	var n, lived, onBoard int
	for i, w := range a {
		w &= b[i]
		n += bits.OnesCount64(w)
		lived += bits.OnesCount64(w & ix.lived[i])
		onBoard += bits.OnesCount64(w & board[i])
	}
	return Figures{
		Organisations:        n,
		LivedExperience:      share(lived, n),
		LivedExperienceBoard: share(onBoard, n),
	}
}

// share returns count of n as a Share.
func share(count, n int) Share {
	if n == 0 {
		return Share{Count: count}
	}
	return Share{Count: count, Percent: math.Round(float64(count)*1000/float64(n)) / 10}
}
