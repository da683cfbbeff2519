package markdown

import (
	"bytes"
	"html"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// ExternalRel is the rel of every link to another site.
const ExternalRel = "nofollow noopener"

// converter renders CommonMark with GitHub tables; headings get ids; raw HTML is left out
// (goldmark without WithUnsafe writes a comment in its place, which sanitising drops); links
// to other sites get rel="nofollow noopener". Built on first use, not at init.
var converter = sync.OnceValue(func() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute))),
		goldmark.WithParserOptions(
			parser.WithAutoHeadingID(),
			parser.WithASTTransformers(util.Prioritized(externalLinks{}, 1000)),
		),
	)
})

// externalLinks marks links to other sites with rel="nofollow noopener": search engines do not
// take them as the charity's endorsement, and the page opened cannot reach back to the site.
type externalLinks struct{}

func (externalLinks) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	src := reader.Source()
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		var dest []byte
		switch l := n.(type) {
		case *ast.Link:
			dest = l.Destination
		case *ast.AutoLink:
			if l.AutoLinkType != ast.AutoLinkURL {
				return ast.WalkContinue, nil
			}
			dest = l.URL(src)
		default:
			return ast.WalkContinue, nil
		}
		if external(string(dest)) {
			n.SetAttributeString("rel", []byte(ExternalRel))
		}
		return ast.WalkContinue, nil
	})
}

// external reports whether a link leaves the site: it names a host (https://…, //…) or a
// scheme other than mailto (browsers read http:/host as http://host/).
func external(dest string) bool {
	u, err := url.Parse(strings.TrimSpace(dest))
	return err != nil || u.Host != "" || u.Scheme != "" && u.Scheme != "mailto"
}

// policy is the allow-list the rendered HTML goes through: the elements Markdown produces and
// nothing else; no style, no event handlers, no script, style, iframe, svg, form or object
// elements; URLs only http, https, mailto or relative (no javascript:, data:, vbscript:).
var policy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li",
		"pre", "code", "em", "strong", "del", "table", "thead", "tbody", "tr", "th", "td")
	p.AllowAttrs("id").Matching(regexp.MustCompile(`^[A-Za-z0-9_-]{1,120}$`)).OnElements("h1", "h2", "h3", "h4", "h5", "h6")
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]{1,9}$`)).OnElements("ol")
	p.AllowAttrs("align").Matching(regexp.MustCompile(`^(left|center|right)$`)).OnElements("th", "td")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[A-Za-z0-9_+#.-]{1,40}$`)).OnElements("code")
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^` + ExternalRel + `$`)).OnElements("a")
	p.AllowAttrs("src", "alt").OnElements("img")
	p.AllowAttrs("title").OnElements("a", "img")
	p.AllowURLSchemes("http", "https", "mailto")
	p.AllowRelativeURLs(true)
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnFullyQualifiedLinks(true) // a backstop: the renderer sets rel already
	return p
})

// textPolicy keeps only the text of sanitised HTML, a space where each tag was.
var textPolicy = sync.OnceValue(func() *bluemonday.Policy {
	return bluemonday.StrictPolicy().AddSpaceWhenStrippingTag(true)
})

// Render renders a Markdown body to sanitised HTML, and returns its plain text (for search and
// the reading time), words separated by single spaces.
func Render(body []byte) (htmlOut, plain string, err error) {
	var buf bytes.Buffer
	if err := converter().Convert(body, &buf); err != nil {
		return "", "", err
	}
	htmlOut = Sanitise(buf.String())
	plain = strings.Join(strings.Fields(html.UnescapeString(textPolicy().Sanitize(htmlOut))), " ")
	return htmlOut, plain, nil
}

// Sanitise passes HTML through the allow-list. Render applies it to everything it renders, so
// that nothing the renderer lets through by mistake reaches a page.
func Sanitise(s string) string {
	return strings.TrimSpace(policy().Sanitize(s))
}
