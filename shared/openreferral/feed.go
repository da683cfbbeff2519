package openreferral

import (
	"slices"
	"sync"

	"sectorhub/shared/directory"
)

// Feed answers the feed's service requests over one directory version's search index. It
// makes nothing until asked: the maps from ORUK ids back to directory ids (for
// GET /services/{id} and organization_id) are built on first use, once per Feed, and a feed is
// kept per index (see directoryapi), so that is once per instance and version. Each service's
// list encoding is kept once made (two UUID v5 hashes and the encoding would otherwise be
// redone on every request: a services page cost about three directory searches; with the
// encodings kept it costs about one). That is at most about 1 KB per organisation, as much
// again as the index keeps of its own encodings. Safe for concurrent use.
type Feed struct {
	ix    *directory.Index
	items sync.Map // directory id -> its ServiceSummary's JSON

	idsOnce  sync.Once
	services map[string]string // ORUK service id -> directory id
	orgs     map[string]string // ORUK organization id -> directory id
}

// NewFeed returns the feed of ix.
func NewFeed(ix *directory.Index) *Feed { return &Feed{ix: ix} }

// Index returns the index the feed answers from.
func (f *Feed) Index() *directory.Index { return f.ix }

func (f *Feed) ids() {
	f.idsOnce.Do(func() {
		n := f.ix.Len()
		f.services = make(map[string]string, n)
		f.orgs = make(map[string]string, n)
		// Every organisation, in name order: a search without words or filters.
		res := f.ix.Search(directory.Query{Page: 1, PerPage: max(n, 1)})
		for _, o := range res.Items {
			f.services[ServiceID(o.ID)] = o.ID
			f.orgs[OrganizationID(o.ID)] = o.ID
		}
	})
}

// Services returns the page of services q asks for, in the order directory search gives the
// same words and filters: best match first, or by name.
func (f *Feed) Services(q ServicesQuery) *Page {
	p := PageQuery{Page: q.Search.Page, PerPage: q.Search.PerPage}
	if q.None {
		return newPage(0, p)
	}
	if q.OrganizationID != "" {
		return f.organizationService(q, p)
	}
	res := f.ix.Search(q.Search)
	pg := newPage(res.Total, p)
	for i := range res.Items {
		pg.add(f.summaryJSON(&res.Items[i]))
	}
	return pg
}

// summaryJSON returns o's ServiceSummary encoded, made once per feed.
func (f *Feed) summaryJSON(o *directory.Organisation) []byte {
	if b, ok := f.items.Load(o.ID); ok {
		return b.([]byte)
	}
	b := appendServiceSummary(nil, o)
	f.items.Store(o.ID, b)
	return b
}

// organizationService answers a services request with organization_id: the organization's
// one service if it matches the rest of q, else nothing.
func (f *Feed) organizationService(q ServicesQuery, p PageQuery) *Page {
	f.ids()
	id, ok := f.orgs[q.OrganizationID]
	if !ok {
		return newPage(0, p)
	}
	o, ok := f.ix.Get(id)
	if !ok || !matchesFilters(&o, q.Search.Filters) {
		return newPage(0, p)
	}
	if q.Search.Text != "" {
		// Whether the words match is the search's to say: search them without filters (which
		// already hold) and look for the organisation among every match.
		text := directory.Query{Text: q.Search.Text, Page: 1, PerPage: max(f.ix.Len(), 1)}
		if !slices.ContainsFunc(f.ix.Search(text).Items, func(m directory.Organisation) bool { return m.ID == id }) {
			return newPage(0, p)
		}
	}
	pg := newPage(1, p)
	if p.Page == 1 {
		pg.add(f.summaryJSON(&o))
	}
	return pg
}

// matchesFilters reports whether o has, for every list filtered, one of its slugs.
func matchesFilters(o *directory.Organisation, filters map[string][]string) bool {
	for _, l := range directory.Lists() {
		want, ok := filters[l.Param]
		if !ok {
			continue
		}
		if !slices.ContainsFunc(termsOf(o, l), func(s string) bool { return slices.Contains(want, s) }) {
			return false
		}
	}
	return true
}

// Service returns the fully nested service with the given id (any case).
func (f *Feed) Service(id string) (Service, bool) {
	c, ok := canonicalUUID(id)
	if !ok {
		return Service{}, false
	}
	f.ids()
	dirID, ok := f.services[c]
	if !ok {
		return Service{}, false
	}
	o, ok := f.ix.Get(dirID)
	if !ok {
		return Service{}, false
	}
	return ServiceOf(o), true
}
