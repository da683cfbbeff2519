package dynamo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/shared/casestudy"
	"sectorhub/shared/imports"
)

// Case studies' items:
//
//	pk                      sk                    what
//	CASESTUDY#<slug>        CASESTUDY             the case study with its HTML, a draft, or a removal's tombstone; uploaded_at decides which upload wins
//	CASESTUDIES             CS#<slug>             a published case study's list entry (summary and body text, for the list's index)
//	CASESTUDIES             REVISION              a counter every publish and removal adds one to: list readers reload when it moves
//
// A publish or a removal writes them together with its import record in one transaction.
const (
	caseStudyPKPrefix   = "CASESTUDY#"
	caseStudySK         = "CASESTUDY"
	caseStudiesPK       = "CASESTUDIES"
	caseStudyEntrySK    = "CS#"
	caseStudyRevisionSK = "REVISION"

	caseStudyPublished = "published"
	caseStudyDraft     = "draft"
	caseStudyRemoved   = "removed"

	// publishAttempts bounds how often a publish or removal re-reads and retries after another
	// one changed the same case study between its read and its write.
	publishAttempts = 5
)

// caseStudyItem is the stored form of CASESTUDY#<slug>: the case study, its state, and the
// S3 event time of the upload or removal that wrote it.
type caseStudyItem struct {
	casestudy.CaseStudy
	Status     string    `json:"status"`
	UploadedAt time.Time `json:"uploaded_at"`
}

// marshalItem encodes v for storage with pk and sk, leaving out empty lists, maps and nulls:
// nothing reads them back differently, and the items stay small.
func marshalItem(v any, pk, sk string) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMapWithOptions(v, jsonTags)
	if err != nil {
		return nil, err
	}
	for k, av := range item {
		switch av := av.(type) {
		case *types.AttributeValueMemberNULL:
			delete(item, k)
		case *types.AttributeValueMemberL:
			if len(av.Value) == 0 {
				delete(item, k)
			}
		case *types.AttributeValueMemberM:
			if len(av.Value) == 0 {
				delete(item, k)
			}
		}
	}
	item["pk"] = &types.AttributeValueMemberS{Value: pk}
	item["sk"] = &types.AttributeValueMemberS{Value: sk}
	return item, nil
}

// CaseStudyBySlug returns a published case study with its HTML: GetItem pk=CASESTUDY#<slug>
// sk=CASESTUDY. ok is false when there is none, or it is a draft or was removed.
func (s *Store) CaseStudyBySlug(ctx context.Context, slug string) (cs casestudy.CaseStudy, ok bool, err error) {
	it, ok, err := s.caseStudy(ctx, slug, false)
	if err != nil || !ok || it.Status != caseStudyPublished {
		return cs, false, err
	}
	return it.CaseStudy, true, nil
}

func (s *Store) caseStudy(ctx context.Context, slug string, consistent bool) (it caseStudyItem, ok bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(caseStudyPKPrefix+slug, caseStudySK),
		ConsistentRead: &consistent,
	})
	if err != nil {
		return it, false, fmt.Errorf("get case study %s: %w", slug, err)
	}
	if out.Item == nil {
		return it, false, nil
	}
	if err := attributevalue.UnmarshalMapWithOptions(out.Item, &it, jsonTagsDecode); err != nil {
		return it, false, fmt.Errorf("decode case study %s: %w", slug, err)
	}
	it.Normalise()
	return it, true, nil
}

// CaseStudiesRevision returns the case studies' revision, a number that changes whenever a
// case study is published or removed (0 before the first): GetItem pk=CASESTUDIES
// sk=REVISION, eventually consistent. The list route reloads its index when it moves.
func (s *Store) CaseStudiesRevision(ctx context.Context) (int64, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:            &s.table,
		Key:                  key(caseStudiesPK, caseStudyRevisionSK),
		ProjectionExpression: aws.String("revision"),
	})
	if err != nil {
		return 0, fmt.Errorf("get case studies revision: %w", err)
	}
	var rev struct {
		Revision int64 `dynamodbav:"revision"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &rev); err != nil {
		return 0, fmt.Errorf("decode case studies revision: %w", err)
	}
	return rev.Revision, nil
}

// CaseStudyEntries returns every published case study's list entry (summary and body text):
// Query pk=CASESTUDIES sk begins_with CS#, strongly consistent, a few pages of 1 MB at most
// for hundreds of case studies. The list route builds its index from them once per revision.
func (s *Store) CaseStudyEntries(ctx context.Context) ([]casestudy.Entry, error) {
	cond := expression.Key("pk").Equal(expression.Value(caseStudiesPK)).And(expression.Key("sk").BeginsWith(caseStudyEntrySK))
	var entries []casestudy.Entry
	err := s.queryEach(ctx, expression.NewBuilder().WithKeyCondition(cond), true, func(item map[string]types.AttributeValue) error {
		var e casestudy.Entry
		if err := attributevalue.UnmarshalMapWithOptions(item, &e, jsonTagsDecode); err != nil {
			return fmt.Errorf("decode case study entry: %w", err)
		}
		e.Normalise()
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("case study entries: %w", err)
	}
	return entries, nil
}

// CaseStudyLinks returns the published case studies about each directory organisation
// (slug, title), by organisation id, newest published first, then title A–Z: Query
// pk=CASESTUDIES sk begins_with CS#, projecting slug, title, published and organisation. Its
// cost grows with the number of case studies (hundreds), so the directory's organisation page
// reads it once per instance and revision (CaseStudiesRevision), not per request.
func (s *Store) CaseStudyLinks(ctx context.Context) (map[string][]casestudy.Ref, error) {
	cond := expression.Key("pk").Equal(expression.Value(caseStudiesPK)).And(expression.Key("sk").BeginsWith(caseStudyEntrySK))
	proj := expression.NamesList(expression.Name("slug"), expression.Name("title"), expression.Name("published"), expression.Name("organisation"))
	type link struct {
		casestudy.Ref
		Published    string                  `json:"published"`
		Organisation *casestudy.Organisation `json:"organisation"`
	}
	byOrg := map[string][]link{}
	err := s.queryEach(ctx, expression.NewBuilder().WithKeyCondition(cond).WithProjection(proj), false, func(item map[string]types.AttributeValue) error {
		var l link
		if err := attributevalue.UnmarshalMapWithOptions(item, &l, jsonTagsDecode); err != nil {
			return fmt.Errorf("decode case study link: %w", err)
		}
		if l.Organisation != nil && l.Organisation.ID != "" {
			byOrg[l.Organisation.ID] = append(byOrg[l.Organisation.ID], l)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("case study links: %w", err)
	}
	out := make(map[string][]casestudy.Ref, len(byOrg))
	for org, links := range byOrg {
		slices.SortFunc(links, func(a, b link) int {
			if c := strings.Compare(b.Published, a.Published); c != 0 {
				return c
			}
			return strings.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title))
		})
		refs := make([]casestudy.Ref, len(links))
		for i, l := range links {
			refs[i] = l.Ref
		}
		out[org] = refs
	}
	return out, nil
}

// PublishCaseStudy stores d as uploaded at (the S3 event time) and records rep with it, in one
// transaction: Put CASESTUDY#<slug>/CASESTUDY on condition that it is as read a moment before;
// Put (published) or Delete (draft) of its CASESTUDIES/CS#<slug> entry (which also links it
// to its organisation: see CaseStudyLinks); ADD 1 to CASESTUDIES/REVISION; and
// FinishImportPut of rep. published is false, and nothing is written, when an upload or
// removal of the slug later than at is already stored; the error is imports.ErrLeaseLost, and
// nothing is written, when the import is no longer this request's.
func (s *Store) PublishCaseStudy(ctx context.Context, d casestudy.Document, at time.Time, rep imports.Report) (published bool, err error) {
	next := caseStudyItem{CaseStudy: d.CaseStudy, Status: caseStudyPublished, UploadedAt: at}
	if d.Draft {
		next.Status = caseStudyDraft
	}
	return s.switchCaseStudy(ctx, next, d.Text, rep)
}

// RemoveCaseStudy unpublishes the case study slug, its object deleted at (the S3 event time),
// and records rep with it, in one transaction as PublishCaseStudy does: CASESTUDY#<slug>
// becomes a tombstone holding at (so that an upload older than the removal, delivered late,
// stays unpublished, while a later one publishes), its list entry and organisation link are
// deleted and the revision moves. removed is false, and nothing is written, when something
// later than at is stored.
func (s *Store) RemoveCaseStudy(ctx context.Context, slug string, at time.Time, rep imports.Report) (removed bool, err error) {
	tomb := caseStudyItem{Status: caseStudyRemoved, UploadedAt: at}
	tomb.Slug = slug
	return s.switchCaseStudy(ctx, tomb, "", rep)
}

// switchCaseStudy replaces the stored state of next's slug with next, unless something later
// is stored. The current state is read first (a stale upload, the usual way to lose, costs a
// read rather than a cancelled transaction) and the transaction is conditional on it being
// unchanged; if another writer changed it in between, it reads again and retries.
func (s *Store) switchCaseStudy(ctx context.Context, next caseStudyItem, text string, rep imports.Report) (bool, error) {
	slug := next.Slug
	for attempt := 0; ; attempt++ {
		prev, exists, err := s.caseStudy(ctx, slug, true)
		if err != nil {
			return false, err
		}
		if exists && prev.UploadedAt.After(next.UploadedAt) {
			return false, nil
		}
		if s.beforePublish != nil {
			s.beforePublish()
		}
		tx, finishAt, err := s.caseStudyTransaction(prev, exists, next, text, rep)
		if err != nil {
			return false, err
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		switch failed := failedConditions(err); {
		case err == nil:
			return true, nil
		case failed[finishAt]:
			return false, fmt.Errorf("%s case study %s: %w", next.Status, slug, imports.ErrLeaseLost)
		case failed[0] && attempt+1 < publishAttempts:
			continue // changed since it was read: decide again
		default:
			return false, fmt.Errorf("%s case study %s: %w", next.Status, slug, err)
		}
	}
}

// caseStudyTransaction returns the writes that replace prev (if exists) with next, the
// CASESTUDY# Put first, and the position of the import record's Put.
func (s *Store) caseStudyTransaction(prev caseStudyItem, exists bool, next caseStudyItem, text string, rep imports.Report) ([]types.TransactWriteItem, int, error) {
	slug := next.Slug
	item, err := marshalItem(next, caseStudyPKPrefix+slug, caseStudySK)
	if err != nil {
		return nil, 0, fmt.Errorf("encode case study %s: %w", slug, err)
	}
	cond := expression.AttributeNotExists(expression.Name("pk"))
	if exists {
		cond = expression.Name("uploaded_at").Equal(expression.Value(timeKey(prev.UploadedAt)))
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, 0, fmt.Errorf("build case study condition: %w", err)
	}
	tx := []types.TransactWriteItem{{Put: &types.Put{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}}}

	if next.Status == caseStudyPublished {
		entry, err := marshalItem(casestudy.Entry{Summary: next.Summary, Text: text}, caseStudiesPK, caseStudyEntrySK+slug)
		if err != nil {
			return nil, 0, fmt.Errorf("encode case study entry %s: %w", slug, err)
		}
		tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: entry}})
	} else {
		tx = append(tx, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: key(caseStudiesPK, caseStudyEntrySK+slug)}})
	}

	bump, err := expression.NewBuilder().WithUpdate(expression.Add(expression.Name("revision"), expression.Value(1))).Build()
	if err != nil {
		return nil, 0, fmt.Errorf("build revision update: %w", err)
	}
	tx = append(tx, types.TransactWriteItem{Update: &types.Update{
		TableName:                 &s.table,
		Key:                       key(caseStudiesPK, caseStudyRevisionSK),
		UpdateExpression:          bump.Update(),
		ExpressionAttributeNames:  bump.Names(),
		ExpressionAttributeValues: bump.Values(),
	}})

	finish, err := s.FinishImportPut(rep)
	if err != nil {
		return nil, 0, err
	}
	tx = append(tx, types.TransactWriteItem{Put: finish})
	return tx, len(tx) - 1, nil
}
