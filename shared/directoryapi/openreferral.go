package directoryapi

import (
	"context"
	"sync"

	"sectorhub/shared/apperr"
	"sectorhub/shared/httpapi"
	"sectorhub/shared/openreferral"
)

// The Open Referral UK feed of the directory (shared/openreferral has the mapping):
//
//	GET /openreferral                      the feed's root document
//	GET /openreferral/services             services (search, taxonomy_term_id, taxonomy_id, organization_id, page, per_page)
//	GET /openreferral/services/{id}        one fully nested service
//	GET /openreferral/taxonomies[/{id}]    the vocabularies as taxonomies
//	GET /openreferral/taxonomy_terms[/{id}] their terms (taxonomy_id, page, per_page)
//
// The root is /openreferral, not /openreferral/: HTTP API takes no route path ending in "/"
// (SAM silently makes no route of one), and does not route /openreferral/ to /openreferral.
//
// The services routes answer from the same per-instance index as search, so a warm request
// costs the same one GetItem; GET /services/{id} loads the index too (an ORUK id cannot be
// turned back into a directory id without it). The taxonomies are the fixed vocabularies and
// read nothing.
type openReferral struct {
	api *API

	mu   sync.Mutex
	feed *openreferral.Feed // of the index last used
}

// openReferralRoutes registers the feed's routes on r.
func (a *API) openReferralRoutes(r *httpapi.Router) {
	o := &openReferral{api: a}
	r.Handle("GET /openreferral", o.root)
	r.Handle("GET /openreferral/services", o.services)
	r.Handle("GET /openreferral/services/{id}", o.service)
	r.Handle("GET /openreferral/taxonomies", o.taxonomies)
	r.Handle("GET /openreferral/taxonomies/{id}", o.taxonomy)
	r.Handle("GET /openreferral/taxonomy_terms", o.taxonomyTerms)
	r.Handle("GET /openreferral/taxonomy_terms/{id}", o.taxonomyTerm)
}

// currentFeed returns the feed of the published version's index, kept while the index is the
// same, so its id maps are built once per instance and version.
func (o *openReferral) currentFeed(ctx context.Context) (*openreferral.Feed, error) {
	ix, err := o.api.currentIndex(ctx)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.feed == nil || o.feed.Index() != ix {
		o.feed = openreferral.NewFeed(ix)
	}
	return o.feed, nil
}

func (o *openReferral) root(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	params, err := httpapi.Query(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	if len(params) > 0 {
		return httpapi.Response{}, apperr.Errorf(apperr.Invalid, "the root of the feed takes no parameters")
	}
	return httpapi.CachedJSON(req, openreferral.RootDocument(), orgCacheControl), nil
}

func (o *openReferral) services(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	params, err := httpapi.Query(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	q, err := openreferral.ParseServicesQuery(params)
	if err != nil {
		return httpapi.Response{}, err
	}
	feed, err := o.currentFeed(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.CachedJSON(req, feed.Services(q), searchCacheControl), nil
}

func (o *openReferral) service(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	id := req.PathParameters["id"]
	feed, err := o.currentFeed(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	s, ok := feed.Service(id)
	if !ok {
		return httpapi.Response{}, notFound("service", id)
	}
	return httpapi.CachedJSON(req, s, orgCacheControl), nil
}

func (o *openReferral) taxonomies(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	params, err := httpapi.Query(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	q, err := openreferral.ParsePageQuery(params)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.CachedJSON(req, openreferral.Taxonomies(q), orgCacheControl), nil
}

func (o *openReferral) taxonomy(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	id := req.PathParameters["id"]
	t, ok := openreferral.TaxonomyByID(id)
	if !ok {
		return httpapi.Response{}, notFound("taxonomy", id)
	}
	return httpapi.CachedJSON(req, t, orgCacheControl), nil
}

func (o *openReferral) taxonomyTerms(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	params, err := httpapi.Query(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	q, err := openreferral.ParseTermsQuery(params)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.CachedJSON(req, openreferral.TaxonomyTerms(q), orgCacheControl), nil
}

func (o *openReferral) taxonomyTerm(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	id := req.PathParameters["id"]
	t, ok := openreferral.TaxonomyTermByID(id)
	if !ok {
		return httpapi.Response{}, notFound("taxonomy term", id)
	}
	return httpapi.CachedJSON(req, t, orgCacheControl), nil
}

// notFound is the 404 of an unknown id, quoting at most 64 bytes of it.
func notFound(what, id string) error {
	if len(id) > 64 {
		id = id[:64]
	}
	return apperr.Errorf(apperr.NotFound, "no %s with id %q", what, id)
}
