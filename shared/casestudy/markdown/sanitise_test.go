package markdown_test

import (
	"testing"

	"sectorhub/shared/casestudy/markdown"
)

// TestSanitiseAllowList: what the allow-list keeps, exactly, of HTML the renderer could be
// tricked into writing.
func TestSanitiseAllowList(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"style and handlers go", `<p style="color:red" onclick="x()">a</p>`, `<p>a</p>`},
		{"upper-case script goes whole", `<SCRIPT>alert(1)</SCRIPT><p>b</p>`, `<p>b</p>`},
		{"entity-encoded javascript URL", `<a href="&#106;avascript:alert(1)">c</a>`, `<a>c</a>`},
		{"tab inside the scheme", `<a href="java&#x09;script:alert(1)">d</a>`, `<a>d</a>`},
		{"data URL image", `<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="e">`, `<img alt="e">`},
		{"script inside svg", `<svg><script>alert(1)</script><text>f</text></svg>g`, `g`},
		{"unknown element keeps its text", `<div><span>h</span></div>`, `h`},
		{"text is escaped", `<p>1 &lt; 2 &amp; "q"</p>`, `<p>1 &lt; 2 &amp; &#34;q&#34;</p>`},
		{"external link gets rel", `<a href="//evil.example/x">i</a>`, `<a href="//evil.example/x" rel="nofollow noopener">i</a>`},
		{"a rel other than ours goes", `<a href="/in" rel="opener">j</a>`, `<a href="/in">j</a>`},
		{"heading id checked", `<h2 id="ok-id">k</h2><h3 id="bad id">l</h3>`, `<h2 id="ok-id">k</h2><h3>l</h3>`},
		{"comments go", `<!-- raw HTML omitted --><p>m</p>`, `<p>m</p>`},
		{"namespaced attribute goes", `<a xlink:href="javascript:x" href="/ok">n</a>`, `<a href="/ok">n</a>`},
		{"iframe goes whole", `<iframe src="https://x.example">o</iframe>p`, `p`},
		{"list start checked", `<ol start="3"><li>q</li></ol><ol start="-1"><li>r</li></ol>`, `<ol start="3"><li>q</li></ol><ol><li>r</li></ol>`},
		{"cell align checked", `<td align="left">s</td><td align="justify">t</td>`, `<td align="left">s</td><td>t</td>`},
		{"code language checked", `<code class="language-go">u</code><code class="language-a b">v</code><code class="x">w</code>`, `<code class="language-go">u</code><code>v</code><code>w</code>`},
	}
	for _, tc := range tests {
		if got := markdown.Sanitise(tc.in); got != tc.want {
			t.Errorf("%s: Sanitise(%q) = %q; want %q", tc.name, tc.in, got, tc.want)
		}
	}
}
