package directory

import "time"

// Published describes the directory version readers currently see. Publishing a new upload
// writes a complete new version beside the old one and then switches this pointer in one
// conditional write, so a reader sees the old directory or the new one, never a mix.
type Published struct {
	Version     string    `json:"version"`
	Count       int       `json:"count"`
	PublishedAt time.Time `json:"published_at"`
	// SourceKey is the uploaded object the version came from.
	SourceKey string `json:"source_key"`
	// UploadedAt is when the source object was written (the S3 event time). A version only
	// replaces one uploaded earlier, so events delivered out of order cannot roll back.
	UploadedAt time.Time `json:"uploaded_at"`
}
