// Command casestudyingest is CaseStudyIngestFunction: it validates and publishes case study
// uploads when they are written to the uploads bucket, and unpublishes them when they are
// deleted (S3 ObjectCreated and ObjectRemoved under case-studies/).
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"sectorhub/shared/casestudy"
	"sectorhub/shared/casestudyingest"
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
	log := config.Logger(getenv)
	store := dynamo.New(dynamo.NewClient(getenv), table)
	im := &ingest.Importer[casestudy.Document]{
		Bucket:  bucket,
		Kind:    casestudyingest.Kind{Store: store},
		Objects: objects.New(objects.NewClient(getenv)),
		Store:   store,
		Log:     log,
		Now:     time.Now,
	}
	lambda.StartWithOptions(im.HandleS3, lambda.WithContext(ctx))
	return nil
}
