// Package sescapture is an Amazon SES (v1 Query API) endpoint for the local stack that captures
// outgoing mail instead of delivering it, and pages to browse what it captured.
//
// It speaks what github.com/aws/aws-sdk-go-v2/service/ses sends: form-encoded POSTs with
// Action=SendEmail, SendRawEmail or GetSendQuota, answered with the XML documents of the
// 2010-12-01 API. Requests are not signature-checked. Message contents are never logged.
//
// It records the configuration set each message was sent with and, for the mailbox
// simulator's addresses (simulator.go), builds the bounce and complaint events SES would
// publish for it; the local stack delivers them (Options.OnSent).
package sescapture

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/textproto"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	// namespace is the XML namespace of every SES v1 response.
	namespace = "http://ses.amazonaws.com/doc/2010-12-01/"
	// maxRecipients is SES's limit on destinations per message.
	maxRecipients = 50
	// maxMessageBytes is SES's limit on the size of a message (10 MB).
	maxMessageBytes = 10 << 20
	// maxRequestBytes bounds a request: a 10 MB message in base64 (4/3 larger), form-encoded
	// (its "+" and "/" become three bytes each), plus the other fields.
	maxRequestBytes = 2*maxMessageBytes + 1<<20
)

// Message is one captured message.
type Message struct {
	ID           string    // the MessageId SES returned
	Received     time.Time // when the endpoint accepted it
	Action       string    // SendEmail or SendRawEmail
	Source       string    // the Source parameter, or the From address of a raw message
	Destinations []string  // every recipient address (To, Cc and Bcc)
	Subject      string    // decoded Subject header
	// ConfigurationSet is the ConfigurationSetName the message was sent with ("" for none).
	ConfigurationSet string
	Raw              []byte // the RFC 5322 message; callers must not modify it
}

// apiError is an SES error response.
type apiError struct {
	status  int
	typ     string // Sender or Receiver
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func rejected(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "Sender", code: "MessageRejected", message: fmt.Sprintf(format, args...)}
}

func invalidParameter(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "Sender", code: "InvalidParameterValue", message: fmt.Sprintf(format, args...)}
}

// ServeHTTP is the SES endpoint.
func (o *Outbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := newUUID()
	w.Header().Set("x-amzn-RequestId", requestID)
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		writeError(w, requestID, &apiError{status: http.StatusMethodNotAllowed, typ: "Sender", code: "InvalidAction", message: "requests must be POST or GET"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, requestID, rejected("Message length is more than %d bytes long.", maxMessageBytes))
			return
		}
		writeError(w, requestID, &apiError{status: http.StatusBadRequest, typ: "Sender", code: "MalformedQueryString", message: "the request body is not a valid form"})
		return
	}
	action := r.Form.Get("Action")
	var (
		result any
		err    *apiError
	)
	switch action {
	case "SendEmail":
		result, err = o.sendEmail(r.Form)
	case "SendRawEmail":
		result, err = o.sendRawEmail(r.Form)
	case "GetSendQuota":
		result = o.sendQuota()
	default:
		err = &apiError{status: http.StatusBadRequest, typ: "Sender", code: "InvalidAction", message: fmt.Sprintf("The action %s is not valid for this web service.", action)}
	}
	if err != nil {
		writeError(w, requestID, err)
		return
	}
	writeXML(w, http.StatusOK, &response{
		XMLName:  xml.Name{Local: action + "Response"},
		Xmlns:    namespace,
		Result:   result,
		Metadata: responseMetadata{RequestID: requestID},
	})
}

type response struct {
	XMLName  xml.Name
	Xmlns    string           `xml:"xmlns,attr"`
	Result   any              // its own XMLName names the element
	Metadata responseMetadata `xml:"ResponseMetadata"`
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type sendResult struct {
	XMLName   xml.Name
	MessageID string `xml:"MessageId"`
}

type sendQuotaResult struct {
	XMLName         xml.Name
	Max24HourSend   string `xml:"Max24HourSend"`
	MaxSendRate     string `xml:"MaxSendRate"`
	SentLast24Hours string `xml:"SentLast24Hours"`
}

type errorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func writeError(w http.ResponseWriter, requestID string, e *apiError) {
	resp := errorResponse{Xmlns: namespace, RequestID: requestID}
	resp.Error.Type, resp.Error.Code, resp.Error.Message = e.typ, e.code, e.message
	writeXML(w, e.status, &resp)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}

// members returns the values of a query-protocol list (name.member.1, name.member.2, ...) in
// index order.
func members(form url.Values, name string) []string {
	prefix := name + ".member."
	type item struct {
		n int
		v string
	}
	var items []item
	for k, vs := range form {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok || len(vs) == 0 {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 {
			continue
		}
		items = append(items, item{n, vs[0]})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].n < items[j].n })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// parseAddresses parses each address as SES would accept it in a destination list.
func parseAddresses(list []string) ([]*mail.Address, *apiError) {
	out := make([]*mail.Address, 0, len(list))
	for _, s := range list {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, invalidParameter("Illegal address")
		}
		out = append(out, a)
	}
	return out, nil
}

func checkRecipientCount(n int) *apiError {
	switch {
	case n == 0:
		return rejected("Message has no recipients.")
	case n > maxRecipients:
		return rejected("Recipient count exceeds %d.", maxRecipients)
	}
	return nil
}

func addressStrings(lists ...[]*mail.Address) []string {
	var out []string
	for _, list := range lists {
		for _, a := range list {
			out = append(out, a.Address)
		}
	}
	return out
}

func (o *Outbox) sendEmail(form url.Values) (any, *apiError) {
	source := form.Get("Source")
	if strings.TrimSpace(source) == "" {
		return nil, rejected("Source is required.")
	}
	from, err := mail.ParseAddress(source)
	if err != nil {
		return nil, invalidParameter("Illegal address")
	}
	var lists [4][]*mail.Address
	for i, name := range []string{"Destination.ToAddresses", "Destination.CcAddresses", "Destination.BccAddresses", "ReplyToAddresses"} {
		list, apiErr := parseAddresses(members(form, name))
		if apiErr != nil {
			return nil, apiErr
		}
		lists[i] = list
	}
	to, cc, bcc, replyTo := lists[0], lists[1], lists[2], lists[3]
	if apiErr := checkRecipientCount(len(to) + len(cc) + len(bcc)); apiErr != nil {
		return nil, apiErr
	}
	_, hasText := form["Message.Body.Text.Data"]
	_, hasHTML := form["Message.Body.Html.Data"]
	if !hasText && !hasHTML {
		return nil, rejected("Message body must have Text or Html content.")
	}
	set, apiErr := o.configurationSet(form)
	if apiErr != nil {
		return nil, apiErr
	}
	now := o.now().UTC()
	id := newMessageID(now)
	subject := form.Get("Message.Subject.Data")
	raw, cerr := compose(composition{
		id: id, date: now, from: from, to: to, cc: cc, replyTo: replyTo, subject: subject,
		text: form.Get("Message.Body.Text.Data"), html: form.Get("Message.Body.Html.Data"),
		hasText: hasText, hasHTML: hasHTML,
	})
	if cerr != nil {
		return nil, &apiError{status: http.StatusInternalServerError, typ: "Receiver", code: "InternalFailure", message: "could not compose the message"}
	}
	if len(raw) > maxMessageBytes {
		return nil, rejected("Message length is more than %d bytes long: %d.", maxMessageBytes, len(raw))
	}
	if apiErr := o.add(Message{
		ID: id, Received: now, Action: "SendEmail", Source: source,
		Destinations: addressStrings(to, cc, bcc), Subject: subject, ConfigurationSet: set, Raw: raw,
	}); apiErr != nil {
		return nil, apiErr
	}
	return &sendResult{XMLName: xml.Name{Local: "SendEmailResult"}, MessageID: id}, nil
}

func (o *Outbox) sendRawEmail(form url.Values) (any, *apiError) {
	data := form.Get("RawMessage.Data")
	if data == "" {
		return nil, rejected("RawMessage.Data is required.")
	}
	if base64.StdEncoding.DecodedLen(len(data)) > maxMessageBytes+3 {
		return nil, rejected("Message length is more than %d bytes long.", maxMessageBytes)
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, rejected("RawMessage.Data is not valid base64.")
	}
	if len(raw) > maxMessageBytes {
		return nil, rejected("Message length is more than %d bytes long: %d.", maxMessageBytes, len(raw))
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, rejected("Could not parse the message: %v.", err)
	}

	var destinations []*mail.Address
	if list := members(form, "Destinations"); len(list) > 0 {
		parsed, apiErr := parseAddresses(list)
		if apiErr != nil {
			return nil, apiErr
		}
		destinations = parsed
	} else {
		for _, h := range []string{"To", "Cc", "Bcc"} {
			list, err := msg.Header.AddressList(h)
			if errors.Is(err, mail.ErrHeaderNotPresent) {
				continue
			}
			if err != nil {
				return nil, invalidParameter("Illegal address in the %s header", h)
			}
			destinations = append(destinations, list...)
		}
	}
	if apiErr := checkRecipientCount(len(destinations)); apiErr != nil {
		return nil, apiErr
	}

	source := form.Get("Source")
	if source != "" {
		if _, err := mail.ParseAddress(source); err != nil {
			return nil, invalidParameter("Illegal address")
		}
	} else {
		from, err := msg.Header.AddressList("From")
		if err != nil || len(from) == 0 {
			return nil, rejected("Missing required header 'From'.")
		}
		source = from[0].Address
	}

	set, apiErr := o.configurationSet(form)
	if apiErr != nil {
		return nil, apiErr
	}
	subject := msg.Header.Get("Subject")
	if decoded, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = decoded
	}
	now := o.now().UTC()
	id := newMessageID(now)
	if apiErr := o.add(Message{
		ID: id, Received: now, Action: "SendRawEmail", Source: source,
		Destinations: addressStrings(destinations), Subject: subject, ConfigurationSet: set, Raw: raw,
	}); apiErr != nil {
		return nil, apiErr
	}
	return &sendResult{XMLName: xml.Name{Local: "SendRawEmailResult"}, MessageID: id}, nil
}

// configurationSet returns a send's ConfigurationSetName, refusing one that does not exist
// (Options.ConfigurationSets) as SES does.
func (o *Outbox) configurationSet(form url.Values) (string, *apiError) {
	name := form.Get("ConfigurationSetName")
	if name == "" || o.opts.ConfigurationSets == nil || slices.Contains(o.opts.ConfigurationSets, name) {
		return name, nil
	}
	return "", &apiError{status: http.StatusBadRequest, typ: "Sender", code: "ConfigurationSetDoesNotExist", message: fmt.Sprintf("Configuration set <%s> does not exist.", name)}
}

// composition is what SendEmail turns into a MIME message.
type composition struct {
	id               string
	date             time.Time
	from             *mail.Address
	to, cc, replyTo  []*mail.Address
	subject          string
	text, html       string
	hasText, hasHTML bool
}

// compose builds the RFC 5322 message SES would send for a SendEmail request: UTF-8 bodies in
// quoted-printable, multipart/alternative when there are both text and HTML bodies. Bcc
// recipients do not appear in the headers.
func compose(c composition) ([]byte, error) {
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name + ": " + value + "\r\n")
	}
	joined := func(list []*mail.Address) string {
		parts := make([]string, len(list))
		for i, a := range list {
			parts[i] = a.String()
		}
		return strings.Join(parts, ", ")
	}
	header("From", c.from.String())
	if len(c.to) > 0 {
		header("To", joined(c.to))
	}
	if len(c.cc) > 0 {
		header("Cc", joined(c.cc))
	}
	if len(c.replyTo) > 0 {
		header("Reply-To", joined(c.replyTo))
	}
	// Fold between encoded words so that long subjects keep lines short.
	header("Subject", strings.ReplaceAll(mime.QEncoding.Encode("UTF-8", c.subject), "?= =?", "?=\r\n =?"))
	header("Date", c.date.Format(time.RFC1123Z))
	header("Message-ID", "<"+c.id+"@email.amazonses.com>")
	header("MIME-Version", "1.0")

	if c.hasText && c.hasHTML {
		mw := multipart.NewWriter(&b)
		header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
		b.WriteString("\r\n")
		for _, part := range []struct{ typ, body string }{{"text/plain", c.text}, {"text/html", c.html}} {
			pw, err := mw.CreatePart(textproto.MIMEHeader{
				"Content-Type":              {part.typ + "; charset=UTF-8"},
				"Content-Transfer-Encoding": {"quoted-printable"},
			})
			if err != nil {
				return nil, fmt.Errorf("compose message part: %w", err)
			}
			if err := writeQuotedPrintable(pw, part.body); err != nil {
				return nil, err
			}
		}
		if err := mw.Close(); err != nil {
			return nil, fmt.Errorf("compose message: %w", err)
		}
		return b.Bytes(), nil
	}
	typ, body := "text/plain", c.text
	if c.hasHTML {
		typ, body = "text/html", c.html
	}
	header("Content-Type", typ+"; charset=UTF-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	if err := writeQuotedPrintable(&b, body); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeQuotedPrintable(w io.Writer, body string) error {
	qw := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qw, body); err != nil {
		return fmt.Errorf("encode message body: %w", err)
	}
	if err := qw.Close(); err != nil {
		return fmt.Errorf("encode message body: %w", err)
	}
	return nil
}

// newMessageID returns an ID shaped like SES's: a time-ordered prefix, a UUID and a suffix.
func newMessageID(now time.Time) string {
	return fmt.Sprintf("0102%012x-%s-000000", now.UnixMilli(), newUUID())
}

func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
