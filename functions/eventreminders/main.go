// Command eventreminders is EventRemindersFunction: every hour (an EventBridge schedule) it
// records a reminder for every confirmed attendee of each event starting in the next 24
// hours, once per booking, and sends them paced to MAIL_MAX_RATE.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"time"

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
	rate, err := mail.MaxRate(getenv)
	if err != nil {
		return err
	}
	log := config.Logger(getenv)
	store := dynamo.New(dynamo.NewClient(getenv), table)
	r := &eventapi.Reminders{
		Store:  store,
		Outbox: store,
		Sender: mail.NewSES(getenv),
		Mail:   mails,
		Rate:   rate,
		Log:    log,
	}
	// Any event starts a run (the schedule's, or one fired by hand); its content is not used.
	handler := func(ctx context.Context, _ json.RawMessage) (eventapi.ReminderReport, error) {
		rep, err := r.Run(ctx, time.Now())
		log.InfoContext(ctx, "reminders", "events", rep.Events, "recorded", rep.Recorded, "sent", rep.Sent, "retried", rep.Retried, "failed", rep.Failed, "uncertain", rep.Uncertain)
		return rep, err
	}
	lambda.StartWithOptions(handler, lambda.WithContext(ctx))
	return nil
}
