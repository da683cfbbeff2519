package bulletin_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/casestudy/markdown"
	"sectorhub/shared/event"
)

// FuzzParseSubscription: whatever the body, ParseSubscription does not panic, returns either
// a subscription or problems, and a subscription it accepts keeps every documented limit.
func FuzzParseSubscription(f *testing.F) {
	for _, s := range []string{
		`{"email":"jo@example.org","name":"Jo","organisation":"Quill","consent":true}`,
		`{"email":"Jo@EXAMPLE.org","consent":true,"consent":false}`,
		`{"email":"a@b--c.org","name":"\u2028","consent":1}`,
		`{"email":null,"x":{"y":[1,2]},"consent":true}`,
		`[{"email":"a@b.c"}]`, `{`, ``, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, problems := bulletin.ParseSubscription(body)
		if len(problems) > 0 {
			if s != (bulletin.Subscription{}) {
				t.Fatalf("ParseSubscription(%q) = %+v with problems %+v; want no subscription", body, s, problems)
			}
			for _, p := range problems {
				if p.Message == "" || utf8.RuneCountInString(p.Field) > 41 {
					t.Fatalf("ParseSubscription(%q): problem %+v without a message or with a long field", body, p)
				}
			}
			return
		}
		if e, msg := event.NormaliseEmail(s.Email); msg != "" || e != s.Email {
			t.Fatalf("ParseSubscription(%q) accepted email %q, which NormaliseEmail makes %q, %q", body, s.Email, e, msg)
		}
		checkLine(t, "name", s.Name, bulletin.MaxName)
		checkLine(t, "organisation", s.Organisation, bulletin.MaxOrganisation)
	})
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
		r := bulletin.ParseIssue(key, data, now)
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

// FuzzParseSubscribers: whatever the file, ParseSubscribers does not panic, lists problems or
// subscribers (never both), and every subscriber keeps every documented limit.
func FuzzParseSubscribers(f *testing.F) {
	f.Add([]byte(header + "Jo@Example.org,Jo Example,Quill,2024-03-18,web form\nsam@example.org,,,2024-06-01T10:15:00Z,\"conference, 2024\"\n"))
	f.Add([]byte("\ufeffconsent_source,consented_at,email,organisation,name\r\nform,2024-06-01,jo@example.org,,\r\n"))
	f.Add([]byte(header + "jo@example.org,\"a\"b,,2099-01-01,\njo@example.org,,,x,y\n,,,,\n"))
	f.Add([]byte("email,email\n\"unclosed\n"))
	f.Add([]byte("\xff\xfee\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bulletin.ParseSubscribers(data, now)
		lines := bytes.Count(data, []byte("\n")) + 2
		if len(r.Problems) > 0 && len(r.Rows) > 0 || r.ProblemTotal < len(r.Problems)-1 {
			t.Fatalf("ParseSubscribers(%q) = %d subscribers, %d problems (%d in all)", data, len(r.Rows), len(r.Problems), r.ProblemTotal)
		}
		for _, p := range r.Problems {
			if p.Line < 0 || p.Line > lines || p.Message == "" {
				t.Fatalf("ParseSubscribers(%q): problem %+v outside the file's %d lines, or without a message", data, p, lines)
			}
		}
		seen := map[string]bool{}
		for _, s := range r.Rows {
			if e, msg := event.NormaliseEmail(s.Email); msg != "" || e != s.Email {
				t.Fatalf("ParseSubscribers(%q) accepted email %q, which NormaliseEmail makes %q, %q", data, s.Email, e, msg)
			}
			if k := strings.ToLower(s.Email); seen[k] {
				t.Fatalf("ParseSubscribers(%q) accepted %q twice", data, s.Email)
			} else {
				seen[k] = true
			}
			checkLine(t, "name", s.Name, bulletin.MaxName)
			checkLine(t, "organisation", s.Organisation, bulletin.MaxOrganisation)
			checkLine(t, "consent_source", s.ConsentSource, bulletin.MaxConsentSource)
			if s.ConsentSource == "" || s.ConsentedAt.IsZero() || s.ConsentedAt.After(now) || s.Line < 2 || s.Line > lines {
				t.Fatalf("ParseSubscribers(%q) accepted %+v", data, s)
			}
		}
	})
}

// checkLine fails tb unless s is trimmed, one line and at most max characters.
func checkLine(tb testing.TB, field, s string, max int) {
	tb.Helper()
	if s != strings.TrimSpace(s) || utf8.RuneCountInString(s) > max || !utf8.ValidString(s) ||
		strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }) {
		tb.Fatalf("accepted %s %q: not one trimmed line of at most %d characters", field, s, max)
	}
}
