// Command casestudies is CaseStudiesFunction: the public case studies
// (GET /case-studies, GET /case-studies/{slug}). It renders nothing: the HTML was rendered and
// sanitised at publish time, so neither the Markdown renderer nor the YAML parser is in this
// binary.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"sectorhub/shared/casestudyapi"
	"sectorhub/shared/config"
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
	api := casestudyapi.New(dynamo.New(dynamo.NewClient(getenv), table), log)
	lambda.StartWithOptions(api.Serve, lambda.WithContext(ctx))
	return nil
}
