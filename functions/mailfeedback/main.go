// Command mailfeedback is MailFeedbackFunction: subscribed to the SNS topic that SES's
// configuration set publishes bounces and complaints to, it suppresses bounced and
// complaining addresses for the bulletin (package mailfeedback). It logs counts, never
// addresses.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"sectorhub/shared/config"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/mailfeedback"
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
	h := &mailfeedback.Handler{
		Store: dynamo.New(dynamo.NewClient(getenv), table),
		Log:   config.Logger(getenv),
		Now:   time.Now,
	}
	lambda.StartWithOptions(h.HandleSNS, lambda.WithContext(ctx))
	return nil
}
