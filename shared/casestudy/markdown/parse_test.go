package markdown_test

import (
	"fmt"
	"strings"
	"testing"

	"sectorhub/shared/casestudy"
	"sectorhub/shared/casestudy/markdown"
)

// file assembles a case study file from front matter lines and a body.
func file(front string, body string) []byte {
	return []byte("---\n" + front + "---\n" + body)
}

const valid = "title: Peer mentors on the wing\n" + // line 2
	"summary: How a resettlement charity trained peer mentors.\n" + // 3
	"published: 2026-10-14\n" + // 4
	"themes: [peer-support, Mentoring]\n" // 5

func TestParseValid(t *testing.T) {
	front := valid + "regions:\n  - North West\n  - wales\norganisation: quill-feather_1\nauthor: Jo Example\nstatus: Draft\n"
	body := "## What we did\n\n" + strings.Repeat("word ", 450) + "\n"
	r := markdown.Parse("peer-mentors", file(front, body))
	if len(r.Problems) > 0 {
		t.Fatalf("Parse = problems %v; want none", r.Problems)
	}
	d := r.Document
	want := casestudy.Summary{
		Slug: "peer-mentors", Title: "Peer mentors on the wing", Summary: "How a resettlement charity trained peer mentors.",
		Published: "2026-10-14", Themes: []string{"mentoring", "peer-support"}, Regions: []string{"north-west", "wales"},
		Organisation: &casestudy.Organisation{ID: "quill-feather_1"}, Author: "Jo Example", ReadingMinutes: 2,
	}
	org := d.Organisation
	d.Organisation, want.Organisation = nil, nil
	if got := fmt.Sprintf("%+v %+v", d.Summary, org); got != fmt.Sprintf("%+v %+v", want, &casestudy.Organisation{ID: "quill-feather_1"}) {
		t.Errorf("Parse = %s\nwant      %+v", got, want)
	}
	if !d.Draft || r.OrganisationLine != 9 {
		t.Errorf("Draft = %v, OrganisationLine = %d; want true, 9", d.Draft, r.OrganisationLine)
	}
	if !strings.HasPrefix(d.HTML, `<h2 id="what-we-did">What we did</h2>`) {
		t.Errorf("HTML = %.80q; want a heading with an id first", d.HTML)
	}
	if !strings.HasPrefix(d.Text, "What we did word word") {
		t.Errorf("Text = %.40q; want the plain text", d.Text)
	}
}

func TestParseVariants(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want func(casestudy.Document) string // "" when right
	}{
		{"CRLF, BOM and trailing spaces on the rules", "\ufeff--- \r\n" + strings.ReplaceAll(valid, "\n", "\r\n") + "---  \r\nText.\r\n", nil},
		{"themes as block list of labels", "---\ntitle: T\nsummary: S\npublished: 2026-01-02\nthemes:\n  - Lived Experience Leadership\n  - trustees & governance\n  - co production\n---\nText\n",
			func(d casestudy.Document) string {
				if fmt.Sprint(d.Themes) != "[co-production lived-experience-leadership trustees-and-governance]" {
					return fmt.Sprint("themes ", d.Themes)
				}
				return ""
			}},
		{"themes as one text, repeats dropped", "---\ntitle: T\nsummary: S\npublished: 2026-01-02\nthemes: mentoring, Mentoring, Attitudes, thinking and behaviour\n---\nText\n",
			func(d casestudy.Document) string {
				// "Attitudes, thinking and behaviour" split at commas is not a theme: see the
				// problem test; here the list holds known ones only.
				return ""
			}},
		{"status absent means published", "---\n" + valid + "---\nText\n",
			func(d casestudy.Document) string {
				if d.Draft {
					return "draft"
				}
				return ""
			}},
		{"folded summary is one line", "---\ntitle: T\nsummary: >\n  one\n  two\npublished: 2026-01-02\nthemes: [sport]\n---\nText\n",
			func(d casestudy.Document) string {
				if d.Summary.Summary != "one two" {
					return "summary " + d.Summary.Summary
				}
				return ""
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := markdown.Parse("slug", []byte(tc.data))
			if tc.name == "themes as one text, repeats dropped" {
				if len(r.Problems) != 2 {
					t.Errorf("Parse = %v; want the two halves of the split label refused", r.Problems)
				}
				return
			}
			if len(r.Problems) > 0 {
				t.Fatalf("Parse = problems %v; want none", r.Problems)
			}
			if tc.want != nil {
				if msg := tc.want(r.Document); msg != "" {
					t.Errorf("Parse: %s", msg)
				}
			}
		})
	}
}

// TestParseProblems lists, for each broken file, every problem: line (the file's), field and
// a fragment of the message.
func TestParseProblems(t *testing.T) {
	type p struct {
		line  int
		field string
		msg   string
	}
	for _, tc := range []struct {
		name string
		data string
		want []p
	}{
		{"no front matter", "# Title\n\nText\n", []p{{1, "", "starts with its front matter"}}},
		{"no closing rule", "---\ntitle: x\n\nText\n", []p{{1, "", "starts with its front matter"}}},
		{"empty front matter", "---\n---\nText\n", []p{{1, "title", "required"}, {1, "summary", "required"}, {1, "published", "required"}, {1, "themes", "required"}}},
		{"not UTF-8", "---\ntitle: caf\xe9\n---\nText\n", []p{{2, "", "not UTF-8"}}},
		{"broken YAML", "---\ntitle: a\nsummary: @x\npublished: 2026-01-01\n---\nText\n", []p{{3, "", "not valid YAML: found character that cannot start any token"}}},
		{"tab indentation", "---\ntitle: a\n\tsummary: b\n---\nText\n", []p{{3, "", "not valid YAML"}}},
		{"bad indentation", "---\ntitle: a\n  summary: b\n---\nText\n", []p{{3, "", "not valid YAML"}}},
		{"a list, not fields", "---\n- a\n- b\n---\nText\n", []p{{2, "", "must be fields"}}},
		{"unknown and misspelt fields", "---\n" + valid + "tittle: x\ncolour: red\n---\nText\n", []p{
			{6, "tittle", `unknown field "tittle" (did you mean title?)`}, {7, "colour", `unknown field "colour"; the fields are`}}},
		{"duplicate field", "---\n" + valid + "title: again\n---\nText\n", []p{{6, "title", "given twice (first on line 2)"}}},
		{"too long title", "---\ntitle: " + strings.Repeat("é", 201) + "\nsummary: s\npublished: 2026-01-01\nthemes: [sport]\n---\nText\n", []p{{2, "title", "201 characters; the limit is 200"}}},
		{"too long summary", "---\ntitle: t\nsummary: " + strings.Repeat("a", 501) + "\npublished: 2026-01-01\nthemes: [sport]\n---\nText\n", []p{{3, "summary", "501 characters; the limit is 500"}}},
		{"two-line title", "---\ntitle: |\n  a\n  b\nsummary: s\npublished: 2026-01-01\nthemes: [sport]\n---\nText\n", []p{{2, "title", "one line"}}},
		{"title is a list", "---\ntitle: [a]\nsummary: s\npublished: 2026-01-01\nthemes: [sport]\n---\nText\n", []p{{2, "title", "must be text"}}},
		{"empty title", "---\ntitle:\nsummary: s\npublished: 2026-01-01\nthemes: [sport]\n---\nText\n", []p{{2, "title", "must not be empty"}}},
		{"bad dates", "---\ntitle: t\nsummary: s\npublished: 14/10/2026\nthemes: [sport]\n---\nText\n", []p{{4, "published", "YYYY-MM-DD"}}},
		{"impossible date", "---\ntitle: t\nsummary: s\npublished: 2026-02-30\nthemes: [sport]\n---\nText\n", []p{{4, "published", "YYYY-MM-DD"}}},
		{"unknown theme and region, each on its line", "---\ntitle: t\nsummary: s\npublished: 2026-01-01\nthemes:\n  - sport\n  - knitting\nregions: [mars]\n---\nText\n", []p{
			{7, "themes", `unknown theme "knitting"`}, {8, "regions", `unknown region "mars"`}}},
		{"empty themes", "---\ntitle: t\nsummary: s\npublished: 2026-01-01\nthemes: []\n---\nText\n", []p{{5, "themes", "must not be empty"}}},
		{"themes as fields", "---\ntitle: t\nsummary: s\npublished: 2026-01-01\nthemes: {a: b}\n---\nText\n", []p{{5, "themes", "must be a list"}}},
		{"bad organisation id", "---\n" + valid + "organisation: not an id!\n---\nText\n", []p{{6, "organisation", "must be the id"}}},
		{"bad status", "---\n" + valid + "status: live\n---\nText\n", []p{{6, "status", "published or draft"}}},
		{"alias", "---\ntitle: &t Title\nsummary: *t\npublished: 2026-01-01\nthemes: [sport]\n---\nText\n", []p{{2, "title", "anchors and aliases"}, {3, "summary", "anchors and aliases"}}},
		{"no body", "---\n" + valid + "---\n\n  \n", []p{{7, "", "no text after the front matter"}}},
		{"only raw HTML", "---\n" + valid + "---\n<script>alert(1)</script>\n", []p{{7, "", "no readable text"}}},
		{"body too large", "---\n" + valid + "---\n" + strings.Repeat("a", casestudy.MaxBodyBytes+1), []p{{7, "", "the limit is 204800 (200 KB)"}}},
		{"control character", "---\ntitle: \"a\\u0007b\"\nsummary: s\npublished: 2026-01-01\nthemes: [sport]\n---\nText\n", []p{{2, "title", "control character"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := markdown.Parse("slug", []byte(tc.data))
			if len(r.Problems) != len(tc.want) {
				t.Fatalf("Parse = %d problems %v; want %d %v", len(r.Problems), r.Problems, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				got := r.Problems[i]
				if got.Line != w.line || got.Field != w.field || !strings.Contains(got.Message, w.msg) {
					t.Errorf("problem %d = %+v; want line %d, field %q, message with %q", i, got, w.line, w.field, w.msg)
				}
			}
		})
	}
}

func TestReadingMinutes(t *testing.T) {
	for _, tc := range []struct{ words, want int }{{0, 1}, {1, 1}, {299, 1}, {300, 1}, {399, 1}, {400, 2}, {1000, 5}} {
		if got := casestudy.ReadingMinutes(tc.words); got != tc.want {
			t.Errorf("ReadingMinutes(%d) = %d; want %d", tc.words, got, tc.want)
		}
	}
}

// Files at and beyond the limits: a body of almost 200 KB publishes; tables whose cells would
// take too long to render, or pathological nesting, are refused before rendering, never a hang.
func TestParseHugeDocuments(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		problem    string // "" when the file publishes
	}{
		{"200 KB of prose", strings.Repeat("Mentors meet people at the gate. ", casestudy.MaxBodyBytes/34), ""},
		{"nested brackets", strings.Repeat("[", 90000) + strings.Repeat("]", 90000), ""},
		{"a huge table", "| a | b |\n|---|---|\n" + strings.Repeat("| x | y |\n", 20000), "cells in all"},
		// A wide header pads every one-word row below it: a few KB would render millions of cells.
		{"a wide table", "|" + strings.Repeat(" a |", 100) + "\n|" + strings.Repeat("---|", 100) + "\n" + strings.Repeat("x\n", 50), "the table has 100 columns"},
		{"a wide table of one-word rows", "|" + strings.Repeat(" a |", 30) + "\n|" + strings.Repeat("---|", 30) + "\n" + strings.Repeat("x\n", 5000), "cells in all"},
		{"deep quotes", strings.Repeat("> ", 40) + "deep", "nested 40 quotes or lists deep"},
		{"deep lists", strings.Repeat("- ", 30) + "deep", "nested 30 quotes or lists deep"},
		{"a table of the largest size", "|" + strings.Repeat(" a |", 32) + "\n|" + strings.Repeat(":--|", 32) + "\n" + strings.Repeat("x\n", 500), ""},
	} {
		r := markdown.Parse("huge", file(valid, tc.body))
		switch {
		case tc.problem == "" && len(r.Problems) > 0:
			t.Errorf("%s: problems %v; want it published", tc.name, r.Problems)
		case tc.problem != "" && (len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Message, tc.problem)):
			t.Errorf("%s: problems %v; want %q", tc.name, r.Problems, tc.problem)
		}
	}
}
