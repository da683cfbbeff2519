// Package staffapi serves the staff routes of StaffFunction. API Gateway's JWT authorizer
// (Cognito) has already checked the caller's token before a request reaches it; the handlers
// trust requestContext.authorizer.jwt.claims and never see unauthenticated requests.
//
//	GET /staff/imports        uploads and their import records, newest first
//	                          (?kind=&status=&limit=1..100&cursor=), without their problems
//	GET /staff/imports/{id}   one upload's report, with its problems
//	POST /staff/uploads       {"key": "directory/2026-12.csv"}: a presigned S3 PUT URL for the
//	                          uploads bucket, valid 15 minutes, under the upload prefixes only
package staffapi

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"sectorhub/shared/apperr"
	"sectorhub/shared/httpapi"
	"sectorhub/shared/imports"
)

// Store is what the staff routes read.
type Store interface {
	Imports(ctx context.Context, f imports.Filter, limit int, cursor string) ([]imports.Record, string, error)
	ImportByID(ctx context.Context, id string) (imports.Report, bool, error)
}

// ImportsPage is the body of GET /staff/imports.
type ImportsPage struct {
	Items      []imports.Record `json:"items"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

// New returns the staff routes on a router.
func New(store Store, uploads Uploads, log *slog.Logger) *httpapi.Router {
	r := httpapi.NewRouter(log)
	r.Handle("GET /staff/imports", func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		return listImports(ctx, store, req)
	})
	r.Handle("GET /staff/imports/{id}", func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		return getImport(ctx, store, req)
	})
	r.Handle("POST /staff/uploads", func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		return createUpload(ctx, uploads, req)
	})
	return r
}

func getImport(ctx context.Context, store Store, req httpapi.Request) (httpapi.Response, error) {
	id := req.PathParameters["id"]
	if !validImportID(id) {
		return httpapi.Response{}, apperr.Errorf(apperr.NotFound, "no import %q", id)
	}
	rep, ok, err := store.ImportByID(ctx, id)
	if err != nil {
		return httpapi.Response{}, err
	}
	if !ok {
		return httpapi.Response{}, apperr.Errorf(apperr.NotFound, "no import %q", id)
	}
	return httpapi.PrivateJSON(200, rep), nil
}

// validImportID reports whether id could name an import (imports.ID is 20 hex digits); others
// are not looked up.
func validImportID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func listImports(ctx context.Context, store Store, req httpapi.Request) (httpapi.Response, error) {
	params, err := httpapi.Query(req)
	if err != nil {
		return httpapi.Response{}, err
	}
	limit, cursor := 20, ""
	var f imports.Filter
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
		case "kind":
			if !validKind(v) {
				return httpapi.Response{}, apperr.Errorf(apperr.Invalid, "kind must be a kind of upload such as directory")
			}
			f.Kind = v
		case "status":
			if !slices.Contains(imports.Statuses, imports.Status(v)) {
				return httpapi.Response{}, apperr.Errorf(apperr.Invalid, "status must be one of %s", statusList())
			}
			f.Status = imports.Status(v)
		default:
			return httpapi.Response{}, apperr.Errorf(apperr.Invalid, "unknown parameter %q", name)
		}
	}
	reps, next, err := store.Imports(ctx, f, limit, cursor)
	if err != nil {
		return httpapi.Response{}, err
	}
	return httpapi.PrivateJSON(200, ImportsPage{Items: reps, NextCursor: next}), nil
}

// validKind reports whether v could be a kind's name: lower-case letters and "-", as kinds
// are named. An unknown kind simply lists nothing, so new kinds need no edit here.
func validKind(v string) bool {
	if v == "" || len(v) > 32 {
		return false
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

func statusList() string {
	names := make([]string, len(imports.Statuses))
	for i, s := range imports.Statuses {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
