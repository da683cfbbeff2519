package samtemplate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

func (t *Template) addTable(res resource) error {
	r := resolver{t: t}
	props, err := r.eval(res.Properties)
	if err != nil {
		return err
	}
	p, _ := props.(map[string]any)
	tb := Table{LogicalID: res.LogicalID, Name: t.value(mapGet(res.Properties, "TableName"))}
	d := &tb.Definition
	bad := func(format string, args ...any) error {
		return t.errorf(res.Node, "table %s: "+format, append([]any{res.LogicalID}, args...)...)
	}
	if res.Type == "AWS::Serverless::SimpleTable" {
		pk := asMap(p["PrimaryKey"])
		name, typ := asString(pk["Name"]), asString(pk["Type"])
		if name == "" {
			name = "id"
		}
		code := map[string]types.ScalarAttributeType{"": types.ScalarAttributeTypeS, "String": types.ScalarAttributeTypeS, "Number": types.ScalarAttributeTypeN, "Binary": types.ScalarAttributeTypeB}[typ]
		if code == "" {
			return bad("PrimaryKey Type %q must be String, Number or Binary", typ)
		}
		d.AttributeDefinitions = []types.AttributeDefinition{{AttributeName: aws.String(name), AttributeType: code}}
		d.KeySchema = []types.KeySchemaElement{{AttributeName: aws.String(name), KeyType: types.KeyTypeHash}}
		d.BillingMode = types.BillingModePayPerRequest
		if pt := asMap(p["ProvisionedThroughput"]); pt != nil {
			d.BillingMode = types.BillingModeProvisioned
			if d.ProvisionedThroughput, err = throughput(pt); err != nil {
				return bad("%v", err)
			}
		}
		t.Tables = append(t.Tables, tb)
		return nil
	}
	for _, a := range asList(p["AttributeDefinitions"]) {
		m := asMap(a)
		d.AttributeDefinitions = append(d.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(asString(m["AttributeName"])),
			AttributeType: types.ScalarAttributeType(asString(m["AttributeType"])),
		})
	}
	if d.KeySchema, err = keySchema(p["KeySchema"]); err != nil {
		return bad("%v", err)
	}
	if len(d.KeySchema) == 0 {
		return bad("no KeySchema")
	}
	d.BillingMode = types.BillingMode(asString(p["BillingMode"]))
	if d.BillingMode == "" {
		d.BillingMode = types.BillingModeProvisioned
	}
	if pt := asMap(p["ProvisionedThroughput"]); pt != nil {
		if d.ProvisionedThroughput, err = throughput(pt); err != nil {
			return bad("%v", err)
		}
	}
	for _, g := range asList(p["GlobalSecondaryIndexes"]) {
		m := asMap(g)
		gsi := types.GlobalSecondaryIndex{IndexName: aws.String(asString(m["IndexName"])), Projection: projection(m["Projection"])}
		if gsi.KeySchema, err = keySchema(m["KeySchema"]); err != nil {
			return bad("index %s: %v", asString(m["IndexName"]), err)
		}
		if pt := asMap(m["ProvisionedThroughput"]); pt != nil {
			if gsi.ProvisionedThroughput, err = throughput(pt); err != nil {
				return bad("index %s: %v", asString(m["IndexName"]), err)
			}
		}
		d.GlobalSecondaryIndexes = append(d.GlobalSecondaryIndexes, gsi)
	}
	for _, l := range asList(p["LocalSecondaryIndexes"]) {
		m := asMap(l)
		lsi := types.LocalSecondaryIndex{IndexName: aws.String(asString(m["IndexName"])), Projection: projection(m["Projection"])}
		if lsi.KeySchema, err = keySchema(m["KeySchema"]); err != nil {
			return bad("index %s: %v", asString(m["IndexName"]), err)
		}
		d.LocalSecondaryIndexes = append(d.LocalSecondaryIndexes, lsi)
	}
	if ss := asMap(p["StreamSpecification"]); ss != nil {
		d.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewType(asString(ss["StreamViewType"]))}
	}
	if ttl := asMap(p["TimeToLiveSpecification"]); ttl != nil && asString(ttl["Enabled"]) == "true" {
		tb.TTLAttribute = asString(ttl["AttributeName"])
	}
	t.Tables = append(t.Tables, tb)
	return nil
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
func asList(v any) []any         { l, _ := v.([]any); return l }
func asString(v any) string      { s, _ := v.(string); return s }

func keySchema(v any) ([]types.KeySchemaElement, error) {
	var ks []types.KeySchemaElement
	for _, k := range asList(v) {
		m := asMap(k)
		typ := types.KeyType(asString(m["KeyType"]))
		if typ != types.KeyTypeHash && typ != types.KeyTypeRange {
			return nil, fmt.Errorf("KeyType %q must be HASH or RANGE", typ)
		}
		ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(asString(m["AttributeName"])), KeyType: typ})
	}
	return ks, nil
}

func projection(v any) *types.Projection {
	m := asMap(v)
	p := &types.Projection{ProjectionType: types.ProjectionType(asString(m["ProjectionType"]))}
	if p.ProjectionType == "" {
		p.ProjectionType = types.ProjectionTypeAll
	}
	for _, a := range asList(m["NonKeyAttributes"]) {
		p.NonKeyAttributes = append(p.NonKeyAttributes, asString(a))
	}
	return p
}

func throughput(m map[string]any) (*types.ProvisionedThroughput, error) {
	r, err := strconv.ParseInt(asString(m["ReadCapacityUnits"]), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("ReadCapacityUnits: %w", err)
	}
	w, err := strconv.ParseInt(asString(m["WriteCapacityUnits"]), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("WriteCapacityUnits: %w", err)
	}
	return &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(r), WriteCapacityUnits: aws.Int64(w)}, nil
}

// CreateTables creates each of t's tables through client, named by name,
// waits until they are ACTIVE (DynamoDB Local creates indexes
// asynchronously), then enables TTL where the template does. A table that
// already exists is left as it is; an endpoint that does not implement
// UpdateTimeToLive (minidyn) is tolerated.
func CreateTables(ctx context.Context, client *dynamodb.Client, t *Template, name func(logicalID string) string) error {
	for _, tb := range t.Tables {
		in := tb.Definition
		in.TableName = aws.String(name(tb.LogicalID))
		if _, err := client.CreateTable(ctx, &in); err != nil {
			if _, exists := errors.AsType[*types.ResourceInUseException](err); !exists {
				return fmt.Errorf("create table %s (%s): %w", *in.TableName, tb.LogicalID, err)
			}
		}
	}
	for _, tb := range t.Tables {
		if err := waitActive(ctx, client, name(tb.LogicalID)); err != nil {
			return err
		}
		if tb.TTLAttribute == "" {
			continue
		}
		_, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(name(tb.LogicalID)),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(tb.TTLAttribute), Enabled: aws.Bool(true)},
		})
		if err != nil && !ttlUnsupportedOrSet(err) {
			return fmt.Errorf("enable TTL on %s: %w", name(tb.LogicalID), err)
		}
	}
	return nil
}

// ttlUnsupportedOrSet reports whether an UpdateTimeToLive error only means
// that the endpoint has no TTL (minidyn answers "unsupported operation") or
// that TTL is already enabled (a table kept from an earlier run). minidyn
// answers operations it lacks with a plain-text 400, which the SDK reports as
// a deserialization error; DynamoDB and DynamoDB Local always answer JSON.
func ttlUnsupportedOrSet(err error) bool {
	if _, ok := errors.AsType[*smithy.DeserializationError](err); ok {
		return true
	}
	if apiErr, ok := errors.AsType[smithy.APIError](err); ok {
		switch apiErr.ErrorCode() {
		case "UnknownOperationException", "UnknownOperation":
			return true
		case "ValidationException":
			return strings.Contains(strings.ToLower(apiErr.ErrorMessage()), "already enabled")
		}
	}
	return false
}

func waitActive(ctx context.Context, client *dynamodb.Client, table string) error {
	delay := 20 * time.Millisecond
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return fmt.Errorf("describe table %s: %w", table, err)
		}
		ready := out.Table != nil && (out.Table.TableStatus == types.TableStatusActive || out.Table.TableStatus == "")
		if ready {
			for _, g := range out.Table.GlobalSecondaryIndexes {
				if g.IndexStatus != types.IndexStatusActive && g.IndexStatus != "" {
					ready = false
				}
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for table %s to become active: %w", table, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}
