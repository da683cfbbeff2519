package directoryapi

import (
	"context"

	"sectorhub/shared/directory"
	"sectorhub/shared/httpapi"
)

// stats answers GET /directory/stats: the involvement figures of the organisations the
// search filters select (directory.ParseStatsQuery, Index.Stats), from the same cached index
// as search, so with the same one DynamoDB request when warm, and cached as search is.
func (a *API) stats(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
	params, err := httpapi.Query(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	q, err := directory.ParseStatsQuery(params)
	if err != nil {
		return httpapi.Response{}, err
	}
	ix, err := a.currentIndex(ctx)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.CachedJSON(req, ix.Stats(q), searchCacheControl), nil
}
