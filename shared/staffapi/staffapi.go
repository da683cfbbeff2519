// Package staffapi serves the staff routes of StaffFunction. API Gateway's JWT authorizer
// (Cognito) has already checked the caller's token before a request reaches it; the handlers
// trust requestContext.authorizer.jwt.claims and never see unauthenticated requests.
//
//	GET /staff/imports   uploads and their import reports, newest first (?limit=1..100&cursor=)
package staffapi

import (
	"context"
	"log/slog"
	"strconv"

	"sectorhub/shared/apperr"
	"sectorhub/shared/httpapi"
	"sectorhub/shared/imports"
)

// Store is what the staff routes read.
type Store interface {
	Imports(ctx context.Context, limit int, cursor string) ([]imports.Report, string, error)
}

// ImportsPage is the body of GET /staff/imports.
type ImportsPage struct {
	Items      []imports.Report `json:"items"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

// New returns the staff routes on a router.
func New(store Store, log *slog.Logger) *httpapi.Router {
	r := httpapi.NewRouter(log)
	r.Handle("GET /staff/imports", func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		return listImports(ctx, store, req)
	})
	return r
}

func listImports(ctx context.Context, store Store, req httpapi.Request) (httpapi.Response, error) {
	params, err := httpapi.Query(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	limit, cursor := 20, ""
	for name, values := range params {
		if len(values) != 1 {
			return httpapi.Response{}, apperr.Errorf(apperr.Invalid, "%s may be given once", name)
		}
		switch v := values[0]; name {
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100 {
				return httpapi.Response{}, apperr.Errorf(apperr.Invalid, "limit must be between 1 and 100")
			}
			limit = n
		case "cursor":
			cursor = v
		default:
			return httpapi.Response{}, apperr.Errorf(apperr.Invalid, "unknown parameter %q", name)
		}
	}
	reps, next, err := store.Imports(ctx, limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	resp := httpapi.JSON(200, ImportsPage{Items: reps, NextCursor: next})
	resp.Headers["Cache-Control"] = "private, no-store"
	return resp, nil
}
