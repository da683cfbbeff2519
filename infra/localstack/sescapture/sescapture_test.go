package sescapture

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"
)

const outboxPrefix = "/_local/outbox"

// startServer serves o's SES endpoint at / and its browser at outboxPrefix on 127.0.0.1.
func startServer(tb testing.TB, o *Outbox) *httptest.Server {
	tb.Helper()
	mux := http.NewServeMux()
	mux.Handle("/", o)
	browser := o.Browser(outboxPrefix)
	mux.Handle(outboxPrefix, browser)
	mux.Handle(outboxPrefix+"/", browser)
	mux.Handle(outboxPrefix+".json", browser)
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	tb.Cleanup(srv.Close)
	return srv
}

// newClient returns the real SES client pointed at the test server.
func newClient(tb testing.TB, srv *httptest.Server) *ses.Client {
	tb.Helper()
	cfg := aws.Config{
		Region:           "eu-west-2",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       srv.Client(),
	}
	return ses.NewFromConfig(cfg, func(o *ses.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
	})
}

func readMessage(tb testing.TB, raw []byte) *mail.Message {
	tb.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		tb.Fatalf("captured message does not parse: %v\n%s", err, raw)
	}
	return msg
}

func TestSendEmailMultipart(t *testing.T) {
	o := New()
	srv := startServer(t, o)
	client := newClient(t, srv)
	subject := "Light Lunch — café news ✓, with a subject long enough to need several encoded words"
	text := "Hello Zoë,\nA long line that goes on and on and on well past seventy-six characters, with = signs.\nhttps://example.org/confirm?token=abc&x=1\n"
	html := "<p>Hello Zoë, <a href=\"https://example.org/confirm?token=abc&amp;x=1\">confirm</a></p>"
	out, err := client.SendEmail(context.Background(), &ses.SendEmailInput{
		Source: aws.String("Sector Hub <news@sectorhub.example>"),
		Destination: &types.Destination{
			ToAddresses:  []string{"ada@example.org", "Zoë Brown <zoe@example.org>"},
			CcAddresses:  []string{"cc@example.org"},
			BccAddresses: []string{"hidden@example.org"},
		},
		ReplyToAddresses: []string{"replies@sectorhub.example"},
		Message: &types.Message{
			Subject: &types.Content{Data: aws.String(subject), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String(text)},
				Html: &types.Content{Data: aws.String(html)},
			},
		},
	})
	if err != nil {
		t.Fatalf("SendEmail() error = %v", err)
	}
	if reqID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); reqID == "" {
		t.Error("SendEmail() response has no request ID")
	}
	m, ok := o.Message(aws.ToString(out.MessageId))
	if !ok {
		t.Fatalf("Message(%q) not found; captured %d", aws.ToString(out.MessageId), len(o.Messages()))
	}
	wantDest := []string{"ada@example.org", "zoe@example.org", "cc@example.org", "hidden@example.org"}
	if m.Action != "SendEmail" || m.Source != "Sector Hub <news@sectorhub.example>" || m.Subject != subject || !slices.Equal(m.Destinations, wantDest) {
		t.Errorf("captured = %+v; want action SendEmail, subject %q, destinations %v", m, subject, wantDest)
	}

	msg := readMessage(t, m.Raw)
	dec := new(mime.WordDecoder)
	if got, err := dec.DecodeHeader(msg.Header.Get("Subject")); err != nil || got != subject {
		t.Errorf("Subject header decodes to %q, %v; want %q", got, err, subject)
	}
	if raw := msg.Header.Get("Subject"); !strings.HasPrefix(raw, "=?UTF-8?q?") && !strings.HasPrefix(raw, "=?UTF-8?Q?") {
		t.Errorf("Subject header = %q; want a Q-encoded word", raw)
	}
	headers := map[string][]string{
		"From":     {"news@sectorhub.example"},
		"To":       {"ada@example.org", "zoe@example.org"},
		"Cc":       {"cc@example.org"},
		"Reply-To": {"replies@sectorhub.example"},
	}
	for h, want := range headers {
		list, err := msg.Header.AddressList(h)
		if err != nil {
			t.Errorf("%s header: %v", h, err)
			continue
		}
		if got := addressStrings(list); !slices.Equal(got, want) {
			t.Errorf("%s header = %v; want %v", h, got, want)
		}
	}
	if to, _ := msg.Header.AddressList("To"); len(to) == 2 && to[1].Name != "Zoë Brown" {
		t.Errorf("To display name = %q; want %q", to[1].Name, "Zoë Brown")
	}
	if msg.Header.Get("Bcc") != "" || strings.Contains(string(m.Raw), "hidden@example.org") {
		t.Error("the raw message reveals the Bcc recipient")
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Errorf("Date header: %v", err)
	}
	if got := msg.Header.Get("Message-ID"); got != "<"+m.ID+"@email.amazonses.com>" {
		t.Errorf("Message-ID = %q", got)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v); want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for _, want := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", html}} {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %s: %v", want.typ, err)
		}
		if got := part.Header.Get("Content-Type"); got != want.typ+"; charset=UTF-8" {
			t.Errorf("part Content-Type = %q; want %s; charset=UTF-8", got, want.typ)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.ReplaceAll(string(b), "\r\n", "\n"); got != want.body {
			t.Errorf("%s body = %q; want %q", want.typ, got, want.body)
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("after two parts NextPart() error = %v; want EOF", err)
	}
	for i, line := range strings.Split(string(m.Raw), "\r\n") {
		if len(line) > 998 || strings.ContainsAny(line, "\n") {
			t.Errorf("line %d of the raw message is not RFC 5322: %q", i, line)
		}
	}
}

func TestSendEmailSingleBody(t *testing.T) {
	o := New()
	client := newClient(t, startServer(t, o))
	tests := []struct {
		name     string
		body     types.Body
		wantType string
		wantBody string
	}{
		{name: "text only", body: types.Body{Text: &types.Content{Data: aws.String("plain £5")}}, wantType: "text/plain; charset=UTF-8", wantBody: "plain £5"},
		{name: "html only", body: types.Body{Html: &types.Content{Data: aws.String("<b>bold</b>")}}, wantType: "text/html; charset=UTF-8", wantBody: "<b>bold</b>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.SendEmail(context.Background(), &ses.SendEmailInput{
				Source:      aws.String("news@sectorhub.example"),
				Destination: &types.Destination{ToAddresses: []string{"ada@example.org"}},
				Message:     &types.Message{Subject: &types.Content{Data: aws.String("plain subject")}, Body: &tt.body},
			})
			if err != nil {
				t.Fatalf("SendEmail() error = %v", err)
			}
			m, _ := o.Message(aws.ToString(out.MessageId))
			msg := readMessage(t, m.Raw)
			if got := msg.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q; want %q", got, tt.wantType)
			}
			if got := msg.Header.Get("Subject"); got != "plain subject" {
				t.Errorf("Subject = %q; want it unencoded", got)
			}
			text, html := bodies(m.Raw)
			if got := text + html; got != tt.wantBody {
				t.Errorf("body = %q; want %q", got, tt.wantBody)
			}
		})
	}
}

func TestSendRawEmail(t *testing.T) {
	o := New()
	client := newClient(t, startServer(t, o))
	raw := "From: Sector Hub <news@sectorhub.example>\r\n" +
		"To: ada@example.org, Zoë <zoe@example.org>\r\n" +
		"Cc: cc@example.org\r\n" +
		"Bcc: hidden@example.org\r\n" +
		"Subject: =?UTF-8?Q?caf=C3=A9_bulletin?=\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=UTF-8\r\n" +
		"\r\n" +
		"Hello.\r\n"
	tests := []struct {
		name         string
		source       *string
		destinations []string
		wantSource   string
		wantDest     []string
	}{
		{
			name:       "destinations from headers",
			wantSource: "news@sectorhub.example",
			wantDest:   []string{"ada@example.org", "zoe@example.org", "cc@example.org", "hidden@example.org"},
		},
		{
			name:         "explicit destinations and source",
			source:       aws.String("bounces@sectorhub.example"),
			destinations: []string{"only@example.org"},
			wantSource:   "bounces@sectorhub.example",
			wantDest:     []string{"only@example.org"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.SendRawEmail(context.Background(), &ses.SendRawEmailInput{
				Source:       tt.source,
				Destinations: tt.destinations,
				RawMessage:   &types.RawMessage{Data: []byte(raw)},
			})
			if err != nil {
				t.Fatalf("SendRawEmail() error = %v", err)
			}
			m, ok := o.Message(aws.ToString(out.MessageId))
			if !ok {
				t.Fatalf("Message(%q) not found", aws.ToString(out.MessageId))
			}
			if m.Action != "SendRawEmail" || m.Source != tt.wantSource || m.Subject != "café bulletin" || !slices.Equal(m.Destinations, tt.wantDest) {
				t.Errorf("captured = %+v; want source %q, subject %q, destinations %v", m, tt.wantSource, "café bulletin", tt.wantDest)
			}
			if string(m.Raw) != raw {
				t.Errorf("Raw = %q; want the message as sent", m.Raw)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	o := New()
	client := newClient(t, startServer(t, o))
	ctx := context.Background()
	message := &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}}
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf("r%d@example.org", i)
	}
	big := "From: a@example.org\r\nTo: b@example.org\r\nSubject: big\r\n\r\n" + strings.Repeat("a", maxMessageBytes)
	tests := []struct {
		name     string
		send     func() error
		wantCode string
	}{
		{
			name: "no destinations",
			send: func() error {
				_, err := client.SendEmail(ctx, &ses.SendEmailInput{Source: aws.String("a@example.org"), Destination: &types.Destination{}, Message: message})
				return err
			},
			wantCode: "MessageRejected",
		},
		{
			name: "51 recipients",
			send: func() error {
				_, err := client.SendEmail(ctx, &ses.SendEmailInput{Source: aws.String("a@example.org"), Destination: &types.Destination{ToAddresses: many}, Message: message})
				return err
			},
			wantCode: "MessageRejected",
		},
		{
			name: "no body",
			send: func() error {
				_, err := client.SendEmail(ctx, &ses.SendEmailInput{Source: aws.String("a@example.org"), Destination: &types.Destination{ToAddresses: []string{"b@example.org"}},
					Message: &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{}}})
				return err
			},
			wantCode: "MessageRejected",
		},
		{
			name: "illegal destination",
			send: func() error {
				_, err := client.SendEmail(ctx, &ses.SendEmailInput{Source: aws.String("a@example.org"), Destination: &types.Destination{ToAddresses: []string{"not an address"}}, Message: message})
				return err
			},
			wantCode: "InvalidParameterValue",
		},
		{
			name: "illegal source",
			send: func() error {
				_, err := client.SendEmail(ctx, &ses.SendEmailInput{Source: aws.String("nobody"), Destination: &types.Destination{ToAddresses: []string{"b@example.org"}}, Message: message})
				return err
			},
			wantCode: "InvalidParameterValue",
		},
		{
			name: "raw not parseable",
			send: func() error {
				_, err := client.SendRawEmail(ctx, &ses.SendRawEmailInput{RawMessage: &types.RawMessage{Data: []byte("this is not a header\r\n\r\nbody")}})
				return err
			},
			wantCode: "MessageRejected",
		},
		{
			name: "raw without recipients",
			send: func() error {
				_, err := client.SendRawEmail(ctx, &ses.SendRawEmailInput{RawMessage: &types.RawMessage{Data: []byte("From: a@example.org\r\nSubject: s\r\n\r\nbody")}})
				return err
			},
			wantCode: "MessageRejected",
		},
		{
			name: "raw without source",
			send: func() error {
				_, err := client.SendRawEmail(ctx, &ses.SendRawEmailInput{RawMessage: &types.RawMessage{Data: []byte("To: b@example.org\r\nSubject: s\r\n\r\nbody")}})
				return err
			},
			wantCode: "MessageRejected",
		},
		{
			name: "raw over 10 MB",
			send: func() error {
				_, err := client.SendRawEmail(ctx, &ses.SendRawEmailInput{RawMessage: &types.RawMessage{Data: []byte(big)}})
				return err
			},
			wantCode: "MessageRejected",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.send()
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error = %v; want an API error %s", err, tt.wantCode)
			}
			if apiErr.ErrorCode() != tt.wantCode || apiErr.ErrorMessage() == "" {
				t.Errorf("error = %v; want code %s and a message", apiErr, tt.wantCode)
			}
			if tt.wantCode == "MessageRejected" {
				var rejected *types.MessageRejected
				if !errors.As(err, &rejected) || rejected.ErrorFault() != smithy.FaultClient {
					t.Errorf("error = %T; want *types.MessageRejected, a client fault", apiErr)
				}
			}
		})
	}
	if n := len(o.Messages()); n != 0 {
		t.Errorf("%d messages captured from rejected requests; want 0", n)
	}
}

// TestProtocolErrors covers requests the SDK would not send: a missing Source and an unknown
// Action, checked on the XML error document itself.
func TestProtocolErrors(t *testing.T) {
	srv := startServer(t, New())
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantCode   string
	}{
		{
			name:       "unknown action",
			form:       url.Values{"Action": {"SendBounce"}, "Version": {"2010-12-01"}},
			wantStatus: http.StatusBadRequest, wantCode: "InvalidAction",
		},
		{
			name:       "no action",
			form:       url.Values{},
			wantStatus: http.StatusBadRequest, wantCode: "InvalidAction",
		},
		{
			name: "missing source",
			form: url.Values{"Action": {"SendEmail"}, "Destination.ToAddresses.member.1": {"a@example.org"},
				"Message.Subject.Data": {"s"}, "Message.Body.Text.Data": {"b"}},
			wantStatus: http.StatusBadRequest, wantCode: "MessageRejected",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := srv.Client().PostForm(srv.URL+"/", tt.form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var doc struct {
				XMLName xml.Name
				Error   struct{ Type, Code, Message string }
				ReqID   string `xml:"RequestId"`
			}
			if err := xml.NewDecoder(resp.Body).Decode(&doc); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || doc.XMLName.Local != "ErrorResponse" || doc.XMLName.Space != namespace ||
				doc.Error.Type != "Sender" || doc.Error.Code != tt.wantCode || doc.ReqID == "" {
				t.Errorf("POST %v = %d %+v; want %d with ErrorResponse code %s", tt.form, resp.StatusCode, doc, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func TestConcurrentSends(t *testing.T) {
	o := New()
	srv := startServer(t, o)
	client := newClient(t, srv)
	const n = 20
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, err := client.SendEmail(context.Background(), &ses.SendEmailInput{
				Source:      aws.String("news@sectorhub.example"),
				Destination: &types.Destination{ToAddresses: []string{fmt.Sprintf("r%d@example.org", i)}},
				Message:     &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}},
			})
			if err != nil {
				t.Error(err)
				return
			}
			ids <- aws.ToString(out.MessageId)
		})
		wg.Go(func() { _ = o.Messages() })
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if _, ok := o.Message(id); !ok || seen[id] {
			t.Errorf("message %q missing or duplicated", id)
		}
		seen[id] = true
	}
	if got := len(o.Messages()); got != n {
		t.Errorf("captured %d messages; want %d", got, n)
	}
}

func TestBrowser(t *testing.T) {
	o := New()
	srv := startServer(t, o)
	client := newClient(t, srv)
	subject := `<script>alert("x")</script> & café`
	out, err := client.SendEmail(context.Background(), &ses.SendEmailInput{
		Source:      aws.String("news@sectorhub.example"),
		Destination: &types.Destination{ToAddresses: []string{"ada@example.org"}},
		Message: &types.Message{Subject: &types.Content{Data: aws.String(subject)}, Body: &types.Body{
			Text: &types.Content{Data: aws.String("Confirm: https://example.org/c?t=a=b\n")},
			Html: &types.Content{Data: aws.String("<p>Confirm</p>")},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.MessageId)

	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}

	resp, page := get(outboxPrefix)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("GET %s = %d %s", outboxPrefix, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(page, "<script>") || !strings.Contains(page, "&lt;script&gt;") {
		t.Errorf("list page does not escape the subject:\n%s", page)
	}
	for _, want := range []string{"news@sectorhub.example", "ada@example.org", `href="` + outboxPrefix + "/" + id + `"`} {
		if !strings.Contains(page, want) {
			t.Errorf("list page lacks %q:\n%s", want, page)
		}
	}

	resp, raw := get(outboxPrefix + "/" + id)
	m, _ := o.Message(id)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || raw != string(m.Raw) {
		t.Errorf("GET raw = %d %s; want 200 text/plain with the raw message", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	resp, body := get(outboxPrefix + ".json")
	var doc struct {
		Messages []jsonMessage `json:"messages"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET json: %v (%s)", err, resp.Header.Get("Content-Type"))
	}
	if len(doc.Messages) != 1 {
		t.Fatalf("JSON lists %d messages; want 1", len(doc.Messages))
	}
	got := doc.Messages[0]
	if got.ID != id || got.Subject != subject || got.Text != "Confirm: https://example.org/c?t=a=b\n" || got.HTML != "<p>Confirm</p>" ||
		got.URL != outboxPrefix+"/"+id || got.Raw != string(m.Raw) || !slices.Equal(got.Destinations, []string{"ada@example.org"}) {
		t.Errorf("JSON message = %+v", got)
	}

	for _, tt := range []struct {
		name, method, path string
		want               int
	}{
		{name: "unknown message", method: http.MethodGet, path: outboxPrefix + "/nope", want: http.StatusNotFound},
		{name: "outside prefix", method: http.MethodGet, path: outboxPrefix + "x", want: http.StatusNotFound},
		{name: "POST", method: http.MethodPost, path: outboxPrefix, want: http.StatusMethodNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			o.Browser(outboxPrefix).ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.want {
				t.Errorf("%s %s = %d; want %d", tt.method, tt.path, rec.Code, tt.want)
			}
		})
	}
}
