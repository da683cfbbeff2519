package dynamo

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/shared/apperr"
	"sectorhub/shared/imports"
)

const (
	importPKPrefix = "IMPORT#"
	importSK       = "IMPORT"
	importsGSIPK   = "IMPORTS"
	gsi1           = "gsi1"
	// importRetention is how long import records are kept before DynamoDB's TTL removes them.
	importRetention = 400 * 24 * time.Hour
)

// storedProblemBytes bounds the problems' text in an import record, far below DynamoDB's
// 400 KB item limit whatever an uploaded file holds.
const storedProblemBytes = 100 << 10

// importItem encodes an import record with its keys: pk=IMPORT#<id> sk=IMPORT, listed through
// gsi1pk=IMPORTS gsi1sk=<received_at>#<id>. It keeps the first imports.StoredProblems problems,
// fewer if their text passes storedProblemBytes.
func importItem(rep imports.Report) (map[string]types.AttributeValue, error) {
	size := 0
	for i, p := range rep.Problems {
		size += len(p.Column) + len(p.Field) + len(p.Message) + 32
		if i == imports.StoredProblems || size > storedProblemBytes {
			rep.Problems = rep.Problems[:i]
			break
		}
	}
	item, err := attributevalue.MarshalMapWithOptions(rep, jsonTags)
	if err != nil {
		return nil, fmt.Errorf("encode import %s: %w", rep.ID, err)
	}
	if len(rep.Problems) == 0 {
		// No empty list stored: ImportByID reads it back as [].
		delete(item, "problems")
	}
	item["pk"] = &types.AttributeValueMemberS{Value: importPKPrefix + rep.ID}
	item["sk"] = &types.AttributeValueMemberS{Value: importSK}
	item["gsi1pk"] = &types.AttributeValueMemberS{Value: importsGSIPK}
	item["gsi1sk"] = &types.AttributeValueMemberS{Value: importsSortKey(rep.Record)}
	item["expires_at"] = &types.AttributeValueMemberN{Value: fmt.Sprint(rep.ReceivedAt.Add(importRetention).Unix())}
	return item, nil
}

// BeginImport claims an import before any work is done: PutItem pk=IMPORT#<id> sk=IMPORT with
// status processing, on condition that there is no record yet, or the record is still
// processing and either belongs to rep.RequestID (a retry of the same invocation: Lambda keeps
// the request ID when it retries an asynchronous event) or its lease has run out (the worker
// died). A record already there is read first (a consistent GetItem): a claim keeps its
// received_at, and so the import's place in the list, and a finished import costs no write.
// On success, claimed is the record as stored.
//
// When the claim fails, proceed is false and the record returned is the one that stopped it:
// a finished import (a re-delivered event, nothing to do) or one another worker is busy with.
// Its RequestID tells which invocation last claimed it.
func (s *Store) BeginImport(ctx context.Context, rep imports.Report, leaseUntil, now time.Time) (claimed imports.Report, proceed bool, err error) {
	existing, ok, err := s.ImportByID(ctx, rep.ID)
	if err != nil {
		return existing, false, err
	}
	if s.beforeClaim != nil {
		s.beforeClaim()
	}
	if ok {
		if existing.Status != imports.Processing || existing.RequestID != rep.RequestID && existing.LeaseUntil != nil && !existing.LeaseUntil.Before(now) {
			return existing, false, nil
		}
		rep.ReceivedAt = existing.ReceivedAt
	}
	rep.LeaseUntil = &leaseUntil
	item, err := importItem(rep)
	if err != nil {
		return claimed, false, err
	}
	processing := expression.Name("status").Equal(expression.Value(string(imports.Processing)))
	cond := expression.AttributeNotExists(expression.Name("pk")).Or(
		processing.And(expression.Or(
			expression.Name("request_id").Equal(expression.Value(rep.RequestID)),
			expression.Name("lease_until").LessThan(expression.Value(timeKey(now))),
		)))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return claimed, false, fmt.Errorf("build import condition: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if err == nil {
		return rep, true, nil
	}
	if !conditionFailed(err) {
		return claimed, false, fmt.Errorf("begin import %s: %w", rep.ID, err)
	}
	existing, ok, err = s.ImportByID(ctx, rep.ID)
	if err != nil {
		return existing, false, err
	}
	if !ok {
		return existing, false, fmt.Errorf("begin import %s: claim refused but no record found", rep.ID)
	}
	return existing, false, nil
}

// FinishImport records an import's outcome: PutItem pk=IMPORT#<id> sk=IMPORT, on condition
// that the import is still processing and held by rep.RequestID. Otherwise nothing is written
// and the error is imports.ErrLeaseLost.
func (s *Store) FinishImport(ctx context.Context, rep imports.Report) error {
	put, err := s.FinishImportPut(rep)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 put.TableName,
		Item:                      put.Item,
		ConditionExpression:       put.ConditionExpression,
		ExpressionAttributeNames:  put.ExpressionAttributeNames,
		ExpressionAttributeValues: put.ExpressionAttributeValues,
	})
	if conditionFailed(err) {
		return fmt.Errorf("finish import %s: %w", rep.ID, imports.ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("finish import %s: %w", rep.ID, err)
	}
	return nil
}

// FinishImportPut is FinishImport as one Put of a transaction, for a kind that records the
// outcome together with what it publishes: the transaction is cancelled (see leaseLost) unless
// the import is processing and held by rep.RequestID.
func (s *Store) FinishImportPut(rep imports.Report) (*types.Put, error) {
	item, err := importItem(rep)
	if err != nil {
		return nil, err
	}
	cond := expression.Name("status").Equal(expression.Value(string(imports.Processing))).
		And(expression.Name("request_id").Equal(expression.Value(rep.RequestID)))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("build finish condition: %w", err)
	}
	return &types.Put{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, nil
}

// ImportByID returns one import record: GetItem pk=IMPORT#<id> sk=IMPORT.
func (s *Store) ImportByID(ctx context.Context, id string) (rep imports.Report, ok bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(importPKPrefix+id, importSK),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return rep, false, fmt.Errorf("get import %s: %w", id, err)
	}
	if out.Item == nil {
		return rep, false, nil
	}
	if err := attributevalue.UnmarshalMapWithOptions(out.Item, &rep, jsonTagsDecode); err != nil {
		return rep, false, fmt.Errorf("decode import %s: %w", id, err)
	}
	if rep.Problems == nil {
		rep.Problems = []imports.Problem{}
	}
	return rep, true, nil
}

// importsPages bounds how many pages of the imports list one filtered request reads looking
// for matches, so that a rare filter costs a bounded read and a cursor rather than a long one.
const importsPages = 5

// Imports lists import records newest first, limit at a time, without their problems
// (ImportByID has them): Query gsi1 gsi1pk=IMPORTS, descending, with a filter on kind and
// status when f asks for one. gsi1 projects only the record's fields, not its problems. cursor
// is the opaque next value from the previous page ("" for the first); next is "" on the last
// page. A filtered page may hold fewer than limit records with a next cursor: the list goes on.
//
// Import records are few (a handful a week, each kept importRetention), so filtering the
// partition is cheap; each request reads at most importsPages pages of it.
func (s *Store) Imports(ctx context.Context, f imports.Filter, limit int, cursor string) (recs []imports.Record, next string, err error) {
	b := expression.NewBuilder().WithKeyCondition(expression.Key("gsi1pk").Equal(expression.Value(importsGSIPK)))
	var conds []expression.ConditionBuilder
	if f.Kind != "" {
		conds = append(conds, expression.Name("kind").Equal(expression.Value(f.Kind)))
	}
	if f.Status != "" {
		conds = append(conds, expression.Name("status").Equal(expression.Value(string(f.Status))))
	}
	switch len(conds) {
	case 1:
		b = b.WithFilter(conds[0])
	case 2:
		b = b.WithFilter(conds[0].And(conds[1]))
	}
	expr, err := b.Build()
	if err != nil {
		return nil, "", fmt.Errorf("build imports query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(gsi1),
		KeyConditionExpression:    expr.KeyCondition(),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	}
	if len(conds) > 0 {
		// Read more than the page needs, since the filter drops some: the loop below cuts the
		// page at limit and makes the cursor from the last record returned.
		in.Limit = aws.Int32(100)
	}
	if cursor != "" {
		if in.ExclusiveStartKey, err = decodeImportsCursor(cursor); err != nil {
			return nil, "", err
		}
	}
	recs = make([]imports.Record, 0, limit)
	for page := 0; page < importsPages; page++ {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("query imports: %w", err)
		}
		for i, item := range out.Items {
			var rec imports.Record
			if err := attributevalue.UnmarshalMapWithOptions(item, &rec, jsonTagsDecode); err != nil {
				return nil, "", fmt.Errorf("decode import: %w", err)
			}
			recs = append(recs, rec)
			if len(recs) == limit {
				if i < len(out.Items)-1 || out.LastEvaluatedKey != nil {
					next = encodeImportsCursor(importsGSIKey(rec))
				}
				return recs, next, nil
			}
		}
		if out.LastEvaluatedKey == nil {
			return recs, "", nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return recs, encodeImportsCursor(in.ExclusiveStartKey), nil
}

// importsGSIKey is the gsi1 sort key of a record, as a key map the cursor encodes.
func importsGSIKey(rec imports.Record) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"gsi1sk": &types.AttributeValueMemberS{Value: importsSortKey(rec)}}
}

func importsSortKey(rec imports.Record) string { return timeKey(rec.ReceivedAt) + "#" + rec.ID }

// The imports cursor carries the last item's gsi1sk and id; the fixed parts of the key are
// rebuilt on decoding, so a client cannot steer the query to another partition.
func encodeImportsCursor(k map[string]types.AttributeValue) string {
	sk, _ := k["gsi1sk"].(*types.AttributeValueMemberS)
	if sk == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(sk.Value))
}

func decodeImportsCursor(cursor string) (map[string]types.AttributeValue, error) {
	invalid := apperr.Errorf(apperr.Invalid, "cursor is not valid; use the next_cursor of the previous page")
	b, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil || len(b) > 200 {
		return nil, invalid
	}
	gsk := string(b)
	at, id, ok := strings.Cut(gsk, "#")
	if !ok || !validID(id) {
		return nil, invalid
	}
	if _, err := time.Parse(timeLayout, at); err != nil {
		return nil, invalid
	}
	return map[string]types.AttributeValue{
		"gsi1pk": &types.AttributeValueMemberS{Value: importsGSIPK},
		"gsi1sk": &types.AttributeValueMemberS{Value: gsk},
		"pk":     &types.AttributeValueMemberS{Value: importPKPrefix + id},
		"sk":     &types.AttributeValueMemberS{Value: importSK},
	}, nil
}

// validID reports whether id could be an import's ID (imports.ID makes hex; tests use words).
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
