package sescapture

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
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
<p>{{.Total}} captured message(s){{if lt (len .Messages) .Total}}, the newest {{len .Messages}} shown{{end}}, newest first. Nothing here was delivered. <a href="{{.Prefix}}.json">JSON</a> (with ?limit=, ?after=, ?to= and ?fields=)</p>
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
	// ConfigurationSet is the SES configuration set it was sent with ("" for none).
	ConfigurationSet string `json:"configuration_set"`
	Text             string `json:"text"`
	HTML             string `json:"html"`
	Raw              string `json:"raw"`
	URL              string `json:"url"`
}

// listPageSize is how many messages the HTML list shows, newest first.
const listPageSize = 500

// jsonFields are the fields of a message in the JSON listing, for ?fields=.
var jsonFields = []string{"id", "received", "action", "source", "destinations", "subject", "configuration_set", "text", "html", "raw", "url"}

// Browser returns the pages mounted at prefix (such as "/_local/outbox"): an HTML list of the
// newest captured messages at prefix, each raw message at prefix+"/"+id (text/plain), and the
// list as JSON at prefix+".json" for scripts and tests.
//
// The JSON listing is {"messages": [...], "total": n, "next": id}, newest first. Its query
// parameters, each optional: limit (at most this many messages; all when absent), after (a
// message ID: only messages older than it, so that "next", the ID of a full page's last message,
// fetches the next page), to (only messages with this recipient, exactly, ignoring case) and
// fields (a comma-separated subset of the message fields, such as "id,destinations,subject" to
// leave out the bodies). "total" counts the messages matching to, before after and limit; "next"
// is present when messages remain after this page (and limit is not 0). A bad parameter
// answers 400.
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
			o.serveJSON(w, r, prefix)
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
	page, total, _, _ := o.page(listQuery{limit: listPageSize})
	var b bytes.Buffer
	err := listPage.Execute(&b, struct {
		Prefix   string
		Total    int
		Messages []stored
	}{prefix, total, page})
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// listQuery selects messages for a listing, newest first.
type listQuery struct {
	limit int    // at most this many; no limit when negative
	after string // only messages older than this one, when set
	to    string // only messages with this recipient, when set
}

// page returns the messages q selects (their raw forms still compressed), how many match q.to in
// all, and the ID to page on from when more remain. ok is false when q.after is not kept.
func (o *Outbox) page(q listQuery) (page []stored, total int, next string, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	start := len(o.msgs) - 1 // the newest message to consider
	if q.after != "" {
		i, found := o.indexLocked(q.after)
		if !found {
			return nil, 0, "", false
		}
		start = i - 1
	}
	for i := len(o.msgs) - 1; i >= 0; i-- {
		m := &o.msgs[i]
		if q.to != "" && !m.hasRecipient(q.to) {
			continue
		}
		total++
		if i > start {
			continue
		}
		if q.limit >= 0 && len(page) == q.limit {
			if len(page) > 0 {
				next = page[len(page)-1].ID
			}
			continue // still counting total
		}
		page = append(page, *m)
	}
	return page, total, next, true
}

// parseListQuery reads the JSON listing's parameters; its error is for the client.
func parseListQuery(v url.Values) (q listQuery, fields map[string]bool, err error) {
	for name, vals := range v {
		switch name {
		case "limit", "after", "to", "fields":
		default:
			return q, nil, fmt.Errorf("unknown parameter %q: use limit, after, to or fields", name)
		}
		if len(vals) > 1 {
			return q, nil, fmt.Errorf("parameter %q given %d times: give it once", name, len(vals))
		}
	}
	q.limit = -1
	if s, has := v["limit"]; has {
		n, err := strconv.Atoi(s[0])
		if err != nil || n < 0 {
			return q, nil, fmt.Errorf("limit %q: want a whole number, 0 or more", s[0])
		}
		q.limit = n
	}
	if s, has := v["after"]; has {
		if s[0] == "" {
			return q, nil, errors.New("after is empty: want a message ID")
		}
		q.after = s[0]
	}
	if s, has := v["to"]; has {
		a, err := mail.ParseAddress(s[0])
		if err != nil || !strings.EqualFold(a.Address, strings.TrimSpace(s[0])) {
			return q, nil, errors.New("to: want one bare email address, such as ada@example.org")
		}
		q.to = a.Address
	}
	if s, has := v["fields"]; has {
		fields = map[string]bool{}
		for _, f := range strings.Split(s[0], ",") {
			f = strings.TrimSpace(f)
			if !slices.Contains(jsonFields, f) {
				return q, nil, fmt.Errorf("fields: unknown field %q: want some of %s", f, strings.Join(jsonFields, ","))
			}
			fields[f] = true
		}
	}
	return q, fields, nil
}

func (o *Outbox) serveJSON(w http.ResponseWriter, r *http.Request, prefix string) {
	q, fields, err := parseListQuery(r.URL.Query())
	if err != nil {
		http.Error(w, "outbox.json: "+err.Error(), http.StatusBadRequest)
		return
	}
	page, total, next, ok := o.page(q)
	if !ok {
		http.Error(w, "outbox.json: after: no such message (it may have been dropped as the outbox filled)", http.StatusBadRequest)
		return
	}
	want := func(f string) bool { return fields == nil || fields[f] }
	out := struct {
		Messages []any  `json:"messages"`
		Total    int    `json:"total"`
		Next     string `json:"next,omitempty"`
	}{Messages: make([]any, len(page)), Total: total, Next: next}
	rr := rawReader{}
	for i := range page {
		s := &page[i]
		var raw []byte
		var text, html string
		if want("raw") || want("text") || want("html") {
			raw = rr.raw(s)
			if want("text") || want("html") {
				text, html = bodies(raw)
			}
		}
		jm := jsonMessage{
			ID: s.ID, Received: s.Received, Action: s.Action, Source: s.Source,
			Destinations: s.Destinations, Subject: s.Subject, ConfigurationSet: s.ConfigurationSet,
			Text: text, HTML: html, Raw: string(raw), URL: prefix + "/" + s.ID,
		}
		if fields == nil {
			out.Messages[i] = jm
		} else {
			out.Messages[i] = jm.only(fields)
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

// only returns the named fields of m, by their JSON names.
func (m jsonMessage) only(fields map[string]bool) map[string]any {
	all := map[string]any{
		"id": m.ID, "received": m.Received, "action": m.Action, "source": m.Source,
		"destinations": m.Destinations, "subject": m.Subject, "configuration_set": m.ConfigurationSet,
		"text": m.Text, "html": m.HTML, "raw": m.Raw, "url": m.URL,
	}
	out := make(map[string]any, len(fields))
	for f := range fields {
		out[f] = all[f]
	}
	return out
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
