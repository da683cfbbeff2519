package bulletin_test

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/event"
)

// now is the fuzz targets' clock.
var now = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

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
