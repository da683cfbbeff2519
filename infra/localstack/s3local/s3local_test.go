package s3local

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

const (
	testBucket    = "sectorhub-test-uploads"
	testAccessKey = "AKIDLOCAL"
)

// fixture is a running Server with the records it reported.
type fixture struct {
	server *Server
	http   *httptest.Server
	client *s3.Client

	chunked atomic.Int32 // requests that came with aws-chunked bodies

	mu      sync.Mutex
	records []events.S3EventRecord
}

// startServer serves a Server with testBucket over HTTP (or HTTPS) on 127.0.0.1 and returns it
// with a real S3 client pointed at it.
func startServer(tb testing.TB, useTLS bool) *fixture {
	tb.Helper()
	f := &fixture{}
	srv, err := New(Options{
		Buckets: []string{testBucket},
		OnEvent: func(rec events.S3EventRecord) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.records = append(f.records, rec)
		},
		Logf: tb.Logf,
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.server = srv
	f.http = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAWSChunked(r.Header) {
			f.chunked.Add(1)
		}
		srv.ServeHTTP(w, r)
	}))
	if useTLS {
		f.http.StartTLS()
	} else {
		f.http.Start()
	}
	tb.Cleanup(f.http.Close)
	f.client = s3.NewFromConfig(aws.Config{
		Region:           "eu-west-2",
		Credentials:      credentials.NewStaticCredentialsProvider(testAccessKey, "local-secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       f.http.Client(),
		// As config.LoadDefaultConfig sets them: checksums on uploads (a header over HTTP,
		// an aws-chunked trailer over HTTPS) and validated on downloads.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(f.http.URL)
		o.UsePathStyle = true
	})
	return f
}

// takeRecords waits until every OnEvent call has returned and takes the records.
func (f *fixture) takeRecords() []events.S3EventRecord {
	f.server.hooks.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.records
	f.records = nil
	return out
}

// oneRecord takes the records and fails unless there is exactly one.
func (f *fixture) oneRecord(tb testing.TB) events.S3EventRecord {
	tb.Helper()
	recs := f.takeRecords()
	if len(recs) != 1 {
		tb.Fatalf("got %d records; want 1: %+v", len(recs), recs)
	}
	return recs[0]
}

func (f *fixture) put(tb testing.TB, key string, body []byte) *s3.PutObjectOutput {
	tb.Helper()
	out, err := f.client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(testBucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("text/csv"),
	})
	if err != nil {
		tb.Fatalf("PutObject(%q) error = %v", key, err)
	}
	return out
}

func (f *fixture) get(tb testing.TB, key string) []byte {
	tb.Helper()
	out, err := f.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	if err != nil {
		tb.Fatalf("GetObject(%q) error = %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		tb.Fatalf("GetObject(%q) body: %v", key, err)
	}
	return b
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

func apiErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func TestPutObjectRecord(t *testing.T) {
	f := startServer(t, false)
	key := "directory/my file é.csv"
	body := []byte("name,town\nHope House,Leeds\n")
	before := time.Now().UTC().Add(-time.Second)
	out := f.put(t, key, body)
	rec := f.oneRecord(t)

	reqID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	checks := []struct {
		field     string
		got, want any
	}{
		{"eventVersion", rec.EventVersion, "2.1"},
		{"eventSource", rec.EventSource, "aws:s3"},
		{"awsRegion", rec.AWSRegion, "eu-west-2"},
		{"eventName", rec.EventName, "ObjectCreated:Put"},
		{"eventTime location", rec.EventTime.Location(), time.UTC},
		{"eventTime sub-millisecond", rec.EventTime.Nanosecond() % int(time.Millisecond), 0},
		{"eventTime not before the request", rec.EventTime.Before(before), false},
		{"userIdentity", rec.PrincipalID.PrincipalID, "AWS:" + testAccessKey},
		{"sourceIPAddress", rec.RequestParameters.SourceIPAddress, "127.0.0.1"},
		{"x-amz-request-id", rec.ResponseElements["x-amz-request-id"], reqID},
		{"x-amz-id-2 present", rec.ResponseElements["x-amz-id-2"] != "", true},
		{"s3SchemaVersion", rec.S3.SchemaVersion, "1.0"},
		{"configurationId", rec.S3.ConfigurationID, defaultConfigurationID},
		{"bucket name", rec.S3.Bucket.Name, testBucket},
		{"bucket arn", rec.S3.Bucket.Arn, "arn:aws:s3:::" + testBucket},
		{"bucket owner", rec.S3.Bucket.OwnerIdentity.PrincipalID, ownerID},
		{"key", rec.S3.Object.Key, "directory/my+file+%C3%A9.csv"},
		{"urlDecodedKey", rec.S3.Object.URLDecodedKey, key},
		{"size", rec.S3.Object.Size, int64(len(body))},
		{"eTag", rec.S3.Object.ETag, md5Hex(body)},
		{"eTag as returned", rec.S3.Object.ETag, strings.Trim(aws.ToString(out.ETag), `"`)},
		{"versionId", rec.S3.Object.VersionID, aws.ToString(out.VersionId)},
		{"versionId present", rec.S3.Object.VersionID != "", true},
		{"sequencer hex", strings.Trim(rec.S3.Object.Sequencer, "0123456789ABCDEF") == "" && rec.S3.Object.Sequencer != "", true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("record %s = %v; want %v", c.field, c.got, c.want)
		}
	}

	// The record survives the trip through JSON that Lambda makes, key decoding included.
	b, err := json.Marshal(events.S3Event{Records: []events.S3EventRecord{rec}})
	if err != nil {
		t.Fatal(err)
	}
	var decoded events.S3Event
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	if got := decoded.Records[0].S3.Object.URLDecodedKey; got != key {
		t.Errorf("key after JSON = %q; want %q", got, key)
	}

	// A second put of the same key is a new version with a later sequencer.
	body2 := []byte("name,town\nHope House,York\n")
	out2 := f.put(t, key, body2)
	rec2 := f.oneRecord(t)
	if rec2.S3.Object.VersionID == rec.S3.Object.VersionID || rec2.S3.Object.VersionID != aws.ToString(out2.VersionId) {
		t.Errorf("second put versionId = %q (response %q); want a new version, not %q", rec2.S3.Object.VersionID, aws.ToString(out2.VersionId), rec.S3.Object.VersionID)
	}
	if s1, s2 := rec.S3.Object.Sequencer, rec2.S3.Object.Sequencer; len(s1) != len(s2) || s2 <= s1 {
		t.Errorf("sequencers %q then %q; want increasing", s1, s2)
	}
	if rec2.S3.Object.ETag != md5Hex(body2) || rec2.S3.Object.Size != int64(len(body2)) {
		t.Errorf("second record object = %+v; want the second body's size and etag", rec2.S3.Object)
	}

	if got := f.get(t, key); !bytes.Equal(got, body2) {
		t.Errorf("GetObject() = %q; want %q", got, body2)
	}
	old, err := f.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), VersionId: out.VersionId})
	if err != nil {
		t.Fatalf("GetObject(first version) error = %v", err)
	}
	defer old.Body.Close()
	if got, _ := io.ReadAll(old.Body); !bytes.Equal(got, body) {
		t.Errorf("GetObject(first version) = %q; want %q", got, body)
	}
	obj, err := f.server.Backend().HeadObject(testBucket, key)
	if err != nil || obj.Size != int64(len(body2)) {
		t.Errorf("Backend().HeadObject() = %+v, %v; want size %d", obj, err, len(body2))
	}
}

func TestPresignedPut(t *testing.T) {
	f := startServer(t, false)
	presigned, err := s3.NewPresignClient(f.client).PresignPutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(testBucket), Key: aws.String("directory/presigned.csv"),
	})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(presigned.Method, presigned.URL, strings.NewReader("a,b\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("presigned PUT = %d; want 200", resp.StatusCode)
	}
	rec := f.oneRecord(t)
	if rec.EventName != "ObjectCreated:Put" || rec.PrincipalID.PrincipalID != "AWS:"+testAccessKey || rec.S3.Object.Size != 4 {
		t.Errorf("record = %s by %s, size %d", rec.EventName, rec.PrincipalID.PrincipalID, rec.S3.Object.Size)
	}
}

func TestHeadObjectVersion(t *testing.T) {
	f := startServer(t, false)
	first := f.put(t, "directory/v.csv", []byte("first"))
	f.put(t, "directory/v.csv", []byte("second, longer"))
	head, err := f.client.HeadObject(context.Background(), &s3.HeadObjectInput{
		Bucket: aws.String(testBucket), Key: aws.String("directory/v.csv"), VersionId: first.VersionId,
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt64(head.ContentLength) != 5 || aws.ToString(head.VersionId) != aws.ToString(first.VersionId) || aws.ToString(head.ETag) != aws.ToString(first.ETag) {
		t.Errorf("HeadObject(first version) = length %d, version %q, etag %q; want 5, %q, %q",
			aws.ToInt64(head.ContentLength), aws.ToString(head.VersionId), aws.ToString(head.ETag), aws.ToString(first.VersionId), aws.ToString(first.ETag))
	}
	_, err = f.client.HeadObject(context.Background(), &s3.HeadObjectInput{
		Bucket: aws.String(testBucket), Key: aws.String("directory/v.csv"), VersionId: aws.String("3/nonexistent"),
	})
	if err == nil {
		t.Error("HeadObject(unknown version) succeeded; want an error")
	}
}

func TestVersioningEnabled(t *testing.T) {
	f := startServer(t, false)
	ctx := context.Background()
	v, err := f.client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(testBucket)})
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != types.BucketVersioningStatusEnabled {
		t.Errorf("versioning = %q; want Enabled", v.Status)
	}
	f.put(t, "directory/a.csv", []byte("1"))
	f.put(t, "directory/a.csv", []byte("22"))
	list, err := f.client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(testBucket), Prefix: aws.String("directory/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Versions) != 2 {
		t.Errorf("ListObjectVersions() = %d versions; want 2", len(list.Versions))
	}
}

func TestCopyObjectRecord(t *testing.T) {
	f := startServer(t, false)
	ctx := context.Background()
	body := []byte("copied content")
	src := f.put(t, "directory/source.csv", body)
	f.takeRecords()

	out, err := f.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:     aws.String(testBucket),
		Key:        aws.String("directory/copy of source.csv"),
		CopySource: aws.String(testBucket + "/directory/source.csv"),
	})
	if err != nil {
		t.Fatalf("CopyObject() error = %v", err)
	}
	rec := f.oneRecord(t)
	if rec.EventName != "ObjectCreated:Copy" || rec.S3.Object.Key != "directory/copy+of+source.csv" ||
		rec.S3.Object.Size != int64(len(body)) || rec.S3.Object.ETag != md5Hex(body) {
		t.Errorf("copy record = %s %+v", rec.EventName, rec.S3.Object)
	}
	if got := aws.ToString(out.VersionId); got == "" || got == aws.ToString(src.VersionId) || got != rec.S3.Object.VersionID {
		t.Errorf("CopyObject() versionId = %q, record %q, source %q; want the new version in both", got, rec.S3.Object.VersionID, aws.ToString(src.VersionId))
	}
	if got := aws.ToString(out.CopySourceVersionId); got != aws.ToString(src.VersionId) {
		t.Errorf("CopyObject() copy source version = %q; want %q", got, aws.ToString(src.VersionId))
	}
	if got := f.get(t, "directory/copy of source.csv"); !bytes.Equal(got, body) {
		t.Errorf("GetObject(copy) = %q; want %q", got, body)
	}

	// Copying the current version by ID works; a noncurrent one is refused, not miscopied.
	f.put(t, "directory/source.csv", []byte("newer"))
	f.takeRecords()
	_, err = f.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:     aws.String(testBucket),
		Key:        aws.String("directory/old.csv"),
		CopySource: aws.String(testBucket + "/directory/source.csv?versionId=" + aws.ToString(src.VersionId)),
	})
	if code := apiErrorCode(err); code != "NotImplemented" {
		t.Errorf("CopyObject(noncurrent version) error = %v; want NotImplemented", err)
	}
	if recs := f.takeRecords(); len(recs) != 0 {
		t.Errorf("refused copy produced %d records", len(recs))
	}
}

// upload runs a multipart upload of parts with the plain client and returns the output of
// CompleteMultipartUpload.
func (f *fixture) upload(tb testing.TB, key string, parts [][]byte) *s3.CompleteMultipartUploadOutput {
	tb.Helper()
	ctx := context.Background()
	created, err := f.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	if err != nil {
		tb.Fatalf("CreateMultipartUpload() error = %v", err)
	}
	var completed []types.CompletedPart
	for i, part := range parts {
		n := int32(i + 1)
		out, err := f.client.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: aws.String(testBucket), Key: aws.String(key), UploadId: created.UploadId,
			PartNumber: aws.Int32(n), Body: bytes.NewReader(part),
		})
		if err != nil {
			tb.Fatalf("UploadPart(%d) error = %v", n, err)
		}
		completed = append(completed, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
	}
	out, err := f.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(testBucket), Key: aws.String(key), UploadId: created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed},
	})
	if err != nil {
		tb.Fatalf("CompleteMultipartUpload() error = %v", err)
	}
	return out
}

func TestMultipartRecord(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			f := startServer(t, useTLS)
			key := "directory/big.csv"
			// A small object first: its checksum header must not outlive it on the new version.
			f.put(t, key, []byte("small"))
			f.takeRecords()

			part1 := bytes.Repeat([]byte("0123456789abcdef"), 5<<20/16)
			part2 := []byte("the last part\n")
			whole := slices.Concat(part1, part2)
			out := f.upload(t, key, [][]byte{part1, part2})
			rec := f.oneRecord(t)
			if rec.EventName != "ObjectCreated:CompleteMultipartUpload" || rec.S3.Object.Size != int64(len(whole)) ||
				rec.S3.Object.ETag != md5Hex(whole) || rec.S3.Object.VersionID != aws.ToString(out.VersionId) || rec.S3.Object.VersionID == "" {
				t.Errorf("multipart record = %s %+v; want size %d, versionId %q", rec.EventName, rec.S3.Object, len(whole), aws.ToString(out.VersionId))
			}
			if got := f.get(t, key); !bytes.Equal(got, whole) {
				t.Errorf("GetObject() returned %d bytes; want the %d uploaded", len(got), len(whole))
			}
			if chunked := f.chunked.Load(); useTLS != (chunked > 0) {
				t.Errorf("%d requests had aws-chunked bodies; want some exactly when over TLS", chunked)
			}
		})
	}
}

func TestUploadPartCopy(t *testing.T) {
	f := startServer(t, false)
	ctx := context.Background()
	source := bytes.Repeat([]byte("abcdefghij"), 600_000) // 6 MB
	src := f.put(t, "directory/source.csv", source)
	f.put(t, "directory/source.csv", []byte("a newer, shorter version"))
	f.takeRecords()

	key := "directory/assembled.csv"
	created, err := f.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(testBucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	ranges := []string{"bytes=0-5242879", "bytes=5242880-5999999"}
	var parts []types.CompletedPart
	for i, rng := range ranges {
		out, err := f.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
			Bucket: aws.String(testBucket), Key: aws.String(key), UploadId: created.UploadId, PartNumber: aws.Int32(int32(i + 1)),
			CopySource:      aws.String(testBucket + "/directory/source.csv?versionId=" + aws.ToString(src.VersionId)),
			CopySourceRange: aws.String(rng),
		})
		if err != nil {
			t.Fatalf("UploadPartCopy(%s) error = %v", rng, err)
		}
		if aws.ToString(out.CopySourceVersionId) != aws.ToString(src.VersionId) || out.CopyPartResult == nil || aws.ToString(out.CopyPartResult.ETag) == "" {
			t.Errorf("UploadPartCopy(%s) = %+v", rng, out)
		}
		parts = append(parts, types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	if _, err := f.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(testBucket), Key: aws.String(key), UploadId: created.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, key); !bytes.Equal(got, source) {
		t.Errorf("assembled object is %d bytes; want the %d of the source's first version", len(got), len(source))
	}
	if rec := f.oneRecord(t); rec.EventName != "ObjectCreated:CompleteMultipartUpload" || rec.S3.Object.Size != int64(len(source)) {
		t.Errorf("record = %s size %d", rec.EventName, rec.S3.Object.Size)
	}

	_, err = f.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
		Bucket: aws.String(testBucket), Key: aws.String(key), UploadId: created.UploadId, PartNumber: aws.Int32(1),
		CopySource: aws.String(testBucket + "/directory/missing.csv"),
	})
	if code := apiErrorCode(err); code != "NoSuchKey" {
		t.Errorf("UploadPartCopy(missing source) error = %v; want NoSuchKey", err)
	}
}

func TestFailedWritesHaveNoRecord(t *testing.T) {
	f := startServer(t, false)
	ctx := context.Background()
	body := []byte("keep me")
	f.put(t, "directory/kept.csv", body)
	f.takeRecords()

	tests := []struct {
		name     string
		do       func() error
		wantCode string
	}{
		{
			name: "put to a missing bucket",
			do: func() error {
				_, err := f.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("directory/x.csv"), Body: strings.NewReader("x")})
				return err
			},
			wantCode: "NoSuchBucket",
		},
		{
			name: "copy of a missing key",
			do: func() error {
				_, err := f.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(testBucket), Key: aws.String("directory/y.csv"), CopySource: aws.String(testBucket + "/directory/missing.csv")})
				return err
			},
			wantCode: "NoSuchKey",
		},
		{
			name: "complete an unknown upload",
			do: func() error {
				_, err := f.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
					Bucket: aws.String(testBucket), Key: aws.String("directory/z.csv"), UploadId: aws.String("999"),
					MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: aws.String(`"x"`), PartNumber: aws.Int32(1)}}},
				})
				return err
			},
			wantCode: "NoSuchUpload",
		},
		{
			name: "tagging is not an overwrite",
			do: func() error {
				_, err := f.client.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
					Bucket: aws.String(testBucket), Key: aws.String("directory/kept.csv"),
					Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}},
				})
				return err
			},
			wantCode: "NotImplemented",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if code := apiErrorCode(err); code != tt.wantCode {
				t.Errorf("error = %v; want code %s", err, tt.wantCode)
			}
			if recs := f.takeRecords(); len(recs) != 0 {
				t.Errorf("failed write produced %d records: %+v", len(recs), recs)
			}
		})
	}
	if got := f.get(t, "directory/kept.csv"); !bytes.Equal(got, body) {
		t.Errorf("GetObject(kept) = %q; want %q", got, body)
	}
}

// TestTransferHeadersNotStored checks that what described the upload (checksums, payload
// hashes) is not echoed as if it were object metadata.
func TestTransferHeadersNotStored(t *testing.T) {
	f := startServer(t, false)
	f.put(t, "directory/a.csv", []byte("a"))
	resp, err := f.http.Client().Get(f.http.URL + "/" + testBucket + "/directory/a.csv")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv" {
		t.Errorf("GET = %d, Content-Type %q; want 200 text/csv", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for name := range resp.Header {
		if strings.HasPrefix(name, "X-Amz-Checksum") || name == "X-Amz-Content-Sha256" || name == "X-Amz-Sdk-Checksum-Algorithm" {
			t.Errorf("GET response echoes the upload's %s header", name)
		}
	}
}

// rawPut sends a PUT with the given headers and body, as a client the SDK does not cover would.
func rawPut(tb testing.TB, f *fixture, key string, header http.Header, body string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPut, f.http.URL+"/"+testBucket+"/"+key, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAccessKey+"/20260101/eu-west-2/s3/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := f.http.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestStreamingUploads(t *testing.T) {
	const content = "hello, aws-chunked world\n"
	sig := strings.Repeat("a", 64)
	tests := []struct {
		name       string
		header     http.Header
		body       string
		wantStatus int
	}{
		{
			name:       "signed streaming",
			header:     http.Header{"X-Amz-Content-Sha256": {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}, "X-Amz-Decoded-Content-Length": {"25"}, "Content-Encoding": {"aws-chunked"}},
			body:       "10;chunk-signature=" + sig + "\r\n" + content[:16] + "\r\n9;chunk-signature=" + sig + "\r\n" + content[16:] + "\r\n0;chunk-signature=" + sig + "\r\n\r\n",
			wantStatus: http.StatusOK,
		},
		{
			name:       "unsigned with trailing checksum",
			header:     http.Header{"X-Amz-Content-Sha256": {"STREAMING-UNSIGNED-PAYLOAD-TRAILER"}, "X-Amz-Decoded-Content-Length": {"25"}, "Content-Encoding": {"aws-chunked"}, "X-Amz-Trailer": {"x-amz-checksum-crc32"}},
			body:       "19\r\n" + content + "\r\n0\r\nx-amz-checksum-crc32:" + crc32Base64(content) + "\r\n\r\n",
			wantStatus: http.StatusOK,
		},
		{
			name:       "trailing checksum mismatch",
			header:     http.Header{"X-Amz-Content-Sha256": {"STREAMING-UNSIGNED-PAYLOAD-TRAILER"}, "Content-Encoding": {"aws-chunked"}, "X-Amz-Trailer": {"x-amz-checksum-crc32"}},
			body:       "19\r\n" + content + "\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "header checksum mismatch",
			header:     http.Header{"X-Amz-Checksum-Sha256": {"AAAA"}},
			body:       content,
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "decoded length mismatch",
			header:     http.Header{"X-Amz-Content-Sha256": {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}, "X-Amz-Decoded-Content-Length": {"26"}},
			body:       "19;chunk-signature=" + sig + "\r\n" + content + "\r\n0;chunk-signature=" + sig + "\r\n\r\n",
			wantStatus: http.StatusBadRequest,
		},
		{
			name:       "declared trailer missing",
			header:     http.Header{"X-Amz-Content-Sha256": {"STREAMING-UNSIGNED-PAYLOAD-TRAILER"}, "X-Amz-Trailer": {"x-amz-checksum-crc32"}},
			body:       "19\r\n" + content + "\r\n0\r\n\r\n",
			wantStatus: http.StatusBadRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startServer(t, false)
			resp := rawPut(t, f, "directory/streamed.csv", tt.header, tt.body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("PUT = %d; want %d", resp.StatusCode, tt.wantStatus)
			}
			recs := f.takeRecords()
			if tt.wantStatus != http.StatusOK {
				if len(recs) != 0 {
					t.Errorf("rejected PUT produced %d records", len(recs))
				}
				return
			}
			if got := f.get(t, "directory/streamed.csv"); string(got) != content {
				t.Errorf("stored %q; want %q", got, content)
			}
			if len(recs) != 1 || recs[0].S3.Object.Size != int64(len(content)) {
				t.Errorf("records = %+v; want one of size %d", recs, len(content))
			}
		})
	}
}

func TestConcurrentPuts(t *testing.T) {
	f := startServer(t, false)
	const writers = 8
	type put struct {
		key, version string
		body         []byte
	}
	results := make(chan put, writers*2)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range 2 {
				key := "directory/shared.csv"
				if i == 1 {
					key = fmt.Sprintf("directory/own-%d.csv", w)
				}
				body := []byte(fmt.Sprintf("writer %d put %d", w, i))
				out, err := f.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(key), Body: bytes.NewReader(body)})
				if err != nil {
					t.Error(err)
					return
				}
				results <- put{key, aws.ToString(out.VersionId), body}
			}
		})
	}
	wg.Wait()
	close(results)
	byVersion := map[string]put{}
	for p := range results {
		byVersion[p.version] = p
	}
	recs := f.takeRecords()
	if len(recs) != writers*2 || len(byVersion) != writers*2 {
		t.Fatalf("%d records for %d distinct versions; want %d of each", len(recs), len(byVersion), writers*2)
	}
	sequencers := map[string]bool{}
	for _, rec := range recs {
		p, ok := byVersion[rec.S3.Object.VersionID]
		if !ok || rec.S3.Object.URLDecodedKey != p.key || rec.S3.Object.ETag != md5Hex(p.body) || rec.S3.Object.Size != int64(len(p.body)) {
			t.Errorf("record %+v matches no put (or the wrong one)", rec.S3.Object)
		}
		sequencers[rec.S3.Object.Sequencer] = true
	}
	if len(sequencers) != len(recs) {
		t.Errorf("%d distinct sequencers for %d records", len(sequencers), len(recs))
	}
}

func TestNewRejectsBadBucket(t *testing.T) {
	for _, buckets := range [][]string{{"Bad_Bucket!"}, {"twice", "twice"}} {
		if _, err := New(Options{Buckets: buckets}); err == nil {
			t.Errorf("New(%q) succeeded; want an error", buckets)
		}
	}
}

func TestEncodeKey(t *testing.T) {
	tests := []struct{ key, want string }{
		{"directory/x.csv", "directory/x.csv"},
		{"directory/my file.csv", "directory/my+file.csv"},
		{"directory/é.csv", "directory/%C3%A9.csv"},
		{"a+b=c&d", "a%2Bb%3Dc%26d"},
		{"dir/", "dir/"},
	}
	for _, tt := range tests {
		if got := EncodeKey(tt.key); got != tt.want {
			t.Errorf("EncodeKey(%q) = %q; want %q", tt.key, got, tt.want)
		}
	}
}

// TestRemovalRecords checks the records of deletions, as S3 sends them to ObjectRemoved
// notifications: a delete marker (with its version) for a plain delete in a versioned bucket,
// a permanent delete for a delete of one version, and one record per key of DeleteObjects.
func TestRemovalRecords(t *testing.T) {
	f := startServer(t, false)
	ctx := context.Background()
	put := f.put(t, "case-studies/a.md", []byte("a"))
	f.put(t, "case-studies/b.md", []byte("b"))
	f.put(t, "case-studies/c.md", []byte("c"))
	f.takeRecords()

	out, err := f.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String("case-studies/b.md")})
	if err != nil {
		t.Fatal(err)
	}
	rec := f.oneRecord(t)
	if rec.EventName != EventDeleteMarker || rec.S3.Object.URLDecodedKey != "case-studies/b.md" ||
		rec.S3.Object.VersionID == "" || rec.S3.Object.VersionID != aws.ToString(out.VersionId) || rec.S3.Object.Sequencer == "" {
		t.Errorf("DeleteObject record = %s %q version %q (response version %q); want %s with the marker's version",
			rec.EventName, rec.S3.Object.URLDecodedKey, rec.S3.Object.VersionID, aws.ToString(out.VersionId), EventDeleteMarker)
	}

	_, err = f.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String("case-studies/a.md"), VersionId: put.VersionId})
	if err != nil {
		t.Fatal(err)
	}
	rec = f.oneRecord(t)
	if rec.EventName != EventDelete || rec.S3.Object.VersionID != aws.ToString(put.VersionId) {
		t.Errorf("DeleteObject(version) record = %s version %q; want %s version %q", rec.EventName, rec.S3.Object.VersionID, EventDelete, aws.ToString(put.VersionId))
	}

	_, err = f.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(testBucket), Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("case-studies/c.md")}, {Key: aws.String("case-studies/never.md")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	for _, r := range f.takeRecords() {
		keys[r.S3.Object.URLDecodedKey] = r.EventName
	}
	if len(keys) != 2 || keys["case-studies/c.md"] != EventDeleteMarker || keys["case-studies/never.md"] != EventDeleteMarker {
		t.Errorf("DeleteObjects records = %v; want a delete marker for each key", keys)
	}

	// Deleting a key that never existed still makes a marker in a versioned bucket.
	if _, err := f.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(testBucket), Key: aws.String("case-studies/nothing.md")}); err != nil {
		t.Fatal(err)
	}
	if rec := f.oneRecord(t); rec.EventName != EventDeleteMarker {
		t.Errorf("DeleteObject of a missing key = %s; want %s", rec.EventName, EventDeleteMarker)
	}
	// Deleting a sub-resource removes nothing.
	f.put(t, "case-studies/tagged.md", []byte("t"))
	f.takeRecords()
	_, err = f.client.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: aws.String(testBucket), Key: aws.String("case-studies/tagged.md")})
	if code := apiErrorCode(err); code != "NotImplemented" {
		t.Errorf("DeleteObjectTagging error = %v; want NotImplemented (not a delete of the object)", err)
	}
	if recs := f.takeRecords(); len(recs) != 0 {
		t.Errorf("DeleteObjectTagging produced records %+v; want none", recs)
	}
	if got := f.get(t, "case-studies/tagged.md"); string(got) != "t" {
		t.Errorf("after DeleteObjectTagging, GetObject = %q; want the object kept", got)
	}
}
