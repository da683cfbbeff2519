package bulletinmail

import (
	"strings"
	"testing"

	"sectorhub/shared/casestudy/markdown"
)

func TestBodyText(t *testing.T) {
	tests := []struct{ name, html, want string }{
		{"paragraphs", "<p>One\n  two</p><p>Three</p>", "One two\n\nThree"},
		{"inline elements keep their spaces", "<p>a <strong>bold</strong> word, <em>x</em>y</p>", "a bold word, xy"},
		{"headings: h1 and h2 underlined", "<h1>Title</h1><p>a</p><h2>Zoë</h2><h3>Small</h3><p>b</p>", "Title\n-----\n\na\n\nZoë\n---\n\nSmall\n\nb"},
		{"lists", "<ul><li>a</li><li>b<ol start=\"3\"><li>c</li><li>d</li></ol></li></ul><p>e</p>", "- a\n- b\n  3. c\n  4. d\n\ne"},
		{"link with text", `<p>See <a href="/guides">our guide</a>.</p>`, "See our guide (https://www.example.org/guides)."},
		{"link that is its URL", `<p><a href="https://x.example/">https://x.example/</a></p>`, "https://x.example/"},
		{"mailto link showing the address", `<p><a href="mailto:a@example.org">a@example.org</a></p>`, "a@example.org"},
		{"fragment link", `<p><a href="#top">Top</a></p>`, "Top"},
		{"image alt", `<p><img src="/a.png" alt="A  chart"> after</p>`, "[A chart] after"},
		{"image without alt", `<p>x<img src="/a.png"></p>`, "x"},
		{"line break", "<p>a<br>b<br><br>c</p>", "a\nb\n\nc"},
		{"pre keeps its lines", "<pre><code>a  b\n  c\n</code></pre><p>d</p>", "a  b\n  c\n\nd"},
		{"table", "<table><thead><tr><th>A</th><th>B</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>", "A | B\n1 | 2"},
		{"rule", "<p>a</p><hr><p>b</p>", "a\n\n----\n\nb"},
		{"entities decoded", "<p>Fish &amp; chips &lt;3</p>", "Fish & chips <3"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := bodyText(tc.html, siteURL); got != tc.want {
				t.Errorf("bodyText(%q) = %q; want %q", tc.html, got, tc.want)
			}
		})
	}
}

func TestStyleBody(t *testing.T) {
	tests := []struct{ name, html, want string }{
		{"paragraph styled, text escaped", "<p>a &lt;b&gt; &amp; c</p>", `<p style="` + styleP + `">a &lt;b&gt; &amp; c</p>`},
		{"headings one level down", "<h1 id=\"x\">A</h1><h6>B</h6>", `<h2 id="x" style="` + bodyStyles["h2"] + `">A</h2><h6 style="` + bodyStyles["h6"] + `">B</h6>`},
		{"relative link made absolute", `<a href="/a?b=1&amp;c=2">x</a>`, `<a href="https://www.example.org/a?b=1&amp;c=2" style="` + styleLink + `">x</a>`},
		{"protocol-relative link", `<a href="//cdn.example/x">x</a>`, `<a href="https://cdn.example/x" style="` + styleLink + `">x</a>`},
		{"external link kept", `<a href="https://x.example/" rel="nofollow noopener">x</a>`, `<a href="https://x.example/" rel="nofollow noopener" style="` + styleLink + `">x</a>`},
		{"image: absolute source, empty alt added", `<img src="pics/a.png">`, `<img src="https://www.example.org/pics/a.png" alt="" style="` + bodyStyles["img"] + `">`},
		{"cell alignment", `<td align="right">1</td><td>2</td>`, `<td align="right" style="` + bodyStyles["td"] + `text-align:right;">1</td><td style="` + bodyStyles["td"] + `text-align:left;">2</td>`},
		{"a style attribute is never kept", `<p style="color:red">x</p>`, `<p style="` + styleP + `">x</p>`},
		{"unstyled element", "<strong>x</strong>", "<strong>x</strong>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := styleBody(tc.html, siteURL); got != tc.want {
				t.Errorf("styleBody(%q) =\n%s\nwant\n%s", tc.html, got, tc.want)
			}
		})
	}
}

// TestBodyStaysSafe renders hostile Markdown through the upload's renderer and the mail's
// body: nothing active comes out.
func TestBodyStaysSafe(t *testing.T) {
	tests := []struct{ name, md string }{
		{"script", "<script>alert(1)</script>\n\nText"},
		{"javascript link", "[x](javascript:alert(1))"},
		{"event handler", `<img src="/a.png" onerror="alert(1)">`},
		{"style attribute", `<p style="background:url(javascript:alert(1))">x</p>`},
		{"data image", "![x](data:image/svg+xml;base64,PHN2Zz4=)"},
		{"attribute break-out", `[x](/a"onmouseover="alert(1))`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _, err := markdown.Render([]byte(tc.md))
			if err != nil {
				t.Fatal(err)
			}
			got := strings.ToLower(styleBody(markdown.Sanitise(h), siteURL))
			for _, bad := range []string{"<script", "javascript:", " onerror", " onmouseover", `"onmouseover`, "data:", "background:url"} {
				if strings.Contains(got, bad) {
					t.Errorf("styleBody(Render(%q)) = %s; holds %q", tc.md, got, bad)
				}
			}
		})
	}
}
