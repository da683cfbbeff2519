package testenv

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"sectorhub/shared/httpapi"
)

// HTTPEvent reads a sample HTTP API event (payload 2.0) from events/, as the handlers get it.
func HTTPEvent(tb testing.TB, name string) httpapi.Request {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(tb), "events", name))
	if err != nil {
		tb.Fatal(err)
	}
	var req httpapi.Request
	if err := json.Unmarshal(b, &req); err != nil {
		tb.Fatalf("events/%s: %v", name, err)
	}
	return req
}

// CountingDynamo returns a client for db's server that adds one to calls for every API call
// it makes, to check how many requests a route costs.
func CountingDynamo(db *dynamodb.Client, calls *atomic.Int64) *dynamodb.Client {
	return dynamodb.New(db.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("count", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				calls.Add(1)
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
		})
	})
}
