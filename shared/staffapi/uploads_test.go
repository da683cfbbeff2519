package staffapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"sectorhub/shared/httpapi"
	"sectorhub/shared/staffapi"
)

// fakePresigner records what it was asked to sign.
type fakePresigner struct {
	calls []presignCall
	err   error
}

type presignCall struct {
	bucket, key string
	metadata    map[string]string
	expires     time.Duration
}

var signedAt = time.Date(2026, 11, 23, 10, 20, 7, 0, time.UTC)

func (f *fakePresigner) PresignPut(_ context.Context, bucket, key string, metadata map[string]string, expires time.Duration) (staffapi.PresignedRequest, error) {
	f.calls = append(f.calls, presignCall{bucket, key, metadata, expires})
	if f.err != nil {
		return staffapi.PresignedRequest{}, f.err
	}
	h := http.Header{}
	h.Set("Host", "uploads.s3.example")
	for k, v := range metadata {
		h.Set("X-Amz-Meta-"+k, v)
	}
	return staffapi.PresignedRequest{URL: "https://uploads.s3.example/" + key + "?X-Amz-Signature=abc", Method: "PUT", Header: h, ExpiresAt: signedAt.Add(expires)}, nil
}

const (
	uploadsBucket = "sectorhub-prod-uploads-000000000000-eu-west-2"
	staffSub      = "a6b2c4d8-1f3e-4a5b-9c7d-2e4f6a8b0c1d"
)

// uploadRequest is the staff sample event made into POST /staff/uploads with body.
func uploadRequest(t *testing.T, body string) httpapi.Request {
	t.Helper()
	req := sample(t, "staff-imports.json")
	req.RouteKey = "POST /staff/uploads"
	req.RawPath = "/staff/uploads"
	req.RequestContext.RouteKey = req.RouteKey
	req.RequestContext.HTTP.Method = "POST"
	req.RequestContext.HTTP.Path = req.RawPath
	req.Headers = map[string]string{"content-type": "application/json", "authorization": req.Headers["authorization"]}
	req.Body = body
	return req
}

func newUploadsAPI(p staffapi.Presigner) *httpapi.Router {
	up := staffapi.Uploads{Bucket: uploadsBucket, Prefixes: []string{"directory/", "case-studies/"}, Presigner: p}
	return staffapi.New(nil, up, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestCreateUpload(t *testing.T) {
	p := &fakePresigner{}
	api := newUploadsAPI(p)
	resp, err := api.Serve(context.Background(), uploadRequest(t, `{"key": "directory/2026-12.csv"}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("POST /staff/uploads = %d %s; want 200", resp.StatusCode, resp.Body)
	}
	if got := resp.Headers["Cache-Control"]; got != "private, no-store" {
		t.Errorf("Cache-Control = %q; want private, no-store", got)
	}
	var got staffapi.UploadURL
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatalf("body %s: %v", resp.Body, err)
	}
	want := staffapi.UploadURL{
		URL:       "https://uploads.s3.example/directory/2026-12.csv?X-Amz-Signature=abc",
		Method:    "PUT",
		Headers:   map[string]string{"x-amz-meta-uploaded-by": staffSub},
		ExpiresAt: signedAt.Add(15 * time.Minute),
		Key:       "directory/2026-12.csv",
		Bucket:    uploadsBucket,
	}
	if got.URL != want.URL || got.Method != want.Method || !got.ExpiresAt.Equal(want.ExpiresAt) || got.Key != want.Key || got.Bucket != want.Bucket ||
		len(got.Headers) != 1 || got.Headers["x-amz-meta-uploaded-by"] != staffSub {
		t.Errorf("POST /staff/uploads = %+v; want %+v", got, want)
	}
	for _, field := range []string{`"url"`, `"method"`, `"headers"`, `"expires_at":"2026-11-23T10:35:07Z"`, `"key"`, `"bucket"`} {
		if !strings.Contains(resp.Body, field) {
			t.Errorf("body %s lacks %s", resp.Body, field)
		}
	}
	if len(p.calls) != 1 {
		t.Fatalf("presigned %d times; want 1", len(p.calls))
	}
	c := p.calls[0]
	if c.bucket != uploadsBucket || c.key != "directory/2026-12.csv" || c.expires != 15*time.Minute || len(c.metadata) != 1 || c.metadata["uploaded-by"] != staffSub {
		t.Errorf("PresignPut(%q, %q, %v, %v); want the uploads bucket, the key, uploaded-by the caller's sub, 15 minutes", c.bucket, c.key, c.metadata, c.expires)
	}
}

func TestCreateUploadRefuses(t *testing.T) {
	long := "directory/" + strings.Repeat("a", 1024-len("directory/"))
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantField  string // the problem's field, when the answer lists problems
		wantInBody string
	}{
		{"other prefix", `{"key": "subscribers/list.csv"}`, 400, "key", "directory/ or case-studies/"},
		{"no prefix", `{"key": "2026-12.csv"}`, 400, "key", "must start with"},
		{"only the prefix", `{"key": "directory/"}`, 400, "key", "must name a file"},
		{"a folder", `{"key": "directory/2026/"}`, 400, "key", "must name a file"},
		{"dot dot", `{"key": "directory/../reports/directory/x.csv.json"}`, 400, "key", ".. segments"},
		{"dot", `{"key": "case-studies/./story.md"}`, 400, "key", ". or .."},
		{"double slash", `{"key": "directory//2026-12.csv"}`, 400, "key", "//"},
		{"reports", `{"key": "reports/directory/2026-12.csv.json"}`, 400, "key", "reports/"},
		{"control character", `{"key": "directory/2026\n12.csv"}`, 400, "key", "control characters"},
		{"C1 control character", `{"key": "directory/2026\u008512.csv"}`, 400, "key", "control characters"},
		{"DEL", `{"key": "directory/2026\u007f.csv"}`, 400, "key", "control characters"},
		{"over 1024 bytes", `{"key": "` + long + `b"}`, 400, "key", "at most 1024 bytes"},
		{"invalid UTF-8", "{\"key\": \"directory/\xff.csv\"}", 400, "", "must be UTF-8"},
		{"lone surrogate", `{"key": "directory/\ud800.csv"}`, 400, "key", "UTF-8 text"},
		{"empty key", `{"key": ""}`, 400, "key", "key is required"},
		{"no key", `{}`, 400, "key", "key is required"},
		{"null key", `{"key": null}`, 400, "key", "key is required"},
		{"key not a string", `{"key": 12}`, 400, "key", "must be a string"},
		{"unknown field", `{"key": "directory/a.csv", "bucket": "other"}`, 400, "bucket", "unknown field"},
		{"not an object", `["directory/a.csv"]`, 400, "", "not a JSON object"},
		{"empty body", ``, 400, "", "empty"},
		{"too large", `{"key": "directory/a.csv", "x": "` + strings.Repeat("a", 5000) + `"}`, 413, "", "too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePresigner{}
			resp, err := newUploadsAPI(p).Serve(context.Background(), uploadRequest(t, tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || !strings.Contains(resp.Body, tt.wantInBody) {
				t.Errorf("POST /staff/uploads %s = %d %s; want %d with %q", tt.body, resp.StatusCode, resp.Body, tt.wantStatus, tt.wantInBody)
			}
			var e struct {
				Error struct {
					Code     string `json:"code"`
					Problems []struct {
						Field string `json:"field"`
					} `json:"problems"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || e.Error.Code == "" {
				t.Errorf("body %s is not the one error shape: %v", resp.Body, err)
			}
			if tt.wantField != "" && (len(e.Error.Problems) != 1 || e.Error.Problems[0].Field != tt.wantField) {
				t.Errorf("problems = %+v; want one for %s", e.Error.Problems, tt.wantField)
			}
			if len(p.calls) != 0 {
				t.Errorf("presigned %v for a refused request", p.calls)
			}
		})
	}
}

func TestCreateUploadRequestShape(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(*httpapi.Request)
		wantStatus int
	}{
		{"base64 body", func(r *httpapi.Request) {
			r.Body, r.IsBase64Encoded = "eyJrZXkiOiAiY2FzZS1zdHVkaWVzL215LXN0b3J5Lm1kIn0=", true // {"key": "case-studies/my-story.md"}
		}, 200},
		{"no content type", func(r *httpapi.Request) { delete(r.Headers, "content-type") }, 200},
		{"form body", func(r *httpapi.Request) { r.Headers["content-type"] = "application/x-www-form-urlencoded" }, 415},
		{"no claims", func(r *httpapi.Request) { r.RequestContext.Authorizer = nil }, 401},
		{"sub unfit for a header", func(r *httpapi.Request) {
			r.RequestContext.Authorizer.JWT.Claims = map[string]string{"sub": "a\r\nx-amz-acl: public-read"}
		}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := uploadRequest(t, `{"key": "case-studies/my-story.md"}`)
			tt.edit(&req)
			resp, err := newUploadsAPI(&fakePresigner{}).Serve(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("POST /staff/uploads (%s) = %d %s; want %d", tt.name, resp.StatusCode, resp.Body, tt.wantStatus)
			}
		})
	}
}

func TestCreateUploadPresignFailureIsInternal(t *testing.T) {
	resp, err := newUploadsAPI(&fakePresigner{err: errors.New("no credentials")}).Serve(context.Background(), uploadRequest(t, `{"key": "directory/a.csv"}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 500 || strings.Contains(resp.Body, "credentials") {
		t.Errorf("POST /staff/uploads with a failing presigner = %d %s; want 500 without the cause", resp.StatusCode, resp.Body)
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"directory/,case-studies/", []string{"directory/", "case-studies/"}, ""},
		{" directory/ , case-studies/ ,", []string{"directory/", "case-studies/"}, ""},
		{"directory/", []string{"directory/"}, ""},
		{"", nil, "no upload prefixes"},
		{",", nil, "no upload prefixes"},
		{"directory", nil, "must be a folder"},
		{"/directory/", nil, "must be a folder"},
		{"a//b/", nil, "must be a folder"},
		{"reports/", nil, "under reports/"},
		{"directory/,reports/case-studies/", nil, "under reports/"},
	}
	for _, tt := range tests {
		got, err := staffapi.ParsePrefixes(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePrefixes(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("ParsePrefixes(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
