package mailfeedback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"sectorhub/shared/bulletin"
)

// Store changes subscriptions on feedback (package dynamo's Store; see
// bulletinapi.SubscriberStore for the contract). Both are safe to repeat: suppressing a
// suppressed address changes nothing, and a transient bounce recorded again at the same
// time is the same bounce.
type Store interface {
	// Suppress makes the address Bounced or Complained (state) at now, creating a record for
	// an address it has none for, so that a later import does not subscribe it.
	Suppress(ctx context.Context, email string, state bulletin.State, now time.Time) (changed bool, err error)
	// SoftBounce records a transient bounce of the address at now; the SoftBounceLimit-th
	// within SoftBounceWindow makes it Bounced. Addresses without a record are ignored.
	SoftBounce(ctx context.Context, email string, now time.Time) (suppressed bool, err error)
}

// Handler is MailFeedbackFunction's handler of the SNS events that carry SES notices.
type Handler struct {
	Store Store
	Log   *slog.Logger
	Now   func() time.Time
}

// Result counts what one notice did.
type Result struct {
	Notice Notice
	// Changed counts the recipients whose record changed state (suppressed now, or a
	// transient bounce that reached the limit).
	Changed int
}

// HandleSNS acts on every record of ev. A message that is not an SES notice is logged
// (without its content) and skipped, since retrying cannot mend it. It returns an error only
// for a failure of the store, worth retrying: Lambda then retries the whole event, and the
// records already done are done again harmlessly.
func (h *Handler) HandleSNS(ctx context.Context, ev events.SNSEvent) error {
	var errs []error
	for _, rec := range ev.Records {
		if err := h.handle(ctx, rec.SNS); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (h *Handler) handle(ctx context.Context, msg events.SNSEntity) error {
	log := h.Log.With("sns_message_id", msg.MessageID)
	n, err := Parse(msg.Message)
	if err != nil {
		log.WarnContext(ctx, "skipped a message that is not an SES notice", "err", err.Error(), "bytes", len(msg.Message))
		return nil
	}
	log = log.With("type", n.Type, "ses_message_id", n.MessageID)
	if n.Action == Ignore {
		log.InfoContext(ctx, "ignored a notice that is neither a bounce nor a complaint")
		return nil
	}
	res, err := h.Apply(ctx, n, msg.Timestamp)
	attrs := []any{"action", n.Action.String(), "recipients", len(n.Recipients), "invalid", n.Invalid, "changed", res.Changed}
	if n.BounceType != "" {
		attrs = append(attrs, "bounce_type", n.BounceType)
	}
	if err != nil {
		log.ErrorContext(ctx, "feedback not recorded; the event will be retried", append(attrs, "err", err.Error())...)
		return fmt.Errorf("SNS message %s: %w", msg.MessageID, err)
	}
	if n.Invalid > 0 {
		log.WarnContext(ctx, "skipped recipients that are not valid addresses", "invalid", n.Invalid)
	}
	log.InfoContext(ctx, "feedback recorded", attrs...)
	return nil
}

// Apply records notice n for each of its recipients. The time recorded is the notice's own
// (At), else the time SNS published it (published), else now, and never after now: so that a
// redelivered transient bounce records the same time again, which the store counts once.
// Its error names the recipient by position only.
func (h *Handler) Apply(ctx context.Context, n Notice, published time.Time) (Result, error) {
	res := Result{Notice: n}
	now := h.Now().UTC()
	at := n.At
	if at.IsZero() {
		at = published.UTC()
	}
	if at.IsZero() || at.After(now) {
		at = now
	}
	for i, email := range n.Recipients {
		var (
			changed bool
			err     error
		)
		switch n.Action {
		case Suppress:
			changed, err = h.Store.Suppress(ctx, email, bulletin.Bounced, at)
		case Complain:
			changed, err = h.Store.Suppress(ctx, email, bulletin.Complained, at)
		case SoftBounce:
			changed, err = h.Store.SoftBounce(ctx, email, at)
		default:
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("%s recipient %d of %d: %w", n.Action, i+1, len(n.Recipients), err)
		}
		if changed {
			res.Changed++
		}
	}
	return res, nil
}
