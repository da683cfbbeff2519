package bulletinsend

import (
	"context"
	"time"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/imports"
)

// IssueStore keeps issues (package dynamo's Store).
type IssueStore interface {
	// PutIssue stores iss as uploaded at (the S3 event time), recording rep with it in the
	// same transaction, unless something uploaded later is stored for its ID (false).
	// ErrIssueStarted when its dispatch has begun. A Ready issue is listed as due at SendAt;
	// a Draft is not.
	PutIssue(ctx context.Context, iss bulletin.Issue, key string, at time.Time, rep imports.Report) (stored bool, err error)
	// IssueByID returns the issue with id.
	IssueByID(ctx context.Context, id string) (bulletin.StoredIssue, bool, error)
	// Issues lists every issue, newest ID first, limit a page, from cursor ("" for the first
	// page); next is "" after the last page.
	Issues(ctx context.Context, limit int, cursor string) (iss []bulletin.StoredIssue, next string, err error)
	// SentIssues lists the Finished issues, most recently finished first, likewise.
	SentIssues(ctx context.Context, limit int, cursor string) (iss []bulletin.StoredIssue, next string, err error)
	// RenderedIssue returns the mail an issue was rendered to when its dispatch began.
	RenderedIssue(ctx context.Context, id string) (bulletin.Rendered, bool, error)
}

// DispatchStore is what the dispatch (package bulletinsend) needs of the store. Every write
// that changes the dispatch (the ISSUE item) is conditioned on owner holding its lease
// (bulletin.ErrLeaseLost); the writes of one recipient are conditioned on its status
// instead, so that each is claimed once whoever claims it.
type DispatchStore interface {
	IssueStore
	// DueIssues returns the Ready issues whose SendAt is at or before now and whose dispatch
	// is not Finished, soonest first.
	DueIssues(ctx context.Context, now time.Time) ([]bulletin.StoredIssue, error)
	// BeginDispatch takes the issue's lease for owner until now+lease, when it is free, ended,
	// or owner's already; the dispatch becomes Preparing if it was NotStarted (StartedAt now).
	// ok is false, with no error, when another holds it or it is Finished.
	BeginDispatch(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (iss bulletin.StoredIssue, ok bool, err error)
	// RenewDispatch extends owner's lease to now+lease.
	RenewDispatch(ctx context.Context, id, owner string, now time.Time, lease time.Duration) error
	// ReleaseDispatch ends owner's lease now, so that a continuation may take over at once.
	ReleaseDispatch(ctx context.Context, id, owner string) error
	// SaveRendered keeps r as the issue's mail (replacing any earlier rendering of a
	// Preparing dispatch).
	SaveRendered(ctx context.Context, id, owner string, r bulletin.Rendered) error
	// SubscribedPage returns up to limit Subscribed subscribers after cursor ("" first),
	// in ID order, and the next cursor ("" after the last).
	SubscribedPage(ctx context.Context, cursor string, limit int) (subs []bulletin.Subscriber, next string, err error)
	// AddRecipients lists rs (status Queued) for a Preparing dispatch; writing one again
	// replaces it (the listing restarts from the top after a crash).
	AddRecipients(ctx context.Context, id, owner string, rs []bulletin.Recipient) error
	// StartSending ends the listing: the dispatch becomes Sending with bulletin.Progress.Recipients n.
	StartSending(ctx context.Context, id, owner string, n int) error
	// QueuedRecipients returns up to limit Queued recipients after cursor ("" first), in
	// subscriber ID order, and the next cursor ("" after the last).
	QueuedRecipients(ctx context.Context, id, cursor string, limit int) (rs []bulletin.Recipient, next string, err error)
	// ClaimRecipient moves r from Queued to Claimed at now, on condition that its subscriber
	// is still Subscribed (else the recipient becomes RecipientSuppressed: ClaimSuppressed);
	// ClaimTaken when it is not Queued. It is not conditioned on the lease.
	ClaimRecipient(ctx context.Context, id, owner string, r bulletin.Recipient, now time.Time) (bulletin.ClaimResult, error)
	// FinishRecipient records a Claimed recipient's outcome (Delivered with messageID, or
	// RecipientFailed with code) at now and drops its address, name and token.
	// bulletin.ErrLeaseLost when it is no longer Claimed (another invocation took the
	// dispatch over and marked it uncertain).
	FinishRecipient(ctx context.Context, id, subscriberID string, status bulletin.RecipientStatus, messageID, code string, now time.Time) error
	// UnclaimRecipient puts a Claimed recipient whose mail was certainly not sent back to
	// Queued; bulletin.ErrLeaseLost as FinishRecipient.
	UnclaimRecipient(ctx context.Context, id, subscriberID string) error
	// MarkUncertain makes every Claimed recipient of the issue RecipientUncertain (their
	// sender stopped before recording), dropping their address, name and token, and returns
	// how many.
	MarkUncertain(ctx context.Context, id, owner string, now time.Time) (int, error)
	// CountRecipients counts the issue's recipients by status, into bulletin.Progress (Throttled left
	// zero).
	CountRecipients(ctx context.Context, id string) (bulletin.Progress, error)
	// SetProgress records p (Throttled included) as the dispatch's progress.
	SetProgress(ctx context.Context, id, owner string, p bulletin.Progress) error
	// FinishDispatch makes the dispatch Finished at now with progress p, ends the lease, and
	// lists the issue in the archive (SentIssues).
	FinishDispatch(ctx context.Context, id, owner string, p bulletin.Progress, now time.Time) error
}
