package markdown

import (
	"bytes"
	"sectorhub/shared/htmlsafe"
	"strings"
	"sync"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// ExternalRel is the rel of every link to another site.
const ExternalRel = htmlsafe.ExternalRel

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
		if htmlsafe.IsExternal(string(dest)) {
			n.SetAttributeString("rel", []byte(ExternalRel))
		}
		return ast.WalkContinue, nil
	})
}

// Render renders a Markdown body to sanitised HTML, and returns its plain text (for search and
// the reading time), words separated by single spaces.
func Render(body []byte) (htmlOut, plain string, err error) {
	var buf bytes.Buffer
	if err := converter().Convert(body, &buf); err != nil {
		return "", "", err
	}
	htmlOut = Sanitise(buf.String())
	plain = strings.Join(strings.Fields(htmlsafe.PlainText(htmlOut)), " ")
	return htmlOut, plain, nil
}

// Sanitise passes HTML through the allow-list. Render applies it to everything it renders, so
// that nothing the renderer lets through by mistake reaches a page.
func Sanitise(s string) string { return htmlsafe.Sanitise(s) }
