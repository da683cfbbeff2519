package dynamo

// Subscribers of the Light Lunch bulletin (bulletinkeys.go has the layout of every bulletin
// item):
//
//	pk                         sk          what
//	SUB#<subscriber id>        SUB         the subscriber: bulletin.Subscriber's fields, and
//	                                       confirm_count (confirmation mails ever recorded); while
//	                                       Subscribed, gsi2pk SUBSCRIBED and gsi2sk <subscriber id>
//	SUBEMAIL#<sha256(address)> SUBEMAIL    the address's subscriber: {"subscriber_id"}; the
//	                                       address is trimmed and lower-cased before hashing
//
// Access patterns: SubscriberByID (GetItem SUB#), SubscriberByEmail (GetItem SUBEMAIL#, then
// GetItem SUB#), SubscribedPage (Query gsi2 gsi2pk=SUBSCRIBED, in ID order), SubscribedCount
// (the same Query, Select COUNT), and the writes below.
//
// The two items of an address are created together, in one TransactWriteItems, each on
// condition attribute_not_exists(pk): of two requests creating the same address at once one
// creates it and the other reads what it created. Every later write of SUB# is a Put of the
// whole record on condition that its version is the one read (an optimistic lock): a writer
// that loses reads again and decides again, a few times, then gives up with an error. A
// whole-record Put rather than UpdateItem, because the gsi2 keys must go when a subscriber
// leaves Subscribed (chosen when the embedded server ignored REMOVE of a top-level attribute).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/mail"
)

const (
	// subscriberAttempts bounds how often one change of a subscriber reads, decides and
	// writes when other writers keep changing the record in between.
	subscriberAttempts = 6
	// importBatch is how many rows an import looks up at a time (BatchGetItem's limit).
	importBatch = 100
	// importCreates is how many new subscribers one import transaction creates: two items
	// each, TransactWriteItems' limit of 100.
	importCreates = 50
	// confirmMailPrefix begins a confirmation mail's outbox ID.
	confirmMailPrefix = "bulletin-confirm-"
)

// errSubscriberStale is a write whose condition failed: the record changed since it was
// read, or another request created the address. Read again and decide again.
var errSubscriberStale = errors.New("the subscriber changed meanwhile")

// subscriberItem is the stored form of SUB#<id>: the subscriber and the number of
// confirmation mails recorded for it, which names the next one (ConfirmMailID).
type subscriberItem struct {
	bulletin.Subscriber
	ConfirmCount int `json:"confirm_count,omitempty"`
}

// subscriberEmailItem is the stored form of SUBEMAIL#<hash>.
type subscriberEmailItem struct {
	SubscriberID string `json:"subscriber_id"`
}

// subscriberAddressPK is the key of an address's lookup item: the same address in another
// case is the same subscriber.
func subscriberAddressPK(email string) string {
	return subscriberEmailPK(strings.ToLower(strings.TrimSpace(email)))
}

// ConfirmMailID is the outbox ID of subscriber id's n-th confirmation mail (n from 1):
// "bulletin-confirm-<id>-<n>".
func ConfirmMailID(id string, n int) string { return fmt.Sprintf("%s%s-%d", confirmMailPrefix, id, n) }

// SubscriberByID returns the subscriber with id: GetItem pk=SUB#<id> sk=SUB, strongly
// consistent (a link is checked against what was just written).
func (s *Store) SubscriberByID(ctx context.Context, id string) (bulletin.Subscriber, bool, error) {
	it, ok, err := s.subscriber(ctx, id)
	return it.Subscriber, ok, err
}

// SubscriberByEmail returns the subscriber of an address, whatever its state: GetItem
// pk=SUBEMAIL#<sha256(address)> sk=SUBEMAIL, then GetItem of the SUB# it names, both strongly
// consistent. The address is compared trimmed and in lower case.
func (s *Store) SubscriberByEmail(ctx context.Context, email string) (bulletin.Subscriber, bool, error) {
	it, ok, err := s.subscriberByEmail(ctx, email)
	return it.Subscriber, ok, err
}

func (s *Store) subscriber(ctx context.Context, id string) (subscriberItem, bool, error) {
	var it subscriberItem
	item, err := s.getItem(ctx, subscriberPK(id), subscriberSK)
	if err != nil || item == nil {
		return it, false, err
	}
	it, err = decodeSubscriberItem(item)
	return it, err == nil, err
}

func (s *Store) subscriberByEmail(ctx context.Context, email string) (subscriberItem, bool, error) {
	item, err := s.getItem(ctx, subscriberAddressPK(email), subscriberEmailSK)
	if err != nil || item == nil {
		return subscriberItem{}, false, err
	}
	id, err := decodeAddressItem(item)
	if err != nil {
		return subscriberItem{}, false, err
	}
	it, ok, err := s.subscriber(ctx, id)
	if err == nil && !ok {
		// The two items are only ever created together and never deleted.
		return it, false, fmt.Errorf("subscriber %s of an address item is missing", id)
	}
	return it, ok, err
}

// decodeAddressItem returns the subscriber ID a SUBEMAIL# item holds.
func decodeAddressItem(item map[string]types.AttributeValue) (string, error) {
	var ref subscriberEmailItem
	if err := attributevalue.UnmarshalMapWithOptions(item, &ref, jsonTagsDecode); err != nil {
		return "", fmt.Errorf("decode subscriber address item: %w", err)
	}
	if ref.SubscriberID == "" {
		return "", errors.New("decode subscriber address item: no subscriber_id")
	}
	return ref.SubscriberID, nil
}

func decodeSubscriberItem(item map[string]types.AttributeValue) (subscriberItem, error) {
	var it subscriberItem
	if err := attributevalue.UnmarshalMapWithOptions(item, &it, jsonTagsDecode); err != nil {
		return it, fmt.Errorf("decode subscriber: %w", err)
	}
	return it, nil
}

// newSubscriberItem returns a new record for email (not yet stored) in state at now, with its
// own ID and unsubscribe secret.
func newSubscriberItem(email, name, organisation string, state bulletin.State, now time.Time) subscriberItem {
	return subscriberItem{Subscriber: bulletin.Subscriber{
		ID:                bulletin.NewSubscriberID(),
		Email:             email,
		Name:              name,
		Organisation:      organisation,
		State:             state,
		CreatedAt:         now,
		ChangedAt:         now,
		UnsubscribeSecret: bulletin.NewSecret(),
	}}
}

// leave puts it in a suppressed state at now: no consent in force, no confirmation link that
// works any more, and (written) out of gsi2.
func (it *subscriberItem) leave(state bulletin.State, now time.Time) {
	it.State, it.ChangedAt = state, now
	it.Consent = nil
	it.ConfirmSecret, it.ConfirmExpires = "", time.Time{}
}

// subscribe makes it Subscribed at now with consent c. A confirmation link it had keeps
// working, showing that they are subscribed (a second click, or a click after an import
// subscribed them), until they leave.
func (it *subscriberItem) subscribe(c bulletin.Consent, now time.Time) {
	it.State, it.ChangedAt = bulletin.Subscribed, now
	it.Consent = &c
	it.SoftBounces = nil
}

// keepSince returns the times of ts after from: those within a window that reaches back to
// from (a time exactly a window ago is out of it).
func keepSince(ts []time.Time, from time.Time) []time.Time {
	return slices.DeleteFunc(slices.Clone(ts), func(t time.Time) bool { return !t.After(from) })
}

// subscriberPut returns the transaction items that store next: the Put of SUB#, with the gsi2
// keys while Subscribed, on condition that its version is prev's (next's version becomes
// one more) or, when create, that it does not exist; with create, the Put of its SUBEMAIL#
// on condition that the address has no subscriber yet.
func (s *Store) subscriberPut(next subscriberItem, prevVersion int64, create bool) ([]types.TransactWriteItem, error) {
	next.Version = prevVersion + 1
	item, err := marshalRecord(next, subscriberPK(next.ID), subscriberSK)
	if err != nil {
		return nil, fmt.Errorf("encode subscriber %s: %w", next.ID, err)
	}
	if next.State == bulletin.Subscribed {
		item["gsi2pk"] = &types.AttributeValueMemberS{Value: subscribedIndex}
		item["gsi2sk"] = &types.AttributeValueMemberS{Value: next.ID}
	}
	absent := expression.AttributeNotExists(expression.Name("pk"))
	cond := expression.Name("version").Equal(expression.Value(prevVersion))
	if create {
		cond = absent
	}
	put, err := s.conditionalPut(item, cond)
	if err != nil {
		return nil, err
	}
	if !create {
		return []types.TransactWriteItem{put}, nil
	}
	ref, err := marshalItem(subscriberEmailItem{SubscriberID: next.ID}, subscriberAddressPK(next.Email), subscriberEmailSK)
	if err != nil {
		return nil, fmt.Errorf("encode subscriber address item %s: %w", next.ID, err)
	}
	lookup, err := s.conditionalPut(ref, absent)
	if err != nil {
		return nil, err
	}
	return []types.TransactWriteItem{put, lookup}, nil
}

// writeSubscriber writes next (see subscriberPut) and extra: a PutItem when that is all, else
// one transaction. A clash with another transaction in flight on the same items is retried
// after a pause (its conditions are evaluated afresh), at most writeAttempts times.
// errSubscriberStale when a subscriber item's condition failed; a failed condition of extra
// is returned as it is (conditionFailed).
func (s *Store) writeSubscriber(ctx context.Context, next subscriberItem, prevVersion int64, create bool, extra ...types.TransactWriteItem) error {
	tx, err := s.subscriberPut(next, prevVersion, create)
	if err != nil {
		return err
	}
	own := len(tx)
	tx = append(tx, extra...)
	if len(tx) > 1 {
		err = s.transact(ctx, tx)
	} else {
		p := tx[0].Put
		for attempt := 1; ; attempt++ {
			_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
				TableName:                 p.TableName,
				Item:                      p.Item,
				ConditionExpression:       p.ConditionExpression,
				ExpressionAttributeNames:  p.ExpressionAttributeNames,
				ExpressionAttributeValues: p.ExpressionAttributeValues,
			})
			if !transactionConflict(err) || attempt == writeAttempts {
				break
			}
			if err := sleep(ctx, backoff(min(attempt, 7))); err != nil {
				return err
			}
		}
	}
	if err == nil {
		return nil
	}
	failed := failedConditions(err)
	for i := range own {
		if failed[i] {
			return errSubscriberStale
		}
	}
	if _, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
		return errSubscriberStale
	}
	return err
}

// retrySubscriber runs step until it is done, pausing before each new attempt, at most
// subscriberAttempts times. step reads, decides and writes; errSubscriberStale from it means
// that someone else wrote in between.
func retrySubscriber(ctx context.Context, what string, step func() error) error {
	for attempt := range subscriberAttempts {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
		err := step()
		if !errors.Is(err, errSubscriberStale) {
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			return nil
		}
	}
	return fmt.Errorf("%s: gave up after %d attempts (the subscriber kept changing)", what, subscriberAttempts)
}

// RequestSubscription records a web-form request to subscribe sub at now (see
// bulletinapi.SubscriberStore). When a confirmation mail is due, one transaction writes the
// record (created with its address item for a new address; else on condition of the version
// read) and records build's mail in the outbox (mailPut) with ID ConfirmMailID(id, n), n
// counting the record's confirmation mails: the mail exists exactly when the record says it
// was sent. It returns that ID, or "" when no mail is due (subscribed already, or
// MaxConfirmMails mails in the last ConfirmWindow): then nothing is written.
func (s *Store) RequestSubscription(ctx context.Context, sub bulletin.Subscription, now time.Time, build func(bulletin.Subscriber) (mail.Mail, error)) (mailID string, err error) {
	err = retrySubscriber(ctx, "request subscription", func() error {
		mailID = ""
		cur, exists, err := s.subscriberByEmail(ctx, sub.Email)
		if err != nil {
			return err
		}
		next := cur
		if !exists {
			next = newSubscriberItem(sub.Email, sub.Name, sub.Organisation, bulletin.Pending, now)
		}
		if next.State == bulletin.Subscribed {
			return nil
		}
		recent := keepSince(next.ConfirmMails, now.Add(-bulletin.ConfirmWindow))
		if len(recent) >= bulletin.MaxConfirmMails {
			return nil
		}
		next.Name, next.Organisation = sub.Name, sub.Organisation
		if next.ConfirmSecret == "" || !now.Before(next.ConfirmExpires) {
			next.ConfirmSecret, next.ConfirmExpires = bulletin.NewSecret(), now.Add(bulletin.ConfirmValidity)
		}
		next.ConfirmMails = append(recent, now)
		next.RequestedAt = now
		next.ConfirmCount++
		next.Version = cur.Version + 1 // as it will be stored
		m, err := build(next.Subscriber)
		if err != nil {
			return fmt.Errorf("build confirmation mail: %w", err)
		}
		m.ID = ConfirmMailID(next.ID, next.ConfirmCount)
		put, err := s.mailPut(m, now)
		if err != nil {
			return err
		}
		if err := s.writeSubscriber(ctx, next, cur.Version, !exists, types.TransactWriteItem{Put: put}); err != nil {
			if conditionFailed(err) {
				// Only the mail's own condition is left: its ID was recorded without the
				// record counting it, which no writer here does.
				return fmt.Errorf("confirmation mail %s is already recorded", m.ID)
			}
			return err
		}
		mailID = m.ID
		return nil
	})
	return mailID, err
}

// ConfirmSubscription confirms the request whose token is id and secret at now: the
// subscriber becomes Subscribed with consent {now, SourceWebForm, ConsentTextVersion}, in
// gsi2, without its confirmation secret and soft bounces (Put SUB# on condition of the
// version read). A subscriber already Subscribed is AlreadyConfirmed whatever the secret
// (confirming drops it, so a second click cannot be checked); a secret that is not the
// subscriber's, or an unknown ID, is ConfirmInvalid; a matching secret past ConfirmExpires is
// ConfirmExpired.
func (s *Store) ConfirmSubscription(ctx context.Context, id, secret string, now time.Time) (res bulletin.ConfirmResult, err error) {
	err = retrySubscriber(ctx, "confirm subscription", func() error {
		cur, ok, err := s.subscriber(ctx, id)
		switch {
		case err != nil:
			return err
		case !ok:
			res = bulletin.ConfirmInvalid
			return nil
		case !bulletin.SecretMatches(cur.ConfirmSecret, secret):
			// Also for a subscriber with another secret: an ID alone (it is in every
			// unsubscribe link) does not tell anyone whether its person is subscribed.
			res = bulletin.ConfirmInvalid
			return nil
		case cur.State == bulletin.Subscribed:
			res = bulletin.AlreadyConfirmed
			return nil
		case !now.Before(cur.ConfirmExpires):
			res = bulletin.ConfirmExpired
			return nil
		}
		next := cur
		next.subscribe(bulletin.Consent{At: now, Source: bulletin.SourceWebForm, TextVersion: bulletin.ConsentTextVersion}, now)
		if err := s.writeSubscriber(ctx, next, cur.Version, false); err != nil {
			return err
		}
		res = bulletin.Confirmed
		return nil
	})
	return res, err
}

// Unsubscribe makes the subscriber with id and unsubscribe secret Unsubscribed at now, out of
// gsi2, its consent and any confirmation link gone (Put SUB# on condition of the version
// read). changed is false, and nothing is written, when they were neither Subscribed nor
// Pending. bulletin.ErrBadToken when no subscriber has both.
func (s *Store) Unsubscribe(ctx context.Context, id, secret string, now time.Time) (changed bool, err error) {
	err = retrySubscriber(ctx, "unsubscribe", func() error {
		changed = false
		cur, ok, err := s.subscriber(ctx, id)
		switch {
		case err != nil:
			return err
		case !ok || !bulletin.SecretMatches(cur.UnsubscribeSecret, secret):
			return bulletin.ErrBadToken
		case cur.State != bulletin.Subscribed && cur.State != bulletin.Pending:
			return nil
		}
		next := cur
		next.leave(bulletin.Unsubscribed, now)
		if err := s.writeSubscriber(ctx, next, cur.Version, false); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if errors.Is(err, bulletin.ErrBadToken) {
		return false, bulletin.ErrBadToken
	}
	return changed, err
}

// Suppress makes the address Bounced or Complained (state) at now, out of gsi2, its consent
// and any confirmation link gone (Put SUB# on condition of the version read). An address with
// no record gets one in that state, with its address item (one transaction), so that a later
// import or dispatch leaves it alone. changed is false when it was in that state already.
func (s *Store) Suppress(ctx context.Context, email string, state bulletin.State, now time.Time) (changed bool, err error) {
	if state != bulletin.Bounced && state != bulletin.Complained {
		return false, fmt.Errorf("suppress: state %q is neither bounced nor complained", state)
	}
	err = retrySubscriber(ctx, "suppress", func() error {
		changed = false
		cur, exists, err := s.subscriberByEmail(ctx, email)
		if err != nil {
			return err
		}
		if exists && cur.State == state {
			return nil
		}
		next := cur
		if !exists {
			next = newSubscriberItem(email, "", "", state, now)
		}
		next.leave(state, now)
		if err := s.writeSubscriber(ctx, next, cur.Version, !exists); err != nil {
			return err
		}
		changed = true
		return nil
	})
	return changed, err
}

// SoftBounce records a transient bounce of the address at now in its soft bounces (those
// within SoftBounceWindow kept; a time recorded already, a notification delivered twice, is
// not counted again). The SoftBounceLimit-th makes it Bounced, as Suppress does (suppressed
// true). Addresses without a record, or suppressed already, are left alone.
func (s *Store) SoftBounce(ctx context.Context, email string, now time.Time) (suppressed bool, err error) {
	err = retrySubscriber(ctx, "soft bounce", func() error {
		suppressed = false
		cur, exists, err := s.subscriberByEmail(ctx, email)
		if err != nil || !exists || cur.State.Suppressed() {
			return err
		}
		if slices.ContainsFunc(cur.SoftBounces, now.Equal) {
			return nil
		}
		next := cur
		// The window ends at the latest bounce known, not at this one: notices can arrive out
		// of order, and an older one must not count a later one as within its 30 days.
		all := append(slices.Clone(cur.SoftBounces), now)
		latest := slices.MaxFunc(all, time.Time.Compare)
		next.SoftBounces = keepSince(all, latest.Add(-bulletin.SoftBounceWindow))
		if len(next.SoftBounces) >= bulletin.SoftBounceLimit {
			next.leave(bulletin.Bounced, now)
		}
		if err := s.writeSubscriber(ctx, next, cur.Version, false); err != nil {
			return err
		}
		suppressed = next.State == bulletin.Bounced
		return nil
	})
	return suppressed, err
}

// SubscribedCount counts the Subscribed subscribers: Query gsi2 gsi2pk=SUBSCRIBED, Select
// COUNT, every page. gsi2 is eventually consistent: a change of a moment ago may not count yet.
func (s *Store) SubscribedCount(ctx context.Context) (int, error) {
	in, err := s.subscribedQuery()
	if err != nil {
		return 0, fmt.Errorf("subscribed count: %w", err)
	}
	in.Select = types.SelectCount
	n := 0
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return 0, fmt.Errorf("subscribed count: %w", err)
		}
		n += int(out.Count)
		if out.LastEvaluatedKey == nil {
			return n, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// subscribedQuery is the Query of gsi2's partition of the Subscribed subscribers.
func (s *Store) subscribedQuery() (*dynamodb.QueryInput, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("gsi2pk").Equal(expression.Value(subscribedIndex))).Build()
	if err != nil {
		return nil, err
	}
	return &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(gsi2),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, nil
}

// subscribedPageSize is SubscribedPage's limit when the caller gives none.
const subscribedPageSize = 1000

// SubscribedPage returns up to limit Subscribed subscribers (1000 when limit <= 0) after
// cursor ("" for the first page), in ID order, and the cursor of the next page ("" after the
// last): Query gsi2 gsi2pk=SUBSCRIBED gsi2sk > <cursor>, whole records (gsi2 projects every
// attribute). The cursor is the last subscriber ID of the page before; anything else is an
// error. gsi2 is eventually consistent: a subscriber who left a moment ago may still be
// listed (a dispatch's claim checks the record itself).
func (s *Store) SubscribedPage(ctx context.Context, cursor string, limit int) (subs []bulletin.Subscriber, next string, err error) {
	if limit <= 0 {
		limit = subscribedPageSize
	}
	in, err := s.subscribedQuery()
	if err != nil {
		return nil, "", fmt.Errorf("subscribed page: %w", err)
	}
	if cursor != "" {
		if !bulletin.ValidID(cursor) {
			return nil, "", errors.New("subscribed page: the cursor is not a subscriber ID")
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			"pk":     &types.AttributeValueMemberS{Value: subscriberPK(cursor)},
			"sk":     &types.AttributeValueMemberS{Value: subscriberSK},
			"gsi2pk": &types.AttributeValueMemberS{Value: subscribedIndex},
			"gsi2sk": &types.AttributeValueMemberS{Value: cursor},
		}
	}
	for {
		in.Limit = aws.Int32(int32(limit - len(subs)))
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, "", fmt.Errorf("subscribed page: %w", err)
		}
		for _, item := range out.Items {
			it, err := decodeSubscriberItem(item)
			if err != nil {
				return nil, "", err
			}
			subs = append(subs, it.Subscriber)
		}
		if out.LastEvaluatedKey == nil {
			return subs, "", nil
		}
		if len(subs) >= limit {
			return subs, subs[len(subs)-1].ID, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// importOutcome is what importing one row did.
type importOutcome int

const (
	importAdded importOutcome = iota
	importConfirmed
	importAlready
	importSuppressed
)

// ImportSubscribers makes every row a Subscribed subscriber with the consent
// {row.ConsentedAt, SourceImportPrefix+key, row.ConsentSource} (see
// bulletinapi.SubscriberStore), a few batches at once (writers): each batch of importBatch
// rows reads its address items and then the records they name with BatchGetItem (strongly
// consistent), leaves the subscribed and the suppressed as they are, creates the new ones
// importCreates to a TransactWriteItems (every item on condition attribute_not_exists) and
// confirms the pending ones one by one (Put SUB# on condition of the version read). A
// transaction cancelled because an address appeared meanwhile, and a pending record that
// changed, fall back to importing their rows one at a time, reading again. A row whose
// address (in any case) came earlier in rows is imported after the rest, and so counts as
// the earlier row left it. Nothing is mailed.
func (s *Store) ImportSubscribers(ctx context.Context, key string, rows []bulletin.ImportRow, now time.Time) (bulletin.ImportCounts, error) {
	var counts bulletin.ImportCounts
	var mu sync.Mutex
	count := func(o importOutcome, n int) {
		mu.Lock()
		defer mu.Unlock()
		switch o {
		case importAdded:
			counts.Added += n
		case importConfirmed:
			counts.Confirmed += n
		case importAlready:
			counts.AlreadySubscribed += n
		case importSuppressed:
			counts.Suppressed += n
		}
	}
	source := bulletin.SourceImportPrefix + key

	seen := make(map[string]bool, len(rows))
	var first, repeats []bulletin.ImportRow
	for _, r := range rows {
		k := subscriberAddressPK(r.Email)
		if seen[k] {
			repeats = append(repeats, r)
			continue
		}
		seen[k] = true
		first = append(first, r)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan []bulletin.ImportRow)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for batch := range batches {
				if err := s.importBatch(ctx, batch, source, now, count); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for rest := first; len(rest) > 0; {
		n := min(importBatch, len(rest))
		select {
		case batches <- rest[:n]:
			rest = rest[n:]
		case <-ctx.Done():
			break feed
		}
	}
	close(batches)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return counts, fmt.Errorf("import subscribers: %w", err)
	}
	for _, r := range repeats {
		o, err := s.importOne(ctx, r, source, now)
		if err != nil {
			return counts, fmt.Errorf("import subscribers: %w", err)
		}
		count(o, 1)
	}
	return counts, nil
}

// importBatch imports up to importBatch rows with distinct addresses (see ImportSubscribers).
func (s *Store) importBatch(ctx context.Context, rows []bulletin.ImportRow, source string, now time.Time, count func(importOutcome, int)) error {
	keys := make([]map[string]types.AttributeValue, len(rows))
	for i, r := range rows {
		keys[i] = key(subscriberAddressPK(r.Email), subscriberEmailSK)
	}
	refs, err := s.batchGetByPK(ctx, keys)
	if err != nil {
		return err
	}
	var subKeys []map[string]types.AttributeValue
	idOf := make([]string, len(rows))
	for i, r := range rows {
		item, ok := refs[subscriberAddressPK(r.Email)]
		if !ok {
			continue
		}
		id, err := decodeAddressItem(item)
		if err != nil {
			return err
		}
		idOf[i] = id
		subKeys = append(subKeys, key(subscriberPK(id), subscriberSK))
	}
	subs, err := s.batchGetByPK(ctx, subKeys)
	if err != nil {
		return err
	}

	var fresh []bulletin.ImportRow
	for i, r := range rows {
		if idOf[i] == "" {
			fresh = append(fresh, r)
			continue
		}
		item, ok := subs[subscriberPK(idOf[i])]
		if !ok {
			return fmt.Errorf("subscriber %s of an address item is missing", idOf[i])
		}
		cur, err := decodeSubscriberItem(item)
		if err != nil {
			return err
		}
		o, err := s.importExisting(ctx, cur, r, source, now)
		if errors.Is(err, errSubscriberStale) {
			o, err = s.importOne(ctx, r, source, now)
		}
		if err != nil {
			return err
		}
		count(o, 1)
	}

	for len(fresh) > 0 {
		n := min(importCreates, len(fresh))
		chunk := fresh[:n]
		fresh = fresh[n:]
		var tx []types.TransactWriteItem
		for _, r := range chunk {
			items, err := s.subscriberPut(importedSubscriber(r, source, now), 0, true)
			if err != nil {
				return err
			}
			tx = append(tx, items...)
		}
		err := s.transact(ctx, tx)
		switch {
		case err == nil:
			count(importAdded, len(chunk))
		case conditionFailed(err):
			// Some address was created meanwhile (a web request, another import).
			for _, r := range chunk {
				o, err := s.importOne(ctx, r, source, now)
				if err != nil {
					return err
				}
				count(o, 1)
			}
		default:
			return fmt.Errorf("create %d subscribers: %w", len(chunk), err)
		}
	}
	return nil
}

// importedSubscriber is the new subscriber an import makes of r.
func importedSubscriber(r bulletin.ImportRow, source string, now time.Time) subscriberItem {
	it := newSubscriberItem(r.Email, r.Name, r.Organisation, bulletin.Subscribed, now)
	it.Consent = importConsent(r, source)
	return it
}

func importConsent(r bulletin.ImportRow, source string) *bulletin.Consent {
	return &bulletin.Consent{At: r.ConsentedAt, Source: source, ListSource: r.ConsentSource}
}

// importExisting imports r onto its address's record cur: subscribed and suppressed ones
// are left alone; a pending one becomes Subscribed with the list's consent, its name and
// organisation from the row where the row gives them. errSubscriberStale when cur changed
// since it was read.
func (s *Store) importExisting(ctx context.Context, cur subscriberItem, r bulletin.ImportRow, source string, now time.Time) (importOutcome, error) {
	switch {
	case cur.State == bulletin.Subscribed:
		return importAlready, nil
	case cur.State.Suppressed():
		return importSuppressed, nil
	}
	next := cur
	if r.Name != "" {
		next.Name = r.Name
	}
	if r.Organisation != "" {
		next.Organisation = r.Organisation
	}
	next.subscribe(*importConsent(r, source), now)
	if err := s.writeSubscriber(ctx, next, cur.Version, false); err != nil {
		return 0, err
	}
	return importConfirmed, nil
}

// importOne imports one row on its own: reads its address's record and creates or confirms
// it, again while others change it in between.
func (s *Store) importOne(ctx context.Context, r bulletin.ImportRow, source string, now time.Time) (o importOutcome, err error) {
	err = retrySubscriber(ctx, "import subscriber", func() error {
		cur, exists, err := s.subscriberByEmail(ctx, r.Email)
		if err != nil {
			return err
		}
		if exists {
			o, err = s.importExisting(ctx, cur, r, source, now)
			return err
		}
		o = importAdded
		return s.writeSubscriber(ctx, importedSubscriber(r, source, now), 0, true)
	})
	return o, err
}

// batchGetByPK reads the items with keys, strongly consistent, importBatch keys to a
// BatchGetItem (unprocessed keys again, with backoff), and returns them by pk.
func (s *Store) batchGetByPK(ctx context.Context, keys []map[string]types.AttributeValue) (map[string]map[string]types.AttributeValue, error) {
	got := make(map[string]map[string]types.AttributeValue, len(keys))
	add := func(item map[string]types.AttributeValue) {
		if pk, ok := item["pk"].(*types.AttributeValueMemberS); ok {
			got[pk.Value] = item
		}
	}
	for len(keys) > 0 {
		n := min(importBatch, len(keys))
		pending := map[string]types.KeysAndAttributes{s.table: {Keys: keys[:n], ConsistentRead: aws.Bool(true)}}
		keys = keys[n:]
		for attempt := 0; len(pending[s.table].Keys) > 0; attempt++ {
			if attempt > 0 {
				if attempt > 8 {
					return nil, fmt.Errorf("batch get: %d keys still unprocessed after %d attempts", len(pending[s.table].Keys), attempt)
				}
				if err := sleep(ctx, backoff(attempt)); err != nil {
					return nil, err
				}
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, fmt.Errorf("batch get: %w", err)
			}
			for _, item := range out.Responses[s.table] {
				add(item)
			}
			pending = out.UnprocessedKeys
		}
	}
	return got, nil
}
