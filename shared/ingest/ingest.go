// Package ingest is the lifecycle every staff upload goes through, whatever its kind: an S3
// event for an object in the uploads bucket is claimed (once per object version, under a
// lease), the object is validated as a whole by its kind, published only if every part of it is
// valid (all or nothing), and reported: to reports/<key>.json in the bucket and to the import
// record that GET /staff/imports lists.
//
// The lifecycle knows nothing of any kind of content. Each kind (the directory's CSV, case
// studies' Markdown, ...) brings a Kind: its parser and its publisher. Each kind has its own
// function and S3 trigger in template.yaml, filtered to its prefix of the bucket, so adding a
// kind edits nothing here.
//
// S3 may deliver an event twice and Lambda retries failed asynchronous invocations, so
// handling is idempotent: an import is keyed by the object version it reads (imports.ID), a
// finished import is never redone, and a retry of an interrupted one (Lambda keeps the request
// ID when it retries) resumes it.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"sectorhub/shared/imports"
	"sectorhub/shared/objects"
)

// Lease is how long an import is claimed by the invocation working on it before another may
// take it over: longer than any ingest function's timeout in template.yaml.
const Lease = 6 * time.Minute

// Objects reads uploads and writes reports.
type Objects interface {
	// Open returns one version of an object, failing reads past max bytes with
	// objects.ErrTooLarge, and failing with objects.ErrNotFound when the version does not exist.
	Open(ctx context.Context, bucket, key, versionID string, max int64) (io.ReadCloser, error)
	PutJSON(ctx context.Context, bucket, key string, body []byte) error
}

// Store keeps the import records. Both methods are conditional writes.
type Store interface {
	// BeginImport claims an import for rep.RequestID until leaseUntil: it succeeds (proceed)
	// when there is no record, or the record is still processing and either held by the same
	// request or its lease has run out, and returns the record as claimed (a retry keeps the
	// first claim's ReceivedAt). Otherwise it returns the record that stopped it.
	BeginImport(ctx context.Context, rep imports.Report, leaseUntil, now time.Time) (existing imports.Report, proceed bool, err error)
	// FinishImport records the outcome, only if the import is processing and held by
	// rep.RequestID; otherwise it fails with imports.ErrLeaseLost.
	FinishImport(ctx context.Context, rep imports.Report) error
}

// Upload is the object an event is about.
type Upload struct {
	Bucket    string
	Key       string
	VersionID string
	ETag      string
	Size      int64
	// At is when S3 received the write or the removal (the event time): kinds compare it to
	// decide which of two uploads of the same content is the later one.
	At time.Time
}

// Parsed is what a kind found in an upload.
type Parsed[T any] struct {
	Content  T                 // what to publish; used only when Problems is empty
	Items    int               // how many items the content holds
	Problems []imports.Problem // every problem, in file order, up to imports.MaxProblems listed
	// ProblemTotal counts every problem found, listed or not (0 means len(Problems)).
	ProblemTotal int
}

// Kind is one kind of content uploaded under its own prefix of the bucket.
type Kind[T any] interface {
	// Name is the kind in reports and in GET /staff/imports?kind= ("directory").
	Name() string
	// Prefix is the kind's folder of the bucket ("directory/"). Its S3 trigger in the template
	// filters on it; the Importer also ignores keys outside it.
	Prefix() string
	// MaxBytes is the largest upload the kind reads; a larger one is rejected unread.
	MaxBytes() int64
	// Check refuses an upload by its key before it is read (the wrong kind of file, a name
	// that is not allowed), returning the problems; nil means read it.
	Check(u Upload) []imports.Problem
	// Parse reads and validates a whole upload. Problems reject it; err is for failures worth
	// retrying (the service, not the file).
	Parse(ctx context.Context, u Upload, body io.Reader) (Parsed[T], error)
	// Publish makes valid content live. rep is the import's record as it stands once published
	// (status Published, Items set); Publish may set Version and must return the record as it
	// ends: Published, or Superseded when a later upload of the same content is already live.
	// When recorded is true, Publish has written the record itself, in the same transaction
	// as its switch (see dynamo.Store.FinishImportPut); otherwise the lifecycle records it.
	// Publishing the same upload again (a retry) must be harmless.
	Publish(ctx context.Context, u Upload, content T, rep imports.Report) (done imports.Report, recorded bool, err error)
}

// RemovalEvent is the S3 event that unpublishes a Remover's content: a delete marker made by
// deleting the file from the (versioned) bucket. A Remover's trigger in template.yaml lists
// s3:ObjectRemoved:DeleteMarkerCreated; any other ObjectRemoved event is ignored.
const RemovalEvent = "ObjectRemoved:DeleteMarkerCreated"

// Remover is a Kind whose content is unpublished by deleting its object (RemovalEvent).
type Remover interface {
	// Remove unpublishes what u's key published, unless something uploaded after u.At is
	// live. rep is the record as it stands once removed (status Removed, finished); Remove
	// returns it as it ends (Removed, or Superseded) and whether it recorded it itself, as
	// Publish does.
	Remove(ctx context.Context, u Upload, rep imports.Report) (done imports.Report, recorded bool, err error)
}

// Importer handles the S3 events of one kind of content.
type Importer[T any] struct {
	Bucket  string // the uploads bucket; events from any other bucket are ignored
	Kind    Kind[T]
	Objects Objects
	Store   Store
	Log     *slog.Logger
	Now     func() time.Time
}

// HandleS3 is the Lambda handler for the kind's S3 events. It returns an error only for
// failures worth retrying (the service, not the file); Lambda then retries the event.
func (im *Importer[T]) HandleS3(ctx context.Context, ev events.S3Event) error {
	var errs []error
	for _, rec := range ev.Records {
		if err := im.handle(ctx, rec); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (im *Importer[T]) handle(ctx context.Context, rec events.S3EventRecord) error {
	bucket, obj := rec.S3.Bucket.Name, rec.S3.Object
	key := obj.URLDecodedKey
	log := im.Log.With("kind", im.Kind.Name(), "bucket", bucket, "key", key, "version_id", obj.VersionID)
	// In the versioned uploads bucket, deleting a file makes a delete marker. Other removals
	// (a version deleted for good, a delete marker deleted, which restores the file) leave the
	// file's current version where it was, so they unpublish nothing.
	removed := rec.EventName == RemovalEvent
	_, canRemove := im.Kind.(Remover)
	switch {
	case !strings.HasPrefix(rec.EventName, "ObjectCreated:") && !removed, removed && !canRemove:
		log.Info("ignored event", "event", rec.EventName)
		return nil
	case bucket != im.Bucket:
		log.Warn("ignored event from another bucket")
		return nil
	case !strings.HasPrefix(key, im.Kind.Prefix()) || strings.HasSuffix(key, "/"):
		log.Info("ignored object outside " + im.Kind.Prefix() + " (or a folder marker)")
		return nil
	}

	u := Upload{Bucket: bucket, Key: key, VersionID: obj.VersionID, ETag: obj.ETag, Size: obj.Size, At: rec.EventTime.UTC()}
	now := im.Now().UTC()
	rep := imports.Report{
		Record: imports.Record{
			ID:         imports.ID(bucket, key, obj.VersionID, obj.ETag, removed),
			Kind:       im.Kind.Name(),
			Bucket:     bucket,
			Key:        key,
			VersionID:  obj.VersionID,
			ETag:       obj.ETag,
			Size:       obj.Size,
			Status:     imports.Processing,
			UploadedAt: u.At,
			ReceivedAt: now,
			ReportKey:  imports.ReportKey(key),
		},
		Problems: []imports.Problem{},
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		rep.RequestID = lc.AwsRequestID
	}
	log = log.With("import", rep.ID)
	existing, proceed, err := im.Store.BeginImport(ctx, rep, now.Add(Lease), now)
	if err != nil {
		return err
	}
	if proceed {
		// A retry keeps the import's first received_at (its place in the imports list).
		rep.ReceivedAt = existing.ReceivedAt
	} else {
		switch {
		case existing.Status.Done() && existing.RequestID == rep.RequestID && rep.RequestID != "":
			// Lambda's retry of this very invocation, which recorded the outcome and then failed
			// to write the report: write it now. The record holds all of it when there are no
			// problems; reports with problems are written before the outcome is recorded.
			if existing.ProblemCount > 0 {
				log.Info("report of a finished import already written", "status", existing.Status)
				return nil
			}
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

	var (
		done     imports.Report
		recorded bool
	)
	if removed {
		rep = im.finished(rep, imports.Removed, nil, 0)
		done, recorded, err = im.Kind.(Remover).Remove(ctx, u, rep)
	} else {
		done, recorded, err = im.create(ctx, u, rep)
	}
	if errors.Is(err, imports.ErrLeaseLost) {
		log.Warn("import taken over by another request; leaving it to that one")
		return nil
	}
	if err != nil {
		return err
	}
	if len(done.Problems) > 0 {
		// The full report goes to the bucket before the record is marked finished: if writing
		// it fails, the retry finds the import unfinished and does it again.
		if err := im.putReport(ctx, done); err != nil {
			return err
		}
	}
	if !recorded {
		if err := im.Store.FinishImport(ctx, done); err != nil {
			if errors.Is(err, imports.ErrLeaseLost) {
				log.Warn("import taken over by another request; leaving it to that one")
				return nil
			}
			return err
		}
	}
	log.Info("import "+string(done.Status), "items", done.Items, "problems", done.ProblemCount, "version", done.Version)
	if len(done.Problems) > 0 {
		return nil
	}
	return im.putReport(ctx, done)
}

// create reads, validates and (if valid) publishes an upload, returning its final record.
// Problems with the file are problems in the record; err is for failures worth retrying.
func (im *Importer[T]) create(ctx context.Context, u Upload, rep imports.Report) (imports.Report, bool, error) {
	if problems := im.Kind.Check(u); len(problems) > 0 {
		return im.finished(rep, imports.Rejected, problems, 0), false, nil
	}
	if max := im.Kind.MaxBytes(); u.Size > max {
		return im.finished(rep, imports.Rejected, []imports.Problem{TooLarge(u.Size, max)}, 0), false, nil
	}
	body, err := im.Objects.Open(ctx, u.Bucket, u.Key, u.VersionID, im.Kind.MaxBytes())
	if errors.Is(err, objects.ErrNotFound) {
		return im.finished(rep, imports.Failed, []imports.Problem{{Message: gone(u)}}, 0), false, nil
	}
	if err != nil {
		return rep, false, err
	}
	defer body.Close()
	parsed, err := im.Kind.Parse(ctx, u, body)
	switch {
	case errors.Is(err, objects.ErrTooLarge):
		// Larger than the event said (kinds stop at the limit themselves; this is the backstop).
		return im.finished(rep, imports.Rejected, []imports.Problem{TooLarge(-1, im.Kind.MaxBytes())}, 0), false, nil
	case errors.Is(err, objects.ErrNotFound):
		return im.finished(rep, imports.Failed, []imports.Problem{{Message: gone(u)}}, 0), false, nil
	case err != nil:
		return rep, false, fmt.Errorf("read s3://%s/%s: %w", u.Bucket, u.Key, err)
	case len(parsed.Problems) > 0:
		return im.finished(rep, imports.Rejected, parsed.Problems, parsed.ProblemTotal), false, nil
	}
	rep.Items = parsed.Items
	rep = im.finished(rep, imports.Published, nil, 0)
	return im.Kind.Publish(ctx, u, parsed.Content, rep)
}

// finished returns rep ended in status with problems (counting total of them, or all listed).
func (im *Importer[T]) finished(rep imports.Report, status imports.Status, problems []imports.Problem, total int) imports.Report {
	at := im.Now().UTC()
	rep.FinishedAt = &at
	rep.Status = status
	if problems == nil {
		problems = []imports.Problem{}
	}
	rep.Problems = problems
	rep.ProblemCount = max(total, len(problems))
	return rep
}

// gone explains an upload whose object disappeared before it could be read.
func gone(u Upload) string {
	return fmt.Sprintf("the uploaded file (version %q) no longer exists: it was deleted, or replaced in a bucket without versioning, before it could be read; upload it again", u.VersionID)
}

// TooLarge is the problem of a file over the limit of max bytes; size is the file's size, or
// negative when only "larger than the limit" is known.
func TooLarge(size, max int64) imports.Problem {
	limit := megabytes(max)
	if size < 0 {
		return imports.Problem{Message: fmt.Sprintf("the file is larger than the %s limit", limit)}
	}
	return imports.Problem{Message: fmt.Sprintf("the file is %s (%d bytes); the limit is %s (%d bytes)", megabytes(size), size, limit, max)}
}

// megabytes formats n bytes in MB (2^20 bytes) with as many decimals as it takes to tell it
// from the whole number of MB below it: a file one byte over 10 MB is not "10.0 MB".
func megabytes(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	mb, whole := float64(n)/(1<<20), float64(n>>20)
	for prec := 1; prec < 6; prec++ {
		s := strconv.FormatFloat(mb, 'f', prec, 64)
		if v, err := strconv.ParseFloat(s, 64); err == nil && v > whole {
			return s + " MB"
		}
	}
	return strconv.FormatFloat(mb, 'f', 6, 64) + " MB"
}

func (im *Importer[T]) putReport(ctx context.Context, rep imports.Report) error {
	body, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return im.Objects.PutJSON(ctx, rep.Bucket, rep.ReportKey, body)
}
