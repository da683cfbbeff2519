package templatecheck

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestEverySampleRouteIsInTheTemplate(t *testing.T) {
	routes := map[string]bool{}
	for _, r := range loadTemplate(t).Routes {
		routes[r.RouteKey()] = true
	}
	for _, s := range samples(t) {
		if s.HTTP != nil && !routes[s.RouteKey] {
			t.Errorf("events/%s has routeKey %q, which is no route of template.yaml", s.File, s.RouteKey)
		}
	}
}

func TestEveryRouteHasAHandler(t *testing.T) {
	tmpl := loadTemplate(t)
	if len(tmpl.Routes) == 0 {
		t.Fatal("template.yaml has no HttpApi route")
	}
	all := samples(t)
	be := newBackend(t)
	for _, route := range tmpl.Routes {
		t.Run(route.FunctionID+"/"+route.EventID, func(t *testing.T) {
			fn, ok := tmpl.Function(route.FunctionID)
			if !ok {
				t.Fatalf("route %s names no function", route.RouteKey())
			}
			var found int
			for _, s := range all {
				if s.HTTP == nil || s.RouteKey != route.RouteKey() {
					continue
				}
				found++
				claims := s.HTTP.RequestContext.Authorizer != nil && s.HTTP.RequestContext.Authorizer.JWT != nil && len(s.HTTP.RequestContext.Authorizer.JWT.Claims) > 0
				switch {
				case route.Authorizer != "" && !claims:
					t.Errorf("route %s is behind %s, but events/%s has no requestContext.authorizer.jwt.claims", route.RouteKey(), route.Authorizer, s.File)
				case route.Authorizer == "" && claims:
					t.Errorf("route %s has no authorizer, but events/%s carries JWT claims API Gateway would not send", route.RouteKey(), s.File)
				}
				checkHandled(t, route.RouteKey(), s, invoke(t, fn, merge(be.templateEnv(t, fn), be.endpoints), s.Payload))
			}
			if found == 0 {
				t.Errorf("route %s (%s event %s) has no sample in events/ with that routeKey", route.RouteKey(), route.FunctionID, route.EventID)
			}
		})
	}
}

// checkHandled fails unless the function answered the sample with a handled HTTP response: no
// function error, no 5xx, not the router's "no route" 404, and any error in the one error shape.
func checkHandled(t *testing.T, routeKey string, s sample, o outcome) {
	t.Helper()
	if o.fnErr != nil {
		t.Errorf("events/%s: function error %v\n%s", s.File, o.fnErr, indent(o.log))
		return
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(o.resp, &resp); err != nil {
		t.Errorf("events/%s: response %s is not an HTTP API response: %v", s.File, o.resp, err)
		return
	}
	t.Logf("%s (events/%s) -> %d %s", routeKey, s.File, resp.StatusCode, resp.Body)
	if resp.StatusCode >= 500 {
		t.Errorf("events/%s: status %d %s\n%s", s.File, resp.StatusCode, resp.Body, indent(o.log))
		return
	}
	if resp.StatusCode < 400 {
		return
	}
	// The pages people reach from mail (DESIGN.md §8) answer a browser with an HTML page, errors
	// included; everything else errs in the one JSON shape.
	if strings.HasPrefix(resp.Headers["Content-Type"], "text/html") {
		if !strings.Contains(resp.Body, "<h1>") {
			t.Errorf("events/%s: status %d with an HTML body without a heading: %s", s.File, resp.StatusCode, resp.Body)
		}
		return
	}
	var body struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body.Error == nil || body.Error.Code == "" || body.Error.Message == "" {
		t.Errorf(`events/%s: status %d with body %s; want the error shape {"error": {"code": ..., "message": ...}}`, s.File, resp.StatusCode, resp.Body)
		return
	}
	if resp.StatusCode == http.StatusNotFound && strings.Contains(strings.ToLower(body.Error.Message), "no route") {
		t.Errorf("events/%s: the function has no handler for %s: %s", s.File, routeKey, resp.Body)
	}
}
