// Command staff is StaffFunction: the staff API behind the Cognito JWT authorizer
// (GET /staff/imports, POST /staff/uploads).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"sectorhub/shared/config"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/staffapi"
)

func main() {
	if err := run(context.Background(), os.Getenv); err != nil {
		slog.Error("start", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	env := config.New(getenv)
	table := env.Required("TABLE_NAME")
	bucket := env.Required("UPLOADS_BUCKET")
	prefixes := env.Required("UPLOAD_PREFIXES")
	if err := env.Err(); err != nil {
		return err
	}
	uploads := staffapi.Uploads{Bucket: bucket, Presigner: newPresigner(getenv)}
	var err error
	if uploads.Prefixes, err = staffapi.ParsePrefixes(prefixes); err != nil {
		return fmt.Errorf("UPLOAD_PREFIXES: %w", err)
	}
	log := config.Logger(getenv)
	api := staffapi.New(dynamo.New(dynamo.NewClient(getenv), table), uploads, log)
	lambda.StartWithOptions(api.Serve, lambda.WithContext(ctx))
	return nil
}
