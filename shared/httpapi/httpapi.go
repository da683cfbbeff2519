// Package httpapi is the thin layer between API Gateway HTTP API events (payload format 2.0)
// and the capability packages: a router on the route key, JSON responses with the one error
// shape, the one table from error codes to HTTP statuses, and conditional GET.
package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"sectorhub/shared/apperr"
)

// Request and Response are API Gateway HTTP API payload 2.0 events.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

// HandlerFunc handles one route. Returned errors are mapped to responses by Router.
type HandlerFunc func(ctx context.Context, req Request) (Response, error)

// statusOf is the one table from application error codes to HTTP statuses.
var statusOf = map[string]int{
	apperr.Invalid:      http.StatusBadRequest,
	apperr.Unauthorized: http.StatusUnauthorized,
	apperr.NotFound:     http.StatusNotFound,
	apperr.Conflict:     http.StatusConflict,
	apperr.TooLarge:     http.StatusRequestEntityTooLarge,
	apperr.Internal:     http.StatusInternalServerError,
	apperr.Unsupported:  http.StatusUnsupportedMediaType,
	apperr.Unavailable:  http.StatusServiceUnavailable,

	apperr.BookingClosed: http.StatusConflict,
	apperr.SoldOut:       http.StatusConflict,
	apperr.AlreadyBooked: http.StatusConflict,
}

// Status is the HTTP status of err, from the one table (500 for anything uncoded).
func Status(err error) int {
	if status, ok := statusOf[apperr.Code(err)]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// Router dispatches requests on their route key ("GET /directory/organisations/{id}"), the
// same key the template declares, so template and code name routes identically.
type Router struct {
	routes map[string]HandlerFunc
	log    *slog.Logger
}

// NewRouter returns an empty router logging to log.
func NewRouter(log *slog.Logger) *Router {
	return &Router{routes: map[string]HandlerFunc{}, log: log}
}

// Handle registers h for routeKey.
func (rt *Router) Handle(routeKey string, h HandlerFunc) { rt.routes[routeKey] = h }

// RouteKeys lists the registered route keys.
func (rt *Router) RouteKeys() []string {
	keys := make([]string, 0, len(rt.routes))
	for k := range rt.routes {
		keys = append(keys, k)
	}
	return keys
}

// Serve is the Lambda handler. It never returns an error to Lambda: every failure becomes a
// JSON error response, and a panic in a handler becomes a logged 500.
func (rt *Router) Serve(ctx context.Context, req Request) (resp Response, err error) {
	h, ok := rt.routes[req.RouteKey]
	if !ok {
		return rt.Error(ctx, apperr.Errorf(apperr.NotFound, "no route for %s", req.RouteKey)), nil
	}
	defer func() {
		if p := recover(); p != nil {
			rt.log.ErrorContext(ctx, "panic", "route", req.RouteKey, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp, err = rt.Error(ctx, fmt.Errorf("panic: %v", p)), nil
		}
	}()
	resp, err = h(ctx, req)
	if err != nil {
		return rt.Error(ctx, err), nil
	}
	return resp, nil
}

// Error turns err into the one error shape. Internal errors are logged in full and shown to
// the client as "internal error" only.
func (rt *Router) Error(ctx context.Context, err error) Response {
	code := apperr.Code(err)
	status := Status(err)
	if status >= 500 {
		rt.log.ErrorContext(ctx, "request failed", "err", err.Error())
	}
	e := errorBody{Code: code, Message: apperr.Message(err), Problems: apperr.ProblemsOf(err)}
	body := map[string]any{"error": e}
	r := JSON(status, body)
	r.Headers["Cache-Control"] = "no-store"
	return r
}

// errorBody is the one error shape's "error" object; problems only for invalid bodies.
type errorBody struct {
	Code     string           `json:"code"`
	Message  string           `json:"message"`
	Problems []apperr.Problem `json:"problems,omitempty"`
}

// Appender is a value that appends its own JSON encoding, faster than encoding/json can
// (directory.Result: search responses are the hot path). JSON uses it when v has it.
type Appender interface {
	AppendJSON(b []byte) []byte
}

func encode(v any) ([]byte, error) {
	if a, ok := v.(Appender); ok {
		return a.AppendJSON(make([]byte, 0, 16<<10)), nil
	}
	return json.Marshal(v)
}

// JSON returns a response with v encoded as its JSON body.
func JSON(status int, v any) Response {
	b, err := encode(v)
	if err != nil {
		// Only unencodable values (channels, NaN) fail; that is a programming error.
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
		status = http.StatusInternalServerError
	}
	return Response{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":           "application/json; charset=utf-8",
			"X-Content-Type-Options": "nosniff",
		},
		Body: string(b),
	}
}

// CachedJSON returns v as a 200 JSON response with an ETag (a hash of the body) and
// cacheControl, or a bodiless 304 when the request's If-None-Match already names that ETag.
func CachedJSON(req Request, v any, cacheControl string) Response {
	r := JSON(http.StatusOK, v)
	if r.StatusCode != http.StatusOK {
		return r
	}
	sum := sha256.Sum256([]byte(r.Body))
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	r.Headers["ETag"] = etag
	r.Headers["Cache-Control"] = cacheControl
	if matchesETag(Header(req, "If-None-Match"), etag) {
		r.StatusCode = http.StatusNotModified
		r.Body = ""
		delete(r.Headers, "Content-Type")
	}
	return r
}

// matchesETag reports whether an If-None-Match header value names etag (weak comparison).
func matchesETag(header, etag string) bool {
	for _, candidate := range strings.Split(header, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == etag {
			return true
		}
	}
	return false
}

// Header returns the value of a request header. API Gateway lower-cases header names in
// payload 2.0, but events built by hand or by other tools may not.
func Header(req Request, name string) string {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Query parses the raw query string, keeping repeated parameters (which payload 2.0's
// queryStringParameters would join with commas).
func Query(req Request) (url.Values, error) {
	v, err := url.ParseQuery(req.RawQueryString)
	if err != nil {
		return nil, apperr.Errorf(apperr.Invalid, "the query string is not valid URL encoding")
	}
	return v, nil
}

// Body returns the request's body, decoded from base64 when API Gateway encoded it, refusing
// (413 too_large) one over max bytes.
func Body(req Request, max int) ([]byte, error) {
	if len(req.Body) > 2*max+4 { // before decoding: base64 is 4/3 of the bytes
		return nil, apperr.Errorf(apperr.TooLarge, "the body is larger than %d KB", max>>10)
	}
	b := []byte(req.Body)
	if req.IsBase64Encoded {
		d, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return nil, apperr.Errorf(apperr.Invalid, "the body is not valid base64")
		}
		b = d
	}
	if len(b) > max {
		return nil, apperr.Errorf(apperr.TooLarge, "the body is larger than %d KB", max>>10)
	}
	return b, nil
}

// JSONBody returns the body of a request that must be JSON: at most max bytes (413), with a
// JSON Content-Type when one is given (415 otherwise), and syntactically one JSON object
// (400). Decoding it into a type is the caller's: it names fields in its problems.
func JSONBody(req Request, max int) ([]byte, error) {
	if ct := Header(req, "Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return nil, apperr.Errorf(apperr.Unsupported, "the body must be JSON (Content-Type: application/json)")
		}
	}
	b, err := Body(req, max)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		return nil, apperr.Errorf(apperr.Invalid, "the body is empty; send a JSON object")
	}
	if trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, apperr.Errorf(apperr.Invalid, "the body is not a JSON object")
	}
	return trimmed, nil
}
