package bulletiningest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/bulletin/issuefile"
	"sectorhub/shared/imports"
	"sectorhub/shared/ingest"
)

// IssuesPrefix is where issues go in the uploads bucket.
const IssuesPrefix = "bulletins/"

// IssueStore stores issues (package dynamo's Store; see bulletinsend.IssueStore for the
// contract).
type IssueStore interface {
	// IssueByID returns the issue with id and its dispatch.
	IssueByID(ctx context.Context, id string) (bulletin.StoredIssue, bool, error)
	// PutIssue stores iss as uploaded at, recording rep with it in the same transaction,
	// unless something uploaded later is stored for its ID (false); bulletin.ErrIssueStarted
	// when its dispatch has begun; imports.ErrLeaseLost if rep's import is no longer its
	// request's.
	PutIssue(ctx context.Context, iss bulletin.Issue, key string, at time.Time, rep imports.Report) (stored bool, err error)
}

// Issues is the bulletin issues' ingest.Kind.
type Issues struct {
	Store IssueStore
	Now   func() time.Time
}

var _ ingest.Kind[bulletin.Issue] = Issues{}

// Name implements ingest.Kind.
func (Issues) Name() string { return "bulletin" }

// Prefix implements ingest.Kind.
func (Issues) Prefix() string { return IssuesPrefix }

// MaxBytes implements ingest.Kind.
func (Issues) MaxBytes() int64 { return bulletin.MaxIssueBytes }

// Check implements ingest.Kind: the key must be bulletins/<yyyy-mm-dd>.md, named by a date
// that exists: the issue's ID, and the day it is sent by default.
func (Issues) Check(u ingest.Upload) []imports.Problem {
	if _, ok := bulletin.IssueID(u.Key); ok {
		return nil
	}
	name := strings.TrimPrefix(u.Key, IssuesPrefix)
	msg := fmt.Sprintf("an issue is uploaded as %sYYYY-MM-DD.md, named by the date it is for, such as %s2026-12-01.md; %q is not", IssuesPrefix, IssuesPrefix, name)
	switch ext := path.Ext(name); {
	case strings.Contains(name, "/"):
		msg = fmt.Sprintf("issues go directly under %s, not in a folder: upload %q as %s%s", IssuesPrefix, name, IssuesPrefix, path.Base(name))
	case ext != ".md" && strings.EqualFold(ext, ".md"):
		msg = fmt.Sprintf("the file name must end in .md in lower case: upload it as %s%s.md", IssuesPrefix, strings.TrimSuffix(name, ext))
	}
	return []imports.Problem{{Message: msg}}
}

// Parse implements ingest.Kind: the file must be a valid issue (issuefile.ParseIssue), and its
// date's issue must not have begun to be sent.
func (k Issues) Parse(ctx context.Context, u ingest.Upload, body io.Reader) (ingest.Parsed[bulletin.Issue], error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return ingest.Parsed[bulletin.Issue]{}, err
	}
	r := issuefile.ParseIssue(u.Key, data, k.Now().UTC())
	if len(r.Problems) == 0 {
		stored, ok, err := k.Store.IssueByID(ctx, r.Issue.ID)
		if err != nil {
			return ingest.Parsed[bulletin.Issue]{}, err
		}
		if ok && stored.Dispatch.State != bulletin.NotStarted {
			r.Problems = []imports.Problem{started(stored)}
		}
	}
	return ingest.Parsed[bulletin.Issue]{Content: r.Issue, Items: 1, Problems: r.Problems}, nil
}

// started is the problem of an upload for an issue whose dispatch has begun.
func started(iss bulletin.StoredIssue) imports.Problem {
	msg := fmt.Sprintf("the issue of %s is being sent or was sent, so it can no longer be changed", iss.ID)
	if !iss.Dispatch.StartedAt.IsZero() {
		msg = fmt.Sprintf("the issue of %s began to be sent at %s, so it can no longer be changed", iss.ID, iss.Dispatch.StartedAt.UTC().Format(time.RFC3339))
	}
	return imports.Problem{Message: msg + "; to send a correction, upload it as the issue of another date"}
}

// Publish implements ingest.Kind: the issue replaces its date's earlier upload and records
// the import in the same transaction; an upload older than the one stored is superseded. If
// the dispatch began after Parse looked, the import ends rejected with that problem.
func (k Issues) Publish(ctx context.Context, u ingest.Upload, iss bulletin.Issue, rep imports.Report) (imports.Report, bool, error) {
	stored, err := k.Store.PutIssue(ctx, iss, u.Key, u.At, rep)
	switch {
	case errors.Is(err, bulletin.ErrIssueStarted):
		now, p := k.Now().UTC(), started(bulletin.StoredIssue{Issue: iss})
		if s, ok, err := k.Store.IssueByID(ctx, iss.ID); err == nil && ok {
			p = started(s)
		}
		rep.Status, rep.FinishedAt, rep.Items = imports.Rejected, &now, 0
		rep.Problems, rep.ProblemCount = []imports.Problem{p}, 1
		return rep, false, nil
	case err != nil:
		return rep, false, err
	case !stored:
		rep.Status = imports.Superseded
		return rep, false, nil
	}
	return rep, true, nil
}
