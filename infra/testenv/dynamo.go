package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/infra/localstack/dynamoserver"
	"sectorhub/infra/samtemplate"
)

// DynamoTarget is one DynamoDB-compatible server a storage test runs against.
type DynamoTarget struct {
	Name     string // "minidyn" or "dynamodb-local"; the subtest's name
	Endpoint string // http://127.0.0.1:port
}

// DynamoTargets returns the embedded minidyn server (always; started for this call and closed
// by tb.Cleanup) and DynamoDB Local when SECTORHUB_TEST_DYNAMODB_ENDPOINT is set.
func DynamoTargets(tb testing.TB) []DynamoTarget {
	tb.Helper()
	srv := httptest.NewServer(dynamoserver.New())
	tb.Cleanup(srv.Close)
	targets := []DynamoTarget{{Name: "minidyn", Endpoint: srv.URL}}
	if endpoint := emulatorEndpoint(tb, EnvDynamoDBEndpoint); endpoint != "" {
		targets = append(targets, DynamoTarget{Name: "dynamodb-local", Endpoint: endpoint})
	}
	return targets
}

// DynamoClient returns an SDK DynamoDB client for endpoint. Its aws.Config is built by hand, as
// the functions build theirs (shared/awsconf), so nothing is read from the machine's AWS
// configuration (shared config files, AWS_CA_BUNDLE).
func DynamoClient(tb testing.TB, endpoint string) *dynamodb.Client {
	tb.Helper()
	return dynamodb.NewFromConfig(awsConfig(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

// awsConfig is the configuration of every client made here.
func awsConfig() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	}
}

var (
	templatesMu sync.Mutex
	templates   = map[string]*samtemplate.Template{}
)

// template loads the repository's template.yaml once per test binary.
func template(tb testing.TB) *samtemplate.Template {
	tb.Helper()
	path := filepath.Join(RepoRoot(tb), "template.yaml")
	templatesMu.Lock()
	defer templatesMu.Unlock()
	if t, ok := templates[path]; ok {
		return t
	}
	t, err := samtemplate.Load(path)
	if err != nil {
		tb.Fatalf("load %s: %v", path, err)
	}
	templates[path] = t
	return t
}

// tableLogicalID is the template's table that NewTable returns.
const tableLogicalID = "Table"

// NewTable creates the template's tables (as template.yaml defines them) on target under
// names no other test uses, deletes them when the test ends, and returns a client and the
// name of the table with logical ID "Table".
func NewTable(tb testing.TB, target DynamoTarget) (*dynamodb.Client, string) {
	tb.Helper()
	client, names := NewTables(tb, target)
	name, ok := names[tableLogicalID]
	if !ok {
		tb.Fatalf("template.yaml has no table with logical ID %s", tableLogicalID)
	}
	return client, name
}

// NewTables is NewTable for every table of the template: it returns the tables' names by
// logical ID.
func NewTables(tb testing.TB, target DynamoTarget) (*dynamodb.Client, map[string]string) {
	tb.Helper()
	client := DynamoClient(tb, target.Endpoint)
	t := template(tb)
	prefix := uniqueName(tb)
	name := func(logicalID string) string { return prefix + "-" + logicalID }
	names := make(map[string]string, len(t.Tables))
	for _, table := range t.Tables {
		names[table.LogicalID] = name(table.LogicalID)
		tb.Cleanup(func() { deleteTable(tb, client, name(table.LogicalID)) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := samtemplate.CreateTables(ctx, client, t, name); err != nil {
		tb.Fatalf("create tables on %s (%s): %v", target.Name, target.Endpoint, err)
	}
	return client, names
}

// deleteTable deletes a table at the end of a test; one that is already gone is fine.
func deleteTable(tb testing.TB, client *dynamodb.Client, table string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	if _, gone := errors.AsType[*types.ResourceNotFoundException](err); err != nil && !gone {
		tb.Errorf("delete table %s: %v", table, err)
	}
}

// uniqueName returns a valid DynamoDB table name (at most 255 of [a-zA-Z0-9_.-]) that starts
// with the test's name, for whoever reads DynamoDB Local's table list, and ends with random
// hex, so that no two calls collide.
func uniqueName(tb testing.TB) string {
	tb.Helper()
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		default:
			return '_'
		}
	}, tb.Name())
	if len(clean) > 120 {
		clean = clean[:120]
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	return clean + "-" + hex.EncodeToString(b[:])
}

// ForEachDynamo runs fn as a subtest per target (t.Run(target.Name, ...)), each with a new
// table from NewTable.
func ForEachDynamo(t *testing.T, fn func(t *testing.T, client *dynamodb.Client, table string)) {
	t.Helper()
	for _, target := range DynamoTargets(t) {
		t.Run(target.Name, func(t *testing.T) {
			client, table := NewTable(t, target)
			fn(t, client, table)
		})
	}
}
