// Package directoryapi serves the public directory routes of DirectoryFunction:
//
//	GET /directory/organisations        search (see directory.ParseQuery for the parameters)
//	GET /directory/organisations/{id}   one organisation, with the case studies about it
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
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"sectorhub/shared/apperr"
	"sectorhub/shared/casestudy"
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
	// CaseStudiesRevision changes whenever a case study is published or removed.
	CaseStudiesRevision(ctx context.Context) (int64, error)
	// CaseStudyLinks lists the published case studies about each organisation, newest first.
	CaseStudyLinks(ctx context.Context) (map[string][]casestudy.Ref, error)
}

// API holds the routes' dependencies and the instance's cached index.
type API struct {
	store       Store
	log         *slog.Logger
	loader      loader
	caseStudies caseStudies
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
	refs, err := a.caseStudiesAbout(ctx, org.ID)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.CachedJSON(req, organisationPage{org, refs}, orgCacheControl), nil
}

// caseStudies is the instance's copy of which case studies are about which organisation, as
// of a revision of the case studies.
type caseStudies struct {
	mu       sync.Mutex
	loaded   bool
	revision int64
	byOrg    map[string][]casestudy.Ref
}

// caseStudiesAbout returns the published case studies about organisation id: one GetItem of
// the case studies' revision, and, when it has moved since this instance last looked, one
// Query of every case study's link (hundreds), so a warm page costs the same whatever their
// number.
func (a *API) caseStudiesAbout(ctx context.Context, id string) ([]casestudy.Ref, error) {
	rev, err := a.store.CaseStudiesRevision(ctx)
	if err != nil {
		return nil, err
	}
	c := &a.caseStudies
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded || c.revision != rev {
		byOrg, err := a.store.CaseStudyLinks(ctx)
		if err != nil {
			return nil, err
		}
		c.loaded, c.revision, c.byOrg = true, rev, byOrg
	}
	return c.byOrg[id], nil
}

// organisationPage is the body of GET /directory/organisations/{id}: the organisation, with
// the case studies about it.
type organisationPage struct {
	org         directory.Organisation
	caseStudies []casestudy.Ref
}

// MarshalJSON writes the organisation's own JSON with "case_studies" added as its last field.
func (p organisationPage) MarshalJSON() ([]byte, error) {
	b, err := p.org.MarshalJSON()
	if err != nil || len(b) < 2 || b[len(b)-1] != '}' {
		return nil, fmt.Errorf("encode organisation %s: %v", p.org.ID, err)
	}
	refs := p.caseStudies
	if refs == nil {
		refs = []casestudy.Ref{}
	}
	cs, err := json.Marshal(refs)
	if err != nil {
		return nil, fmt.Errorf("encode case studies of %s: %w", p.org.ID, err)
	}
	b = append(b[:len(b)-1], `,"case_studies":`...)
	b = append(b, cs...)
	return append(b, '}'), nil
}
