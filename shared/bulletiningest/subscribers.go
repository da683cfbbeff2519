// Package bulletiningest is the Light Lunch bulletin's two kinds of upload, each a kind of
// package ingest (which claims, reports and retries them):
//
//   - Subscribers: a subscriber list, subscribers/<name>.csv (see bulletin.ParseSubscribers
//     for the format), validated all or nothing; every row of a valid file becomes a
//     confirmed subscriber with the consent it records, except addresses that unsubscribed,
//     bounced or complained, which an import never resubscribes. The import's Counts say
//     what became of the rows.
//   - Issues: one week's issue, bulletins/<yyyy-mm-dd>.md (see issuefile.ParseIssue), stored
//     for the dispatch with its import record in one transaction, replacing the date's
//     earlier upload until its dispatch begins; after that the issue can no longer change.
//
// BulletinIngestFunction handles both: Router sends each S3 record to the kind of its prefix.
package bulletiningest

import (
	"context"
	"io"
	"strings"
	"time"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/imports"
	"sectorhub/shared/ingest"
)

// SubscribersPrefix is where subscriber lists go in the uploads bucket.
const SubscribersPrefix = "subscribers/"

// SubscriberStore imports subscribers (package dynamo's Store; see
// bulletinapi.SubscriberStore for the contract).
type SubscriberStore interface {
	// ImportSubscribers makes every row a Subscribed subscriber with the consent
	// {row.ConsentedAt, SourceImportPrefix+key, row.ConsentSource}, except addresses that
	// are suppressed or subscribed already (counted, unchanged). Running it again with the
	// same rows changes nothing more.
	ImportSubscribers(ctx context.Context, key string, rows []bulletin.ImportRow, now time.Time) (bulletin.ImportCounts, error)
}

// Subscribers is the subscriber lists' ingest.Kind.
type Subscribers struct {
	Store SubscriberStore
	Now   func() time.Time
}

var _ ingest.Kind[[]bulletin.ImportRow] = Subscribers{}

// Name implements ingest.Kind.
func (Subscribers) Name() string { return "subscribers" }

// Prefix implements ingest.Kind.
func (Subscribers) Prefix() string { return SubscribersPrefix }

// MaxBytes implements ingest.Kind.
func (Subscribers) MaxBytes() int64 { return bulletin.MaxSubscribersBytes }

// Check implements ingest.Kind: a subscriber list is a CSV file. The bucket's notification
// cannot match a suffix case-insensitively (LIST.CSV), so it sends every object under
// subscribers/ and this decides, with a report for anything else.
func (Subscribers) Check(u ingest.Upload) []imports.Problem {
	if strings.HasSuffix(strings.ToLower(u.Key), ".csv") {
		return nil
	}
	return []imports.Problem{{Message: "a subscriber list is a CSV file with the columns email, name, organisation, consented_at and consent_source: in Excel, use Save As → CSV UTF-8 (.csv), and upload that file"}}
}

// Parse implements ingest.Kind: the whole file is checked (bulletin.ParseSubscribers); no
// problem quotes a cell.
func (k Subscribers) Parse(ctx context.Context, u ingest.Upload, body io.Reader) (ingest.Parsed[[]bulletin.ImportRow], error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return ingest.Parsed[[]bulletin.ImportRow]{}, err
	}
	res := bulletin.ParseSubscribers(data, k.Now().UTC())
	return ingest.Parsed[[]bulletin.ImportRow]{
		Content:      res.Rows,
		Items:        len(res.Rows),
		Problems:     res.Problems,
		ProblemTotal: res.ProblemTotal,
	}, nil
}

// Publish implements ingest.Kind: the rows are imported, and the report counts what became of
// them (Counts). The lifecycle records the import. A retry of an import interrupted after
// the rows were written imports nothing more, and counts those rows as subscribed already.
func (k Subscribers) Publish(ctx context.Context, u ingest.Upload, rows []bulletin.ImportRow, rep imports.Report) (imports.Report, bool, error) {
	counts, err := k.Store.ImportSubscribers(ctx, u.Key, rows, k.Now().UTC())
	if err != nil {
		return rep, false, err
	}
	rep.Counts = Counts(counts)
	return rep, false, nil
}

// Counts is what an import did, as the import's record and report show it: every row in
// one of added, confirmed, already_subscribed and suppressed (not resubscribed).
func Counts(c bulletin.ImportCounts) map[string]int {
	return map[string]int{
		"added":              c.Added,
		"confirmed":          c.Confirmed,
		"already_subscribed": c.AlreadySubscribed,
		"suppressed":         c.Suppressed,
	}
}
