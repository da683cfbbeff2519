package httpapi

import (
	"strconv"
	"strings"

	"sectorhub/shared/apperr"
)

// Staff lists' page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 100
)

// LimitCursor reads the query of a staff list paged by an opaque cursor (GET /staff/events,
// GET /staff/bulletins): limit, 1 to MaxLimit (DefaultLimit when absent), and cursor ("" for
// the first page). Any other parameter is an invalid_parameter error naming what route takes;
// a repeated one counts as its last value.
func LimitCursor(req Request, route string) (limit int, cursor string, err error) {
	params, err := Query(req)
	if err != nil {
		return 0, "", err
	}
	limit = DefaultLimit
	for key, vals := range params {
		v := ""
		if len(vals) > 0 {
			v = strings.TrimSpace(vals[len(vals)-1])
		}
		switch key {
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxLimit {
				return 0, "", apperr.Errorf(apperr.Invalid, "limit must be between 1 and %d", MaxLimit)
			}
			limit = n
		case "cursor":
			cursor = v
		default:
			if len([]rune(key)) > 40 {
				key = string([]rune(key)[:40]) + "…"
			}
			return 0, "", apperr.Errorf(apperr.Invalid, "unknown parameter %s; %s takes limit and cursor", strconv.Quote(key), route)
		}
	}
	return limit, cursor, nil
}

// PrivateJSON is JSON for a response meant for one signed-in member of staff: never kept by a
// shared cache or the browser (Cache-Control: private, no-store).
func PrivateJSON(status int, v any) Response {
	r := JSON(status, v)
	r.Headers["Cache-Control"] = "private, no-store"
	return r
}
