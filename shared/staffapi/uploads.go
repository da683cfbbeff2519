package staffapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"sectorhub/shared/apperr"
	"sectorhub/shared/httpapi"
)

// UploadURLExpiry is how long a URL from POST /staff/uploads stays valid.
const UploadURLExpiry = 15 * time.Minute

// UploadedByMetadata is the object metadata (x-amz-meta-uploaded-by) an upload through a
// presigned URL carries: the staff member's Cognito sub, signed into the URL, so that an object
// in the bucket says who put it there (S3 itself sees only StaffFunction's role).
const UploadedByMetadata = "uploaded-by"

// maxUploadBody bounds the body of POST /staff/uploads.
const maxUploadBody = 4 << 10

// maxKeyBytes is S3's limit on an object key.
const maxKeyBytes = 1024

// reportsPrefix is where the ingest functions write their reports: never an upload.
const reportsPrefix = "reports/"

// Presigner signs an S3 PUT of one object, valid for a limited time, with metadata the
// uploader must send as x-amz-meta-* headers.
type Presigner interface {
	PresignPut(ctx context.Context, bucket, key string, metadata map[string]string, expires time.Duration) (PresignedRequest, error)
}

// PresignedRequest is a request anyone may send, without credentials, until ExpiresAt.
type PresignedRequest struct {
	URL       string
	Method    string
	Header    http.Header // every header the signature covers but Host: the client must send them
	ExpiresAt time.Time
}

// Uploads configures POST /staff/uploads: the bucket staff upload to, the prefixes they may
// upload under (each upload kind's), and the presigner.
type Uploads struct {
	Bucket    string
	Prefixes  []string
	Presigner Presigner
}

// UploadURL is the body of POST /staff/uploads: send Method to URL with every header of Headers
// and the file as the body, before ExpiresAt.
type UploadURL struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
	Key       string            `json:"key"`
	Bucket    string            `json:"bucket"`
}

// ParsePrefixes reads UPLOAD_PREFIXES: a comma-separated list of key prefixes, each ending in
// "/" ("directory/,case-studies/"). The reports' prefix is refused: a URL for it would let staff
// forge an import's report.
func ParsePrefixes(s string) ([]string, error) {
	var prefixes []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
			continue
		case !strings.HasSuffix(p, "/") || strings.HasPrefix(p, "/") || strings.Contains(p, "//"):
			return nil, fmt.Errorf("upload prefix %q must be a folder such as directory/ (no leading /, ending in /)", p)
		case strings.HasPrefix(p, reportsPrefix):
			return nil, fmt.Errorf("upload prefix %q is under %s, where only the ingest functions write", p, reportsPrefix)
		}
		prefixes = append(prefixes, p)
	}
	if len(prefixes) == 0 {
		return nil, errors.New("no upload prefixes")
	}
	return prefixes, nil
}

func createUpload(ctx context.Context, up Uploads, req httpapi.Request) (httpapi.Response, error) {
	body, err := httpapi.JSONBody(req, maxUploadBody)
	if err != nil {
		return httpapi.Response{}, err
	}
	if !utf8.Valid(body) {
		return httpapi.Response{}, apperr.Errorf(apperr.Invalid, "the body must be UTF-8")
	}
	var in struct {
		Key *string `json:"key"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return httpapi.Response{}, apperr.Invalidf([]apperr.Problem{decodeProblem(err)})
	}
	if in.Key == nil {
		return httpapi.Response{}, apperr.Invalidf([]apperr.Problem{{Field: "key", Message: "key is required"}})
	}
	key := *in.Key
	if msg := checkKey(key, up.Prefixes); msg != "" {
		return httpapi.Response{}, apperr.Invalidf([]apperr.Problem{{Field: "key", Message: msg}})
	}
	sub := staffSubject(req)
	if sub == "" {
		return httpapi.Response{}, apperr.Errorf(apperr.Unauthorized, "the token names no staff member")
	}
	signed, err := up.Presigner.PresignPut(ctx, up.Bucket, key, map[string]string{UploadedByMetadata: sub}, UploadURLExpiry)
	if err != nil {
		return httpapi.Response{}, fmt.Errorf("presign upload: %w", err)
	}
	headers := map[string]string{}
	for name, values := range signed.Header {
		if !strings.EqualFold(name, "Host") && len(values) > 0 {
			headers[strings.ToLower(name)] = values[0]
		}
	}
	return httpapi.PrivateJSON(http.StatusOK, UploadURL{
		URL:       signed.URL,
		Method:    signed.Method,
		Headers:   headers,
		ExpiresAt: signed.ExpiresAt.UTC(),
		Key:       key,
		Bucket:    up.Bucket,
	}), nil
}

// decodeProblem names what is wrong with a body that is a JSON object but not {"key": "..."}.
func decodeProblem(err error) apperr.Problem {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return apperr.Problem{Field: typeErr.Field, Message: typeErr.Field + " must be a string"}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return apperr.Problem{Field: name, Message: "unknown field; the body is {\"key\": \"directory/file.csv\"}"}
	}
	return apperr.Problem{Message: "the body is not valid JSON"}
}

// checkKey returns what is wrong with key as an upload's object key, or "": it must lie under
// one of prefixes, name a file there (not the prefix itself, not a folder), and be a key S3 and
// the ingest functions read unambiguously: valid UTF-8 of at most 1,024 bytes, without control
// characters, empty segments ("//") or "." and ".." segments.
func checkKey(key string, prefixes []string) string {
	switch {
	case key == "":
		return "key is required"
	case len(key) > maxKeyBytes:
		return fmt.Sprintf("key must be at most %d bytes", maxKeyBytes)
	case !utf8.ValidString(key) || strings.ContainsRune(key, utf8.RuneError):
		// U+FFFD is what JSON decoding makes of a lone surrogate (\ud800): not the key sent.
		return "key must be UTF-8 text"
	case strings.ContainsFunc(key, unicode.IsControl):
		return "key must not contain control characters"
	case strings.HasPrefix(key, reportsPrefix):
		return "reports/ holds the imports' reports; upload under " + strings.Join(prefixes, " or ")
	}
	prefix := ""
	for _, p := range prefixes {
		if strings.HasPrefix(key, p) {
			prefix = p
			break
		}
	}
	if prefix == "" {
		return "key must start with " + strings.Join(prefixes, " or ")
	}
	if key == prefix || strings.HasSuffix(key, "/") {
		return "key must name a file, such as " + prefix + "2026-12.csv"
	}
	for _, seg := range strings.Split(key, "/") {
		switch seg {
		case "":
			return "key must not contain //"
		case ".", "..":
			return "key must not contain . or .. segments"
		}
	}
	return ""
}

// staffSubject returns the caller's Cognito sub from the claims API Gateway's JWT authorizer
// passed on, or "" when there is none fit to sign into a URL (a UUID in Cognito; anything but
// letters, digits, "-", "_" and "." is refused rather than put in a header).
func staffSubject(req httpapi.Request) string {
	a := req.RequestContext.Authorizer
	if a == nil || a.JWT == nil {
		return ""
	}
	sub := a.JWT.Claims["sub"]
	if sub == "" || len(sub) > 128 {
		return ""
	}
	for _, c := range sub {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return ""
		}
	}
	return sub
}
