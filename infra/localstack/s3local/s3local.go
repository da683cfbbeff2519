// Package s3local is the local stack's S3 endpoint: gofakes3 with its in-memory backend, served
// path-style, with versioning enabled on the configured buckets, that reports every object
// creation and removal with an S3 event record shaped as Amazon S3 sends it to Lambda.
//
// Around gofakes3 it fixes what S3 clients of today trip over: aws-chunked request bodies
// (SigV4 streaming and the unsigned streaming payload with trailing checksums) are decoded and
// their flexible checksums verified; transfer headers are not stored as object metadata; object
// sub-resource PUTs and DELETEs that gofakes3 would mistake for an overwrite or a delete of the
// object (?acl, ?tagging, ...) are refused with NotImplemented; DeleteObjects reports each
// key's delete marker, which gofakes3's answer leaves out; CopyObject answers with the new version's ID rather than the source's and
// refuses to copy a noncurrent version (gofakes3 would copy the current one); HEAD ?versionId=
// describes that version (gofakes3 describes the current one); and UploadPartCopy, which
// gofakes3 lacks and the AWS CLI uses to copy objects over 8 MB, is implemented. Presigned URLs
// (query-string SigV4) are checked as S3 checks them: expired ones are refused, and so are bad
// signatures when the server is given credentials (presign.go).
package s3local

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

const (
	defaultRegion = "eu-west-2"
	// defaultConfigurationID names the notification configuration in event records.
	defaultConfigurationID = "local-object-created"
	// ownerID is the bucket owner's principal ID in event records.
	ownerID = "A3SECTORHUBLOCAL"
)

// Event names of the object creations and removals the Server reports.
const (
	EventPut       = "ObjectCreated:Put"
	EventCopy      = "ObjectCreated:Copy"
	EventMultipart = "ObjectCreated:CompleteMultipartUpload"
	// EventDelete is a version deleted for good (DELETE with ?versionId=, or any delete in a
	// bucket without versioning).
	EventDelete = "ObjectRemoved:Delete"
	// EventDeleteMarker is a delete marker created by a DELETE without a version in a versioned
	// bucket; the record's versionId is the marker's.
	EventDeleteMarker = "ObjectRemoved:DeleteMarkerCreated"
)

// Options configure a Server.
type Options struct {
	Region  string   // default "eu-west-2"
	Buckets []string // created at start, with versioning enabled
	// OnEvent, if set, is called in a new goroutine for each object created through ServeHTTP
	// (PutObject, CopyObject, CompleteMultipartUpload) and each removed (DeleteObject,
	// DeleteObjects), after the change succeeded and the 2xx response was written, with the
	// record S3 would send. The caller handles its own retries.
	OnEvent func(rec events.S3EventRecord)
	Logf    func(format string, args ...any) // optional
	// ConfigurationID is the s3.configurationId of event records; default
	// "local-object-created".
	ConfigurationID string
	// Credentials are the access key IDs the server knows, each with its secret key. A
	// presigned URL (query-string SigV4) must then be signed by one of them; without any, its
	// signature is not checked (its expiry always is). Requests signed in the Authorization
	// header are never checked: the local S3 takes unsigned requests too.
	Credentials map[string]string
	// Now is the clock presigned URLs expire by; time.Now when nil.
	Now func() time.Time
}

// Server is an S3 endpoint. It is safe for concurrent use.
type Server struct {
	opts    Options
	backend *s3mem.Backend
	s3      http.Handler
	locks   keyLocks
	seq     atomic.Uint64
	hooks   sync.WaitGroup // OnEvent calls in flight; tests wait on it
}

// New returns a Server with opts.Buckets created and versioned.
func New(opts Options) (*Server, error) {
	if opts.Region == "" {
		opts.Region = defaultRegion
	}
	if opts.ConfigurationID == "" {
		opts.ConfigurationID = defaultConfigurationID
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	backend := s3mem.New()
	for _, name := range opts.Buckets {
		if err := gofakes3.ValidateBucketName(name); err != nil {
			return nil, fmt.Errorf("create bucket %q: %w", name, err)
		}
		if err := backend.CreateBucket(name); err != nil {
			return nil, fmt.Errorf("create bucket %q: %w", name, err)
		}
		err := backend.SetVersioningConfiguration(name, gofakes3.VersioningConfiguration{Status: gofakes3.VersioningEnabled})
		if err != nil {
			return nil, fmt.Errorf("enable versioning on bucket %q: %w", name, err)
		}
	}
	s := &Server{opts: opts, backend: backend}
	s.s3 = gofakes3.New(backend, gofakes3.WithLogger(errorLogger{opts.Logf})).Server()
	// Sequencers only need to grow; starting from the clock keeps them growing across restarts.
	s.seq.Store(uint64(time.Now().UnixNano()))
	return s, nil
}

// Backend returns the in-memory backend, for direct reads in tests and tools. Writes made
// through it bypass ServeHTTP and produce no events.
func (s *Server) Backend() gofakes3.Backend { return s.backend }

// errorLogger passes gofakes3's errors (not its chatty request log) to Logf.
type errorLogger struct{ logf func(string, ...any) }

func (l errorLogger) Print(level gofakes3.LogLevel, v ...any) {
	if level == gofakes3.LogErr {
		l.logf("s3local: gofakes3: %s", fmt.Sprint(v...))
	}
}

// operation is what a request does, as far as events are concerned.
type operation int

const (
	opOther operation = iota
	opPut
	opCopy
	opComplete
	opUploadPart
	opUploadPartCopy
	opDelete
	opDeleteMulti
	opHeadVersion
	opUnsupported
)

// routingParams are the query parameters gofakes3 routes on before it treats a request as one
// on the object itself.
var routingParams = []string{"uploadId", "uploads", "versioning", "versions", "versionId"}

func classify(r *http.Request, bucket, key string) operation {
	q := r.URL.Query()
	if bucket != "" && key == "" && r.Method == http.MethodPost && q.Has("delete") {
		return opDeleteMulti
	}
	if bucket == "" || key == "" {
		return opOther
	}
	switch r.Method {
	case http.MethodPut:
		if q.Has("uploadId") {
			if r.Header.Get("X-Amz-Copy-Source") != "" {
				return opUploadPartCopy
			}
			return opUploadPart
		}
		for _, p := range routingParams {
			if q.Has(p) {
				return opOther
			}
		}
		for p := range q {
			// x-id names the operation; X-Amz-* are the signature of a presigned URL.
			if p != "x-id" && !strings.HasPrefix(strings.ToLower(p), "x-amz-") {
				return opUnsupported // ?acl, ?tagging, ?retention, ...: not an object write
			}
		}
		if r.Header.Get("X-Amz-Copy-Source") != "" {
			return opCopy
		}
		return opPut
	case http.MethodPost:
		if q.Has("uploadId") {
			return opComplete
		}
	case http.MethodDelete:
		// DeleteObject takes only ?versionId= (and the SDK's x-id); ?uploadId aborts an upload.
		// gofakes3 would serve ?tagging and the like as a delete of the object itself.
		if q.Has("uploadId") {
			return opOther
		}
		for p := range q {
			if p != "versionId" && p != "x-id" {
				return opUnsupported
			}
		}
		return opDelete
	case http.MethodHead:
		if v := q.Get("versionId"); v != "" && v != "null" {
			return opHeadVersion
		}
	}
	return opOther
}

// ServeHTTP serves the S3 API, path-style (/bucket/key).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isPresigned(r) {
		if err := s.checkPresigned(r); err != nil {
			writeError(w, err)
			return
		}
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	op := classify(r, bucket, key)
	switch op {
	case opOther:
		s.s3.ServeHTTP(w, r)
		return
	case opHeadVersion:
		// gofakes3 answers HEAD ?versionId= with the current version; GET picks the right one.
		r.Method = http.MethodGet
		s.s3.ServeHTTP(headersOnly{w}, r)
		return
	case opUnsupported:
		writeError(w, newError(http.StatusNotImplemented, "NotImplemented", "this object sub-resource is not implemented locally"))
		return
	case opUploadPart:
		if err := prepareBody(r); err != nil {
			writeError(w, err)
			return
		}
		s.s3.ServeHTTP(w, r)
		return
	case opUploadPartCopy:
		s.uploadPartCopy(w, r)
		return
	case opDelete:
		// Deletes take the key's lock so that a write reads back its own object (see below).
		unlock := s.locks.lock(bucket + "/" + key)
		rec := newRecorder()
		s.s3.ServeHTTP(rec, r)
		unlock()
		rec.flush(w)
		if rec.status/100 == 2 || rec.status == 0 {
			s.removed(bucket, key, r.URL.Query().Get("versionId"), rec.header.Get("x-amz-version-id"), rec.header.Get("x-amz-delete-marker") == "true", r, rec.header)
		}
		return
	case opDeleteMulti:
		s.deleteMulti(w, r, bucket)
		return
	case opPut:
		if err := prepareBody(r); err != nil {
			writeError(w, err)
			return
		}
	case opCopy:
		if err := s.checkCopySource(r); err != nil {
			writeError(w, err)
			return
		}
		stripTransferHeaders(r.Header)
	case opComplete:
		stripTransferHeaders(r.Header)
	}

	// An object creation. Writes and deletes of one key are serialised so that the object
	// read back after the write is the one this request wrote.
	unlock := s.locks.lock(bucket + "/" + key)
	rec := newRecorder()
	s.s3.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK // a PUT response with headers only
	}
	var record *events.S3EventRecord
	if rec.status/100 == 2 {
		record = s.record(op, bucket, key, r, rec)
	}
	unlock()
	rec.flush(w)
	if record != nil {
		s.notify(*record)
	}
}

func (s *Server) notify(rec events.S3EventRecord) {
	if s.opts.OnEvent != nil {
		s.hooks.Go(func() { s.opts.OnEvent(rec) })
	}
}

// removed reports the removal of key: a version deleted for good when the request named one
// (or the bucket keeps no versions), otherwise a delete marker with the version the response
// gave it. S3 reports a removal whether or not the key existed.
func (s *Server) removed(bucket, key, requestedVersion, versionID string, marker bool, r *http.Request, h http.Header) {
	name := EventDelete
	v, err := s.backend.VersioningConfiguration(bucket)
	versioned := err == nil && v.Enabled()
	switch {
	case requestedVersion != "":
		versionID = requestedVersion
	case marker || versionID != "" || versioned:
		// A delete without a version in a versioned bucket makes a marker, even for a key
		// that did not exist (gofakes3 makes none then; the record still says so).
		name = EventDeleteMarker
	}
	rec := s.eventRecord(name, bucket, key, r, h)
	rec.S3.Object.VersionID = versionID
	s.notify(rec)
}

// deleteMulti serves DeleteObjects (POST /bucket?delete), reporting each key it removed.
func (s *Server) deleteMulti(w http.ResponseWriter, r *http.Request, bucket string) {
	rec := newRecorder()
	s.s3.ServeHTTP(rec, r)
	rec.flush(w)
	if rec.status/100 != 2 {
		return
	}
	var result struct {
		Deleted []struct {
			Key       string `xml:"Key"`
			VersionID string `xml:"VersionId"`
		} `xml:"Deleted"`
	}
	if err := xml.Unmarshal(rec.body.Bytes(), &result); err != nil {
		s.opts.Logf("s3local: read DeleteObjects result for bucket %s: %v", bucket, err)
		return
	}
	v, err := s.backend.VersioningConfiguration(bucket)
	versioned := err == nil && v.Enabled()
	for _, d := range result.Deleted {
		// gofakes3 echoes the keys and versions asked for, not the delete markers it made: find
		// each marker, so that the record carries its version as S3's does.
		// (S3 makes a marker even for a key that did not exist; gofakes3 does not.)
		marker := ""
		if d.VersionID == "" {
			marker = s.latestDeleteMarker(bucket, d.Key)
		}
		s.removed(bucket, d.Key, d.VersionID, marker, d.VersionID == "" && versioned, r, rec.header)
	}
}

// latestDeleteMarker returns the version ID of key's delete marker if that is its latest
// version, or "".
func (s *Server) latestDeleteMarker(bucket, key string) string {
	list, err := s.backend.ListBucketVersions(bucket, &gofakes3.Prefix{HasPrefix: true, Prefix: key}, nil)
	if err != nil {
		s.opts.Logf("s3local: list versions of %s/%s: %v", bucket, key, err)
		return ""
	}
	for _, v := range list.Versions {
		if m, ok := v.(*gofakes3.DeleteMarker); ok && m.Key == key && m.IsLatest {
			return string(m.VersionID)
		}
	}
	return ""
}

// record builds the event record of a successful creation, reading the object back from the
// backend. For a copy it also puts the new version's ID in the response, which gofakes3 sets
// to the source's.
func (s *Server) record(op operation, bucket, key string, r *http.Request, rec *recorder) *events.S3EventRecord {
	versioning, err := s.backend.VersioningConfiguration(bucket)
	if err != nil {
		s.opts.Logf("s3local: read versioning of bucket %s: %v", bucket, err)
		return nil
	}
	var obj *gofakes3.Object
	if v := rec.header.Get("x-amz-version-id"); v != "" && op != opCopy {
		obj, err = s.backend.HeadObjectVersion(bucket, key, gofakes3.VersionID(v))
	} else {
		obj, err = s.backend.HeadObject(bucket, key)
	}
	if err != nil {
		s.opts.Logf("s3local: read back created object in bucket %s: %v", bucket, err)
		return nil
	}
	versionID := ""
	if versioning.Enabled() {
		versionID = string(obj.VersionID)
	}
	if op == opCopy {
		if versionID != "" {
			rec.header.Set("x-amz-version-id", versionID)
		} else {
			rec.header.Del("x-amz-version-id")
		}
	}

	name := EventPut
	switch op {
	case opCopy:
		name = EventCopy
	case opComplete:
		name = EventMultipart
	}
	ev := s.eventRecord(name, bucket, key, r, rec.header)
	ev.S3.Object.Size = obj.Size
	ev.S3.Object.ETag = hex.EncodeToString(obj.Hash)
	ev.S3.Object.VersionID = versionID
	return &ev
}

// eventRecord is the record of an event on key, without the object's size, ETag and version.
func (s *Server) eventRecord(name, bucket, key string, r *http.Request, h http.Header) events.S3EventRecord {
	return events.S3EventRecord{
		EventVersion:      "2.1",
		EventSource:       "aws:s3",
		AWSRegion:         s.opts.Region,
		EventTime:         time.Now().UTC().Truncate(time.Millisecond),
		EventName:         name,
		PrincipalID:       events.S3UserIdentity{PrincipalID: principal(r)},
		RequestParameters: events.S3RequestParameters{SourceIPAddress: sourceIP(r)},
		ResponseElements: map[string]string{
			"x-amz-request-id": h.Get("x-amz-request-id"),
			"x-amz-id-2":       h.Get("x-amz-id-2"),
		},
		S3: events.S3Entity{
			SchemaVersion:   "1.0",
			ConfigurationID: s.opts.ConfigurationID,
			Bucket: events.S3Bucket{
				Name:          bucket,
				OwnerIdentity: events.S3UserIdentity{PrincipalID: ownerID},
				Arn:           "arn:aws:s3:::" + bucket,
			},
			Object: events.S3Object{
				Key:           EncodeKey(key),
				URLDecodedKey: key,
				Sequencer:     fmt.Sprintf("%018X", s.seq.Add(1)),
			},
		},
	}
}

// EncodeKey encodes an object key as S3 event records carry it: form-encoded ("+" for a space,
// %XX for non-ASCII bytes) but with "/" left as it is. url.QueryUnescape reverses it.
func EncodeKey(key string) string {
	segments := strings.Split(key, "/")
	for i, seg := range segments {
		segments[i] = url.QueryEscape(seg)
	}
	return strings.Join(segments, "/")
}

// principal returns the requester as event records name it: "AWS:" and the access key ID of
// a SigV4-signed request, or "anonymous".
func principal(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		if id := r.URL.Query().Get("X-Amz-Credential"); id != "" { // presigned URL
			cred, ok = id, true
		}
	}
	if ok {
		if id, _, _ := strings.Cut(cred, "/"); id != "" {
			return "AWS:" + id
		}
	}
	return "anonymous"
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// s3Error is an S3 error response written by the wrapper itself.
type s3Error struct {
	status        int
	code, message string
}

func (e *s3Error) Error() string { return e.code + ": " + e.message }

func newError(status int, code, format string, args ...any) error {
	return &s3Error{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

var errTooLarge = newError(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")

func writeError(w http.ResponseWriter, err error) {
	e, ok := err.(*s3Error)
	if !ok {
		e = &s3Error{status: http.StatusInternalServerError, code: "InternalError", message: "We encountered an internal error. Please try again."}
	}
	body, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
	}{Code: e.code, Message: e.message})
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}

// headersOnly passes on a response's headers and status but not its body.
type headersOnly struct{ http.ResponseWriter }

func (h headersOnly) Write(b []byte) (int, error) { return len(b), nil }

// recorder buffers a response so that it can be amended before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.body.Write(b)
}

func (rec *recorder) flush(w http.ResponseWriter) {
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// keyLocks is a set of mutexes by name, each existing while someone holds or waits for it.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyLocks) lock(name string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l := k.locks[name]
	if l == nil {
		l = &keyLock{}
		k.locks[name] = l
	}
	l.refs++
	k.mu.Unlock()

	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, name)
		}
		k.mu.Unlock()
	}
}
