package bulletinmail

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"sectorhub/shared/mail"
)

// received is a built message read back with net/mail, mime/multipart and
// mime/quotedprintable, as a mail client would.
type received struct {
	header     netmail.Header
	text, html string
}

// receive builds m with mail.Build and parses the result.
func receive(tb testing.TB, m mail.Message) received {
	tb.Helper()
	raw, err := mail.Build(m, time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		tb.Fatalf("Build: %v", err)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("ReadMessage: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		tb.Fatalf("Content-Type %q (%v); want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	r := received{header: msg.Header}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart() // NextPart would decode quoted-printable itself and hide the header
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("NextPart: %v", err)
		}
		if enc := p.Header.Get("Content-Transfer-Encoding"); enc != "quoted-printable" {
			tb.Fatalf("part encoding %q; want quoted-printable", enc)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			tb.Fatalf("decode part: %v", err)
		}
		body = bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")) // lines end in CRLF on the wire
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			r.text = string(body)
		case "text/html":
			r.html = string(body)
		default:
			tb.Fatalf("unexpected part %s", ct)
		}
	}
	if r.text == "" || r.html == "" {
		tb.Fatalf("message lacks a text or HTML part")
	}
	return r
}

// subject decodes the Subject header's encoded words.
func (r received) subject(tb testing.TB) string {
	tb.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(r.header.Get("Subject"))
	if err != nil {
		tb.Fatalf("Subject: %v", err)
	}
	return strings.TrimSpace(s)
}
