// Command directory is DirectoryFunction: the public directory of services
// (GET /directory/organisations[/{id}], GET /directory/stats) and its Open Referral UK feed
// (GET /openreferral/...).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"sectorhub/shared/config"
	"sectorhub/shared/directoryapi"
	"sectorhub/shared/dynamo"
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
	if err := env.Err(); err != nil {
		return err
	}
	log := config.Logger(getenv)
	api := directoryapi.New(dynamo.New(dynamo.NewClient(getenv), table), log)
	lambda.StartWithOptions(api.Serve, lambda.WithContext(ctx))
	return nil
}
