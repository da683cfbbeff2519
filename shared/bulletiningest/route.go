package bulletiningest

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Route is one prefix of the uploads bucket and the handler of its S3 events (an
// ingest.Importer's HandleS3).
type Route struct {
	Prefix string
	Handle func(context.Context, events.S3Event) error
}

// Router returns the handler of one function that several kinds share: each record of an S3
// event goes to the route whose prefix its key starts with, in an event of its own records
// in their order. Records no route takes are logged and ignored. It returns every route's
// error (joined), so that Lambda retries the event; each kind's import is idempotent, so
// the records already handled are not done twice.
func Router(log *slog.Logger, routes ...Route) func(context.Context, events.S3Event) error {
	return func(ctx context.Context, ev events.S3Event) error {
		split := make([]events.S3Event, len(routes))
		for _, rec := range ev.Records {
			i := route(routes, rec.S3.Object.URLDecodedKey)
			if i < 0 {
				log.InfoContext(ctx, "ignored object under no prefix of this function", "bucket", rec.S3.Bucket.Name, "key", rec.S3.Object.URLDecodedKey, "event", rec.EventName)
				continue
			}
			split[i].Records = append(split[i].Records, rec)
		}
		var errs []error
		for i, r := range routes {
			if len(split[i].Records) > 0 {
				errs = append(errs, r.Handle(ctx, split[i]))
			}
		}
		return errors.Join(errs...)
	}
}

// route returns the index of the route that takes key (the longest prefix), or -1.
func route(routes []Route, key string) int {
	best := -1
	for i, r := range routes {
		if strings.HasPrefix(key, r.Prefix) && (best < 0 || len(r.Prefix) > len(routes[best].Prefix)) {
			best = i
		}
	}
	return best
}
