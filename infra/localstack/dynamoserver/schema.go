package dynamoserver

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	minidyn "github.com/truora/minidyn/server"
)

// tableSchema is what the server keeps of a table's definition, as its CreateTable and
// UpdateTable requests gave it: the engine tells neither the attribute types nor, without a
// type assertion, the indexes' keys.
type tableSchema struct {
	keys    []string          // the partition key, then the sort key if any
	types   map[string]string // the AttributeDefinitions: attribute name to S, N or B
	indexes []indexSchema     // global and local secondary indexes
}

// indexSchema is a secondary index: its name and key attributes, partition key first.
type indexSchema struct {
	name string
	keys []string
}

func keyNames(elements []ddbtypes.KeySchemaElement) []string {
	var hash, rng []string
	for _, e := range elements {
		if e.KeyType == ddbtypes.KeyTypeHash {
			hash = append(hash, aws.ToString(e.AttributeName))
		} else {
			rng = append(rng, aws.ToString(e.AttributeName))
		}
	}
	return append(hash, rng...)
}

func newTableSchema(in *minidyn.CreateTableInput) *tableSchema {
	ts := &tableSchema{keys: keyNames(in.KeySchema), types: map[string]string{}}
	ts.define(in.AttributeDefinitions)
	for _, gsi := range in.GlobalSecondaryIndexes {
		ts.indexes = append(ts.indexes, indexSchema{name: aws.ToString(gsi.IndexName), keys: keyNames(gsi.KeySchema)})
	}
	for _, lsi := range in.LocalSecondaryIndexes {
		ts.indexes = append(ts.indexes, indexSchema{name: aws.ToString(lsi.IndexName), keys: keyNames(lsi.KeySchema)})
	}
	return ts
}

func (ts *tableSchema) define(defs []ddbtypes.AttributeDefinition) {
	for _, d := range defs {
		ts.types[aws.ToString(d.AttributeName)] = string(d.AttributeType)
	}
}

// update applies the changes of an UpdateTable request that the engine has accepted.
func (ts *tableSchema) update(in *minidyn.UpdateTableInput) {
	ts.define(in.AttributeDefinitions)
	for _, u := range in.GlobalSecondaryIndexUpdates {
		switch {
		case u.Create != nil:
			ts.indexes = append(ts.indexes, indexSchema{name: aws.ToString(u.Create.IndexName), keys: keyNames(u.Create.KeySchema)})
		case u.Delete != nil:
			name := aws.ToString(u.Delete.IndexName)
			for i, idx := range ts.indexes {
				if idx.name == name {
					ts.indexes = append(ts.indexes[:i:i], ts.indexes[i+1:]...)
					break
				}
			}
		}
	}
}

func (ts *tableSchema) hasIndex(name string) bool {
	for _, idx := range ts.indexes {
		if idx.name == name {
			return true
		}
	}
	return false
}

// keyOf returns the primary key of it, nil when an attribute of the key is missing.
func (ts *tableSchema) keyOf(it item) item {
	key := make(item, len(ts.keys))
	for _, name := range ts.keys {
		v, ok := it[name]
		if !ok || v == nil {
			return nil
		}
		key[name] = v
	}
	return key
}

// checkIndexKeys refuses an item that would have a secondary index key attribute of another
// type than its definition, or an empty string or binary one, as DynamoDB refuses it. (The
// engine would store the item and then fail to index it.)
func (ts *tableSchema) checkIndexKeys(it item) error {
	for _, idx := range ts.indexes {
		for _, name := range idx.keys {
			v, ok := it[name]
			if !ok || v == nil {
				continue
			}
			typ, ok := ts.types[name]
			if !ok || valueType(v) != typ {
				return validationError("One or more parameter values were invalid: Type mismatch for Index Key")
			}
			if (v.S != nil && *v.S == "") || (v.B != nil && len(v.B) == 0) {
				return validationError(fmt.Sprintf("One or more parameter values are not valid. A value specified for a secondary index key is not supported. "+
					"The AttributeValue for a key attribute cannot contain an empty %s value. IndexName: %s, IndexKey: %s",
					map[string]string{"S": "string", "B": "binary"}[typ], idx.name, name))
			}
		}
	}
	return nil
}

// indexKeysDiffer reports whether a and b differ in an attribute of a secondary index's key.
func (ts *tableSchema) indexKeysDiffer(a, b item) bool {
	for _, idx := range ts.indexes {
		for _, name := range idx.keys {
			if !equalValues(a[name], b[name]) {
				return true
			}
		}
	}
	return false
}

// schema returns the schema of table, nil for a table the server does not have. Callers hold
// the lock.
func (s *server) schema(table *string) *tableSchema {
	return s.schemas[aws.ToString(table)]
}

// scratchTable makes sure the scratch engine has table, with the real one's primary key and
// no index, and empty; see updateItem.
func (s *server) scratchTable(ctx context.Context, table string, ts *tableSchema) error {
	if s.scratchTables[table] {
		return nil
	}
	in := &minidyn.CreateTableInput{TableName: aws.String(table), BillingMode: ddbtypes.BillingModePayPerRequest}
	for i, name := range ts.keys {
		kt := ddbtypes.KeyTypeHash
		if i > 0 {
			kt = ddbtypes.KeyTypeRange
		}
		in.KeySchema = append(in.KeySchema, ddbtypes.KeySchemaElement{AttributeName: aws.String(name), KeyType: kt})
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(name), AttributeType: ddbtypes.ScalarAttributeType(ts.types[name]),
		})
	}
	if _, err := s.scratch.CreateTable(ctx, in); err != nil {
		return err
	}
	s.scratchTables[table] = true
	return nil
}

// dropScratchTable deletes the scratch engine's copy of table, if any.
func (s *server) dropScratchTable(ctx context.Context, table string) {
	if s.scratchTables[table] {
		_, _ = s.scratch.DeleteTable(ctx, &minidyn.DeleteTableInput{TableName: aws.String(table)})
		delete(s.scratchTables, table)
	}
}
