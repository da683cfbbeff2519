// Package imports describes the record kept of every staff upload: what was received, what
// validation found, and whether it was published. The same report is stored in DynamoDB
// (listed by GET /staff/imports) and written to the uploads bucket beside the upload.
package imports

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"sectorhub/shared/directory"
)

// Status is where an import stands.
type Status string

// Statuses of an import.
const (
	// Processing: received and being validated or published (or interrupted; a retry resumes it).
	Processing Status = "processing"
	// Published: valid and now the live directory.
	Published Status = "published"
	// Rejected: invalid; nothing was published and Problems says why.
	Rejected Status = "rejected"
	// Superseded: valid, but a file uploaded later was already published, so this one was not.
	Superseded Status = "superseded"
)

// Done reports whether an import in status s needs no more work.
func (s Status) Done() bool { return s == Published || s == Rejected || s == Superseded }

// StoredProblems is how many problems the DynamoDB record keeps (an item is limited to
// 400 KB); the report in the bucket lists all of them (up to directory.MaxProblems).
const StoredProblems = 100

// Report is the record of one upload.
type Report struct {
	ID               string              `json:"id"`
	Kind             string              `json:"kind"`
	Bucket           string              `json:"bucket"`
	Key              string              `json:"key"`
	VersionID        string              `json:"version_id,omitempty"`
	ETag             string              `json:"etag,omitempty"`
	Size             int64               `json:"size"`
	Status           Status              `json:"status"`
	UploadedAt       time.Time           `json:"uploaded_at"`
	ReceivedAt       time.Time           `json:"received_at"`
	FinishedAt       *time.Time          `json:"finished_at,omitempty"`
	Organisations    int                 `json:"organisations"`
	ProblemCount     int                 `json:"problem_count"`
	Problems         []directory.Problem `json:"problems"`
	ReportKey        string              `json:"report_key"`
	DirectoryVersion string              `json:"directory_version,omitempty"`
	// RequestID is the Lambda request that handled the upload, to find its logs.
	RequestID string `json:"request_id,omitempty"`
}

// ID derives an import's identifier from the object it is about, so that a re-delivered S3
// event (same bucket, key and object version) maps to the same import.
func ID(bucket, key, versionID, etag string) string {
	sum := sha256.Sum256([]byte(bucket + "\x00" + key + "\x00" + versionID + "\x00" + etag))
	return hex.EncodeToString(sum[:10])
}

// ReportKey is where the report of an upload is written in the bucket.
func ReportKey(key string) string { return "reports/" + key + ".json" }
