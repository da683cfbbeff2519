package localstack

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamotypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	sestypes "github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"

	"sectorhub/infra/localstack/lambdart"
	"sectorhub/infra/localstack/staffauth"
	"sectorhub/infra/samtemplate"
	"sectorhub/infra/testenv"
)

var buildDir struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	if shared.stack != nil {
		_ = shared.stack.Close()
	}
	shared.mu.Unlock()
	if buildDir.path != "" {
		os.RemoveAll(buildDir.path)
	}
	os.Exit(code)
}

// reports collects the invocation reports of a stack.
type reports struct {
	mu   sync.Mutex
	list []lambdart.Report
}

func (r *reports) add(rep lambdart.Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rep)
}

func (r *reports) all() []lambdart.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}

// count returns the reports of function fn since the first n reports.
func (r *reports) since(n int, fn string) []lambdart.Report {
	var out []lambdart.Report
	for _, rep := range r.all()[n:] {
		if rep.FunctionName == fn {
			out = append(out, rep)
		}
	}
	return out
}

type testStack struct {
	*Stack
	reports *reports
	log     *testenv.Buffer
}

// testOptions returns options for the test template on free ports.
func testOptions(tb testing.TB) Options {
	tb.Helper()
	buildDir.once.Do(func() { buildDir.path, buildDir.err = os.MkdirTemp("", "localstack-build") })
	if buildDir.err != nil {
		tb.Fatal(buildDir.err)
	}
	return Options{
		Root:            ".",
		Template:        filepath.Join("testdata", "template.yaml"),
		Addr:            "127.0.0.1:0",
		S3Addr:          "127.0.0.1:0",
		SESAddr:         "127.0.0.1:0",
		BuildDir:        buildDir.path,
		StaffKeyPath:    filepath.Join(buildDir.path, "staff-key.pem"),
		AsyncRetryDelay: 20 * time.Millisecond,
		MaxInstances:    4,
	}
}

// startStack starts a stack of the test template, closed at the end of the test.
func startStack(tb testing.TB, opts Options) *testStack {
	tb.Helper()
	ts := &testStack{reports: &reports{}, log: &testenv.Buffer{}}
	opts.OnReport = ts.reports.add
	opts.Log = ts.log
	st, err := Start(context.Background(), opts)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	ts.Stack = st
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
		if tb.Failed() {
			tb.Logf("stack log:\n%s", ts.log)
		}
	})
	return ts
}

var shared struct {
	mu    sync.Mutex
	stack *testStack
	err   error
}

// sharedStack returns a stack of the test template shared by the tests that
// only read from it or write keys of their own; TestMain closes it.
func sharedStack(tb testing.TB) *testStack {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.stack == nil && shared.err == nil {
		ts := &testStack{reports: &reports{}, log: &testenv.Buffer{}}
		opts := testOptions(tb)
		opts.OnReport = ts.reports.add
		opts.Log = ts.log
		ts.Stack, shared.err = Start(context.Background(), opts)
		if shared.err == nil {
			shared.stack = ts
		}
	}
	if shared.err != nil {
		tb.Fatalf("Start: %v", shared.err)
	}
	return shared.stack
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(tb testing.TB, method, url string, body io.Reader, header http.Header) response {
	tb.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		tb.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// event decodes the payload-2.0 event the test function echoes back.
func event(tb testing.TB, r response) events.APIGatewayV2HTTPRequest {
	tb.Helper()
	if r.status != http.StatusOK {
		tb.Fatalf("status %d; want 200: %s", r.status, r.body)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(r.body, &ev); err != nil {
		tb.Fatalf("decode event %s: %v", r.body, err)
	}
	return ev
}

func TestRouteMatching(t *testing.T) {
	st := sharedStack(t)
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantRoute          string
		wantParams         map[string]string
	}{
		{"literal", "GET", "/items", 200, "GET /items", nil},
		{"parameter", "GET", "/items/42", 200, "GET /items/{id}", map[string]string{"id": "42"}},
		{"encoded parameter", "GET", "/items/a%20b", 200, "GET /items/{id}", map[string]string{"id": "a b"}},
		{"other method", "POST", "/items", 200, "POST /items", nil},
		{"method without a route", "DELETE", "/items", 404, "", nil},
		{"greedy", "GET", "/files/a/b/c.txt", 200, "ANY /files/{proxy+}", map[string]string{"proxy": "a/b/c.txt"}},
		{"greedy any method", "PUT", "/files/x", 200, "ANY /files/{proxy+}", map[string]string{"proxy": "x"}},
		{"literal beats greedy", "GET", "/files/readme", 200, "GET /files/readme", nil},
		{"greedy needs a segment", "GET", "/files/", 404, "", nil},
		{"too many segments", "GET", "/items/42/more", 404, "", nil},
		{"empty parameter", "GET", "/items/", 404, "", nil},
		{"no route", "GET", "/nothing", 404, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, st.URL()+tt.path, nil, nil)
			if r.status != tt.wantStatus {
				t.Fatalf("%s %s = %d %s; want %d", tt.method, tt.path, r.status, r.body, tt.wantStatus)
			}
			if tt.wantStatus == 404 {
				if string(r.body) != `{"message":"Not Found"}` {
					t.Errorf("404 body = %s; want API Gateway's", r.body)
				}
				return
			}
			ev := event(t, r)
			if ev.RouteKey != tt.wantRoute || ev.RequestContext.RouteKey != tt.wantRoute {
				t.Errorf("routeKey = %q (context %q); want %q", ev.RouteKey, ev.RequestContext.RouteKey, tt.wantRoute)
			}
			if !reflect.DeepEqual(ev.PathParameters, tt.wantParams) {
				t.Errorf("pathParameters = %v; want %v", ev.PathParameters, tt.wantParams)
			}
		})
	}
}

func TestEventShape(t *testing.T) {
	st := sharedStack(t)
	header := http.Header{
		"X-Multi":    {"one", "two"},
		"Cookie":     {"c1=v1; c2=v2"},
		"User-Agent": {"stack-test"},
	}
	before := time.Now()
	r := do(t, "GET", st.URL()+"/items/7?b=2&a=1&a=3&e=%C3%A9", nil, header)
	ev := event(t, r)
	host, _, _ := net.SplitHostPort(strings.TrimPrefix(st.URL(), "http://"))
	checks := []struct {
		name      string
		got, want any
	}{
		{"version", ev.Version, "2.0"},
		{"rawPath", ev.RawPath, "/items/7"},
		{"rawQueryString", ev.RawQueryString, "b=2&a=1&a=3&e=%C3%A9"},
		{"queryStringParameters", ev.QueryStringParameters, map[string]string{"a": "1,3", "b": "2", "e": "é"}},
		{"cookies", ev.Cookies, []string{"c1=v1", "c2=v2"}},
		{"repeated header", ev.Headers["x-multi"], "one,two"},
		{"cookie header removed", ev.Headers["cookie"], ""},
		{"host header", ev.Headers["host"], strings.TrimPrefix(st.URL(), "http://")},
		{"x-forwarded-proto", ev.Headers["x-forwarded-proto"], "http"},
		{"user-agent header", ev.Headers["user-agent"], "stack-test"},
		{"accountId", ev.RequestContext.AccountID, "000000000000"},
		{"apiId", ev.RequestContext.APIID, "local"},
		{"stage", ev.RequestContext.Stage, "$default"},
		{"domainName", ev.RequestContext.DomainName, host},
		{"http.method", ev.RequestContext.HTTP.Method, "GET"},
		{"http.path", ev.RequestContext.HTTP.Path, "/items/7"},
		{"http.protocol", ev.RequestContext.HTTP.Protocol, "HTTP/1.1"},
		{"http.sourceIp", ev.RequestContext.HTTP.SourceIP, "127.0.0.1"},
		{"http.userAgent", ev.RequestContext.HTTP.UserAgent, "stack-test"},
		{"requestId matches apigw-requestid", ev.RequestContext.RequestID, r.header.Get("Apigw-Requestid")},
		{"no authorizer", ev.RequestContext.Authorizer, (*events.APIGatewayV2HTTPRequestContextAuthorizerDescription)(nil)},
		{"no body", ev.Body, ""},
		{"not base64", ev.IsBase64Encoded, false},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v; want %#v", c.name, c.got, c.want)
		}
	}
	for _, h := range []string{"X-Multi", "Cookie"} {
		if _, ok := ev.Headers[h]; ok {
			t.Errorf("header %q not lower-cased", h)
		}
	}
	if ev.RequestContext.RequestID == "" {
		t.Error("requestId is empty")
	}
	when, err := time.Parse("02/Jan/2006:15:04:05 -0700", ev.RequestContext.Time)
	if err != nil || when.Before(before.Add(-time.Second).Truncate(time.Second)) {
		t.Errorf("time = %q (%v); want the request's time in API Gateway's format", ev.RequestContext.Time, err)
	}
	if ev.RequestContext.TimeEpoch < before.UnixMilli() {
		t.Errorf("timeEpoch = %d; want at least %d", ev.RequestContext.TimeEpoch, before.UnixMilli())
	}
	var raw map[string]any
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"stageVariables", "body", "pathParameters.extra"} {
		if _, ok := raw[absent]; ok {
			t.Errorf("event has %q, which API Gateway does not send here", absent)
		}
	}
	if _, ok := raw["requestContext"].(map[string]any)["authentication"]; ok {
		t.Error("event has requestContext.authentication, which API Gateway sends only with mutual TLS")
	}
}

// TestAccessLogOmitsQuery: the gateway's access log has the method, path and status, never
// the query string (a search may be for a person's name or email address).
func TestAccessLogOmitsQuery(t *testing.T) {
	st := startStack(t, testOptions(t))
	if r := do(t, "GET", st.URL()+"/items/7?q=jane.doe%40example.org&email=jane@example.org", nil, nil); r.status != 200 {
		t.Fatalf("status %d; want 200", r.status)
	}
	if err := st.Close(); err != nil { // every log line is written
		t.Fatal(err)
	}
	log := st.log.String()
	if !strings.Contains(log, "api | GET /items/7 200 WebFunction ") {
		t.Errorf("log lacks the access line with method, path, status and function:\n%s", log)
	}
	if strings.Contains(log, "example.org") {
		t.Errorf("log has the query string:\n%s", log)
	}
}

func TestEventBody(t *testing.T) {
	st := sharedStack(t)
	binary := []byte{0xff, 0x00, 0x10, 'x'}
	tests := []struct {
		name, contentType string
		body              []byte
		wantBody          string
		wantBase64        bool
	}{
		{"json", "application/json", []byte(`{"name":"x"}`), `{"name":"x"}`, false},
		{"text", "text/csv; charset=utf-8", []byte("a,b\n"), "a,b\n", false},
		{"binary", "application/octet-stream", binary, base64.StdEncoding.EncodeToString(binary), true},
		{"form", "application/x-www-form-urlencoded", []byte("a=1"), base64.StdEncoding.EncodeToString([]byte("a=1")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := event(t, do(t, "POST", st.URL()+"/items", bytes.NewReader(tt.body), http.Header{"Content-Type": {tt.contentType}}))
			if ev.Body != tt.wantBody || ev.IsBase64Encoded != tt.wantBase64 {
				t.Errorf("body = %q base64 %v; want %q base64 %v", ev.Body, ev.IsBase64Encoded, tt.wantBody, tt.wantBase64)
			}
			if ev.Headers["content-length"] != fmt.Sprint(len(tt.body)) {
				t.Errorf("content-length = %q; want %d", ev.Headers["content-length"], len(tt.body))
			}
		})
	}
	r := do(t, "POST", st.URL()+"/items", bytes.NewReader(make([]byte, maxRequestBody+1)), http.Header{"Content-Type": {"application/octet-stream"}})
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("POST of 10 MB + 1 = %d %s; want 413", r.status, r.body)
	}
}

func TestResponseTranslation(t *testing.T) {
	st := sharedStack(t)
	origin := http.Header{"Origin": {"https://site.example"}}
	tests := []struct {
		name, path       string
		wantStatus       int
		wantBody         []byte
		wantContentType  string
		wantCookies      []string
		wantAllowOrigin  string
		wantExposeHeader string
	}{
		{"not a response object", "/items/raw", 200, []byte(`{"plain":"json"}`), "application/json", nil, "https://site.example", "etag"},
		{"base64 body", "/items/b64", 201, []byte{0, 1, 2, 'b', 'i', 'n'}, "application/octet-stream", nil, "https://site.example", "etag"},
		{"cookies; function's CORS headers replaced", "/items/cookie", 200, []byte("cookies"), "text/plain", []string{"a=1; Path=/", "b=2; HttpOnly"}, "https://site.example", "etag"},
		{"function error", "/items/fail", 500, []byte(`{"message":"Internal Server Error"}`), "application/json", nil, "https://site.example", "etag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, "GET", st.URL()+tt.path, nil, origin)
			if r.status != tt.wantStatus || !bytes.Equal(r.body, tt.wantBody) {
				t.Errorf("GET %s = %d %q; want %d %q", tt.path, r.status, r.body, tt.wantStatus, tt.wantBody)
			}
			if got := r.header.Get("Content-Type"); got != tt.wantContentType {
				t.Errorf("Content-Type = %q; want %q", got, tt.wantContentType)
			}
			if got := r.header.Values("Set-Cookie"); !reflect.DeepEqual(got, tt.wantCookies) {
				t.Errorf("Set-Cookie = %q; want %q", got, tt.wantCookies)
			}
			if got := r.header.Get("Access-Control-Allow-Origin"); got != tt.wantAllowOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q; want %q", got, tt.wantAllowOrigin)
			}
			if got := r.header.Get("Access-Control-Expose-Headers"); got != tt.wantExposeHeader {
				t.Errorf("Access-Control-Expose-Headers = %q; want %q", got, tt.wantExposeHeader)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	st := sharedStack(t)
	tests := []struct {
		name, method, path string
		header             http.Header
		wantStatus         int
		want               map[string]string
	}{
		{"preflight", "OPTIONS", "/items", http.Header{"Origin": {"https://site.example"}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type"}}, 204, map[string]string{
			"Access-Control-Allow-Origin":  "https://site.example",
			"Access-Control-Allow-Methods": "GET,POST",
			"Access-Control-Allow-Headers": "authorization,content-type",
			"Access-Control-Max-Age":       "300",
		}},
		{"preflight of a staff route needs no token", "OPTIONS", "/staff/things", http.Header{"Origin": {"https://site.example"}, "Access-Control-Request-Method": {"GET"}}, 204, map[string]string{
			"Access-Control-Allow-Origin": "https://site.example",
		}},
		{"preflight from another origin", "OPTIONS", "/items", http.Header{"Origin": {"https://other.example"}, "Access-Control-Request-Method": {"GET"}}, 204, map[string]string{
			"Access-Control-Allow-Origin":  "",
			"Access-Control-Allow-Methods": "",
		}},
		{"request from another origin", "GET", "/items", http.Header{"Origin": {"https://other.example"}}, 200, map[string]string{
			"Access-Control-Allow-Origin": "",
		}},
		{"request without origin", "GET", "/items", nil, 200, map[string]string{
			"Access-Control-Allow-Origin": "",
		}},
		{"OPTIONS without preflight headers is routed", "OPTIONS", "/items", http.Header{"Origin": {"https://site.example"}}, 404, map[string]string{
			"Access-Control-Allow-Origin": "https://site.example",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, st.URL()+tt.path, nil, tt.header)
			if r.status != tt.wantStatus {
				t.Fatalf("%s %s = %d %s; want %d", tt.method, tt.path, r.status, r.body, tt.wantStatus)
			}
			for k, v := range tt.want {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s = %q; want %q", k, got, v)
				}
			}
		})
	}
}

func TestStaffRouteAuthorization(t *testing.T) {
	st := sharedStack(t)
	issuer, err := staffauth.LoadOrCreate(st.opts.StaffKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	good, err := st.StaffToken("staff@example.org")
	if err != nil {
		t.Fatal(err)
	}
	iss := "https://cognito-idp.eu-west-2.amazonaws.com/eu-west-2_sectorhublocal"
	wrongAudience, _ := issuer.Token("staff@example.org", iss, "someone-else", time.Hour, time.Now())
	wrongIssuer, _ := issuer.Token("staff@example.org", "https://issuer.example", "sectorhublocalclient", time.Hour, time.Now())
	expired, _ := issuer.Token("staff@example.org", iss, "sectorhublocalclient", time.Hour, time.Now().Add(-2*time.Hour))
	otherKey, _ := staffauth.LoadOrCreate(filepath.Join(t.TempDir(), "other.pem"))
	forged, _ := otherKey.Token("staff@example.org", iss, "sectorhublocalclient", time.Hour, time.Now())
	tests := []struct {
		name, authorization string
		wantStatus          int
		wantChallenge       string
	}{
		{"no token", "", 401, "Bearer"},
		{"garbage", "Bearer not-a-jwt", 401, `Bearer scope="" error="invalid_token"`},
		{"wrong audience", "Bearer " + wrongAudience, 401, `Bearer scope="" error="invalid_token"`},
		{"wrong issuer", "Bearer " + wrongIssuer, 401, `Bearer scope="" error="invalid_token"`},
		{"expired", "Bearer " + expired, 401, `Bearer scope="" error="invalid_token"`},
		{"signed by another key", "Bearer " + forged, 401, `Bearer scope="" error="invalid_token"`},
		{"valid", "Bearer " + good, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := http.Header{}
			if tt.authorization != "" {
				header.Set("Authorization", tt.authorization)
			}
			r := do(t, "GET", st.URL()+"/staff/things", nil, header)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d %s; want %d", r.status, r.body, tt.wantStatus)
			}
			if tt.wantStatus == 401 {
				if string(r.body) != `{"message":"Unauthorized"}` {
					t.Errorf("body = %s; want API Gateway's 401", r.body)
				}
				if got := r.header.Get("Www-Authenticate"); !strings.HasPrefix(got, tt.wantChallenge) {
					t.Errorf("WWW-Authenticate = %q; want prefix %q", got, tt.wantChallenge)
				}
				return
			}
			ev := event(t, r)
			if ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.JWT == nil {
				t.Fatalf("requestContext.authorizer = %+v; want jwt claims", ev.RequestContext.Authorizer)
			}
			claims := ev.RequestContext.Authorizer.JWT.Claims
			if claims["email"] != "staff@example.org" || claims["iss"] != iss || claims["aud"] != "sectorhublocalclient" || claims["token_use"] != "id" {
				t.Errorf("claims = %v", claims)
			}
		})
	}
}

func TestFunctionEnvironment(t *testing.T) {
	st := sharedStack(t)
	r := do(t, "GET", st.URL()+"/items/env", nil, nil)
	if r.status != 200 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	var env map[string]string
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": st.DynamoDBEndpoint(),
		"AWS_ENDPOINT_URL_S3":       st.S3URL(),
		"AWS_ENDPOINT_URL_SES":      st.SESURL(),
		"TABLE_NAME":                "sectorhub-local-Table",
		"UPLOADS_BUCKET":            "stack-test-uploads-000000000000",
		"SITE_URL":                  st.URL(), // a parameter without a Default: the local value
		"AWS_LAMBDA_FUNCTION_NAME":  "WebFunction",
		"AWS_LAMBDA_LOG_FORMAT":     "JSON",
		"AWS_REGION":                "eu-west-2",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q; want %q", k, env[k], v)
		}
	}
	if st.Bucket("Uploads") != "stack-test-uploads-000000000000" {
		t.Errorf("Bucket(Uploads) = %q", st.Bucket("Uploads"))
	}
}

func TestDynamoDBTablesAndRequestCount(t *testing.T) {
	st := sharedStack(t)
	client := dynamodb.New(dynamodb.Options{Region: "eu-west-2", BaseEndpoint: aws.String(st.DynamoDBEndpoint()), Credentials: localCredentials})
	before := st.DynamoDBRequests()
	out, err := client.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("sectorhub-local-Table")})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	if len(out.Table.KeySchema) != 2 {
		t.Errorf("key schema = %+v; want pk, sk", out.Table.KeySchema)
	}
	if got := st.DynamoDBRequests() - before; got != 1 {
		t.Errorf("DynamoDBRequests grew by %d for one request; want 1", got)
	}
}

// seen returns the S3 events the upload function copied into the bucket.
func seen(tb testing.TB, st *testStack) map[string]events.S3Event {
	tb.Helper()
	ctx := context.Background()
	client := st.S3Client()
	bucket := st.Bucket("Uploads")
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("seen/")})
	if err != nil {
		tb.Fatalf("list seen/: %v", err)
	}
	out := map[string]events.S3Event{}
	for _, obj := range list.Contents {
		got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: obj.Key})
		if err != nil {
			tb.Fatal(err)
		}
		raw, _ := io.ReadAll(got.Body)
		got.Body.Close()
		if bytes.Contains(raw, []byte("urlDecodedKey")) {
			tb.Errorf("event for %s has urlDecodedKey, which S3 does not send", *obj.Key)
		}
		var ev events.S3Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			tb.Fatal(err)
		}
		out[strings.TrimSuffix(strings.TrimPrefix(*obj.Key, "seen/"), ".json")] = ev
	}
	return out
}

func TestS3UploadTriggersFunction(t *testing.T) {
	st := startStack(t, testOptions(t))
	ctx := context.Background()
	client := st.S3Client()
	bucket := st.Bucket("Uploads")
	for _, key := range []string{"directory/march 2026.csv", "directory/notes.txt", "other/x.csv", "directory/sub/deep.csv"} {
		_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("id,name\n")})
		if err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}
	if err := st.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	got := seen(t, st)
	want := []string{"directory/march 2026.csv", "directory/sub/deep.csv"}
	if keys := slices.Sorted(maps.Keys(got)); !reflect.DeepEqual(keys, want) {
		t.Fatalf("the upload function saw %v; want %v", keys, want)
	}
	ev := got["directory/march 2026.csv"]
	if len(ev.Records) != 1 {
		t.Fatalf("records = %d; want 1", len(ev.Records))
	}
	rec := ev.Records[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"eventSource", rec.EventSource, "aws:s3"},
		{"eventName", rec.EventName, "ObjectCreated:Put"},
		{"awsRegion", rec.AWSRegion, "eu-west-2"},
		{"bucket", rec.S3.Bucket.Name, bucket},
		{"bucket arn", rec.S3.Bucket.Arn, "arn:aws:s3:::" + bucket},
		{"key (form-encoded)", rec.S3.Object.Key, "directory/march+2026.csv"},
		{"size", rec.S3.Object.Size, int64(len("id,name\n"))},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v; want %#v", c.name, c.got, c.want)
		}
	}
	if rec.S3.Object.VersionID == "" || rec.S3.Object.ETag == "" || rec.S3.Object.Sequencer == "" {
		t.Errorf("object = %+v; want versionId, eTag and sequencer", rec.S3.Object)
	}
	if got := len(st.reports.since(0, "UploadFunction")); got != 2 {
		t.Errorf("UploadFunction ran %d times; want 2", got)
	}
}

// TestS3DeleteTriggersRemoval: deleting an object delivers an ObjectRemoved event, shaped as S3
// sends it, to the function whose removal event matches (and not to creation-only ones).
func TestS3DeleteTriggersRemoval(t *testing.T) {
	st := startStack(t, testOptions(t))
	ctx := context.Background()
	client := st.S3Client()
	bucket := st.Bucket("Uploads")
	key := "directory/gone.csv"
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("id,name\n")}); err != nil {
		t.Fatal(err)
	}
	if err := st.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	runs := len(st.reports.since(0, "UploadFunction"))
	out, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	ev, ok := seen(t, st)[key]
	if !ok || len(ev.Records) != 1 {
		t.Fatalf("the upload function saw %+v for %s; want one record", ev, key)
	}
	rec := ev.Records[0]
	if rec.EventName != "ObjectRemoved:DeleteMarkerCreated" || rec.S3.Object.VersionID != aws.ToString(out.VersionId) || rec.S3.Object.VersionID == "" || rec.S3.Bucket.Name != bucket {
		t.Errorf("removal record = %s version %q in %s; want ObjectRemoved:DeleteMarkerCreated, the marker's version %q, bucket %s",
			rec.EventName, rec.S3.Object.VersionID, rec.S3.Bucket.Name, aws.ToString(out.VersionId), bucket)
	}
	if got := len(st.reports.since(0, "UploadFunction")) - runs; got != 1 {
		t.Errorf("UploadFunction ran %d times for the delete; want 1", got)
	}
}

func TestS3TriggeredFailureIsRetried(t *testing.T) {
	st := startStack(t, testOptions(t))
	ctx := context.Background()
	_, err := st.S3Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(st.Bucket("Uploads")), Key: aws.String("directory/fail.csv"), Body: strings.NewReader("x")})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	runs := st.reports.since(0, "UploadFunction")
	if len(runs) != 3 {
		t.Fatalf("UploadFunction ran %d times; want 3 (Lambda retries an async invocation twice)", len(runs))
	}
	for _, r := range runs {
		if r.Status != "error" {
			t.Errorf("run status = %q; want error", r.Status)
		}
		if r.RequestID != runs[0].RequestID {
			t.Errorf("retry under request ID %s; want the first attempt's %s (Lambda keeps it)", r.RequestID, runs[0].RequestID)
		}
	}
	if st.AsyncFailures() != 1 {
		t.Errorf("AsyncFailures = %d; want 1", st.AsyncFailures())
	}
	if !strings.Contains(st.log.String(), "UploadFunction failed on s3://stack-test-uploads-000000000000/directory/fail.csv 3 times; giving up") {
		t.Errorf("log lacks the give-up line:\n%s", st.log)
	}
}

func TestLocalInvoke(t *testing.T) {
	st := sharedStack(t)
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantHeader, wantBody     string
	}{
		{"event", "POST", "/_local/invoke/ManualFunction", `{"hello":"world"}`, 200, "", `{"event":{"hello":"world"},"invoked":true}`},
		{"no body is an empty event", "POST", "/_local/invoke/ManualFunction", ``, 200, "", `{"event":{},"invoked":true}`},
		{"function error", "POST", "/_local/invoke/ManualFunction", `{"action":"fail"}`, 502, "Unhandled", `{"errorMessage":"asked to fail","errorType":"errorString"}`},
		{"not JSON", "POST", "/_local/invoke/ManualFunction", `nope`, 400, "", `{"message":"the body must be a JSON event"}`},
		{"unknown function", "POST", "/_local/invoke/Nope", `{}`, 404, "", `{"message":"no function Nope in the template; functions: FeedbackFunction, ManualFunction, UploadFunction, WebFunction"}`},
		{"GET", "GET", "/_local/invoke/ManualFunction", ``, 405, "", `{"message":"use POST with the event as the body"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, st.URL()+tt.path, strings.NewReader(tt.body), nil)
			if r.status != tt.wantStatus || strings.TrimSpace(string(r.body)) != tt.wantBody {
				t.Errorf("%s %s = %d %s; want %d %s", tt.method, tt.path, r.status, r.body, tt.wantStatus, tt.wantBody)
			}
			if got := r.header.Get("X-Amz-Function-Error"); got != tt.wantHeader {
				t.Errorf("X-Amz-Function-Error = %q; want %q", got, tt.wantHeader)
			}
		})
	}
}

func TestOutbox(t *testing.T) {
	st := sharedStack(t)
	client := ses.New(ses.Options{Region: "eu-west-2", BaseEndpoint: aws.String(st.SESURL()), Credentials: localCredentials})
	out, err := client.SendEmail(context.Background(), &ses.SendEmailInput{
		Source:      aws.String("hello@example.org"),
		Destination: &sestypes.Destination{ToAddresses: []string{"reader@example.org"}},
		Message: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("Light Lunch, issue 1")},
			Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String("Hello.")}},
		},
	})
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	id := aws.ToString(out.MessageId)
	page := do(t, "GET", st.OutboxURL(), nil, nil)
	if page.status != 200 || !bytes.Contains(page.body, []byte("Light Lunch, issue 1")) || !bytes.Contains(page.body, []byte(id)) {
		t.Errorf("outbox page = %d, lacks the message %s:\n%s", page.status, id, page.body)
	}
	raw := do(t, "GET", st.OutboxURL()+"/"+id, nil, nil)
	if raw.status != 200 || !bytes.Contains(raw.body, []byte("Subject: Light Lunch, issue 1")) {
		t.Errorf("raw message = %d:\n%s", raw.status, raw.body)
	}
	if msgs := st.Outbox().Messages(); len(msgs) == 0 || msgs[len(msgs)-1].ID != id && msgs[0].ID != id {
		t.Errorf("Outbox().Messages() = %+v; want the message %s", msgs, id)
	}
	index := do(t, "GET", st.URL()+"/_local/", nil, nil)
	for _, want := range []string{"GET /items/{id}", "WebFunction", "stack-test-uploads-000000000000", "/_local/outbox", "Schedule Weekly"} {
		if !bytes.Contains(index.body, []byte(want)) {
			t.Errorf("index page lacks %q", want)
		}
	}
}

func TestBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	busy := ln.Addr().String()
	tests := []struct {
		name string
		set  func(*Options)
		want string
	}{
		{"api", func(o *Options) { o.Addr = busy }, "listen " + busy + ": address already in use (is another local stack running? use --addr)"},
		{"s3", func(o *Options) { o.S3Addr = busy }, "listen " + busy + ": address already in use (is another local stack running? use --s3-addr)"},
		{"ses", func(o *Options) { o.SESAddr = busy }, "listen " + busy + ": address already in use (is another local stack running? use --ses-addr)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t)
			tt.set(&opts)
			_, err := Start(context.Background(), opts)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Start = %v; want %q", err, tt.want)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"bad/template.yaml":    "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn\n      Environment:\n        Variables:\n          T: !Ref Tabel\n",
		"broken/go.mod":        "module broken\n\ngo 1.22\n",
		"broken/fn/main.go":    "package main\n\nfunc main() { undefinedThing() }\n",
		"broken/template.yaml": "Resources:\n  BrokenFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn\n",
	}
	testenv.WriteFiles(t, dir, files)
	tests := []struct {
		name, root string
		want       []string
	}{
		{"bad template", "bad", []string{filepath.Join(dir, "bad", "template.yaml") + ":8: !Ref Tabel: no parameter or resource named Tabel"}},
		{"missing template", "missing", []string{"read template:", "no such file"}},
		{"build failure", "broken", []string{"build BrokenFunction (./fn): exit status 1", "undefined: undefinedThing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t)
			opts.Root = filepath.Join(dir, tt.root)
			opts.Template = ""
			opts.BuildDir = t.TempDir()
			_, err := Start(context.Background(), opts)
			if err == nil {
				t.Fatal("Start succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Start error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestSeedPublishesThroughTheUploadPath(t *testing.T) {
	opts := testOptions(t)
	opts.Seed = true
	st := startStack(t, opts)
	got := seen(t, st)
	ev, ok := got["directory/sample-directory.csv"]
	if !ok {
		t.Fatalf("after Start the upload function had seen %v; want %s", slices.Collect(maps.Keys(got)), "directory/sample-directory.csv")
	}
	if size := ev.Records[0].S3.Object.Size; size == 0 {
		t.Errorf("seeded object size = %d; want the sample directory", size)
	}
}

func TestCloseLeavesNoProcesses(t *testing.T) {
	opts := testOptions(t)
	ts := &testStack{reports: &reports{}, log: &testenv.Buffer{}}
	opts.OnReport = ts.reports.add
	opts.Log = ts.log
	st, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { do(t, "GET", st.URL()+"/items", nil, nil) })
	}
	wg.Wait()
	if _, err := st.Invoke(context.Background(), "ManualFunction", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, r := range ts.reports.all() {
		pids = append(pids, r.PID)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d survived Close (kill 0: %v)", pid, err)
		}
	}
	if _, err := net.Dial("tcp", strings.TrimPrefix(st.URL(), "http://")); err == nil {
		t.Errorf("the HTTP API still accepts connections after Close")
	}
	if _, err := st.Invoke(context.Background(), "ManualFunction", []byte(`{}`)); !errors.Is(err, lambdart.ErrClosed) {
		t.Errorf("Invoke after Close = %v; want ErrClosed", err)
	}
}

func TestDynamoDBEndpointOption(t *testing.T) {
	for _, target := range testenv.DynamoTargets(t) {
		t.Run(target.Name, func(t *testing.T) {
			opts := testOptions(t)
			opts.DynamoDBEndpoint = target.Endpoint
			opts.TablePrefix = fmt.Sprintf("stacktest-%d-", time.Now().UnixNano())
			st := startStack(t, opts)
			ctx := context.Background()
			direct := testenv.DynamoClient(t, target.Endpoint)
			if _, err := direct.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(opts.TablePrefix + "Table")}); err != nil {
				t.Fatalf("the table was not created on %s: %v", target.Endpoint, err)
			}
			t.Cleanup(func() {
				_, _ = direct.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(opts.TablePrefix + "Table")})
			})
			proxied := testenv.DynamoClient(t, st.DynamoDBEndpoint())
			before := st.DynamoDBRequests()
			if _, err := proxied.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(opts.TablePrefix + "Table")}); err != nil {
				t.Fatalf("DescribeTable through the stack's endpoint: %v", err)
			}
			if got := st.DynamoDBRequests() - before; got != 1 {
				t.Errorf("DynamoDBRequests grew by %d; want 1", got)
			}
		})
	}
}

func TestEmbeddedDynamoDBUnknownOperation(t *testing.T) {
	st := sharedStack(t)
	client := dynamodb.New(dynamodb.Options{Region: "eu-west-2", BaseEndpoint: aws.String(st.DynamoDBEndpoint()), Credentials: localCredentials})
	// PartiQL: nothing in sectorhub uses it, and the embedded server does not implement it.
	_, err := client.ExecuteStatement(context.Background(), &dynamodb.ExecuteStatementInput{Statement: aws.String(`SELECT * FROM "sectorhub-local-Table" WHERE pk = 'a'`)})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnknownOperationException" {
		t.Errorf("ExecuteStatement on the embedded DynamoDB = %v; want UnknownOperationException", err)
	}
}

func TestConcurrentRequests(t *testing.T) {
	st := startStack(t, testOptions(t)) // MaxInstances 4
	const clients = 24
	var wg sync.WaitGroup
	statuses := make(chan int, clients)
	for i := range clients {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/items/%d", st.URL(), i), nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil || ev.PathParameters["id"] != fmt.Sprint(i) {
				t.Errorf("request %d got the event of %v (%v)", i, ev.PathParameters, err)
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Errorf("status %d; want 200", s)
		}
	}
	pids := map[int]bool{}
	for _, r := range st.reports.since(0, "WebFunction") {
		pids[r.PID] = true
	}
	if len(pids) == 0 || len(pids) > 4 {
		t.Errorf("%d requests ran in %d processes; want 1 to 4 (--max-instances)", clients, len(pids))
	}
}

// TestDataDirKeepsContent: with a data directory, what a stack held when it stopped (DynamoDB
// items, the buckets' objects) is there again when the next one starts, and it is not seeded.
func TestDataDirKeepsContent(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t)
	opts.DataDir = t.TempDir()
	opts.Seed = true

	first := startStack(t, opts)
	table := first.TableName("Table")
	db := dynamodb.New(dynamodb.Options{Region: "eu-west-2", BaseEndpoint: aws.String(first.DynamoDBEndpoint()), Credentials: localCredentials})
	item := map[string]dynamotypes.AttributeValue{
		"pk":   &dynamotypes.AttributeValueMemberS{Value: "KEPT"},
		"sk":   &dynamotypes.AttributeValueMemberS{Value: "ITEM"},
		"data": &dynamotypes.AttributeValueMemberB{Value: []byte{0, 1, 2, 255}},
		"n":    &dynamotypes.AttributeValueMemberN{Value: "12345678901234567890"},
	}
	// Items with empty lists, which the embedded DynamoDB hands back without a type.
	for i := range 30 {
		empty := map[string]dynamotypes.AttributeValue{
			"pk":    &dynamotypes.AttributeValueMemberS{Value: "EMPTY"},
			"sk":    &dynamotypes.AttributeValueMemberS{Value: fmt.Sprintf("ITEM#%02d", i)},
			"terms": &dynamotypes.AttributeValueMemberL{Value: []dynamotypes.AttributeValue{}},
		}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: empty}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
		t.Fatal(err)
	}
	bucket := first.Bucket("Uploads")
	if _, err := first.S3Client().PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("other/kept file.txt"), Body: strings.NewReader("kept")}); err != nil {
		t.Fatal(err)
	}
	if err := first.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	second := startStack(t, opts)
	db = dynamodb.New(dynamodb.Options{Region: "eu-west-2", BaseEndpoint: aws.String(second.DynamoDBEndpoint()), Credentials: localCredentials})
	got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: map[string]dynamotypes.AttributeValue{"pk": item["pk"], "sk": item["sk"]}})
	if err != nil || !reflect.DeepEqual(got.Item, item) {
		t.Fatalf("GetItem after a restart = %v, %v; want %v", got.Item, err, item)
	}
	for _, pk := range []string{"KEPT", "EMPTY"} {
		q, err := db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 &table,
			KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :sk)"),
			ExpressionAttributeValues: map[string]dynamotypes.AttributeValue{":pk": &dynamotypes.AttributeValueMemberS{Value: pk}, ":sk": &dynamotypes.AttributeValueMemberS{Value: "ITEM"}},
		})
		if err != nil || len(q.Items) == 0 {
			t.Fatalf("Query %s after a restart = %v, %v; want its items", pk, q, err)
		}
	}
	out, err := second.S3Client().GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("other/kept file.txt")})
	if err != nil {
		t.Fatalf("GetObject after a restart: %v", err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(body) != "kept" {
		t.Fatalf("object after a restart = %q; want kept", body)
	}
	if !strings.Contains(second.log.String(), "restored the data") || strings.Contains(second.log.String(), "seed: published") {
		t.Errorf("second start's log does not say it restored rather than seeded:\n%s", second.log)
	}
}

func TestSetParameters(t *testing.T) {
	tmpl, err := samtemplate.Parse("t.yaml", []byte("Parameters:\n  Stage: {Type: String, Default: prod}\n  SiteUrl: {Type: String}\n  SenderAddress: {Type: String}\n  Other: {Type: String, Default: x}\nResources:\n  B:\n    Type: AWS::S3::Bucket\n"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := &Stack{tmpl: tmpl, api: &server{ln: ln}, opts: Options{Parameters: map[string]string{"SenderAddress": "me@example.org", "Other": "y"}}}
	s.setParameters()
	want := map[string]string{
		"Stage":         "prod",                         // its Default
		"SiteUrl":       "http://" + ln.Addr().String(), // the local API
		"SenderAddress": "me@example.org",               // given
		"Other":         "y",                            // given, over its Default
	}
	if !reflect.DeepEqual(tmpl.Parameters, want) {
		t.Errorf("parameters = %v; want %v", tmpl.Parameters, want)
	}
}
