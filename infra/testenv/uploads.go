package testenv

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sectorhub/shared/imports"
)

// Uploads is an uploads bucket on an in-process S3 (see S3), with what the tests of an upload
// kind do with it: write or delete a file and get the event S3 would send for it, shaped as
// the sample events in events/ are, and read back an import's report.
type Uploads struct {
	S3     *s3.Client
	Bucket string
}

// NewUploads starts an in-process S3 holding bucket.
func NewUploads(tb testing.TB, bucket string) *Uploads {
	tb.Helper()
	client, _ := S3(tb, bucket)
	return &Uploads{S3: client, Bucket: bucket}
}

// SampleS3Event loads a sample S3 event of one record from events/.
func SampleS3Event(tb testing.TB, name string) events.S3Event {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(tb), "events", name))
	if err != nil {
		tb.Fatal(err)
	}
	var ev events.S3Event
	if err := json.Unmarshal(b, &ev); err != nil || len(ev.Records) != 1 {
		tb.Fatalf("events/%s: %v, %d records; want 1", name, err, len(ev.Records))
	}
	return ev
}

// Event returns the event S3 sends for key in u's bucket at time at: the sample
// events/directory-upload-s3-put.json with the event's name, key and object filled in.
func (u *Uploads) Event(tb testing.TB, name, key, versionID, etag string, size int64, at time.Time) events.S3Event {
	tb.Helper()
	ev := SampleS3Event(tb, "directory-upload-s3-put.json")
	rec := &ev.Records[0]
	rec.EventName = name
	rec.EventTime = at
	rec.S3.Bucket.Name = u.Bucket
	rec.S3.Bucket.Arn = "arn:aws:s3:::" + u.Bucket
	rec.S3.Object = events.S3Object{
		Key:           url.QueryEscape(key),
		URLDecodedKey: key,
		VersionID:     versionID,
		ETag:          etag,
		Size:          size,
		Sequencer:     rec.S3.Object.Sequencer,
	}
	return ev
}

// Put writes body at key and returns the ObjectCreated:Put event S3 sends for it.
func (u *Uploads) Put(tb testing.TB, key string, body []byte, at time.Time) events.S3Event {
	tb.Helper()
	out, err := u.S3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &u.Bucket, Key: &key, Body: strings.NewReader(string(body))})
	if err != nil {
		tb.Fatalf("PutObject(%s): %v", key, err)
	}
	return u.Event(tb, "ObjectCreated:Put", key, aws.ToString(out.VersionId), strings.Trim(aws.ToString(out.ETag), `"`), int64(len(body)), at)
}

// Delete deletes key, which makes a delete marker in the versioned bucket, and returns the
// ObjectRemoved:DeleteMarkerCreated event S3 sends for it.
func (u *Uploads) Delete(tb testing.TB, key string, at time.Time) events.S3Event {
	tb.Helper()
	out, err := u.S3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: &u.Bucket, Key: &key})
	if err != nil {
		tb.Fatalf("DeleteObject(%s): %v", key, err)
	}
	if aws.ToString(out.VersionId) == "" {
		tb.Fatalf("DeleteObject(%s) made no delete marker", key)
	}
	return u.Event(tb, "ObjectRemoved:DeleteMarkerCreated", key, aws.ToString(out.VersionId), "", 0, at)
}

// Report reads the report of the upload at key from the bucket, and how many versions of it
// were written.
func (u *Uploads) Report(tb testing.TB, key string) (imports.Report, int) {
	tb.Helper()
	ctx := context.Background()
	rk := imports.ReportKey(key)
	out, err := u.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &u.Bucket, Key: &rk})
	if err != nil {
		tb.Fatalf("GetObject(%s): %v", rk, err)
	}
	defer out.Body.Close()
	var rep imports.Report
	if err := json.NewDecoder(out.Body).Decode(&rep); err != nil {
		tb.Fatalf("decode %s: %v", rk, err)
	}
	versions, err := u.S3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &u.Bucket, Prefix: &rk})
	if err != nil {
		tb.Fatalf("ListObjectVersions(%s): %v", rk, err)
	}
	return rep, len(versions.Versions)
}

// HandleS3 calls handle with ev as Lambda would, under requestID, failing the test on an error.
func HandleS3(tb testing.TB, handle func(context.Context, events.S3Event) error, ev events.S3Event, requestID string) {
	tb.Helper()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: requestID})
	if err := handle(ctx, ev); err != nil {
		tb.Fatalf("HandleS3(%s): %v", ev.Records[0].S3.Object.URLDecodedKey, err)
	}
}
