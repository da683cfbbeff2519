package issuefile_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/bulletin/issuefile"
	"sectorhub/shared/casestudy/markdown"
	"sectorhub/shared/imports"
)

var now = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

const key = "bulletins/2026-12-01.md"

func TestParseIssue(t *testing.T) {
	tests := []struct {
		name string
		key  string
		file string
		now  time.Time // the package's now when zero
		want bulletin.Issue
		// problems lists the problems expected as line:field, in order.
		problems []string
	}{
		{"minimal, sent at noon in London (GMT)", key, "---\nsubject: This week\nstatus: ready\n---\nHello *all*.\n", time.Time{},
			bulletin.Issue{ID: "2026-12-01", Subject: "This week", SendAt: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), Status: bulletin.Ready,
				HTML: "<p>Hello <em>all</em>.</p>", Text: "Hello all ."}, nil},
		{"noon in London in summer is 11:00 UTC", "bulletins/2026-06-02.md", "---\nsubject: June\nstatus: draft\n---\nHi\n", time.Time{},
			bulletin.Issue{ID: "2026-06-02", Subject: "June", SendAt: time.Date(2026, 6, 2, 11, 0, 0, 0, time.UTC), Status: bulletin.Draft,
				HTML: "<p>Hi</p>", Text: "Hi"}, nil},
		{"every field, CRLF, BOM", key, "\ufeff---\r\nsubject: ' This week '\r\npreheader: Three deadlines\r\nsend_at: 2026-12-01T12:30:00+00:00\r\nstatus: READY\r\n---\r\n# News\r\n", time.Time{},
			bulletin.Issue{ID: "2026-12-01", Subject: "This week", Preheader: "Three deadlines", SendAt: time.Date(2026, 12, 1, 12, 30, 0, 0, time.UTC), Status: bulletin.Ready,
				HTML: `<h1 id="news">News</h1>`, Text: "News"}, nil},
		{"script removed", key, "---\nsubject: s\nstatus: ready\n---\nHi <script>alert(1)</script>[x](javascript:alert(1))\n", time.Time{},
			bulletin.Issue{ID: "2026-12-01", Subject: "s", SendAt: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), Status: bulletin.Ready,
				HTML: `<p>Hi alert(1)<a href="" rel="nofollow noopener">x</a></p>`, Text: "Hi alert(1) x"}, nil},
		{"key not a date", "bulletins/2026-02-30.md", "---\nsubject: s\nstatus: ready\n---\nHi\n", time.Time{}, bulletin.Issue{}, []string{"0:"}},
		{"key elsewhere", "issues/2026-12-01.md", "---\nsubject: s\nstatus: ready\n---\nHi\n", time.Time{}, bulletin.Issue{}, []string{"0:"}},
		{"no front matter", key, "Hi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"1:"}},
		{"unclosed front matter", key, "---\nsubject: s\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"1:"}},
		{"required fields missing", key, "---\npreheader: p\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"1:subject", "1:status"}},
		{"required fields empty", key, "---\nsubject:\nstatus: ''\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"2:subject", "3:status"}},
		{"unknown field, typo", key, "---\nsubject: s\nstatus: ready\nsendat: x\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"4:sendat"}},
		{"repeated field", key, "---\nsubject: s\nsubject: t\nstatus: ready\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"3:subject"}},
		{"subject too long", key, "---\nsubject: " + strings.Repeat("a", bulletin.MaxSubject+1) + "\nstatus: ready\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"2:subject"}},
		{"subject a list", key, "---\nsubject: [a]\nstatus: ready\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"2:subject"}},
		{"subject on two lines", key, "---\nsubject: \"a\\nb\"\nstatus: ready\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"2:subject"}},
		{"preheader too long", key, "---\nsubject: s\npreheader: " + strings.Repeat("é", bulletin.MaxPreheader+1) + "\nstatus: ready\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"3:preheader"}},
		{"status unknown", key, "---\nsubject: s\nstatus: published\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"3:status"}},
		{"send_at without offset", key, "---\nsubject: s\nsend_at: 2026-12-01T12:00:00\nstatus: ready\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"3:send_at"}},
		{"send_at a date", key, "---\nsubject: s\nsend_at: 2026-12-01\nstatus: ready\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"3:send_at"}},
		{"send_at over a year ahead", key, "---\nsubject: s\nsend_at: 2027-12-01T12:00:00Z\nstatus: draft\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"3:send_at"}},
		{"ready send_at long past", key, "---\nsubject: s\nsend_at: 2026-11-01T12:00:00Z\nstatus: ready\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"3:send_at"}},
		{"ready date long past", "bulletins/2026-11-10.md", "---\nsubject: s\nstatus: ready\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-11-10"}, []string{"1:send_at"}},
		{"draft date long past", "bulletins/2026-11-10.md", "---\nsubject: s\nstatus: draft\n---\nHi\n", time.Time{},
			bulletin.Issue{ID: "2026-11-10", Subject: "s", SendAt: time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC), Status: bulletin.Draft, HTML: "<p>Hi</p>", Text: "Hi"}, nil},
		{"ready sent within the week", "bulletins/2026-11-24.md", "---\nsubject: s\nstatus: ready\n---\nHi\n", time.Time{},
			bulletin.Issue{ID: "2026-11-24", Subject: "s", SendAt: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC), Status: bulletin.Ready, HTML: "<p>Hi</p>", Text: "Hi"}, nil},
		{"anchors refused", key, "---\nsubject: &a s\nstatus: ready\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"2:subject"}},
		{"invalid YAML", key, "---\nsubject: s\nstatus: @ready\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"3:"}},
		{"front matter a list", key, "---\n- a\n---\nHi\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"2:"}},
		{"no body", key, "---\nsubject: s\nstatus: ready\n---\n\n \n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"5:"}},
		{"body with no readable text", key, "---\nsubject: s\nstatus: ready\n---\n<script>x</script>\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"5:"}},
		{"not UTF-8", key, "---\nsubject: s\nstatus: ready\n---\nHi \xff\n", time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"5:"}},
		{"too large", key, "---\nsubject: s\nstatus: ready\n---\n" + strings.Repeat("word ", bulletin.MaxIssueBytes/5), time.Time{}, bulletin.Issue{ID: "2026-12-01"}, []string{"0:"}},
		{"every problem in line order", "bulletins/x.md", "---\nstatus: sent\nsubject: [a]\nfoo: 1\n---\n", time.Time{}, bulletin.Issue{}, []string{"0:", "2:status", "3:subject", "4:foo", "6:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := now
			if !tt.now.IsZero() {
				n = tt.now
			}
			r := issuefile.ParseIssue(tt.key, []byte(tt.file), n)
			got := r.Issue
			if !got.SendAt.Equal(tt.want.SendAt) {
				t.Errorf("ParseIssue(%q, %q).SendAt = %v; want %v", tt.key, tt.file, got.SendAt, tt.want.SendAt)
			}
			got.SendAt, tt.want.SendAt = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("ParseIssue(%q, %q) = %+v; want %+v", tt.key, tt.file, got, tt.want)
			}
			if ps := lineFields(r.Problems); strings.Join(ps, "|") != strings.Join(tt.problems, "|") {
				t.Errorf("ParseIssue(%q, %q) problems = %+v; want %q", tt.key, tt.file, r.Problems, tt.problems)
			}
		})
	}
}

// TestParseIssueBodyAtLimit: a file of exactly MaxIssueBytes is read; one byte more is not.
func TestParseIssueBodyAtLimit(t *testing.T) {
	head := "---\nsubject: s\nstatus: draft\n---\n"
	for _, tt := range []struct {
		size int
		ok   bool
	}{{bulletin.MaxIssueBytes, true}, {bulletin.MaxIssueBytes + 1, false}} {
		body := strings.Repeat("word ", (tt.size-len(head))/5+1)
		file := head + body[:tt.size-len(head)]
		r := issuefile.ParseIssue(key, []byte(file), now)
		if ok := len(r.Problems) == 0; ok != tt.ok {
			t.Errorf("ParseIssue of %d bytes: problems %+v; want accepted %v", len(file), r.Problems, tt.ok)
		}
	}
}

func TestIssueID(t *testing.T) {
	for _, tt := range []struct {
		key  string
		want string
		ok   bool
	}{
		{"bulletins/2026-12-01.md", "2026-12-01", true},
		{"bulletins/2028-02-29.md", "2028-02-29", true},
		{"bulletins/2027-02-29.md", "", false},
		{"bulletins/2026-12-1.md", "", false},
		{"bulletins/2026-12-01.MD", "", false},
		{"bulletins/2026-12-01.md.md", "", false},
		{"bulletins/x/2026-12-01.md", "", false},
		{"2026-12-01.md", "", false},
	} {
		if got, ok := bulletin.IssueID(tt.key); got != tt.want || ok != tt.ok {
			t.Errorf("IssueID(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

func lineFields(problems []imports.Problem) []string {
	var s []string
	for _, p := range problems {
		s = append(s, fmt.Sprintf("%d:%s", p.Line, p.Field))
	}
	return s
}

// FuzzParseIssue: whatever the file, ParseIssue does not panic, every problem's line is in the
// file, and an issue it accepts keeps every documented limit, with HTML the allow-list passes.
func FuzzParseIssue(f *testing.F) {
	f.Add("bulletins/2026-12-01.md", []byte("---\nsubject: This week\npreheader: p\nsend_at: 2026-12-01T12:30:00+01:00\nstatus: ready\n---\n# Hi\n\n| a |\n|---|\n| 1 |\n"))
	f.Add("bulletins/2026-11-10.md", []byte("---\r\nsubject: [a]\r\nstatus: draft\r\nx: &a [*a]\r\n---\r\n<script>alert(1)</script>[x](javascript:alert(1))\r\n"))
	f.Add("bulletins/2026-02-30.md", []byte("---\nsubject: s\nsubject: t\nsend_at: 2026-12-01\nstatus: sent\n---\n"))
	f.Add("x", []byte("\xff\xfe-\x00"))
	f.Add("bulletins/2026-12-01.md", []byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, key string, data []byte) {
		r := issuefile.ParseIssue(key, data, now)
		lines := bytes.Count(data, []byte("\n")) + 2
		for _, p := range r.Problems {
			if p.Line < 0 || p.Line > lines || p.Message == "" {
				t.Fatalf("ParseIssue(%q, %q): problem %+v outside the file's %d lines, or without a message", key, data, p, lines)
			}
		}
		if len(r.Problems) > 0 {
			return
		}
		is := r.Issue
		if id, ok := bulletin.IssueID(key); !ok || id != is.ID {
			t.Fatalf("ParseIssue(%q, …) accepted ID %q", key, is.ID)
		}
		if is.Subject == "" || is.Status != bulletin.Ready && is.Status != bulletin.Draft || is.SendAt.IsZero() || is.Text == "" || is.HTML == "" {
			t.Fatalf("ParseIssue(%q, %q) = %+v: a required field is empty", key, data, is)
		}
		checkLine(t, "subject", is.Subject, bulletin.MaxSubject)
		checkLine(t, "preheader", is.Preheader, bulletin.MaxPreheader)
		if len(data) > bulletin.MaxIssueBytes || len(is.HTML) > bulletin.MaxIssueHTML {
			t.Fatalf("ParseIssue accepted %d bytes rendering to %d bytes of HTML; the limits are %d and %d", len(data), len(is.HTML), bulletin.MaxIssueBytes, bulletin.MaxIssueHTML)
		}
		if is.SendAt.After(now.Add(bulletin.MaxSendAtAhead)) || is.Status == bulletin.Ready && is.SendAt.Before(now.Add(-bulletin.MaxSendAtPast)) {
			t.Fatalf("ParseIssue(%q, %q) accepted send_at %v (status %s) with now %v", key, data, is.SendAt, is.Status, now)
		}
		if s := markdown.Sanitise(is.HTML); s != is.HTML {
			t.Fatalf("ParseIssue(%q, %q) HTML %q changes when sanitised again, to %q", key, data, is.HTML, s)
		}
	})
}

func checkLine(tb testing.TB, field, s string, max int) {
	tb.Helper()
	if s != strings.TrimSpace(s) || utf8.RuneCountInString(s) > max || !utf8.ValidString(s) ||
		strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }) {
		tb.Fatalf("accepted %s %q: not one trimmed line of at most %d characters", field, s, max)
	}
}
