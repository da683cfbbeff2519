// Package dynamo is the DynamoDB adapter: every access pattern of the single table is one
// method of Store, its key shape in its doc comment. The README's access-pattern table lists
// them all; keep the two in step.
//
// One table, keys pk (partition) and sk (sort), two global secondary indexes: gsi1 (gsi1pk,
// gsi1sk; the imports list) and gsi2 (gsi2pk, gsi2sk, every attribute: EVENTS by end time,
// OUTBOX mail by due time), TTL attribute expires_at. Items:
//
//	pk                      sk                  what
//	DIRECTORY               CURRENT             the published directory version (pointer)
//	DIRECTORY               VERSION#<version>   a directory version that was written (for pruning)
//	DIRECTORY#<version>     ORG#<id>            one organisation of a version
//	DIRECTORY#<version>     INDEX#<nnnn>        part of the version's search index (gzip; directory.ReadIndex)
//	IMPORT#<id>             IMPORT              an upload's import report; gsi1pk IMPORTS, gsi1sk <received_at>#<id>
//	CASESTUDY#<slug>, CASESTUDIES                 case studies (see casestudies.go)
//	EVENT#<id>              E#DETAIL, E#STATE,  an event, its booking state (gsi2 EVENTS), bookings,
//	                        B#, M#, W#, I#      email locks, waiting list, idempotency (events.go, bookings.go)
//	BOOKINGTOKEN#<sha256>   TOKEN               a cancel link's booking (bookings.go)
//	MAIL#<id>               MAIL                the mail outbox (outbox.go; gsi2 OUTBOX)
//
// No request path scans: every read is a GetItem or a Query on one partition.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/shared/awsconf"
)

// Store reads and writes sectorhub's table.
type Store struct {
	db    *dynamodb.Client
	table string
	// beforePublish and beforeClaim, if set (by tests), run between PublishDirectory's and
	// BeginImport's reads and their conditional writes.
	beforePublish, beforeClaim func()
}

// New returns a Store on table.
func New(db *dynamodb.Client, table string) *Store {
	return &Store{db: db, table: table}
}

// key returns the primary key attributes of an item.
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: pk},
		"sk": &types.AttributeValueMemberS{Value: sk},
	}
}

// jsonTags makes attributevalue use the json struct tags, so an item's attribute names are the
// API's field names and the domain types need no DynamoDB tags; and it stores times in a
// fixed-width UTC form, so that comparing them as strings (in conditions, in sort keys)
// compares them as times.
func jsonTags(o *attributevalue.EncoderOptions) {
	o.TagKey = "json"
	o.EncodeTime = func(t time.Time) (types.AttributeValue, error) {
		return &types.AttributeValueMemberS{Value: timeKey(t)}, nil
	}
}

// timeLayout is fixed-width (nanoseconds always present), unlike RFC3339Nano.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// timeKey formats t for storage and comparison.
func timeKey(t time.Time) string { return t.UTC().Format(timeLayout) }

func jsonTagsDecode(o *attributevalue.DecoderOptions) { o.TagKey = "json" }

// batchWrite writes requests in batches of 25, retrying unprocessed items with backoff.
func (s *Store) batchWrite(ctx context.Context, reqs []types.WriteRequest) error {
	for len(reqs) > 0 {
		n := min(25, len(reqs))
		pending := map[string][]types.WriteRequest{s.table: reqs[:n]}
		for attempt := 0; len(pending[s.table]) > 0; attempt++ {
			if attempt > 0 {
				if attempt > 8 {
					return fmt.Errorf("batch write: %d items still unprocessed after %d attempts", len(pending[s.table]), attempt)
				}
				if err := sleep(ctx, backoff(attempt)); err != nil {
					return err
				}
			}
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return fmt.Errorf("batch write: %w", err)
			}
			pending = out.UnprocessedItems
		}
		reqs = reqs[n:]
	}
	return nil
}

// backoff is the delay before retry attempt n: exponential with full jitter, capped at 2 s.
func backoff(attempt int) time.Duration {
	d := min(25*time.Millisecond<<attempt, 2*time.Second)
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// conditionFailed reports whether err is a failed condition, alone or in a transaction.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return true
			}
		}
	}
	return false
}

// failedConditions returns which items of a cancelled transaction failed their condition,
// by position; it is empty for any other error (or none).
func failedConditions(err error) map[int]bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil
	}
	failed := map[int]bool{}
	for i, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) == "ConditionalCheckFailed" {
			failed[i] = true
		}
	}
	return failed
}

// NewClient returns a DynamoDB client for a function, configured from its environment
// (see package awsconf; AWS_ENDPOINT_URL_DYNAMODB points it at a local server).
func NewClient(getenv func(string) string) *dynamodb.Client {
	return dynamodb.NewFromConfig(awsconf.FromEnv(getenv), func(o *dynamodb.Options) {
		o.BaseEndpoint = awsconf.Endpoint(getenv, "DYNAMODB")
	})
}
