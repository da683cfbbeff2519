package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/infra/testenv"
	"sectorhub/shared/bulletin"
	"sectorhub/shared/bulletinapi"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/mail"
)

// Compile-time check that Store is the bulletin routes' subscriber store.
var _ bulletinapi.SubscriberStore = (*dynamo.Store)(nil)

var subT0 = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)

const importKey = "subscribers/2026-11.csv"

// confirmBuilder is the tests' confirmation mail builder: a small message with the link, and
// the subscriber it was last built for.
type confirmBuilder struct {
	mu   sync.Mutex
	last bulletin.Subscriber
}

func (b *confirmBuilder) build(sub bulletin.Subscriber) (mail.Mail, error) {
	b.mu.Lock()
	b.last = sub
	b.mu.Unlock()
	return mail.Mail{
		Kind: "bulletin-confirmation",
		From: "bulletin@example.org",
		To:   []string{sub.Email},
		Raw:  fmt.Appendf(nil, "Subject: Confirm\r\n\r\n%s\r\n", bulletin.ConfirmPath(bulletin.ConfirmToken(sub))),
	}, nil
}

func (b *confirmBuilder) lastBuilt() bulletin.Subscriber {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// request asks to subscribe email (named name) at now and returns the mail's ID.
func request(tb testing.TB, st *dynamo.Store, email, name string, now time.Time) string {
	tb.Helper()
	var b confirmBuilder
	id, err := st.RequestSubscription(context.Background(), bulletin.Subscription{Email: email, Name: name, Organisation: "Org of " + name}, now, b.build)
	if err != nil {
		tb.Fatalf("RequestSubscription(%s) at %v: %v", email, now, err)
	}
	return id
}

// mustSubscriber returns email's record.
func mustSubscriber(tb testing.TB, st *dynamo.Store, email string) bulletin.Subscriber {
	tb.Helper()
	sub, ok, err := st.SubscriberByEmail(context.Background(), email)
	if err != nil || !ok {
		tb.Fatalf("SubscriberByEmail(%s) = %v, %v; want a record", email, ok, err)
	}
	return sub
}

// confirm confirms email's pending request at now with its own link.
func confirm(tb testing.TB, st *dynamo.Store, email string, now time.Time) {
	tb.Helper()
	sub := mustSubscriber(tb, st, email)
	res, err := st.ConfirmSubscription(context.Background(), sub.ID, sub.ConfirmSecret, now)
	if err != nil || res != bulletin.Confirmed {
		tb.Fatalf("ConfirmSubscription(%s) = %v, %v; want confirmed", email, res, err)
	}
}

// subscribed makes email a confirmed web-form subscriber.
func subscribed(tb testing.TB, st *dynamo.Store, email string, now time.Time) {
	tb.Helper()
	request(tb, st, email, "Old Name", now.Add(-2*time.Hour))
	confirm(tb, st, email, now.Add(-time.Hour))
}

// suppressed makes email a record in state (Unsubscribed, Bounced or Complained).
func suppressed(tb testing.TB, st *dynamo.Store, email string, state bulletin.State, now time.Time) {
	tb.Helper()
	ctx := context.Background()
	if state == bulletin.Unsubscribed {
		subscribed(tb, st, email, now)
		sub := mustSubscriber(tb, st, email)
		if changed, err := st.Unsubscribe(ctx, sub.ID, sub.UnsubscribeSecret, now.Add(-30*time.Minute)); err != nil || !changed {
			tb.Fatalf("Unsubscribe(%s) = %v, %v; want changed", email, changed, err)
		}
		return
	}
	if changed, err := st.Suppress(ctx, email, state, now.Add(-30*time.Minute)); err != nil || !changed {
		tb.Fatalf("Suppress(%s, %s) = %v, %v; want changed", email, state, changed, err)
	}
}

// inSubscribedIndex reports whether the subscriber's item carries gsi2 keys, and checks
// that they are SUBSCRIBED and its ID when it does.
func inSubscribedIndex(tb testing.TB, db *dynamodb.Client, table, id string) bool {
	tb.Helper()
	item := rawItem(tb, db, table, "SUB#"+id, "SUB")
	pk, hasPK := item["gsi2pk"].(*types.AttributeValueMemberS)
	sk, hasSK := item["gsi2sk"].(*types.AttributeValueMemberS)
	if hasPK != hasSK || (hasPK && (pk.Value != "SUBSCRIBED" || sk.Value != id)) {
		tb.Errorf("SUB#%s gsi2 keys = %v, %v; want SUBSCRIBED, %s or none", id, item["gsi2pk"], item["gsi2sk"], id)
	}
	return hasPK
}

// countItems counts the table's items whose pk begins with prefix (a Scan: tests only).
func countItems(tb testing.TB, db *dynamodb.Client, table, prefix string) int {
	tb.Helper()
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{
		TableName:                 &table,
		FilterExpression:          aws.String("begins_with(pk, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: prefix}},
		ConsistentRead:            aws.Bool(true),
	})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			tb.Fatalf("scan %s: %v", prefix, err)
		}
		n += len(page.Items)
	}
	return n
}

func subscribedCount(tb testing.TB, st *dynamo.Store) int {
	tb.Helper()
	n, err := st.SubscribedCount(context.Background())
	if err != nil {
		tb.Fatalf("SubscribedCount: %v", err)
	}
	return n
}

func TestRequestSubscription(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		now := subT0.Add(30 * 24 * time.Hour)
		tests := []struct {
			name  string
			setup func(email string)
			// mail is the confirmation mail's number (ConfirmMailID), 0 for none.
			mail  int
			state bulletin.State
			// secret: "new" (made now), "kept" (the one before), "none".
			secret string
			// mails is how many confirmation mails the record lists afterwards.
			mails int
		}{
			{"new address", func(string) {}, 1, bulletin.Pending, "new", 1},
			{"pending, link valid", func(e string) { request(t, st, e, "Old Name", now.Add(-time.Hour)) }, 2, bulletin.Pending, "kept", 2},
			{"pending, link expired", func(e string) { request(t, st, e, "Old Name", now.Add(-8*24*time.Hour)) }, 2, bulletin.Pending, "new", 1},
			{"pending, link expiring now", func(e string) { request(t, st, e, "Old Name", now.Add(-bulletin.ConfirmValidity)) }, 2, bulletin.Pending, "new", 1},
			{"three mails in the last day", func(e string) {
				for _, ago := range []time.Duration{23 * time.Hour, 2 * time.Hour, time.Hour} {
					request(t, st, e, "Old Name", now.Add(-ago))
				}
			}, 0, bulletin.Pending, "kept", 3},
			{"three mails, the first a day ago", func(e string) {
				for _, ago := range []time.Duration{bulletin.ConfirmWindow, 2 * time.Hour, time.Hour} {
					request(t, st, e, "Old Name", now.Add(-ago))
				}
			}, 4, bulletin.Pending, "kept", 3},
			{"subscribed", func(e string) { subscribed(t, st, e, now) }, 0, bulletin.Subscribed, "kept", 1},
			{"unsubscribed", func(e string) { suppressed(t, st, e, bulletin.Unsubscribed, now) }, 2, bulletin.Unsubscribed, "new", 2},
			{"bounced", func(e string) { suppressed(t, st, e, bulletin.Bounced, now) }, 1, bulletin.Bounced, "new", 1},
			{"complained", func(e string) { suppressed(t, st, e, bulletin.Complained, now) }, 1, bulletin.Complained, "new", 1},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				email := fmt.Sprintf("request%d@example.org", i)
				tc.setup(email)
				before, existed, err := st.SubscriberByEmail(ctx, email)
				if err != nil {
					t.Fatal(err)
				}
				var b confirmBuilder
				id, err := st.RequestSubscription(ctx, bulletin.Subscription{Email: email, Name: "New Name", Organisation: "New Org"}, now, b.build)
				if err != nil {
					t.Fatalf("RequestSubscription(%s) = %v", tc.name, err)
				}
				after := mustSubscriber(t, st, email)
				if tc.mail == 0 {
					if id != "" || after.Version != before.Version || after.Name != before.Name {
						t.Errorf("RequestSubscription(%s) = %q, version %d -> %d, name %q; want no mail and nothing changed", tc.name, id, before.Version, after.Version, after.Name)
					}
				} else {
					if want := dynamo.ConfirmMailID(after.ID, tc.mail); id != want {
						t.Errorf("RequestSubscription(%s) = %q; want %q", tc.name, id, want)
					}
					if after.Version != before.Version+1 || after.Name != "New Name" || after.Organisation != "New Org" || !after.RequestedAt.Equal(now) {
						t.Errorf("after RequestSubscription(%s): version %d -> %d, name %q, organisation %q, requested %v; want one write, the new name and organisation, requested now",
							tc.name, before.Version, after.Version, after.Name, after.Organisation, after.RequestedAt)
					}
					built := b.lastBuilt()
					if built.ID != after.ID || built.Version != after.Version || built.ConfirmSecret != after.ConfirmSecret || built.State != after.State {
						t.Errorf("build got %+v; want the record as stored, %+v", built, after)
					}
					m, ok, err := st.MailByID(ctx, id)
					if err != nil || !ok || m.Status != mail.Pending || m.Kind != "bulletin-confirmation" || !slices.Equal(m.To, []string{email}) ||
						!strings.Contains(string(m.Raw), bulletin.ConfirmToken(after)) {
						t.Errorf("MailByID(%s) = %+v, %v, %v; want the pending confirmation mail with the link", id, m, ok, err)
					}
				}
				if after.State != tc.state {
					t.Errorf("state after RequestSubscription(%s) = %s; want %s", tc.name, after.State, tc.state)
				}
				switch tc.secret {
				case "new":
					if !bulletin.ValidID(after.ConfirmSecret) || after.ConfirmSecret == before.ConfirmSecret || !after.ConfirmExpires.Equal(now.Add(bulletin.ConfirmValidity)) {
						t.Errorf("%s: secret %q (was %q), expires %v; want a new one until %v", tc.name, after.ConfirmSecret, before.ConfirmSecret, after.ConfirmExpires, now.Add(bulletin.ConfirmValidity))
					}
				case "kept":
					if after.ConfirmSecret == "" || after.ConfirmSecret != before.ConfirmSecret || !after.ConfirmExpires.Equal(before.ConfirmExpires) {
						t.Errorf("%s: secret %q until %v; want the one before, %q until %v", tc.name, after.ConfirmSecret, after.ConfirmExpires, before.ConfirmSecret, before.ConfirmExpires)
					}
				case "none":
					if after.ConfirmSecret != "" || !after.ConfirmExpires.IsZero() {
						t.Errorf("%s: secret %q until %v; want none", tc.name, after.ConfirmSecret, after.ConfirmExpires)
					}
				}
				if len(after.ConfirmMails) != tc.mails {
					t.Errorf("%s: confirm mails %v; want %d", tc.name, after.ConfirmMails, tc.mails)
				}
				if !bulletin.ValidID(after.ID) || !bulletin.ValidID(after.UnsubscribeSecret) || (existed && after.UnsubscribeSecret != before.UnsubscribeSecret) {
					t.Errorf("%s: ID %q, unsubscribe secret %q (was %q); want both valid, the secret never changed", tc.name, after.ID, after.UnsubscribeSecret, before.UnsubscribeSecret)
				}
				if got := inSubscribedIndex(t, db, table, after.ID); got != (tc.state == bulletin.Subscribed) {
					t.Errorf("%s: in the subscribed index = %v; want %v", tc.name, got, tc.state == bulletin.Subscribed)
				}
			})
		}

		t.Run("a failing build writes nothing", func(t *testing.T) {
			_, err := st.RequestSubscription(ctx, bulletin.Subscription{Email: "broken@example.org"}, now, func(bulletin.Subscriber) (mail.Mail, error) {
				return mail.Mail{}, errors.New("template broken")
			})
			if err == nil {
				t.Fatal("RequestSubscription with a failing build = nil; want its error")
			}
			if _, ok, err := st.SubscriberByEmail(ctx, "broken@example.org"); ok || err != nil {
				t.Errorf("SubscriberByEmail after a failed request = %v, %v; want none", ok, err)
			}
		})

		t.Run("the address in another case is the same subscriber", func(t *testing.T) {
			first := request(t, st, "Case@Example.org", "A", now)
			second := request(t, st, "case@example.org", "B", now.Add(time.Minute))
			sub := mustSubscriber(t, st, "CASE@example.org")
			if first != dynamo.ConfirmMailID(sub.ID, 1) || second != dynamo.ConfirmMailID(sub.ID, 2) {
				t.Errorf("requests in two cases = %q, %q; want mails 1 and 2 of %s", first, second, sub.ID)
			}
		})
	})
}

// TestConfirmMailsPerDay sends requests one hour apart for two days: mails go out at most
// MaxConfirmMails in any ConfirmWindow.
func TestConfirmMailsPerDay(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		st := dynamo.New(db, table)
		const email = "often@example.org"
		var sent []time.Time
		for h := range 48 {
			now := subT0.Add(time.Duration(h) * time.Hour)
			if request(t, st, email, "Often", now) != "" {
				sent = append(sent, now)
			}
		}
		// Hours 0, 1, 2, then 24, 25, 26.
		want := []time.Time{subT0, subT0.Add(time.Hour), subT0.Add(2 * time.Hour), subT0.Add(24 * time.Hour), subT0.Add(25 * time.Hour), subT0.Add(26 * time.Hour)}
		if !slices.EqualFunc(sent, want, time.Time.Equal) {
			t.Errorf("confirmation mails at %v; want %v", sent, want)
		}
		sub := mustSubscriber(t, st, email)
		for n := 1; n <= len(want); n++ {
			if _, ok, err := st.MailByID(context.Background(), dynamo.ConfirmMailID(sub.ID, n)); !ok || err != nil {
				t.Errorf("MailByID(%s) = %v, %v; want recorded", dynamo.ConfirmMailID(sub.ID, n), ok, err)
			}
		}
		if _, ok, _ := st.MailByID(context.Background(), dynamo.ConfirmMailID(sub.ID, len(want)+1)); ok {
			t.Errorf("mail %d recorded; want only %d", len(want)+1, len(want))
		}
	})
}

func TestConfirmSubscription(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		now := subT0.Add(time.Hour)
		tests := []struct {
			name   string
			setup  func(email string)
			secret func(sub bulletin.Subscriber) string
			at     time.Time
			want   bulletin.ConfirmResult
			state  bulletin.State
		}{
			{"valid", func(e string) { request(t, st, e, "A", subT0) }, confirmSecret, now, bulletin.Confirmed, bulletin.Subscribed},
			{"valid just before expiry", func(e string) { request(t, st, e, "A", subT0) }, confirmSecret, subT0.Add(bulletin.ConfirmValidity - time.Nanosecond), bulletin.Confirmed, bulletin.Subscribed},
			{"expired", func(e string) { request(t, st, e, "A", subT0) }, confirmSecret, subT0.Add(bulletin.ConfirmValidity), bulletin.ConfirmExpired, bulletin.Pending},
			{"wrong secret", func(e string) { request(t, st, e, "A", subT0) }, func(bulletin.Subscriber) string { return bulletin.NewSecret() }, now, bulletin.ConfirmInvalid, bulletin.Pending},
			{"wrong secret, expired", func(e string) { request(t, st, e, "A", subT0) }, func(bulletin.Subscriber) string { return bulletin.NewSecret() }, subT0.Add(30 * 24 * time.Hour), bulletin.ConfirmInvalid, bulletin.Pending},
			{"the unsubscribe secret", func(e string) { request(t, st, e, "A", subT0) }, func(s bulletin.Subscriber) string { return s.UnsubscribeSecret }, now, bulletin.ConfirmInvalid, bulletin.Pending},
			{"empty secret", func(e string) { request(t, st, e, "A", subT0) }, func(bulletin.Subscriber) string { return "" }, now, bulletin.ConfirmInvalid, bulletin.Pending},
			{"subscribed already, another secret", func(e string) { subscribed(t, st, e, subT0) }, func(bulletin.Subscriber) string { return bulletin.NewSecret() }, now, bulletin.ConfirmInvalid, bulletin.Subscribed},
			{"confirmed already, the same link", func(e string) {
				request(t, st, e, "A", subT0)
				s := mustSubscriber(t, st, e)
				if res, err := st.ConfirmSubscription(ctx, s.ID, s.ConfirmSecret, subT0); res != bulletin.Confirmed || err != nil {
					t.Fatalf("first ConfirmSubscription = %v, %v", res, err)
				}
			}, confirmSecret, subT0.Add(30 * 24 * time.Hour), bulletin.AlreadyConfirmed, bulletin.Subscribed},
			{"unsubscribed, no request", func(e string) { suppressed(t, st, e, bulletin.Unsubscribed, subT0) }, func(bulletin.Subscriber) string { return bulletin.NewSecret() }, now, bulletin.ConfirmInvalid, bulletin.Unsubscribed},
			{"bounced, asked again", func(e string) {
				suppressed(t, st, e, bulletin.Bounced, subT0)
				request(t, st, e, "A", subT0)
			}, confirmSecret, now, bulletin.Confirmed, bulletin.Subscribed},
			{"unsubscribed, asked again", func(e string) {
				suppressed(t, st, e, bulletin.Unsubscribed, subT0)
				request(t, st, e, "A", subT0)
			}, confirmSecret, now, bulletin.Confirmed, bulletin.Subscribed},
			{"soft bounces dropped", func(e string) {
				request(t, st, e, "A", subT0)
				for i := range bulletin.SoftBounceLimit - 1 {
					if _, err := st.SoftBounce(ctx, e, subT0.Add(time.Duration(i+1)*time.Minute)); err != nil {
						t.Fatal(err)
					}
				}
			}, confirmSecret, now, bulletin.Confirmed, bulletin.Subscribed},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				email := fmt.Sprintf("confirm%d@example.org", i)
				tc.setup(email)
				before := mustSubscriber(t, st, email)
				res, err := st.ConfirmSubscription(ctx, before.ID, tc.secret(before), tc.at)
				if err != nil || res != tc.want {
					t.Fatalf("ConfirmSubscription(%s) = %v, %v; want %v", tc.name, res, err, tc.want)
				}
				after := mustSubscriber(t, st, email)
				if after.State != tc.state {
					t.Errorf("state after ConfirmSubscription(%s) = %s; want %s", tc.name, after.State, tc.state)
				}
				if res != bulletin.Confirmed {
					if after.Version != before.Version {
						t.Errorf("ConfirmSubscription(%s) = %v wrote version %d -> %d; want nothing written", tc.name, res, before.Version, after.Version)
					}
					return
				}
				wantConsent := bulletin.Consent{At: tc.at, Source: bulletin.SourceWebForm, TextVersion: bulletin.ConsentTextVersion}
				if after.Consent == nil || !after.Consent.At.Equal(wantConsent.At) || after.Consent.Source != wantConsent.Source || after.Consent.TextVersion != wantConsent.TextVersion || after.Consent.ListSource != "" {
					t.Errorf("consent after ConfirmSubscription(%s) = %+v; want %+v", tc.name, after.Consent, wantConsent)
				}
				if !after.ChangedAt.Equal(tc.at) || after.ConfirmSecret != before.ConfirmSecret || len(after.SoftBounces) != 0 || after.UnsubscribeSecret != before.UnsubscribeSecret {
					t.Errorf("after ConfirmSubscription(%s): %+v; want changed now, no soft bounces, the secrets kept (a second click shows they are subscribed)", tc.name, after)
				}
				if !inSubscribedIndex(t, db, table, after.ID) {
					t.Errorf("%s: not in the subscribed index after confirming", tc.name)
				}
				// The same link again: harmless.
				again, err := st.ConfirmSubscription(ctx, before.ID, tc.secret(before), tc.at.Add(time.Minute))
				if err != nil || again != bulletin.AlreadyConfirmed {
					t.Errorf("ConfirmSubscription(%s) again = %v, %v; want %v", tc.name, again, err, bulletin.AlreadyConfirmed)
				}
				if v := mustSubscriber(t, st, email).Version; v != after.Version {
					t.Errorf("confirming again wrote version %d -> %d; want nothing written", after.Version, v)
				}
			})
		}
		t.Run("unknown subscriber", func(t *testing.T) {
			res, err := st.ConfirmSubscription(ctx, bulletin.NewSubscriberID(), bulletin.NewSecret(), now)
			if err != nil || res != bulletin.ConfirmInvalid {
				t.Errorf("ConfirmSubscription(unknown) = %v, %v; want %v", res, err, bulletin.ConfirmInvalid)
			}
		})
	})
}

func confirmSecret(s bulletin.Subscriber) string { return s.ConfirmSecret }

func TestUnsubscribe(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		now := subT0.Add(400 * 24 * time.Hour) // an old issue's link
		unsubscribeSecret := func(s bulletin.Subscriber) string { return s.UnsubscribeSecret }
		tests := []struct {
			name    string
			setup   func(email string)
			secret  func(sub bulletin.Subscriber) string
			changed bool
			err     error
			state   bulletin.State
		}{
			{"subscribed", func(e string) { subscribed(t, st, e, subT0) }, unsubscribeSecret, true, nil, bulletin.Unsubscribed},
			{"pending", func(e string) { request(t, st, e, "A", subT0) }, unsubscribeSecret, true, nil, bulletin.Unsubscribed},
			{"unsubscribed", func(e string) { suppressed(t, st, e, bulletin.Unsubscribed, subT0) }, unsubscribeSecret, false, nil, bulletin.Unsubscribed},
			{"bounced", func(e string) { suppressed(t, st, e, bulletin.Bounced, subT0) }, unsubscribeSecret, false, nil, bulletin.Bounced},
			{"complained", func(e string) { suppressed(t, st, e, bulletin.Complained, subT0) }, unsubscribeSecret, false, nil, bulletin.Complained},
			{"wrong secret", func(e string) { subscribed(t, st, e, subT0) }, func(bulletin.Subscriber) string { return bulletin.NewSecret() }, false, bulletin.ErrBadToken, bulletin.Subscribed},
			{"empty secret", func(e string) { subscribed(t, st, e, subT0) }, func(bulletin.Subscriber) string { return "" }, false, bulletin.ErrBadToken, bulletin.Subscribed},
			{"the confirmation secret", func(e string) { request(t, st, e, "A", subT0) }, confirmSecret, false, bulletin.ErrBadToken, bulletin.Pending},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				email := fmt.Sprintf("unsubscribe%d@example.org", i)
				tc.setup(email)
				before := mustSubscriber(t, st, email)
				changed, err := st.Unsubscribe(ctx, before.ID, tc.secret(before), now)
				if changed != tc.changed || !errors.Is(err, tc.err) {
					t.Fatalf("Unsubscribe(%s) = %v, %v; want %v, %v", tc.name, changed, err, tc.changed, tc.err)
				}
				after := mustSubscriber(t, st, email)
				if after.State != tc.state {
					t.Errorf("state after Unsubscribe(%s) = %s; want %s", tc.name, after.State, tc.state)
				}
				if !changed {
					if after.Version != before.Version {
						t.Errorf("Unsubscribe(%s) wrote version %d -> %d; want nothing written", tc.name, before.Version, after.Version)
					}
					return
				}
				if !after.ChangedAt.Equal(now) || after.Consent != nil || after.ConfirmSecret != "" || inSubscribedIndex(t, db, table, after.ID) {
					t.Errorf("after Unsubscribe(%s): %+v; want changed now, no consent, no confirmation link, out of the subscribed index", tc.name, after)
				}
				// A pending request's link no longer confirms.
				if before.ConfirmSecret != "" {
					res, err := st.ConfirmSubscription(ctx, before.ID, before.ConfirmSecret, now)
					if err != nil || res != bulletin.ConfirmInvalid {
						t.Errorf("ConfirmSubscription after Unsubscribe(%s) = %v, %v; want %v", tc.name, res, err, bulletin.ConfirmInvalid)
					}
				}
				again, err := st.Unsubscribe(ctx, before.ID, before.UnsubscribeSecret, now.Add(time.Minute))
				if again || err != nil {
					t.Errorf("Unsubscribe(%s) again = %v, %v; want false, nil", tc.name, again, err)
				}
			})
		}
		t.Run("unknown subscriber", func(t *testing.T) {
			if changed, err := st.Unsubscribe(ctx, bulletin.NewSubscriberID(), bulletin.NewSecret(), now); changed || !errors.Is(err, bulletin.ErrBadToken) {
				t.Errorf("Unsubscribe(unknown) = %v, %v; want false, ErrBadToken", changed, err)
			}
		})
	})
}

func TestSuppress(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		now := subT0.Add(time.Hour)
		tests := []struct {
			name    string
			setup   func(email string)
			state   bulletin.State
			changed bool
		}{
			{"unknown address bounces", func(string) {}, bulletin.Bounced, true},
			{"unknown address complains", func(string) {}, bulletin.Complained, true},
			{"subscribed bounces", func(e string) { subscribed(t, st, e, subT0) }, bulletin.Bounced, true},
			{"subscribed complains", func(e string) { subscribed(t, st, e, subT0) }, bulletin.Complained, true},
			{"pending bounces", func(e string) { request(t, st, e, "A", subT0) }, bulletin.Bounced, true},
			{"unsubscribed complains", func(e string) { suppressed(t, st, e, bulletin.Unsubscribed, subT0) }, bulletin.Complained, true},
			{"bounced complains", func(e string) { suppressed(t, st, e, bulletin.Bounced, subT0) }, bulletin.Complained, true},
			{"bounced again", func(e string) { suppressed(t, st, e, bulletin.Bounced, subT0) }, bulletin.Bounced, false},
			{"complained again", func(e string) { suppressed(t, st, e, bulletin.Complained, subT0) }, bulletin.Complained, false},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				email := fmt.Sprintf("suppress%d@example.org", i)
				tc.setup(email)
				before, existed, err := st.SubscriberByEmail(ctx, email)
				if err != nil {
					t.Fatal(err)
				}
				// The feedback names the address as sent; another case is the same address.
				changed, err := st.Suppress(ctx, strings.ToUpper(email), tc.state, now)
				if err != nil || changed != tc.changed {
					t.Fatalf("Suppress(%s) = %v, %v; want %v", tc.name, changed, err, tc.changed)
				}
				after := mustSubscriber(t, st, email)
				if after.State != tc.state || (existed && after.ID != before.ID) {
					t.Errorf("after Suppress(%s): state %s, ID %s; want %s, the same record %s", tc.name, after.State, after.ID, tc.state, before.ID)
				}
				if !changed {
					if after.Version != before.Version {
						t.Errorf("Suppress(%s) wrote version %d -> %d; want nothing written", tc.name, before.Version, after.Version)
					}
					return
				}
				if !after.ChangedAt.Equal(now) || after.Consent != nil || after.ConfirmSecret != "" || inSubscribedIndex(t, db, table, after.ID) {
					t.Errorf("after Suppress(%s): %+v; want changed now, no consent, no confirmation link, out of the subscribed index", tc.name, after)
				}
				if !existed && (!bulletin.ValidID(after.ID) || !bulletin.ValidID(after.UnsubscribeSecret) || !after.CreatedAt.Equal(now) || after.Version != 1) {
					t.Errorf("Suppress(%s) created %+v; want a new record with an ID and an unsubscribe secret, created now, version 1", tc.name, after)
				}
				if before.ConfirmSecret != "" {
					res, err := st.ConfirmSubscription(ctx, before.ID, before.ConfirmSecret, now)
					if err != nil || res != bulletin.ConfirmInvalid {
						t.Errorf("ConfirmSubscription after Suppress(%s) = %v, %v; want %v", tc.name, res, err, bulletin.ConfirmInvalid)
					}
				}
			})
		}
		t.Run("not a suppressed state", func(t *testing.T) {
			for _, state := range []bulletin.State{bulletin.Unsubscribed, bulletin.Subscribed, bulletin.Pending, ""} {
				if _, err := st.Suppress(ctx, "state@example.org", state, now); err == nil {
					t.Errorf("Suppress(%q) = nil; want an error", state)
				}
			}
			if _, ok, _ := st.SubscriberByEmail(ctx, "state@example.org"); ok {
				t.Error("Suppress with a wrong state created a record")
			}
		})
	})
}

func TestSoftBounce(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		day := 24 * time.Hour
		tests := []struct {
			name  string
			setup func(email string)
			// at are the bounces' times (after subT0); suppressed is what each answers.
			at         []time.Duration
			suppressed []bool
			state      bulletin.State
			bounces    int
		}{
			{"three in a month", func(e string) { subscribed(t, st, e, subT0) }, []time.Duration{0, day, 2 * day}, []bool{false, false, true}, bulletin.Bounced, 3},
			{"three in a month, pending", func(e string) { request(t, st, e, "A", subT0) }, []time.Duration{0, day, 2 * day}, []bool{false, false, true}, bulletin.Bounced, 3},
			{"spread over two months", func(e string) { subscribed(t, st, e, subT0) }, []time.Duration{0, 20 * day, 40 * day}, []bool{false, false, false}, bulletin.Subscribed, 2},
			{"the first just within the window", func(e string) { subscribed(t, st, e, subT0) }, []time.Duration{0, day, 30*day - time.Nanosecond}, []bool{false, false, true}, bulletin.Bounced, 3},
			{"the first a window ago", func(e string) { subscribed(t, st, e, subT0) }, []time.Duration{0, day, 30 * day}, []bool{false, false, false}, bulletin.Subscribed, 2},
			{"out of order, 31 days apart", func(e string) { subscribed(t, st, e, subT0) }, []time.Duration{31 * day, 0, 21 * day}, []bool{false, false, false}, bulletin.Subscribed, 2},
			{"out of order, within a month", func(e string) { subscribed(t, st, e, subT0) }, []time.Duration{20 * day, 0, 10 * day}, []bool{false, false, true}, bulletin.Bounced, 3},
			{"one notification delivered twice", func(e string) { subscribed(t, st, e, subT0) }, []time.Duration{0, day, day}, []bool{false, false, false}, bulletin.Subscribed, 2},
			{"unsubscribed", func(e string) { suppressed(t, st, e, bulletin.Unsubscribed, subT0) }, []time.Duration{day, 2 * day, 3 * day}, []bool{false, false, false}, bulletin.Unsubscribed, 0},
			{"complained", func(e string) { suppressed(t, st, e, bulletin.Complained, subT0) }, []time.Duration{day, 2 * day, 3 * day}, []bool{false, false, false}, bulletin.Complained, 0},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				email := fmt.Sprintf("soft%d@example.org", i)
				tc.setup(email)
				for j, d := range tc.at {
					got, err := st.SoftBounce(ctx, email, subT0.Add(d))
					if err != nil || got != tc.suppressed[j] {
						t.Fatalf("SoftBounce(%s) #%d = %v, %v; want %v", tc.name, j+1, got, err, tc.suppressed[j])
					}
				}
				after := mustSubscriber(t, st, email)
				if after.State != tc.state || len(after.SoftBounces) != tc.bounces {
					t.Errorf("after SoftBounce(%s): state %s, soft bounces %v; want %s, %d", tc.name, after.State, after.SoftBounces, tc.state, tc.bounces)
				}
				if got := inSubscribedIndex(t, db, table, after.ID); got != (tc.state == bulletin.Subscribed) {
					t.Errorf("%s: in the subscribed index = %v; want %v", tc.name, got, tc.state == bulletin.Subscribed)
				}
			})
		}
		t.Run("unknown address", func(t *testing.T) {
			if got, err := st.SoftBounce(ctx, "nobody@example.org", subT0); got || err != nil {
				t.Errorf("SoftBounce(unknown) = %v, %v; want false, nil", got, err)
			}
			if _, ok, _ := st.SubscriberByEmail(ctx, "nobody@example.org"); ok {
				t.Error("SoftBounce(unknown) created a record")
			}
		})
	})
}

// importRows returns n rows for addresses prefix0000@example.org, ...
func importRows(prefix string, n int) []bulletin.ImportRow {
	rows := make([]bulletin.ImportRow, n)
	for i := range rows {
		rows[i] = bulletin.ImportRow{
			Line:          i + 2,
			Email:         fmt.Sprintf("%s%04d@example.org", prefix, i),
			Name:          fmt.Sprintf("Reader %d", i),
			Organisation:  "Agency " + fmt.Sprint(i%50),
			ConsentedAt:   subT0.Add(-time.Duration(i) * time.Hour),
			ConsentSource: "paper form",
		}
	}
	return rows
}

func TestImportSubscribers(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		now := subT0.Add(time.Hour)
		subscribed(t, st, "subscribed@example.org", subT0)
		request(t, st, "pending@example.org", "Web Name", subT0)
		pending := mustSubscriber(t, st, "pending@example.org")
		suppressed(t, st, "unsubscribed@example.org", bulletin.Unsubscribed, subT0)
		suppressed(t, st, "bounced@example.org", bulletin.Bounced, subT0)
		suppressed(t, st, "complained@example.org", bulletin.Complained, subT0)
		// A suppressed address that asked again and has not confirmed.
		suppressed(t, st, "asked@example.org", bulletin.Complained, subT0)
		request(t, st, "asked@example.org", "Asker", subT0)

		consented := subT0.Add(-400 * 24 * time.Hour)
		row := func(email, name string) bulletin.ImportRow {
			return bulletin.ImportRow{Email: email, Name: name, Organisation: name + " Org", ConsentedAt: consented, ConsentSource: "AGM sign-up sheet"}
		}
		rows := []bulletin.ImportRow{
			row("new1@example.org", "New One"),
			row("Subscribed@example.org", "List Name"),
			row("pending@example.org", "List Name"),
			row("unsubscribed@example.org", "List Name"),
			row("new2@example.org", ""),
			row("bounced@example.org", "List Name"),
			row("complained@example.org", "List Name"),
			row("asked@example.org", "List Name"),
			row("NEW1@example.org", "Again"), // the same address twice
			row("new3@example.org", "New Three"),
		}
		got, err := st.ImportSubscribers(ctx, importKey, rows, now)
		want := bulletin.ImportCounts{Added: 3, Confirmed: 1, AlreadySubscribed: 2, Suppressed: 4}
		if err != nil || got != want {
			t.Fatalf("ImportSubscribers = %+v, %v; want %+v", got, err, want)
		}

		wantConsent := bulletin.Consent{At: consented, Source: "import:" + importKey, ListSource: "AGM sign-up sheet"}
		for _, tc := range []struct {
			email, name string
			state       bulletin.State
			imported    bool // the list's consent is in force
		}{
			{"new1@example.org", "New One", bulletin.Subscribed, true},
			{"new2@example.org", "", bulletin.Subscribed, true},
			{"new3@example.org", "New Three", bulletin.Subscribed, true},
			{"pending@example.org", "List Name", bulletin.Subscribed, true},
			{"subscribed@example.org", "Old Name", bulletin.Subscribed, false},
			{"unsubscribed@example.org", "Old Name", bulletin.Unsubscribed, false},
			{"bounced@example.org", "", bulletin.Bounced, false},
			{"complained@example.org", "", bulletin.Complained, false},
			{"asked@example.org", "Asker", bulletin.Complained, false},
		} {
			sub := mustSubscriber(t, st, tc.email)
			if sub.State != tc.state || sub.Name != tc.name {
				t.Errorf("after import, %s: state %s, name %q; want %s, %q", tc.email, sub.State, sub.Name, tc.state, tc.name)
			}
			if imported := sub.Consent != nil && sub.Consent.Source == wantConsent.Source; imported != tc.imported {
				t.Errorf("after import, %s: consent %+v; want the list's: %v", tc.email, sub.Consent, tc.imported)
			} else if imported && (!sub.Consent.At.Equal(wantConsent.At) || sub.Consent.ListSource != wantConsent.ListSource || sub.Consent.TextVersion != "") {
				t.Errorf("after import, %s: consent %+v; want %+v", tc.email, sub.Consent, wantConsent)
			}
			if got := inSubscribedIndex(t, db, table, sub.ID); got != (tc.state == bulletin.Subscribed) {
				t.Errorf("after import, %s: in the subscribed index = %v; want %v", tc.email, got, tc.state == bulletin.Subscribed)
			}
			if tc.imported && (!bulletin.ValidID(sub.UnsubscribeSecret) || !sub.ChangedAt.Equal(now)) {
				t.Errorf("after import, %s: %+v; want an unsubscribe secret, changed now", tc.email, sub)
			}
		}
		if sub := mustSubscriber(t, st, "pending@example.org"); sub.ID != pending.ID || sub.UnsubscribeSecret != pending.UnsubscribeSecret || sub.ConfirmSecret != pending.ConfirmSecret {
			t.Errorf("the pending subscriber became %s (secret changed: %v); want the same record", sub.ID, sub.UnsubscribeSecret != pending.UnsubscribeSecret)
		}
		// The pending one's link now finds it subscribed already.
		if res, err := st.ConfirmSubscription(ctx, pending.ID, pending.ConfirmSecret, now); err != nil || res != bulletin.AlreadyConfirmed {
			t.Errorf("ConfirmSubscription of the imported pending one = %v, %v; want %v", res, err, bulletin.AlreadyConfirmed)
		}
		if n := subscribedCount(t, st); n != 5 {
			t.Errorf("SubscribedCount = %d; want 5", n)
		}

		// Redelivered: nothing more changes.
		got, err = st.ImportSubscribers(ctx, importKey, rows, now.Add(time.Hour))
		want = bulletin.ImportCounts{AlreadySubscribed: 6, Suppressed: 4}
		if err != nil || got != want {
			t.Fatalf("ImportSubscribers again = %+v, %v; want %+v", got, err, want)
		}
		if n := countItems(t, db, table, "SUB#"); n != 9 {
			t.Errorf("%d SUB# records; want 9, one per address", n)
		}
		if n := countItems(t, db, table, "SUBEMAIL#"); n != 9 {
			t.Errorf("%d SUBEMAIL# items; want 9, one per address", n)
		}

		// The suppressed address that asked stays suppressed until it confirms.
		asked := mustSubscriber(t, st, "asked@example.org")
		if res, err := st.ConfirmSubscription(ctx, asked.ID, asked.ConfirmSecret, now); err != nil || res != bulletin.Confirmed {
			t.Fatalf("ConfirmSubscription(asked) = %v, %v; want confirmed", res, err)
		}
		if sub := mustSubscriber(t, st, "asked@example.org"); sub.State != bulletin.Subscribed || sub.Consent.Source != bulletin.SourceWebForm {
			t.Errorf("after confirming, asked: %s with %+v; want subscribed with web-form consent", sub.State, sub.Consent)
		}

		if got, err := st.ImportSubscribers(ctx, importKey, nil, now); err != nil || got != (bulletin.ImportCounts{}) {
			t.Errorf("ImportSubscribers(no rows) = %+v, %v; want nothing", got, err)
		}
	})
}

// TestImportSubscribersList imports a list of 7,040 (the charity's) twice; the times are
// logged, for the report, not checked.
func TestImportSubscribersList(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		const n = 7040
		rows := importRows("list", n)
		// Some of the list are known already: pending, subscribed, bounced.
		request(t, st, rows[10].Email, "A", subT0)
		subscribed(t, st, rows[20].Email, subT0)
		suppressed(t, st, rows[30].Email, bulletin.Bounced, subT0)

		start := time.Now()
		got, err := st.ImportSubscribers(ctx, importKey, rows, subT0.Add(time.Hour))
		first := time.Since(start)
		want := bulletin.ImportCounts{Added: n - 3, Confirmed: 1, AlreadySubscribed: 1, Suppressed: 1}
		if err != nil || got != want {
			t.Fatalf("ImportSubscribers(%d rows) = %+v, %v; want %+v", n, got, err, want)
		}
		start = time.Now()
		got, err = st.ImportSubscribers(ctx, importKey, rows, subT0.Add(2*time.Hour))
		second := time.Since(start)
		want = bulletin.ImportCounts{AlreadySubscribed: n - 1, Suppressed: 1}
		if err != nil || got != want {
			t.Fatalf("ImportSubscribers(%d rows) again = %+v, %v; want %+v", n, got, err, want)
		}
		t.Logf("import of %d rows: %v; again: %v", n, first.Round(time.Millisecond), second.Round(time.Millisecond))

		if c := subscribedCount(t, st); c != n-1 {
			t.Errorf("SubscribedCount = %d; want %d", c, n-1)
		}
		ids, _ := pageAll(t, st, 1000)
		if len(ids) != n-1 || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != n-1 {
			t.Errorf("SubscribedPage by 1000 listed %d subscribers (sorted %v); want each of %d once, in ID order", len(ids), slices.IsSorted(ids), n-1)
		}
		if c := countItems(t, db, table, "SUB#"); c != n {
			t.Errorf("%d SUB# records; want %d", c, n)
		}
		for _, i := range []int{0, 1234, n - 1} {
			sub := mustSubscriber(t, st, rows[i].Email)
			if sub.State != bulletin.Subscribed || sub.Name != rows[i].Name || sub.Organisation != rows[i].Organisation ||
				sub.Consent == nil || !sub.Consent.At.Equal(rows[i].ConsentedAt) || sub.Consent.ListSource != rows[i].ConsentSource {
				t.Errorf("row %d imported as %+v; want subscribed with its name, organisation and consent", i, sub)
			}
			if byID, ok, err := st.SubscriberByID(ctx, sub.ID); err != nil || !ok || byID.Email != rows[i].Email {
				t.Errorf("SubscriberByID(%s) = %v, %v; want row %d's record", sub.ID, ok, err, i)
			}
		}
	})
}

// TestImportSubscribersConcurrently runs two imports of the same list at once (an S3 event
// delivered twice): every address gets one record, and each row is added by exactly one.
func TestImportSubscribersConcurrently(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		st := dynamo.New(db, table)
		const n = 400
		rows := importRows("twice", n)
		var wg sync.WaitGroup
		counts := make([]bulletin.ImportCounts, 2)
		errs := make([]error, 2)
		for i := range counts {
			wg.Go(func() { counts[i], errs[i] = st.ImportSubscribers(context.Background(), importKey, rows, subT0) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("ImportSubscribers: %v", err)
		}
		sum := bulletin.ImportCounts{
			Added:             counts[0].Added + counts[1].Added,
			Confirmed:         counts[0].Confirmed + counts[1].Confirmed,
			AlreadySubscribed: counts[0].AlreadySubscribed + counts[1].AlreadySubscribed,
			Suppressed:        counts[0].Suppressed + counts[1].Suppressed,
		}
		if want := (bulletin.ImportCounts{Added: n, AlreadySubscribed: n}); sum != want {
			t.Errorf("two imports at once counted %+v and %+v (sum %+v); want the sum %+v", counts[0], counts[1], sum, want)
		}
		if c := countItems(t, db, table, "SUB#"); c != n {
			t.Errorf("%d SUB# records; want %d", c, n)
		}
		if c := subscribedCount(t, st); c != n {
			t.Errorf("SubscribedCount = %d; want %d", c, n)
		}
	})
}

// TestRequestSubscriptionConcurrently sends one new address's request from 20 goroutines at
// once: one record, and as many mails as the limit allows, each numbered once.
func TestRequestSubscriptionConcurrently(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		st := dynamo.New(db, table)
		const email, n = "eager@example.org", 20
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var b confirmBuilder
				ids[i], errs[i] = st.RequestSubscription(context.Background(), bulletin.Subscription{Email: email, Name: fmt.Sprint("Eager ", i)}, subT0, b.build)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("RequestSubscription: %v", err)
		}
		if c := countItems(t, db, table, "SUB#"); c != 1 {
			t.Fatalf("%d SUB# records after %d concurrent requests; want 1", c, n)
		}
		sub := mustSubscriber(t, st, email)
		var mails []string
		for _, id := range ids {
			if id != "" {
				mails = append(mails, id)
			}
		}
		slices.Sort(mails)
		var want []string
		for i := range bulletin.MaxConfirmMails {
			want = append(want, dynamo.ConfirmMailID(sub.ID, i+1))
		}
		if !slices.Equal(mails, want) {
			t.Errorf("mail IDs returned %v; want %v, once each", mails, want)
		}
		if c := countItems(t, db, table, "MAIL#"); c != bulletin.MaxConfirmMails {
			t.Errorf("%d outbox mails; want %d", c, bulletin.MaxConfirmMails)
		}
		if sub.State != bulletin.Pending || len(sub.ConfirmMails) != bulletin.MaxConfirmMails || sub.Version != int64(bulletin.MaxConfirmMails) {
			t.Errorf("after %d concurrent requests: %+v; want pending, %d mails, version %d", n, sub, bulletin.MaxConfirmMails, bulletin.MaxConfirmMails)
		}
	})
}

// TestUnsubscribeWhileConfirming confirms and unsubscribes each of a few pending subscribers
// at once. Whichever goes first, the person who unsubscribed ends Unsubscribed: a
// confirmation written over an unsubscription (a lost update) would leave them Subscribed.
func TestUnsubscribeWhileConfirming(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		const n = 15
		subs := make([]bulletin.Subscriber, n)
		for i := range subs {
			email := fmt.Sprintf("race%d@example.org", i)
			request(t, st, email, "Racer", subT0)
			subs[i] = mustSubscriber(t, st, email)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2*n)
		for i, sub := range subs {
			wg.Go(func() {
				_, errs[2*i] = st.ConfirmSubscription(ctx, sub.ID, sub.ConfirmSecret, subT0.Add(time.Minute))
			})
			wg.Go(func() {
				changed, err := st.Unsubscribe(ctx, sub.ID, sub.UnsubscribeSecret, subT0.Add(time.Minute))
				if err == nil && !changed {
					err = fmt.Errorf("Unsubscribe(%s) changed nothing", sub.ID)
				}
				errs[2*i+1] = err
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		for _, sub := range subs {
			got, _, err := st.SubscriberByID(ctx, sub.ID)
			if err != nil || got.State != bulletin.Unsubscribed || inSubscribedIndex(t, db, table, sub.ID) {
				t.Errorf("subscriber %s after confirming and unsubscribing at once: %s (%v); want unsubscribed, out of the index", sub.ID, got.State, err)
			}
		}
		if c := subscribedCount(t, st); c != 0 {
			t.Errorf("SubscribedCount = %d; want 0", c)
		}
	})
}

func TestSubscriberReads(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		if _, ok, err := st.SubscriberByID(ctx, bulletin.NewSubscriberID()); ok || err != nil {
			t.Errorf("SubscriberByID(unknown) = %v, %v; want not found", ok, err)
		}
		if _, ok, err := st.SubscriberByEmail(ctx, "none@example.org"); ok || err != nil {
			t.Errorf("SubscriberByEmail(unknown) = %v, %v; want not found", ok, err)
		}
		if c := subscribedCount(t, st); c != 0 {
			t.Errorf("SubscribedCount of an empty table = %d; want 0", c)
		}
		subscribed(t, st, "reader@example.org", subT0)
		byEmail := mustSubscriber(t, st, " Reader@EXAMPLE.org ")
		byID, ok, err := st.SubscriberByID(ctx, byEmail.ID)
		if err != nil || !ok || byID.Email != "reader@example.org" || byID.Version != byEmail.Version {
			t.Errorf("SubscriberByID(%s) = %+v, %v, %v; want %+v", byEmail.ID, byID, ok, err, byEmail)
		}
		// No address in any key.
		for _, k := range []string{"pk", "sk", "gsi2pk", "gsi2sk"} {
			item := rawItem(t, db, table, "SUB#"+byID.ID, "SUB")
			if v, ok := item[k].(*types.AttributeValueMemberS); ok && strings.Contains(strings.ToLower(v.Value), "reader") {
				t.Errorf("SUB# key %s = %q holds the address", k, v.Value)
			}
		}
		if c := subscribedCount(t, st); c != 1 {
			t.Errorf("SubscribedCount = %d; want 1", c)
		}
	})
}

// pageAll pages through SubscribedPage with limit and returns the IDs in order and the
// number of pages.
func pageAll(tb testing.TB, st *dynamo.Store, limit int) (ids []string, pages int) {
	tb.Helper()
	cursor := ""
	for {
		subs, next, err := st.SubscribedPage(context.Background(), cursor, limit)
		if err != nil {
			tb.Fatalf("SubscribedPage(%q, %d): %v", cursor, limit, err)
		}
		if limit > 0 && len(subs) > limit {
			tb.Fatalf("SubscribedPage(%q, %d) = %d subscribers; want at most %d", cursor, limit, len(subs), limit)
		}
		pages++
		for _, s := range subs {
			if s.State != bulletin.Subscribed || s.Email == "" || s.UnsubscribeSecret == "" {
				tb.Errorf("SubscribedPage listed %+v; want whole Subscribed records", s)
			}
			ids = append(ids, s.ID)
		}
		if next == "" {
			return ids, pages
		}
		cursor = next
	}
}

func TestSubscribedPage(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := dynamo.New(db, table)
		if subs, next, err := st.SubscribedPage(ctx, "", 10); len(subs) != 0 || next != "" || err != nil {
			t.Errorf("SubscribedPage of an empty table = %v, %q, %v; want nothing", subs, next, err)
		}
		var want []string
		for i := range 7 {
			email := fmt.Sprintf("page%d@example.org", i)
			subscribed(t, st, email, subT0)
			want = append(want, mustSubscriber(t, st, email).ID)
		}
		slices.Sort(want)
		request(t, st, "pending-page@example.org", "A", subT0)
		suppressed(t, st, "bounced-page@example.org", bulletin.Bounced, subT0)
		suppressed(t, st, "gone-page@example.org", bulletin.Unsubscribed, subT0)

		for _, tc := range []struct {
			name  string
			limit int
			pages int // at least
		}{
			{"one page", 0, 1},
			{"pages of 3", 3, 3},
			{"pages of 1", 1, 7},
			{"exactly one page", 7, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ids, pages := pageAll(t, st, tc.limit)
				if !slices.Equal(ids, want) || pages < tc.pages {
					t.Errorf("SubscribedPage by %d = %v in %d pages; want %v in at least %d", tc.limit, ids, pages, want, tc.pages)
				}
			})
		}

		t.Run("the cursor's subscriber leaves between pages", func(t *testing.T) {
			first, next, err := st.SubscribedPage(ctx, "", 3)
			if err != nil || len(first) != 3 || next != first[2].ID {
				t.Fatalf("SubscribedPage(\"\", 3) = %d, %q, %v; want 3 and the last one's ID", len(first), next, err)
			}
			if changed, err := st.Unsubscribe(ctx, first[2].ID, first[2].UnsubscribeSecret, subT0.Add(time.Hour)); err != nil || !changed {
				t.Fatalf("Unsubscribe = %v, %v", changed, err)
			}
			rest, _, err := st.SubscribedPage(ctx, next, 10)
			var ids []string
			for _, s := range rest {
				ids = append(ids, s.ID)
			}
			if err != nil || !slices.Equal(ids, want[3:]) {
				t.Errorf("SubscribedPage after a gone cursor = %v, %v; want %v", ids, err, want[3:])
			}
		})

		t.Run("a cursor that is not an ID", func(t *testing.T) {
			for _, cursor := range []string{"x", "SUB#" + want[0], want[0] + "="} {
				if _, _, err := st.SubscribedPage(ctx, cursor, 10); err == nil {
					t.Errorf("SubscribedPage(%q) = nil error; want one", cursor)
				}
			}
		})
	})
}
