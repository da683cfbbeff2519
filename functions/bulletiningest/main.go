// Command bulletiningest is BulletinIngestFunction: it imports subscriber lists
// (subscribers/<name>.csv) and stores bulletin issues (bulletins/<yyyy-mm-dd>.md) when they
// are written to the uploads bucket (S3 ObjectCreated under either prefix), each record of
// an event going to its kind's importer.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/bulletiningest"
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
	objs := objects.New(objects.NewClient(getenv))
	subscribers := &ingest.Importer[[]bulletin.ImportRow]{
		Bucket: bucket, Kind: bulletiningest.Subscribers{Store: store, Now: time.Now},
		Objects: objs, Store: store, Log: log, Now: time.Now,
	}
	issues := &ingest.Importer[bulletin.Issue]{
		Bucket: bucket, Kind: bulletiningest.Issues{Store: store, Now: time.Now},
		Objects: objs, Store: store, Log: log, Now: time.Now,
	}
	handler := bulletiningest.Router(log,
		bulletiningest.Route{Prefix: bulletiningest.SubscribersPrefix, Handle: subscribers.HandleS3},
		bulletiningest.Route{Prefix: bulletiningest.IssuesPrefix, Handle: issues.HandleS3},
	)
	lambda.StartWithOptions(handler, lambda.WithContext(ctx))
	return nil
}
