// Command directoryingest is DirectoryIngestFunction: it validates and publishes directory
// uploads when they are written to the uploads bucket (S3 ObjectCreated under directory/).
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"sectorhub/shared/config"
	"sectorhub/shared/directory"
	"sectorhub/shared/directoryingest"
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
	log := config.Logger(getenv)
	store := dynamo.New(dynamo.NewClient(getenv), table)
	im := &ingest.Importer[[]directory.Organisation]{
		Bucket:  bucket,
		Kind:    directoryingest.Kind{Store: store, Log: log, Now: time.Now},
		Objects: objects.New(objects.NewClient(getenv)),
		Store:   store,
		Log:     log,
		Now:     time.Now,
	}
	lambda.StartWithOptions(im.HandleS3, lambda.WithContext(ctx))
	return nil
}
