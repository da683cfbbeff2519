package dynamoserver

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/truora/minidyn/interpreter"
	minidyn "github.com/truora/minidyn/server"
	mtypes "github.com/truora/minidyn/types"
)

// checkIndex refuses an IndexName the table does not have, as DynamoDB does (the engine
// would fail on it).
func (s *server) checkIndex(table, index *string) error {
	if ts := s.schema(table); ts != nil && index != nil && !ts.hasIndex(*index) {
		return validationError("The table does not have the specified index: " + *index)
	}
	return nil
}

// query carries out a Query. The engine pages a query wrongly: with a FilterExpression it
// counts toward the Limit every item it reads, those of other partitions included, so that
// pages come short and an empty one follows; and it answers nothing after an
// ExclusiveStartKey whose item has since been deleted or has left its place in the index. So
// the engine is asked for the key condition alone, and the server applies the filter and the
// projection to the page, as DynamoDB does after reading it (ScannedCount is the page's size,
// Count what the filter kept); and when the ExclusiveStartKey's item is no longer in its
// place, the engine is asked for every item that matches, and the server pages them:
// after the ExclusiveStartKey's place, Limit items, with a LastEvaluatedKey when the Limit
// stopped the page.
func (s *server) query(ctx context.Context, in *minidyn.QueryInput) (any, error) {
	if err := s.checkIndex(in.TableName, in.IndexName); err != nil {
		return nil, err
	}
	ts := s.schema(in.TableName)
	if ts == nil {
		return nil, errNoTable
	}
	if in.Limit != nil && *in.Limit < 1 {
		return nil, validationError(fmt.Sprintf("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *in.Limit))
	}
	keyCondition, filter, projection := aws.ToString(in.KeyConditionExpression), aws.ToString(in.FilterExpression), aws.ToString(in.ProjectionExpression)
	if err := checkPlaceholders(in.ExpressionAttributeNames, in.ExpressionAttributeValues, keyCondition, filter, projection); err != nil {
		return nil, err
	}
	var indexKeys []string
	for _, idx := range ts.indexes {
		if in.IndexName != nil && idx.name == *in.IndexName {
			indexKeys = idx.keys
		}
	}
	engineIn := &minidyn.QueryInput{
		TableName: in.TableName, IndexName: in.IndexName, KeyConditionExpression: in.KeyConditionExpression,
		ScanIndexForward: in.ScanIndexForward, ConsistentRead: in.ConsistentRead,
		ExpressionAttributeNames:  usedNames(in.ExpressionAttributeNames, keyCondition),
		ExpressionAttributeValues: usedValues(in.ExpressionAttributeValues, keyCondition),
	}
	inPlace, err := s.inPlace(ctx, in.TableName, ts, indexKeys, in.ExclusiveStartKey)
	if err != nil {
		return nil, err
	}
	if inPlace {
		engineIn.ExclusiveStartKey, engineIn.Limit = in.ExclusiveStartKey, in.Limit
	}
	out, err := s.db.Query(ctx, engineIn)
	if err != nil {
		return nil, err
	}
	read, last := out.Items, item(out.LastEvaluatedKey)
	if !inPlace {
		read = read[startAfter(read, in.ExclusiveStartKey, ts.keys, indexKeys, in.ScanIndexForward == nil || *in.ScanIndexForward):]
		if in.Limit != nil && len(read) >= int(*in.Limit) {
			read = read[:*in.Limit]
			last = item{}
			for _, name := range append(slices.Clone(ts.keys), indexKeys...) {
				last[name] = read[len(read)-1][name]
			}
		}
	}
	var lang interpreter.Language
	values := toTypes(in.ExpressionAttributeValues)
	var items []map[string]*minidyn.AttributeValue
	for _, it := range read {
		typed := toTypes(it)
		if filter != "" {
			keep, err := lang.Match(interpreter.MatchInput{
				TableName: aws.ToString(in.TableName), Expression: filter, ExpressionType: interpreter.ExpressionTypeFilter,
				Item: typed, Attributes: values, Aliases: in.ExpressionAttributeNames,
			})
			if err != nil {
				return nil, validationError(err.Error())
			}
			if !keep {
				continue
			}
		}
		if projection != "" {
			projected, err := lang.Project(interpreter.ProjectInput{Expression: projection, Item: typed, Aliases: in.ExpressionAttributeNames})
			if err != nil {
				return nil, validationError(err.Error())
			}
			it = fromTypes(projected)
		}
		items = append(items, it)
	}
	res := newItemsOutput(items, int32(len(items)), last)
	res.ScannedCount = int32(len(read))
	return res, nil
}

// inPlace reports whether a query may be paged by the engine: it has no ExclusiveStartKey
// esk, or esk's item is there, with the same index key if the query is of an index.
func (s *server) inPlace(ctx context.Context, table *string, ts *tableSchema, indexKeys []string, esk item) (bool, error) {
	if len(esk) == 0 {
		return true, nil
	}
	key := ts.keyOf(esk)
	if key == nil {
		return false, nil
	}
	cur, err := s.current(ctx, table, key)
	if err != nil || cur == nil {
		return false, err
	}
	for _, name := range indexKeys {
		if !equalValues(cur[name], esk[name]) {
			return false, nil
		}
	}
	return true, nil
}

// startAfter returns the position in items, a query's answer in the engine's order, that
// follows the ExclusiveStartKey esk (the table's keys, then the index's if the query is of
// one). When esk's item is no longer there, it is the position esk would have, by the
// engine's order: each key's values as text, joined by dots, compared as strings, the index's
// key first.
func startAfter(items []map[string]*minidyn.AttributeValue, esk item, keys, indexKeys []string, forward bool) int {
	target := orderKey(esk, keys, indexKeys)
	for i, it := range items {
		if orderKey(it, keys, indexKeys) == target {
			return i + 1
		}
	}
	for i, it := range items {
		c := strings.Compare(orderKey(it, keys, indexKeys), target)
		if (forward && c > 0) || (!forward && c < 0) {
			return i
		}
	}
	return len(items)
}

// orderKey is the key by which the engine orders it: the index's key, then the table's, each
// as its values' text joined by dots (and the two by a NUL, below any text).
func orderKey(it map[string]*minidyn.AttributeValue, keys, indexKeys []string) string {
	text := func(names []string) string {
		parts := make([]string, len(names))
		for i, name := range names {
			switch v := it[name]; valueType(v) {
			case "S":
				parts[i] = *v.S
			case "N":
				parts[i] = *v.N
			case "B":
				parts[i] = fmt.Sprint(v.B)
			}
		}
		return strings.Join(parts, ".")
	}
	if indexKeys == nil {
		return text(keys)
	}
	return text(indexKeys) + "\x00" + text(keys)
}

// toTypes returns it in the interpreter's types.
func toTypes(it map[string]*minidyn.AttributeValue) map[string]*mtypes.Item {
	if it == nil {
		return nil
	}
	out := make(map[string]*mtypes.Item, len(it))
	for name, v := range it {
		out[name] = toTypesValue(v)
	}
	return out
}

func toTypesValue(v *minidyn.AttributeValue) *mtypes.Item {
	if v == nil {
		return nil
	}
	out := &mtypes.Item{B: v.B, BOOL: v.BOOL, BS: v.BS, N: v.N, NS: v.NS, NULL: v.NULL, S: v.S, SS: v.SS, M: toTypes(v.M)}
	if v.L != nil {
		out.L = make([]*mtypes.Item, len(v.L))
		for i, e := range v.L {
			out.L[i] = toTypesValue(e)
		}
	}
	return out
}

// fromTypes returns it, in the interpreter's types, as the server's.
func fromTypes(it map[string]*mtypes.Item) map[string]*minidyn.AttributeValue {
	if it == nil {
		return nil
	}
	out := make(map[string]*minidyn.AttributeValue, len(it))
	for name, v := range it {
		out[name] = fromTypesValue(v)
	}
	return out
}

func fromTypesValue(v *mtypes.Item) *minidyn.AttributeValue {
	if v == nil {
		return nil
	}
	out := &minidyn.AttributeValue{B: v.B, BOOL: v.BOOL, BS: v.BS, N: v.N, NS: v.NS, NULL: v.NULL, S: v.S, SS: v.SS, M: fromTypes(v.M)}
	if v.L != nil {
		out.L = make([]*minidyn.AttributeValue, len(v.L))
		for i, e := range v.L {
			out.L[i] = fromTypesValue(e)
		}
	}
	return out
}
