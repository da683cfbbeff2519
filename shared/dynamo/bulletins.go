package dynamo

// The bulletin's issues and their dispatch (bulletinkeys.go lays out the items). Store
// implements bulletinsend.DispatchStore with subscribers.go's SubscribedPage.
//
// Access patterns: PutIssue (GetItem, then TransactWriteItems: the import record + Put or
// Update ISSUE), IssueByID, RenderedIssue (GetItem), Issues (Query gsi1 gsi1pk=BULLETINS, newest
// ID first, then GetItem of each issue on the page: gsi1 does not project the dispatch),
// SentIssues (Query gsi2 gsi2pk=BULLETIN_SENT, newest first), DueIssues (Query gsi2
// gsi2pk=BULLETIN_DUE, gsi2sk ≤ now), the dispatch's lease and state (UpdateItem ISSUE on
// condition of the lease), SaveRendered (TransactWriteItems: ConditionCheck ISSUE + Put
// RENDERED), AddRecipients (BatchWriteItem R#), QueuedRecipients, CountRecipients,
// MarkUncertain, Recipients (Query pk=BULLETIN#<id> sk begins_with R#), ClaimRecipient
// (TransactWriteItems: Update R# + ConditionCheck SUB#), FinishRecipient and
// UnclaimRecipient (UpdateItem R#).
//
// A recipient is sent its mail at most once because its record moves queued → sending
// (claimed) on condition that it is queued, and only a claimed record is sent; whatever
// becomes of the sender, a claimed record never goes back to queued unless the sender says
// it certainly did not send (UnclaimRecipient). In the steady state a recipient costs two
// requests: the claim's transaction and the outcome's update.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/shared/apperr"
	"sectorhub/shared/bulletin"
	"sectorhub/shared/imports"
)

const (
	// recipientKeep is how long a recipient's record stays (TTL) after it was listed: the
	// issue's audit of who was sent it.
	recipientKeep = 365 * 24 * time.Hour
	// claimAttempts bounds the claims of one recipient while its subscriber record is being
	// changed by another transaction at the same moment (TransactionConflict).
	claimAttempts = 8
	// issueReaders bounds the concurrent GetItems of one page of Issues.
	issueReaders = 8
	// maxQueuedPage bounds the items one Query of QueuedRecipients evaluates.
	maxQueuedPage = 1000
)

// issueItem is the stored form of BULLETIN#<id>/ISSUE: the issue's fields and its dispatch
// as top-level attributes (the dispatch's writes are conditioned on them), and the body
// (HTML and text, up to a few hundred KB as uploaded) gzip-compressed in one binary
// attribute, so that the item stays well within DynamoDB's 400 KB and the dispatch's
// frequent small updates (lease, progress), which DynamoDB bills by item size, stay cheap.
type issueItem struct {
	ID         string                 `json:"id"`
	Subject    string                 `json:"subject"`
	Preheader  string                 `json:"preheader,omitempty"`
	SendAt     time.Time              `json:"send_at"`
	Status     bulletin.Status        `json:"status"`
	Body       []byte                 `json:"body"` // gzip of issueBody's JSON
	Key        string                 `json:"key"`
	UploadedAt time.Time              `json:"uploaded_at"`
	State      bulletin.DispatchState `json:"state,omitempty"` // absent while NotStarted
	StartedAt  time.Time              `json:"started_at"`
	FinishedAt time.Time              `json:"finished_at"`
	Progress   bulletin.Progress      `json:"progress"`
	LeaseOwner string                 `json:"lease_owner,omitempty"`
	LeaseUntil time.Time              `json:"lease_until"`
}

type issueBody struct {
	HTML string `json:"html"`
	Text string `json:"text"`
}

// renderedItem is the stored form of BULLETIN#<id>/RENDERED: the bulletin.Rendered's JSON,
// gzip-compressed (its three versions of the issue would otherwise approach the item limit).
type renderedItem struct {
	RenderedAt time.Time `json:"rendered_at"`
	Body       []byte    `json:"body"`
}

func gzipJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func gunzipJSON(b []byte, v any) error {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if err := json.NewDecoder(io.LimitReader(zr, 16<<20)).Decode(v); err != nil {
		return err
	}
	return zr.Close()
}

// dueSortKey and sentSortKey are an issue's gsi2 sort keys in BULLETIN_DUE (by send time)
// and BULLETIN_SENT (by finish time).
func dueSortKey(sendAt time.Time, id string) string    { return timeKey(sendAt) + "#" + id }
func sentSortKey(finished time.Time, id string) string { return timeKey(finished) + "#" + id }

// bulletinDraftIndex is gsi2's partition of draft issues, which nothing reads: a draft
// stays in gsi2 under it rather than leaving the index (written when the embedded server lost
// an item that came back to an index with another key; its wrapper now keeps it).
const bulletinDraftIndex = "BULLETIN_DRAFT"

// newIssueItem encodes iss as uploaded at under key, not yet started: listed in gsi1
// (BULLETINS), and in gsi2 in BULLETIN_DUE at its SendAt when Ready, in BULLETIN_DRAFT when
// not. Every attribute of an issue not started is present (the preheader even when empty),
// so that writing the item over one stored before (see PutIssue) leaves nothing of it.
func newIssueItem(iss bulletin.Issue, key string, at time.Time) (map[string]types.AttributeValue, error) {
	body, err := gzipJSON(issueBody{HTML: iss.HTML, Text: iss.Text})
	if err != nil {
		return nil, fmt.Errorf("encode issue %s: %w", iss.ID, err)
	}
	it := issueItem{ID: iss.ID, Subject: iss.Subject, Preheader: iss.Preheader, SendAt: iss.SendAt, Status: iss.Status, Body: body, Key: key, UploadedAt: at}
	item, err := marshalRecord(it, bulletinPK(iss.ID), issueSK)
	if err != nil {
		return nil, fmt.Errorf("encode issue %s: %w", iss.ID, err)
	}
	item["preheader"] = &types.AttributeValueMemberS{Value: iss.Preheader}
	item["gsi1pk"] = &types.AttributeValueMemberS{Value: bulletinsIndex}
	item["gsi1sk"] = &types.AttributeValueMemberS{Value: iss.ID}
	if iss.Status == bulletin.Ready {
		item["gsi2pk"] = &types.AttributeValueMemberS{Value: bulletinDueIndex}
		item["gsi2sk"] = &types.AttributeValueMemberS{Value: dueSortKey(iss.SendAt, iss.ID)}
	} else {
		item["gsi2pk"] = &types.AttributeValueMemberS{Value: bulletinDraftIndex}
		item["gsi2sk"] = &types.AttributeValueMemberS{Value: iss.ID}
	}
	return item, nil
}

// stored returns the issue the item holds, with its body.
func (it issueItem) stored() (bulletin.StoredIssue, error) {
	var body issueBody
	if len(it.Body) > 0 {
		if err := gunzipJSON(it.Body, &body); err != nil {
			return bulletin.StoredIssue{}, fmt.Errorf("decode issue %s body: %w", it.ID, err)
		}
	}
	return bulletin.StoredIssue{
		Issue: bulletin.Issue{
			ID: it.ID, Subject: it.Subject, Preheader: it.Preheader, SendAt: it.SendAt, Status: it.Status,
			HTML: body.HTML, Text: body.Text,
		},
		Key:        it.Key,
		UploadedAt: it.UploadedAt,
		Dispatch: bulletin.Dispatch{
			State: it.State, StartedAt: it.StartedAt, FinishedAt: it.FinishedAt, Progress: it.Progress,
			LeaseOwner: it.LeaseOwner, LeaseUntil: it.LeaseUntil,
		},
	}, nil
}

func decodeIssueItem(item map[string]types.AttributeValue) (it issueItem, err error) {
	if err := attributevalue.UnmarshalMapWithOptions(item, &it, jsonTagsDecode); err != nil {
		return it, fmt.Errorf("decode issue: %w", err)
	}
	return it, nil
}

func decodeIssue(item map[string]types.AttributeValue) (bulletin.StoredIssue, error) {
	it, err := decodeIssueItem(item)
	if err != nil {
		return bulletin.StoredIssue{}, err
	}
	return it.stored()
}

// issue reads BULLETIN#<id>/ISSUE, strongly consistent.
func (s *Store) issue(ctx context.Context, id string) (it issueItem, ok bool, err error) {
	item, err := s.getItem(ctx, bulletinPK(id), issueSK)
	if err != nil || item == nil {
		return it, false, err
	}
	it, err = decodeIssueItem(item)
	return it, err == nil, err
}

// PutIssue stores iss as uploaded at (the S3 event time) under key, and records rep (its
// import, finished) with it: a consistent GetItem of BULLETIN#<id>/ISSUE, then one
// TransactWriteItems of FinishImportPut of rep and the issue's write: a Put on condition
// that there is none, or an Update of every attribute on condition that the stored one was
// uploaded before at and its dispatch has not begun. stored is false, and nothing is
// written, when an upload at or after at is stored (the lifecycle records the import as
// superseded); the error is bulletin.ErrIssueStarted, nothing written, when the stored
// issue's dispatch has begun, and imports.ErrLeaseLost when the import is no longer this
// request's. A Ready issue is put in gsi2's BULLETIN_DUE at its SendAt.
//
// An issue stored before is updated rather than put again, and the import record comes
// first in the transaction (written when the embedded server lost an item from an index when a
// PutItem changed its key there; its wrapper now keeps it).
func (s *Store) PutIssue(ctx context.Context, iss bulletin.Issue, key string, at time.Time, rep imports.Report) (stored bool, err error) {
	if iss.ID == "" {
		return false, errors.New("put issue: no ID")
	}
	prev, exists, err := s.issue(ctx, iss.ID)
	if err != nil {
		return false, err
	}
	if stop, err := issueSettled(prev, exists, at); stop {
		return false, err
	}
	item, err := newIssueItem(iss, key, at)
	if err != nil {
		return false, err
	}
	var write types.TransactWriteItem
	if !exists {
		write, err = s.conditionalPut(item, expression.AttributeNotExists(expression.Name("pk")))
	} else {
		var up expression.UpdateBuilder
		for name, v := range item {
			if name != "pk" && name != "sk" {
				up = up.Set(expression.Name(name), expression.Value(v))
			}
		}
		cond := expression.AttributeExists(expression.Name("pk")).And(
			expression.Name("uploaded_at").LessThan(expression.Value(timeKey(at))),
			expression.AttributeNotExists(stateAttr))
		write, err = s.txUpdate(bulletinPK(iss.ID), issueSK, up, &cond)
	}
	if err != nil {
		return false, err
	}
	finish, err := s.FinishImportPut(rep)
	if err != nil {
		return false, err
	}
	err = s.transact(ctx, []types.TransactWriteItem{{Put: finish}, write})
	switch failed := failedConditions(err); {
	case err == nil:
		return true, nil
	case failed[0]:
		return false, fmt.Errorf("put issue %s: %w", iss.ID, imports.ErrLeaseLost)
	case failed[1]:
		// Changed since it was read: started, or a later upload stored (or a first one, when
		// there was none: it decides as it would have, had it been read).
		prev, exists, err := s.issue(ctx, iss.ID)
		if err != nil {
			return false, err
		}
		if stop, err := issueSettled(prev, exists, at); stop {
			return false, err
		}
		return false, fmt.Errorf("put issue %s: changed by another upload at the same moment", iss.ID)
	default:
		return false, fmt.Errorf("put issue %s: %w", iss.ID, err)
	}
}

// issueSettled reports whether an upload at stops at the stored issue prev (if exists): it
// was uploaded at or after at (nil), or its dispatch has begun (bulletin.ErrIssueStarted).
func issueSettled(prev issueItem, exists bool, at time.Time) (bool, error) {
	switch {
	case exists && prev.State != bulletin.NotStarted:
		return true, fmt.Errorf("put issue %s: %w", prev.ID, bulletin.ErrIssueStarted)
	case exists && !prev.UploadedAt.Before(at):
		return true, nil
	}
	return false, nil
}

// IssueByID returns the issue with id and its dispatch: GetItem BULLETIN#<id>/ISSUE,
// strongly consistent.
func (s *Store) IssueByID(ctx context.Context, id string) (bulletin.StoredIssue, bool, error) {
	it, ok, err := s.issue(ctx, id)
	if err != nil || !ok {
		return bulletin.StoredIssue{}, false, err
	}
	iss, err := it.stored()
	return iss, err == nil, err
}

// RenderedIssue returns the mail the issue was rendered to when its dispatch began (ok false
// before): GetItem BULLETIN#<id>/RENDERED, strongly consistent (a resumed dispatch sends it).
func (s *Store) RenderedIssue(ctx context.Context, id string) (bulletin.Rendered, bool, error) {
	var r bulletin.Rendered
	item, err := s.getItem(ctx, bulletinPK(id), renderedSK)
	if err != nil || item == nil {
		return r, false, err
	}
	var it renderedItem
	if err := attributevalue.UnmarshalMapWithOptions(item, &it, jsonTagsDecode); err != nil {
		return r, false, fmt.Errorf("decode rendered issue %s: %w", id, err)
	}
	if err := gunzipJSON(it.Body, &r); err != nil {
		return r, false, fmt.Errorf("decode rendered issue %s: %w", id, err)
	}
	return r, true, nil
}

// Issues lists every issue with its dispatch, newest ID (date) first, limit a page: Query
// gsi1 gsi1pk=BULLETINS descending for the page's IDs (gsi1 projects no dispatch), then a
// GetItem of each, a few at a time. cursor is the next value of the previous page ("" for
// the first; anything else is apperr.Invalid); next is "" on the last page.
func (s *Store) Issues(ctx context.Context, limit int, cursor string) (iss []bulletin.StoredIssue, next string, err error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("issues: limit %d", limit)
	}
	in := &dynamodb.QueryInput{IndexName: aws.String(gsi1)}
	if cursor != "" {
		id, err := decodeIssuesCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			"gsi1pk": &types.AttributeValueMemberS{Value: bulletinsIndex},
			"gsi1sk": &types.AttributeValueMemberS{Value: id},
			"pk":     &types.AttributeValueMemberS{Value: bulletinPK(id)},
			"sk":     &types.AttributeValueMemberS{Value: issueSK},
		}
	}
	var ids []string
	err = s.queryItems(ctx, in, expression.Key("gsi1pk").Equal(expression.Value(bulletinsIndex)), false, limit+1, func(item map[string]types.AttributeValue) error {
		sk, _ := item["gsi1sk"].(*types.AttributeValueMemberS)
		if sk == nil {
			return errors.New("an issue without gsi1sk")
		}
		ids = append(ids, sk.Value)
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("issues: %w", err)
	}
	if len(ids) > limit {
		ids = ids[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(ids[limit-1]))
	}
	iss = make([]bulletin.StoredIssue, len(ids))
	found := make([]bool, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, issueReaders)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			iss[i], found[i], errs[i] = s.IssueByID(ctx, id)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, "", fmt.Errorf("issues: %w", err)
	}
	out := iss[:0]
	for i := range iss {
		if found[i] {
			out = append(out, iss[i])
		}
	}
	return out, next, nil
}

// decodeIssuesCursor returns the issue ID an Issues cursor carries, or apperr.Invalid: the
// rest of the key is rebuilt from it, so a client cannot steer the query elsewhere.
func decodeIssuesCursor(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil || !validID(string(b)) {
		return "", apperr.Errorf(apperr.Invalid, "cursor is not valid; use the next_cursor of the previous page")
	}
	return string(b), nil
}

// SentIssues lists the Finished issues, most recently finished first, limit a page: Query
// gsi2 gsi2pk=BULLETIN_SENT descending (gsi2 projects the whole item). Cursors as Issues.
func (s *Store) SentIssues(ctx context.Context, limit int, cursor string) (iss []bulletin.StoredIssue, next string, err error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("sent issues: limit %d", limit)
	}
	in := &dynamodb.QueryInput{IndexName: aws.String(gsi2)}
	if cursor != "" {
		sk, id, err := parseSortKeyCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			"gsi2pk": &types.AttributeValueMemberS{Value: bulletinSentIndex},
			"gsi2sk": &types.AttributeValueMemberS{Value: sk},
			"pk":     &types.AttributeValueMemberS{Value: bulletinPK(id)},
			"sk":     &types.AttributeValueMemberS{Value: issueSK},
		}
	}
	var items []map[string]types.AttributeValue
	err = s.queryItems(ctx, in, expression.Key("gsi2pk").Equal(expression.Value(bulletinSentIndex)), false, limit+1, func(item map[string]types.AttributeValue) error {
		items = append(items, item)
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("sent issues: %w", err)
	}
	if len(items) > limit {
		items = items[:limit]
		sk, _ := items[limit-1]["gsi2sk"].(*types.AttributeValueMemberS)
		if sk == nil {
			return nil, "", errors.New("sent issues: an issue without gsi2sk")
		}
		next = sortKeyCursor(sk.Value)
	}
	for _, item := range items {
		it, err := decodeIssue(item)
		if err != nil {
			return nil, "", fmt.Errorf("sent issues: %w", err)
		}
		iss = append(iss, it)
	}
	return iss, next, nil
}

// queryItems runs in (its table and key condition set here) page by page, in the index's
// order (forward) or reversed, calling fn with each item, until max items (0: all).
func (s *Store) queryItems(ctx context.Context, in *dynamodb.QueryInput, cond expression.KeyConditionBuilder, forward bool, max int, fn func(map[string]types.AttributeValue) error) error {
	expr, err := expression.NewBuilder().WithKeyCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build query: %w", err)
	}
	in.TableName = &s.table
	in.KeyConditionExpression = expr.KeyCondition()
	in.ExpressionAttributeNames = expr.Names()
	in.ExpressionAttributeValues = expr.Values()
	in.ScanIndexForward = aws.Bool(forward)
	for n := 0; ; {
		if max > 0 {
			in.Limit = aws.Int32(int32(min(max-n, 1000)))
		}
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		for _, item := range out.Items {
			if err := fn(item); err != nil {
				return err
			}
			if n++; n == max {
				return nil
			}
		}
		if out.LastEvaluatedKey == nil {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// DueIssues returns the Ready issues whose SendAt is at or before now and whose dispatch is
// not Finished (begun or not), soonest first: Query gsi2 gsi2pk=BULLETIN_DUE, gsi2sk ≤
// <now>~, every page.
func (s *Store) DueIssues(ctx context.Context, now time.Time) ([]bulletin.StoredIssue, error) {
	cond := expression.Key("gsi2pk").Equal(expression.Value(bulletinDueIndex)).
		And(expression.Key("gsi2sk").LessThanEqual(expression.Value(timeKey(now) + "~")))
	var due []bulletin.StoredIssue
	err := s.queryItems(ctx, &dynamodb.QueryInput{IndexName: aws.String(gsi2)}, cond, true, 0, func(item map[string]types.AttributeValue) error {
		iss, err := decodeIssue(item)
		if err != nil {
			return err
		}
		due = append(due, iss)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("due issues: %w", err)
	}
	return due, nil
}

// Conditions on an issue's dispatch.
var (
	stateAttr     = expression.Name("state")
	leaseOwner    = expression.Name("lease_owner")
	leaseUntil    = expression.Name("lease_until")
	dispatchUnder = stateAttr.In(expression.Value(bulletin.Preparing), expression.Value(bulletin.Sending))
)

func heldBy(owner string) expression.ConditionBuilder {
	return leaseOwner.Equal(expression.Value(owner))
}

// absent is the value (NULL) of an attribute that goes: every reader takes NULL as absent
// (chosen when the embedded server ignored REMOVE of a top-level attribute, as events.go
// notes).
var absent = expression.Value(&types.AttributeValueMemberNULL{Value: true})

// endLease adds to up the end of the lease: no owner, and an end long past (so that the
// condition lease_until ≤ now of BeginDispatch holds).
func endLease(up expression.UpdateBuilder) expression.UpdateBuilder {
	return up.Set(leaseOwner, absent).Set(leaseUntil, expression.Value(timeKey(time.Time{})))
}

func inState(st bulletin.DispatchState) expression.ConditionBuilder {
	return stateAttr.Equal(expression.Value(st))
}

// BeginDispatch takes the issue's lease for owner until now+lease: UpdateItem
// BULLETIN#<id>/ISSUE on condition that the dispatch is underway (Preparing or Sending), or
// not started and the issue Ready with SendAt at or before now (a re-upload between
// DueIssues and this call is respected), and that the lease is free, ended (lease_until ≤
// now) or owner's already. A dispatch not started becomes Preparing, StartedAt now. ok is
// false, with no error, when the condition fails (another holds the lease, the dispatch is
// Finished, the issue is not due, or there is none); iss is then the issue as stored, if any.
func (s *Store) BeginDispatch(ctx context.Context, id, owner string, now time.Time, lease time.Duration) (iss bulletin.StoredIssue, ok bool, err error) {
	if owner == "" {
		return iss, false, fmt.Errorf("begin dispatch %s: no owner", id)
	}
	startable := expression.AttributeNotExists(stateAttr).And(
		expression.Name("status").Equal(expression.Value(bulletin.Ready)),
		expression.Name("send_at").LessThanEqual(expression.Value(timeKey(now))))
	free := expression.AttributeNotExists(leaseOwner).Or(heldBy(owner), leaseUntil.LessThanEqual(expression.Value(timeKey(now))))
	cond := expression.AttributeExists(expression.Name("pk")).And(startable.Or(dispatchUnder), free)
	up := expression.Set(leaseOwner, expression.Value(owner)).
		Set(leaseUntil, expression.Value(timeKey(now.Add(lease)))).
		Set(stateAttr, stateAttr.IfNotExists(expression.Value(bulletin.Preparing))).
		Set(expression.Name("started_at"), expression.Name("started_at").IfNotExists(expression.Value(timeKey(now))))
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(up).Build()
	if err != nil {
		return iss, false, fmt.Errorf("build begin dispatch: %w", err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(bulletinPK(id), issueSK),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		iss, _, err := s.IssueByID(ctx, id)
		return iss, false, err
	}
	if err != nil {
		return iss, false, fmt.Errorf("begin dispatch %s: %w", id, err)
	}
	iss, err = decodeIssue(out.Attributes)
	return iss, err == nil, err
}

// updateDispatch applies up to BULLETIN#<id>/ISSUE on condition that owner holds the lease
// and cond holds (nil: no more). When refused, it is nil if done(the issue as it stands)
// (a repeated call whose first went through), bulletin.ErrLeaseLost when owner does not hold
// the lease, or an error naming the dispatch's state.
func (s *Store) updateDispatch(ctx context.Context, what, id, owner string, up expression.UpdateBuilder, cond *expression.ConditionBuilder, done func(issueItem) bool) error {
	if owner == "" {
		return fmt.Errorf("%s %s: no owner", what, id)
	}
	c := heldBy(owner)
	if cond != nil {
		c = c.And(*cond)
	}
	expr, err := expression.NewBuilder().WithCondition(c).WithUpdate(up).Build()
	if err != nil {
		return fmt.Errorf("build %s: %w", what, err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(bulletinPK(id), issueSK),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if conditionFailed(err) {
		return s.dispatchRefused(ctx, what, id, owner, done)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	return nil
}

// dispatchRefused explains a write to the issue's dispatch that its condition refused.
func (s *Store) dispatchRefused(ctx context.Context, what, id, owner string, done func(issueItem) bool) error {
	it, ok, err := s.issue(ctx, id)
	switch {
	case err != nil:
		return fmt.Errorf("%s %s: %w", what, id, err)
	case !ok:
		return fmt.Errorf("%s %s: no such issue", what, id)
	case done != nil && done(it):
		return nil
	case it.LeaseOwner != owner:
		return fmt.Errorf("%s %s: %w", what, id, bulletin.ErrLeaseLost)
	default:
		return fmt.Errorf("%s %s: refused while the dispatch is %q", what, id, it.State)
	}
}

// RenewDispatch extends owner's lease of an underway dispatch to now+lease (UpdateItem
// ISSUE); bulletin.ErrLeaseLost when owner no longer holds it.
func (s *Store) RenewDispatch(ctx context.Context, id, owner string, now time.Time, lease time.Duration) error {
	return s.updateDispatch(ctx, "renew dispatch", id, owner,
		expression.Set(leaseUntil, expression.Value(timeKey(now.Add(lease)))), &dispatchUnder, nil)
}

// ReleaseDispatch ends owner's lease at once (UpdateItem ISSUE: no lease owner, lease_until
// long past), so that the next invocation takes the dispatch over without waiting. Nil when
// nobody holds it; bulletin.ErrLeaseLost when another does.
func (s *Store) ReleaseDispatch(ctx context.Context, id, owner string) error {
	return s.updateDispatch(ctx, "release dispatch", id, owner,
		endLease(expression.UpdateBuilder{}), nil,
		func(it issueItem) bool { return it.LeaseOwner == "" })
}

// SaveRendered keeps r as the issue's mail: TransactWriteItems of a ConditionCheck that
// owner holds the lease of a Preparing dispatch and a Put of BULLETIN#<id>/RENDERED.
func (s *Store) SaveRendered(ctx context.Context, id, owner string, r bulletin.Rendered) error {
	if owner == "" {
		return fmt.Errorf("save rendered %s: no owner", id)
	}
	body, err := gzipJSON(r)
	if err != nil {
		return fmt.Errorf("encode rendered issue %s: %w", id, err)
	}
	item, err := marshalRecord(renderedItem{RenderedAt: r.RenderedAt, Body: body}, bulletinPK(id), renderedSK)
	if err != nil {
		return fmt.Errorf("encode rendered issue %s: %w", id, err)
	}
	check, err := expression.NewBuilder().WithCondition(heldBy(owner).And(inState(bulletin.Preparing))).Build()
	if err != nil {
		return fmt.Errorf("build save rendered: %w", err)
	}
	err = s.transact(ctx, []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{
			TableName:                 &s.table,
			Key:                       key(bulletinPK(id), issueSK),
			ConditionExpression:       check.Condition(),
			ExpressionAttributeNames:  check.Names(),
			ExpressionAttributeValues: check.Values(),
		}},
		{Put: &types.Put{TableName: &s.table, Item: item}},
	})
	if failedConditions(err)[0] {
		return s.dispatchRefused(ctx, "save rendered", id, owner, nil)
	}
	if err != nil {
		return fmt.Errorf("save rendered %s: %w", id, err)
	}
	return nil
}

// AddRecipients lists rs (status Queued, whatever they say; their record expires a year
// from now) for the Preparing dispatch owner holds: a consistent GetItem of the ISSUE checks
// that, then BatchWriteItem puts BULLETIN#<id>/R#<subscriber id>, replacing any listed
// before. The check is made once per call, not per item: a caller that lost its lease may
// still write the call's items if it stalls between the two (a Lambda invocation runs out
// of time first).
func (s *Store) AddRecipients(ctx context.Context, id, owner string, rs []bulletin.Recipient) error {
	it, ok, err := s.issue(ctx, id)
	switch {
	case owner == "":
		return fmt.Errorf("add recipients to %s: no owner", id)
	case err != nil:
		return fmt.Errorf("add recipients to %s: %w", id, err)
	case !ok:
		return fmt.Errorf("add recipients to %s: no such issue", id)
	case it.LeaseOwner != owner:
		return fmt.Errorf("add recipients to %s: %w", id, bulletin.ErrLeaseLost)
	case it.State != bulletin.Preparing:
		return fmt.Errorf("add recipients to %s: refused while the dispatch is %q", id, it.State)
	}
	expires := &types.AttributeValueMemberN{Value: fmt.Sprint(time.Now().Add(recipientKeep).Unix())}
	reqs := make([]types.WriteRequest, 0, len(rs))
	for _, r := range rs {
		if r.SubscriberID == "" {
			return fmt.Errorf("add recipients to %s: a recipient without subscriber ID", id)
		}
		item, err := marshalRecord(bulletin.Recipient{
			SubscriberID: r.SubscriberID, Email: r.Email, Name: r.Name, UnsubscribeToken: r.UnsubscribeToken, Status: bulletin.Queued,
		}, bulletinPK(id), recipientSK+r.SubscriberID)
		if err != nil {
			return fmt.Errorf("encode recipient %s of %s: %w", r.SubscriberID, id, err)
		}
		item["expires_at"] = expires
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	if err := s.parallelBatchWrite(ctx, reqs); err != nil {
		return fmt.Errorf("add recipients to %s: %w", id, err)
	}
	return nil
}

// StartSending ends the listing: the dispatch owner holds becomes Sending with progress
// {Recipients: n, Remaining: n} (UpdateItem ISSUE on condition that it is Preparing). Nil if
// it is Sending under owner already.
func (s *Store) StartSending(ctx context.Context, id, owner string, n int) error {
	p, err := attributevalue.MarshalWithOptions(bulletin.Progress{Recipients: n, Remaining: n}, jsonTags)
	if err != nil {
		return fmt.Errorf("encode progress of %s: %w", id, err)
	}
	preparing := inState(bulletin.Preparing)
	return s.updateDispatch(ctx, "start sending", id, owner,
		expression.Set(stateAttr, expression.Value(bulletin.Sending)).Set(expression.Name("progress"), expression.Value(p)),
		&preparing,
		func(it issueItem) bool { return it.LeaseOwner == owner && it.State == bulletin.Sending })
}

// recipientsQuery is the key condition of an issue's recipients.
func recipientsQuery(id string) expression.KeyConditionBuilder {
	return expression.Key("pk").Equal(expression.Value(bulletinPK(id))).And(expression.Key("sk").BeginsWith(recipientSK))
}

func decodeRecipient(item map[string]types.AttributeValue) (bulletin.Recipient, error) {
	var r bulletin.Recipient
	if err := attributevalue.UnmarshalMapWithOptions(item, &r, jsonTagsDecode); err != nil {
		return r, fmt.Errorf("decode recipient: %w", err)
	}
	return r, nil
}

// QueuedRecipients returns up to limit Queued recipients after cursor (a subscriber ID; ""
// first), in subscriber ID order, and the next cursor ("" after the last): Query
// pk=BULLETIN#<id> sk begins_with R#, from R#<cursor>, filtered on status queued,
// strongly consistent. A request evaluates limit items at first, more (to maxQueuedPage)
// while the filter drops most of them, as on resuming after most were sent.
func (s *Store) QueuedRecipients(ctx context.Context, id, cursor string, limit int) (rs []bulletin.Recipient, next string, err error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("queued recipients of %s: limit %d", id, limit)
	}
	expr, err := expression.NewBuilder().WithKeyCondition(recipientsQuery(id)).
		WithFilter(expression.Name("status").Equal(expression.Value(bulletin.Queued))).Build()
	if err != nil {
		return nil, "", fmt.Errorf("build queued recipients: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		ConsistentRead:            aws.Bool(true),
		KeyConditionExpression:    expr.KeyCondition(),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if cursor != "" {
		in.ExclusiveStartKey = key(bulletinPK(id), recipientSK+cursor)
	}
	evaluate := limit + 1 // one more, to know whether a page ends the queue
	for {
		in.Limit = aws.Int32(int32(min(evaluate, maxQueuedPage)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("queued recipients of %s: %w", id, err)
		}
		for i, item := range out.Items {
			r, err := decodeRecipient(item)
			if err != nil {
				return nil, "", fmt.Errorf("queued recipients of %s: %w", id, err)
			}
			rs = append(rs, r)
			if len(rs) == limit {
				if i < len(out.Items)-1 || out.LastEvaluatedKey != nil {
					next = r.SubscriberID
				}
				return rs, next, nil
			}
		}
		if out.LastEvaluatedKey == nil {
			return rs, "", nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
		if len(out.Items) < int(*in.Limit)/2 {
			// Mostly attended to already: read further at once, up to a page of
			// maxQueuedPage (growing without that bound, it overflowed after some 30 sparse
			// pages of a 50,000-recipient issue).
			evaluate = min(evaluate*4, maxQueuedPage)
		}
	}
}

// Recipients returns every recipient of the issue in subscriber ID order: Query
// pk=BULLETIN#<id> sk begins_with R#, strongly consistent, every page. For tests and
// checks after a crash; the dispatch pages QueuedRecipients.
func (s *Store) Recipients(ctx context.Context, id string) ([]bulletin.Recipient, error) {
	var rs []bulletin.Recipient
	err := s.queryEach(ctx, expression.NewBuilder().WithKeyCondition(recipientsQuery(id)), true, func(item map[string]types.AttributeValue) error {
		r, err := decodeRecipient(item)
		rs = append(rs, r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("recipients of %s: %w", id, err)
	}
	return rs, nil
}

// recipientCond is the condition that a recipient's status is st.
func recipientCond(st bulletin.RecipientStatus) expression.ConditionBuilder {
	return expression.Name("status").Equal(expression.Value(st))
}

// dropPersonal adds to up the removal (NULL) of what a recipient's mail needed, once it is
// attended to.
func dropPersonal(up expression.UpdateBuilder) expression.UpdateBuilder {
	for _, name := range []string{"email", "name", "unsubscribe_token"} {
		up = up.Set(expression.Name(name), absent)
	}
	return up
}

// ClaimRecipient claims r for owner's send at now: one TransactWriteItems of an Update of
// BULLETIN#<id>/R#<subscriber id> to sending (claimed_at, claimed_by) on condition that it
// is queued, and a ConditionCheck that SUB#<subscriber id> is subscribed. When the recipient
// is not queued any more: ClaimTaken. When the subscriber is not subscribed (unsubscribed,
// bounced or complained since the listing): the recipient is recorded as suppressed (on
// condition that it is still queued) and ClaimSuppressed. A clash with another transaction
// on the subscriber is retried after a short pause. The claim is not conditioned on the
// lease: that would make every claim a transaction on the one ISSUE item, which DynamoDB
// serialises; each recipient is claimed once whoever claims it.
func (s *Store) ClaimRecipient(ctx context.Context, id, owner string, r bulletin.Recipient, now time.Time) (bulletin.ClaimResult, error) {
	sid := r.SubscriberID
	queued := recipientCond(bulletin.Queued)
	claim, err := s.txUpdate(bulletinPK(id), recipientSK+sid,
		expression.Set(expression.Name("status"), expression.Value(bulletin.Claimed)).
			Set(expression.Name("claimed_at"), expression.Value(timeKey(now))).
			Set(expression.Name("claimed_by"), expression.Value(owner)),
		&queued)
	if err != nil {
		return 0, err
	}
	subscribed, err := expression.NewBuilder().WithCondition(
		expression.Name(subscriberStateAttr).Equal(expression.Value(bulletin.Subscribed))).Build()
	if err != nil {
		return 0, fmt.Errorf("build claim: %w", err)
	}
	tx := []types.TransactWriteItem{claim, {ConditionCheck: &types.ConditionCheck{
		TableName:                 &s.table,
		Key:                       key(subscriberPK(sid), subscriberSK),
		ConditionExpression:       subscribed.Condition(),
		ExpressionAttributeNames:  subscribed.Names(),
		ExpressionAttributeValues: subscribed.Values(),
	}}}
	for attempt := 1; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		switch failed := failedConditions(err); {
		case err == nil:
			return bulletin.ClaimOK, nil
		case failed[0]:
			return bulletin.ClaimTaken, nil
		case failed[1]:
			return s.suppressRecipient(ctx, id, sid, now)
		case transactionConflict(err) && attempt < claimAttempts:
			if err := sleep(ctx, bookBackoff(attempt)); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("claim recipient %s of %s: %w", sid, id, err)
		}
	}
}

// suppressRecipient records a queued recipient whose subscriber is no longer subscribed
// as suppressed (UpdateItem R#, condition status queued): ClaimSuppressed, or ClaimTaken
// when another claimed it first.
func (s *Store) suppressRecipient(ctx context.Context, id, sid string, now time.Time) (bulletin.ClaimResult, error) {
	up := dropPersonal(expression.Set(expression.Name("status"), expression.Value(bulletin.RecipientSuppressed)).
		Set(expression.Name("done_at"), expression.Value(timeKey(now))))
	err := s.updateRecipient(ctx, id, sid, up, recipientCond(bulletin.Queued))
	if conditionFailed(err) {
		return bulletin.ClaimTaken, nil
	}
	if err != nil {
		return 0, fmt.Errorf("suppress recipient %s of %s: %w", sid, id, err)
	}
	return bulletin.ClaimSuppressed, nil
}

// updateRecipient applies up to BULLETIN#<id>/R#<sid> on condition cond.
func (s *Store) updateRecipient(ctx context.Context, id, sid string, up expression.UpdateBuilder, cond expression.ConditionBuilder) error {
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(up).Build()
	if err != nil {
		return fmt.Errorf("build recipient update: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(bulletinPK(id), recipientSK+sid),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	return err
}

// recipientRefused explains a recipient update its condition refused: nil when the
// recipient already has status want (a repeated call whose first went through), else
// bulletin.ErrLeaseLost (another invocation took the dispatch over and attended to it).
func (s *Store) recipientRefused(ctx context.Context, what, id, sid string, want bulletin.RecipientStatus) error {
	item, err := s.getItem(ctx, bulletinPK(id), recipientSK+sid)
	if err != nil {
		return fmt.Errorf("%s %s of %s: %w", what, sid, id, err)
	}
	if item == nil {
		return fmt.Errorf("%s %s of %s: no such recipient", what, sid, id)
	}
	r, err := decodeRecipient(item)
	if err != nil {
		return fmt.Errorf("%s %s of %s: %w", what, sid, id, err)
	}
	if r.Status == want {
		return nil
	}
	return fmt.Errorf("%s %s of %s: the recipient is %s: %w", what, sid, id, r.Status, bulletin.ErrLeaseLost)
}

// FinishRecipient records a claimed recipient's outcome at now: UpdateItem R# on condition
// that it is sending, to status (Delivered with messageID, or RecipientFailed with code),
// dropping its address, name and token. Nil if it has that status already (a repeated call);
// bulletin.ErrLeaseLost if it is not sending (another invocation marked it uncertain).
func (s *Store) FinishRecipient(ctx context.Context, id, subscriberID string, status bulletin.RecipientStatus, messageID, code string, now time.Time) error {
	up := expression.Set(expression.Name("status"), expression.Value(status)).Set(expression.Name("done_at"), expression.Value(timeKey(now)))
	switch status {
	case bulletin.Delivered:
		up = up.Set(expression.Name("message_id"), expression.Value(messageID))
	case bulletin.RecipientFailed:
		up = up.Set(expression.Name("code"), expression.Value(code))
	default:
		return fmt.Errorf("finish recipient %s of %s: status %q is not an outcome", subscriberID, id, status)
	}
	err := s.updateRecipient(ctx, id, subscriberID, dropPersonal(up), recipientCond(bulletin.Claimed))
	if conditionFailed(err) {
		return s.recipientRefused(ctx, "finish recipient", id, subscriberID, status)
	}
	if err != nil {
		return fmt.Errorf("finish recipient %s of %s: %w", subscriberID, id, err)
	}
	return nil
}

// UnclaimRecipient puts a claimed recipient whose mail was certainly not sent back in the
// queue: UpdateItem R# sending → queued. Nil if it is queued already; bulletin.ErrLeaseLost
// if it is neither.
func (s *Store) UnclaimRecipient(ctx context.Context, id, subscriberID string) error {
	up := expression.Set(expression.Name("status"), expression.Value(bulletin.Queued)).
		Set(expression.Name("claimed_at"), absent).
		Set(expression.Name("claimed_by"), absent)
	err := s.updateRecipient(ctx, id, subscriberID, up, recipientCond(bulletin.Claimed))
	if conditionFailed(err) {
		return s.recipientRefused(ctx, "unclaim recipient", id, subscriberID, bulletin.Queued)
	}
	if err != nil {
		return fmt.Errorf("unclaim recipient %s of %s: %w", subscriberID, id, err)
	}
	return nil
}

// MarkUncertain makes every claimed recipient of the issue uncertain at now (their sender
// stopped before recording an outcome: they are never sent again), dropping their address,
// name and token, and returns how many: a consistent GetItem of the ISSUE checks that owner
// holds the lease (bulletin.ErrLeaseLost), a Query of R# filtered on status sending finds
// them, and an UpdateItem (condition: still sending) marks each.
func (s *Store) MarkUncertain(ctx context.Context, id, owner string, now time.Time) (int, error) {
	it, ok, err := s.issue(ctx, id)
	switch {
	case owner == "":
		return 0, fmt.Errorf("mark uncertain in %s: no owner", id)
	case err != nil:
		return 0, fmt.Errorf("mark uncertain in %s: %w", id, err)
	case !ok:
		return 0, fmt.Errorf("mark uncertain in %s: no such issue", id)
	case it.LeaseOwner != owner:
		return 0, fmt.Errorf("mark uncertain in %s: %w", id, bulletin.ErrLeaseLost)
	}
	b := expression.NewBuilder().WithKeyCondition(recipientsQuery(id)).
		WithFilter(recipientCond(bulletin.Claimed)).
		WithProjection(expression.NamesList(expression.Name("subscriber_id")))
	expr, err := b.Build()
	if err != nil {
		return 0, fmt.Errorf("build mark uncertain: %w", err)
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 &s.table,
		ConsistentRead:            aws.Bool(true),
		KeyConditionExpression:    expr.KeyCondition(),
		FilterExpression:          expr.Filter(),
		ProjectionExpression:      expr.Projection(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	up := dropPersonal(expression.Set(expression.Name("status"), expression.Value(bulletin.RecipientUncertain)).
		Set(expression.Name("done_at"), expression.Value(timeKey(now))))
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, fmt.Errorf("mark uncertain in %s: %w", id, err)
		}
		for _, item := range page.Items {
			r, err := decodeRecipient(item)
			if err != nil {
				return n, fmt.Errorf("mark uncertain in %s: %w", id, err)
			}
			err = s.updateRecipient(ctx, id, r.SubscriberID, up, recipientCond(bulletin.Claimed))
			switch {
			case conditionFailed(err): // its sender recorded it after all
			case err != nil:
				return n, fmt.Errorf("mark uncertain %s in %s: %w", r.SubscriberID, id, err)
			default:
				n++
			}
		}
	}
	return n, nil
}

// CountRecipients counts the issue's recipients by status: Query R# projecting the status,
// strongly consistent, every page (7,040 recipients are a few pages). Remaining counts the
// queued and the claimed; Throttled is left zero.
func (s *Store) CountRecipients(ctx context.Context, id string) (bulletin.Progress, error) {
	var p bulletin.Progress
	b := expression.NewBuilder().WithKeyCondition(recipientsQuery(id)).WithProjection(expression.NamesList(expression.Name("status")))
	err := s.queryEach(ctx, b, true, func(item map[string]types.AttributeValue) error {
		st, _ := item["status"].(*types.AttributeValueMemberS)
		if st == nil {
			return errors.New("a recipient without status")
		}
		p.Recipients++
		switch bulletin.RecipientStatus(st.Value) {
		case bulletin.Queued, bulletin.Claimed:
			p.Remaining++
		case bulletin.Delivered:
			p.Sent++
		case bulletin.RecipientFailed:
			p.Failed++
		case bulletin.RecipientSuppressed:
			p.Suppressed++
		case bulletin.RecipientUncertain:
			p.Uncertain++
		default:
			return fmt.Errorf("a recipient with status %q", st.Value)
		}
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("count recipients of %s: %w", id, err)
	}
	return p, nil
}

// SetProgress records p as the dispatch's progress (UpdateItem ISSUE, on condition of
// owner's lease).
func (s *Store) SetProgress(ctx context.Context, id, owner string, p bulletin.Progress) error {
	av, err := attributevalue.MarshalWithOptions(p, jsonTags)
	if err != nil {
		return fmt.Errorf("encode progress of %s: %w", id, err)
	}
	return s.updateDispatch(ctx, "set progress", id, owner, expression.Set(expression.Name("progress"), expression.Value(av)), nil, nil)
}

// FinishDispatch makes owner's Sending dispatch Finished at now with progress p, ends the
// lease, and moves the issue in gsi2 from BULLETIN_DUE to BULLETIN_SENT at now (the archive):
// UpdateItem ISSUE. Nil if it is Finished already.
func (s *Store) FinishDispatch(ctx context.Context, id, owner string, p bulletin.Progress, now time.Time) error {
	av, err := attributevalue.MarshalWithOptions(p, jsonTags)
	if err != nil {
		return fmt.Errorf("encode progress of %s: %w", id, err)
	}
	up := expression.Set(stateAttr, expression.Value(bulletin.Finished)).
		Set(expression.Name("finished_at"), expression.Value(timeKey(now))).
		Set(expression.Name("progress"), expression.Value(av)).
		Set(expression.Name("gsi2pk"), expression.Value(bulletinSentIndex)).
		Set(expression.Name("gsi2sk"), expression.Value(sentSortKey(now, id)))
	up = endLease(up)
	sending := inState(bulletin.Sending)
	return s.updateDispatch(ctx, "finish dispatch", id, owner, up, &sending,
		func(it issueItem) bool { return it.State == bulletin.Finished })
}
