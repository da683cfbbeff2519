// Package htmlsafe is the allow-list every piece of HTML from staff uploads goes through
// before it reaches a page or a mail (case studies, bulletin issues, event descriptions):
// Markdown's elements and nothing else. It is its own package, apart from the Markdown
// renderer (casestudy/markdown), so that functions which only pass stored HTML through it
// (the bulletin's dispatch) do not link goldmark, whose start-up costs a cold start.
package htmlsafe

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// The allow-list the rendered HTML goes through: the elements Markdown produces and nothing
// else. Any other element is left out but its text kept (escaped), except the ones whose
// content is not text for a reader (script, style, iframe, svg, ...), which go whole. Only the
// attributes below survive, each checked; no style, no event handlers; URLs only http, https,
// mailto or relative (no javascript:, data:, vbscript:), and parseable. Comments and doctypes
// go. It is our own, on golang.org/x/net/html's tokenizer, rather than bluemonday, whose
// start-up (compiling its and its CSS parser's regular expressions) made the case-study
// ingest's cold start 2.3 times a hello-world's.
var allowedElements = map[string]bool{
	"p": true, "br": true, "hr": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"blockquote": true, "ul": true, "ol": true, "li": true, "pre": true, "code": true, "em": true,
	"strong": true, "del": true, "table": true, "thead": true, "tbody": true, "tr": true, "th": true,
	"td": true, "a": true, "img": true,
}

// droppedWhole are the elements whose content goes with them.
var droppedWhole = map[string]bool{
	"script": true, "style": true, "iframe": true, "noembed": true, "noframes": true, "noscript": true,
	"xmp": true, "plaintext": true, "textarea": true, "title": true, "template": true, "object": true,
	"embed": true, "svg": true, "math": true, "select": true, "head": true,
}

// only reports whether v is 1 to max characters, each of them ASCII letters or digits or in
// extra. (Hand-written checks rather than regular expressions, compiled at every cold start.)
func only(v string, max int, letters bool, extra string) bool {
	if v == "" || len(v) > max {
		return false
	}
	for _, c := range v {
		switch {
		case '0' <= c && c <= '9':
		case letters && ('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'):
		case c < 128 && strings.ContainsRune(extra, c):
		default:
			return false
		}
	}
	return true
}

// allowedAttribute reports whether attribute key=val may stay on element tag.
func allowedAttribute(tag, key, val string) bool {
	switch {
	case key == "id" && len(tag) == 2 && tag[0] == 'h':
		return only(val, 120, true, "_-")
	case key == "start" && tag == "ol":
		return only(val, 9, false, "")
	case key == "align" && (tag == "th" || tag == "td"):
		return val == "left" || val == "center" || val == "right"
	case key == "class" && tag == "code":
		lang, ok := strings.CutPrefix(val, "language-")
		return ok && only(lang, 40, true, "_+#.-")
	case key == "href" && tag == "a", key == "src" && tag == "img":
		return safeURL(val)
	case key == "rel" && tag == "a":
		return val == ExternalRel
	case key == "alt" && tag == "img", key == "title" && (tag == "a" || tag == "img"):
		return true
	}
	return false
}

// safeURL reports whether a link or image URL is parseable and http, https, mailto or relative.
func safeURL(v string) bool {
	u, err := url.Parse(v)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "mailto":
		return true
	case "":
		return u.Opaque == ""
	}
	return false
}

// sanitise writes what of s the allow-list keeps to w.
func sanitise(w *strings.Builder, s string) {
	z := html.NewTokenizer(strings.NewReader(s))
	skip := 0 // depth inside droppedWhole elements
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return // the end of s (reading a string, the tokenizer meets no other error)
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			if droppedWhole[tok.Data] {
				if tt == html.StartTagToken {
					skip++
				}
				continue
			}
			if skip > 0 || !allowedElements[tok.Data] {
				continue
			}
			writeTag(w, tok, tt == html.SelfClosingTagToken)
		case html.EndTagToken:
			if droppedWhole[tok.Data] {
				if skip > 0 {
					skip--
				}
				continue
			}
			if skip == 0 && allowedElements[tok.Data] {
				w.WriteString("</" + tok.Data + ">")
			}
		case html.TextToken:
			if skip == 0 {
				w.WriteString(html.EscapeString(tok.Data))
			}
		}
	}
}

// writeTag writes tok with only its allowed attributes; a link to another site always gets
// rel="nofollow noopener" (the renderer sets it; this is the backstop).
func writeTag(w *strings.Builder, tok html.Token, selfClosing bool) {
	w.WriteString("<" + tok.Data)
	hasRel, external := false, false
	for _, a := range tok.Attr {
		if a.Namespace != "" || !allowedAttribute(tok.Data, a.Key, a.Val) {
			continue
		}
		switch a.Key {
		case "rel":
			hasRel = true
		case "href":
			external = IsExternal(a.Val)
		}
		w.WriteString(" " + a.Key + `="` + html.EscapeString(a.Val) + `"`)
	}
	if tok.Data == "a" && external && !hasRel {
		w.WriteString(` rel="` + ExternalRel + `"`)
	}
	if selfClosing {
		w.WriteString("/")
	}
	w.WriteString(">")
}

// PlainText returns the text of HTML, a space where each tag was.
func PlainText(s string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			b.Write(z.Text())
		default:
			b.WriteByte(' ')
		}
	}
}

// Sanitise passes HTML through the allow-list.
func Sanitise(s string) string {
	var b strings.Builder
	sanitise(&b, s)
	return strings.TrimSpace(b.String())
}

// ExternalRel is the rel of every link to another site.
const ExternalRel = "nofollow noopener"

// IsExternal reports whether a link leaves the site: it names a host (https://…, //…) or a
// scheme other than mailto (browsers read http:/host as http://host/).
func IsExternal(dest string) bool {
	u, err := url.Parse(strings.TrimSpace(dest))
	return err != nil || u.Host != "" || u.Scheme != "" && u.Scheme != "mailto"
}
