package templatecheck

import (
	"strings"
	"testing"
)

// TestNoRoutePathEndsInSlash: HTTP API takes no route path ending in "/" other than "/" itself,
// and SAM does not say so: for an HttpApi event with Path /openreferral/ it makes the
// integration but no route (aws/serverless-application-model#1949), so the route would exist
// locally and 404 when deployed. Such a route is written without the slash (/openreferral).
func TestNoRoutePathEndsInSlash(t *testing.T) {
	for _, r := range loadTemplate(t).Routes {
		if r.Path != "/" && strings.HasSuffix(r.Path, "/") {
			t.Errorf("%s event %s: route path %q ends in \"/\", which HTTP API does not accept; write %q", r.FunctionID, r.EventID, r.Path, strings.TrimRight(r.Path, "/"))
		}
	}
}
