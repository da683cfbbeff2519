package dynamoserver

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	minidyn "github.com/truora/minidyn/server"
)

// Every write goes through putItem, deleteItem or updateItem, for two faults of the engine.
//
// Its secondary indexes keep, beside each item's index key, a sorted list of the keys that
// only a new item's put and a delete maintain correctly: a put that changes an existing
// item's index key, an update that takes an item out of an index or brings one in, and any
// write after them lose items from the index or have another item's entry overwritten or
// removed. So an item is only ever written to the engine by a put of an item it does not
// have, a put that keeps every index key, or a delete: a write that changes an existing
// item's index keys deletes it, then puts its new version.
//
// Its UpdateItem applies some actions wrongly (see parseUpdate), and with an index would
// change the index wrongly. So an update is applied to a copy of the item in a scratch engine
// that has the table's key and no index, the actions the engine gets wrong are then applied
// by the server, and the result is written by put.

// current returns the item of table at key, nil when there is none.
func (s *server) current(ctx context.Context, table *string, key item) (item, error) {
	out, err := s.db.GetItem(ctx, &minidyn.GetItemInput{TableName: table, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return item(out.Item).clone(), nil
}

// replace writes updated over old (nil: no item) in table, unconditionally, keeping the
// table's indexes right.
func (s *server) replace(ctx context.Context, table *string, ts *tableSchema, old, updated item) error {
	if err := ts.checkIndexKeys(updated); err != nil {
		return err
	}
	if old != nil && ts.indexKeysDiffer(old, updated) {
		if _, err := s.db.DeleteItem(ctx, &minidyn.DeleteItemInput{TableName: table, Key: ts.keyOf(old)}); err != nil {
			return err
		}
	}
	_, err := s.db.PutItem(ctx, &minidyn.PutItemInput{TableName: table, Item: updated.clone()})
	return err
}

// remove deletes the item of table at key, unconditionally.
func (s *server) remove(ctx context.Context, table *string, key item) error {
	_, err := s.db.DeleteItem(ctx, &minidyn.DeleteItemInput{TableName: table, Key: key})
	return err
}

// withItem gives a ConditionalCheckFailedException the item as it was when the request asked
// for it (ReturnValuesOnConditionCheckFailure ALL_OLD), which the engine leaves out.
func withItem(err error, rv ddbtypes.ReturnValuesOnConditionCheckFailure, old item) error {
	if e, ok := errors.AsType[*ddbtypes.ConditionalCheckFailedException](err); ok && rv == ddbtypes.ReturnValuesOnConditionCheckFailureAllOld && e.Item == nil && old != nil {
		e.Item = toSDK(old)
	}
	return err
}

// putItem carries out a PutItem. It answers the old item for ReturnValues ALL_OLD and nothing
// otherwise (the engine answers the new one, always).
func (s *server) putItem(ctx context.Context, in *minidyn.PutItemInput) (*minidyn.PutItemOutput, error) {
	ts := s.schema(in.TableName)
	if ts == nil {
		return s.db.PutItem(ctx, in) // which answers that the table does not exist
	}
	switch in.ReturnValues {
	case "", ddbtypes.ReturnValueNone, ddbtypes.ReturnValueAllOld:
	default:
		return nil, validationError("Return values set to invalid value")
	}
	key := ts.keyOf(in.Item)
	if key == nil {
		return s.db.PutItem(ctx, in) // which refuses the item
	}
	if err := ts.checkIndexKeys(in.Item); err != nil {
		return nil, err
	}
	old, err := s.current(ctx, in.TableName, key)
	if err != nil {
		return nil, err
	}
	if old != nil && ts.indexKeysDiffer(old, in.Item) {
		// The engine checks the condition and the expression attributes on a put of the
		// item as it is, which changes nothing; then the item is replaced.
		probe := *in
		probe.Item, probe.ReturnValues, probe.ReturnValuesOnConditionCheckFailure = old.clone(), "", ""
		if _, err := s.db.PutItem(ctx, &probe); err != nil {
			return nil, withItem(err, in.ReturnValuesOnConditionCheckFailure, old)
		}
		err = s.replace(ctx, in.TableName, ts, old, in.Item)
	} else {
		_, err = s.db.PutItem(ctx, in)
	}
	if err != nil {
		return nil, withItem(err, in.ReturnValuesOnConditionCheckFailure, old)
	}
	out := &minidyn.PutItemOutput{}
	if in.ReturnValues == ddbtypes.ReturnValueAllOld {
		out.Attributes = old
	}
	return out, nil
}

// deleteItem carries out a DeleteItem.
func (s *server) deleteItem(ctx context.Context, in *minidyn.DeleteItemInput) (*minidyn.DeleteItemOutput, error) {
	var old item
	if in.ReturnValuesOnConditionCheckFailure == ddbtypes.ReturnValuesOnConditionCheckFailureAllOld {
		old, _ = s.current(ctx, in.TableName, in.Key) // an error is the delete's too
	}
	out, err := s.db.DeleteItem(ctx, in)
	return out, withItem(err, in.ReturnValuesOnConditionCheckFailure, old)
}

// Attribute name and value placeholders of the SET that stands in, for the engine, for an
// update expression without SET actions: it sets an attribute of the scratch copy, which is
// then given back its value.
const (
	noopName  = "#dynamoserver_noop"
	noopValue = ":dynamoserver_noop"
	noopAttr  = "dynamoserver noop"
)

// updateItem carries out an UpdateItem: the engine checks the request and its condition and
// applies the SET actions to a scratch copy of the item, the server applies the other
// actions (see parseUpdate), then writes the result by replace.
func (s *server) updateItem(ctx context.Context, in *minidyn.UpdateItemInput) (*minidyn.UpdateItemOutput, error) {
	ts := s.schema(in.TableName)
	if ts == nil || in.UpdateExpression == nil {
		return s.db.UpdateItem(ctx, in) // which refuses it
	}
	old, err := s.current(ctx, in.TableName, in.Key)
	if err != nil {
		return nil, err
	}
	condition := aws.ToString(in.ConditionExpression)
	if err := checkPlaceholders(in.ExpressionAttributeNames, in.ExpressionAttributeValues, *in.UpdateExpression, condition); err != nil {
		return nil, err
	}
	plan, err := parseUpdate(*in.UpdateExpression, in.ExpressionAttributeNames, ts.keys)
	if err != nil && !errors.Is(err, errUnparsed) {
		return nil, err
	}

	engineIn := *in
	if plan != nil {
		// The engine's request: its SET actions only, with the placeholders they use.
		set := strings.Join(plan.engineSet, ", ")
		names, values := in.ExpressionAttributeNames, in.ExpressionAttributeValues
		if set == "" {
			set = noopName + " = " + noopValue
			names, values = maps.Clone(names), maps.Clone(values)
			if names == nil {
				names = map[string]string{}
			}
			if values == nil {
				values = map[string]*minidyn.AttributeValue{}
			}
			names[noopName], values[noopValue] = noopAttr, &minidyn.AttributeValue{NULL: aws.Bool(true)}
		}
		engineIn.UpdateExpression = aws.String("SET " + set)
		engineIn.ExpressionAttributeNames = usedNames(names, set+" "+condition)
		engineIn.ExpressionAttributeValues = usedValues(values, set+" "+condition)
	}
	if err := s.scratchTable(ctx, aws.ToString(in.TableName), ts); err != nil {
		return nil, err
	}
	if old != nil {
		if _, err := s.scratch.PutItem(ctx, &minidyn.PutItemInput{TableName: in.TableName, Item: old.clone()}); err != nil {
			return nil, err
		}
	}
	defer func() {
		_, _ = s.scratch.DeleteItem(ctx, &minidyn.DeleteItemInput{TableName: in.TableName, Key: in.Key})
	}()
	engineOut, err := s.scratch.UpdateItem(ctx, &engineIn)
	if err != nil {
		return nil, err
	}
	scratchOut, err := s.scratch.GetItem(ctx, &minidyn.GetItemInput{TableName: in.TableName, Key: in.Key})
	if err != nil {
		return nil, err
	}
	updated := item(scratchOut.Item).clone()
	if plan != nil {
		// Every attribute the engine was not to set, as it was (the engine rewrites every
		// number, rounded), then the other actions.
		for name := range updated {
			if !plan.engineTops[name] && !slices.Contains(ts.keys, name) {
				delete(updated, name)
			}
		}
		for name, v := range old {
			if !plan.engineTops[name] {
				updated[name] = cloneValue(v)
			}
		}
		if err := plan.apply(updated, in.ExpressionAttributeValues); err != nil {
			return nil, err
		}
	}
	if err := s.replace(ctx, in.TableName, ts, old, updated); err != nil {
		return nil, err
	}
	if plan == nil {
		return &minidyn.UpdateItemOutput{Attributes: engineOut.Attributes}, nil
	}
	return &minidyn.UpdateItemOutput{Attributes: plan.returnValues(string(in.ReturnValues), old, updated)}, nil
}

// checkPlaceholders refuses names and values that none of exprs uses, as DynamoDB does (and
// as the engine checks them: by substring).
func checkPlaceholders(names map[string]string, values map[string]*minidyn.AttributeValue, exprs ...string) error {
	all := strings.Join(exprs, " ")
	var unusedNames, unusedValues []string
	for k := range names {
		if !strings.Contains(all, k) {
			unusedNames = append(unusedNames, k)
		}
	}
	for k := range values {
		if !strings.Contains(all, k) {
			unusedValues = append(unusedValues, k)
		}
	}
	switch {
	case len(unusedNames) > 0:
		slices.Sort(unusedNames)
		return validationError("Value provided in ExpressionAttributeNames unused in expressions: keys: {" + strings.Join(unusedNames, ", ") + "}")
	case len(unusedValues) > 0:
		slices.Sort(unusedValues)
		return validationError("Value provided in ExpressionAttributeValues unused in expressions: keys: {" + strings.Join(unusedValues, ", ") + "}")
	}
	return nil
}

// usedNames returns the names of names that expr uses, nil for none.
func usedNames(names map[string]string, expr string) map[string]string {
	var out map[string]string
	for k, v := range names {
		if strings.Contains(expr, k) {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// usedValues returns the values of values that expr uses, nil for none.
func usedValues(values map[string]*minidyn.AttributeValue, expr string) map[string]*minidyn.AttributeValue {
	var out map[string]*minidyn.AttributeValue
	for k, v := range values {
		if strings.Contains(expr, k) {
			if out == nil {
				out = map[string]*minidyn.AttributeValue{}
			}
			out[k] = v
		}
	}
	return out
}
