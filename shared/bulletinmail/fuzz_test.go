package bulletinmail

import (
	"html"
	"strings"
	"testing"
	"time"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/mail"
)

// FuzzPersonal: whatever the name and token (up to 300 bytes) stored with a recipient, their mail builds
// (mail.Build refuses control characters in headers and text that is not UTF-8), holds no
// NUL, greets them once and carries the unsubscribe URL in both parts and in its header; and
// fill takes any rendered part without panicking or leaving a NUL.
func FuzzPersonal(f *testing.F) {
	rd := rendered(f)
	f.Add("Zoë", token, "a\x00g\x00b")
	f.Add(`<script>alert("x")</script> & co`, "a b&c\r\n<x>", "\x00u\x00\x00")
	f.Add("\x00g\x00\x00u\x00", "\x00u\x00", "\x00")
	f.Add("Jo\xff\xfe\u2028\r\n", "\xff%00", "\x00\x00g")
	f.Fuzz(func(t *testing.T, name, tok, part string) {
		if len(tok) > 300 {
			// A real token has 45 characters; over 300, escaped, the List-Unsubscribe line
			// passes RFC 5322's 998 and Build refuses the mail, as documented.
			tok = tok[:300]
		}
		msg := renderer.Personal(rd, bulletin.Recipient{Email: "reader@example.org", Name: name, UnsubscribeToken: tok})
		if _, err := mail.Build(msg, time.Time{}); err != nil {
			t.Fatalf("Build(Personal(name %q, token %q)): %v", name, tok, err)
		}
		unsub := renderer.UnsubscribeURL(tok)
		if strings.ContainsAny(unsub, " \t\r\n\x00<>\"") {
			t.Fatalf("UnsubscribeURL(%q) = %q; holds a character that breaks the header or the href", tok, unsub)
		}
		if h := msg.Headers["List-Unsubscribe"]; h != "<"+unsub+">" {
			t.Fatalf("List-Unsubscribe = %q; want <%s>", h, unsub)
		}
		g := greeting(name)
		for _, p := range []struct{ name, s, greet string }{{"text", msg.Text, g + "\n"}, {"HTML", msg.HTML, ">" + html.EscapeString(g) + "</p>"}} {
			if strings.Contains(p.s, "\x00") {
				t.Fatalf("%s part holds a NUL (name %q, token %q)", p.name, name, tok)
			}
			if !strings.Contains(p.s, unsub) {
				t.Fatalf("%s part lacks the unsubscribe URL %q", p.name, unsub)
			}
			if n := strings.Count(p.s, p.greet); n != 1 {
				t.Fatalf("%s part has the greeting %q %d times; want 1", p.name, p.greet, n)
			}
		}
		if out := fill(part, "G", "U"); strings.Contains(out, "\x00") {
			t.Fatalf("fill(%q) = %q; holds a NUL", part, out)
		}
	})
}
