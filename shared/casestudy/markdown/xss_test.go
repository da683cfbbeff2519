package markdown_test

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"sectorhub/shared/casestudy/markdown"
)

// xssVectors are bodies that try to get script into the stored HTML: raw HTML blocks and
// inline tags, event handlers, dangerous URL schemes in links and images (plain, with case,
// whitespace, entities and percent-encoding), SVG and MathML, style, iframes, objects, forms,
// meta refresh, base, and Markdown-specific tricks (reference links, autolinks, titles).
var xssVectors = []string{
	`<script>alert(1)</script>`,
	`<SCRIPT SRC=//evil.example/x.js></SCRIPT>`,
	"text <script>alert(1)</script> inline",
	`<img src=x onerror=alert(1)>`,
	`<img src="x" onerror="alert(1)">`,
	"![x](x\" onerror=\"alert(1))",
	`<svg onload=alert(1)>`,
	`<svg><script>alert(1)</script></svg>`,
	`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	`<iframe src="javascript:alert(1)"></iframe>`,
	`<iframe srcdoc="<script>alert(1)</script>"></iframe>`,
	`<object data="javascript:alert(1)"></object>`,
	`<embed src="javascript:alert(1)">`,
	`<style>body{background:url(javascript:alert(1))}</style>`,
	`<div style="background:url(javascript:alert(1))">x</div>`,
	`<a href="javascript:alert(1)">x</a>`,
	`[click](javascript:alert(1))`,
	`[click](JaVaScRiPt:alert(1))`,
	`[click](  javascript:alert(1))`,
	`[click](javascript&#58;alert(1))`,
	`[click](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))`,
	`[click](java%0ascript:alert(1))`,
	"[click](java\tscript:alert(1))",
	`[click](vbscript:msgbox(1))`,
	`[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
	`![img](javascript:alert(1))`,
	`![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)`,
	`![img](data:image/png;base64,iVBORw0KGgo=)`,
	"[ref]\n\n[ref]: javascript:alert(1)",
	"[ref]\n\n[ref]: data:text/html,<script>alert(1)</script>",
	`<javascript:alert(1)>`,
	`[x](https://example.org "title\" onmouseover=\"alert(1)")`,
	`<a href="https://example.org" onclick="alert(1)">x</a>`,
	`<details open ontoggle=alert(1)>`,
	`<form action="javascript:alert(1)"><input type=submit></form>`,
	`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
	`<base href="javascript:alert(1)//">`,
	`<body onload=alert(1)>`,
	`<!--><script>alert(1)</script>-->`,
	`<![CDATA[<script>alert(1)</script>]]>`,
	"```html\n<script>alert(1)</script>\n```", // shown as code, escaped
	"`<img src=x onerror=alert(1)>`",          // likewise
	`&lt;script&gt;alert(1)&lt;/script&gt;`,   // an entity stays text
	"| a |\n|---|\n| <img src=x onerror=alert(1)> |",
	"# <img src=x onerror=alert(1)>",
	`<scr<script>ipt>alert(1)</script>`,
	`<a href="&#x6A;avascript:alert(1)">x</a>`,
	"<a\nhref=\"javascript:alert(1)\">x</a>",
	`<video><source onerror="alert(1)"></video>`,
	`<link rel="stylesheet" href="javascript:alert(1)">`,
}

// unsafe returns what in h, read as a browser reads HTML, is not on the allow-list: an
// element other than those Markdown makes, an attribute other than the few allowed (so no
// event handler or style), or a link or image URL with a scheme other than http, https or
// mailto (so no javascript:, vbscript: or data:). "" means h is safe.
func unsafe(h string) string {
	z := html.NewTokenizer(strings.NewReader(h))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tok := z.Token()
			if !allowedElem[tok.Data] {
				return "element <" + tok.Data + ">"
			}
			for _, a := range tok.Attr {
				if !allowedAttr[a.Key] {
					return "attribute " + a.Key + " on <" + tok.Data + ">"
				}
				if a.Key == "href" || a.Key == "src" {
					u, err := url.Parse(strings.TrimSpace(a.Val))
					if err != nil {
						return "unparseable URL " + a.Val
					}
					switch strings.ToLower(u.Scheme) {
					case "", "http", "https", "mailto":
					default:
						return "URL " + a.Val
					}
				}
			}
		}
	}
}

var (
	allowedElem = map[string]bool{}
	allowedAttr = map[string]bool{"href": true, "rel": true, "src": true, "alt": true, "title": true, "id": true, "start": true, "align": true, "class": true}
)

func init() {
	for _, e := range strings.Fields("p br hr h1 h2 h3 h4 h5 h6 blockquote ul ol li pre code em strong del table thead tbody tr th td a img") {
		allowedElem[e] = true
	}
}

func TestXSSVectorsNeverReachTheHTML(t *testing.T) {
	if len(xssVectors) < 30 {
		t.Fatalf("%d vectors; the test wants at least 30", len(xssVectors))
	}
	for _, v := range xssVectors {
		h, _, err := markdown.Render([]byte(v + "\n\nSome text.\n"))
		if err != nil {
			t.Fatalf("Render(%q): %v", v, err)
		}
		if what := unsafe(h); what != "" {
			t.Errorf("Render(%q) = %q: holds %s", v, h, what)
		}
	}
}

// The same list, straight through the sanitiser (the backstop should the renderer ever pass
// raw HTML through).
func TestSanitiseRawVectors(t *testing.T) {
	for _, v := range xssVectors {
		h := markdown.Sanitise(v)
		if what := unsafe(h); what != "" {
			t.Errorf("Sanitise(%q) = %q: holds %s", v, h, what)
		}
	}
}

// The checker itself catches each kind of thing it looks for.
func TestUnsafeCatches(t *testing.T) {
	for _, h := range []string{
		`<script>x</script>`, `<p onclick="x">a</p>`, `<a href="javascript:x">a</a>`, `<a href=" JAVASCRIPT:x">a</a>`,
		`<img src="data:image/png;base64,AA">`, `<p style="x">a</p>`, `<svg></svg>`, `<a href="vbscript:x">a</a>`,
	} {
		if unsafe(h) == "" {
			t.Errorf("unsafe(%q) = \"\"; want it caught", h)
		}
	}
	if what := unsafe(`<p>a <a href="https://x.example" rel="nofollow noopener">b</a> &lt;script&gt; onerror=1</p>`); what != "" {
		t.Errorf("unsafe(safe HTML) = %q; want \"\"", what)
	}
}

func TestRenderLinksAndTables(t *testing.T) {
	for _, tc := range []struct{ md, want string }{
		{"[a](https://example.org/x)", `<a href="https://example.org/x" rel="nofollow noopener">a</a>`},
		{"<https://example.org>", `<a href="https://example.org" rel="nofollow noopener">https://example.org</a>`},
		{"[a](//example.org)", `<a href="//example.org" rel="nofollow noopener">a</a>`},
		// Browsers read http:/host as http://host/: external too, though it names no host.
		{"[a](http:/evil.example)", `<a href="http:/evil.example" rel="nofollow noopener">a</a>`},
		{"[a](/directory)", `<a href="/directory">a</a>`},
		{"[a](mailto:hello@example.org)", `<a href="mailto:hello@example.org">a</a>`},
		{"## Why it works\n", `<h2 id="why-it-works">Why it works</h2>`},
		{"| a | b |\n|:--|--:|\n| 1 | 2 |\n", `<th align="left">a</th>`},
		{"| a | b |\n|---|---|\n| 1 | 2 |\n", "<td>2</td>"},
		{"<div>raw block</div>\n\npara", "<p>para</p>"},
		{"3. three\n4. four\n", `<ol start="3">`},
	} {
		h, _, err := markdown.Render([]byte(tc.md))
		if err != nil || !strings.Contains(h, tc.want) {
			t.Errorf("Render(%q) = %q, %v; want it to contain %q", tc.md, h, err, tc.want)
		}
		if strings.Contains(h, "raw block") {
			t.Errorf("Render(%q) = %q: raw HTML passed through", tc.md, h)
		}
	}
}
