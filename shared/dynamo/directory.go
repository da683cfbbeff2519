package dynamo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/shared/directory"
	"sectorhub/shared/imports"
)

const (
	directoryPK = "DIRECTORY"
	currentSK   = "CURRENT"
	versionSK   = "VERSION#"
	orgSK       = "ORG#"
	// writers is how many batch writes run at once while writing a version.
	writers = 4
)

func versionPK(version string) string { return "DIRECTORY#" + version }

// CurrentDirectory returns the published directory version: GetItem pk=DIRECTORY sk=CURRENT,
// eventually consistent (readers may see the previous version for a moment; it is kept for
// them). ok is false when nothing has been published yet.
func (s *Store) CurrentDirectory(ctx context.Context) (p directory.Published, ok bool, err error) {
	return s.currentDirectory(ctx, false)
}

// LiveDirectory is CurrentDirectory with a strongly consistent read, for writers that decide
// from it (what to prune, whether an upload is stale).
func (s *Store) LiveDirectory(ctx context.Context) (p directory.Published, ok bool, err error) {
	return s.currentDirectory(ctx, true)
}

func (s *Store) currentDirectory(ctx context.Context, consistent bool) (p directory.Published, ok bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(directoryPK, currentSK),
		ConsistentRead: &consistent,
	})
	if err != nil {
		return p, false, fmt.Errorf("get current directory: %w", err)
	}
	if out.Item == nil {
		return p, false, nil
	}
	if err := attributevalue.UnmarshalMapWithOptions(out.Item, &p, jsonTagsDecode); err != nil {
		return p, false, fmt.Errorf("decode current directory: %w", err)
	}
	return p, true, nil
}

// OrganisationByID returns one organisation of a version: GetItem pk=DIRECTORY#<version>
// sk=ORG#<id>. ok is false when there is none.
func (s *Store) OrganisationByID(ctx context.Context, version, id string) (o directory.Organisation, ok bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key(versionPK(version), orgSK+id)})
	if err != nil {
		return o, false, fmt.Errorf("get organisation %s: %w", id, err)
	}
	if out.Item == nil {
		return o, false, nil
	}
	if err := attributevalue.UnmarshalMapWithOptions(out.Item, &o, jsonTagsDecode); err != nil {
		return o, false, fmt.Errorf("decode organisation %s: %w", id, err)
	}
	return o, true, nil
}

// parallelBatchWrite splits reqs among a few concurrent batch writers.
func (s *Store) parallelBatchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	per := (len(reqs) + writers - 1) / writers
	per = (per + 24) / 25 * 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for start := 0; start < len(reqs); start += per {
		part := reqs[start:min(start+per, len(reqs))]
		wg.Go(func() {
			if err := s.batchWrite(ctx, part); err != nil {
				errs <- err
				cancel()
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// PublishDirectory makes version p the live directory and records rep (its import, with
// status Published) in one transaction: Put pk=DIRECTORY sk=CURRENT on condition that the
// current version was uploaded no later than p (or there is none), and FinishImportPut of the
// import record (on condition that the import is processing and held by rep's request).
// published is false, and nothing is written, when a later upload is already live; the error
// is imports.ErrLeaseLost, and nothing is written, when the import is no longer this
// request's.
//
// The condition is read first, so that a stale upload (the usual way it fails) costs a read
// rather than a cancelled transaction, which DynamoDB bills as writes; the transaction's own
// condition still guards against a concurrent publish (beforePublish lets a test step in
// between the two).
func (s *Store) PublishDirectory(ctx context.Context, p directory.Published, rep imports.Report) (published bool, err error) {
	if live, ok, err := s.LiveDirectory(ctx); err != nil {
		return false, err
	} else if ok && live.UploadedAt.After(p.UploadedAt) {
		return false, nil
	}
	if s.beforePublish != nil {
		s.beforePublish()
	}
	cur, err := attributevalue.MarshalMapWithOptions(p, jsonTags)
	if err != nil {
		return false, fmt.Errorf("encode current directory: %w", err)
	}
	cur["pk"] = &types.AttributeValueMemberS{Value: directoryPK}
	cur["sk"] = &types.AttributeValueMemberS{Value: currentSK}
	cond := expression.AttributeNotExists(expression.Name("pk")).
		Or(expression.Name("uploaded_at").LessThanEqual(expression.Value(timeKey(p.UploadedAt))))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("build publish condition: %w", err)
	}
	finish, err := s.FinishImportPut(rep)
	if err != nil {
		return false, err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                 &s.table,
			Item:                      cur,
			ConditionExpression:       expr.Condition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		}},
		{Put: finish},
	}})
	switch failed := failedConditions(err); {
	case failed[1]:
		return false, fmt.Errorf("publish directory %s: %w", p.Version, imports.ErrLeaseLost)
	case failed[0]:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("publish directory %s: %w", p.Version, err)
	}
	return true, nil
}

// PruneDirectoryVersions deletes the versions no reader or writer needs: every written
// version except the live one, the one published before it (kept so that a reader that read
// the old pointer a moment ago still finds its items), and any written after writtenBefore
// (another import may still be writing it, to publish it next). Query pk=DIRECTORY sk
// begins_with VERSION#, then Query and batch-delete each pruned version's partition.
func (s *Store) PruneDirectoryVersions(ctx context.Context, live, previous string, writtenBefore time.Time) error {
	cond := expression.Key("pk").Equal(expression.Value(directoryPK)).And(expression.Key("sk").BeginsWith(versionSK))
	cutoff := timeKey(writtenBefore)
	return s.queryEach(ctx, expression.NewBuilder().WithKeyCondition(cond), true, func(item map[string]types.AttributeValue) error {
		var rec struct {
			Version   string `dynamodbav:"version"`
			WrittenAt string `dynamodbav:"written_at"`
		}
		if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
			return fmt.Errorf("decode version record: %w", err)
		}
		if rec.Version == live || rec.Version == previous || rec.WrittenAt >= cutoff {
			return nil
		}
		return s.deleteVersion(ctx, rec.Version)
	})
}

// deleteVersion deletes a version's items, then its VERSION# record, so that an interrupted
// prune is finished by the next one.
func (s *Store) deleteVersion(ctx context.Context, version string) error {
	items, err := s.queryKeys(ctx, versionPK(version))
	if err != nil {
		return err
	}
	reqs := make([]types.WriteRequest, 0, len(items)+1)
	for _, it := range items {
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key(it.pk, it.sk)}})
	}
	if err := s.parallelBatchWrite(ctx, reqs); err != nil {
		return fmt.Errorf("prune version %s: %w", version, err)
	}
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(directoryPK, versionSK+version)}); err != nil {
		return fmt.Errorf("prune version record %s: %w", version, err)
	}
	return nil
}

type itemKey struct{ pk, sk string }

// queryKeys returns the keys of the items in partition pk.
func (s *Store) queryKeys(ctx context.Context, pk string) ([]itemKey, error) {
	b := expression.NewBuilder().WithKeyCondition(expression.Key("pk").Equal(expression.Value(pk))).
		WithProjection(expression.NamesList(expression.Name("pk"), expression.Name("sk")))
	var keys []itemKey
	err := s.queryEach(ctx, b, false, func(item map[string]types.AttributeValue) error {
		var k struct {
			PK string `dynamodbav:"pk"`
			SK string `dynamodbav:"sk"`
		}
		if err := attributevalue.UnmarshalMap(item, &k); err != nil {
			return fmt.Errorf("decode key: %w", err)
		}
		keys = append(keys, itemKey{k.PK, k.SK})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("keys of %s: %w", pk, err)
	}
	return keys, nil
}

// queryEach runs the Query that b describes (a key condition on one partition, perhaps a
// projection), page by page, and calls fn with every item.
func (s *Store) queryEach(ctx context.Context, b expression.Builder, consistent bool, fn func(map[string]types.AttributeValue) error) error {
	expr, err := b.Build()
	if err != nil {
		return fmt.Errorf("build query: %w", err)
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 &s.table,
		ConsistentRead:            &consistent,
		KeyConditionExpression:    expr.KeyCondition(),
		ProjectionExpression:      expr.Projection(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("query: %w", err)
		}
		for _, item := range page.Items {
			if err := fn(item); err != nil {
				return err
			}
		}
	}
	return nil
}
