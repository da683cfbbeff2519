// Package markdown reads the upload format of a case study: a UTF-8 Markdown file with YAML
// front matter between --- lines,
//
//	---
//	title: Peer mentors on the wing           # required, at most 200 characters
//	summary: How a resettlement charity …     # required, at most 500 characters
//	published: 2026-10-14                     # required, YYYY-MM-DD
//	themes: [peer-support, mentoring]         # required, at least one: slugs or labels, any case
//	regions: [north-west]                     # optional: directory region slugs or labels
//	organisation: quillfeather-resettlement   # optional: an id in the published directory
//	author: Jo Example                        # optional, at most 200 characters
//	status: published                         # optional: published (the default) or draft
//	---
//	Body in CommonMark with GitHub tables, at most 200 KB.
//
// and renders the body to sanitised HTML. It runs at publish time only (the ingest function):
// the YAML parser and goldmark stay out of the public read function.
package markdown

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"sectorhub/shared/casestudy"
	"sectorhub/shared/frontmatter"
	"sectorhub/shared/imports"
)

// Limits of the upload format.
const (
	// MaxFileBytes is the largest file read: the body's 200 KB and room for the front matter.
	MaxFileBytes = casestudy.MaxBodyBytes + MaxFrontMatterBytes
	// MaxFrontMatterBytes bounds the front matter.
	MaxFrontMatterBytes = 16 << 10
	// MaxHTMLBytes bounds the rendered HTML, so that the stored case study stays well inside
	// DynamoDB's 400 KB item limit.
	MaxHTMLBytes = 300 << 10
)

// Fields of the front matter, in the order messages list them.
var fields = []string{"title", "summary", "published", "themes", "regions", "organisation", "author", "status"}

// Result is what Parse found in a file.
type Result struct {
	// Document is the case study; meaningful only when Problems is empty. Its Organisation,
	// if any, has only its ID: the caller checks it against the published directory and names
	// it.
	Document casestudy.Document
	// OrganisationLine is the line of the organisation field, for the caller's problem.
	OrganisationLine int
	// Problems lists every problem, in line order; lines are the file's.
	Problems []imports.Problem
}

func (r *Result) problem(line int, field, format string, args ...any) {
	r.Problems = append(r.Problems, imports.Problem{Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

// Parse reads the case study file data, published under slug.
func Parse(slug string, data []byte) Result {
	var r Result
	r.Document.Slug = slug
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if !utf8.Valid(data) {
		line := imports.InvalidUTF8Line(data)
		r.problem(line, "", "the file is not UTF-8 text (line %d): save it as UTF-8", line)
		return r
	}
	front, body, bodyLine, ok := frontmatter.Split(data)
	if !ok {
		r.problem(1, "", "a case study starts with its front matter: a line ---, the fields (title: …, summary: …, published: …, themes: […]), and another line ---")
		return r
	}
	if len(front) > MaxFrontMatterBytes {
		r.problem(2, "", "the front matter is %d bytes; the limit is %d", len(front), MaxFrontMatterBytes)
		return r
	}
	r.frontMatter(front)
	switch {
	case len(body) > casestudy.MaxBodyBytes:
		r.problem(bodyLine, "", "the text after the front matter is %d bytes; the limit is %d (200 KB)", len(body), casestudy.MaxBodyBytes)
	case len(bytes.TrimSpace(body)) == 0:
		r.problem(bodyLine, "", "the case study has no text after the front matter")
	case !r.shapeFits(body, bodyLine):
		// Problems recorded: the text is shaped so that rendering it would take too long.
	default:
		h, plain, err := Render(body)
		switch {
		case err != nil:
			r.problem(bodyLine, "", "the text could not be read as Markdown: %v", err)
		case len(h) > MaxHTMLBytes:
			r.problem(bodyLine, "", "the text is too long once rendered as HTML (%d bytes; the limit is %d)", len(h), MaxHTMLBytes)
		case plain == "":
			r.problem(bodyLine, "", "the case study has no readable text after the front matter")
		default:
			r.Document.HTML = h
			r.Document.Text = plain
			r.Document.ReadingMinutes = casestudy.ReadingMinutes(len(strings.Fields(plain)))
		}
	}
	return r
}

// Limits on the shape of a case study's text, checked before it is rendered: a table pads
// every row to its header's width, so a few KB of table (a wide header and many one-word rows)
// would otherwise render millions of cells, and deep nesting makes the renderer slow.
const (
	MaxTableColumns = 32     // the most columns a table may have
	MaxTableCells   = 20_000 // the most cells all the tables may have together
	MaxNesting      = 16     // the most quotes and list levels one line may be inside
)

// shapeFits checks body (starting at line first of the file) against the limits above,
// recording a problem for each line that passes one, and reports whether it fits.
func (r *Result) shapeFits(body []byte, first int) bool {
	fits := true
	cells, columns := 0, 0 // columns is that of the table being read, 0 outside one
	lines := strings.Split(string(body), "\n")
	for i, line := range lines {
		n := first + i
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			columns = 0
		case columns > 0:
			cells += columns
		case i > 0 && isTableDelimiter(trimmed) && strings.Contains(lines[i-1], "|"):
			columns = strings.Count(strings.Trim(trimmed, "|"), "|") + 1
			if columns > MaxTableColumns {
				r.problem(n, "", "the table has %d columns; the limit is %d", columns, MaxTableColumns)
				fits = false
			}
			cells += 2 * columns // the header and this line
		}
		if depth := nesting(line); depth > MaxNesting {
			r.problem(n, "", "the line is nested %d quotes or lists deep; the limit is %d", depth, MaxNesting)
			fits = false
		}
	}
	if cells > MaxTableCells {
		r.problem(first, "", "the tables have %d cells in all (every row counts the columns of its table's header); the limit is %d", cells, MaxTableCells)
		fits = false
	}
	return fits
}

// isTableDelimiter reports whether a trimmed line is a table's delimiter row (|---|:--:|).
func isTableDelimiter(line string) bool {
	if !strings.Contains(line, "-") {
		return false
	}
	for _, c := range line {
		if !strings.ContainsRune("|-: \t", c) {
			return false
		}
	}
	return strings.Contains(line, "|") || strings.Count(line, "-") >= 3 && strings.ContainsRune(line, ':')
}

// nesting counts the quote markers and list markers a line opens with, each possibly indented.
func nesting(line string) int {
	depth := 0
	for {
		line = strings.TrimLeft(line, " \t")
		switch {
		case strings.HasPrefix(line, ">"):
			line = line[1:]
		case len(line) >= 2 && strings.ContainsRune("-*+", rune(line[0])) && (line[1] == ' ' || line[1] == '\t'):
			line = line[2:]
		default:
			return depth
		}
		depth++
	}
}

// frontMatter reads the fields. YAML line numbers count from the line after the opening ---,
// which is line 2 of the file.
func (r *Result) frontMatter(front []byte) {
	const offset = frontmatter.Offset
	m, line, problem := frontmatter.Fields(front, "title: Peer mentors on the wing")
	if problem != "" {
		r.problem(line, "", "%s", problem)
		return
	}
	seen := map[string]int{}
	d := &r.Document
	if m != nil {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			line := k.Line + offset
			if k.Kind != yaml.ScalarNode {
				r.problem(line, "", "a field name must be a word, such as title")
				continue
			}
			name := k.Value
			if first, dup := seen[name]; dup {
				r.problem(line, name, "%s is given twice (first on line %d)", name, first)
				continue
			}
			seen[name] = line
			if v.Kind == yaml.AliasNode || v.Anchor != "" {
				r.problem(line, name, "YAML anchors and aliases (& and *) are not allowed")
				continue
			}
			vline := v.Line + offset
			switch name {
			case "title":
				d.Title = r.text(vline, name, v, casestudy.MaxTitle, true)
			case "summary":
				d.Summary.Summary = r.text(vline, name, v, casestudy.MaxSummary, false)
			case "author":
				d.Author = r.text(vline, name, v, casestudy.MaxAuthor, true)
			case "published":
				if s := r.text(vline, name, v, 40, true); s != "" {
					if _, err := time.Parse(time.DateOnly, s); err != nil {
						r.problem(vline, name, "published must be a date written YYYY-MM-DD, such as 2026-10-14, not %s", quote(s))
					} else {
						d.Published = s
					}
				}
			case "themes":
				d.Themes = casestudy.SortThemes(r.terms(vline, name, v, "theme", casestudy.LookupTheme, themeSlugs))
			case "regions":
				d.Regions = casestudy.SortRegions(r.terms(vline, name, v, "region", casestudy.LookupRegion, regionSlugs))
			case "organisation":
				if id := r.text(vline, name, v, 64, true); id != "" {
					if !casestudy.ValidOrganisationID(id) {
						r.problem(vline, name, "organisation must be the id of an organisation in the directory (letters, digits, - and _), not %s", quote(id))
					} else {
						d.Organisation = &casestudy.Organisation{ID: id}
						r.OrganisationLine = vline
					}
				}
			case "status":
				switch s := strings.ToLower(r.text(vline, name, v, 20, true)); s {
				case "", "published":
				case "draft":
					d.Draft = true
				default:
					r.problem(vline, name, "status must be published or draft, not %s", quote(s))
				}
			default:
				msg := fmt.Sprintf("unknown field %s", quote(name))
				if near := nearest(name); near != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", near)
				}
				r.problem(line, name, "%s; the fields are %s", msg, strings.Join(fields, ", "))
			}
		}
	}
	for _, req := range []struct {
		name  string
		empty bool
	}{
		{"title", d.Title == ""},
		{"summary", d.Summary.Summary == ""},
		{"published", d.Published == ""},
		{"themes", len(d.Themes) == 0},
	} {
		if !req.empty || r.has(req.name) {
			continue
		}
		if line, ok := seen[req.name]; ok {
			r.problem(line, req.name, "%s must not be empty", req.name)
		} else {
			r.problem(1, req.name, "%s is required", req.name)
		}
	}
	// By line; problems of one line keep the order they were found in.
	slices.SortStableFunc(r.Problems, func(a, b imports.Problem) int { return a.Line - b.Line })
}

// has reports whether a problem was already reported for field.
func (r *Result) has(field string) bool {
	for _, p := range r.Problems {
		if p.Field == field {
			return true
		}
	}
	return false
}

// text returns the value of a text field, checked: one line (if oneLine; otherwise its runs
// of spaces and line breaks become single spaces), at most max characters, no control
// characters. Null or empty is "".
func (r *Result) text(line int, field string, v *yaml.Node, max int, oneLine bool) string {
	if v.Kind != yaml.ScalarNode {
		r.problem(line, field, "%s must be text, not a list or a set of fields", field)
		return ""
	}
	if v.Tag == "!!null" {
		return ""
	}
	s := strings.TrimSpace(v.Value)
	if !oneLine {
		s = strings.Join(strings.Fields(s), " ")
	}
	switch {
	case oneLine && strings.ContainsAny(s, "\r\n"):
		r.problem(line, field, "%s must be one line", field)
		return ""
	case strings.ContainsFunc(s, unicode.IsControl):
		r.problem(line, field, "%s holds a control character", field)
		return ""
	case utf8.RuneCountInString(s) > max:
		r.problem(line, field, "%s is %d characters; the limit is %d", field, utf8.RuneCountInString(s), max)
		return ""
	}
	return s
}

// terms reads a list of vocabulary terms: a YAML list ([a, b] or one "- a" a line) or one
// text of comma-separated terms. Every unknown term is a problem on its own line.
func (r *Result) terms(line int, field string, v *yaml.Node, noun string, lookup func(string) (string, bool), known func() string) []string {
	type item struct {
		line int
		s    string
	}
	var items []item
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag != "!!null" {
			for s := range strings.SplitSeq(v.Value, ",") {
				items = append(items, item{line, s})
			}
		}
	case yaml.SequenceNode:
		for _, c := range v.Content {
			if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
				r.problem(c.Line+1, field, "each of %s must be a %s's name", field, noun)
				continue
			}
			items = append(items, item{c.Line + 1, c.Value})
		}
	default:
		r.problem(line, field, "%s must be a list, such as [%s]", field, strings.SplitN(known(), ", ", 3)[0])
		return nil
	}
	var slugs []string
	for _, it := range items {
		s := strings.TrimSpace(it.s)
		if s == "" {
			continue
		}
		slug, ok := lookup(s)
		if !ok {
			r.problem(it.line, field, "unknown %s %s; the %ss are %s", noun, quote(s), noun, known())
			continue
		}
		slugs = append(slugs, slug)
	}
	return slugs
}

func themeSlugs() string {
	s := make([]string, len(casestudy.Themes))
	for i, t := range casestudy.Themes {
		s[i] = t.Slug
	}
	return strings.Join(s, ", ")
}

func regionSlugs() string {
	s := make([]string, len(casestudy.Regions.Terms))
	for i, t := range casestudy.Regions.Terms {
		s[i] = t.Slug
	}
	return strings.Join(s, ", ")
}

// nearest returns the field name within two edits of name (a typo), or "".
func nearest(name string) string {
	name = strings.ToLower(name)
	for _, f := range fields {
		if f == name || distance(f, name) <= 2 {
			return f
		}
	}
	return ""
}

// distance is the Levenshtein distance between a and b (short ASCII field names).
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// quote quotes s for a message, shortened if long.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 60 {
		s = string([]rune(s)[:60]) + "…"
	}
	return strconv.Quote(s)
}
