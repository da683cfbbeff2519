package dynamoserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"sectorhub/infra/emulators"
)

// The tests in this file run against the embedded server and, when the emulator runner has
// started it (go run ./infra/emulators/run -- go test ...), DynamoDB Local, with the same
// expectations: what DynamoDB answers.

// target is a server a parity test runs against.
type target struct {
	name   string
	client *dynamodb.Client
}

// targets returns the embedded server, started for the test, and DynamoDB Local when the
// emulator runner gave its endpoint.
func targets(t *testing.T) []target {
	t.Helper()
	srv := httptest.NewServer(New())
	t.Cleanup(srv.Close)
	out := []target{{"embedded", newClient(srv.URL)}}
	endpoint := os.Getenv(emulators.EnvDynamoDBEndpoint)
	if endpoint == "" && os.Getenv(emulators.EnvRequired) != "" {
		t.Fatalf("%s is set but %s is not", emulators.EnvRequired, emulators.EnvDynamoDBEndpoint)
	}
	if endpoint != "" {
		out = append(out, target{"dynamodb-local", newClient(endpoint)})
	}
	return out
}

func newClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "eu-west-2",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// forEachTarget runs fn as a subtest per target, each with a new table from createTable.
func forEachTarget(t *testing.T, fn func(t *testing.T, c *dynamodb.Client, table string)) {
	t.Helper()
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			fn(t, tg.client, createTable(t, tg.client))
		})
	}
}

// createTable creates a table of a name no other test uses, with partition key pk and sort
// key sk, and index "gsi" on gpk and gsk, everything projected (all strings); it is deleted
// when the test ends.
func createTable(t *testing.T, c *dynamodb.Client) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, t.Name())
	name = name[max(0, len(name)-200):] + "-" + hex.EncodeToString(b[:])
	str := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	keys := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
		}
	}
	ctx := context.Background()
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{str("pk"), str("sk"), str("gpk"), str("gsk")},
		KeySchema:            keys("pk", "sk"),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String("gsi"), KeySchema: keys("gpk", "gsk"), Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			t.Errorf("DeleteTable %s: %v", name, err)
		}
	})
	return name
}

// errorCode returns the API error code of err, "" for none.
func errorCode(err error) string {
	if err == nil {
		return ""
	}
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		return apiErr.ErrorCode()
	}
	return err.Error()
}

// attributes returns the item at k rendered without its key, "" for no item.
func attributes(t *testing.T, c *dynamodb.Client, table string, k map[string]types.AttributeValue) string {
	t.Helper()
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetItem(%s): %v", render(k), err)
	}
	if out.Item == nil {
		return ""
	}
	delete(out.Item, "pk")
	delete(out.Item, "sk")
	return render(out.Item)
}

func ss(vs ...string) types.AttributeValue { return &types.AttributeValueMemberSS{Value: vs} }

func m(kv ...any) types.AttributeValue { return &types.AttributeValueMemberM{Value: with(nil, kv...)} }

func l(vs ...types.AttributeValue) types.AttributeValue {
	return &types.AttributeValueMemberL{Value: vs}
}

// TestUpdateItemActions: every action of an update expression applies as DynamoDB applies it,
// REMOVE of a top-level attribute and ADD or DELETE on a nested path included, each operand
// read from the item as it was before the update.
func TestUpdateItemActions(t *testing.T) {
	tests := []struct {
		name    string
		before  map[string]types.AttributeValue // the item's attributes besides its key; nil: no item
		expr    string
		cond    string
		names   map[string]string
		values  map[string]types.AttributeValue
		ret     types.ReturnValue
		wantRet string // the answer's attributes, rendered
		want    string // the item after the call, without its key
		errCode string
	}{
		{
			name: "REMOVE a top-level attribute", before: with(nil, "a", n(1), "b", n(2)), expr: "REMOVE a",
			ret: types.ReturnValueUpdatedOld, wantRet: "{a:1}", want: "{b:2}",
		},
		{
			name: "REMOVE by name placeholder, and a nested attribute", before: with(nil, "a", n(1), "b", n(2), "m", m("x", n(1), "y", n(2))),
			expr: "REMOVE #a, m.x", names: map[string]string{"#a": "a"},
			ret: types.ReturnValueAllNew, wantRet: `{b:2 m:M{y:2} pk:"u" sk:"REMOVE by name placeholder, and a nested attribute"}`, want: "{b:2 m:M{y:2}}",
		},
		{
			name: "SET reads an attribute the expression removes", before: with(nil, "a", n(1)), expr: "REMOVE a SET d = a",
			ret: types.ReturnValueUpdatedNew, wantRet: "{d:1}", want: "{d:1}",
		},
		{
			name: "REMOVE an absent attribute", before: with(nil, "b", n(2)), expr: "REMOVE a",
			ret: types.ReturnValueUpdatedOld, wantRet: "{}", want: "{b:2}",
		},
		{
			name: "REMOVE on a missing item creates it", expr: "REMOVE a",
			ret: types.ReturnValueAllOld, wantRet: "{}", want: "{}",
		},
		{
			name: "ADD to a nested number", before: with(nil, "progress", m("sent", n(3), "failed", n(1))), expr: "ADD progress.sent :n",
			values: with(nil, ":n", n(2)), ret: types.ReturnValueUpdatedNew, wantRet: "{progress:M{failed:1 sent:5}}", want: "{progress:M{failed:1 sent:5}}",
		},
		{
			name: "ADD to an absent nested number", before: with(nil, "progress", m()), expr: "ADD progress.sent :n",
			values: with(nil, ":n", n(2)), ret: types.ReturnValueUpdatedOld, wantRet: "{}", want: "{progress:M{sent:2}}",
		},
		{
			name: "ADD by name placeholders", before: with(nil, "progress", m("sent", n(3))), expr: "ADD #p.#s :n",
			names: map[string]string{"#p": "progress", "#s": "sent"}, values: with(nil, ":n", n(2)), want: "{progress:M{sent:5}}",
		},
		{
			name: "ADD decimals", before: with(nil, "m", m("x", &types.AttributeValueMemberN{Value: "1.5"})), expr: "ADD m.x :n",
			values: with(nil, ":n", &types.AttributeValueMemberN{Value: "2.25"}), want: "{m:M{x:3.75}}",
		},
		{
			name: "ADD a negative number", before: with(nil, "m", m("x", n(1))), expr: "ADD m.x :n",
			values: with(nil, ":n", n(-3)), want: "{m:M{x:-2}}",
		},
		{
			name: "ADD to a list element", before: with(nil, "l", l(n(1), n(5))), expr: "ADD l[1] :n",
			values: with(nil, ":n", n(2)), want: "{l:L[1 7]}",
		},
		{
			name: "ADD to a nested string set", before: with(nil, "m", m("s", ss("a"))), expr: "ADD m.s :s",
			values: with(nil, ":s", ss("b", "a")), want: "{m:M{s:SS[a b]}}",
		},
		{
			name: "ADD a new nested set", before: with(nil, "m", m()), expr: "ADD m.s :s",
			values: with(nil, ":s", ss("a")), want: "{m:M{s:SS[a]}}",
		},
		{
			name: "DELETE from a nested set", before: with(nil, "m", m("s", ss("a", "b"))), expr: "DELETE m.s :s",
			values: with(nil, ":s", ss("a", "c")), want: "{m:M{s:SS[b]}}",
		},
		{
			name: "DELETE the last elements of a nested set", before: with(nil, "m", m("s", ss("a", "b"))), expr: "DELETE m.s :s",
			values: with(nil, ":s", ss("a", "b")), want: "{m:M{}}",
		},
		{
			name: "DELETE the last element of a top-level set", before: with(nil, "s", ss("a"), "b", n(1)), expr: "DELETE s :s",
			values: with(nil, ":s", ss("a")), want: "{b:1}",
		},
		{
			name: "ADD under an absent map", before: with(nil, "b", n(1)), expr: "ADD progress.sent :n",
			values: with(nil, ":n", n(2)), want: "{b:1}", errCode: "ValidationException",
		},
		{
			name: "ADD a string to a nested number", before: with(nil, "m", m("x", n(1))), expr: "ADD m.x :s",
			values: with(nil, ":s", s("x")), want: "{m:M{x:1}}", errCode: "ValidationException",
		},
		{
			name: "a failed condition changes nothing", before: with(nil, "a", n(1), "m", m("x", n(1))), expr: "REMOVE a ADD m.x :n", cond: "a = :n",
			values: with(nil, ":n", n(2)), want: "{a:1 m:M{x:1}}", errCode: "ConditionalCheckFailedException",
		},
		{
			name: "a condition that holds, with placeholders of its own", before: with(nil, "a", n(1), "b", n(2)), expr: "REMOVE a SET c = :one", cond: "#b = :two",
			names: map[string]string{"#b": "b"}, values: with(nil, ":one", n(1), ":two", n(2)), want: "{b:2 c:1}",
		},
		{
			name: "SET, ADD and REMOVE together", before: with(nil, "a", n(1), "c", n(0), "m", m("x", n(1))),
			expr: "SET b = a ADD m.x :n, c :n REMOVE a", values: with(nil, ":n", n(2)),
			ret: types.ReturnValueUpdatedOld, wantRet: "{a:1 c:0 m:M{x:1}}", want: "{b:1 c:2 m:M{x:3}}",
		},
		{
			name: "keywords in lower case", before: with(nil, "a", n(1), "b", n(2)), expr: "set c = a remove b", want: "{a:1 c:1}",
		},
		{
			name: "REMOVE list elements by their positions before the update", before: with(nil, "l", l(n(1), n(2), n(3))), expr: "REMOVE l[0], l[1]",
			want: "{l:L[3]}",
		},
		{
			name: "ADD to a top-level number exactly", before: with(nil, "a", &types.AttributeValueMemberN{Value: "12345678901234567890123"}), expr: "ADD a :n",
			values: with(nil, ":n", n(100)), want: "{a:12345678901234567890223}",
		},
		{
			name: "a computed SET leaves the other numbers exact", before: with(nil, "a", &types.AttributeValueMemberN{Value: "12345678901234567890123"}, "c", n(1)),
			expr: "SET c = c + :n", values: with(nil, ":n", n(2)), want: "{a:12345678901234567890123 c:3}",
		},
		{
			name: "SET a nested placeholder's value exactly", before: with(nil, "m", m("y", n(1))), expr: "SET m.x = :n",
			values: with(nil, ":n", &types.AttributeValueMemberN{Value: "0.100000000000000000001"}), want: "{m:M{x:0.100000000000000000001 y:1}}",
		},
		{
			name: "SET under an absent map", before: with(nil, "a", n(1)), expr: "SET m.x = :n",
			values: with(nil, ":n", n(2)), want: "{a:1}", errCode: "ValidationException",
		},
		{
			name: "REMOVE under an absent map", before: with(nil, "a", n(1)), expr: "REMOVE m.x", want: "{a:1}", errCode: "ValidationException",
		},
		{
			name: "overlapping paths", before: with(nil, "m", m("x", n(1))), expr: "SET m.x = :n REMOVE m",
			values: with(nil, ":n", n(2)), want: "{m:M{x:1}}", errCode: "ValidationException",
		},
		{
			name: "a key attribute", before: with(nil, "a", n(1)), expr: "REMOVE a, sk", want: "{a:1}", errCode: "ValidationException",
		},
		{
			name: "an undefined name placeholder", before: with(nil, "a", n(1)), expr: "REMOVE #a", want: "{a:1}", errCode: "ValidationException",
		},
		{
			name: "an unused value", before: with(nil, "a", n(1)), expr: "REMOVE a", values: with(nil, ":n", n(2)), want: "{a:1}", errCode: "ValidationException",
		},
		{
			name: "a repeated clause", before: with(nil, "a", n(1)), expr: "SET b = :n SET c = :n", values: with(nil, ":n", n(2)), want: "{a:1}", errCode: "ValidationException",
		},
		{
			name: "UPDATED_NEW has every attribute set, changed or not", before: with(nil, "a", n(2), "b", n(1)), expr: "SET a = :n REMOVE b",
			values: with(nil, ":n", n(2)), ret: types.ReturnValueUpdatedNew, wantRet: "{a:2}", want: "{a:2}",
		},
	}
	forEachTarget(t, func(t *testing.T, c *dynamodb.Client, table string) {
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				k := key("u", tt.name)
				if tt.before != nil {
					if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: with(tt.before, "pk", k["pk"], "sk", k["sk"])}); err != nil {
						t.Fatalf("PutItem: %v", err)
					}
				}
				in := &dynamodb.UpdateItemInput{
					TableName: aws.String(table), Key: k, UpdateExpression: aws.String(tt.expr),
					ExpressionAttributeNames: tt.names, ExpressionAttributeValues: tt.values, ReturnValues: tt.ret,
				}
				if tt.cond != "" {
					in.ConditionExpression = aws.String(tt.cond)
				}
				out, err := c.UpdateItem(ctx, in)
				if got := errorCode(err); got != tt.errCode {
					t.Errorf("UpdateItem(%q) = %v; want error %q", tt.expr, err, tt.errCode)
				}
				if err == nil && tt.ret != "" {
					if got := render(out.Attributes); got != tt.wantRet {
						t.Errorf("UpdateItem(%q) returned %s; want %s", tt.expr, got, tt.wantRet)
					}
				}
				if got := attributes(t, c, table, k); got != tt.want {
					t.Errorf("after UpdateItem(%q) the item is %s; want %s", tt.expr, got, tt.want)
				}
			})
		}
	})
}

// indexEntries returns the entries of index "gsi" in partitions G and H, in the index's
// order, each as "gpk/gsk pk".
func indexEntries(t *testing.T, c *dynamodb.Client, table string) []string {
	t.Helper()
	entries := []string{}
	for _, partition := range []string{"G", "H"} {
		var start map[string]types.AttributeValue
		for {
			out, err := c.Query(context.Background(), &dynamodb.QueryInput{
				TableName: aws.String(table), IndexName: aws.String("gsi"), KeyConditionExpression: aws.String("gpk = :g"),
				ExpressionAttributeValues: with(nil, ":g", s(partition)), ExclusiveStartKey: start,
			})
			if err != nil {
				t.Fatalf("Query gsi: %v", err)
			}
			for _, it := range out.Items {
				str := func(name string) string {
					v, _ := it[name].(*types.AttributeValueMemberS)
					if v == nil {
						return "?"
					}
					return v.Value
				}
				entries = append(entries, str("gpk")+"/"+str("gsk")+" "+str("pk"))
			}
			if start = out.LastEvaluatedKey; start == nil {
				break
			}
		}
	}
	return entries
}

// TestSecondaryIndexBookkeeping: an index holds exactly the items that have its key
// attributes, under their current values, whichever write put them there, moved them or took
// them out.
func TestSecondaryIndexBookkeeping(t *testing.T) {
	put := func(pk string, kv ...any) func(context.Context, *dynamodb.Client, string) error {
		return func(ctx context.Context, c *dynamodb.Client, table string) error {
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: with(key(pk, "1"), kv...)})
			return err
		}
	}
	update := func(pk, expr string, kv ...any) func(context.Context, *dynamodb.Client, string) error {
		return func(ctx context.Context, c *dynamodb.Client, table string) error {
			var values map[string]types.AttributeValue
			if len(kv) > 0 {
				values = with(nil, kv...)
			}
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: aws.String(table), Key: key(pk, "1"), UpdateExpression: aws.String(expr), ExpressionAttributeValues: values,
			})
			return err
		}
	}
	del := func(pk string) func(context.Context, *dynamodb.Client, string) error {
		return func(ctx context.Context, c *dynamodb.Client, table string) error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key(pk, "1")})
			return err
		}
	}
	steps := []struct {
		name    string
		writes  []func(context.Context, *dynamodb.Client, string) error
		want    []string
		errCode string // of the last write
	}{
		{
			name:   "PutItem adds new items",
			writes: []func(context.Context, *dynamodb.Client, string) error{put("a", "gpk", s("G"), "gsk", s("1")), put("b", "gpk", s("G"), "gsk", s("2")), put("c", "gpk", s("G"), "gsk", s("3"))},
			want:   []string{"G/1 a", "G/2 b", "G/3 c"},
		},
		{
			name:   "PutItem moves an item within the index",
			writes: []func(context.Context, *dynamodb.Client, string) error{put("a", "gpk", s("G"), "gsk", s("4"))},
			want:   []string{"G/2 b", "G/3 c", "G/4 a"},
		},
		{
			name:   "PutItem takes an item out",
			writes: []func(context.Context, *dynamodb.Client, string) error{put("b", "other", s("x"))},
			want:   []string{"G/3 c", "G/4 a"},
		},
		{
			name:   "PutItem brings it back under another key",
			writes: []func(context.Context, *dynamodb.Client, string) error{put("b", "gpk", s("G"), "gsk", s("5"))},
			want:   []string{"G/3 c", "G/4 a", "G/5 b"},
		},
		{
			name:   "UpdateItem takes an item out",
			writes: []func(context.Context, *dynamodb.Client, string) error{update("c", "REMOVE gpk")},
			want:   []string{"G/4 a", "G/5 b"},
		},
		{
			name:   "UpdateItem brings it back under another key",
			writes: []func(context.Context, *dynamodb.Client, string) error{update("c", "SET gpk = :g, gsk = :k", ":g", s("G"), ":k", s("6"))},
			want:   []string{"G/4 a", "G/5 b", "G/6 c"},
		},
		{
			name:   "PutItem moves an item between two others",
			writes: []func(context.Context, *dynamodb.Client, string) error{put("e", "gpk", s("G"), "gsk", s("0")), put("e", "gpk", s("G"), "gsk", s("45"))},
			want:   []string{"G/4 a", "G/45 e", "G/5 b", "G/6 c"},
		},
		{
			name:   "DeleteItem takes out the item it deletes only",
			writes: []func(context.Context, *dynamodb.Client, string) error{del("e")},
			want:   []string{"G/4 a", "G/5 b", "G/6 c"},
		},
		{
			name:   "deleting an item outside the index",
			writes: []func(context.Context, *dynamodb.Client, string) error{put("d", "gsk", s("0")), del("d")},
			want:   []string{"G/4 a", "G/5 b", "G/6 c"},
		},
		{
			name:   "UpdateItem creates an item in the index",
			writes: []func(context.Context, *dynamodb.Client, string) error{update("f", "SET gpk = :g, gsk = :k", ":g", s("G"), ":k", s("7"))},
			want:   []string{"G/4 a", "G/5 b", "G/6 c", "G/7 f"},
		},
		{
			name:   "UpdateItem moves an item to another partition of the index",
			writes: []func(context.Context, *dynamodb.Client, string) error{update("a", "SET gpk = :h", ":h", s("H"))},
			want:   []string{"G/5 b", "G/6 c", "G/7 f", "H/4 a"},
		},
		{
			name: "BatchWriteItem moves and deletes",
			writes: []func(context.Context, *dynamodb.Client, string) error{func(ctx context.Context, c *dynamodb.Client, table string) error {
				_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: {
					{PutRequest: &types.PutRequest{Item: with(key("b", "1"), "gpk", s("G"), "gsk", s("8"))}},
					{DeleteRequest: &types.DeleteRequest{Key: key("f", "1")}},
				}}})
				return err
			}},
			want: []string{"G/6 c", "G/8 b", "H/4 a"},
		},
		{
			name: "TransactWriteItems moves and takes out",
			writes: []func(context.Context, *dynamodb.Client, string) error{func(ctx context.Context, c *dynamodb.Client, table string) error {
				_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
					{Put: &types.Put{TableName: aws.String(table), Item: with(key("c", "1"), "gpk", s("H"), "gsk", s("1"))}},
					{Update: &types.Update{TableName: aws.String(table), Key: key("b", "1"), UpdateExpression: aws.String("REMOVE gsk")}},
				}})
				return err
			}},
			want: []string{"H/1 c", "H/4 a"},
		},
		{
			name: "a cancelled transaction leaves the index as it was",
			writes: []func(context.Context, *dynamodb.Client, string) error{func(ctx context.Context, c *dynamodb.Client, table string) error {
				_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
					{Update: &types.Update{TableName: aws.String(table), Key: key("a", "1"), UpdateExpression: aws.String("SET gpk = :g"), ExpressionAttributeValues: with(nil, ":g", s("G"))}},
					{Put: &types.Put{TableName: aws.String(table), Item: with(key("g", "1"), "gpk", s("G"), "gsk", s("0"))}},
					{ConditionCheck: &types.ConditionCheck{TableName: aws.String(table), Key: key("c", "1"), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
				}})
				return err
			}},
			want:    []string{"H/1 c", "H/4 a"},
			errCode: "TransactionCanceledException",
		},
		{
			name:    "PutItem with an index key of the wrong type",
			writes:  []func(context.Context, *dynamodb.Client, string) error{put("c", "gpk", n(1), "gsk", s("1"))},
			want:    []string{"H/1 c", "H/4 a"},
			errCode: "ValidationException",
		},
		{
			name:    "UpdateItem setting an index key of the wrong type",
			writes:  []func(context.Context, *dynamodb.Client, string) error{update("a", "SET gsk = :n", ":n", n(1))},
			want:    []string{"H/1 c", "H/4 a"},
			errCode: "ValidationException",
		},
	}
	forEachTarget(t, func(t *testing.T, c *dynamodb.Client, table string) {
		for _, st := range steps {
			var err error
			for _, write := range st.writes {
				err = write(context.Background(), c, table)
			}
			if got := errorCode(err); got != st.errCode {
				t.Errorf("%s: error %v; want %q", st.name, err, st.errCode)
			}
			if got := indexEntries(t, c, table); !slices.Equal(got, st.want) {
				t.Errorf("%s: index = %q; want %q", st.name, got, st.want)
			}
		}
	})
}

// TestQueryFilterAndLimit: a Query's Limit counts the items of its partition that it reads,
// those its filter then drops included, and nothing else; a page that stops at the Limit has
// a LastEvaluatedKey, even when no item follows.
func TestQueryFilterAndLimit(t *testing.T) {
	// Partition p holds sk 1 to 9, of which 3, 6 and 9 are kept by the filter; its neighbours
	// o and q, on the table and on the index (O, P, Q), hold items the filter keeps.
	var items []map[string]types.AttributeValue
	for _, part := range []struct {
		pk   string
		size int
		keep func(int) bool
	}{
		{"o", 5, func(int) bool { return true }},
		{"p", 9, func(i int) bool { return i%3 == 0 }},
		{"q", 5, func(int) bool { return true }},
	} {
		for i := 1; i <= part.size; i++ {
			items = append(items, with(key(part.pk, fmt.Sprint(i)), "gpk", s(strings.ToUpper(part.pk)), "gsk", s(fmt.Sprint(i)),
				"keep", &types.AttributeValueMemberBOOL{Value: part.keep(i)}))
		}
	}
	tests := []struct {
		name     string
		index    bool
		filter   bool
		limit    int32
		backward bool
		want     []string // each page: the sort keys it holds, the items it read, "more" when it has a LastEvaluatedKey
	}{
		{name: "limit 2", filter: true, limit: 2, want: []string{"[] 2 more", "[3] 2 more", "[6] 2 more", "[] 2 more", "[9] 1"}},
		{name: "limit 3", filter: true, limit: 3, want: []string{"[3] 3 more", "[6] 3 more", "[9] 3 more", "[] 0"}},
		{name: "limit 3 backward", filter: true, limit: 3, backward: true, want: []string{"[9] 3 more", "[6] 3 more", "[3] 3 more", "[] 0"}},
		{name: "limit 10", filter: true, limit: 10, want: []string{"[3 6 9] 9"}},
		{name: "no limit", filter: true, want: []string{"[3 6 9] 9"}},
		{name: "index, limit 2", index: true, filter: true, limit: 2, want: []string{"[] 2 more", "[3] 2 more", "[6] 2 more", "[] 2 more", "[9] 1"}},
		{name: "index, limit 3 backward", index: true, filter: true, limit: 3, backward: true, want: []string{"[9] 3 more", "[6] 3 more", "[3] 3 more", "[] 0"}},
		{name: "no filter, limit 4", limit: 4, want: []string{"[1 2 3 4] 4 more", "[5 6 7 8] 4 more", "[9] 1"}},
	}
	forEachTarget(t, func(t *testing.T, c *dynamodb.Client, table string) {
		ctx := context.Background()
		for _, it := range items {
			if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
				t.Fatalf("PutItem: %v", err)
			}
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := &dynamodb.QueryInput{
					TableName: aws.String(table), KeyConditionExpression: aws.String("pk = :p"),
					ExpressionAttributeValues: with(nil, ":p", s("p")), ScanIndexForward: aws.Bool(!tt.backward),
				}
				if tt.index {
					in.IndexName, in.KeyConditionExpression, in.ExpressionAttributeValues = aws.String("gsi"), aws.String("gpk = :p"), with(nil, ":p", s("P"))
				}
				if tt.filter {
					in.FilterExpression = aws.String("#keep = :yes")
					in.ExpressionAttributeNames = map[string]string{"#keep": "keep"}
					in.ExpressionAttributeValues[":yes"] = &types.AttributeValueMemberBOOL{Value: true}
				}
				if tt.limit > 0 {
					in.Limit = aws.Int32(tt.limit)
				}
				var pages []string
				for len(pages) <= len(tt.want) {
					out, err := c.Query(ctx, in)
					if err != nil {
						t.Fatalf("Query: %v", err)
					}
					sks := make([]string, len(out.Items))
					for i, it := range out.Items {
						sks[i] = it["sk"].(*types.AttributeValueMemberS).Value
					}
					if int(out.Count) != len(out.Items) {
						t.Errorf("page %d: Count = %d; want %d, its number of items", len(pages), out.Count, len(out.Items))
					}
					page := fmt.Sprintf("%v %d", sks, out.ScannedCount)
					if out.LastEvaluatedKey != nil {
						page += " more"
					}
					pages = append(pages, page)
					if in.ExclusiveStartKey = out.LastEvaluatedKey; in.ExclusiveStartKey == nil {
						break
					}
				}
				if !slices.Equal(pages, tt.want) {
					t.Errorf("pages = %q; want %q", pages, tt.want)
				}
			})
		}
	})
}

// TestBatchGetItem: BatchGetItem answers the items of the keys it is given that exist, with
// each table's projection, and refuses what DynamoDB refuses, in its words.
func TestBatchGetItem(t *testing.T) {
	type request = map[string]types.KeysAndAttributes
	keys := func(pairs ...string) []map[string]types.AttributeValue {
		var out []map[string]types.AttributeValue
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, key(pairs[i], pairs[i+1]))
		}
		return out
	}
	tests := []struct {
		name    string
		request func(t1, t2 string) request
		want    map[string][]string // by table: t1 or t2
		errCode string
		errMsg  string
	}{
		{
			name: "found and missing keys",
			request: func(t1, _ string) request {
				return request{t1: {Keys: keys("a", "1", "a", "2", "z", "9"), ConsistentRead: aws.Bool(true)}}
			},
			want: map[string][]string{"t1": {`{pk:"a" sk:"1" v:1}`, `{pk:"a" sk:"2" v:2 w:"x"}`}},
		},
		{
			name: "a projection with names",
			request: func(t1, _ string) request {
				return request{t1: {Keys: keys("a", "2", "b", "1"), ProjectionExpression: aws.String("#v, sk"), ExpressionAttributeNames: map[string]string{"#v": "v"}}}
			},
			want: map[string][]string{"t1": {`{sk:"1" v:3}`, `{sk:"2" v:2}`}},
		},
		{
			name:    "AttributesToGet",
			request: func(t1, _ string) request { return request{t1: {Keys: keys("a", "2"), AttributesToGet: []string{"w"}}} },
			want:    map[string][]string{"t1": {`{w:"x"}`}},
		},
		{
			name: "two tables",
			request: func(t1, t2 string) request {
				return request{t1: {Keys: keys("b", "1")}, t2: {Keys: keys("c", "1", "z", "1")}}
			},
			want: map[string][]string{"t1": {`{pk:"b" sk:"1" v:3}`}, "t2": {`{pk:"c" sk:"1" v:4}`}},
		},
		{
			name:    "nothing found",
			request: func(t1, _ string) request { return request{t1: {Keys: keys("z", "1")}} },
			want:    map[string][]string{"t1": {}},
		},
		{
			name: "more than 100 keys",
			request: func(t1, t2 string) request {
				var k1, k2 []map[string]types.AttributeValue
				for i := range 60 {
					k1, k2 = append(k1, key("many", fmt.Sprint(i))), append(k2, key("many", fmt.Sprint(i)))
				}
				return request{t1: {Keys: k1}, t2: {Keys: k2}}
			},
			errCode: "ValidationException", errMsg: "Too many items requested for the BatchGetItem call",
		},
		{
			name:    "duplicate keys",
			request: func(t1, _ string) request { return request{t1: {Keys: keys("a", "1", "b", "1", "a", "1")}} },
			errCode: "ValidationException", errMsg: "Provided list of item keys contains duplicates",
		},
		{
			name:    "no request",
			request: func(string, string) request { return request{} },
			errCode: "ValidationException",
		},
		{
			name: "a missing table",
			request: func(t1, _ string) request {
				return request{t1: {Keys: keys("a", "1")}, t1 + "-missing": {Keys: keys("a", "1")}}
			},
			errCode: "ResourceNotFoundException",
		},
		{
			name: "an unused name",
			request: func(t1, _ string) request {
				return request{t1: {Keys: keys("a", "1"), ProjectionExpression: aws.String("v"), ExpressionAttributeNames: map[string]string{"#x": "x"}}}
			},
			errCode: "ValidationException",
		},
	}
	forEachTarget(t, func(t *testing.T, c *dynamodb.Client, t1 string) {
		ctx := context.Background()
		t2 := createTable(t, c)
		for table, items := range map[string][]map[string]types.AttributeValue{
			t1: {with(key("a", "1"), "v", n(1)), with(key("a", "2"), "v", n(2), "w", s("x")), with(key("b", "1"), "v", n(3))},
			t2: {with(key("c", "1"), "v", n(4))},
		} {
			for _, it := range items {
				if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
					t.Fatalf("PutItem: %v", err)
				}
			}
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: tt.request(t1, t2)})
				if got := errorCode(err); got != tt.errCode {
					t.Fatalf("BatchGetItem = %v; want error %q", err, tt.errCode)
				}
				if tt.errMsg != "" {
					if apiErr, _ := errors.AsType[smithy.APIError](err); apiErr.ErrorMessage() != tt.errMsg {
						t.Errorf("BatchGetItem's error message = %q; want %q", apiErr.ErrorMessage(), tt.errMsg)
					}
				}
				if err != nil {
					return
				}
				got := map[string][]string{}
				for table, items := range out.Responses {
					label := map[string]string{t1: "t1", t2: "t2"}[table]
					got[label] = []string{}
					for _, it := range items {
						got[label] = append(got[label], render(it))
					}
					slices.Sort(got[label])
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) || len(got) != len(tt.want) {
					t.Errorf("BatchGetItem's responses = %q; want %q", got, tt.want)
				}
				if out.UnprocessedKeys == nil || len(out.UnprocessedKeys) > 0 {
					t.Errorf("BatchGetItem's UnprocessedKeys = %v; want an empty map", out.UnprocessedKeys)
				}
			})
		}
	})
}

// TestBatchGetItemSizeLimit: a BatchGetItem whose items come to more than 16 MB answers as
// many as fit in it, and the keys of the others as UnprocessedKeys, which a second call
// answers.
func TestBatchGetItemSizeLimit(t *testing.T) {
	const items, size, limit = 45, 380_000, 16 << 20 // 17.1 MB in all
	forEachTarget(t, func(t *testing.T, c *dynamodb.Client, table string) {
		ctx := context.Background()
		var keys []map[string]types.AttributeValue
		for i := range items {
			k := key("big", fmt.Sprintf("%02d", i))
			keys = append(keys, k)
			if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: with(k, "v", s(strings.Repeat("x", size)))}); err != nil {
				t.Fatalf("PutItem: %v", err)
			}
		}
		request := map[string]types.KeysAndAttributes{table: {Keys: keys}}
		var calls []string
		got := map[string]int{}
		for len(request) > 0 && len(calls) < 3 {
			out, err := c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: request})
			if err != nil {
				t.Fatalf("BatchGetItem: %v", err)
			}
			bytes := 0
			for _, it := range out.Responses[table] {
				got[it["sk"].(*types.AttributeValueMemberS).Value]++
				bytes += len(it["v"].(*types.AttributeValueMemberS).Value)
			}
			if bytes > limit {
				t.Errorf("call %d answered %d bytes of items; want at most %d", len(calls)+1, bytes, limit)
			}
			calls = append(calls, fmt.Sprintf("%d items, %d unprocessed", len(out.Responses[table]), len(out.UnprocessedKeys[table].Keys)))
			request = out.UnprocessedKeys
		}
		if len(calls) != 2 {
			t.Errorf("calls: %q; want two, the first with unprocessed keys, the second without", calls)
		}
		if len(got) != items {
			t.Errorf("items answered: %d; want %d", len(got), items)
		}
		for sk, times := range got {
			if times != 1 {
				t.Errorf("item %s answered %d times; want once", sk, times)
			}
		}
	})
}

// TestWriteAnswers: what PutItem and DeleteItem answer, the item a failed condition answers
// when asked, and the requests that DynamoDB refuses.
func TestWriteAnswers(t *testing.T) {
	type call func(ctx context.Context, c *dynamodb.Client, table string, k map[string]types.AttributeValue) (map[string]types.AttributeValue, error)
	put := func(rv types.ReturnValue, cond string, kv ...any) call {
		return func(ctx context.Context, c *dynamodb.Client, table string, k map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
			in := &dynamodb.PutItemInput{TableName: aws.String(table), Item: with(k, kv...), ReturnValues: rv, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
			if cond != "" {
				in.ConditionExpression = aws.String(cond)
			}
			out, err := c.PutItem(ctx, in)
			if err != nil {
				return nil, err
			}
			return out.Attributes, nil
		}
	}
	del := func(rv types.ReturnValue, cond string) call {
		return func(ctx context.Context, c *dynamodb.Client, table string, k map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
			in := &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: k, ReturnValues: rv, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
			if cond != "" {
				in.ConditionExpression = aws.String(cond)
			}
			out, err := c.DeleteItem(ctx, in)
			if err != nil {
				return nil, err
			}
			return out.Attributes, nil
		}
	}
	read := func(index string, query bool) call {
		return func(ctx context.Context, c *dynamodb.Client, table string, _ map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
			var err error
			if query {
				_, err = c.Query(ctx, &dynamodb.QueryInput{
					TableName: aws.String(table), IndexName: aws.String(index), KeyConditionExpression: aws.String("gpk = :g"), ExpressionAttributeValues: with(nil, ":g", s("G")),
				})
			} else {
				_, err = c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), IndexName: aws.String(index)})
			}
			return nil, err
		}
	}
	batch := func(requests func(table string) map[string][]types.WriteRequest) call {
		return func(ctx context.Context, c *dynamodb.Client, table string, _ map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
			_, err := c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: requests(table)})
			return nil, err
		}
	}
	putRequest := func(pk, sk string) types.WriteRequest {
		return types.WriteRequest{PutRequest: &types.PutRequest{Item: key(pk, sk)}}
	}
	tests := []struct {
		name    string
		call    call
		want    string // the answer's attributes, or the failed condition's item, rendered without the key
		errCode string
	}{
		{name: "PutItem answers nothing by default", call: put("", "", "v", n(1)), want: "{}"},
		{name: "PutItem ALL_OLD answers the item replaced", call: put(types.ReturnValueAllOld, "", "v", n(1)), want: "{gpk:\"G\" gsk:\"1\" v:0}"},
		{name: "PutItem ALL_OLD moving the item in the index", call: put(types.ReturnValueAllOld, "", "gpk", s("H"), "gsk", s("1")), want: "{gpk:\"G\" gsk:\"1\" v:0}"},
		{name: "PutItem ALL_NEW", call: put(types.ReturnValueAllNew, "", "v", n(1)), errCode: "ValidationException"},
		{name: "PutItem's failed condition", call: put("", "attribute_not_exists(pk)", "v", n(1)), want: "{gpk:\"G\" gsk:\"1\" v:0}", errCode: "ConditionalCheckFailedException"},
		{
			name: "PutItem's failed condition moving the item in the index", call: put("", "attribute_exists(nothing)", "gpk", s("H"), "gsk", s("1"), "v", n(1)),
			want: "{gpk:\"G\" gsk:\"1\" v:0}", errCode: "ConditionalCheckFailedException",
		},
		{name: "DeleteItem ALL_OLD", call: del(types.ReturnValueAllOld, ""), want: "{gpk:\"G\" gsk:\"1\" v:0}"},
		{name: "DeleteItem's failed condition", call: del("", "attribute_exists(nothing)"), want: "{gpk:\"G\" gsk:\"1\" v:0}", errCode: "ConditionalCheckFailedException"},
		{name: "Query of an index the table lacks", call: read("nope", true), want: "{}", errCode: "ValidationException"},
		{name: "Scan of an index the table lacks", call: read("nope", false), want: "{}", errCode: "ValidationException"},
		{
			name: "BatchWriteItem with a key twice",
			call: batch(func(table string) map[string][]types.WriteRequest {
				return map[string][]types.WriteRequest{table: {putRequest("b", "1"), {DeleteRequest: &types.DeleteRequest{Key: key("b", "1")}}}}
			}),
			want: "{}", errCode: "ValidationException",
		},
		{
			name: "BatchWriteItem on a missing table",
			call: batch(func(table string) map[string][]types.WriteRequest {
				return map[string][]types.WriteRequest{table: {putRequest("b", "1")}, table + "-missing": {putRequest("b", "1")}}
			}),
			want: "{}", errCode: "ResourceNotFoundException",
		},
		{
			name: "BatchWriteItem of 26 requests",
			call: batch(func(table string) map[string][]types.WriteRequest {
				var reqs []types.WriteRequest
				for i := range 26 {
					reqs = append(reqs, putRequest("b", fmt.Sprint(i)))
				}
				return map[string][]types.WriteRequest{table: reqs}
			}),
			want: "{}", errCode: "ValidationException",
		},
	}
	forEachTarget(t, func(t *testing.T, c *dynamodb.Client, table string) {
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				k := key("w", tt.name)
				if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: with(k, "gpk", s("G"), "gsk", s("1"), "v", n(0))}); err != nil {
					t.Fatalf("PutItem: %v", err)
				}
				answer, err := tt.call(ctx, c, table, k)
				if got := errorCode(err); got != tt.errCode {
					t.Errorf("error %v; want %q", err, tt.errCode)
				}
				if ccf, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
					answer = ccf.Item
				}
				delete(answer, "pk")
				delete(answer, "sk")
				if got := render(answer); err == nil || tt.errCode == "ConditionalCheckFailedException" {
					if got != tt.want {
						t.Errorf("answered %s; want %s", got, tt.want)
					}
				}
			})
		}
	})
}

// TestQueryAfterTheStartKeysItemIsGone: a page starts after the place of its
// ExclusiveStartKey, whether or not that key's item is still there, or still in the index at
// that place.
func TestQueryAfterTheStartKeysItemIsGone(t *testing.T) {
	tests := []struct {
		name     string
		index    bool
		backward bool
		change   func(ctx context.Context, c *dynamodb.Client, table, pk string) error // to the first page's last item
		want     string                                                                // the second page's sort keys
	}{
		{name: "the item deleted", change: func(ctx context.Context, c *dynamodb.Client, table, pk string) error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key(pk, "2")})
			return err
		}, want: "[3 4]"},
		{name: "the item deleted, backward", backward: true, change: func(ctx context.Context, c *dynamodb.Client, table, pk string) error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key(pk, "4")})
			return err
		}, want: "[3 2]"},
		{name: "the item out of the index", index: true, change: func(ctx context.Context, c *dynamodb.Client, table, pk string) error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: key(pk, "2"), UpdateExpression: aws.String("REMOVE gsk")})
			return err
		}, want: "[3 4]"},
		{name: "the item moved in the index", index: true, change: func(ctx context.Context, c *dynamodb.Client, table, pk string) error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: aws.String(table), Key: key(pk, "2"), UpdateExpression: aws.String("SET gsk = :k"), ExpressionAttributeValues: with(nil, ":k", s("9")),
			})
			return err
		}, want: "[3 4]"},
		{name: "the item out of the index, backward", index: true, backward: true, change: func(ctx context.Context, c *dynamodb.Client, table, pk string) error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(table), Key: key(pk, "4"), UpdateExpression: aws.String("REMOVE gpk")})
			return err
		}, want: "[3 2]"},
	}
	forEachTarget(t, func(t *testing.T, c *dynamodb.Client, table string) {
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				pk := tt.name
				for i := 1; i <= 5; i++ {
					it := with(key(pk, fmt.Sprint(i)), "gpk", s(pk), "gsk", s(fmt.Sprint(i)))
					if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
						t.Fatalf("PutItem: %v", err)
					}
				}
				in := &dynamodb.QueryInput{
					TableName: aws.String(table), KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: with(nil, ":p", s(pk)),
					Limit: aws.Int32(2), ScanIndexForward: aws.Bool(!tt.backward),
				}
				if tt.index {
					in.IndexName, in.KeyConditionExpression = aws.String("gsi"), aws.String("gpk = :p")
				}
				first, err := c.Query(ctx, in)
				if err != nil || first.LastEvaluatedKey == nil {
					t.Fatalf("Query = %v, %v; want a first page with a LastEvaluatedKey", first, err)
				}
				if err := tt.change(ctx, c, table, pk); err != nil {
					t.Fatalf("change: %v", err)
				}
				in.ExclusiveStartKey = first.LastEvaluatedKey
				second, err := c.Query(ctx, in)
				if err != nil {
					t.Fatalf("Query: %v", err)
				}
				var sks []string
				for _, it := range second.Items {
					sks = append(sks, it["sk"].(*types.AttributeValueMemberS).Value)
				}
				if got := fmt.Sprint(sks); got != tt.want {
					t.Errorf("second page = %s; want %s", got, tt.want)
				}
			})
		}
		t.Run("Limit 0", func(t *testing.T) {
			_, err := c.Query(ctx, &dynamodb.QueryInput{
				TableName: aws.String(table), KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: with(nil, ":p", s("x")), Limit: aws.Int32(0),
			})
			if got := errorCode(err); got != "ValidationException" {
				t.Errorf("Query with Limit 0 = %v; want ValidationException", err)
			}
		})
	})
}
