// Command events is EventsFunction: the public events routes (GET /events, GET /events/{id},
// its calendar file, POST /events/{id}/bookings) and the attendee's booking link
// (GET, POST …/cancel and DELETE /bookings/{token}). It sends a booking's mail at once through
// SES; the outbox keeps it for MailOutboxFunction if SES fails.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"sectorhub/shared/config"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/eventapi"
	"sectorhub/shared/eventmail"
	"sectorhub/shared/mail"
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
	mails := eventmail.FromEnv(env)
	if err := env.Err(); err != nil {
		return err
	}
	log := config.Logger(getenv)
	store := dynamo.New(dynamo.NewClient(getenv), table)
	api := eventapi.New(eventapi.Deps{
		Store:   store,
		Outbox:  store,
		Sender:  mail.NewSES(getenv),
		Mail:    mails,
		SiteURL: mails.SiteURL,
		Log:     log,
	})
	lambda.StartWithOptions(api.Serve, lambda.WithContext(ctx))
	return nil
}
