package bulletinapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"
	"sync"

	"sectorhub/shared/httpapi"
)

// The pages people reach from a bulletin mail (confirming, unsubscribing): small, accessible
// HTML (one heading, a status message, a plain form, no script, readable without the style
// sheet), sent with headers that keep the token in the URL to this page: no caching, no
// referrer, no framing, nothing loaded from elsewhere. The template is parsed on first use,
// not when the function starts.
var pages = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}} – Light Lunch</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;font-size:1.125rem;line-height:1.5;color:#1b1b1b;background:#fff;max-width:40rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.75rem;line-height:1.2}
a{color:#1d4f91}
a:focus{outline:3px solid #ffbf47;outline-offset:2px}
button{font:inherit;padding:.6rem 1.2rem;border:2px solid #8a1c1c;background:#8a1c1c;color:#fff;border-radius:4px;cursor:pointer}
button:focus{outline:3px solid #ffbf47;outline-offset:2px}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{range .Paragraphs}}<p>{{.}}</p>
{{end}}{{if .Status}}<p role="status">{{.Status}}</p>
{{end}}{{if .Action}}<form method="post" action="{{.Action}}">
<button type="submit">{{.Button}}</button>
</form>
{{end}}{{if .LinkURL}}<p><a href="{{.LinkURL}}">{{.LinkText}}</a></p>
{{end}}</main>
</body>
</html>
`))
})

// pageData is one page: a title (the h1), paragraphs, a status message (announced by screen
// readers), and optionally a form with one button that posts to Action, and a link.
type pageData struct {
	Title      string
	Paragraphs []string
	Status     string
	Action     string // the form's action; no form when ""
	Button     string
	LinkURL    string
	LinkText   string
}

// pageCSP lets a page use its own inline style and post its form to its own origin, and
// nothing else.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func render(status int, d pageData) httpapi.Response {
	var buf bytes.Buffer
	if err := pages().Execute(&buf, d); err != nil {
		// Only a template bug fails; the template is parsed and tested at build.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Error</title><p>Something went wrong.</p>")
	}
	h := map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": pageCSP,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
	}
	privateHeaders(h)
	return httpapi.Response{StatusCode: status, Headers: h, Body: buf.String()}
}

// privateHeaders are the headers of every response to a link with a token: never cached,
// never sent on as a referrer, never indexed.
func privateHeaders(h map[string]string) {
	h["Cache-Control"] = "no-store"
	h["Referrer-Policy"] = "no-referrer"
	h["X-Robots-Tag"] = "noindex"
}

// archiveCSP is the archive pages' policy: the issue's own inline styles, images from https
// (a mail's images are absolute links; the issue reads without them), no script, no forms.
const archiveCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// cachedHTML returns body as a 200 HTML page with an ETag (a hash of the body) and
// cacheControl, or a bodiless 304 when the request's If-None-Match already names that ETag,
// as httpapi.CachedJSON does for JSON.
func cachedHTML(req httpapi.Request, body, cacheControl string) httpapi.Response {
	sum := sha256.Sum256([]byte(body))
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	h := map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": archiveCSP,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           cacheControl,
		"ETag":                    etag,
	}
	if matchesETag(httpapi.Header(req, "If-None-Match"), etag) {
		delete(h, "Content-Type")
		return httpapi.Response{StatusCode: http.StatusNotModified, Headers: h}
	}
	return httpapi.Response{StatusCode: http.StatusOK, Headers: h, Body: body}
}

// matchesETag reports whether an If-None-Match header value names etag (weak comparison).
func matchesETag(header, etag string) bool {
	for candidate := range strings.SplitSeq(header, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == etag {
			return true
		}
	}
	return false
}
