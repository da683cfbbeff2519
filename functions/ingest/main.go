// Command ingest is IngestFunction: it validates and publishes staff uploads when they are
// written to the uploads bucket (S3 ObjectCreated on directory/*.csv).
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"sectorhub/shared/config"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/ingest"
	"sectorhub/shared/objects"
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
	if err := env.Err(); err != nil {
		return err
	}
	im := &ingest.Importer{
		Bucket:  bucket,
		Objects: objects.New(objects.NewClient(getenv)),
		Store:   dynamo.New(dynamo.NewClient(getenv), table),
		Log:     config.Logger(getenv),
		Now:     time.Now,
	}
	lambda.StartWithOptions(im.HandleS3, lambda.WithContext(ctx))
	return nil
}
