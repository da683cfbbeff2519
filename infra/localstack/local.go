package localstack

import (
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"
	"strings"

	"sectorhub/infra/localstack/lambdart"
)

// localHandler serves the stack's own pages under /_local/: an index, the
// outbox of captured mail, and POST /_local/invoke/<LogicalId> to fire any
// function by hand (schedules, SNS and the like).
func (s *Stack) localHandler() http.Handler {
	mux := http.NewServeMux()
	outbox := s.outbox.Browser("/_local/outbox")
	mux.Handle("/_local/outbox", outbox)
	mux.Handle("/_local/outbox/", outbox)
	mux.Handle("/_local/outbox.json", outbox)
	mux.HandleFunc("/_local/invoke/{id}", s.handleInvoke)
	mux.HandleFunc("/_local/sns/{topic}", s.handlePublish)
	mux.HandleFunc("GET /_local/{$}", s.handleIndex)
	mux.HandleFunc("/_local/", func(w http.ResponseWriter, r *http.Request) {
		writeMessage(w, http.StatusNotFound, "Not Found")
	})
	return mux
}

// handleInvoke invokes a function with the request body as its event. The
// answer mirrors Lambda's Invoke API: the function's payload with 200, or
// its error with X-Amz-Function-Error: Unhandled (here with status 502 so
// that curl -f notices).
func (s *Stack) handleInvoke(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeMessage(w, http.StatusMethodNotAllowed, "use POST with the event as the body")
		return
	}
	id := r.PathValue("id")
	if _, ok := s.pools[id]; !ok {
		writeMessage(w, http.StatusNotFound, "no function "+id+" in the template; functions: "+strings.Join(s.FunctionIDs(), ", "))
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, lambdart.MaxPayload+1))
	if err != nil {
		writeMessage(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		writeMessage(w, http.StatusBadRequest, "the body must be a JSON event")
		return
	}
	resp, err := s.Invoke(r.Context(), id, payload)
	w.Header().Set("Content-Type", "application/json")
	if fe, ok := errors.AsType[*lambdart.FunctionError](err); ok {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		w.WriteHeader(http.StatusBadGateway)
		_ = json.NewEncoder(w).Encode(fe)
		return
	}
	if errors.Is(err, lambdart.ErrPayloadTooLarge) {
		writeMessage(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	}
	if err != nil {
		writeMessage(w, http.StatusInternalServerError, err.Error())
		return
	}
	_, _ = w.Write(resp)
}

// handlePublish publishes the request body as a message to the template's SNS topic named in
// the path (its logical ID), with the subject ?subject= if given, and answers how many
// functions it invoked: {"invocations": n}.
func (s *Stack) handlePublish(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeMessage(w, http.StatusMethodNotAllowed, "use POST with the message as the body")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSNSMessage+1))
	switch {
	case err != nil:
		writeMessage(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	case len(body) > maxSNSMessage:
		writeMessage(w, http.StatusRequestEntityTooLarge, "an SNS message is at most 256 KB")
		return
	}
	n, err := s.PublishSNS(r.PathValue("topic"), r.URL.Query().Get("subject"), string(body))
	if errors.Is(err, errNoTopic) {
		writeMessage(w, http.StatusNotFound, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"invocations": n})
}

// maxSNSMessage is SNS's limit on a message (256 KB).
const maxSNSMessage = 256 << 10

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sectorhub local stack</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code,pre{font-family:ui-monospace,monospace}table{border-collapse:collapse}td,th{padding:.2rem .8rem .2rem 0;text-align:left;vertical-align:top}</style></head>
<body><h1>sectorhub local stack</h1>
<h2>HTTP API</h2>
<table><tr><th>route</th><th>function</th><th>authorizer</th></tr>
{{range .Routes}}<tr><td><code>{{.Key}}</code></td><td>{{.Function}}</td><td>{{.Authorizer}}</td></tr>
{{end}}</table>
<p>Staff routes take <code>Authorization: Bearer &lt;token&gt;</code>; <code>go run ./infra/local token --email staff@example.org</code> prints one.</p>
<h2>Endpoints</h2>
<table>
<tr><td>HTTP API</td><td><code>{{.API}}</code></td></tr>
<tr><td>S3 (path style)</td><td><code>{{.S3}}</code></td></tr>
<tr><td>SES</td><td><code>{{.SES}}</code></td></tr>
<tr><td>DynamoDB</td><td><code>{{.DynamoDB}}</code></td></tr>
</table>
<h2>Buckets and uploads</h2>
<ul>{{range .Buckets}}<li><code>{{.}}</code></li>{{end}}</ul>
<ul>{{range .S3Events}}<li>{{.}}</li>{{end}}</ul>
<h2>Functions</h2>
<p>Invoke any function by hand: <code>curl -d @event.json {{.API}}/_local/invoke/&lt;LogicalId&gt;</code>; publish to an SNS topic of the template (its subscribed functions get it, asynchronously): <code>curl -d @message.json '{{.API}}/_local/sns/&lt;TopicLogicalId&gt;?subject=...'</code></p>
<ul>{{range .Functions}}<li><code>{{.}}</code></li>{{end}}</ul>
{{if .Triggers}}<p>Triggers (schedules fire on their timetable with <code>--schedules</code>; any of them by hand):</p><ul>{{range .Triggers}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Mail</h2>
<p><a href="/_local/outbox">Outbox</a> (<a href="/_local/outbox.json">JSON</a>): every message sent through the SES endpoint.
Mail sent with a configuration set of the template to <code>bounce@simulator.amazonses.com</code> or <code>complaint@simulator.amazonses.com</code> (a <code>+label</code> may follow the name) is bounced or complained about as SES's mailbox simulator does: the event goes to the SNS topic of the set's event destination, and so to the functions subscribed to it.</p>
</body></html>
`))

func (s *Stack) handleIndex(w http.ResponseWriter, r *http.Request) {
	type routeRow struct{ Key, Function, Authorizer string }
	data := struct {
		Routes                 []routeRow
		API, S3, SES, DynamoDB string
		Buckets, S3Events      []string
		Functions, Triggers    []string
	}{API: s.URL(), S3: s.S3URL(), SES: s.SESURL(), DynamoDB: s.DynamoDBEndpoint(), Functions: s.FunctionIDs()}
	for _, rt := range s.tmpl.Routes {
		data.Routes = append(data.Routes, routeRow{rt.RouteKey(), rt.FunctionID, rt.Authorizer})
	}
	for _, b := range s.tmpl.Buckets {
		data.Buckets = append(data.Buckets, s.names[b.LogicalID])
	}
	for _, e := range s.tmpl.S3Events {
		data.S3Events = append(data.S3Events, strings.Join(e.Events, ", ")+" on s3://"+s.names[e.BucketLogicalID]+"/"+e.Prefix+"*"+e.Suffix+" → "+e.FunctionID)
	}
	fired := map[string]ScheduleInfo{}
	for _, sc := range s.Schedules() {
		fired[sc.FunctionID+"/"+sc.EventID] = sc
	}
	for _, t := range s.tmpl.Triggers {
		line := t.Type + " " + t.EventID + " → " + t.FunctionID
		if !t.Schedule.IsZero() {
			expr, err := s.tmpl.Resolve(t.Schedule, s.names) // a parameter's value, say
			if err != nil {
				expr = t.Schedule.String()
			}
			line += " (" + expr + ")"
		}
		if !t.Topic.IsZero() {
			if topic, err := s.tmpl.Resolve(t.Topic, s.names); err == nil {
				line += " (" + topic + ")"
			}
		}
		if sc, ok := fired[t.FunctionID+"/"+t.EventID]; ok {
			line += ": " + sc.When()
		}
		data.Triggers = append(data.Triggers, line)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := indexPage.Execute(w, data); err != nil {
		s.log.Printf("stack", "index page: %v", err)
	}
}
