package markdown_test

import (
	"bytes"
	"strings"
	"testing"

	"sectorhub/shared/casestudy/markdown"
)

// FuzzParse: whatever the file (the seeds are kept small so that each execution is quick;
// TestParseHugeDocuments covers files at the limits), Parse does not panic, every problem's line is in the file,
// and a file it accepts has the required fields and HTML the allow-list passes.
func FuzzParse(f *testing.F) {
	f.Add([]byte("---\n" + valid + "regions: [wales]\norganisation: quill\nstatus: draft\n---\n# Hi\n\n| a |\n|---|\n| 1 |\n"))
	f.Add([]byte("---\ntitle: [unclosed\nsummary: {a: *b}\n---\ntext"))
	f.Add([]byte("---\na: &a [*a, *a]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b, *b]\n---\nx"))
	f.Add([]byte("---\r\n" + valid + "---\r\n<script>alert(1)</script><img src=x onerror=alert(1)>[x](javascript:alert(1))\r\n"))
	f.Add([]byte("---\n" + valid + "---\n" + strings.Repeat("> - [a](b) *c* `d`\n", 100)))
	f.Add([]byte("---\n" + valid + "---\n" + strings.Repeat("[", 300) + strings.Repeat("]", 300)))
	f.Add([]byte("\xff\xfe-\x00-\x00-\x00"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := markdown.Parse("fuzz", data)
		lines := bytes.Count(data, []byte("\n")) + 2
		for _, p := range r.Problems {
			if p.Line < 0 || p.Line > lines || p.Message == "" {
				t.Fatalf("problem %+v outside the file's %d lines, or without a message", p, lines)
			}
		}
		if len(r.Problems) > 0 {
			return
		}
		d := r.Document
		if d.Title == "" || d.Summary.Summary == "" || d.Published == "" || len(d.Themes) == 0 || d.ReadingMinutes < 1 || d.Text == "" {
			t.Fatalf("accepted %q as %+v: a required field is empty", data, d.Summary)
		}
		if what := unsafe(d.HTML); what != "" {
			t.Fatalf("accepted %q with HTML %q holding %s", data, d.HTML, what)
		}
	})
}

// FuzzRender: any Markdown renders to HTML the allow-list passes.
func FuzzRender(f *testing.F) {
	for _, v := range xssVectors {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, md string) {
		h, _, err := markdown.Render([]byte(md))
		if err != nil {
			return
		}
		if what := unsafe(h); what != "" {
			t.Fatalf("Render(%q) = %q: holds %s", md, h, what)
		}
	})
}

// FuzzSanitise: any HTML comes out of the sanitiser holding only what the allow-list allows.
func FuzzSanitise(f *testing.F) {
	for _, v := range xssVectors {
		f.Add(v)
	}
	f.Add(`<a href="https://example.org" rel="nofollow noopener" onclick=x>a</a><img src=/a.png alt=a>`)
	f.Fuzz(func(t *testing.T, s string) {
		if what := unsafe(markdown.Sanitise(s)); what != "" {
			t.Fatalf("Sanitise(%q) = %q: holds %s", s, markdown.Sanitise(s), what)
		}
	})
}
