// Package ingest turns staff uploads into published content. An upload of directory/*.csv to
// the uploads bucket is the complete directory: it is validated as a whole, and published
// only if every row is valid (all or nothing). Every upload gets a report, written to
// reports/<key>.json in the bucket and recorded in DynamoDB for GET /staff/imports.
//
// S3 may deliver an event twice and Lambda retries failed asynchronous invocations, so
// handling is idempotent: an import is keyed by the object version it reads (imports.ID), a
// finished import is never redone, and a retry of an interrupted one rewrites the same
// version's items before switching the directory pointer once.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"sectorhub/shared/directory"
	"sectorhub/shared/imports"
	"sectorhub/shared/objects"
)

// Lease is how long an import is claimed by the invocation working on it before another may
// take it over: longer than IngestFunction's timeout in template.yaml.
const Lease = 6 * time.Minute

// Objects reads uploads and writes reports.
type Objects interface {
	Open(ctx context.Context, bucket, key, versionID string, max int64) (io.ReadCloser, error)
	PutJSON(ctx context.Context, bucket, key string, body []byte) error
}

// Store records imports and publishes directory versions.
type Store interface {
	BeginImport(ctx context.Context, rep imports.Report, leaseUntil, now time.Time) (imports.Report, bool, error)
	FinishImport(ctx context.Context, rep imports.Report) error
	LiveDirectory(ctx context.Context) (directory.Published, bool, error)
	WriteDirectoryVersion(ctx context.Context, version string, orgs []directory.Organisation, now time.Time) error
	PublishDirectory(ctx context.Context, p directory.Published, rep imports.Report) (bool, error)
	PruneDirectoryVersions(ctx context.Context, live, previous string, writtenBefore time.Time) error
}

// Importer handles S3 events from the uploads bucket.
type Importer struct {
	Bucket  string // the uploads bucket; events from any other bucket are ignored
	Objects Objects
	Store   Store
	Log     *slog.Logger
	Now     func() time.Time
}

// HandleS3 is the Lambda handler for the bucket's ObjectCreated events. It returns an error
// only for failures worth retrying (the service, not the file); Lambda then retries the event.
func (im *Importer) HandleS3(ctx context.Context, ev events.S3Event) error {
	var errs []error
	for _, rec := range ev.Records {
		if err := im.handle(ctx, rec); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// isCSV reports whether key names a CSV file. The bucket's notification cannot match a suffix
// case-insensitively, so it sends every object under directory/ and this decides.
func isCSV(key string) bool { return strings.HasSuffix(strings.ToLower(key), ".csv") }

func (im *Importer) handle(ctx context.Context, rec events.S3EventRecord) error {
	bucket, obj := rec.S3.Bucket.Name, rec.S3.Object
	key := obj.URLDecodedKey
	log := im.Log.With("bucket", bucket, "key", key, "version_id", obj.VersionID)
	switch {
	case !strings.HasPrefix(rec.EventName, "ObjectCreated:"):
		log.Info("ignored event", "event", rec.EventName)
		return nil
	case bucket != im.Bucket:
		log.Warn("ignored event from another bucket")
		return nil
	case !strings.HasPrefix(key, "directory/") || strings.HasSuffix(key, "/"):
		log.Info("ignored object outside directory/ (or a folder marker)")
		return nil
	}

	now := im.Now().UTC()
	rep := imports.Report{
		ID:         imports.ID(bucket, key, obj.VersionID, obj.ETag),
		Kind:       "directory",
		Bucket:     bucket,
		Key:        key,
		VersionID:  obj.VersionID,
		ETag:       obj.ETag,
		Size:       obj.Size,
		Status:     imports.Processing,
		UploadedAt: rec.EventTime.UTC(),
		ReceivedAt: now,
		Problems:   []directory.Problem{},
		ReportKey:  imports.ReportKey(key),
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		rep.RequestID = lc.AwsRequestID
	}
	log = log.With("import", rep.ID)
	existing, proceed, err := im.Store.BeginImport(ctx, rep, now.Add(Lease), now)
	if err != nil {
		return err
	}
	if !proceed {
		switch {
		case existing.Status.Done() && existing.Status != imports.Rejected && existing.RequestID == rep.RequestID && rep.RequestID != "":
			// Lambda's retry of this very invocation, which recorded the outcome and then failed
			// to write the report: write it now (published and superseded reports have no
			// problems, so the record holds all of it; rejected reports are written first).
			log.Info("writing the report of a finished import", "status", existing.Status)
			return im.putReport(ctx, existing)
		case existing.Status.Done():
			log.Info("import already handled", "status", existing.Status)
			return nil
		default:
			// Another invocation holds the import (a duplicate delivery). Fail, so that Lambda
			// retries this event later: by then the import is finished (nothing to do) or its
			// lease has run out (this event takes it over).
			return fmt.Errorf("import %s is being handled by request %s; retry later", rep.ID, existing.RequestID)
		}
	}

	orgs, problems, err := im.read(ctx, bucket, key, obj)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		rep.Status = imports.Rejected
		rep.Problems = problems
		rep.ProblemCount = len(problems)
		// The full report goes to the bucket before the record is marked finished: if writing
		// it fails, the retry finds the import unfinished and does it again.
		if err := im.finish(ctx, rep); err != nil {
			return err
		}
		log.Info("import rejected", "problems", len(problems))
		return nil
	}

	version := rep.ID
	if err := im.Store.WriteDirectoryVersion(ctx, version, orgs, now); err != nil {
		return err
	}
	prev, _, err := im.Store.LiveDirectory(ctx)
	if err != nil {
		return err
	}
	rep.Organisations = len(orgs)
	rep.DirectoryVersion = version
	rep.Status = imports.Published
	finished := im.Now().UTC()
	rep.FinishedAt = &finished
	p := directory.Published{
		Version:     version,
		Count:       len(orgs),
		PublishedAt: finished,
		SourceKey:   key,
		UploadedAt:  rep.UploadedAt,
	}
	published, err := im.Store.PublishDirectory(ctx, p, rep)
	if err != nil {
		return err
	}
	if !published {
		rep.Status = imports.Superseded
		if err := im.Store.FinishImport(ctx, rep); err != nil {
			return err
		}
		log.Info("import valid but superseded by a later upload", "organisations", len(orgs))
	} else {
		log.Info("directory published", "organisations", len(orgs), "version", version)
		// Versions written within the lease may belong to imports still running: keep them.
		if err := im.Store.PruneDirectoryVersions(ctx, version, prev.Version, now.Add(-Lease)); err != nil {
			// Not worth a retry: the next publish prunes again.
			log.Warn("prune old directory versions", "err", err.Error())
		}
	}
	return im.putReport(ctx, rep)
}

// read opens and parses the upload. Problems with the file are returned as problems; err is
// for failures worth retrying.
func (im *Importer) read(ctx context.Context, bucket, key string, obj events.S3Object) ([]directory.Organisation, []directory.Problem, error) {
	if !isCSV(key) {
		return nil, []directory.Problem{{Message: "the directory is published from a CSV file: in Excel, use Save As → CSV UTF-8 (.csv), and upload that file"}}, nil
	}
	if obj.Size > directory.MaxUploadBytes {
		return nil, []directory.Problem{tooLarge(obj.Size)}, nil
	}
	body, err := im.Objects.Open(ctx, bucket, key, obj.VersionID, directory.MaxUploadBytes)
	if err != nil {
		return nil, nil, err
	}
	defer body.Close()
	orgs, problems, err := directory.ParseCSV(body)
	if errors.Is(err, objects.ErrTooLarge) {
		// Larger than the event said (ParseCSV stops at the limit itself; this is the backstop).
		return nil, []directory.Problem{{Message: fmt.Sprintf("the file is larger than the %d MB limit", directory.MaxUploadBytes>>20)}}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	return orgs, problems, nil
}

func tooLarge(size int64) directory.Problem {
	return directory.Problem{Message: fmt.Sprintf("the file is %.1f MB; the limit is %d MB", float64(size)/(1<<20), directory.MaxUploadBytes>>20)}
}

// finish writes the report to the bucket, then records the import's final state.
func (im *Importer) finish(ctx context.Context, rep imports.Report) error {
	finished := im.Now().UTC()
	rep.FinishedAt = &finished
	if err := im.putReport(ctx, rep); err != nil {
		return err
	}
	return im.Store.FinishImport(ctx, rep)
}

func (im *Importer) putReport(ctx context.Context, rep imports.Report) error {
	body, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return im.Objects.PutJSON(ctx, rep.Bucket, rep.ReportKey, body)
}
