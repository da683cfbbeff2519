// Command staffevents is StaffEventsFunction: the staff events routes behind the Cognito JWT
// authorizer (/staff/events…: create, list, change, cancel, bookings export). It renders
// event descriptions with the case studies' Markdown renderer and allow-list.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"sectorhub/shared/casestudy/markdown"
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
	api := eventapi.NewStaff(eventapi.StaffDeps{
		Store:  store,
		Outbox: store,
		Sender: mail.NewSES(getenv),
		Mail:   mails,
		RenderMarkdown: func(md []byte) (string, error) {
			h, _, err := markdown.Render(md)
			return h, err
		},
		Log: log,
	})
	lambda.StartWithOptions(api.Serve, lambda.WithContext(ctx))
	return nil
}
