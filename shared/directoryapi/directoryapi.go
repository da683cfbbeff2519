// Package directoryapi serves the public directory routes of DirectoryFunction:
//
//	GET /directory/organisations        search (see directory.ParseQuery for the parameters)
//	GET /directory/organisations/{id}   one organisation
//	GET /openreferral/...               the Open Referral UK feed of the directory (see openreferral.go)
//	GET /directory/stats                involvement figures (see stats.go)
//
// A warm search costs one DynamoDB request whatever the size of the directory: a GetItem of
// the published-version pointer. The search index of that version is loaded once per Lambda
// instance — decoded from the snapshot the ingest stored with the version, not built — and
// reused until a new version is published (see loader.go for how loads are bounded).
package directoryapi

import (
	"context"
	"log/slog"
	"sync"

	"sectorhub/shared/apperr"
	"sectorhub/shared/directory"
	"sectorhub/shared/httpapi"
)

// Cache-Control of successful responses: browsers and CDNs may reuse a response briefly; a
// new upload shows within that time. Revalidation with If-None-Match is cheap.
const (
	searchCacheControl = "public, max-age=60"
	orgCacheControl    = "public, max-age=300"
)

// Store is what the directory routes read.
type Store interface {
	CurrentDirectory(ctx context.Context) (directory.Published, bool, error)
	// DirectoryIndex returns the search index of a version and how it was made (for the log).
	DirectoryIndex(ctx context.Context, version string) (*directory.Index, string, error)
	OrganisationByID(ctx context.Context, version, id string) (directory.Organisation, bool, error)
}

// API holds the routes' dependencies and the instance's cached index.
type API struct {
	store  Store
	log    *slog.Logger
	loader loader
}

// New returns the directory routes on a router.
func New(store Store, log *slog.Logger) *httpapi.Router {
	return newAPI(store, log).routes()
}

func newAPI(store Store, log *slog.Logger) *API {
	a := &API{store: store, log: log}
	a.loader = loader{
		load:       store.DirectoryIndex,
		log:        log,
		staleAfter: staleAfter,
		margin:     deadlineMargin,
		retryAfter: retryAfter,
		timeout:    loadTimeout,
	}
	return a
}

func (a *API) routes() *httpapi.Router {
	r := httpapi.NewRouter(a.log)
	r.Handle("GET /directory/organisations", a.search)
	r.Handle("GET /directory/organisations/{id}", a.get)
	a.openReferralRoutes(r) // the Open Referral UK feed (openreferral.go)
	r.Handle("GET /directory/stats", a.stats)
	return r
}

// emptyIndex answers searches before anything has been published (built on first use:
// nothing is done at init that can wait).
var emptyIndex = sync.OnceValue(func() *directory.Index { return directory.NewIndex(nil) })

// currentIndex returns the index of the published version, loading it when the version changed.
func (a *API) currentIndex(ctx context.Context) (*directory.Index, error) {
	p, ok, err := a.store.CurrentDirectory(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return emptyIndex(), nil
	}
	return a.loader.index(ctx, p)
}

func (a *API) search(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	params, err := httpapi.Query(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	q, err := directory.ParseQuery(params)
	if err != nil {
		return httpapi.Response{}, err
	}
	ix, err := a.currentIndex(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.CachedJSON(req, ix.Search(q), searchCacheControl), nil
}

func (a *API) get(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	id := req.PathParameters["id"]
	notFound := apperr.Errorf(apperr.NotFound, "no organisation with id %q", id)
	if id == "" || len(id) > 64 {
		return httpapi.Response{}, notFound
	}
	p, ok, err := a.store.CurrentDirectory(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	if !ok {
		return httpapi.Response{}, notFound
	}
	// A warm instance that already holds this version's index answers from memory;
	// otherwise one GetItem, rather than loading the whole index for one organisation.
	var org directory.Organisation
	if ix := a.loader.cached(p.Version); ix != nil {
		org, ok = ix.Get(id)
	} else if org, ok, err = a.store.OrganisationByID(ctx, p.Version, id); err != nil {
		return httpapi.Response{}, err
	}
	if !ok {
		return httpapi.Response{}, notFound
	}
	return httpapi.CachedJSON(req, org, orgCacheControl), nil
}
