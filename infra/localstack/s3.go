package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sectorhub/infra/localstack/lambdart"
	"sectorhub/infra/localstack/s3local"
	"sectorhub/infra/samtemplate"
	"sectorhub/infra/seed"
)

// s3Handler fronts s3local: it accepts virtual-hosted-style requests too
// (bucket.127.0.0.1:4569) by rewriting them to path style, and it tells the
// tracker which responses will be followed by a notification (created or removed),
// before the client can see the response, so that Drain cannot miss one.
func (s *Stack) s3Handler(srv *s3local.Server, buckets []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		for _, b := range buckets {
			if strings.HasPrefix(host, b+".") {
				r.URL.Path = "/" + b + r.URL.Path
				if r.URL.RawPath != "" {
					r.URL.RawPath = "/" + b + r.URL.RawPath
				}
				break
			}
		}
		rec := &statusRecorder{ResponseWriter: w}
		srv.ServeHTTP(rec, r)
		if rec.status/100 == 2 && notifies(r) {
			s.async.expect(rec.Header().Get("x-amz-request-id"))
		}
	})
}

// notifies reports whether a successful r creates or removes an object, and
// so is notified: PutObject, CopyObject, CompleteMultipartUpload,
// DeleteObject and DeleteObjects.
func notifies(r *http.Request) bool {
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	if key == "" {
		return r.Method == http.MethodPost && q.Has("delete")
	}
	switch r.Method {
	case http.MethodDelete:
		for p := range q {
			if p != "versionId" && !signingParam(p) {
				return false // ?uploadId, ?tagging, ...: not an object removal
			}
		}
		return true
	case http.MethodPut:
		// PutObject and CopyObject carry no query but the SDK's x-id (and, presigned, the
		// signature's X-Amz-* parameters); parts and sub-resources (?uploadId, ?acl, ?tagging) do.
		for p := range q {
			if !signingParam(p) {
				return false
			}
		}
		return true
	case http.MethodPost:
		return q.Has("uploadId")
	}
	return false
}

// signingParam reports whether a query parameter only names the operation (the SDK's x-id) or
// authenticates the request (a presigned URL's X-Amz-Algorithm, X-Amz-Signature, ...).
func signingParam(p string) bool {
	return p == "x-id" || strings.HasPrefix(strings.ToLower(p), "x-amz-")
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// tracker counts asynchronous work: notifications announced by the S3
// front but not yet arrived, and invocations in flight, for Drain.
type tracker struct {
	mu       sync.Mutex
	expected map[string]time.Time // S3 request IDs whose notification is due
	arrived  map[string]time.Time // notifications that came before their announcement
	inflight int
	changed  chan struct{}
	wg       sync.WaitGroup
}

func (t *tracker) init() {
	t.expected = map[string]time.Time{}
	t.arrived = map[string]time.Time{}
	t.changed = make(chan struct{})
}

func (t *tracker) signal() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// expect announces the notification of the S3 request with requestID.
func (t *tracker) expect(requestID string) {
	if requestID == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.arrived[requestID]; ok {
		delete(t.arrived, requestID)
		return
	}
	t.expected[requestID] = time.Now()
}

// arrive records the notification of requestID, starting n invocations.
func (t *tracker) arrive(requestID string, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inflight += n
	t.wg.Add(n)
	if requestID != "" {
		if _, ok := t.expected[requestID]; ok {
			delete(t.expected, requestID)
		} else {
			t.arrived[requestID] = time.Now()
		}
	}
	t.signal()
}

func (t *tracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inflight--
	t.wg.Done()
	t.signal()
}

// staleAfter bounds how long an announced notification is waited for:
// s3local logs and drops a notification it cannot build.
const staleAfter = 10 * time.Second

// idle reports whether nothing is due or running, forgetting stale entries.
func (t *tracker) idle(now time.Time) (bool, chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, at := range t.expected {
		if now.Sub(at) > staleAfter {
			delete(t.expected, id)
		}
	}
	for id, at := range t.arrived {
		if now.Sub(at) > staleAfter {
			delete(t.arrived, id)
		}
	}
	return len(t.expected) == 0 && t.inflight == 0, t.changed
}

func (t *tracker) wait() { t.wg.Wait() }

// Drain waits until every object-created notification of a completed S3
// request has been delivered and every asynchronous invocation (retries
// included) has finished.
func (s *Stack) Drain(ctx context.Context) error {
	for {
		idle, changed := s.async.idle(time.Now())
		if idle {
			return nil
		}
		select {
		case <-changed:
		case <-time.After(time.Second):
		case <-ctx.Done():
			return fmt.Errorf("drain: %w", ctx.Err())
		}
	}
}

// AsyncFailures returns how many asynchronous invocations failed for good
// (after their retries).
func (s *Stack) AsyncFailures() int64 { return s.failures.Load() }

// objectEvent delivers an S3 notification (an object created or removed) to
// every function whose S3 event matches it, asynchronously, as S3 and Lambda do.
func (s *Stack) objectEvent(rec events.S3EventRecord) {
	key, err := url.QueryUnescape(rec.S3.Object.Key)
	if err != nil {
		key = rec.S3.Object.Key
	}
	var matched []samtemplate.S3Event
	for _, e := range s.tmpl.S3Events {
		if s.names[e.BucketLogicalID] == rec.S3.Bucket.Name && eventMatches(e.Events, "s3:"+rec.EventName) &&
			strings.HasPrefix(key, e.Prefix) && strings.HasSuffix(key, e.Suffix) {
			matched = append(matched, e)
		}
	}
	s.async.arrive(rec.ResponseElements["x-amz-request-id"], len(matched))
	if len(matched) == 0 {
		return
	}
	payload, err := s3EventJSON(rec)
	for _, e := range matched {
		go func() {
			defer s.async.done()
			if err != nil {
				s.log.Printf("s3", "encode event for s3://%s/%s: %v", rec.S3.Bucket.Name, key, err)
				s.failures.Add(1)
				return
			}
			s.log.Printf("s3", "%s s3://%s/%s → %s (%s)", rec.EventName, rec.S3.Bucket.Name, key, e.FunctionID, e.EventID)
			s.invokeAsync("s3", e.FunctionID, fmt.Sprintf("s3://%s/%s", rec.S3.Bucket.Name, key), payload)
		}()
	}
}

// eventMatches matches an event name such as "s3:ObjectCreated:Put" against
// a notification's event patterns ("s3:ObjectCreated:*").
func eventMatches(patterns []string, name string) bool {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(name, prefix) || p == name {
			return true
		}
	}
	return false
}

// invokeAsync invokes a function as Lambda's asynchronous invocation does (S3 notifications
// and schedules invoke so): on a function error it retries as often as the function's
// EventInvokeConfig says (twice by default), after a delay and twice that delay, under the
// same request ID, as Lambda does (a function that claims work by request ID finds its own
// claim on a retry). source names the trigger in the log.
func (s *Stack) invokeAsync(source, fnID, what string, payload []byte) {
	delay := s.opts.AsyncRetryDelay
	attempts := 3
	if fn, ok := s.tmpl.Function(fnID); ok {
		attempts = fn.MaxRetryAttempts + 1
	}
	requestID := lambdart.NewRequestID()
	for attempt := 1; ; attempt++ {
		_, err := s.invoke(context.Background(), fnID, requestID, payload)
		if err == nil {
			return
		}
		if errors.Is(err, lambdart.ErrClosed) {
			return
		}
		if attempt == attempts {
			s.failures.Add(1)
			s.log.Printf(source, "%s failed on %s %d times; giving up: %v", fnID, what, attempts, err)
			return
		}
		s.log.Printf(source, "%s failed on %s (attempt %d of %d): %v; retrying in %v", fnID, what, attempt, attempts, err, delay)
		select {
		case <-time.After(delay):
		case <-s.closing:
			return
		}
		delay *= 2
	}
}

// s3EventJSON encodes an S3 notification with one record as Amazon S3 sends
// it: eventTime with milliseconds, no urlDecodedKey (an aws-lambda-go field
// that S3 does not send), no versionId for an unversioned bucket.
func s3EventJSON(rec events.S3EventRecord) ([]byte, error) {
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	m["eventTime"] = rec.EventTime.UTC().Format("2006-01-02T15:04:05.000Z")
	if s3m, ok := m["s3"].(map[string]any); ok {
		if obj, ok := s3m["object"].(map[string]any); ok {
			delete(obj, "urlDecodedKey")
			if rec.S3.Object.VersionID == "" {
				delete(obj, "versionId")
			}
		}
	}
	return json.Marshal(map[string]any{"Records": []any{m}})
}

// seed uploads the sample content of every kind (package seed) through the
// S3 endpoint, as staff would, in key order, and waits for the functions
// their keys trigger to publish them. A sample no function is triggered by
// is skipped with a note.
func (s *Stack) seed(ctx context.Context) error {
	samples, err := seed.Uploads()
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return s.seedUploads(ctx, samples)
}

// seedUploads uploads samples in order, as seed does.
func (s *Stack) seedUploads(ctx context.Context, samples []seed.Upload) error {
	client := s.S3Client()
	before := s.failures.Load()
	var keys []string
	for _, u := range samples {
		bucketID := ""
		for _, e := range s.tmpl.S3Events {
			if eventMatches(e.Events, "s3:"+s3local.EventPut) && strings.HasPrefix(u.Key, e.Prefix) && strings.HasSuffix(u.Key, e.Suffix) {
				bucketID = e.BucketLogicalID
				break
			}
		}
		if bucketID == "" {
			s.log.Printf("stack", "seed: no function is triggered by %s; not seeding it", u.Key)
			continue
		}
		bucket := s.names[bucketID]
		_, err := client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket),
			Key:    aws.String(u.Key),
			Body:   bytes.NewReader(u.Body),
		})
		if err != nil {
			return fmt.Errorf("seed: upload s3://%s/%s: %w", bucket, u.Key, err)
		}
		// One kind's samples may depend on another's (a case study names an organisation of
		// the directory): each is published before the next is uploaded.
		if err := s.Drain(ctx); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		if s.failures.Load() != before {
			return fmt.Errorf("seed: publishing s3://%s/%s failed (see the log above; --no-seed starts without it)", bucket, u.Key)
		}
		keys = append(keys, u.Key)
	}
	s.log.Printf("stack", "seed: published %s", strings.Join(keys, ", "))
	return nil
}

// S3Client returns an S3 client for the stack's S3 endpoint (path style,
// local credentials).
func (s *Stack) S3Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       s.tmpl.Pseudo["AWS::Region"],
		BaseEndpoint: aws.String(s.S3URL()),
		UsePathStyle: true,
		Credentials:  localCredentials,
	})
}
