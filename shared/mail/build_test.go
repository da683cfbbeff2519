package mail_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	sectormail "sectorhub/shared/mail"
)

var buildNow = time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)

// part is one leaf part of a parsed message, its transfer encoding undone by hand.
type part struct {
	header      map[string][]string
	mediaType   string
	params      map[string]string
	disposition string
	dispParams  map[string]string
	body        []byte
}

// parsed is a message read back with net/mail, mime/multipart and mime/quotedprintable.
type parsed struct {
	msg   *mail.Message
	tree  []string // media types, depth-first, e.g. multipart/mixed > multipart/alternative > text/plain
	parts []part
}

// parse reads raw back as a mail client would, failing tb when it is not well-formed.
func parse(tb testing.TB, raw []byte) parsed {
	tb.Helper()
	checkLines(tb, raw)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("mail.ReadMessage: %v", err)
	}
	p := parsed{msg: msg}
	p.walk(tb, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, "")
	return p
}

func (p *parsed) walk(tb testing.TB, contentType, encoding string, body io.Reader, path string) {
	tb.Helper()
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		tb.Fatalf("%s: Content-Type %q: %v", path, contentType, err)
	}
	path += mediaType
	p.tree = append(p.tree, path)
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			raw, err := mr.NextRawPart() // the transfer encoding is undone below, by hand
			if err == io.EOF {
				return
			}
			if err != nil {
				tb.Fatalf("%s: next part: %v", path, err)
			}
			p.walkPart(tb, raw, path+" > ")
		}
	}
	var data []byte
	switch encoding {
	case "quoted-printable":
		data, err = io.ReadAll(quotedprintable.NewReader(body))
	case "base64":
		data, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, body))
	default:
		tb.Fatalf("%s: unexpected Content-Transfer-Encoding %q", path, encoding)
	}
	if err != nil {
		tb.Fatalf("%s: decode %s: %v", path, encoding, err)
	}
	p.parts = append(p.parts, part{mediaType: mediaType, params: params, body: data})
}

func (p *parsed) walkPart(tb testing.TB, raw *multipart.Part, path string) {
	tb.Helper()
	n := len(p.parts)
	p.walk(tb, raw.Header.Get("Content-Type"), raw.Header.Get("Content-Transfer-Encoding"), raw, path)
	if len(p.parts) == n+1 && !strings.HasPrefix(raw.Header.Get("Content-Type"), "multipart/") {
		leaf := &p.parts[n]
		leaf.header = raw.Header
		if d := raw.Header.Get("Content-Disposition"); d != "" {
			var err error
			if leaf.disposition, leaf.dispParams, err = mime.ParseMediaType(d); err != nil {
				tb.Fatalf("%s: Content-Disposition %q: %v", path, d, err)
			}
		}
	}
}

// checkLines checks that every line of raw ends in CRLF and is at most 998 characters.
func checkLines(tb testing.TB, raw []byte) {
	tb.Helper()
	if !bytes.HasSuffix(raw, []byte("\r\n")) {
		tb.Errorf("message does not end in CRLF")
	}
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if bytes.ContainsAny(line, "\r\n") {
			tb.Fatalf("line %d has a bare CR or LF: %q", i+1, line)
		}
		if len(line) > 998 {
			tb.Fatalf("line %d is %d characters long; want at most 998", i+1, len(line))
		}
	}
}

func TestBuild(t *testing.T) {
	longSubject := strings.Repeat("Über den Wolken: ", 12)
	body100K := strings.Repeat("Zoë's line of text, with a long tail — ünïcödé and = signs. ", 1700) // > 100 KB
	calendar := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\nEND:VCALENDAR\r\n"
	tests := []struct {
		name        string
		msg         sectormail.Message
		wantFrom    mail.Address
		wantTo      []mail.Address
		wantReplyTo string
		wantTree    []string
		wantAttach  []string // content type of each attachment, as parsed: "media;param=value..."
	}{
		{
			name: "ascii",
			msg: sectormail.Message{
				From: "Events <events@sectorhub.example.org>", To: []string{"reader@example.org"},
				Subject: "Your place at the Winter Conference", Text: "Hello.\nSee you there.", HTML: "<p>Hello.</p>",
			},
			wantFrom: mail.Address{Name: "Events", Address: "events@sectorhub.example.org"},
			wantTo:   []mail.Address{{Address: "reader@example.org"}},
			wantTree: []string{"multipart/alternative", "multipart/alternative > text/plain", "multipart/alternative > text/html"},
		},
		{
			name: "non-ASCII subject, names and domain; reply-to; long subject folded",
			msg: sectormail.Message{
				From:    `"Zoë Brontë, Events" <events@sectorhub.example.org>`,
				To:      []string{"Łukasz Żółw <lukasz@bücher.example>", "Siân O'Neill <sian@example.org>"},
				ReplyTo: "Bookings <bookings@sectorhub.example.org>",
				Subject: longSubject, Text: "Grüße", HTML: "<p>Grüße</p>",
			},
			wantFrom:    mail.Address{Name: "Zoë Brontë, Events", Address: "events@sectorhub.example.org"},
			wantTo:      []mail.Address{{Name: "Łukasz Żółw", Address: "lukasz@xn--bcher-kva.example"}, {Name: "Siân O'Neill", Address: "sian@example.org"}},
			wantReplyTo: "bookings@sectorhub.example.org",
			wantTree:    []string{"multipart/alternative", "multipart/alternative > text/plain", "multipart/alternative > text/html"},
		},
		{
			name: "100 KB body",
			msg: sectormail.Message{
				From: "events@sectorhub.example.org", To: []string{"reader@example.org"},
				Subject: "Long", Text: body100K, HTML: "<p>" + body100K + "</p>",
			},
			wantFrom: mail.Address{Address: "events@sectorhub.example.org"},
			wantTo:   []mail.Address{{Address: "reader@example.org"}},
			wantTree: []string{"multipart/alternative", "multipart/alternative > text/plain", "multipart/alternative > text/html"},
		},
		{
			name: "attachments: calendar with method, non-ASCII file name, method taken from the data",
			msg: sectormail.Message{
				From: "events@sectorhub.example.org", To: []string{"reader@example.org"},
				Subject: "Booked", Text: "Booked.", HTML: "<p>Booked.</p>",
				Headers: map[string]string{"X-Entity-Ref-ID": "booking-1"},
				Attachments: []sectormail.Attachment{
					{Filename: "event.ics", ContentType: "text/calendar; method=PUBLISH; charset=UTF-8", Data: []byte(calendar)},
					{Filename: "Programme – Zoë.pdf", ContentType: "application/pdf", Data: bytes.Repeat([]byte{0, 1, 2, 0xff}, 5000)},
					{Filename: "invite.ics", ContentType: "text/calendar", Data: []byte(calendar)},
				},
			},
			wantFrom: mail.Address{Address: "events@sectorhub.example.org"},
			wantTo:   []mail.Address{{Address: "reader@example.org"}},
			wantTree: []string{
				"multipart/mixed",
				"multipart/mixed > multipart/alternative",
				"multipart/mixed > multipart/alternative > text/plain",
				"multipart/mixed > multipart/alternative > text/html",
				"multipart/mixed > text/calendar",
				"multipart/mixed > application/pdf",
				"multipart/mixed > text/calendar",
			},
			wantAttach: []string{
				"text/calendar;charset=UTF-8;method=PUBLISH;name=event.ics",
				"application/pdf;name=Programme – Zoë.pdf",
				"text/calendar;method=PUBLISH;name=invite.ics",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := sectormail.Build(tc.msg, buildNow)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			p := parse(t, raw)
			h := p.msg.Header

			from, err := h.AddressList("From")
			if err != nil || len(from) != 1 || *from[0] != tc.wantFrom {
				t.Errorf("From = %v (%v); want %v", from, err, tc.wantFrom)
			}
			to, err := h.AddressList("To")
			if err != nil || len(to) != len(tc.wantTo) {
				t.Fatalf("To = %v (%v); want %v", to, err, tc.wantTo)
			}
			for i := range to {
				if *to[i] != tc.wantTo[i] {
					t.Errorf("To[%d] = %v; want %v", i, *to[i], tc.wantTo[i])
				}
			}
			if tc.wantReplyTo != "" {
				rt, err := h.AddressList("Reply-To")
				if err != nil || len(rt) != 1 || rt[0].Address != tc.wantReplyTo {
					t.Errorf("Reply-To = %v (%v); want %s", rt, err, tc.wantReplyTo)
				}
			} else if h.Get("Reply-To") != "" {
				t.Errorf("Reply-To = %q; want none", h.Get("Reply-To"))
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
			if err != nil || subject != tc.msg.Subject {
				t.Errorf("Subject decodes to %q (%v); want %q", subject, err, tc.msg.Subject)
			}
			if date, err := h.Date(); err != nil || !date.Equal(buildNow) {
				t.Errorf("Date = %v (%v); want %v", date, err, buildNow)
			}
			if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@"+domainOf(tc.wantFrom.Address)+">") || len(id) < 30 {
				t.Errorf("Message-ID = %q; want <random@%s>", id, domainOf(tc.wantFrom.Address))
			}
			if v := h.Get("MIME-Version"); v != "1.0" {
				t.Errorf("MIME-Version = %q; want 1.0", v)
			}
			for name, value := range tc.msg.Headers {
				if got := h.Get(name); got != value {
					t.Errorf("header %s = %q; want %q", name, got, value)
				}
			}
			if strings.Join(p.tree, "\n") != strings.Join(tc.wantTree, "\n") {
				t.Errorf("MIME tree =\n%s\nwant\n%s", strings.Join(p.tree, "\n"), strings.Join(tc.wantTree, "\n"))
			}
			text, html := p.parts[0], p.parts[1]
			wantText := strings.ReplaceAll(tc.msg.Text, "\n", "\r\n")
			if string(text.body) != wantText || text.params["charset"] != "UTF-8" || text.header["Content-Transfer-Encoding"][0] != "quoted-printable" {
				t.Errorf("text part: %d bytes, charset %q; want the text (%d bytes) in UTF-8, quoted-printable", len(text.body), text.params["charset"], len(wantText))
			}
			if string(html.body) != tc.msg.HTML || html.params["charset"] != "UTF-8" {
				t.Errorf("HTML part: %d bytes, charset %q; want the HTML (%d bytes) in UTF-8", len(html.body), html.params["charset"], len(tc.msg.HTML))
			}
			attachments := p.parts[2:]
			if len(attachments) != len(tc.msg.Attachments) {
				t.Fatalf("%d attachments; want %d", len(attachments), len(tc.msg.Attachments))
			}
			for i, a := range attachments {
				want := tc.msg.Attachments[i]
				if got := mediaString(a.mediaType, a.params); got != tc.wantAttach[i] {
					t.Errorf("attachment %d Content-Type = %s; want %s", i, got, tc.wantAttach[i])
				}
				if a.disposition != "attachment" || a.dispParams["filename"] != want.Filename {
					t.Errorf("attachment %d Content-Disposition = %s %v; want attachment, filename %q", i, a.disposition, a.dispParams, want.Filename)
				}
				if !bytes.Equal(a.body, want.Data) {
					t.Errorf("attachment %d: %d bytes decoded; want the %d given", i, len(a.body), len(want.Data))
				}
			}
		})
	}
}

func TestBuildFoldsHeaders(t *testing.T) {
	to := make([]string, 30)
	for i := range to {
		to[i] = "Reader Number " + strings.Repeat("x", i) + " <reader@example.org>"
	}
	raw, err := sectormail.Build(sectormail.Message{
		From: "events@sectorhub.example.org", To: to,
		Subject: strings.Repeat("a long subject ", 20), Text: "t", HTML: "h",
	}, buildNow)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		// A header line may exceed 78 only where the value has no space to fold at (a boundary).
		if len(line) > 78 && bytes.Count(bytes.TrimSpace(line), []byte(" ")) > 1 {
			t.Errorf("header line of %d characters was not folded: %q", len(line), line)
		}
	}
	p := parse(t, raw)
	list, err := p.msg.Header.AddressList("To")
	if err != nil || len(list) != len(to) {
		t.Fatalf("To has %d addresses (%v); want %d", len(list), err, len(to))
	}
	if list[29].Name != "Reader Number "+strings.Repeat("x", 29) {
		t.Errorf("To[29].Name = %q after unfolding", list[29].Name)
	}
}

func TestBuildRefuses(t *testing.T) {
	ok := sectormail.Message{
		From: "Events <events@sectorhub.example.org>", To: []string{"reader@example.org"},
		Subject: "Hello", Text: "t", HTML: "h",
	}
	with := func(f func(m *sectormail.Message)) sectormail.Message {
		m := ok
		m.To = append([]string(nil), ok.To...)
		f(&m)
		return m
	}
	tests := []struct {
		name string
		msg  sectormail.Message
	}{
		{"CRLF in the subject", with(func(m *sectormail.Message) { m.Subject = "Hi\r\nBcc: victim@example.org" })},
		{"LF in the subject", with(func(m *sectormail.Message) { m.Subject = "Hi\nBcc: victim@example.org" })},
		{"NUL in the subject", with(func(m *sectormail.Message) { m.Subject = "Hi\x00" })},
		{"CR in a header value", with(func(m *sectormail.Message) {
			m.Headers = map[string]string{"List-Unsubscribe": "<https://x.example/u>\rBcc: victim@example.org"}
		})},
		{"LF in a header value", with(func(m *sectormail.Message) { m.Headers = map[string]string{"X-Tag": "a\nBcc: b@example.org"} })},
		{"NUL in a header value", with(func(m *sectormail.Message) { m.Headers = map[string]string{"X-Tag": "a\x00"} })},
		{"CRLF in a header name", with(func(m *sectormail.Message) { m.Headers = map[string]string{"X-Tag\r\nBcc": "b@example.org"} })},
		{"colon in a header name", with(func(m *sectormail.Message) { m.Headers = map[string]string{"Bcc: b@example.org\r\nX": "y"} })},
		{"space in a header name", with(func(m *sectormail.Message) { m.Headers = map[string]string{"X Tag": "y"} })},
		{"Bcc among the extra headers", with(func(m *sectormail.Message) { m.Headers = map[string]string{"bcc": "b@example.org"} })},
		{"Content-Type among the extra headers", with(func(m *sectormail.Message) { m.Headers = map[string]string{"Content-type": "text/html"} })},
		{"the same header twice", with(func(m *sectormail.Message) { m.Headers = map[string]string{"X-Tag": "a", "x-tag": "b"} })},
		{"a header line over 998 characters", with(func(m *sectormail.Message) {
			m.Headers = map[string]string{"List-Unsubscribe": "<https://x.example/" + strings.Repeat("a", 1000) + ">"}
		})},
		{"CRLF in From", with(func(m *sectormail.Message) { m.From = "events@sectorhub.example.org\r\nBcc: victim@example.org" })},
		{"From that does not parse", with(func(m *sectormail.Message) { m.From = "events at sectorhub" })},
		{"two addresses in From", with(func(m *sectormail.Message) { m.From = "a@example.org, b@example.org" })},
		{"CRLF in To", with(func(m *sectormail.Message) { m.To = []string{"reader@example.org\r\nBcc: victim@example.org"} })},
		{"LF in To", with(func(m *sectormail.Message) { m.To = []string{"reader@example.org\nBcc: victim@example.org"} })},
		{"two addresses in one To", with(func(m *sectormail.Message) { m.To = []string{"reader@example.org, victim@example.org"} })},
		{"To that does not parse", with(func(m *sectormail.Message) { m.To = []string{"reader"} })},
		{"encoded CRLF in a name", with(func(m *sectormail.Message) {
			m.To = []string{"=?utf-8?q?a=0D=0ABcc:_v@example.org?= <reader@example.org>"}
		})},
		{"non-ASCII local part", with(func(m *sectormail.Message) { m.To = []string{"zoë@example.org"} })},
		{"local part over 64 bytes", with(func(m *sectormail.Message) { m.To = []string{strings.Repeat("r", 65) + "@example.org"} })},
		{"hyphens in a label's third and fourth places", with(func(m *sectormail.Message) { m.To = []string{"reader@ab--cd.org"} })},
		{"xn-- label that is not Punycode", with(func(m *sectormail.Message) { m.To = []string{"reader@xn--zz.org"} })},
		{"Reply-To with an invalid domain", with(func(m *sectormail.Message) { m.ReplyTo = "reader@xn--zz.org" })},
		{"no recipient", with(func(m *sectormail.Message) { m.To = nil })},
		{"51 recipients", with(func(m *sectormail.Message) {
			for range 50 {
				m.To = append(m.To, "reader@example.org")
			}
		})},
		{"Reply-To with LF", with(func(m *sectormail.Message) { m.ReplyTo = "a@example.org\nBcc: b@example.org" })},
		{"no text part", with(func(m *sectormail.Message) { m.Text = "" })},
		{"no HTML part", with(func(m *sectormail.Message) { m.HTML = "" })},
		{"text not UTF-8", with(func(m *sectormail.Message) { m.Text = "caf\xe9" })},
		{"attachment without a name", with(func(m *sectormail.Message) {
			m.Attachments = []sectormail.Attachment{{ContentType: "text/plain", Data: []byte("x")}}
		})},
		{"attachment name with CRLF", with(func(m *sectormail.Message) {
			m.Attachments = []sectormail.Attachment{{Filename: "a.txt\r\nBcc: b@example.org", Data: []byte("x")}}
		})},
		{"attachment name with a slash", with(func(m *sectormail.Message) {
			m.Attachments = []sectormail.Attachment{{Filename: "../a.txt", Data: []byte("x")}}
		})},
		{"attachment content type with CRLF", with(func(m *sectormail.Message) {
			m.Attachments = []sectormail.Attachment{{Filename: "a.txt", ContentType: "text/plain\r\nBcc: b@example.org", Data: []byte("x")}}
		})},
		{"attachment content type invalid", with(func(m *sectormail.Message) {
			m.Attachments = []sectormail.Attachment{{Filename: "a.txt", ContentType: "text", Data: []byte("x")}}
		})},
		{"multipart attachment", with(func(m *sectormail.Message) {
			m.Attachments = []sectormail.Attachment{{Filename: "a", ContentType: "multipart/mixed; boundary=x", Data: []byte("x")}}
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := sectormail.Build(tc.msg, buildNow)
			if err == nil {
				t.Fatalf("Build(%s) = %d bytes, nil; want an error", tc.name, len(raw))
			}
			if raw != nil {
				t.Errorf("Build(%s) returned %d bytes with its error; want none", tc.name, len(raw))
			}
			for _, personal := range []string{"victim@", "reader@"} {
				if strings.Contains(err.Error(), personal) {
					t.Errorf("Build(%s) error %q quotes an address", tc.name, err)
				}
			}
		})
	}
	if _, err := sectormail.Build(ok, buildNow); err != nil {
		t.Fatalf("Build(the valid base message) = %v; want nil", err)
	}
}

func TestCheckAddress(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"reader@example.org", true},
		{"Reader <reader@example.org>", true},
		{"Reader.Name+tag@Example.ORG", true},
		{strings.Repeat("r", 64) + "@example.org", true},
		{"reader@xn--caf-dma.example", true}, // café
		{"reader@café.example", true},        // Build writes it as xn--caf-dma
		{"reader@a-b.example", true},
		{strings.Repeat("r", 65) + "@example.org", false},
		{"zoë@example.org", false},
		{"reader@ab--cd.org", false},
		{"reader@xn--zz.org", false},
		{"reader@xn--a.org", false},
		{"reader@-example.org", false},
		{"reader@exa_mple.org", false},
		{"reader", false},
		{"reader@example.org, other@example.org", false},
		{"reader@example.org\r\nBcc: victim@example.org", false},
		{"", false},
	}
	for _, tc := range tests {
		err := sectormail.CheckAddress(tc.addr)
		if (err == nil) != tc.ok {
			t.Errorf("CheckAddress(%q) = %v; want ok %v", tc.addr, err, tc.ok)
		}
		if err != nil && (strings.Contains(err.Error(), "reader") || strings.Contains(err.Error(), "zo")) {
			t.Errorf("CheckAddress(%q) error %q quotes the address", tc.addr, err)
		}
		// CheckAddress and Build agree on every recipient.
		_, buildErr := sectormail.Build(sectormail.Message{From: "events@sectorhub.example.org", To: []string{tc.addr}, Subject: "s", Text: "t", HTML: "h"}, buildNow)
		if (buildErr == nil) != (err == nil) {
			t.Errorf("Build(To %q) = %v but CheckAddress = %v; want both nil or both errors", tc.addr, buildErr, err)
		}
	}
}

func TestBuildMessageIDsDiffer(t *testing.T) {
	m := sectormail.Message{From: "events@sectorhub.example.org", To: []string{"reader@example.org"}, Subject: "s", Text: "t", HTML: "h"}
	seen := map[string]bool{}
	for range 100 {
		raw, err := sectormail.Build(m, buildNow)
		if err != nil {
			t.Fatal(err)
		}
		id := parse(t, raw).msg.Header.Get("Message-ID")
		if seen[id] {
			t.Fatalf("Message-ID %s built twice", id)
		}
		seen[id] = true
	}
}

func domainOf(address string) string { return address[strings.LastIndexByte(address, '@')+1:] }

// mediaString formats a media type and its parameters in sorted order, unencoded.
func mediaString(mediaType string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := mediaType
	for _, k := range keys {
		s += ";" + k + "=" + params[k]
	}
	return s
}
