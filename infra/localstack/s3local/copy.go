package s3local

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// copySource is the object an x-amz-copy-source header names.
type copySource struct {
	bucket, key string
	versionID   gofakes3.VersionID
}

// parseCopySource parses "bucket/key" or "/bucket/key", URL-encoded, with an optional
// "?versionId=..." suffix.
func parseCopySource(header string) (copySource, error) {
	path, query, _ := strings.Cut(strings.TrimPrefix(header, "/"), "?")
	decoded, err := url.PathUnescape(path)
	if err != nil {
		return copySource{}, newError(http.StatusBadRequest, "InvalidArgument", "x-amz-copy-source is not URL-encoded correctly")
	}
	bucket, key, ok := strings.Cut(decoded, "/")
	if !ok || bucket == "" || key == "" {
		return copySource{}, newError(http.StatusBadRequest, "InvalidArgument", "x-amz-copy-source must name a bucket and a key")
	}
	src := copySource{bucket: bucket, key: key}
	if query != "" {
		values, err := url.ParseQuery(query)
		if err != nil {
			return copySource{}, newError(http.StatusBadRequest, "InvalidArgument", "x-amz-copy-source has a malformed query")
		}
		if v := values.Get("versionId"); v != "" && v != "null" {
			src.versionID = gofakes3.VersionID(v)
		}
	}
	return src, nil
}

// checkCopySource refuses a CopyObject from a version other than the current one: gofakes3
// ignores the versionId of a copy source and would copy the current version instead.
func (s *Server) checkCopySource(r *http.Request) error {
	src, err := parseCopySource(r.Header.Get("X-Amz-Copy-Source"))
	if err != nil || src.versionID == "" {
		return err
	}
	current, err := s.backend.HeadObject(src.bucket, src.key)
	if err == nil && current.VersionID == src.versionID {
		return nil
	}
	if _, err := s.backend.HeadObjectVersion(src.bucket, src.key, src.versionID); err != nil {
		return toError(err)
	}
	return newError(http.StatusNotImplemented, "NotImplemented", "copying a noncurrent version is not implemented locally")
}

// toError turns a gofakes3 backend error into one writeError can send.
func toError(err error) error {
	var e gofakes3.Error
	if !errors.As(err, &e) {
		return err
	}
	code := e.ErrorCode()
	message := code.Message()
	if message == "" {
		message = string(code)
	}
	return newError(code.Status(), string(code), "%s", message)
}

// uploadPartCopy implements UploadPartCopy, which gofakes3 lacks (the AWS CLI uses it to copy
// objects over 8 MB): it reads the source range from the backend and uploads it as the part.
func (s *Server) uploadPartCopy(w http.ResponseWriter, r *http.Request) {
	src, err := parseCopySource(r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		writeError(w, err)
		return
	}
	var obj *gofakes3.Object
	if src.versionID != "" {
		obj, err = s.backend.GetObjectVersion(src.bucket, src.key, src.versionID, nil)
	} else {
		obj, err = s.backend.GetObject(src.bucket, src.key, nil)
	}
	if err != nil {
		writeError(w, toError(err))
		return
	}
	defer obj.Contents.Close()
	data, err := io.ReadAll(obj.Contents)
	if err != nil {
		writeError(w, err)
		return
	}
	if rng := r.Header.Get("X-Amz-Copy-Source-Range"); rng != "" {
		first, last, ok := parseByteRange(rng, int64(len(data)))
		if !ok {
			writeError(w, newError(http.StatusBadRequest, "InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"))
			return
		}
		data = data[first : last+1]
	}

	for name := range r.Header {
		if strings.HasPrefix(name, "X-Amz-Copy-Source") {
			r.Header.Del(name)
		}
	}
	r.Header.Del("Content-Md5")
	stripTransferHeaders(r.Header)
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.ContentLength = int64(len(data))
	r.Header.Set("Content-Length", strconv.Itoa(len(data)))

	rec := newRecorder()
	s.s3.ServeHTTP(rec, r)
	if rec.status != 0 && rec.status/100 != 2 {
		rec.flush(w)
		return
	}
	etag := rec.header.Get("ETag")
	rec.header.Del("ETag")
	if obj.VersionID != "" {
		if versioning, err := s.backend.VersioningConfiguration(src.bucket); err == nil && versioning.Enabled() {
			rec.header.Set("x-amz-copy-source-version-id", string(obj.VersionID))
		}
	}
	body, err := xml.Marshal(struct {
		XMLName      xml.Name `xml:"CopyPartResult"`
		LastModified string   `xml:"LastModified"`
		ETag         string   `xml:"ETag"`
	}{LastModified: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), ETag: etag})
	if err != nil {
		writeError(w, err)
		return
	}
	rec.header.Set("Content-Type", "application/xml")
	rec.status = http.StatusOK
	rec.body.Reset()
	rec.body.WriteString(xml.Header)
	rec.body.Write(body)
	rec.flush(w)
}

// parseByteRange parses "bytes=first-last" within an object of size bytes.
func parseByteRange(header string, size int64) (first, last int64, ok bool) {
	spec, ok := strings.CutPrefix(header, "bytes=")
	if !ok {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first || last >= size {
		return 0, 0, false
	}
	return first, last, true
}
