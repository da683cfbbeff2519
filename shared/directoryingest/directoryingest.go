// Package directoryingest is the directory's kind of upload: a CSV of the complete directory
// under directory/ in the uploads bucket (see package directory for the format). A valid file
// is written as a new version beside the live one and published by switching the directory's
// pointer, in one transaction with its import record; an invalid one publishes nothing. The
// upload lifecycle around it (claims, reports, retries) is package ingest's.
package directoryingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"sectorhub/shared/directory"
	"sectorhub/shared/imports"
	"sectorhub/shared/ingest"
)

// Prefix is where directory uploads go in the uploads bucket.
const Prefix = "directory/"

// Store writes and publishes directory versions.
type Store interface {
	LiveDirectory(ctx context.Context) (directory.Published, bool, error)
	WriteDirectoryVersion(ctx context.Context, version string, orgs []directory.Organisation, now time.Time) error
	// PublishDirectory switches the live directory to p and records rep with it, unless a later
	// upload is live (false); imports.ErrLeaseLost if rep's import is no longer its request's.
	PublishDirectory(ctx context.Context, p directory.Published, rep imports.Report) (bool, error)
	PruneDirectoryVersions(ctx context.Context, live, previous string, writtenBefore time.Time) error
}

// Kind is the directory's ingest.Kind.
type Kind struct {
	Store Store
	Log   *slog.Logger
	Now   func() time.Time
}

var _ ingest.Kind[[]directory.Organisation] = Kind{}

// Name implements ingest.Kind.
func (Kind) Name() string { return "directory" }

// Prefix implements ingest.Kind.
func (Kind) Prefix() string { return Prefix }

// MaxBytes implements ingest.Kind.
func (Kind) MaxBytes() int64 { return directory.MaxUploadBytes }

// Check implements ingest.Kind: the directory is published from a CSV file. The bucket's
// notification cannot match a suffix case-insensitively (ORGS.CSV), so it sends every object
// under directory/ and this decides, with a report for anything else.
func (Kind) Check(u ingest.Upload) []imports.Problem {
	if strings.HasSuffix(strings.ToLower(u.Key), ".csv") {
		return nil
	}
	return []imports.Problem{{Message: "the directory is published from a CSV file: in Excel, use Save As → CSV UTF-8 (.csv), and upload that file"}}
}

// Parse implements ingest.Kind.
func (Kind) Parse(ctx context.Context, u ingest.Upload, body io.Reader) (ingest.Parsed[[]directory.Organisation], error) {
	res, err := directory.ReadCSV(body)
	if err != nil {
		return ingest.Parsed[[]directory.Organisation]{}, err
	}
	problems := make([]imports.Problem, len(res.Problems))
	for i, p := range res.Problems {
		problems[i] = imports.Problem{Line: p.Line, Column: p.Column, Message: p.Message}
	}
	return ingest.Parsed[[]directory.Organisation]{
		Content:      res.Organisations,
		Items:        len(res.Organisations),
		Problems:     problems,
		ProblemTotal: res.ProblemTotal,
	}, nil
}

// Publish implements ingest.Kind. The version is named after the import, so a retry rewrites
// the same items; the pointer switch records the import in the same transaction.
func (k Kind) Publish(ctx context.Context, u ingest.Upload, orgs []directory.Organisation, rep imports.Report) (imports.Report, bool, error) {
	version := rep.ID
	// The version's write time (not the import's first receipt, which a retry keeps) is what
	// pruning compares with the lease, so that a version being written now is never pruned.
	writing := k.Now().UTC()
	if err := k.Store.WriteDirectoryVersion(ctx, version, orgs, writing); err != nil {
		return rep, false, err
	}
	prev, _, err := k.Store.LiveDirectory(ctx)
	if err != nil {
		return rep, false, err
	}
	rep.Version = version
	p := directory.Published{
		Version:     version,
		Count:       len(orgs),
		PublishedAt: k.Now().UTC(),
		SourceKey:   u.Key,
		UploadedAt:  u.At,
	}
	published, err := k.Store.PublishDirectory(ctx, p, rep)
	if err != nil {
		return rep, false, err
	}
	if !published {
		rep.Status = imports.Superseded
		rep.Version = "" // never live
		return rep, false, nil
	}
	// Versions written within the lease may belong to imports still running: keep them.
	if err := k.Store.PruneDirectoryVersions(ctx, version, prev.Version, writing.Add(-ingest.Lease)); err != nil {
		// Not worth a retry: the next publish prunes again.
		k.Log.Warn("prune old directory versions", "err", fmt.Sprint(err))
	}
	return rep, true, nil
}
