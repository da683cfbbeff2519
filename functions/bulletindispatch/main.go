// Command bulletindispatch is BulletinDispatchFunction: the weekly schedule's invocation ({})
// sends every due issue of the Light Lunch bulletin; the every-minute one ({"continue": true})
// carries on with dispatches already started (package bulletinsend). It logs one line of
// counts per issue, never addresses. Nothing at init calls AWS: the sending quota is read
// when there is an issue to send.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

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
	d, err := dispatcher(getenv)
	if err != nil {
		return err
	}
	lambda.StartWithOptions(d.Handle, lambda.WithContext(ctx))
	return nil
}

// dispatcher builds the dispatcher from the environment: TABLE_NAME, SENDER_ADDRESS and
// SITE_URL (required), BULLETIN_MAX_RATE (optional), and what mail.NewSES reads.
func dispatcher(getenv func(string) string) (*bulletinsend.Dispatcher, error) {
	env := config.New(getenv)
	table := env.Required("TABLE_NAME")
	renderer := bulletinmail.FromEnv(env)
	if err := env.Err(); err != nil {
		return nil, err
	}
	maxRate, err := bulletinsend.MaxRateFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	store := dynamo.New(dynamo.NewClient(getenv), table)
	ses := mail.NewSES(getenv)
	return &bulletinsend.Dispatcher{
		Store:    store,
		Content:  store,
		Sender:   ses,
		Quota:    ses,
		Renderer: renderer,
		MaxRate:  maxRate,
		Log:      config.Logger(getenv),
	}, nil
}
