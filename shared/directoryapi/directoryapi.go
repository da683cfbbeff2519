// Package directoryapi serves the public directory routes of DirectoryFunction:
//
//	GET /directory/organisations        search (see directory.ParseQuery for the parameters)
//	GET /directory/organisations/{id}   one organisation
//
// A warm search costs one DynamoDB request whatever the size of the directory: a GetItem of
// the published-version pointer. The search index of that version is built once per Lambda
// instance from the version's snapshot and reused until a new version is published.
package directoryapi

import (
	"context"
	"fmt"
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
	DirectorySnapshot(ctx context.Context, version string) ([]directory.Organisation, error)
	OrganisationByID(ctx context.Context, version, id string) (directory.Organisation, bool, error)
}

// API holds the routes' dependencies and the instance's cached index.
type API struct {
	store Store
	log   *slog.Logger

	mu      sync.Mutex
	version string
	index   *directory.Index
}

// New returns the directory routes on a router.
func New(store Store, log *slog.Logger) *httpapi.Router {
	a := &API{store: store, log: log}
	r := httpapi.NewRouter(log)
	r.Handle("GET /directory/organisations", a.search)
	r.Handle("GET /directory/organisations/{id}", a.get)
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
	if ix := a.cached(p.Version); ix != nil {
		return ix, nil
	}
	// Lambda runs one invocation at a time per instance, so two loads never race here; the
	// lock only keeps the cache consistent for other callers (tests, benchmarks).
	orgs, err := a.store.DirectorySnapshot(ctx, p.Version)
	if err != nil {
		return nil, err
	}
	if len(orgs) != p.Count {
		// Never cache part of a directory: fail this request, try again on the next.
		return nil, fmt.Errorf("snapshot of directory version %s has %d organisations; the published pointer says %d", p.Version, len(orgs), p.Count)
	}
	ix := directory.NewIndex(orgs)
	a.mu.Lock()
	a.index, a.version = ix, p.Version
	a.mu.Unlock()
	a.log.InfoContext(ctx, "loaded directory index", "version", p.Version, "organisations", len(orgs))
	return ix, nil
}

// cached returns the cached index if it is version's, or nil.
func (a *API) cached(version string) *directory.Index {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.version != version {
		return nil
	}
	return a.index
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
	if ix := a.cached(p.Version); ix != nil {
		org, ok = ix.Get(id)
	} else if org, ok, err = a.store.OrganisationByID(ctx, p.Version, id); err != nil {
		return httpapi.Response{}, err
	}
	if !ok {
		return httpapi.Response{}, notFound
	}
	return httpapi.CachedJSON(req, org, orgCacheControl), nil
}
