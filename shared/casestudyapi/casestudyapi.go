// Package casestudyapi serves the public case-study routes of CaseStudiesFunction:
//
//	GET /case-studies          published case studies, newest first (see casestudy.ParseQuery)
//	GET /case-studies/{slug}   one case study with its HTML
//
// A warm list request costs one DynamoDB request whatever the number of case studies: a
// GetItem of the case studies' revision. The list's index is built once per Lambda instance
// and revision from the case studies' list entries (one Query) and reused until a case study
// is published or removed. A case study's HTML was rendered and sanitised when it was
// published: reads only copy it.
package casestudyapi

import (
	"context"
	"log/slog"
	"sync"

	"sectorhub/shared/apperr"
	"sectorhub/shared/casestudy"
	"sectorhub/shared/httpapi"
)

// Cache-Control of successful responses, as the directory's: browsers and CDNs may reuse a
// response briefly; revalidation with If-None-Match is cheap.
const (
	listCacheControl = "public, max-age=60"
	getCacheControl  = "public, max-age=300"
)

// Store is what the case-study routes read.
type Store interface {
	CaseStudiesRevision(ctx context.Context) (int64, error)
	CaseStudyEntries(ctx context.Context) ([]casestudy.Entry, error)
	CaseStudyBySlug(ctx context.Context, slug string) (casestudy.CaseStudy, bool, error)
}

// API holds the routes' dependencies and the instance's cached index.
type API struct {
	store Store
	log   *slog.Logger

	mu       sync.Mutex
	index    *casestudy.Index
	revision int64
}

// New returns the case-study routes on a router.
func New(store Store, log *slog.Logger) *httpapi.Router {
	a := &API{store: store, log: log}
	r := httpapi.NewRouter(log)
	r.Handle("GET /case-studies", a.list)
	r.Handle("GET /case-studies/{slug}", a.get)
	return r
}

// currentIndex returns the index of the current revision, building it when the revision
// moved (or on an instance's first list request). Only one request builds at a time; Lambda
// gives an instance one request at a time anyway.
func (a *API) currentIndex(ctx context.Context) (*casestudy.Index, error) {
	rev, err := a.store.CaseStudiesRevision(ctx)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.index != nil && a.revision == rev {
		return a.index, nil
	}
	var entries []casestudy.Entry
	if rev != 0 { // nothing was ever published: nothing to read
		if entries, err = a.store.CaseStudyEntries(ctx); err != nil {
			return nil, err
		}
	}
	a.index, a.revision = casestudy.NewIndex(entries), rev
	a.log.InfoContext(ctx, "case studies index built", "revision", rev, "case_studies", a.index.Len())
	return a.index, nil
}

func (a *API) list(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	params, err := httpapi.Query(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	q, err := casestudy.ParseQuery(params)
	if err != nil {
		return httpapi.Response{}, err
	}
	ix, err := a.currentIndex(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.CachedJSON(req, ix.Search(q), listCacheControl), nil
}

func (a *API) get(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	slug := req.PathParameters["slug"]
	notFound := apperr.Errorf(apperr.NotFound, "no case study %q", slug)
	if !casestudy.ValidSlug(slug) {
		return httpapi.Response{}, notFound
	}
	cs, ok, err := a.store.CaseStudyBySlug(ctx, slug)
	if err != nil {
		return httpapi.Response{}, err
	}
	if !ok {
		return httpapi.Response{}, notFound
	}
	cs.Normalise()
	return httpapi.CachedJSON(req, cs, getCacheControl), nil
}
