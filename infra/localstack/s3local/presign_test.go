package s3local

import (
	"cmp"
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const presignSecret = "local-secret"

// presignFixture is a Server that knows testAccessKey's secret, on a clock the test sets.
type presignFixture struct {
	http *httptest.Server
	srv  *Server

	mu      sync.Mutex
	now     time.Time
	records []events.S3EventRecord
}

func startPresignServer(t *testing.T, creds map[string]string) *presignFixture {
	t.Helper()
	f := &presignFixture{now: time.Now()}
	srv, err := New(Options{
		Buckets:     []string{testBucket},
		Credentials: creds,
		Now: func() time.Time {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.now
		},
		OnEvent: func(rec events.S3EventRecord) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.records = append(f.records, rec)
		},
		Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	f.http = httptest.NewServer(srv)
	t.Cleanup(f.http.Close)
	return f
}

func (f *presignFixture) setNow(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
}

func (f *presignFixture) takeRecords() []events.S3EventRecord {
	f.srv.hooks.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.records
	f.records = nil
	return out
}

// presigner returns the SDK's presign client for the fixture, signing as accessKey with secret
// (path style, or virtual-hosted style against the fixture's address).
func (f *presignFixture) presigner(accessKey, secret, region string, pathStyle bool) *s3.PresignClient {
	return s3.NewPresignClient(s3.New(s3.Options{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secret, "session"),
		// The SDK signs path style for an IP address whatever UsePathStyle says.
		BaseEndpoint: aws.String(strings.Replace(f.http.URL, "127.0.0.1", "localhost", 1)),
		UsePathStyle: pathStyle,
	}))
}

func presignPut(t *testing.T, p *s3.PresignClient, key string, meta map[string]string, expires time.Duration) *v4.PresignedHTTPRequest {
	t.Helper()
	req, err := p.PresignPutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Metadata: meta}, s3.WithPresignExpires(expires))
	if err != nil {
		t.Fatalf("PresignPutObject(%q): %v", key, err)
	}
	return req
}

type s3Answer struct {
	status  int
	code    string
	message string
	body    string
}

// send sends method to rawURL with header (Host included, as the signer saw it) and body, as a
// browser or curl would: plain net/http, no SDK.
func send(t *testing.T, method, rawURL string, header http.Header, body string) s3Answer {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if strings.EqualFold(k, "Host") {
			req.Host = v[0]
			continue
		}
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	_ = xml.Unmarshal(b, &e)
	return s3Answer{resp.StatusCode, e.Code, e.Message, string(b)}
}

func TestPresignedPutVerified(t *testing.T) {
	f := startPresignServer(t, map[string]string{testAccessKey: presignSecret})
	p := f.presigner(testAccessKey, presignSecret, "eu-west-2", true)
	meta := map[string]string{"uploaded-by": "a6b2c4d8-1f3e-4a5b-9c7d-2e4f6a8b0c1d"}

	for _, key := range []string{"directory/2026-12.csv", "directory/a b+c é (1).csv", "case-studies/~tilde_*!'.md"} {
		req := presignPut(t, p, key, meta, 15*time.Minute)
		if a := send(t, req.Method, req.URL, req.SignedHeader, "name,town\n"); a.status != 200 {
			t.Fatalf("PUT presigned %q = %d %s; want 200", key, a.status, a.body)
		}
		recs := f.takeRecords()
		if len(recs) != 1 || recs[0].EventName != EventPut || recs[0].S3.Object.URLDecodedKey != key || recs[0].PrincipalID.PrincipalID != "AWS:"+testAccessKey {
			t.Fatalf("records after a presigned PUT of %q = %+v; want one ObjectCreated:Put by AWS:%s", key, recs, testAccessKey)
		}
		obj, err := f.srv.Backend().HeadObject(testBucket, key)
		if err != nil {
			t.Fatal(err)
		}
		if got := obj.Metadata["X-Amz-Meta-Uploaded-By"]; got != meta["uploaded-by"] {
			t.Errorf("object %q metadata %v; want X-Amz-Meta-Uploaded-By %s", key, obj.Metadata, meta["uploaded-by"])
		}
	}

	// A presigned GET reads it back.
	get, err := p.PresignGetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("directory/2026-12.csv")})
	if err != nil {
		t.Fatal(err)
	}
	if a := send(t, get.Method, get.URL, get.SignedHeader, ""); a.status != 200 || a.body != "name,town\n" {
		t.Errorf("GET presigned = %d %q; want 200 with the object", a.status, a.body)
	}
}

func TestPresignedPutVirtualHostedStyle(t *testing.T) {
	f := startPresignServer(t, map[string]string{testAccessKey: presignSecret})
	req := presignPut(t, f.presigner(testAccessKey, presignSecret, "eu-west-2", false), "directory/v.csv", nil, time.Minute)
	u, err := url.Parse(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.Host, testBucket+".") || u.Path != "/directory/v.csv" {
		t.Fatalf("presigned URL %s; want virtual-hosted style", req.URL)
	}
	// Sent as the local stack forwards it: to the server's address, rewritten to path style,
	// with the Host it was signed for.
	host := u.Host
	u.Host = strings.TrimPrefix(f.http.URL, "http://")
	u.Path = "/" + testBucket + u.Path
	header := req.SignedHeader.Clone()
	header.Set("Host", host)
	if a := send(t, req.Method, u.String(), header, "x"); a.status != 200 {
		t.Errorf("PUT presigned virtual-hosted = %d %s; want 200", a.status, a.body)
	}
}

func TestPresignedRefusals(t *testing.T) {
	const key = "directory/2026-12.csv"
	meta := map[string]string{"uploaded-by": "staff-1"}
	tests := []struct {
		name        string
		creds       map[string]string
		accessKey   string
		secret      string
		region      string
		expires     time.Duration
		edit        func(u *url.URL, h http.Header)
		later       time.Duration // the server's clock, after signing
		wantStatus  int
		wantCode    string
		wantMessage string
	}{
		{name: "expired", later: 15*time.Minute + 2*time.Second, wantStatus: 403, wantCode: "AccessDenied", wantMessage: "Request has expired"},
		{name: "expired without credentials", creds: map[string]string{}, later: 16 * time.Minute, wantStatus: 403, wantCode: "AccessDenied", wantMessage: "Request has expired"},
		{name: "wrong secret", secret: "guess", wantStatus: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "unknown access key", accessKey: "AKIDOTHER", wantStatus: 403, wantCode: "InvalidAccessKeyId"},
		{name: "another key", edit: func(u *url.URL, _ http.Header) { u.Path = "/" + testBucket + "/directory/other.csv" }, wantStatus: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "metadata header left out", edit: func(_ *url.URL, h http.Header) { h.Del("X-Amz-Meta-Uploaded-By") }, wantStatus: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "metadata changed", edit: func(_ *url.URL, h http.Header) { h.Set("X-Amz-Meta-Uploaded-By", "someone-else") }, wantStatus: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "unsigned metadata added", edit: func(_ *url.URL, h http.Header) { h.Set("X-Amz-Meta-Extra", "1") }, wantStatus: 403, wantCode: "AccessDenied", wantMessage: "x-amz-meta-extra"},
		{name: "longer expiry", edit: func(u *url.URL, _ http.Header) { setQuery(u, "X-Amz-Expires", "3600") }, wantStatus: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "over a week", edit: func(u *url.URL, _ http.Header) { setQuery(u, "X-Amz-Expires", "604801") }, wantStatus: 400, wantCode: "AuthorizationQueryParametersError"},
		{name: "no signature", edit: func(u *url.URL, _ http.Header) { setQuery(u, "X-Amz-Signature", "") }, wantStatus: 400, wantCode: "AuthorizationQueryParametersError"},
		{name: "other algorithm", edit: func(u *url.URL, _ http.Header) { setQuery(u, "X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256") }, wantStatus: 400, wantCode: "AuthorizationQueryParametersError"},
		{name: "bad date", edit: func(u *url.URL, _ http.Header) { setQuery(u, "X-Amz-Date", "yesterday") }, wantStatus: 400, wantCode: "AuthorizationQueryParametersError"},
		{name: "other region", region: "us-east-1", wantStatus: 400, wantCode: "AuthorizationQueryParametersError", wantMessage: "expecting 'eu-west-2'"},
		{name: "bad signature without credentials is not checked", creds: map[string]string{}, secret: "guess", wantStatus: 200},
		{name: "just in time", later: 15 * time.Minute, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			creds := tt.creds
			if creds == nil {
				creds = map[string]string{testAccessKey: presignSecret}
			}
			f := startPresignServer(t, creds)
			p := f.presigner(cmp.Or(tt.accessKey, testAccessKey), cmp.Or(tt.secret, presignSecret), cmp.Or(tt.region, "eu-west-2"), true)
			req := presignPut(t, p, key, meta, cmp.Or(tt.expires, 15*time.Minute))
			u, err := url.Parse(req.URL)
			if err != nil {
				t.Fatal(err)
			}
			header := req.SignedHeader.Clone()
			if tt.edit != nil {
				tt.edit(u, header)
			}
			signedAt, err := time.Parse(presignDate, u.Query().Get("X-Amz-Date"))
			if err != nil {
				signedAt = time.Now().UTC().Truncate(time.Second)
			}
			f.setNow(signedAt.Add(tt.later))
			a := send(t, req.Method, u.String(), header, "name,town\n")
			if a.status != tt.wantStatus || a.code != tt.wantCode || !strings.Contains(a.message, tt.wantMessage) {
				t.Errorf("PUT presigned (%s) = %d %s %q; want %d %s %q", tt.name, a.status, a.code, a.message, tt.wantStatus, tt.wantCode, tt.wantMessage)
			}
			recs := f.takeRecords()
			if tt.wantStatus == 200 && len(recs) != 1 || tt.wantStatus != 200 && len(recs) != 0 {
				t.Errorf("records = %d; want one for an accepted PUT, none for a refused one", len(recs))
			}
			if _, err := f.srv.Backend().HeadObject(testBucket, "directory/other.csv"); err == nil {
				t.Errorf("a refused PUT stored directory/other.csv")
			}
		})
	}
}

func setQuery(u *url.URL, name, value string) {
	q := u.Query()
	if value == "" {
		q.Del(name)
	} else {
		q.Set(name, value)
	}
	u.RawQuery = q.Encode()
}

func TestURIEncode(t *testing.T) {
	tests := []struct {
		in    string
		slash bool
		want  string
	}{
		{"/bucket/directory/a b+c.csv", false, "/bucket/directory/a%20b%2Bc.csv"},
		{"/bucket/é~_-.", false, "/bucket/%C3%A9~_-."},
		{"local/20261126/eu-west-2/s3/aws4_request", true, "local%2F20261126%2Feu-west-2%2Fs3%2Faws4_request"},
		{"host;x-amz-meta-uploaded-by", true, "host%3Bx-amz-meta-uploaded-by"},
	}
	for _, tt := range tests {
		if got := uriEncode(tt.in, tt.slash); got != tt.want {
			t.Errorf("uriEncode(%q, %v) = %q; want %q", tt.in, tt.slash, got, tt.want)
		}
	}
}
