package issuefile

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/casestudy/markdown"
	"sectorhub/shared/frontmatter"
	"sectorhub/shared/imports"
)

// issueFields are the fields of the front matter, in the order messages list them.
var issueFields = []string{"subject", "preheader", "send_at", "status"}

// IssueResult is what ParseIssue found in an upload.
type IssueResult struct {
	Issue    bulletin.Issue    // meaningful only when Problems is empty
	Problems []imports.Problem // every problem, in line order; lines are the file's, 0 for the key or the whole file
}

func (r *IssueResult) problem(line int, field, format string, args ...any) {
	r.Problems = append(r.Problems, imports.Problem{Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

// ParseIssue reads the issue uploaded as key, a UTF-8 Markdown file with YAML front matter
// between --- lines:
//
//	---
//	subject: "Light Lunch: funding news and a new peer mentors guide"   # required, one line, ≤ 150; quoted because of ": "
//	preheader: Three deadlines this month                             # optional, one line, ≤ 200
//	send_at: 2026-12-01T12:30:00Z                                     # optional, RFC 3339 with offset
//	status: ready                                                     # required: ready or draft
//	---
//	The body in CommonMark with GitHub tables.
//
// at most bulletin.MaxIssueBytes in all. send_at defaults to 12:00 in London on the key's date; a ready
// issue's send_at may be at most bulletin.MaxSendAtPast before now, and no send_at more than
// bulletin.MaxSendAtAhead after it. Unknown and repeated fields are problems. Every problem found is
// listed, with the file's line and the field concerned.
func ParseIssue(key string, data []byte, now time.Time) IssueResult {
	var r IssueResult
	id, ok := bulletin.IssueID(key)
	if !ok {
		r.problem(0, "", "an issue is uploaded as bulletins/YYYY-MM-DD.md, named by a date that exists, such as bulletins/2026-12-01.md")
	}
	r.Issue.ID = id
	if len(data) > bulletin.MaxIssueBytes {
		r.problem(0, "", "the file is %d bytes; the limit is %d (100 KB)", len(data), bulletin.MaxIssueBytes)
		return r
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if !utf8.Valid(data) {
		line := imports.InvalidUTF8Line(data)
		r.problem(line, "", "the file is not UTF-8 text (line %d): save it as UTF-8", line)
		return r
	}
	front, body, bodyLine, ok := frontmatter.Split(data)
	if !ok {
		r.problem(1, "", "an issue starts with its front matter: a line ---, the fields (subject: …, status: ready), and another line ---")
		return r
	}
	if len(front) > bulletin.MaxFrontMatterBytes {
		r.problem(2, "", "the front matter is %d bytes; the limit is %d", len(front), bulletin.MaxFrontMatterBytes)
		return r
	}
	r.frontMatter(front, id, now)
	if len(bytes.TrimSpace(body)) == 0 {
		r.problem(bodyLine, "", "the issue has no text after the front matter")
	} else {
		h, plain, err := markdown.Render(body)
		switch {
		case err != nil:
			r.problem(bodyLine, "", "the text could not be read as Markdown: %v", err)
		case len(h) > bulletin.MaxIssueHTML:
			r.problem(bodyLine, "", "the text is too long once rendered as HTML (%d bytes; the limit is %d)", len(h), bulletin.MaxIssueHTML)
		case plain == "":
			r.problem(bodyLine, "", "the issue has no readable text after the front matter")
		default:
			r.Issue.HTML, r.Issue.Text = h, plain
		}
	}
	// By line; problems of one line keep the order they were found in.
	slices.SortStableFunc(r.Problems, func(a, b imports.Problem) int { return a.Line - b.Line })
	if len(r.Problems) > 0 {
		r.Issue = bulletin.Issue{ID: id}
	}
	return r
}

// frontMatter reads the fields of front, the text between the --- lines; YAML's line 1 is
// the file's line 2.
func (r *IssueResult) frontMatter(front []byte, id string, now time.Time) {
	const offset = frontmatter.Offset
	m, line, problem := frontmatter.Fields(front, "subject: Light Lunch this week")
	if problem != "" {
		r.problem(line, "", "%s", problem)
		return
	}
	seen := map[string]int{}
	is := &r.Issue
	sendAtLine := 0
	if m != nil {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			line, vline := k.Line+offset, v.Line+offset
			if k.Kind != yaml.ScalarNode {
				r.problem(line, "", "a field name must be a word, such as subject")
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
			switch name {
			case "subject":
				is.Subject = r.text(vline, name, v, bulletin.MaxSubject)
			case "preheader":
				is.Preheader = r.text(vline, name, v, bulletin.MaxPreheader)
			case "send_at":
				if s := r.text(vline, name, v, 40); s != "" {
					t, err := time.Parse(time.RFC3339, s)
					if err != nil {
						r.problem(vline, name, "send_at must be a date and time with its offset from UTC (RFC 3339), such as 2026-12-01T12:00:00Z or 2026-06-02T12:00:00+01:00, not %s", quote(s))
					} else {
						is.SendAt, sendAtLine = t, vline
					}
				}
			case "status":
				switch s := strings.ToLower(r.text(vline, name, v, 20)); s {
				case "":
				case string(bulletin.Ready), string(bulletin.Draft):
					is.Status = bulletin.Status(s)
				default:
					r.problem(vline, name, "status must be ready or draft, not %s", quote(s))
				}
			default:
				r.problem(line, name, "unknown field %s; the fields are %s", quote(name), strings.Join(issueFields, ", "))
			}
		}
	}
	for _, req := range []struct {
		name  string
		empty bool
		how   string
	}{
		{"subject", is.Subject == "", "subject: the mail's subject line"},
		{"status", is.Status == "", "status: ready (to send it) or draft"},
	} {
		if !req.empty || r.has(req.name) {
			continue
		}
		if line, ok := seen[req.name]; ok {
			r.problem(line, req.name, "%s must not be empty", req.name)
		} else {
			r.problem(1, req.name, "%s is required (%s)", req.name, req.how)
		}
	}
	what := "send_at"
	if sendAtLine == 0 {
		if id == "" || r.has("send_at") {
			return // no date: the key's problem or send_at's says so
		}
		is.SendAt, sendAtLine = bulletin.DefaultSendAt(id), 1
		what = "the issue's date (at 12:00 London, as no send_at is given)"
	}
	switch {
	case is.SendAt.After(now.Add(bulletin.MaxSendAtAhead)):
		r.problem(sendAtLine, "send_at", "%s is more than a year from now", what)
	case is.Status == bulletin.Ready && is.SendAt.Before(now.Add(-bulletin.MaxSendAtPast)):
		r.problem(sendAtLine, "send_at", "%s is more than 7 days ago, and a ready issue is sent as soon as its time has passed: give a send_at to come, or make it a draft", what)
	}
}

// has reports whether a problem was already reported for field.
func (r *IssueResult) has(field string) bool {
	return slices.ContainsFunc(r.Problems, func(p imports.Problem) bool { return p.Field == field })
}

// text returns the value of a text field, trimmed and checked: one line, at most max
// characters. Null or empty is "".
func (r *IssueResult) text(line int, field string, v *yaml.Node, max int) string {
	if v.Kind != yaml.ScalarNode {
		r.problem(line, field, "%s must be text, not a list or a set of fields", field)
		return ""
	}
	if v.Tag == "!!null" {
		return ""
	}
	s := strings.TrimSpace(v.Value)
	if msg := bulletin.LineProblem(s, max); msg != "" {
		r.problem(line, field, "%s %s", field, msg)
		return ""
	}
	return s
}

// quote quotes s for a message, shortened if long.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 60 {
		s = string([]rune(s)[:60]) + "…"
	}
	return strconv.Quote(s)
}
