package dynamoserver

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	minidyn "github.com/truora/minidyn/server"
)

// DynamoDB's limits on one BatchGetItem: the keys it may ask for, and the size of the items it
// answers (the keys of those past it are answered as unprocessed).
const (
	maxBatchGetKeys  = 100
	maxBatchGetBytes = 16 << 20
)

// maxBatchWriteRequests is DynamoDB's limit on the requests of one BatchWriteItem.
const maxBatchWriteRequests = 25

var errNoTable = &ddbtypes.ResourceNotFoundException{Message: aws.String("Cannot do operations on a non-existent table")}

type batchGetItemOutput struct {
	Responses       map[string][]item            `json:"Responses"`
	UnprocessedKeys map[string]keysAndAttributes `json:"UnprocessedKeys"`
}

type keysAndAttributes struct {
	Keys                     []item            `json:"Keys"`
	AttributesToGet          []string          `json:"AttributesToGet,omitempty"`
	ConsistentRead           *bool             `json:"ConsistentRead,omitempty"`
	ExpressionAttributeNames map[string]string `json:"ExpressionAttributeNames,omitempty"`
	ProjectionExpression     *string           `json:"ProjectionExpression,omitempty"`
}

// keyID identifies a key among others: its attributes encoded in name order.
func keyID(key item) string {
	b, err := json.Marshal(key)
	if err != nil {
		return fmt.Sprint(key)
	}
	return string(b)
}

// batchGetItem carries out a BatchGetItem as DynamoDB does: each key is read as GetItem reads
// it, with its table's projection; a missing item is left out; once the items answered reach
// 16 MB, the remaining keys are answered as UnprocessedKeys.
func (s *server) batchGetItem(ctx context.Context, in *minidyn.BatchGetItemInput) (*batchGetItemOutput, error) {
	if len(in.RequestItems) == 0 {
		return nil, validationError("BatchGetItem must have some requests set")
	}
	tables := slices.Sorted(maps.Keys(in.RequestItems))
	total := 0
	for _, table := range tables {
		ka := in.RequestItems[table]
		if len(ka.Keys) == 0 {
			return nil, validationError(fmt.Sprintf("1 validation error detected: Value '[]' at 'requestItems.%s.member.keys' failed to satisfy constraint: Member must have length greater than or equal to 1", table))
		}
		if len(ka.AttributesToGet) > 0 && ka.ProjectionExpression != nil {
			return nil, validationError("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}")
		}
		total += len(ka.Keys)
	}
	if total > maxBatchGetKeys {
		return nil, validationError("Too many items requested for the BatchGetItem call")
	}
	for _, table := range tables {
		seen := map[string]bool{}
		for _, key := range in.RequestItems[table].Keys {
			id := keyID(key)
			if seen[id] {
				return nil, validationError("Provided list of item keys contains duplicates")
			}
			seen[id] = true
		}
	}

	out := &batchGetItemOutput{Responses: map[string][]item{}, UnprocessedKeys: map[string]keysAndAttributes{}}
	size, full := 0, false
	for _, table := range tables {
		ka := in.RequestItems[table]
		projection, names := ka.ProjectionExpression, ka.ExpressionAttributeNames
		if len(ka.AttributesToGet) > 0 {
			// The legacy parameter, as the projection it stands for.
			parts := make([]string, len(ka.AttributesToGet))
			names = map[string]string{}
			for i, name := range ka.AttributesToGet {
				parts[i] = fmt.Sprintf("#attr%d", i)
				names[parts[i]] = name
			}
			projection = aws.String(strings.Join(parts, ", "))
		}
		out.Responses[table] = []item{}
		for _, key := range ka.Keys {
			if full {
				unprocessed := out.UnprocessedKeys[table]
				if unprocessed.Keys == nil {
					unprocessed = keysAndAttributes{
						AttributesToGet: ka.AttributesToGet, ConsistentRead: ka.ConsistentRead,
						ExpressionAttributeNames: ka.ExpressionAttributeNames, ProjectionExpression: ka.ProjectionExpression,
					}
				}
				unprocessed.Keys = append(unprocessed.Keys, key)
				out.UnprocessedKeys[table] = unprocessed
				continue
			}
			got, err := s.db.GetItem(ctx, &minidyn.GetItemInput{
				TableName: aws.String(table), Key: key, ConsistentRead: ka.ConsistentRead, ProjectionExpression: projection, ExpressionAttributeNames: names,
			})
			if err != nil {
				return nil, err
			}
			if len(got.Item) == 0 {
				continue
			}
			n := itemSize(got.Item)
			if size+n > maxBatchGetBytes && size > 0 {
				full = true
				out.UnprocessedKeys[table] = keysAndAttributes{
					Keys: []item{key}, AttributesToGet: ka.AttributesToGet, ConsistentRead: ka.ConsistentRead,
					ExpressionAttributeNames: ka.ExpressionAttributeNames, ProjectionExpression: ka.ProjectionExpression,
				}
				continue
			}
			size += n
			out.Responses[table] = append(out.Responses[table], got.Item)
		}
	}
	return out, nil
}

// itemSize is the size DynamoDB counts for it: its attributes' names and values.
func itemSize(it map[string]*minidyn.AttributeValue) int {
	n := 0
	for name, v := range it {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v *minidyn.AttributeValue) int {
	switch valueType(v) {
	case "S":
		return len(*v.S)
	case "N":
		return numberSize(*v.N)
	case "B":
		return len(v.B)
	case "BOOL", "NULL":
		return 1
	case "L":
		n := 3
		for _, e := range v.L {
			n += 1 + valueSize(e)
		}
		return n
	case "M":
		return 3 + itemSize(v.M) + len(v.M)
	case "SS":
		n := 0
		for _, s := range v.SS {
			n += len(*s)
		}
		return n
	case "NS":
		n := 0
		for _, s := range v.NS {
			n += numberSize(*s)
		}
		return n
	case "BS":
		n := 0
		for _, b := range v.BS {
			n += len(b)
		}
		return n
	}
	return 0
}

// numberSize is a number's size as DynamoDB counts it: about one byte per two significant
// digits, plus one.
func numberSize(n string) int {
	digits := strings.TrimLeft(strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, strings.SplitN(strings.ToLower(n), "e", 2)[0]), "0")
	return (len(digits)+1)/2 + 1
}

// batchWriteItem carries out a BatchWriteItem: each request as an unconditional PutItem or
// DeleteItem (see putItem). Its only answer with items, UnprocessedItems, is empty: this
// engine never throttles.
func (s *server) batchWriteItem(ctx context.Context, in *minidyn.BatchWriteItemInput) (any, error) {
	tables := slices.Sorted(maps.Keys(in.RequestItems))
	count := 0
	for _, table := range tables {
		for _, req := range in.RequestItems[table] {
			if (req.PutRequest == nil) == (req.DeleteRequest == nil) {
				return nil, validationError("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
			}
			count++
		}
	}
	switch {
	case count == 0:
		return nil, validationError("1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case count > maxBatchWriteRequests:
		return nil, validationError("Too many items requested for the BatchWriteItem call")
	}
	for _, table := range tables {
		ts := s.schema(aws.String(table))
		if ts == nil {
			return nil, errNoTable
		}
		seen := map[string]bool{}
		for _, req := range in.RequestItems[table] {
			key := item(nil)
			if req.PutRequest != nil {
				key = ts.keyOf(req.PutRequest.Item)
			} else {
				key = req.DeleteRequest.Key
			}
			id := keyID(key)
			if key != nil && seen[id] {
				return nil, validationError("Provided list of item keys contains duplicates")
			}
			seen[id] = true
		}
	}
	for _, table := range tables {
		for _, req := range in.RequestItems[table] {
			var err error
			if req.PutRequest != nil {
				_, err = s.putItem(ctx, &minidyn.PutItemInput{TableName: aws.String(table), Item: req.PutRequest.Item})
			} else {
				_, err = s.deleteItem(ctx, &minidyn.DeleteItemInput{TableName: aws.String(table), Key: req.DeleteRequest.Key})
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return map[string]map[string]any{"UnprocessedItems": {}}, nil
}
