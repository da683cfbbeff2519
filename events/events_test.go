// Package events_test checks that every sample event in this folder decodes, field for field,
// into the aws-lambda-go type its function receives, and that each sample is self-consistent
// (the checks against template.yaml live in infra/templatecheck).
package events_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"sectorhub/infra/samtemplate"
)

// decodeStrict decodes the JSON file at path into v, failing on any field v has no place for.
func decodeStrict(tb testing.TB, path string, v any) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("decode %s: %v", path, err)
	}
}

func TestSamplesDecode(t *testing.T) {
	files, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no sample events found")
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			var probe struct {
				RouteKey *string          `json:"routeKey"`
				Records  []map[string]any `json:"Records"`
				Source   string           `json:"source"`
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &probe); err != nil {
				t.Fatalf("decode %s: %v", file, err)
			}
			switch {
			case probe.RouteKey != nil:
				var ev events.APIGatewayV2HTTPRequest
				decodeStrict(t, file, &ev)
				checkHTTP(t, ev)
			case len(probe.Records) > 0 && probe.Records[0]["eventSource"] == "aws:s3":
				var ev events.S3Event
				decodeStrict(t, file, &ev)
				checkS3(t, ev)
			case len(probe.Records) > 0 && probe.Records[0]["EventSource"] == "aws:sns":
				var ev events.SNSEvent
				decodeStrict(t, file, &ev)
				checkSNS(t, ev)
			case probe.Source == "aws.scheduler" || probe.Source == "aws.events":
				var ev events.EventBridgeEvent
				decodeStrict(t, file, &ev)
				checkScheduled(t, ev)
			case scheduleInputs(t)[compactJSON(data)] != "":
				// A schedule's Input, delivered as it is (BulletinDispatchFunction's
				// {"continue": true}).
			default:
				t.Fatalf("%s is neither an HTTP API (payload 2.0), an S3, an SNS, a scheduled event nor a schedule's Input in template.yaml", file)
			}
		})
	}
}

// checkHTTP checks that an HTTP API event agrees with itself as API Gateway would build it.
func checkHTTP(t *testing.T, ev events.APIGatewayV2HTTPRequest) {
	t.Helper()
	if ev.Version != "2.0" {
		t.Errorf("version = %q; want 2.0", ev.Version)
	}
	if ev.RouteKey != ev.RequestContext.RouteKey {
		t.Errorf("routeKey %q != requestContext.routeKey %q", ev.RouteKey, ev.RequestContext.RouteKey)
	}
	method, route, ok := strings.Cut(ev.RouteKey, " ")
	if !ok || method != ev.RequestContext.HTTP.Method {
		t.Errorf("routeKey %q does not start with the method %q", ev.RouteKey, ev.RequestContext.HTTP.Method)
	}
	if ev.RawPath != ev.RequestContext.HTTP.Path {
		t.Errorf("rawPath %q != requestContext.http.path %q", ev.RawPath, ev.RequestContext.HTTP.Path)
	}
	// The route template with pathParameters substituted must give rawPath.
	path := route
	for name, value := range ev.PathParameters {
		path = strings.ReplaceAll(path, "{"+name+"}", url.PathEscape(value))
	}
	if path != ev.RawPath {
		t.Errorf("route %q with pathParameters %v = %q; want rawPath %q", route, ev.PathParameters, path, ev.RawPath)
	}
	// queryStringParameters is rawQueryString decoded, repeated names comma-joined.
	query, err := url.ParseQuery(ev.RawQueryString)
	if err != nil {
		t.Fatalf("rawQueryString %q: %v", ev.RawQueryString, err)
	}
	if len(query) != len(ev.QueryStringParameters) {
		t.Errorf("queryStringParameters %v has %d names; rawQueryString %q has %d", ev.QueryStringParameters, len(ev.QueryStringParameters), ev.RawQueryString, len(query))
	}
	for name, values := range query {
		if got, want := ev.QueryStringParameters[name], strings.Join(values, ","); got != want {
			t.Errorf("queryStringParameters[%q] = %q; want %q", name, got, want)
		}
	}
	for name := range ev.Headers {
		if name != strings.ToLower(name) {
			t.Errorf("header %q is not lower case (HTTP API lower-cases header names)", name)
		}
	}
	if ev.Headers["host"] != ev.RequestContext.DomainName {
		t.Errorf("host header %q != requestContext.domainName %q", ev.Headers["host"], ev.RequestContext.DomainName)
	}
	if ev.RequestContext.RequestID == "" || ev.RequestContext.TimeEpoch == 0 || ev.RequestContext.Stage == "" {
		t.Errorf("requestContext lacks requestId, timeEpoch or stage: %+v", ev.RequestContext)
	}
	if strings.HasPrefix(route, "/staff/") {
		claims := ev.RequestContext.Authorizer
		if claims == nil || claims.JWT == nil || claims.JWT.Claims["token_use"] == "" || claims.JWT.Claims["cognito:groups"] == "" {
			t.Errorf("staff route without Cognito JWT claims in requestContext.authorizer.jwt")
		}
	}
}

// checkS3 checks that an S3 event record is complete.
func checkS3(t *testing.T, ev events.S3Event) {
	t.Helper()
	for i, r := range ev.Records {
		removed := strings.HasPrefix(r.EventName, "ObjectRemoved:")
		if r.EventVersion != "2.1" || r.EventSource != "aws:s3" || !strings.HasPrefix(r.EventName, "ObjectCreated:") && !removed {
			t.Errorf("record %d: eventVersion %q, eventSource %q, eventName %q", i, r.EventVersion, r.EventSource, r.EventName)
		}
		if r.S3.Bucket.Arn != "arn:aws:s3:::"+r.S3.Bucket.Name {
			t.Errorf("record %d: bucket arn %q does not name bucket %q", i, r.S3.Bucket.Arn, r.S3.Bucket.Name)
		}
		o := r.S3.Object
		switch {
		case removed && (o.Key == "" || o.VersionID == "" || o.Sequencer == "" || o.Size != 0 || o.ETag != ""):
			// A removal names the delete marker's version, and has no size or eTag.
			t.Errorf("record %d: removal lacks key, versionId or sequencer, or has a size or eTag: %+v", i, o)
		case !removed && (o.Key == "" || o.Size == 0 || o.ETag == "" || o.VersionID == "" || o.Sequencer == ""):
			t.Errorf("record %d: object lacks key, size, eTag, versionId or sequencer: %+v", i, o)
		}
		if _, err := url.QueryUnescape(o.Key); err != nil {
			t.Errorf("record %d: key %q is not URL-encoded as S3 sends it: %v", i, o.Key, err)
		}
		if r.EventTime.IsZero() {
			t.Errorf("record %d: no eventTime", i)
		}
	}
}

// checkSNS checks that an SNS event, as SNS delivers it to a subscribed function, is
// complete: a Notification from a topic, whose subscription is the topic's, carrying a JSON
// message.
func checkSNS(t *testing.T, ev events.SNSEvent) {
	t.Helper()
	for i, r := range ev.Records {
		s := r.SNS
		if r.EventVersion != "1.0" || r.EventSource != "aws:sns" || s.Type != "Notification" {
			t.Errorf("record %d: EventVersion %q, EventSource %q, Type %q", i, r.EventVersion, r.EventSource, s.Type)
		}
		if !strings.HasPrefix(s.TopicArn, "arn:aws:sns:") || !strings.HasPrefix(r.EventSubscriptionArn, s.TopicArn+":") {
			t.Errorf("record %d: TopicArn %q, EventSubscriptionArn %q: want a topic and a subscription of it", i, s.TopicArn, r.EventSubscriptionArn)
		}
		if s.MessageID == "" || s.Timestamp.IsZero() || s.Signature == "" || s.SigningCertURL == "" || s.UnsubscribeURL == "" {
			t.Errorf("record %d: lacks MessageId, Timestamp, Signature, SigningCertUrl or UnsubscribeUrl", i)
		}
		if !json.Valid([]byte(s.Message)) {
			t.Errorf("record %d: Message is not JSON", i)
		}
	}
}

// checkScheduled checks a schedule's event as it reaches a function without an Input: an
// EventBridge rule's "Scheduled Event" (source aws.events, detail {}) or EventBridge
// Scheduler's default notification (source aws.scheduler, detail the string "{}").
func checkScheduled(t *testing.T, ev events.EventBridgeEvent) {
	t.Helper()
	if ev.Version != "0" || ev.DetailType != "Scheduled Event" || ev.ID == "" || ev.AccountID == "" || ev.Region == "" || ev.Time.IsZero() {
		t.Errorf("version %q, detail-type %q, id %q, account %q, region %q, time %v: want a complete Scheduled Event", ev.Version, ev.DetailType, ev.ID, ev.AccountID, ev.Region, ev.Time)
	}
	wantDetail, arn := `{}`, ":rule/"
	if ev.Source == "aws.scheduler" {
		wantDetail, arn = `"{}"`, ":schedule/"
	}
	if string(ev.Detail) != wantDetail {
		t.Errorf("%s detail = %s; want %s", ev.Source, ev.Detail, wantDetail)
	}
	if len(ev.Resources) != 1 || !strings.Contains(ev.Resources[0], arn) || !strings.HasPrefix(ev.Resources[0], "arn:aws:") {
		t.Errorf("%s resources = %v; want the ARN of one %s", ev.Source, ev.Resources, strings.Trim(arn, ":/"))
	}
}

// scheduleInputs returns the Input of every schedule in template.yaml, compacted, with the
// trigger it belongs to.
func scheduleInputs(t *testing.T) map[string]string {
	t.Helper()
	tmpl, err := samtemplate.Load("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names, err := tmpl.LocalNames(func(id string) string { return id })
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]string{}
	for _, tr := range tmpl.Triggers {
		if in, err := tmpl.Resolve(tr.Input, names); err == nil && in != "" {
			inputs[compactJSON([]byte(in))] = tr.FunctionID + "/" + tr.EventID
		}
	}
	return inputs
}

// compactJSON returns data without insignificant space, or "" when it is not JSON.
func compactJSON(data []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		return ""
	}
	return b.String()
}
