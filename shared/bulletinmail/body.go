package bulletinmail

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// The body in the mail. It arrives as markdown.Sanitise leaves it (its elements and
// attributes from a short allow-list, no style, URLs http, https, mailto or relative), and
// is written again element by element: with inline styles (mail clients drop style
// sheets), headings one level down (the subject is the only h1), relative links and image
// sources made absolute on the site (a mail has no base URL) and images without alt text
// given an empty one. Its plain text is written from the same HTML (bodyText), keeping
// paragraphs, lists, headings and link URLs that the issue's own Text (one line of words)
// has lost.

// bodyStyles are the inline styles of the body's elements, by their name once demoted.
var bodyStyles = map[string]string{
	"p":          styleP,
	"h2":         "margin:28px 0 12px;font-size:22px;line-height:1.3;font-weight:bold;color:#1a1a1a;",
	"h3":         "margin:24px 0 8px;font-size:19px;line-height:1.35;font-weight:bold;color:#1a1a1a;",
	"h4":         "margin:20px 0 8px;font-size:17px;line-height:1.4;font-weight:bold;color:#1a1a1a;",
	"h5":         "margin:20px 0 8px;font-size:16px;line-height:1.4;font-weight:bold;color:#1a1a1a;",
	"h6":         "margin:20px 0 8px;font-size:16px;line-height:1.4;font-weight:bold;color:#1a1a1a;",
	"a":          styleLink,
	"ul":         "margin:0 0 16px;padding:0 0 0 24px;",
	"ol":         "margin:0 0 16px;padding:0 0 0 24px;",
	"li":         "margin:0 0 8px;",
	"blockquote": "margin:0 0 16px;padding:0 0 0 16px;border-left:4px solid #b1b4b6;color:#454545;",
	"pre":        "margin:0 0 16px;padding:12px;background-color:#f3f2f1;white-space:pre-wrap;font-family:Consolas,Menlo,monospace;font-size:14px;",
	"code":       "font-family:Consolas,Menlo,monospace;font-size:14px;",
	"table":      "margin:0 0 16px;border-collapse:collapse;width:100%;",
	"th":         "padding:6px 8px;border:1px solid #b1b4b6;font-weight:bold;vertical-align:top;",
	"td":         "padding:6px 8px;border:1px solid #b1b4b6;vertical-align:top;",
	"img":        "max-width:100%;height:auto;border:0;",
	"hr":         "margin:24px 0;border:0;border-top:1px solid #b1b4b6;",
}

// demoted is the name of element tag in the mail: a heading one level down (h6 stays).
func demoted(tag string) string {
	if len(tag) == 2 && tag[0] == 'h' && '1' <= tag[1] && tag[1] <= '5' {
		return "h" + string(tag[1]+1)
	}
	return tag
}

// styleBody writes the sanitised body h as the mail shows it.
func styleBody(h, site string) string {
	var b strings.Builder
	b.Grow(len(h) * 2)
	z := html.NewTokenizer(strings.NewReader(h))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return b.String()
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			name := demoted(tok.Data)
			b.WriteString("<" + name)
			align, alt := "", false
			for _, a := range tok.Attr {
				v := a.Val
				switch {
				case a.Key == "style" || a.Namespace != "":
					continue // Sanitise leaves neither; never keep one
				case a.Key == "href" && name == "a", a.Key == "src" && name == "img":
					v = absURL(site, v)
				case a.Key == "align":
					align = v
				case a.Key == "alt":
					alt = true
				}
				b.WriteString(" " + a.Key + `="` + html.EscapeString(v) + `"`)
			}
			if name == "img" && !alt {
				b.WriteString(` alt=""`)
			}
			if st := bodyStyles[name]; st != "" {
				if name == "th" || name == "td" {
					switch align {
					case "center", "right":
						st += "text-align:" + align + ";"
					default:
						st += "text-align:left;"
					}
				}
				b.WriteString(` style="` + st + `"`)
			}
			if tt == html.SelfClosingTagToken {
				b.WriteString("/")
			}
			b.WriteString(">")
		case html.EndTagToken:
			b.WriteString("</" + demoted(z.Token().Data) + ">")
		case html.TextToken:
			b.WriteString(html.EscapeString(string(z.Text())))
		}
	}
}

// absURL makes a relative link or image source absolute on the site: "/x" and "x" become
// site + "/x", "//host/x" becomes "https://host/x"; a fragment ("#x") and a URL with a
// scheme are left as they are.
func absURL(site, v string) string {
	v = strings.TrimSpace(v)
	u, err := url.Parse(v)
	switch {
	case err != nil, u.Scheme != "", v == "", strings.HasPrefix(v, "#"):
		return v
	case strings.HasPrefix(v, "//"):
		return "https:" + v
	case strings.HasPrefix(v, "/"):
		return site + v
	}
	return site + "/" + v
}

// textWriter writes HTML as plain text: blocks separated by blank lines, runs of white space
// made one space outside pre.
type textWriter struct {
	b     strings.Builder
	space bool // white space was seen since the last word
	pre   int  // depth inside pre
	lists []textList
}

type textList struct {
	ordered bool
	n       int // the number of the last item of an ordered list
}

func (w *textWriter) atLineStart() bool {
	s := w.b.String()
	return s == "" || s[len(s)-1] == '\n'
}

// newline ends the current line, if it has anything on it.
func (w *textWriter) newline() {
	if !w.atLineStart() {
		w.b.WriteByte('\n')
	}
	w.space = false
}

// blank leaves one empty line before what follows (none at the start).
func (w *textWriter) blank() {
	w.newline()
	if s := w.b.String(); s != "" && !strings.HasSuffix(s, "\n\n") {
		w.b.WriteByte('\n')
	}
}

// text writes s, its white space collapsed outside pre.
func (w *textWriter) text(s string) {
	if w.pre > 0 {
		w.b.WriteString(s)
		w.space = false
		return
	}
	for s != "" {
		i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsSpace(r) })
		if i < 0 {
			w.space = true
			return
		}
		if i > 0 {
			w.space = true
		}
		s = s[i:]
		j := strings.IndexFunc(s, unicode.IsSpace)
		if j < 0 {
			j = len(s)
		}
		w.word(s[:j], w.space)
		w.space = false
		s = s[j:]
	}
}

// word writes a word, after a space when space and the line has text on it.
func (w *textWriter) word(word string, space bool) {
	if space && !w.atLineStart() && !strings.HasSuffix(w.b.String(), " ") {
		w.b.WriteByte(' ')
	}
	w.b.WriteString(word)
}

// bodyText writes the sanitised body h as plain text: headings on their own lines (h1 and h2
// underlined), list items after "- " or their number, table cells separated by " | ", and
// each link's text followed by its absolute URL in brackets (unless the text is the URL).
func bodyText(h, site string) string {
	var w textWriter
	z := html.NewTokenizer(strings.NewReader(h))
	headingAt, linkAt, link, cells := -1, 0, "", 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return strings.TrimSpace(w.b.String())
		case html.TextToken:
			w.text(string(z.Text()))
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "p", "blockquote", "table":
				w.blank()
			case "pre":
				w.blank()
				w.pre++
			case "h1", "h2", "h3", "h4", "h5", "h6":
				w.blank()
				headingAt = w.b.Len()
			case "ul", "ol":
				if len(w.lists) == 0 {
					w.blank()
				} else {
					w.newline()
				}
				l := textList{ordered: tok.Data == "ol"}
				if s := attr(tok, "start"); s != "" {
					if n, err := strconv.Atoi(s); err == nil {
						l.n = n - 1
					}
				}
				w.lists = append(w.lists, l)
			case "li":
				w.newline()
				marker := "- "
				if n := len(w.lists); n > 0 {
					w.b.WriteString(strings.Repeat("  ", n-1))
					if l := &w.lists[n-1]; l.ordered {
						l.n++
						marker = strconv.Itoa(l.n) + ". "
					}
				}
				w.b.WriteString(marker)
			case "br":
				w.b.WriteByte('\n')
				w.space = false
			case "hr":
				w.blank()
				w.b.WriteString("----")
				w.blank()
			case "tr":
				w.newline()
				cells = 0
			case "td", "th":
				if cells > 0 {
					w.b.WriteString(" | ")
					w.space = false
				}
				cells++
			case "a":
				link, linkAt = "", w.b.Len()
				if href := attr(tok, "href"); href != "" && !strings.HasPrefix(href, "#") {
					link = absURL(site, href)
				}
			case "img":
				if alt := strings.TrimSpace(attr(tok, "alt")); alt != "" {
					w.word("["+strings.Join(strings.Fields(alt), " ")+"]", true)
				}
			}
		case html.EndTagToken:
			switch tag := z.Token().Data; tag {
			case "p", "blockquote", "table":
				w.blank()
			case "pre":
				w.pre = max(0, w.pre-1)
				w.blank()
			case "h1", "h2", "h3", "h4", "h5", "h6":
				if headingAt >= 0 && (tag == "h1" || tag == "h2") {
					n := utf8.RuneCountInString(strings.TrimSpace(w.b.String()[headingAt:]))
					w.newline()
					w.b.WriteString(strings.Repeat("-", max(3, n)))
				}
				headingAt = -1
				w.blank()
			case "ul", "ol":
				if len(w.lists) > 0 {
					w.lists = w.lists[:len(w.lists)-1]
				}
				if len(w.lists) == 0 {
					w.blank()
				} else {
					w.newline()
				}
			case "a":
				if link != "" && linkAt <= w.b.Len() {
					shown := strings.TrimSpace(w.b.String()[linkAt:])
					if shown != link && "mailto:"+shown != link {
						w.word("("+link+")", true)
					}
				}
				link = ""
			}
		}
	}
}

// attr returns tok's attribute key, or "".
func attr(tok html.Token, key string) string {
	for _, a := range tok.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val
		}
	}
	return ""
}
