// Command mailoutbox is MailOutboxFunction: on its schedule (every minute) it sends the mail
// that is due in the outbox, paced to MAIL_MAX_RATE, and marks as uncertain any mail whose
// sender stopped between claiming and recording it (mail.Sweep), starting a send only with
// 12 seconds left (the SES call's timeout and time to record it) and stopping two seconds
// before the invocation's deadline. It logs counts, never addresses.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

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
	if err := env.Err(); err != nil {
		return err
	}
	rate, err := mail.MaxRate(getenv)
	if err != nil {
		return err
	}
	store := dynamo.New(dynamo.NewClient(getenv), table)
	h := sweeper(store, mail.NewSES(getenv), rate, config.Logger(getenv))
	lambda.StartWithOptions(h, lambda.WithContext(ctx))
	return nil
}

// sweeper returns the handler. Any event starts a sweep (the schedule's, or one fired by
// hand); its content is not used. A sweep that did nothing logs at debug level only, so that
// an idle outbox costs no log lines.
func sweeper(ob mail.Outbox, s mail.Sender, rate float64, log *slog.Logger) func(context.Context, json.RawMessage) (mail.SweepReport, error) {
	return func(ctx context.Context, _ json.RawMessage) (mail.SweepReport, error) {
		rep, err := mail.Sweep(ctx, ob, s, mail.SweepOptions{Rate: rate})
		attrs := []any{"sent", rep.Sent, "retried", rep.Retried, "failed", rep.Failed, "uncertain", rep.Uncertain, "unknown", rep.Unknown}
		switch {
		case err != nil:
			log.ErrorContext(ctx, "outbox sweep", append(attrs, "err", err.Error())...)
			return rep, err
		case rep == mail.SweepReport{}:
			log.DebugContext(ctx, "outbox sweep", attrs...)
		default:
			log.InfoContext(ctx, "outbox sweep", attrs...)
		}
		return rep, nil
	}
}
