// Command staff is StaffFunction: the staff API behind the Cognito JWT authorizer
// (GET /staff/imports).
package main

import (
	"context"
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
	if err := env.Err(); err != nil {
		return err
	}
	log := config.Logger(getenv)
	api := staffapi.New(dynamo.New(dynamo.NewClient(getenv), table), log)
	lambda.StartWithOptions(api.Serve, lambda.WithContext(ctx))
	return nil
}
