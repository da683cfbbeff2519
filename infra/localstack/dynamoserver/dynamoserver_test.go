package dynamoserver

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// newTable starts a server with table "t" (partition key pk, sort key sk,
// both strings) holding items, and returns a client of it.
func newTable(tb testing.TB, items ...map[string]types.AttributeValue) *dynamodb.Client {
	tb.Helper()
	srv := httptest.NewServer(New())
	tb.Cleanup(srv.Close)
	client := dynamodb.New(dynamodb.Options{Region: "eu-west-2", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{}})
	_, err := client.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName: aws.String("t"),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		tb.Fatalf("CreateTable: %v", err)
	}
	for _, it := range items {
		if _, err := client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("t"), Item: it}); err != nil {
			tb.Fatalf("PutItem(%s): %v", render(it), err)
		}
	}
	return client
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int) types.AttributeValue    { return &types.AttributeValueMemberN{Value: fmt.Sprint(v)} }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": s(pk), "sk": s(sk)}
}

func with(k map[string]types.AttributeValue, attrs ...any) map[string]types.AttributeValue {
	it := map[string]types.AttributeValue{}
	for name, v := range k {
		it[name] = v
	}
	for i := 0; i < len(attrs); i += 2 {
		it[attrs[i].(string)] = attrs[i+1].(types.AttributeValue)
	}
	return it
}

// emptyish is an item whose list and maps are empty, at the top and nested.
var emptyish = with(key("a", "1"),
	"groups", &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
	"links", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
	"nested", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
	}},
	"listOfEmpty", &types.AttributeValueMemberL{Value: []types.AttributeValue{
		&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
		&types.AttributeValueMemberL{Value: []types.AttributeValue{}},
	}},
)

const emptyishRendered = `{groups:L[] links:M{} listOfEmpty:L[M{} L[]] nested:M{l:L[] m:M{}} pk:"a" sk:"1"}`

// render writes an item with each value's type, so that an empty list, an
// empty map and a missing value all differ.
func render(it map[string]types.AttributeValue) string {
	names := make([]string, 0, len(it))
	for name := range it {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = name + ":" + renderValue(it[name])
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func renderValue(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return fmt.Sprintf("%q", v.Value)
	case *types.AttributeValueMemberN:
		return v.Value
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprint(v.Value)
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberL:
		parts := make([]string, len(v.Value))
		for i, e := range v.Value {
			parts[i] = renderValue(e)
		}
		return "L[" + strings.Join(parts, " ") + "]"
	case *types.AttributeValueMemberM:
		return "M" + render(v.Value)
	case *types.AttributeValueMemberSS:
		return "SS" + fmt.Sprint(slices.Sorted(slices.Values(v.Value)))
	case *types.AttributeValueMemberNS:
		return "NS" + fmt.Sprint(slices.Sorted(slices.Values(v.Value)))
	case *types.AttributeValueMemberB:
		return fmt.Sprintf("B%q", v.Value)
	}
	return fmt.Sprintf("%T", v)
}

// contents returns every item of table t, rendered and sorted.
func contents(tb testing.TB, client *dynamodb.Client) []string {
	tb.Helper()
	out, err := client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String("t")})
	if err != nil {
		tb.Fatalf("Scan: %v", err)
	}
	items := make([]string, len(out.Items))
	for i, it := range out.Items {
		items[i] = render(it)
	}
	sort.Strings(items)
	return items
}

func TestEmptyListsAndMapsKeepTheirType(t *testing.T) {
	client := newTable(t, emptyish, with(key("a", "2"), "n", n(0)))
	ctx := context.Background()
	reads := []struct {
		name string
		read func() (map[string]types.AttributeValue, error)
	}{
		{"GetItem", func() (map[string]types.AttributeValue, error) {
			out, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("t"), Key: key("a", "1"), ConsistentRead: aws.Bool(true)})
			if err != nil {
				return nil, err
			}
			return out.Item, nil
		}},
		{"Query", func() (map[string]types.AttributeValue, error) {
			out, err := client.Query(ctx, &dynamodb.QueryInput{
				TableName:                 aws.String("t"),
				KeyConditionExpression:    aws.String("pk = :pk AND sk = :sk"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s("a"), ":sk": s("1")},
			})
			if err != nil {
				return nil, err
			}
			if len(out.Items) != 1 {
				return nil, fmt.Errorf("%d items; want 1", len(out.Items))
			}
			return out.Items[0], nil
		}},
		{"Scan", func() (map[string]types.AttributeValue, error) {
			out, err := client.Scan(ctx, &dynamodb.ScanInput{
				TableName:                 aws.String("t"),
				FilterExpression:          aws.String("attribute_type(groups, :l) AND attribute_type(links, :m)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":l": s("L"), ":m": s("M")},
			})
			if err != nil {
				return nil, err
			}
			if len(out.Items) != 1 {
				return nil, fmt.Errorf("%d items; want 1", len(out.Items))
			}
			return out.Items[0], nil
		}},
		{"UpdateItem ALL_NEW", func() (map[string]types.AttributeValue, error) {
			out, err := client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: aws.String("t"), Key: key("a", "1"), UpdateExpression: aws.String("SET groups = groups"), ReturnValues: types.ReturnValueAllNew,
			})
			if err != nil {
				return nil, err
			}
			return out.Attributes, nil
		}},
	}
	check := func(t *testing.T) {
		for _, r := range reads {
			it, err := r.read()
			if err != nil {
				t.Errorf("%s: %v", r.name, err)
				continue
			}
			if got := render(it); got != emptyishRendered {
				t.Errorf("%s = %s; want %s", r.name, got, emptyishRendered)
			}
		}
	}
	t.Run("stored", check)

	// The counter's condition fails: the transaction is cancelled, after its
	// update of the item with the empty values has been applied.
	_, err := client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: aws.String("t"), Key: key("a", "1"), UpdateExpression: aws.String("SET seen = :one"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1)}}},
		{Update: &types.Update{
			TableName: aws.String("t"), Key: key("a", "2"), UpdateExpression: aws.String("SET n = n + :one"), ConditionExpression: aws.String("n > :one"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1)},
		}},
	}})
	if _, ok := errors.AsType[*types.TransactionCanceledException](err); !ok {
		t.Fatalf("TransactWriteItems = %v; want TransactionCanceledException", err)
	}
	t.Run("after a cancelled transaction", check)
}

func TestTransactWriteItems(t *testing.T) {
	before := []map[string]types.AttributeValue{
		emptyish,
		with(key("c", "counter"), "n", n(5)),
		with(key("d", "doomed"), "v", s("x")),
	}
	beforeRendered := make([]string, len(before))
	for i, it := range before {
		beforeRendered[i] = render(it)
	}
	sort.Strings(beforeRendered)
	values := func(kv ...any) map[string]types.AttributeValue { return with(nil, kv...) }
	put := func(it map[string]types.AttributeValue, cond string, vals map[string]types.AttributeValue) types.TransactWriteItem {
		p := &types.Put{TableName: aws.String("t"), Item: it, ExpressionAttributeValues: vals}
		if cond != "" {
			p.ConditionExpression = aws.String(cond)
		}
		return types.TransactWriteItem{Put: p}
	}
	increment := func(cond string, vals map[string]types.AttributeValue) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String("t"), Key: key("c", "counter"), UpdateExpression: aws.String("SET n = n + :one"),
			ConditionExpression: aws.String(cond), ExpressionAttributeValues: with(vals, ":one", n(1)),
		}}
	}
	deleteDoomed := types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String("t"), Key: key("d", "doomed"), ConditionExpression: aws.String("attribute_exists(v)")}}
	check := func(k map[string]types.AttributeValue, cond string, vals map[string]types.AttributeValue) types.TransactWriteItem {
		return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String("t"), Key: k, ConditionExpression: aws.String(cond), ExpressionAttributeValues: vals}}
	}
	newItem := with(key("n", "new"), "v", s("y"))

	tests := []struct {
		name    string
		items   []types.TransactWriteItem
		after   []string // the table's items after the call; nil: as before
		reasons []string // the cancellation reasons' codes; nil: not cancelled
		errCode string   // the error's code when not cancelled
	}{
		{
			name:  "all apply",
			items: []types.TransactWriteItem{put(newItem, "attribute_not_exists(pk)", nil), increment("n < :max", values(":max", n(10))), deleteDoomed, check(key("a", "1"), "attribute_type(groups, :l)", values(":l", s("L")))},
			after: []string{emptyishRendered, `{n:6 pk:"c" sk:"counter"}`, `{pk:"n" sk:"new" v:"y"}`},
		},
		{
			name:    "the last condition fails",
			items:   []types.TransactWriteItem{put(newItem, "", nil), increment("n < :max", values(":max", n(10))), deleteDoomed, check(key("a", "1"), "attribute_type(groups, :m)", values(":m", s("M")))},
			reasons: []string{"None", "None", "None", "ConditionalCheckFailed"},
		},
		{
			name:    "the first condition fails",
			items:   []types.TransactWriteItem{increment("n < :max", values(":max", n(5))), put(newItem, "", nil), deleteDoomed},
			reasons: []string{"ConditionalCheckFailed", "None", "None"},
		},
		{
			name:    "two conditions fail",
			items:   []types.TransactWriteItem{put(newItem, "", nil), increment("n < :max", values(":max", n(5))), deleteDoomed, put(with(key("a", "1")), "attribute_not_exists(pk)", nil)},
			reasons: []string{"None", "ConditionalCheckFailed", "None", "ConditionalCheckFailed"},
		},
		{
			name:    "a put that replaces an item is undone",
			items:   []types.TransactWriteItem{put(with(key("a", "1"), "v", s("replaced")), "", nil), check(key("c", "counter"), "attribute_exists(nothing)", nil)},
			reasons: []string{"None", "ConditionalCheckFailed"},
		},
		{
			name:    "two actions on one item",
			items:   []types.TransactWriteItem{increment("n < :max", values(":max", n(10))), put(with(key("c", "counter")), "", nil)},
			errCode: "ValidationException",
		},
		{
			name:    "a bad expression after a write",
			items:   []types.TransactWriteItem{put(newItem, "", nil), deleteDoomed, increment("n <<< :max", values(":max", n(10)))},
			errCode: "ValidationException",
		},
		{
			name:    "a missing table",
			items:   []types.TransactWriteItem{put(newItem, "", nil), {Delete: &types.Delete{TableName: aws.String("missing"), Key: key("a", "1")}}},
			errCode: "ResourceNotFoundException",
		},
		{
			name: "more than 100 actions",
			items: func() []types.TransactWriteItem {
				items := make([]types.TransactWriteItem, 101)
				for i := range items {
					items[i] = put(with(key("many", fmt.Sprint(i))), "", nil)
				}
				return items
			}(),
			errCode: "ValidationException",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := newTable(t, before...)
			_, err := client.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: tt.items})
			switch {
			case tt.reasons != nil:
				tce, ok := errors.AsType[*types.TransactionCanceledException](err)
				if !ok {
					t.Fatalf("TransactWriteItems = %v; want TransactionCanceledException", err)
				}
				codes := make([]string, len(tce.CancellationReasons))
				for i, r := range tce.CancellationReasons {
					codes[i] = aws.ToString(r.Code)
				}
				if !slices.Equal(codes, tt.reasons) {
					t.Errorf("cancellation reasons = %q; want %q", codes, tt.reasons)
				}
			case tt.errCode != "":
				if apiErr, ok := errors.AsType[smithy.APIError](err); !ok || apiErr.ErrorCode() != tt.errCode {
					t.Errorf("TransactWriteItems = %v; want %s", err, tt.errCode)
				}
			case err != nil:
				t.Fatalf("TransactWriteItems = %v; want success", err)
			}
			want := tt.after
			if want == nil {
				want = beforeRendered
			}
			if got := contents(t, client); !slices.Equal(got, want) {
				t.Errorf("table after the call:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestReturnValuesOnConditionCheckFailure(t *testing.T) {
	counter := with(key("c", "counter"), "n", n(5), "tags", &types.AttributeValueMemberL{Value: []types.AttributeValue{}})
	client := newTable(t, counter)
	ctx := context.Background()
	cond := aws.String("n > :n")
	vals := map[string]types.AttributeValue{":n": n(5)}

	_, err := client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{TableName: aws.String("t"), Key: key("c", "counter"), ConditionExpression: cond, ExpressionAttributeValues: vals, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		{Put: &types.Put{TableName: aws.String("t"), Item: key("x", "1"), ConditionExpression: aws.String("attribute_exists(pk)"), ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
	}})
	tce, ok := errors.AsType[*types.TransactionCanceledException](err)
	if !ok || len(tce.CancellationReasons) != 2 {
		t.Fatalf("TransactWriteItems = %v; want TransactionCanceledException with 2 reasons", err)
	}
	if got, want := render(tce.CancellationReasons[0].Item), render(counter); got != want {
		t.Errorf("reason 0's item = %s; want %s", got, want)
	}
	if got := tce.CancellationReasons[1].Item; got != nil {
		t.Errorf("reason 1's item = %s; want none (there was no item)", render(got))
	}

	_, err = client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String("t"), Key: key("c", "counter"), UpdateExpression: aws.String("SET n = :n"), ConditionExpression: cond,
		ExpressionAttributeValues: vals, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	ccf, ok := errors.AsType[*types.ConditionalCheckFailedException](err)
	if !ok {
		t.Fatalf("UpdateItem = %v; want ConditionalCheckFailedException", err)
	}
	if got, want := ccf.Item["n"], n(5); renderValue(got) != renderValue(want) {
		t.Errorf("UpdateItem's failure item n = %s; want %s", renderValue(got), renderValue(want))
	}
}

// TestConcurrentTransactions runs transactions that each take a place on a
// counter limited to 20 and write an item of their own; every other one is
// cancelled by its own item's condition after it has incremented the counter,
// which it must then give back without undoing anyone else's increment.
func TestConcurrentTransactions(t *testing.T) {
	client := newTable(t, with(key("c", "counter"), "n", n(0)))
	const writers, limit = 50, 20
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		cond := "attribute_not_exists(pk)"
		if i%2 == 1 {
			cond = "attribute_exists(pk)" // fails: the item is new
		}
		wg.Go(func() {
			_, errs[i] = client.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Update: &types.Update{
					TableName: aws.String("t"), Key: key("c", "counter"), UpdateExpression: aws.String("SET n = n + :one"), ConditionExpression: aws.String("n < :limit"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1), ":limit": n(limit)},
				}},
				{Put: &types.Put{TableName: aws.String("t"), Item: key("w", fmt.Sprintf("%02d", i)), ConditionExpression: aws.String(cond)}},
			}})
		})
	}
	wg.Wait()
	var applied []string
	for i, err := range errs {
		_, cancelled := errors.AsType[*types.TransactionCanceledException](err)
		switch {
		case err == nil && i%2 == 0:
			applied = append(applied, fmt.Sprintf(`{pk:"w" sk:"%02d"}`, i))
		case err == nil || !cancelled:
			t.Errorf("writer %d: TransactWriteItems = %v; want success for an even writer or TransactionCanceledException", i, err)
		}
	}
	want := append([]string{fmt.Sprintf(`{n:%d pk:"c" sk:"counter"}`, limit)}, applied...)
	if got := contents(t, client); len(applied) != limit || !slices.Equal(got, want) {
		t.Errorf("after %d concurrent transactions: %d applied, table:\n%s\nwant %d applied, the counter at %d and their items", writers, len(applied), strings.Join(got, "\n"), limit, limit)
	}
}

func TestAnswersCarryTheirChecksum(t *testing.T) {
	srv := httptest.NewServer(New())
	t.Cleanup(srv.Close)
	for _, op := range []string{"ListTables", "DescribeTable"} {
		req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"TableName":"missing"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if got, want := resp.Header.Get("X-Amz-Crc32"), fmt.Sprint(crc32.ChecksumIEEE(body)); got != want {
			t.Errorf("%s: X-Amz-Crc32 = %q; want %q, the CRC32 of %s", op, got, want, body)
		}
	}
}

func TestUnknownOperations(t *testing.T) {
	client := newTable(t, key("a", "1"))
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"TransactGetItems", func() error {
			_, err := client.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{{Get: &types.Get{TableName: aws.String("t"), Key: key("a", "1")}}}})
			return err
		}},
		{"UpdateTimeToLive", func() error {
			_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("t"), TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("ttl"), Enabled: aws.Bool(true)}})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if apiErr, ok := errors.AsType[smithy.APIError](err); !ok || apiErr.ErrorCode() != "UnknownOperationException" {
				t.Errorf("%s = %v; want UnknownOperationException", tt.name, err)
			}
		})
	}
}

// BenchmarkTransactWriteItems measures a six-action transaction, applied or
// cancelled by its last condition, on tables of growing size.
func BenchmarkTransactWriteItems(b *testing.B) {
	for _, size := range []int{100, 1000, 5000} {
		items := make([]map[string]types.AttributeValue, size)
		for i := range items {
			items[i] = with(key("filler", fmt.Sprintf("%05d", i)), "l", &types.AttributeValueMemberL{Value: []types.AttributeValue{}}, "v", s(strings.Repeat("x", 200)))
		}
		client := newTable(b, append(items, with(key("c", "counter"), "n", n(0)))...)
		for _, cancelled := range []bool{false, true} {
			b.Run(fmt.Sprintf("%d items, cancelled %t", size, cancelled), func(b *testing.B) {
				cond := "attribute_exists(pk)"
				if cancelled {
					cond = "attribute_not_exists(pk)"
				}
				for i := 0; b.Loop(); i++ {
					tx := []types.TransactWriteItem{{Update: &types.Update{
						TableName: aws.String("t"), Key: key("c", "counter"), UpdateExpression: aws.String("SET n = n + :one"),
						ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1)},
					}}}
					for j := range 4 {
						tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: aws.String("t"), Item: with(key("new", fmt.Sprintf("%d-%d-%t", i, j, cancelled)), "v", s("y"))}})
					}
					tx = append(tx, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String("t"), Key: key("filler", "00000"), ConditionExpression: aws.String(cond)}})
					_, err := client.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: tx})
					if _, ok := errors.AsType[*types.TransactionCanceledException](err); ok != cancelled || (err != nil && !ok) {
						b.Fatalf("TransactWriteItems = %v; want cancelled %t", err, cancelled)
					}
				}
			})
		}
	}
}

// TestClientRequestToken: a transaction repeated with its ClientRequestToken (the SDK's retry
// after a lost answer) succeeds without applying again, as DynamoDB answers it; the token with
// another request is refused; a new token runs the transaction (and here fails its condition).
func TestClientRequestToken(t *testing.T) {
	client := newTable(t)
	ctx := context.Background()
	tx := func(token, value string) error {
		_, err := client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			ClientRequestToken: aws.String(token),
			TransactItems: []types.TransactWriteItem{{Put: &types.Put{
				TableName:           aws.String("t"),
				Item:                with(key("a", "1"), "v", s(value)),
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			}}},
		})
		return err
	}
	if err := tx("token-1", "first"); err != nil {
		t.Fatalf("first transaction: %v", err)
	}
	if err := tx("token-1", "first"); err != nil {
		t.Errorf("the same request and token again = %v; want success without applying it again", err)
	}
	var mismatch *types.IdempotentParameterMismatchException
	if err := tx("token-1", "other"); !errors.As(err, &mismatch) {
		t.Errorf("the token with another request = %v; want IdempotentParameterMismatchException", err)
	}
	var cancelled *types.TransactionCanceledException
	if err := tx("token-2", "first"); !errors.As(err, &cancelled) {
		t.Errorf("a new token = %v; want the condition to fail (the item exists)", err)
	}
	if got := contents(t, client); len(got) != 1 || !strings.Contains(got[0], "first") {
		t.Errorf("table = %v; want the one item the first transaction put", got)
	}
}

// TestBatchGetItemSeesTransactionsWhole: a BatchGetItem running alongside transactions that
// increment two items together finds them equal, always.
func TestBatchGetItemSeesTransactionsWhole(t *testing.T) {
	client := newTable(t, with(key("x", "1"), "n", n(0)), with(key("x", "2"), "n", n(0)))
	ctx := context.Background()
	const writers, reads = 20, 50
	increment := func(k map[string]types.AttributeValue) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName: aws.String("t"), Key: k, UpdateExpression: aws.String("ADD n :one"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1)},
		}}
	}
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			if _, err := client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{increment(key("x", "1")), increment(key("x", "2"))}}); err != nil {
				t.Errorf("TransactWriteItems: %v", err)
			}
		})
	}
	for range reads {
		wg.Go(func() {
			out, err := client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"t": {Keys: []map[string]types.AttributeValue{key("x", "1"), key("x", "2")}}}})
			if err != nil {
				t.Errorf("BatchGetItem: %v", err)
				return
			}
			var got []string
			for _, it := range out.Responses["t"] {
				got = append(got, renderValue(it["n"]))
			}
			if len(got) != 2 || got[0] != got[1] {
				t.Errorf("BatchGetItem found n = %v; want two equal counts", got)
			}
		})
	}
	wg.Wait()
	if got, want := contents(t, client), []string{fmt.Sprintf(`{n:%d pk:"x" sk:"1"}`, writers), fmt.Sprintf(`{n:%d pk:"x" sk:"2"}`, writers)}; !slices.Equal(got, want) {
		t.Errorf("after %d transactions: %q; want %q", writers, got, want)
	}
}
