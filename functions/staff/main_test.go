package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"sectorhub/infra/localstack/s3local"
	"sectorhub/infra/samtemplate"
	"sectorhub/shared/staffapi"
)

// TestUploadPrefixesAreTheKinds keeps POST /staff/uploads in step with the upload kinds: in
// template.yaml, StaffFunction's UPLOAD_PREFIXES are exactly the prefixes of the S3 events
// that process uploads to its UPLOADS_BUCKET (a URL for any other prefix would put a file
// nothing reads; a kind missing from the list could not be uploaded without credentials), and
// its policy allows s3:PutObject under exactly those prefixes (a presigned URL carries the
// signer's rights) and nowhere else.
func TestUploadPrefixesAreTheKinds(t *testing.T) {
	tmpl, err := samtemplate.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fn, ok := tmpl.Function("StaffFunction")
	if !ok {
		t.Fatal("template.yaml has no StaffFunction")
	}
	names, err := tmpl.LocalNames(func(id string) string { return "local-" + id })
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, name := range []string{"UPLOADS_BUCKET", "UPLOAD_PREFIXES"} {
		if vars[name], err = tmpl.Resolve(fn.Environment[name], names); err != nil || vars[name] == "" {
			t.Fatalf("StaffFunction's %s = %q, %v; want it set", name, vars[name], err)
		}
	}
	bucket := vars["UPLOADS_BUCKET"]
	prefixes, err := staffapi.ParsePrefixes(vars["UPLOAD_PREFIXES"])
	if err != nil {
		t.Fatalf("UPLOAD_PREFIXES: %v", err)
	}

	var kinds []string
	for _, e := range tmpl.S3Events {
		created := slices.ContainsFunc(e.Events, func(ev string) bool { return strings.HasPrefix(ev, "s3:ObjectCreated:") })
		if names[e.BucketLogicalID] == bucket && created && !slices.Contains(kinds, e.Prefix) {
			kinds = append(kinds, e.Prefix)
		}
	}
	if len(kinds) == 0 {
		t.Fatalf("no S3 event processes uploads to %s", bucket)
	}
	if !sameSet(prefixes, kinds) {
		t.Errorf("StaffFunction's UPLOAD_PREFIXES = %q; want the prefixes upload kinds are triggered by, %q", prefixes, kinds)
	}

	var want []string
	for _, p := range prefixes {
		want = append(want, "arn:aws:s3:::"+bucket+"/"+p+"*")
	}
	policies, err := tmpl.ResolveValue(fn.Policies, names)
	if err != nil {
		t.Fatal(err)
	}
	if got := s3Puts(policies); !sameSet(got, want) {
		t.Errorf("StaffFunction's policy allows s3:PutObject on %q; want exactly %q", got, want)
	}
}

// s3Puts returns the resources that policies (a function's resolved Policies) allow
// s3:PutObject on, directly or through a wildcard action.
func s3Puts(policies any) []string {
	var out []string
	for _, p := range asList(policies) {
		doc, _ := p.(map[string]any)
		for _, st := range asList(doc["Statement"]) {
			st, _ := st.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			puts := slices.ContainsFunc(asList(st["Action"]), func(a any) bool {
				s, _ := a.(string)
				return s == "s3:PutObject" || s == "s3:*" || s == "*" || s == "s3:Put*"
			})
			if !puts {
				continue
			}
			for _, r := range asList(st["Resource"]) {
				if s, ok := r.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestPresignerRoundTrip(t *testing.T) {
	const bucket = "sectorhub-test-uploads"
	srv, err := s3local.New(s3local.Options{Region: "eu-west-2", Buckets: []string{bucket}, Credentials: map[string]string{"AKIDSTAFF": "staff-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	env := map[string]string{
		"AWS_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "AKIDSTAFF", "AWS_SECRET_ACCESS_KEY": "staff-secret", "AWS_SESSION_TOKEN": "token",
		"AWS_ENDPOINT_URL_S3": hs.URL,
	}
	p := newPresigner(func(k string) string { return env[k] })
	before := time.Now().Truncate(time.Second)
	signed, err := p.PresignPut(context.Background(), bucket, "directory/2026-12.csv", map[string]string{"uploaded-by": "sub-1"}, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if signed.Method != "PUT" || !strings.HasPrefix(signed.URL, hs.URL+"/"+bucket+"/directory/2026-12.csv?") || signed.Header.Get("X-Amz-Meta-Uploaded-By") != "sub-1" {
		t.Errorf("PresignPut = %s %s with %v; want a path-style PUT with x-amz-meta-uploaded-by", signed.Method, signed.URL, signed.Header)
	}
	if d := signed.ExpiresAt.Sub(before); d < 15*time.Minute || d > 15*time.Minute+5*time.Second {
		t.Errorf("ExpiresAt = %v, %v after signing; want 15 minutes", signed.ExpiresAt, d)
	}
	req, err := http.NewRequest(signed.Method, signed.URL, strings.NewReader("name,town\n"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Meta-Uploaded-By", signed.Header.Get("X-Amz-Meta-Uploaded-By"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT to the presigned URL = %d; want 200", resp.StatusCode)
	}
	obj, err := srv.Backend().HeadObject(bucket, "directory/2026-12.csv")
	if err != nil || obj.Metadata["X-Amz-Meta-Uploaded-By"] != "sub-1" {
		t.Errorf("stored object = %+v, %v; want it with uploaded-by sub-1", obj, err)
	}
}

func TestExpiresAt(t *testing.T) {
	tests := []struct {
		name, url string
		want      time.Time
		wantErr   bool
	}{
		{"fifteen minutes", "https://b.s3.eu-west-2.amazonaws.com/k?X-Amz-Date=20261123T102007Z&X-Amz-Expires=900&X-Amz-Signature=s", time.Date(2026, 11, 23, 10, 35, 7, 0, time.UTC), false},
		{"a week", "http://127.0.0.1:4569/b/k?X-Amz-Expires=604800&X-Amz-Date=20261231T235959Z", time.Date(2027, 1, 7, 23, 59, 59, 0, time.UTC), false},
		{"no date", "https://b.s3.amazonaws.com/k?X-Amz-Expires=900", time.Time{}, true},
		{"no expiry", "https://b.s3.amazonaws.com/k?X-Amz-Date=20261123T102007Z", time.Time{}, true},
		{"bad URL", "://", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := expiresAt(tt.url)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("%s: expiresAt(%q) = %v, %v; want %v (error %t)", tt.name, tt.url, got, err, tt.want, tt.wantErr)
		}
	}
}
