package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sectorhub/infra/testenv"
	"sectorhub/shared/staffapi"
)

// TestPresignedUploadPublishes is a staff upload without AWS credentials, end to end on the
// real template: a URL from POST /staff/uploads (StaffFunction, behind the JWT authorizer), a
// plain HTTP PUT of a CSV to it, and the directory import published by DirectoryIngestFunction,
// as for any upload.
func TestPresignedUploadPublishes(t *testing.T) {
	root := testenv.RepoRoot(t)
	csv, err := os.ReadFile(filepath.Join(root, "infra", "seed", "uploads", "10-directory", "sample-directory.csv"))
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t)
	opts.Root, opts.Template = root, ""
	st := startStack(t, opts)
	token, err := st.StaffToken("staff@example.org")
	if err != nil {
		t.Fatal(err)
	}
	staff := http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}

	// Refused before any URL is signed.
	for _, tt := range []struct {
		name   string
		body   string
		header http.Header
		want   int
	}{
		{"no token", `{"key": "directory/2026-12.csv"}`, http.Header{"Content-Type": {"application/json"}}, 401},
		{"not an upload prefix", `{"key": "reports/directory/2026-12.csv.json"}`, staff, 400},
		{"dot dot", `{"key": "directory/../reports/x.json"}`, staff, 400},
	} {
		if r := do(t, "POST", st.URL()+"/staff/uploads", strings.NewReader(tt.body), tt.header); r.status != tt.want {
			t.Errorf("POST /staff/uploads (%s) = %d %s; want %d", tt.name, r.status, r.body, tt.want)
		}
	}

	const key = "directory/2026-12.csv"
	r := do(t, "POST", st.URL()+"/staff/uploads", strings.NewReader(`{"key": "`+key+`"}`), staff)
	var up staffapi.UploadURL
	if r.status != 200 || json.Unmarshal(r.body, &up) != nil {
		t.Fatalf("POST /staff/uploads = %d %s; want 200 and an upload URL", r.status, r.body)
	}
	if !strings.HasPrefix(up.URL, st.S3URL()+"/"+st.Bucket("UploadsBucket")+"/"+key+"?") || up.Method != "PUT" || up.Key != key || up.Bucket != st.Bucket("UploadsBucket") {
		t.Errorf("upload URL %s %s for %s in %s; want a PUT of %s on the local S3", up.Method, up.URL, up.Key, up.Bucket, key)
	}
	if d := time.Until(up.ExpiresAt); d < 14*time.Minute || d > 15*time.Minute+time.Second {
		t.Errorf("expires_at %v is %v away; want 15 minutes", up.ExpiresAt, d)
	}
	sub := up.Headers["x-amz-meta-uploaded-by"]
	if len(up.Headers) != 1 || sub == "" {
		t.Fatalf("headers = %v; want x-amz-meta-uploaded-by only", up.Headers)
	}

	// The URL is for that PUT only: without its header, or for another key, S3 refuses it.
	if a := put(t, up.URL, nil, csv); a.status != 403 || !bytes.Contains(a.body, []byte("SignatureDoesNotMatch")) {
		t.Errorf("PUT without x-amz-meta-uploaded-by = %d %s; want 403 SignatureDoesNotMatch", a.status, a.body)
	}
	other := strings.Replace(up.URL, key, "directory/other.csv", 1)
	if a := put(t, other, up.Headers, csv); a.status != 403 {
		t.Errorf("PUT of another key with the URL's signature = %d %s; want 403", a.status, a.body)
	}

	if a := put(t, up.URL, up.Headers, csv); a.status != 200 {
		t.Fatalf("PUT %s = %d %s; want 200", up.URL, a.status, a.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := st.Drain(ctx); err != nil {
		t.Fatal(err)
	}

	r = do(t, "GET", st.URL()+"/staff/imports?kind=directory", nil, staff)
	var page struct {
		Items []struct {
			Key    string `json:"key"`
			Status string `json:"status"`
			Items  int    `json:"items"`
		} `json:"items"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &page) != nil {
		t.Fatalf("GET /staff/imports = %d %s", r.status, r.body)
	}
	if len(page.Items) != 1 || page.Items[0].Key != key || page.Items[0].Status != "published" || page.Items[0].Items == 0 {
		t.Fatalf("imports after the presigned upload = %+v; want %s published", page.Items, key)
	}
	if r := do(t, "GET", st.URL()+"/directory/organisations?per_page=1", nil, nil); r.status != 200 || !bytes.Contains(r.body, []byte(`"total":`)) || bytes.Contains(r.body, []byte(`"total":0`)) {
		t.Errorf("GET /directory/organisations after the upload = %d %s; want the published directory", r.status, r.body)
	}
	obj, err := st.S3().Backend().HeadObject(st.Bucket("UploadsBucket"), key)
	if err != nil {
		t.Fatal(err)
	}
	if got := obj.Metadata["X-Amz-Meta-Uploaded-By"]; got != sub {
		t.Errorf("object metadata %v; want X-Amz-Meta-Uploaded-By %s (the staff member's sub)", obj.Metadata, sub)
	}
	if _, err := st.S3().Backend().HeadObject(st.Bucket("UploadsBucket"), "directory/other.csv"); err == nil {
		t.Error("the refused PUT of directory/other.csv stored it")
	}
	if n := st.AsyncFailures(); n != 0 {
		t.Errorf("AsyncFailures = %d; want 0", n)
	}
}

// put sends body to a presigned URL with plain net/http, as staff without the AWS SDK would.
func put(t *testing.T, rawURL string, headers map[string]string, body []byte) response {
	t.Helper()
	h := http.Header{}
	for k, v := range headers {
		h.Set(k, v)
	}
	return do(t, "PUT", rawURL, bytes.NewReader(body), h)
}
