// Package dynamoserver is the local stack's embedded DynamoDB-compatible
// endpoint: DynamoDB's JSON protocol over minidyn's in-memory engine.
//
// minidyn's own HTTP server is not used, for two faults that make it answer
// differently from DynamoDB: its JSON encoding drops an empty list or map
// ({"L":[]}, {"M":{}} come back as {}, which the SDK reads as no value), and
// a cancelled TransactWriteItems restores a copy of every table it touched in
// which every empty list or map has lost its type, after which each Query on
// the table fails. Here the engine's answers are encoded with their types, and
// transactions are carried out one action at a time under a lock (see
// transactWriteItems), so that a cancelled one puts back exactly what it
// changed.
//
// The engine itself has faults too, which the server works around without
// changing it: its secondary indexes lose or misplace items on most writes
// that move an item within an index, or in or out of one (see writes.go); its
// UpdateItem ignores REMOVE of a top-level attribute and ADD or DELETE on a
// nested path, and rounds every number of the item (see updateexpr.go); its
// Query pages wrongly with a FilterExpression or after an ExclusiveStartKey
// whose item is gone (see query); and it has no BatchGetItem. The tests in
// parity_test.go hold the server to what DynamoDB Local answers.
package dynamoserver

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	minidyn "github.com/truora/minidyn/server"
)

// New returns a DynamoDB JSON-protocol handler backed by a new, empty
// in-memory minidyn. It answers CreateTable, UpdateTable, DeleteTable,
// DescribeTable, PutItem, UpdateItem, DeleteItem, GetItem, BatchGetItem, Query,
// Scan, BatchWriteItem and TransactWriteItems. Any other operation
// (TransactGetItems, UpdateTimeToLive, ...) gets a JSON
// UnknownOperationException, as DynamoDB answers an operation it does not
// know.
//
// Requests are isolated from one another: reads (GetItem, BatchGetItem, Query,
// Scan) run together, every other operation alone, so a read sees a
// transaction either wholly applied or not at all.
func New() http.Handler {
	return &server{
		db: minidyn.NewClient(), schemas: map[string]*tableSchema{}, tokens: map[string]appliedToken{},
		scratch: minidyn.NewClient(), scratchTables: map[string]bool{},
	}
}

type server struct {
	mu sync.RWMutex // held shared by reads, exclusively by everything else
	db *minidyn.Client
	// schemas are the definitions of db's tables, by name (under mu, written exclusively).
	schemas map[string]*tableSchema
	// scratch holds, for each table an update has been made to, an empty table with its key,
	// in which updateItem works out each update (under mu, exclusively).
	scratch       *minidyn.Client
	scratchTables map[string]bool
	// tokens are the ClientRequestTokens of the transactions applied in the last
	// tokenTTL, with a hash of each request (under mu, written exclusively).
	tokens map[string]appliedToken
}

// appliedToken is a transaction applied under a ClientRequestToken.
type appliedToken struct {
	request [sha256.Size]byte
	at      time.Time
}

// tokenTTL is how long DynamoDB keeps a ClientRequestToken: a repeat within it is answered
// as the first, without applying the transaction again.
const tokenTTL = 10 * time.Minute

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, &apiError{Type: "SerializationException", Message: err.Error()})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.LastIndex(target, ".")+1:]
	resp, err := s.serve(r.Context(), op, body)
	if err != nil {
		e := toAPIError(err)
		writeJSON(w, e.status(), e)
		return
	}
	write(w, http.StatusOK, resp)
}

const contentType = "application/x-amz-json-1.0"

// serve runs op and encodes its answer, both under the lock: the engine's
// answers share values with its stored items.
func (s *server) serve(ctx context.Context, op string, body []byte) ([]byte, error) {
	switch op {
	case "GetItem", "BatchGetItem", "Query", "Scan":
		s.mu.RLock()
		defer s.mu.RUnlock()
	default:
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	resp, err := s.call(ctx, op, body)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

func (s *server) call(ctx context.Context, op string, body []byte) (any, error) {
	switch op {
	case "CreateTable":
		return run(ctx, body, s.createTable, asIs)
	case "UpdateTable":
		return run(ctx, body, s.updateTable, asIs)
	case "DeleteTable":
		return run(ctx, body, s.deleteTable, asIs)
	case "DescribeTable":
		return run(ctx, body, s.db.DescribeTable, asIs)
	case "PutItem":
		return run(ctx, body, s.putItem, func(o *minidyn.PutItemOutput) any { return attributesOutput{o.Attributes} })
	case "UpdateItem":
		return run(ctx, body, s.updateItem, func(o *minidyn.UpdateItemOutput) any { return attributesOutput{o.Attributes} })
	case "DeleteItem":
		return run(ctx, body, s.deleteItem, func(o *minidyn.DeleteItemOutput) any { return attributesOutput{o.Attributes} })
	case "GetItem":
		return run(ctx, body, s.db.GetItem, func(o *minidyn.GetItemOutput) any { return getItemOutput{o.Item} })
	case "BatchGetItem":
		return run(ctx, body, s.batchGetItem, asIs)
	case "Query":
		return run(ctx, body, s.query, asIs)
	case "Scan":
		return run(ctx, body, s.scan, func(o *minidyn.ScanOutput) any { return newItemsOutput(o.Items, o.Count, o.LastEvaluatedKey) })
	case "BatchWriteItem":
		return run(ctx, body, s.batchWriteItem, asIs)
	case "TransactWriteItems":
		return s.idempotentTransaction(ctx, body)
	}
	return nil, &apiError{Type: "UnknownOperationException", Message: "the embedded DynamoDB (minidyn) does not implement this operation"}
}

// createTable creates a table and keeps its schema.
func (s *server) createTable(ctx context.Context, in *minidyn.CreateTableInput) (*minidyn.CreateTableOutput, error) {
	out, err := s.db.CreateTable(ctx, in)
	if err == nil {
		s.schemas[aws.ToString(in.TableName)] = newTableSchema(in)
	}
	return out, err
}

// updateTable changes a table and its schema. (A new index starts empty: the engine does not
// add the table's items to it, as DynamoDB does.)
func (s *server) updateTable(ctx context.Context, in *minidyn.UpdateTableInput) (*minidyn.UpdateTableOutput, error) {
	out, err := s.db.UpdateTable(ctx, in)
	if ts := s.schema(in.TableName); err == nil && ts != nil {
		ts.update(in)
	}
	return out, err
}

// deleteTable deletes a table, its schema and its scratch copy.
func (s *server) deleteTable(ctx context.Context, in *minidyn.DeleteTableInput) (*minidyn.DeleteTableOutput, error) {
	out, err := s.db.DeleteTable(ctx, in)
	if err == nil {
		delete(s.schemas, aws.ToString(in.TableName))
		s.dropScratchTable(ctx, aws.ToString(in.TableName))
	}
	return out, err
}

// scan carries out a Scan, refusing an index the table does not have.
func (s *server) scan(ctx context.Context, in *minidyn.ScanInput) (*minidyn.ScanOutput, error) {
	if err := s.checkIndex(in.TableName, in.IndexName); err != nil {
		return nil, err
	}
	return s.db.Scan(ctx, in)
}

// run decodes body as the input of call, calls it and returns its output in
// the shape wire gives it.
func run[In, Out any](ctx context.Context, body []byte, call func(context.Context, *In) (Out, error), wire func(Out) any) (any, error) {
	in := new(In)
	if err := json.Unmarshal(body, in); err != nil {
		return nil, &apiError{Type: "SerializationException", Message: err.Error()}
	}
	out, err := call(ctx, in)
	if err != nil {
		return nil, err
	}
	return wire(out), nil
}

// asIs is the wire shape of an output that holds no attribute values.
func asIs[T any](out T) any { return out }

type getItemOutput struct {
	Item item `json:"Item,omitempty"`
}

type attributesOutput struct {
	Attributes item `json:"Attributes,omitempty"`
}

type itemsOutput struct {
	Items            []item `json:"Items"`
	Count            int32  `json:"Count"`
	ScannedCount     int32  `json:"ScannedCount,omitempty"`
	LastEvaluatedKey item   `json:"LastEvaluatedKey,omitempty"`
}

func newItemsOutput(items []map[string]*minidyn.AttributeValue, count int32, last map[string]*minidyn.AttributeValue) itemsOutput {
	out := itemsOutput{Items: make([]item, len(items)), Count: count, LastEvaluatedKey: last}
	for i, it := range items {
		out.Items[i] = it
	}
	return out
}

// apiError is an error answered in DynamoDB's JSON error shape.
type apiError struct {
	Type                string               `json:"__type"`
	Message             string               `json:"message"`
	Item                item                 `json:"Item,omitempty"`
	CancellationReasons []cancellationReason `json:"CancellationReasons,omitempty"`
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

// MarshalJSON prefixes the type with DynamoDB's namespace, as DynamoDB does.
func (e *apiError) MarshalJSON() ([]byte, error) {
	type plain apiError
	out := plain(*e)
	out.Type = "com.amazonaws.dynamodb.v20120810#" + e.Type
	return json.Marshal(out)
}

func (e *apiError) status() int {
	if e.Type == "InternalServerError" {
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

type cancellationReason struct {
	Code    string `json:"Code"`
	Message string `json:"Message,omitempty"`
	Item    item   `json:"Item,omitempty"`
}

func validationError(msg string) *apiError {
	return &apiError{Type: "ValidationException", Message: msg}
}

// toAPIError gives an error of the engine DynamoDB's error shape. An error
// that is not an API error comes from the expression interpreter, which
// DynamoDB would answer with a ValidationException.
func toAPIError(err error) *apiError {
	if e, ok := errors.AsType[*apiError](err); ok {
		return e
	}
	if e, ok := errors.AsType[*ddbtypes.ConditionalCheckFailedException](err); ok {
		return &apiError{Type: e.ErrorCode(), Message: e.ErrorMessage(), Item: fromSDK(e.Item)}
	}
	if e, ok := errors.AsType[smithy.APIError](err); ok {
		return &apiError{Type: e.ErrorCode(), Message: e.ErrorMessage()}
	}
	return validationError(err.Error())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	write(w, status, body)
}

// write answers body with the CRC32 header DynamoDB sends: the SDK checks
// every answer against it (and logs one without it as corrupt).
func write(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// idempotentTransaction runs a TransactWriteItems as DynamoDB does with its ClientRequestToken
// (which the SDK fills in): the same request repeated within tokenTTL of an applied one (the
// SDK's retry after a lost answer) succeeds without applying it again; the same token with a
// different request is IdempotentParameterMismatchException.
func (s *server) idempotentTransaction(ctx context.Context, body []byte) (any, error) {
	// The request as decoded and encoded again (object keys sorted: the SDK writes maps in
	// any order), without its token. A body that does not decode fails in run, below.
	var request map[string]any
	_ = json.Unmarshal(body, &request)
	token, _ := request["ClientRequestToken"].(string)
	delete(request, "ClientRequestToken")
	canonical, _ := json.Marshal(request)
	now, sum := time.Now(), sha256.Sum256(canonical)
	for t, a := range s.tokens {
		if now.Sub(a.at) > tokenTTL {
			delete(s.tokens, t)
		}
	}
	if a, ok := s.tokens[token]; ok && token != "" {
		if a.request != sum {
			return nil, &apiError{Type: "IdempotentParameterMismatchException", Message: "the ClientRequestToken was used with a different request"}
		}
		return &minidyn.TransactWriteItemsOutput{}, nil
	}
	out, err := run(ctx, body, s.transactWriteItems, asIs)
	if err == nil && token != "" {
		s.tokens[token] = appliedToken{request: sum, at: now}
	}
	return out, err
}
