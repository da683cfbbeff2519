// Command bulletin is BulletinFunction: the public routes of the Light Lunch bulletin
// (package bulletinapi): the subscription request (POST /bulletin/subscriptions), the
// confirmation and unsubscribe links (/bulletin/confirm, /bulletin/unsubscribe) and the web
// archive (/bulletin/issues). It sends a confirmation mail at once through SES; the outbox
// keeps it for MailOutboxFunction if SES fails.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"sectorhub/shared/bulletinapi"
	"sectorhub/shared/bulletinmail"
	"sectorhub/shared/config"
	"sectorhub/shared/dynamo"
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
	mails := bulletinmail.FromEnv(env)
	if err := env.Err(); err != nil {
		return err
	}
	log := config.Logger(getenv)
	store := dynamo.New(dynamo.NewClient(getenv), table)
	api := bulletinapi.New(bulletinapi.Deps{
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
