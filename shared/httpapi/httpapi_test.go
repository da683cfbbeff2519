package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"sectorhub/shared/apperr"
	"sectorhub/shared/httpapi"
)

func TestRouterErrors(t *testing.T) {
	r := httpapi.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.Handle("GET /ok", func(context.Context, httpapi.Request) (httpapi.Response, error) {
		return httpapi.JSON(200, map[string]int{"n": 1}), nil
	})
	r.Handle("GET /invalid", func(context.Context, httpapi.Request) (httpapi.Response, error) {
		return httpapi.Response{}, apperr.Errorf(apperr.Invalid, "per_page must be between 1 and 100")
	})
	r.Handle("GET /internal", func(context.Context, httpapi.Request) (httpapi.Response, error) {
		return httpapi.Response{}, errors.New("dial tcp 10.0.0.1:443: secret detail")
	})
	r.Handle("GET /panic", func(context.Context, httpapi.Request) (httpapi.Response, error) {
		panic("boom")
	})

	tests := []struct {
		route   string
		status  int
		code    string
		message string
	}{
		{"GET /ok", 200, "", ""},
		{"GET /invalid", 400, "invalid_parameter", "per_page must be between 1 and 100"},
		{"GET /internal", 500, "internal", "internal error"},
		{"GET /panic", 500, "internal", "internal error"},
		{"GET /nowhere", 404, "not_found", "no route for GET /nowhere"},
	}
	for _, tc := range tests {
		t.Run(tc.route, func(t *testing.T) {
			resp, err := r.Serve(context.Background(), httpapi.Request{RouteKey: tc.route})
			if err != nil {
				t.Fatalf("Serve returned error %v; want a response", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d; want %d (%s)", resp.StatusCode, tc.status, resp.Body)
			}
			if tc.code == "" {
				return
			}
			var body struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatal(err)
			}
			if body.Error.Code != tc.code || body.Error.Message != tc.message {
				t.Fatalf("error = %+v; want %s %q", body.Error, tc.code, tc.message)
			}
		})
	}
}

func TestCachedJSON(t *testing.T) {
	req := httpapi.Request{}
	first := httpapi.CachedJSON(req, map[string]string{"a": "b"}, "public, max-age=60")
	etag := first.Headers["ETag"]
	if first.StatusCode != 200 || etag == "" || first.Headers["Cache-Control"] != "public, max-age=60" {
		t.Fatalf("CachedJSON = %d %v; want 200 with ETag and Cache-Control", first.StatusCode, first.Headers)
	}
	tests := []struct {
		name, ifNoneMatch string
		want              int
	}{
		{"same etag", etag, 304},
		{"weak form", "W/" + etag, 304},
		{"in a list", `"other", ` + etag, 304},
		{"star", "*", 304},
		{"other etag", `"other"`, 200},
		{"none", "", 200},
	}
	for _, tc := range tests {
		req := httpapi.Request{Headers: map[string]string{"if-none-match": tc.ifNoneMatch}}
		resp := httpapi.CachedJSON(req, map[string]string{"a": "b"}, "public, max-age=60")
		if resp.StatusCode != tc.want {
			t.Errorf("%s: If-None-Match %q → %d; want %d", tc.name, tc.ifNoneMatch, resp.StatusCode, tc.want)
		}
		if resp.Headers["ETag"] != etag {
			t.Errorf("%s: ETag = %q; want %q", tc.name, resp.Headers["ETag"], etag)
		}
	}
}

func TestLimitCursor(t *testing.T) {
	for _, c := range []struct {
		name, query string
		limit       int
		cursor      string
		err         string
	}{
		{"none", "", httpapi.DefaultLimit, "", ""},
		{"both", "limit=7&cursor=abc", 7, "abc", ""},
		{"last of repeated", "limit=7&limit=9", 9, "", ""},
		{"limit 0", "limit=0", 0, "", "limit must be between 1 and 100"},
		{"limit too big", "limit=101", 0, "", "limit must be between 1 and 100"},
		{"limit not a number", "limit=ten", 0, "", "limit must be between 1 and 100"},
		{"unknown", "sort=price", 0, "", `unknown parameter "sort"; GET /staff/things takes limit and cursor`},
	} {
		limit, cursor, err := httpapi.LimitCursor(httpapi.Request{RawQueryString: c.query}, "GET /staff/things")
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: LimitCursor(%q) = %v; want an error with %q", c.name, c.query, err, c.err)
		case c.err == "" && (err != nil || limit != c.limit || cursor != c.cursor):
			t.Errorf("%s: LimitCursor(%q) = %d, %q, %v; want %d, %q", c.name, c.query, limit, cursor, err, c.limit, c.cursor)
		}
	}
}
