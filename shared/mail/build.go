package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Limits of what Build accepts.
const (
	// maxLine is RFC 5322's limit on a line, without its CRLF (§2.1.1).
	maxLine = 998
	// foldAt is the line length Build folds headers at when it can (RFC 5322's "SHOULD").
	foldAt = 78
	// maxRecipients is SES's limit on the recipients of one message.
	maxRecipients = 50
	// maxFilename bounds an attachment's file name (bytes), so that its encoded parameters
	// stay within a line.
	maxFilename = 200
	// base64Line is the length of a base64 body line (RFC 2045 §6.8: at most 76).
	base64Line = 76
	// maxLocalPart is RFC 5321's limit on the part of an address before the @, in bytes
	// (§4.5.3.1.1), which SES enforces.
	maxLocalPart = 64
)

// headersSetByBuild are the headers Build writes itself; Message.Headers may not set them.
var headersSetByBuild = []string{
	"Bcc", "Cc", "Content-Disposition", "Content-Transfer-Encoding", "Content-Type", "Date",
	"From", "Message-Id", "Mime-Version", "Reply-To", "Return-Path", "Sender", "Subject", "To",
}

// Build returns m as an RFC 5322 message (MIME, RFCs 2045–2049) dated now: headers From, To,
// Reply-To (when set), Subject (RFC 2047 encoded words when it is not ASCII), Date,
// Message-ID (a random left part at the From address's domain), MIME-Version and m.Headers;
// a multipart/alternative body of the text part then the HTML part (UTF-8, quoted-printable),
// inside a multipart/mixed with the attachments (base64) when there are any. Every line ends
// in CRLF and is at most 998 characters; headers are folded at 78 where they have spaces.
//
// Build refuses, with an error and no message, anything that could not be sent as meant or
// could inject headers: a From, To or Reply-To that net/mail does not parse as one address
// each, or that CheckAddress refuses (a local part that is not ASCII, since SES does not do
// SMTPUTF8, or over 64 bytes; a domain that IDNA refuses), no recipient or more
// than 50, a CR, LF, NUL or other control character in the subject or in any header name or
// value, a header Build writes itself among m.Headers, an empty text or HTML part, text that
// is not UTF-8, and an attachment without a usable file name or content type. Its errors
// name the field, never its value (addresses are personal data).
func Build(m Message, now time.Time) ([]byte, error) {
	from, err := parseAddress("From", m.From)
	if err != nil {
		return nil, fmt.Errorf("build mail: %w", err)
	}
	if len(m.To) == 0 {
		return nil, errors.New("build mail: no recipient (To)")
	}
	if len(m.To) > maxRecipients {
		return nil, fmt.Errorf("build mail: %d recipients; at most %d", len(m.To), maxRecipients)
	}
	to := make([]string, len(m.To))
	for i, s := range m.To {
		a, err := parseAddress(fmt.Sprintf("To[%d]", i), s)
		if err != nil {
			return nil, fmt.Errorf("build mail: %w", err)
		}
		to[i] = a.String()
	}
	var replyTo *mail.Address
	if m.ReplyTo != "" {
		if replyTo, err = parseAddress("Reply-To", m.ReplyTo); err != nil {
			return nil, fmt.Errorf("build mail: %w", err)
		}
	}
	if err := checkHeaderText("Subject", m.Subject); err != nil {
		return nil, err
	}
	for _, part := range []struct{ name, body string }{{"text", m.Text}, {"HTML", m.HTML}} {
		if part.body == "" {
			return nil, fmt.Errorf("build mail: the %s part is empty", part.name)
		}
		if !utf8.ValidString(part.body) {
			return nil, fmt.Errorf("build mail: the %s part is not UTF-8", part.name)
		}
	}
	extra, err := extraHeaders(m.Headers)
	if err != nil {
		return nil, err
	}

	var h headerWriter
	h.add("From", from.String())
	h.add("To", strings.Join(to, ", "))
	if replyTo != nil {
		h.add("Reply-To", replyTo.String())
	}
	h.add("Subject", mime.QEncoding.Encode("UTF-8", m.Subject))
	h.add("Date", now.Format(time.RFC1123Z))
	h.add("Message-ID", messageID(from.Address))
	h.add("MIME-Version", "1.0")
	for _, kv := range extra {
		h.add(kv[0], kv[1])
	}

	var body bytes.Buffer
	var contentType string
	if len(m.Attachments) == 0 {
		if contentType, err = writeAlternative(&body, m.Text, m.HTML); err != nil {
			return nil, err
		}
	} else {
		if contentType, err = writeMixed(&body, m); err != nil {
			return nil, err
		}
	}
	h.add("Content-Type", contentType)
	if h.err != nil {
		return nil, h.err
	}
	h.buf.WriteString("\r\n")
	h.buf.Write(body.Bytes())
	return h.buf.Bytes(), nil
}

// parseAddress parses one address of field, returning it with its domain in ASCII (IDNA).
// Its error begins with field.
func parseAddress(field, s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n\x00") {
		return nil, fmt.Errorf("%s contains a line break or NUL", field)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not one email address", field)
	}
	if strings.ContainsFunc(a.Name, isControl) {
		return nil, fmt.Errorf("%s has a control character in its name", field)
	}
	if a.Address, err = asciiAddress(a.Address); err != nil {
		return nil, fmt.Errorf("%s %w", field, err)
	}
	return a, nil
}

// CheckAddress returns an error when Build would refuse addr as a From, To or Reply-To
// address, and nil when it would take it: addr is one address that net/mail parses (a bare
// address, or one with a display name), whose local part is ASCII (SES does not send
// SMTPUTF8) and at most 64 bytes (RFC 5321 §4.5.3.1.1; SES refuses longer), and whose domain
// IDNA's lookup profile (idna.Lookup) can write in ASCII. Capabilities check addresses they
// take from the public with it, so that what they accept can be mailed. Its error names no
// address.
func CheckAddress(addr string) error {
	if _, err := parseAddress("address", addr); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	return nil
}

// asciiAddress returns the bare address addr (net/mail's Address.Address) with its domain in
// ASCII, or an error saying (without the address) why it cannot be sent to: a local part
// that is not ASCII or longer than maxLocalPart, or a domain that IDNA refuses (a label with
// "--" in its third and fourth places but not xn--, an xn-- label that is not valid
// Punycode, a character not allowed in a host name).
func asciiAddress(addr string) (string, error) {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", errors.New("has no @")
	}
	local, domain := addr[:at], addr[at+1:]
	if !isASCII(local) {
		return "", errors.New("has a non-ASCII local part (SES does not send SMTPUTF8)")
	}
	if len(local) > maxLocalPart {
		return "", fmt.Errorf("has a local part over %d bytes", maxLocalPart)
	}
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil {
		return "", errors.New("has an invalid domain")
	}
	return local + "@" + ascii, nil
}

// extraHeaders checks m.Headers and returns them sorted by name (so that the same message
// builds the same way), values encoded as RFC 2047 words when they are not ASCII.
func extraHeaders(headers map[string]string) ([][2]string, error) {
	seen := map[string]bool{}
	var out [][2]string
	for name, value := range headers {
		if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r < '!' || r > '~' || r == ':' }) {
			return nil, fmt.Errorf("build mail: header name %q is not printable ASCII without colons", name)
		}
		canonical := textproto.CanonicalMIMEHeaderKey(name)
		if slices.Contains(headersSetByBuild, canonical) {
			return nil, fmt.Errorf("build mail: header %s is set by Build, not by Headers", name)
		}
		if seen[canonical] {
			return nil, fmt.Errorf("build mail: header %s is given twice", name)
		}
		seen[canonical] = true
		if err := checkHeaderText("header "+name, value); err != nil {
			return nil, err
		}
		out = append(out, [2]string{name, mime.QEncoding.Encode("UTF-8", value)})
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out, nil
}

// checkHeaderText refuses text for a header that is not UTF-8 or has a control character
// (CR and LF above all: they would end the header and start another).
func checkHeaderText(field, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("build mail: %s is not UTF-8", field)
	}
	if strings.ContainsFunc(s, isControl) {
		return fmt.Errorf("build mail: %s contains a line break or another control character", field)
	}
	return nil
}

// isControl reports whether r is a control character other than tab.
func isControl(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }

func isASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r > '~' })
}

// messageID returns a new Message-ID at the domain of address: 128 random bits, so that no two
// messages share one.
func messageID(address string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "<" + hex.EncodeToString(b[:]) + "@" + address[strings.LastIndexByte(address, '@')+1:] + ">"
}

// headerWriter writes folded headers, remembering the first error.
type headerWriter struct {
	buf bytes.Buffer
	err error
}

// add writes "name: value", folded before spaces so that lines keep within 78 characters
// where the value allows; a line over 998 characters (a value with a long run without
// spaces) is an error.
func (h *headerWriter) add(name, value string) {
	if h.err != nil {
		return
	}
	line := len(name) + 1 // "Name:"
	h.buf.WriteString(name + ":")
	for i, word := range strings.Split(value, " ") {
		if i > 0 && word != "" && line+1+len(word) > foldAt && line > 1 {
			h.buf.WriteString("\r\n")
			line = 0
		}
		h.buf.WriteString(" " + word)
		line += 1 + len(word)
		if line > maxLine {
			h.err = fmt.Errorf("build mail: header %s has a line over %d characters", name, maxLine)
			return
		}
	}
	h.buf.WriteString("\r\n")
}

// writeAlternative writes the multipart/alternative body of the text and HTML parts to w and
// returns its content type.
func writeAlternative(w io.Writer, text, html string) (string, error) {
	mw := multipart.NewWriter(w)
	for _, part := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", html}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=UTF-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return "", fmt.Errorf("build mail: %w", err)
		}
		qw := quotedprintable.NewWriter(pw)
		if _, err := io.WriteString(qw, part.body); err != nil {
			return "", fmt.Errorf("build mail: %w", err)
		}
		if err := qw.Close(); err != nil {
			return "", fmt.Errorf("build mail: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return "", fmt.Errorf("build mail: %w", err)
	}
	return mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}), nil
}

// writeMixed writes the multipart/mixed body of m (its alternative parts, then its
// attachments) to w and returns its content type.
func writeMixed(w io.Writer, m Message) (string, error) {
	mw := multipart.NewWriter(w)
	var alt bytes.Buffer
	altType, err := writeAlternative(&alt, m.Text, m.HTML)
	if err != nil {
		return "", err
	}
	pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {altType}})
	if err != nil {
		return "", fmt.Errorf("build mail: %w", err)
	}
	if _, err := pw.Write(alt.Bytes()); err != nil {
		return "", fmt.Errorf("build mail: %w", err)
	}
	for i, a := range m.Attachments {
		header, err := attachmentHeader(a)
		if err != nil {
			return "", fmt.Errorf("build mail: attachment %d: %w", i, err)
		}
		pw, err := mw.CreatePart(header)
		if err != nil {
			return "", fmt.Errorf("build mail: %w", err)
		}
		if err := writeBase64(pw, a.Data); err != nil {
			return "", fmt.Errorf("build mail: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return "", fmt.Errorf("build mail: %w", err)
	}
	return mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": mw.Boundary()}), nil
}

// attachmentHeader returns the part header of a: its content type with its parameters kept
// (a calendar's method=, which mail clients read to offer "add to calendar") and the file
// name added as name= (for older clients), and Content-Disposition: attachment with the file
// name (RFC 2231 encoded when it is not ASCII).
func attachmentHeader(a Attachment) (textproto.MIMEHeader, error) {
	if a.Filename == "" || len(a.Filename) > maxFilename {
		return nil, fmt.Errorf("file name must be 1 to %d bytes", maxFilename)
	}
	if !utf8.ValidString(a.Filename) || strings.ContainsFunc(a.Filename, func(r rune) bool { return isControl(r) || r == '/' || r == '\\' }) {
		return nil, errors.New("file name must be UTF-8 without control characters or slashes")
	}
	contentType := a.ContentType
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if strings.ContainsFunc(contentType, isControl) {
		return nil, errors.New("content type contains a control character")
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || strings.Count(mediaType, "/") != 1 || strings.HasPrefix(mediaType, "multipart/") {
		return nil, errors.New("content type is not a valid single-part media type")
	}
	if mediaType == "text/calendar" && params["method"] == "" {
		if method := calendarMethod(a.Data); method != "" {
			params["method"] = method
		}
	}
	params["name"] = a.Filename
	typ := mime.FormatMediaType(mediaType, params)
	disposition := mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename})
	if typ == "" || disposition == "" {
		return nil, errors.New("content type or file name cannot be encoded")
	}
	return textproto.MIMEHeader{
		"Content-Type":              {typ},
		"Content-Disposition":       {disposition},
		"Content-Transfer-Encoding": {"base64"},
	}, nil
}

// calendarMethod returns the METHOD property of an iCalendar object ("PUBLISH"), or "".
func calendarMethod(data []byte) string {
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "METHOD:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// writeBase64 writes data in base64, in lines of 76 characters.
func writeBase64(w io.Writer, data []byte) error {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 0 {
		n := min(base64Line, len(enc))
		b.WriteString(enc[:n] + "\r\n")
		enc = enc[n:]
	}
	_, err := io.WriteString(w, b.String())
	return err
}
