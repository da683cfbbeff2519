package localstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"sectorhub/infra/localstack/lambdart"
	"sectorhub/infra/samtemplate"
)

// maxRequestBody is API Gateway's payload limit (10 MB).
const maxRequestBody = 10 << 20

// gateway plays API Gateway's HTTP API: it matches the template's routes,
// runs the JWT authorizer, builds payload-2.0 events, translates the
// function's answer into the HTTP response, and handles CORS.
type gateway struct {
	stack       *Stack
	routes      []*route
	cors        map[string]*corsConfig // by API logical ID
	authorizers map[string]*authorizer
}

type route struct {
	samtemplate.Route
	segments []string // the path's segments; "{x}" for a parameter, "{x+}" greedy
	greedy   bool
}

type corsConfig struct {
	origins, methods, headers, expose []string
	maxAge                            string
	credentials                       bool
}

type authorizer struct {
	name      string
	header    string // the identity source's header, or
	query     string // its query string parameter
	issuer    string
	audiences []string
}

func newGateway(s *Stack) (*gateway, error) {
	g := &gateway{stack: s, cors: map[string]*corsConfig{}, authorizers: map[string]*authorizer{}}
	t := s.tmpl
	for _, r := range t.Routes {
		rt := &route{Route: r}
		if r.Path != "" {
			rt.segments = strings.Split(strings.TrimPrefix(r.Path, "/"), "/")
			for i, seg := range rt.segments {
				if strings.HasSuffix(seg, "+}") {
					if i != len(rt.segments)-1 {
						return nil, fmt.Errorf("%s: route %s: a greedy path variable must be last", t.Path, r.RouteKey())
					}
					rt.greedy = true
				}
			}
		}
		g.routes = append(g.routes, rt)
	}
	for _, api := range t.APIs {
		if api.Cors == nil {
			continue
		}
		c := &corsConfig{}
		var err error
		lists := []struct {
			v    samtemplate.Value
			into *[]string
		}{{api.Cors.AllowOrigins, &c.origins}, {api.Cors.AllowMethods, &c.methods}, {api.Cors.AllowHeaders, &c.headers}, {api.Cors.ExposeHeaders, &c.expose}}
		for _, l := range lists {
			if *l.into, err = t.ResolveList(l.v, s.names); err != nil {
				return nil, err
			}
		}
		if c.maxAge, err = t.Resolve(api.Cors.MaxAge, s.names); err != nil {
			return nil, err
		}
		creds, err := t.Resolve(api.Cors.AllowCredentials, s.names)
		if err != nil {
			return nil, err
		}
		c.credentials = creds == "true"
		g.cors[api.LogicalID] = c
	}
	for name, a := range t.Authorizers {
		az := &authorizer{name: name}
		src := a.IdentitySource
		switch {
		case strings.HasPrefix(src, "$request.header."):
			az.header = strings.TrimPrefix(src, "$request.header.")
		case strings.HasPrefix(src, "$request.querystring."):
			az.query = strings.TrimPrefix(src, "$request.querystring.")
		default:
			return nil, fmt.Errorf("%s: authorizer %s: identity source %q is not supported by the local stack", t.Path, name, src)
		}
		var err error
		if az.issuer, err = t.Resolve(a.Issuer, s.names); err != nil {
			return nil, err
		}
		for _, v := range a.Audience {
			aud, err := t.ResolveList(v, s.names)
			if err != nil {
				return nil, err
			}
			az.audiences = append(az.audiences, aud...)
		}
		g.authorizers[name] = az
	}
	return g, nil
}

// specificity ranks a route for a match: lower is more specific. API
// Gateway prefers a full match to a greedy one, a literal segment to a
// parameter, and a route with the request's method to ANY; the $default
// route matches last.
func (r *route) specificity() []int {
	if r.Path == "" {
		return []int{3}
	}
	rank := []int{0}
	if r.greedy {
		rank[0] = 1
	}
	for _, seg := range r.segments {
		switch {
		case strings.HasSuffix(seg, "+}"):
			rank = append(rank, 2)
		case strings.HasPrefix(seg, "{"):
			rank = append(rank, 1)
		default:
			rank = append(rank, 0)
		}
	}
	if r.Method == "ANY" {
		rank = append(rank, 1)
	}
	return rank
}

// match returns the path parameters if r matches method and the request
// path's segments (decoded).
func (r *route) match(method string, segs []string) (map[string]string, bool) {
	if r.Method != "" && r.Method != "ANY" && r.Method != method {
		return nil, false
	}
	return r.matchPath(segs)
}

func (r *route) matchPath(segs []string) (map[string]string, bool) {
	if r.Path == "" {
		return nil, true
	}
	params := map[string]string{}
	for i, pat := range r.segments {
		if strings.HasSuffix(pat, "+}") {
			if i >= len(segs) {
				return nil, false
			}
			rest := strings.Join(segs[i:], "/")
			if rest == "" {
				return nil, false
			}
			params[strings.TrimSuffix(strings.TrimPrefix(pat, "{"), "+}")] = rest
			return params, true
		}
		if i >= len(segs) {
			return nil, false
		}
		if strings.HasPrefix(pat, "{") && strings.HasSuffix(pat, "}") {
			if segs[i] == "" {
				return nil, false
			}
			params[pat[1:len(pat)-1]] = segs[i]
			continue
		}
		if pat != segs[i] {
			return nil, false
		}
	}
	if len(segs) != len(r.segments) {
		return nil, false
	}
	return params, true
}

// find returns the most specific route for method and path.
func (g *gateway) find(method, path string) (*route, map[string]string) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var best *route
	var bestParams map[string]string
	for _, r := range g.routes {
		params, ok := r.match(method, segs)
		if !ok {
			continue
		}
		if best == nil || slices.Compare(r.specificity(), best.specificity()) < 0 {
			best, bestParams = r, params
		}
	}
	return best, bestParams
}

// apiFor returns the API serving path whatever the method (for CORS
// preflights, which API Gateway answers itself), or the only API with CORS.
func (g *gateway) apiFor(path string) string {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, r := range g.routes {
		if r.Path == "" {
			continue
		}
		if _, ok := r.matchPath(segs); ok {
			return r.APIID
		}
	}
	if len(g.cors) == 1 {
		for id := range g.cors {
			return id
		}
	}
	return ""
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	began := time.Now()
	reqID := apiRequestID()
	w.Header().Set("Apigw-Requestid", reqID)
	status, fn := g.serve(w, r, reqID)
	if fn == "" {
		fn = "-"
	}
	// The path only, as the deployed API's access log has it: a query string may carry
	// personal data (a search for a name or an email address).
	g.stack.log.Printf("api", "%s %s %d %s %.1f ms", r.Method, r.URL.EscapedPath(), status, fn, float64(time.Since(began).Microseconds())/1000)
}

// serve answers r and returns the status and the function that served it.
func (g *gateway) serve(w http.ResponseWriter, r *http.Request, reqID string) (int, string) {
	origin := r.Header.Get("Origin")
	if r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		if c := g.cors[g.apiFor(r.URL.Path)]; c != nil {
			c.preflight(w, r)
			return http.StatusNoContent, ""
		}
	}
	rt, params := g.find(r.Method, r.URL.Path)
	if rt == nil {
		g.corsHeaders(w, "", origin)
		writeMessage(w, http.StatusNotFound, "Not Found")
		return http.StatusNotFound, ""
	}
	g.corsHeaders(w, rt.APIID, origin)
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "Bad Request")
		return http.StatusBadRequest, ""
	}
	if len(body) > maxRequestBody {
		writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return http.StatusRequestEntityTooLarge, ""
	}
	var jwt *jwtContext
	if rt.Authorizer != "" {
		var status int
		if jwt, status = g.authorize(w, r, rt); jwt == nil {
			return status, ""
		}
	}
	event := buildEvent(r, rt, params, body, reqID, jwt)
	payload, err := json.Marshal(event)
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return http.StatusInternalServerError, rt.FunctionID
	}
	ctx, cancel := context.WithTimeout(r.Context(), rt.Timeout)
	defer cancel()
	resp, err := g.stack.Invoke(ctx, rt.FunctionID, payload)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			g.stack.log.Printf("api", "%s did not answer %s within the integration timeout of %v", rt.FunctionID, rt.RouteKey(), rt.Timeout)
			writeMessage(w, http.StatusServiceUnavailable, "Service Unavailable")
			return http.StatusServiceUnavailable, rt.FunctionID
		}
		if r.Context().Err() != nil {
			return 499, rt.FunctionID // the client went away
		}
		if fe, ok := errors.AsType[*lambdart.FunctionError](err); ok {
			g.stack.log.Printf("api", "%s failed on %s: %s", rt.FunctionID, rt.RouteKey(), fe)
		} else {
			g.stack.log.Printf("api", "%s on %s: %v", rt.FunctionID, rt.RouteKey(), err)
		}
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return http.StatusInternalServerError, rt.FunctionID
	}
	status, err := g.writeResponse(w, resp, rt.APIID)
	if err != nil {
		g.stack.log.Printf("api", "%s returned a malformed response for %s: %v", rt.FunctionID, rt.RouteKey(), err)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return http.StatusInternalServerError, rt.FunctionID
	}
	return status, rt.FunctionID
}

// authorize runs the route's JWT authorizer; on failure it writes API
// Gateway's 401 (or 403 for missing scopes) and returns nil.
func (g *gateway) authorize(w http.ResponseWriter, r *http.Request, rt *route) (*jwtContext, int) {
	az := g.authorizers[rt.Authorizer]
	identity := ""
	if az.header != "" {
		identity = strings.Join(r.Header.Values(az.header), ",")
	} else {
		identity = r.URL.Query().Get(az.query)
	}
	if identity == "" {
		w.Header().Set("Www-Authenticate", "Bearer")
		writeMessage(w, http.StatusUnauthorized, "Unauthorized")
		return nil, http.StatusUnauthorized
	}
	claims, scopes, err := g.stack.issuer.Verify(identity, az.issuer, az.audiences, time.Now())
	if err != nil {
		w.Header().Set("Www-Authenticate", fmt.Sprintf(`Bearer scope="" error="invalid_token" error_description=%q`, err.Error()))
		writeMessage(w, http.StatusUnauthorized, "Unauthorized")
		return nil, http.StatusUnauthorized
	}
	if len(rt.Scopes) > 0 && !slices.ContainsFunc(scopes, func(s string) bool { return slices.Contains(rt.Scopes, s) }) {
		w.Header().Set("Www-Authenticate", fmt.Sprintf(`Bearer scope=%q error="insufficient_scope" error_description="not authorized for this route"`, strings.Join(rt.Scopes, " ")))
		writeMessage(w, http.StatusForbidden, "Forbidden")
		return nil, http.StatusForbidden
	}
	return &jwtContext{Claims: claims, Scopes: scopes}, 0
}

// preflight answers a CORS preflight request as API Gateway does for an API
// with a CorsConfiguration, whether or not an OPTIONS route exists.
func (c *corsConfig) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if allow := c.allowOrigin(r.Header.Get("Origin")); allow != "" {
		h.Set("Access-Control-Allow-Origin", allow)
		if len(c.methods) > 0 {
			if slices.Contains(c.methods, "*") {
				h.Set("Access-Control-Allow-Methods", r.Header.Get("Access-Control-Request-Method"))
			} else {
				h.Set("Access-Control-Allow-Methods", strings.Join(c.methods, ","))
			}
		}
		if len(c.headers) > 0 {
			if slices.Contains(c.headers, "*") {
				if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
					h.Set("Access-Control-Allow-Headers", req)
				}
			} else {
				h.Set("Access-Control-Allow-Headers", strings.ToLower(strings.Join(c.headers, ",")))
			}
		}
		if c.maxAge != "" {
			h.Set("Access-Control-Max-Age", c.maxAge)
		}
		if c.credentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// allowOrigin returns the Access-Control-Allow-Origin value for origin, or
// "" when it is not allowed.
func (c *corsConfig) allowOrigin(origin string) string {
	if origin == "" {
		return ""
	}
	for _, o := range c.origins {
		if o == "*" {
			if c.credentials {
				return origin
			}
			return "*"
		}
		if strings.EqualFold(o, origin) {
			return origin
		}
	}
	return ""
}

// corsHeaders adds API Gateway's CORS headers to a response of the API
// (integration responses' own CORS headers are dropped in writeResponse).
func (g *gateway) corsHeaders(w http.ResponseWriter, apiID, origin string) {
	if apiID == "" && len(g.cors) == 1 {
		for id := range g.cors {
			apiID = id
		}
	}
	c := g.cors[apiID]
	if c == nil {
		return
	}
	allow := c.allowOrigin(origin)
	if allow == "" {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", allow)
	if len(c.expose) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.ToLower(strings.Join(c.expose, ",")))
	}
	if c.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// httpResponse is a payload-2.0 response. MultiValueHeaders is not part of
// the 2.0 format: API Gateway ignores it, and so does the gateway (with a
// warning).
type httpResponse struct {
	StatusCode        *int                `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Cookies           []string            `json:"cookies"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
}

// writeResponse translates a function's payload into the HTTP response as
// API Gateway does for payload format 2.0: an object with statusCode is a
// response; anything else valid JSON is a 200 application/json body.
func (g *gateway) writeResponse(w http.ResponseWriter, payload []byte, apiID string) (int, error) {
	var resp httpResponse
	structured := false
	if trimmed := bytes.TrimSpace(payload); len(trimmed) > 0 && trimmed[0] == '{' {
		// One decode in the common case (a response object); the probe for statusCode runs
		// only when the object does not decode as a response, e.g. {"body": 5}.
		if err := json.Unmarshal(payload, &resp); err == nil {
			structured = resp.StatusCode != nil
		} else {
			var probe map[string]json.RawMessage
			if err := json.Unmarshal(payload, &probe); err != nil {
				return 0, fmt.Errorf("response is not JSON: %w", err)
			}
			if _, ok := probe["statusCode"]; ok {
				return 0, fmt.Errorf("response object: %w", err)
			}
		}
	} else if !json.Valid(payload) {
		return 0, errors.New("response is not JSON")
	}
	h := w.Header()
	if !structured {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(payload)
		return http.StatusOK, nil
	}
	if resp.StatusCode == nil || *resp.StatusCode < 100 || *resp.StatusCode > 599 {
		return 0, errors.New("statusCode is missing or not an HTTP status")
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return 0, fmt.Errorf("isBase64Encoded body: %w", err)
		}
	}
	if len(resp.MultiValueHeaders) > 0 {
		g.stack.log.Printf("api", "warning: the response's multiValueHeaders are ignored by payload format 2.0; use headers (comma-separated values) and cookies")
	}
	cors := g.cors[apiID] != nil
	for k, v := range resp.Headers {
		if cors && strings.HasPrefix(strings.ToLower(k), "access-control-") {
			continue // API Gateway replaces the integration's CORS headers with its own
		}
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" {
		h["Content-Type"] = nil // no sniffing: API Gateway adds none
	}
	w.WriteHeader(*resp.StatusCode)
	_, _ = w.Write(body)
	return *resp.StatusCode, nil
}

// httpEvent is a payload-2.0 event as API Gateway sends it (aws-lambda-go's
// events.APIGatewayV2HTTPRequest reads it; its own encoding adds fields API
// Gateway does not send).
type httpEvent struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        requestContext    `json:"requestContext"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
	Body                  string            `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

type requestContext struct {
	AccountID    string            `json:"accountId"`
	APIID        string            `json:"apiId"`
	Authorizer   *authorizerResult `json:"authorizer,omitempty"`
	DomainName   string            `json:"domainName"`
	DomainPrefix string            `json:"domainPrefix"`
	HTTP         httpContext       `json:"http"`
	RequestID    string            `json:"requestId"`
	RouteKey     string            `json:"routeKey"`
	Stage        string            `json:"stage"`
	Time         string            `json:"time"`
	TimeEpoch    int64             `json:"timeEpoch"`
}

type authorizerResult struct {
	JWT *jwtContext `json:"jwt"`
}

type jwtContext struct {
	Claims map[string]string `json:"claims"`
	Scopes []string          `json:"scopes"`
}

type httpContext struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// buildEvent makes the payload-2.0 event of r: header names lower case and
// repeated values comma-joined, cookies taken out of the headers, the query
// decoded with repeated values comma-joined, the path decoded (as HTTP APIs
// deliver it), and a body that is not text base64-encoded.
func buildEvent(r *http.Request, rt *route, params map[string]string, body []byte, reqID string, jwt *jwtContext) *httpEvent {
	now := time.Now().UTC()
	host := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		host = h
	}
	sourceIP := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = h
	}
	_, port, _ := net.SplitHostPort(r.Host)
	if port == "" {
		port = "80"
	}
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if lower == "cookie" {
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lower] = strings.Join(values, ",")
	}
	headers["host"] = r.Host
	if len(body) > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	if prior := headers["x-forwarded-for"]; prior != "" {
		headers["x-forwarded-for"] = prior + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	headers["x-forwarded-port"] = port
	headers["x-forwarded-proto"] = "http"
	headers["x-amzn-trace-id"] = fmt.Sprintf("Root=1-%08x-%s", now.Unix(), randomHex(12))

	var query map[string]string
	if values, _ := url.ParseQuery(r.URL.RawQuery); len(values) > 0 {
		query = make(map[string]string, len(values))
		for k, v := range values {
			query[k] = strings.Join(v, ",")
		}
	}
	if len(params) == 0 {
		params = nil
	}
	ev := &httpEvent{
		Version:               "2.0",
		RouteKey:              rt.RouteKey(),
		RawPath:               r.URL.Path,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: requestContext{
			AccountID:    "000000000000",
			APIID:        "local",
			DomainName:   host,
			DomainPrefix: strings.Split(host, ".")[0],
			HTTP: httpContext{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
			RequestID: reqID,
			RouteKey:  rt.RouteKey(),
			Stage:     "$default",
			Time:      now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch: now.UnixMilli(),
		},
	}
	if jwt != nil {
		ev.RequestContext.Authorizer = &authorizerResult{JWT: jwt}
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isText reports whether API Gateway passes a body of this content type as
// text rather than base64.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript":
		return true
	}
	return false
}

// apiRequestID makes an ID shaped like API Gateway's ("JKJaXmPLvHcESHA=").
func apiRequestID() string {
	b := make([]byte, 11)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
