// Package imports describes the record kept of every staff upload, whatever its kind: what was
// received, what validation found, and whether it was published. The same report is stored in
// DynamoDB (listed by GET /staff/imports) and written to the uploads bucket beside the upload.
// It knows nothing of any kind of content: each kind counts its items and names its version.
package imports

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
	"unicode/utf8"
)

// Status is where an import stands.
type Status string

// Statuses of an import.
const (
	// Processing: received and being validated or published (or interrupted; a retry resumes it).
	Processing Status = "processing"
	// Published: valid and now live.
	Published Status = "published"
	// Rejected: invalid; nothing was published and Problems says why.
	Rejected Status = "rejected"
	// Superseded: valid, but a later upload (or removal) of the same content was already live,
	// so this one changed nothing.
	Superseded Status = "superseded"
	// Removed: the object was deleted from the bucket and its content unpublished.
	Removed Status = "removed"
	// Failed: the upload could not be read for a reason a retry cannot cure (the object was
	// deleted or replaced before it was read); Problems says what to do.
	Failed Status = "failed"
)

// Statuses lists every status, for validating filters.
var Statuses = []Status{Processing, Published, Rejected, Superseded, Removed, Failed}

// Done reports whether an import in status s needs no more work.
func (s Status) Done() bool { return s != Processing }

// ErrLeaseLost is returned by a store asked to record an import's outcome when the import is no
// longer held by the request recording it (its lease ran out and another request took it over,
// or it is already finished). Nothing was written.
var ErrLeaseLost = errors.New("the import is no longer held by this request")

// StoredProblems is how many problems the DynamoDB record keeps (an item is limited to
// 400 KB); the report in the bucket lists all a kind lists (up to MaxProblems).
const StoredProblems = 100

// MaxProblems is the most problems a kind lists in a report; ProblemCount counts them all.
const MaxProblems = 1000

// Problem is one thing wrong with an upload, reported to the member of staff who uploaded it.
// Line is the file's line (1-based), or 0 for a problem with the whole file. Column names a
// column of a table (CSV); Field names a field of a document (front matter). Either or
// neither is set.
type Problem struct {
	Line    int    `json:"line"`
	Column  string `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Record is an import as the staff imports list shows it: everything but the problems, which
// only ImportByID (and the report in the bucket) carries.
type Record struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Bucket     string     `json:"bucket"`
	Key        string     `json:"key"`
	VersionID  string     `json:"version_id,omitempty"`
	ETag       string     `json:"etag,omitempty"`
	Size       int64      `json:"size"`
	Status     Status     `json:"status"`
	UploadedAt time.Time  `json:"uploaded_at"`
	ReceivedAt time.Time  `json:"received_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Items is how many items (organisations, case studies, subscribers...) the upload holds
	// when it is valid; Version names what was published, when the kind versions its content.
	Items   int    `json:"items"`
	Version string `json:"version,omitempty"`
	// Counts says what publishing did with the items, by outcome, when the kind reports it
	// (a subscriber list: added, confirmed, already_subscribed, suppressed). The staff
	// imports list leaves it out (its index does not hold it); ImportByID and the report in
	// the bucket carry it.
	Counts       map[string]int `json:"counts,omitempty"`
	ProblemCount int            `json:"problem_count"`
	ReportKey    string         `json:"report_key"`
	// RequestID is the Lambda request that handled the upload, to find its logs.
	RequestID string `json:"request_id,omitempty"`
}

// Filter narrows the imports list; empty fields match everything.
type Filter struct {
	Kind   string
	Status Status
}

// Report is the record of one upload with its problems: the report written to the bucket and
// returned by GET /staff/imports/{id}. Problems is never nil.
type Report struct {
	Record
	// LeaseUntil is when a processing import's claim by RequestID runs out and another
	// delivery of its event may take it over.
	LeaseUntil *time.Time `json:"lease_until,omitempty"`
	Problems   []Problem  `json:"problems"`
}

// ID derives an import's identifier from the event it is about, so that a re-delivered S3
// event (same bucket, key and object version) maps to the same import. removed tells a
// removal from a creation.
func ID(bucket, key, versionID, etag string, removed bool) string {
	in := bucket + "\x00" + key + "\x00" + versionID + "\x00" + etag
	if removed { // creations keep the IDs they had before removals existed
		in += "\x00removed"
	}
	sum := sha256.Sum256([]byte(in))
	return hex.EncodeToString(sum[:10])
}

// ReportKey is where the report of an upload is written in the bucket.
func ReportKey(key string) string { return "reports/" + key + ".json" }

// InvalidUTF8Line returns the line (from 1) of the first byte of an upload that is not valid
// UTF-8, for its problem; 0 when the whole upload is valid. (Here, with the reports, rather
// than with the front-matter reader, so that parsers of plain text do not link YAML.)
func InvalidUTF8Line(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return 1 + bytes.Count(data[:i], []byte("\n"))
		}
		i += size
	}
	return 0
}
