package dynamoserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	minidyn "github.com/truora/minidyn/server"
)

// maxTransactItems is DynamoDB's limit on the actions of one transaction.
const maxTransactItems = 100

// action is one TransactItem with what it is about: its item's table and key,
// and the item as it was before the transaction (nil when there was none).
type action struct {
	minidyn.TransactWriteItem
	table  string
	key    item
	before item
}

// transactWriteItems carries out a TransactWriteItems as DynamoDB does, all
// or nothing, without minidyn's own, whose rollback breaks empty lists and
// maps. It runs under the exclusive lock, so no other request sees it half
// done and no other transaction can conflict with it (TransactionConflict is
// never answered). It reads the before-image of every action's item, then
// applies each action with its condition as a single-item write. When a
// condition fails it goes on checking the others (an action's condition only
// sees its own item, which no other action of the transaction may touch), then
// writes every changed item back as it was and answers
// TransactionCanceledException with one reason per action in DynamoDB's
// shape: ConditionalCheckFailed (with the item when the action asked for it
// by ReturnValuesOnConditionCheckFailure ALL_OLD) or None. Any other error
// (a bad expression, a missing table) is answered as itself, also with
// nothing written. A ClientRequestToken repeated with the same request is
// answered by idempotentTransaction without running it again.
func (s *server) transactWriteItems(ctx context.Context, in *minidyn.TransactWriteItemsInput) (*minidyn.TransactWriteItemsOutput, error) {
	if n := len(in.TransactItems); n == 0 || n > maxTransactItems {
		return nil, validationError(fmt.Sprintf("transactItems has %d items; it must have 1 to %d", n, maxTransactItems))
	}
	actions := make([]action, len(in.TransactItems))
	seen := map[string]bool{}
	for i, ti := range in.TransactItems {
		a, err := s.prepare(ctx, ti)
		if err != nil {
			return nil, err
		}
		key, err := json.Marshal(a.key) // with its attributes sorted by name
		if err != nil {
			return nil, err
		}
		id := a.table + "\x00" + string(key)
		if seen[id] {
			return nil, validationError("Transaction request cannot include multiple operations on one item")
		}
		seen[id] = true
		actions[i] = a
	}

	reasons := make([]cancellationReason, len(actions))
	cancelled := false
	var changed []action
	for i, a := range actions {
		wrote, err := s.apply(ctx, a)
		if _, ok := errors.AsType[*ddbtypes.ConditionalCheckFailedException](err); ok {
			cancelled = true
			reasons[i] = cancellationReason{Code: "ConditionalCheckFailed", Message: "The conditional request failed"}
			if returnValuesOnConditionCheckFailure(a.TransactWriteItem) == ddbtypes.ReturnValuesOnConditionCheckFailureAllOld {
				reasons[i].Item = a.before
			}
			continue
		}
		if err != nil {
			if undoErr := s.undo(ctx, changed); undoErr != nil {
				return nil, undoErr
			}
			return nil, err
		}
		reasons[i].Code = "None"
		if wrote {
			changed = append(changed, a)
		}
	}
	if !cancelled {
		return &minidyn.TransactWriteItemsOutput{}, nil
	}
	if err := s.undo(ctx, changed); err != nil {
		return nil, err
	}
	codes := make([]string, len(reasons))
	for i, r := range reasons {
		codes[i] = r.Code
	}
	return nil, &apiError{
		Type:                "TransactionCanceledException",
		Message:             "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
		CancellationReasons: reasons,
	}
}

// prepare finds the table and key of ti's item and reads its before-image.
func (s *server) prepare(ctx context.Context, ti minidyn.TransactWriteItem) (action, error) {
	a := action{TransactWriteItem: ti}
	kinds := 0
	for _, set := range []bool{ti.Put != nil, ti.Update != nil, ti.Delete != nil, ti.ConditionCheck != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return a, validationError("a TransactItem must have exactly one of Put, Update, Delete and ConditionCheck")
	}
	switch {
	case ti.Put != nil:
		a.table = aws.ToString(ti.Put.TableName)
		ts := s.schema(&a.table)
		if ts == nil {
			return a, errNoTable
		}
		a.key = item{}
		for _, name := range ts.keys {
			if v, ok := ti.Put.Item[name]; ok {
				a.key[name] = v
			}
		}
	case ti.Update != nil:
		a.table, a.key = aws.ToString(ti.Update.TableName), ti.Update.Key
	case ti.Delete != nil:
		a.table, a.key = aws.ToString(ti.Delete.TableName), ti.Delete.Key
	default:
		a.table, a.key = aws.ToString(ti.ConditionCheck.TableName), ti.ConditionCheck.Key
		if aws.ToString(ti.ConditionCheck.ConditionExpression) == "" {
			return a, validationError("ConditionCheck requires a ConditionExpression")
		}
	}
	out, err := s.db.GetItem(ctx, &minidyn.GetItemInput{TableName: &a.table, Key: a.key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return a, err
	}
	if len(out.Item) > 0 {
		a.before = item(out.Item).clone()
	}
	return a, nil
}

// apply carries out a as a single-item write with its condition and reports
// whether it changed the item. A ConditionCheck is a conditional delete whose
// item is at once put back.
func (s *server) apply(ctx context.Context, a action) (bool, error) {
	switch {
	case a.Put != nil:
		p := a.Put
		_, err := s.putItem(ctx, &minidyn.PutItemInput{
			TableName: p.TableName, Item: p.Item, ConditionExpression: p.ConditionExpression,
			ExpressionAttributeNames: p.ExpressionAttributeNames, ExpressionAttributeValues: p.ExpressionAttributeValues,
		})
		return err == nil, err
	case a.Update != nil:
		u := a.Update
		_, err := s.updateItem(ctx, &minidyn.UpdateItemInput{
			TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
			ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
		})
		return err == nil, err
	case a.Delete != nil:
		d := a.Delete
		_, err := s.deleteItem(ctx, &minidyn.DeleteItemInput{
			TableName: d.TableName, Key: d.Key, ConditionExpression: d.ConditionExpression,
			ExpressionAttributeNames: d.ExpressionAttributeNames, ExpressionAttributeValues: d.ExpressionAttributeValues,
		})
		return err == nil, err
	default:
		c := a.ConditionCheck
		_, err := s.deleteItem(ctx, &minidyn.DeleteItemInput{
			TableName: c.TableName, Key: c.Key, ConditionExpression: c.ConditionExpression,
			ExpressionAttributeNames: c.ExpressionAttributeNames, ExpressionAttributeValues: c.ExpressionAttributeValues,
		})
		if err != nil {
			return false, err
		}
		return false, s.restore(ctx, a)
	}
}

// undo writes the items of changed back as they were before the transaction.
func (s *server) undo(ctx context.Context, changed []action) error {
	for i := len(changed) - 1; i >= 0; i-- {
		if err := s.restore(ctx, changed[i]); err != nil {
			return &apiError{Type: "InternalServerError", Message: "transaction rollback failed: " + err.Error()}
		}
	}
	return nil
}

// restore writes a's item back as it was before the transaction: its
// before-image, or no item.
func (s *server) restore(ctx context.Context, a action) error {
	if a.before == nil {
		return s.remove(ctx, &a.table, a.key)
	}
	ts := s.schema(&a.table)
	if ts == nil {
		return errNoTable
	}
	cur, err := s.current(ctx, &a.table, a.key)
	if err != nil {
		return err
	}
	return s.replace(ctx, &a.table, ts, cur, a.before)
}

func returnValuesOnConditionCheckFailure(ti minidyn.TransactWriteItem) ddbtypes.ReturnValuesOnConditionCheckFailure {
	switch {
	case ti.Put != nil:
		return ti.Put.ReturnValuesOnConditionCheckFailure
	case ti.Update != nil:
		return ti.Update.ReturnValuesOnConditionCheckFailure
	case ti.Delete != nil:
		return ti.Delete.ReturnValuesOnConditionCheckFailure
	case ti.ConditionCheck != nil:
		return ti.ConditionCheck.ReturnValuesOnConditionCheckFailure
	}
	return ""
}
