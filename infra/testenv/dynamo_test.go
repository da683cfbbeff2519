package testenv_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/infra/testenv"
)

type item struct {
	PK     string `dynamodbav:"pk"`
	SK     string `dynamodbav:"sk"`
	GSI1PK string `dynamodbav:"gsi1pk,omitempty"`
	GSI1SK string `dynamodbav:"gsi1sk,omitempty"`
	Name   string `dynamodbav:"name"`
}

func TestDynamoTargets(t *testing.T) {
	targets := testenv.DynamoTargets(t)
	var names []string
	for _, target := range targets {
		names = append(names, target.Name)
	}
	want := []string{"minidyn"}
	if os.Getenv(testenv.EnvDynamoDBEndpoint) != "" {
		want = append(want, "dynamodb-local")
	}
	if !slices.Equal(names, want) {
		t.Errorf("DynamoTargets = %v; want %v", names, want)
	}
}

func TestForEachDynamoRoundTrip(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, client *dynamodb.Client, table string) {
		ctx := context.Background()
		in := item{PK: "org#1", SK: "v1", GSI1PK: "region#london", GSI1SK: "org#1", Name: "The Bridge Project"}
		av, err := attributevalue.MarshalMap(in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: av}); err != nil {
			t.Fatalf("PutItem: %v", err)
		}
		got, err := client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(table),
			Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: in.PK},
				"sk": &types.AttributeValueMemberS{Value: in.SK},
			},
		})
		if err != nil {
			t.Fatalf("GetItem: %v", err)
		}
		var out item
		if err := attributevalue.UnmarshalMap(got.Item, &out); err != nil {
			t.Fatal(err)
		}
		if out != in {
			t.Errorf("GetItem = %+v; want %+v", out, in)
		}
		// The template's GSI exists.
		q, err := client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(table),
			IndexName:                 aws.String("gsi1"),
			KeyConditionExpression:    aws.String("gsi1pk = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: in.GSI1PK}},
		})
		if err != nil {
			t.Fatalf("Query gsi1: %v", err)
		}
		if len(q.Items) != 1 {
			t.Errorf("Query gsi1 = %d items; want 1", len(q.Items))
		}
	})
}

func TestNewTableIsolated(t *testing.T) {
	for _, target := range testenv.DynamoTargets(t) {
		t.Run(target.Name, func(t *testing.T) {
			ctx := context.Background()
			client, a := testenv.NewTable(t, target)
			_, b := testenv.NewTable(t, target)
			if a == b {
				t.Fatalf("NewTable twice = %q both times; want distinct names", a)
			}
			av, err := attributevalue.MarshalMap(item{PK: "p", SK: "s"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(a), Item: av}); err != nil {
				t.Fatalf("PutItem: %v", err)
			}
			got, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(b), Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "p"}, "sk": &types.AttributeValueMemberS{Value: "s"},
			}})
			if err != nil {
				t.Fatalf("GetItem: %v", err)
			}
			if got.Item != nil {
				t.Errorf("item written to %s is visible in %s", a, b)
			}
		})
	}
}

func TestRepoRoot(t *testing.T) {
	root := testenv.RepoRoot(t)
	if _, err := os.Stat(root + "/template.yaml"); err != nil {
		t.Errorf("RepoRoot = %s, which has no template.yaml: %v", root, err)
	}
}
