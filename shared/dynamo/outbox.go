package dynamo

// The outbox: mail recorded before it is sent (package mail). Store implements mail.Outbox.
//
//	pk                 sk      what
//	MAIL#<id>          MAIL    one mail (mail.Mail); while pending or sending it is in gsi2
//	                           (gsi2pk OUTBOX, gsi2sk <due>#<id>: a pending mail's
//	                           next_attempt_at, a sending mail's lease_until); expires_at 30
//	                           days after it was recorded
//
// Access patterns: PutMail (PutItem, or mailPut in a capability's transaction), MailByID
// (GetItem), ClaimMail and RetryMail (UpdateItem MAIL#<id>), FailMail (PutItem MAIL#<id>),
// MarkMailUncertain (GetItem, PutItem MAIL#<id>), MarkMailSent (PutItem MAIL#<id>, in a
// TransactWriteItems with an UpdateItem of the stamped record when there is one), DueMail
// (Query gsi2 gsi2pk=OUTBOX, gsi2sk ≤ now), WithdrawMails (DeleteItem MAIL#<id> on
// condition status = pending).
//
// Every status change is conditional on the status it leaves (and ClaimMail on the mail
// being due), so that of several senders exactly one claims a mail and only it records the
// outcome. A mail that leaves the outbox for good (sent, failed, uncertain) drops its body
// and recipients (raw, to: personal data) and its gsi2 keys.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/shared/mail"
)

const (
	mailSK = "MAIL"
	// outboxPK is gsi2's partition of mail waiting to be sent.
	outboxPK = "OUTBOX"
	// mailKeep is how long a mail's record stays (TTL) after it was recorded.
	mailKeep = 30 * 24 * time.Hour
	// stampPrefix begins the attribute a sent mail sets on its Stamp's record.
	stampPrefix = "mail_sent_"
	// stampAttempts bounds the transactions MarkMailSent tries while the stamped record is
	// being changed by another transaction (TransactionConflict); then it records the mail
	// as sent without the stamp rather than leave a sent mail to become uncertain.
	stampAttempts = 6
)

// Compile-time check that Store is the outbox package mail delivers from.
var _ mail.Outbox = (*Store)(nil)

func mailPK(id string) string { return "MAIL#" + id }

// outboxSK is a mail's gsi2 sort key while it waits (due: next attempt or end of lease):
// due mail sorts first.
func outboxSK(due time.Time, id string) string { return timeKey(due) + "#" + id }

// mailPut returns the transaction item that records m as pending, due at once, unless a mail
// with its ID is already recorded (then the condition fails: the mail was recorded before,
// and is not recorded twice). Capabilities put it in the same transaction as the change the
// mail is about (a booking), so that the mail exists exactly when the change does.
func (s *Store) mailPut(m mail.Mail, now time.Time) (*types.Put, error) {
	if m.ID == "" {
		return nil, errors.New("encode mail: no id")
	}
	if m.Stamp != nil {
		if err := m.Stamp.Check(); err != nil {
			return nil, fmt.Errorf("encode mail %s: %w", m.ID, err)
		}
	}
	m.Status = mail.Pending
	m.CreatedAt = now
	m.NextAttemptAt = now
	m.Attempts = 0
	m.LeaseUntil, m.SentAt, m.FailedAt = time.Time{}, time.Time{}, time.Time{}
	m.MessageID, m.LastError = "", ""
	item, err := marshalItem(m, mailPK(m.ID), mailSK)
	if err != nil {
		return nil, fmt.Errorf("encode mail %s: %w", m.ID, err)
	}
	// Times not yet reached are absent, not the zero time.
	for _, name := range []string{"lease_until", "sent_at", "failed_at"} {
		delete(item, name)
	}
	item["gsi2pk"] = &types.AttributeValueMemberS{Value: outboxPK}
	item["gsi2sk"] = &types.AttributeValueMemberS{Value: outboxSK(now, m.ID)}
	item["expires_at"] = &types.AttributeValueMemberN{Value: fmt.Sprint(now.Add(mailKeep).Unix())}
	cond, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name("pk"))).Build()
	if err != nil {
		return nil, err
	}
	return &types.Put{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       cond.Condition(),
		ExpressionAttributeNames:  cond.Names(),
		ExpressionAttributeValues: cond.Values(),
	}, nil
}

// PutMail records m as pending, due at now (PutItem MAIL#<id>, condition: none with its ID),
// for a mail that is not part of a transaction; created is false when it was recorded before.
func (s *Store) PutMail(ctx context.Context, m mail.Mail, now time.Time) (created bool, err error) {
	put, err := s.mailPut(m, now)
	if err != nil {
		return false, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 put.TableName,
		Item:                      put.Item,
		ConditionExpression:       put.ConditionExpression,
		ExpressionAttributeNames:  put.ExpressionAttributeNames,
		ExpressionAttributeValues: put.ExpressionAttributeValues,
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("put mail %s: %w", m.ID, err)
	}
	return true, nil
}

// MailByID returns the mail with id as recorded (GetItem MAIL#<id>, consistent).
func (s *Store) MailByID(ctx context.Context, id string) (m mail.Mail, ok bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(mailPK(id), mailSK),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return m, false, fmt.Errorf("get mail %s: %w", id, err)
	}
	if out.Item == nil {
		return m, false, nil
	}
	if err := attributevalue.UnmarshalMapWithOptions(out.Item, &m, jsonTagsDecode); err != nil {
		return m, false, fmt.Errorf("decode mail %s: %w", id, err)
	}
	return m, true, nil
}

// ClaimMail moves a pending mail that is due to sending until now+lease and returns it
// (UpdateItem MAIL#<id>, condition status = pending AND next_attempt_at ≤ now; its gsi2sk
// becomes the end of the lease, when Sweep looks at it again). ok is false when the condition
// fails: the mail is unknown, not due, or someone else's. Each claim writes a random claim ID,
// so that when the SDK retries a claim whose first attempt was applied but whose answer was
// lost, the failed retry finds its own claim (a consistent GetItem) and still holds the mail,
// rather than leaving it claimed by nobody until it turns uncertain.
func (s *Store) ClaimMail(ctx context.Context, id string, now time.Time, lease time.Duration) (mail.Mail, bool, error) {
	until := now.Add(lease)
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return mail.Mail{}, false, err
	}
	claim := hex.EncodeToString(b[:])
	up := expression.Set(expression.Name("status"), expression.Value(mail.Sending)).
		Set(expression.Name("lease_until"), expression.Value(timeKey(until))).
		Set(expression.Name("claim"), expression.Value(claim)).
		Set(expression.Name("gsi2sk"), expression.Value(outboxSK(until, id)))
	cond := expression.Name("status").Equal(expression.Value(mail.Pending)).
		And(expression.Name("next_attempt_at").LessThanEqual(expression.Value(timeKey(now))))
	out, err := s.updateMail(ctx, id, up, cond, types.ReturnValueAllNew)
	if errors.Is(err, mail.ErrStale) {
		// The condition failed: someone else's claim, or this one's, applied by an attempt
		// whose answer was lost and retried by the SDK. Only the claim ID tells them apart.
		m, ok, err := s.MailByID(ctx, id)
		if err != nil || !ok || m.Status != mail.Sending || m.Claim != claim {
			return mail.Mail{}, false, err
		}
		return m, true, nil
	}
	if err != nil {
		return mail.Mail{}, false, fmt.Errorf("claim mail %s: %w", id, err)
	}
	var m mail.Mail
	if err := attributevalue.UnmarshalMapWithOptions(out.Attributes, &m, jsonTagsDecode); err != nil {
		return mail.Mail{}, false, fmt.Errorf("decode mail %s: %w", id, err)
	}
	return m, true, nil
}

// MarkMailSent records that SES accepted m (the mail as ClaimMail returned it): status sent,
// sent_at, message_id, without raw, to, the lease and the gsi2 keys (a conditional Put of the
// final record, doneMail; condition status = sending, or uncertain: a sender slower than its
// lease did send, and the record should say so).
//
// With m.Stamp it also sets the stamped record's mail_sent_<kind> to now, in the same
// transaction, on condition that the record exists: a stamp never creates a record (a
// booking deleted meanwhile stays deleted). When the record is gone, stays contended by
// other transactions after a few tries, or the transaction fails for any other reason than
// the mail's own condition, the mail is recorded as sent without the stamp: the mail's own
// record is what says it went, and it must not be left to become uncertain.
func (s *Store) MarkMailSent(ctx context.Context, m mail.Mail, messageID string, now time.Time) error {
	m.Status, m.SentAt, m.MessageID, m.LeaseUntil = mail.Sent, now, messageID, time.Time{}
	cond := expression.Name("status").In(expression.Value(mail.Sending), expression.Value(mail.Uncertain))
	put, err := s.doneMail(m, cond)
	if err != nil {
		return fmt.Errorf("mark mail %s sent: %w", m.ID, err)
	}
	if m.Stamp == nil || m.Stamp.Check() != nil {
		return wrapMail("mark mail sent", m.ID, s.putDone(ctx, put))
	}
	stamp, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name(stampPrefix+m.Stamp.Kind), expression.Value(timeKey(now)))).
		WithCondition(expression.AttributeExists(expression.Name("pk"))).Build()
	if err != nil {
		return fmt.Errorf("mark mail %s sent: %w", m.ID, err)
	}
	tx := []types.TransactWriteItem{{Put: put}, {Update: &types.Update{
		TableName:                 &s.table,
		Key:                       key(m.Stamp.PK, m.Stamp.SK),
		UpdateExpression:          stamp.Update(),
		ConditionExpression:       stamp.Condition(),
		ExpressionAttributeNames:  stamp.Names(),
		ExpressionAttributeValues: stamp.Values(),
	}}}
stamping:
	for attempt := 0; attempt < stampAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return fmt.Errorf("mark mail %s sent: %w", m.ID, err)
			}
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		failed := failedConditions(err)
		switch {
		case err == nil:
			return nil
		case failed[0]:
			return fmt.Errorf("mark mail %s sent: %w", m.ID, mail.ErrStale)
		case stampConflict(err):
			continue
		default:
			// The stamped record is gone (failed[1]), or the stamp cannot be written (a
			// policy that does not allow it, say): record the mail without it.
			break stamping
		}
	}
	return wrapMail("mark mail sent", m.ID, s.putDone(ctx, put))
}

// RetryMail gives the claimed mail m back: status pending, attempts + 1, next_attempt_at and
// gsi2sk at, last_error code (UpdateItem, condition status = sending). lease_until stays, the
// end of the last claim.
func (s *Store) RetryMail(ctx context.Context, m mail.Mail, at time.Time, code string) error {
	up := expression.Set(expression.Name("status"), expression.Value(mail.Pending)).
		Set(expression.Name("attempts"), expression.Name("attempts").Plus(expression.Value(1))).
		Set(expression.Name("next_attempt_at"), expression.Value(timeKey(at))).
		Set(expression.Name("gsi2sk"), expression.Value(outboxSK(at, m.ID))).
		Set(expression.Name("last_error"), expression.Value(code))
	_, err := s.updateMail(ctx, m.ID, up, expression.Name("status").Equal(expression.Value(mail.Sending)), types.ReturnValueNone)
	return wrapMail("retry mail", m.ID, err)
}

// FailMail records that the claimed mail m will never be sent: status failed, failed_at,
// attempts + 1, last_error code, without raw, to, the lease and the gsi2 keys (conditional
// Put of the final record; condition status = sending).
func (s *Store) FailMail(ctx context.Context, m mail.Mail, code string, now time.Time) error {
	m.Status, m.FailedAt, m.Attempts, m.LastError, m.LeaseUntil = mail.Failed, now, m.Attempts+1, code, time.Time{}
	put, err := s.doneMail(m, expression.Name("status").Equal(expression.Value(mail.Sending)))
	if err != nil {
		return fmt.Errorf("fail mail %s: %w", m.ID, err)
	}
	return wrapMail("fail mail", m.ID, s.putDone(ctx, put))
}

// MarkMailUncertain records that the mail with id was claimed and its lease is over: status
// uncertain, without raw, to and the gsi2 keys; lease_until kept (GetItem, then a conditional
// Put of the final record; condition status = sending AND lease_until < now). It is never
// sent again.
func (s *Store) MarkMailUncertain(ctx context.Context, id string, now time.Time) error {
	m, ok, err := s.MailByID(ctx, id)
	if err != nil {
		return err
	}
	if !ok || m.Status != mail.Sending || !m.LeaseUntil.Before(now) {
		return fmt.Errorf("mark mail uncertain %s: %w", id, mail.ErrStale)
	}
	m.Status = mail.Uncertain
	cond := expression.Name("status").Equal(expression.Value(mail.Sending)).
		And(expression.Name("lease_until").LessThan(expression.Value(timeKey(now))))
	put, err := s.doneMail(m, cond)
	if err != nil {
		return fmt.Errorf("mark mail uncertain %s: %w", id, err)
	}
	return wrapMail("mark mail uncertain", id, s.putDone(ctx, put))
}

// doneMail returns the Put, on condition cond, of the final record of m, which leaves the
// outbox for good (sent, failed, uncertain): m without its body and recipients (personal
// data nothing needs any more) and without gsi2 keys. A whole-record Put rather than an
// UpdateItem with REMOVE (chosen when the embedded server ignored REMOVE of a top-level
// attribute; a gsi2 key cannot be set to NULL instead). Only the outbox writes a mail's
// record, and m must be the record as read (ClaimMail, MailByID): the condition also requires
// its created_at, so that a Mail made up by a caller cannot overwrite a record.
func (s *Store) doneMail(m mail.Mail, cond expression.ConditionBuilder) (*types.Put, error) {
	if m.ID == "" || m.CreatedAt.IsZero() {
		return nil, errors.New("the mail is not as read from the outbox (no id or created_at)")
	}
	cond = cond.And(expression.Name("created_at").Equal(expression.Value(timeKey(m.CreatedAt))))
	m.Raw, m.To = nil, nil
	item, err := marshalItem(m, mailPK(m.ID), mailSK)
	if err != nil {
		return nil, err
	}
	for name, t := range map[string]time.Time{"lease_until": m.LeaseUntil, "sent_at": m.SentAt, "failed_at": m.FailedAt} {
		if t.IsZero() {
			delete(item, name)
		}
	}
	item["expires_at"] = &types.AttributeValueMemberN{Value: fmt.Sprint(m.CreatedAt.Add(mailKeep).Unix())}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	return &types.Put{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, nil
}

// putDone writes a doneMail Put; a failed condition is mail.ErrStale.
func (s *Store) putDone(ctx context.Context, put *types.Put) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 put.TableName,
		Item:                      put.Item,
		ConditionExpression:       put.ConditionExpression,
		ExpressionAttributeNames:  put.ExpressionAttributeNames,
		ExpressionAttributeValues: put.ExpressionAttributeValues,
	})
	if conditionFailed(err) {
		return mail.ErrStale
	}
	return err
}

// WithdrawMails withdraws the mails with ids that are still waiting to be sent (a booking's
// confirmation or reminder once the booking is cancelled: it carries the joining link), and
// returns how many it withdrew. Each is a DeleteItem of MAIL#<id> on condition status =
// pending, a few at a time: a mail that is being sent, was sent, failed or is not recorded
// is left as it is and not counted (that is not an error), and a sender that has not yet
// claimed a withdrawn mail finds nothing to claim. The mail's ID is free again afterwards:
// whoever withdraws a mail must not record it again.
func (s *Store) WithdrawMails(ctx context.Context, ids []string) (withdrawn int, err error) {
	cond, err := expression.NewBuilder().WithCondition(expression.Name("status").Equal(expression.Value(mail.Pending))).Build()
	if err != nil {
		return 0, fmt.Errorf("withdraw mail: %w", err)
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	todo := make(chan string)
	for range writers {
		wg.Go(func() {
			for id := range todo {
				_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
					TableName:                 &s.table,
					Key:                       key(mailPK(id), mailSK),
					ConditionExpression:       cond.Condition(),
					ExpressionAttributeNames:  cond.Names(),
					ExpressionAttributeValues: cond.Values(),
				})
				mu.Lock()
				switch {
				case err == nil:
					withdrawn++
				case !conditionFailed(err):
					errs = append(errs, fmt.Errorf("withdraw mail %s: %w", id, err))
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, id := range ids {
		select {
		case todo <- id:
		case <-ctx.Done():
			mu.Lock()
			errs = append(errs, fmt.Errorf("withdraw mail: %w", ctx.Err()))
			mu.Unlock()
			break feed
		}
	}
	close(todo)
	wg.Wait()
	return withdrawn, errors.Join(errs...)
}

// dueMailFields are what DueMail reads: everything but the body and the recipients.
var dueMailFields = []string{"id", "kind", "from", "status", "attempts", "created_at", "next_attempt_at", "lease_until", "last_error", "stamp"}

// DueMail returns up to limit mails due at now, oldest first: Query gsi2 gsi2pk = OUTBOX AND
// gsi2sk < "<now>$" (every <now>#<id> and before), without raw and to. They are pending
// mails due by now and sending mails whose lease ended by now. gsi2 is eventually
// consistent: a mail just claimed or sent may still be listed, and its claim then fails.
func (s *Store) DueMail(ctx context.Context, now time.Time, limit int) ([]mail.Mail, error) {
	if limit <= 0 {
		return nil, nil
	}
	cond := expression.Key("gsi2pk").Equal(expression.Value(outboxPK)).
		And(expression.Key("gsi2sk").LessThan(expression.Value(timeKey(now) + "$"))) // '$' follows '#'
	proj := expression.NamesList(expression.Name(dueMailFields[0]))
	for _, f := range dueMailFields[1:] {
		proj = proj.AddNames(expression.Name(f))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(cond).WithProjection(proj).Build()
	if err != nil {
		return nil, fmt.Errorf("due mail: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String("gsi2"),
		KeyConditionExpression:    expr.KeyCondition(),
		ProjectionExpression:      expr.Projection(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	var out []mail.Mail
	for len(out) < limit {
		in.Limit = aws.Int32(int32(min(limit-len(out), 1000)))
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("due mail: %w", err)
		}
		for _, item := range page.Items {
			var m mail.Mail
			if err := attributevalue.UnmarshalMapWithOptions(item, &m, jsonTagsDecode); err != nil {
				return nil, fmt.Errorf("decode due mail: %w", err)
			}
			m.Raw, m.To = nil, nil // in case a server ignores the projection (minidyn does)
			out = append(out, m)
		}
		if page.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	return out, nil
}

// updateMail updates MAIL#<id> with up on condition cond; a failed condition is mail.ErrStale.
func (s *Store) updateMail(ctx context.Context, id string, up expression.UpdateBuilder, cond expression.ConditionBuilder, ret types.ReturnValue) (*dynamodb.UpdateItemOutput, error) {
	expr, err := expression.NewBuilder().WithUpdate(up).WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       key(mailPK(id), mailSK),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              ret,
	})
	if conditionFailed(err) {
		return nil, mail.ErrStale
	}
	return out, err
}

// wrapMail wraps err (nil stays nil) with what was done to which mail.
func wrapMail(what, id string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s: %w", what, id, err)
}

// stampConflict reports whether err is MarkMailSent's transaction cancelled because another
// transaction was changing one of its items (the stamped record) at the same time.
func stampConflict(err error) bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return false
	}
	for _, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) == "TransactionConflict" {
			return true
		}
	}
	return false
}
