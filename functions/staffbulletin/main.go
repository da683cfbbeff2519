// Command staffbulletin is StaffBulletinFunction: the staff routes of the Light Lunch
// bulletin behind the Cognito JWT authorizer (package bulletinapi): the issues with their
// dispatch's progress (GET /staff/bulletins, /staff/bulletins/{id}) and the test send
// (POST /staff/bulletins/{id}/test), which renders an issue as its dispatch would
// (bulletinsend.Dispatcher's Preview) and sends it to one address through the outbox.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"sectorhub/shared/bulletinapi"
	"sectorhub/shared/bulletinmail"
	"sectorhub/shared/bulletinsend"
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
	api := bulletinapi.NewStaff(bulletinapi.StaffDeps{
		Store:  store,
		Sender: mail.NewSES(getenv),
		// Preview reads the issues, the events and the case studies; it sends nothing.
		Preview: &bulletinsend.Dispatcher{Store: store, Content: store, Renderer: mails, Log: log},
		Mail:    mails,
		Log:     log,
	})
	lambda.StartWithOptions(api.Serve, lambda.WithContext(ctx))
	return nil
}
