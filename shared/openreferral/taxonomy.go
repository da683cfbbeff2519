package openreferral

import (
	"sync"

	"sectorhub/shared/directory"
)

// Taxonomy is an ORUK taxonomy: one of the directory's vocabularies. TaxonomyTerms is filled
// for a single taxonomy (GET /taxonomies/{id}) and left out of lists.
type Taxonomy struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Description   string         `json:"description"`
	TaxonomyTerms []TaxonomyTerm `json:"taxonomy_terms,omitempty"`
}

// TaxonomyTerm is an ORUK taxonomy term: one term of a vocabulary. Taxonomy names the taxonomy
// in words, as the profile's free-text field asks.
type TaxonomyTerm struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	TaxonomyID  string `json:"taxonomy_id"`
	Taxonomy    string `json:"taxonomy"`
}

// taxonomyText names and describes the vocabularies that become taxonomies, by column. Regions
// are not a taxonomy: they become service areas.
var taxonomyText = []struct{ column, name, description string }{
	{directory.Areas.Column, "Areas of work", "What the service does: the areas of work of the sectorhub directory of services."},
	{directory.ClientGroups.Column, "Client groups", "Who the service is for: the client groups of the sectorhub directory of services."},
	{directory.Settings.Column, "Settings", "Where in the criminal justice system the service works: the settings of the sectorhub directory of services."},
}

// taxonomy is a taxonomy with its vocabulary, for lookups.
type taxonomy struct {
	Taxonomy
	list directory.List
}

// vocab is every taxonomy and term, with lookups by id, made once on first use (nothing is
// made at init).
type vocab struct {
	taxonomies []taxonomy
	terms      []TaxonomyTerm            // in taxonomy order, then vocabulary order
	termIndex  map[string]int            // term id -> index in terms
	termOf     map[string]termRef        // term id -> its list and slug
	byColumn   map[string]map[string]int // column -> slug -> index in terms
}

type termRef struct {
	list directory.List
	slug string
}

var vocabulary = sync.OnceValue(func() *vocab {
	v := &vocab{termIndex: map[string]int{}, termOf: map[string]termRef{}, byColumn: map[string]map[string]int{}}
	lists := map[string]directory.List{}
	for _, l := range directory.Lists() {
		lists[l.Column] = l
	}
	for _, t := range taxonomyText {
		l := lists[t.column]
		tx := taxonomy{Taxonomy: Taxonomy{ID: TaxonomyID(l.Column), Name: t.name, Description: t.description}, list: l}
		v.byColumn[l.Column] = map[string]int{}
		for _, term := range l.Terms {
			tt := TaxonomyTerm{
				ID:          TaxonomyTermID(l.Column, term.Slug),
				Name:        term.Label,
				Description: t.name + ": " + term.Label,
				TaxonomyID:  tx.ID,
				Taxonomy:    t.name,
			}
			v.termIndex[tt.ID] = len(v.terms)
			v.termOf[tt.ID] = termRef{list: l, slug: term.Slug}
			v.byColumn[l.Column][term.Slug] = len(v.terms)
			v.terms = append(v.terms, tt)
			tx.TaxonomyTerms = append(tx.TaxonomyTerms, tt)
		}
		v.taxonomies = append(v.taxonomies, tx)
	}
	return v
})

// taxonomyByID returns the taxonomy with the given (canonical) id.
func (v *vocab) taxonomyByID(id string) (taxonomy, bool) {
	for _, t := range v.taxonomies {
		if t.ID == id {
			return t, true
		}
	}
	return taxonomy{}, false
}

// term returns the term with slug of the vocabulary with the given column.
func (v *vocab) term(column, slug string) (TaxonomyTerm, bool) {
	i, ok := v.byColumn[column][slug]
	if !ok {
		return TaxonomyTerm{}, false
	}
	return v.terms[i], true
}

// Taxonomies returns the page of taxonomies p asks for (without their terms).
func Taxonomies(p PageQuery) *Page {
	v := vocabulary()
	items := make([]any, 0, len(v.taxonomies))
	for _, t := range v.taxonomies {
		t := t.Taxonomy
		t.TaxonomyTerms = nil
		items = append(items, t)
	}
	return pageOf(items, p)
}

// TaxonomyByID returns the taxonomy with the given id, with its terms. Ids are compared as
// UUIDs (any case).
func TaxonomyByID(id string) (Taxonomy, bool) {
	c, ok := canonicalUUID(id)
	if !ok {
		return Taxonomy{}, false
	}
	t, ok := vocabulary().taxonomyByID(c)
	return t.Taxonomy, ok
}

// TaxonomyTerms returns the page of taxonomy terms q asks for: every term, or those of one
// taxonomy.
func TaxonomyTerms(q TermsQuery) *Page {
	v := vocabulary()
	items := make([]any, 0, len(v.terms))
	for _, t := range v.terms {
		if q.TaxonomyID == "" || t.TaxonomyID == q.TaxonomyID {
			items = append(items, t)
		}
	}
	return pageOf(items, q.PageQuery)
}

// TaxonomyTermByID returns the taxonomy term with the given id (any case).
func TaxonomyTermByID(id string) (TaxonomyTerm, bool) {
	c, ok := canonicalUUID(id)
	if !ok {
		return TaxonomyTerm{}, false
	}
	v := vocabulary()
	i, ok := v.termIndex[c]
	if !ok {
		return TaxonomyTerm{}, false
	}
	return v.terms[i], true
}
