package sescapture

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"strings"
	"time"
)

// maxPartDepth bounds how deeply bodies() descends into nested multipart messages.
const maxPartDepth = 5

var listPage = template.Must(template.New("outbox").Funcs(template.FuncMap{"join": strings.Join}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Local outbox</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
</style>
</head>
<body>
<h1>Local outbox</h1>
<p>{{len .Messages}} captured message(s), newest first. Nothing here was delivered. <a href="{{.Prefix}}.json">JSON</a></p>
<table>
<thead><tr><th>Received</th><th>From</th><th>To</th><th>Subject</th><th></th></tr></thead>
<tbody>
{{- range .Messages}}
<tr><td>{{.Received.Format "2006-01-02 15:04:05 MST"}}</td><td>{{.Source}}</td><td>{{join .Destinations ", "}}</td><td>{{.Subject}}</td><td><a href="{{$.Prefix}}/{{.ID}}">raw</a></td></tr>
{{- end}}
</tbody>
</table>
</body>
</html>
`))

// jsonMessage is a captured message in the JSON listing: the headers SES was given, the
// decoded text and HTML bodies (for tests that follow links in mail), and the raw message.
type jsonMessage struct {
	ID           string    `json:"id"`
	Received     time.Time `json:"received"`
	Action       string    `json:"action"`
	Source       string    `json:"source"`
	Destinations []string  `json:"destinations"`
	Subject      string    `json:"subject"`
	Text         string    `json:"text"`
	HTML         string    `json:"html"`
	Raw          string    `json:"raw"`
	URL          string    `json:"url"`
}

// Browser returns the pages mounted at prefix (such as "/_local/outbox"): an HTML list of the
// captured messages at prefix, each raw message at prefix+"/"+id (text/plain), and the list as
// JSON at prefix+".json" ({"messages": [...]}, newest first) for scripts and tests.
func (o *Outbox) Browser(prefix string) http.Handler {
	prefix = strings.TrimSuffix(prefix, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		path := r.URL.Path
		switch {
		case path == prefix || path == prefix+"/":
			o.serveList(w, prefix)
		case path == prefix+".json":
			o.serveJSON(w, prefix)
		case strings.HasPrefix(path, prefix+"/"):
			m, ok := o.Message(strings.TrimPrefix(path, prefix+"/"))
			if !ok {
				http.Error(w, "no such message", http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write(m.Raw)
		default:
			http.NotFound(w, r)
		}
	})
}

func (o *Outbox) serveList(w http.ResponseWriter, prefix string) {
	var b bytes.Buffer
	err := listPage.Execute(&b, struct {
		Prefix   string
		Messages []Message
	}{prefix, o.Messages()})
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

func (o *Outbox) serveJSON(w http.ResponseWriter, prefix string) {
	msgs := o.Messages()
	out := struct {
		Messages []jsonMessage `json:"messages"`
	}{Messages: make([]jsonMessage, len(msgs))}
	for i, m := range msgs {
		text, html := bodies(m.Raw)
		out.Messages[i] = jsonMessage{
			ID: m.ID, Received: m.Received, Action: m.Action, Source: m.Source,
			Destinations: m.Destinations, Subject: m.Subject,
			Text: text, HTML: html, Raw: string(m.Raw), URL: prefix + "/" + m.ID,
		}
	}
	body, err := json.Marshal(out)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// bodies returns the first text/plain and text/html bodies of a message, with their transfer
// encoding undone. It is best effort: what it cannot parse it leaves empty.
func bodies(raw []byte) (text, html string) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", ""
	}
	walkParts(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0, &text, &html)
	return text, html
}

func walkParts(contentType, encoding string, body io.Reader, depth int, text, html *string) {
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		if depth >= maxPartDepth || params["boundary"] == "" {
			return
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart() // undoes quoted-printable itself
			if err != nil {
				return
			}
			walkParts(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part, depth+1, text, html)
			if *text != "" && *html != "" {
				return
			}
		}
	}
	var target *string
	switch mediaType {
	case "text/plain":
		target = text
	case "text/html":
		target = html
	default:
		return
	}
	if *target != "" {
		return
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // skips line breaks
	}
	b, err := io.ReadAll(io.LimitReader(body, maxMessageBytes))
	if err != nil {
		return
	}
	*target = strings.ReplaceAll(string(b), "\r\n", "\n")
}
