package mailfeedback_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/testenv"
	"sectorhub/shared/bulletin"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/mailfeedback"
)

// Addresses of the samples (the SES mailbox simulator's, and the transient bounce's).
const (
	bounceAddr    = "bounce@simulator.amazonses.com"
	complaintAddr = "complaint@simulator.amazonses.com"
	rowan         = "rowan.ashby@fernhill-trust.example" // the transient bounce gives Rowan.Ashby@Fernhill-Trust.example
	other         = "sam.okafor@fernhill-trust.example"
)

type fixture struct {
	store *dynamo.Store
	h     *mailfeedback.Handler
	logs  *bytes.Buffer
	now   time.Time
}

// newFixture imports the four addresses above as subscribers.
func newFixture(t *testing.T, db *dynamodb.Client, table string) *fixture {
	t.Helper()
	f := &fixture{store: dynamo.New(db, table), logs: &bytes.Buffer{}, now: time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)}
	f.h = &mailfeedback.Handler{
		Store: f.store,
		Log:   slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:   func() time.Time { return f.now },
	}
	var rows []bulletin.ImportRow
	for i, email := range []string{bounceAddr, complaintAddr, rowan, other} {
		rows = append(rows, bulletin.ImportRow{Line: i + 2, Email: email, ConsentedAt: f.now.AddDate(-1, 0, 0), ConsentSource: "2025 conference sign-up sheet"})
	}
	if c, err := f.store.ImportSubscribers(context.Background(), "subscribers/list.csv", rows, f.now.AddDate(0, -1, 0)); err != nil || c.Added != len(rows) {
		t.Fatalf("ImportSubscribers = %+v, %v; want %d added", c, err, len(rows))
	}
	t.Cleanup(func() {
		for _, addr := range []string{bounceAddr, complaintAddr, rowan, "Rowan.Ashby", other, "fernhill-trust.example"} {
			if strings.Contains(strings.ToLower(f.logs.String()), strings.ToLower(addr)) {
				t.Errorf("the log holds %q:\n%s", addr, f.logs)
			}
		}
	})
	return f
}

// handle delivers ev and fails the test on an error.
func (f *fixture) handle(t *testing.T, ev events.SNSEvent) {
	t.Helper()
	if err := f.h.HandleSNS(context.Background(), ev); err != nil {
		t.Fatalf("HandleSNS: %v", err)
	}
}

func (f *fixture) state(t *testing.T, email string) bulletin.State {
	t.Helper()
	sub, ok, err := f.store.SubscriberByEmail(context.Background(), email)
	if err != nil || !ok {
		t.Fatalf("SubscriberByEmail = %v, %v; want a record", ok, err)
	}
	return sub.State
}

// event returns the sample bounce's SNS event carrying message instead.
func event(t *testing.T, messages ...string) events.SNSEvent {
	t.Helper()
	ev := sample(t, "mailfeedback-sns-bounce.json")
	rec := ev.Records[0]
	ev.Records = nil
	for _, m := range messages {
		rec.SNS.Message = m
		ev.Records = append(ev.Records, rec)
	}
	return ev
}

// transientAt returns the sample transient bounce of Rowan at t.
func transientAt(tb testing.TB, t time.Time) string {
	return edit(tb, testdata(tb, "bounce-transient.json"), func(m map[string]any) {
		m["bounce"].(map[string]any)["timestamp"] = t.Format(time.RFC3339Nano)
	})
}

func TestPermanentBounceSuppresses(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ev := sample(t, "mailfeedback-sns-bounce.json")
		f.handle(t, ev)
		if got := f.state(t, bounceAddr); got != bulletin.Bounced {
			t.Fatalf("state after a permanent bounce = %s; want %s", got, bulletin.Bounced)
		}
		f.handle(t, ev) // delivered again: nothing more
		if got := f.state(t, bounceAddr); got != bulletin.Bounced {
			t.Errorf("state after the bounce again = %s; want %s", got, bulletin.Bounced)
		}
		for _, addr := range []string{complaintAddr, rowan, other} {
			if got := f.state(t, addr); got != bulletin.Subscribed {
				t.Errorf("state of another subscriber = %s; want %s", got, bulletin.Subscribed)
			}
		}
		if !strings.Contains(f.logs.String(), "ses_message_id=0102019a7f3c0b11-") || !strings.Contains(f.logs.String(), "changed=1") {
			t.Errorf("log lacks the SES message ID or the count:\n%s", f.logs)
		}
	})
}

func TestComplaintSuppresses(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		f.handle(t, sample(t, "mailfeedback-sns-complaint.json"))
		if got := f.state(t, complaintAddr); got != bulletin.Complained {
			t.Fatalf("state after a complaint = %s; want %s", got, bulletin.Complained)
		}
		// A complaint after a bounce is recorded too: the address complained.
		f.handle(t, sample(t, "mailfeedback-sns-bounce.json"))
		bounced := edit(t, sample(t, "mailfeedback-sns-complaint.json").Records[0].SNS.Message, func(m map[string]any) {
			m["complaint"].(map[string]any)["complainedRecipients"] = []any{map[string]any{"emailAddress": bounceAddr}}
		})
		f.handle(t, event(t, bounced))
		if got := f.state(t, bounceAddr); got != bulletin.Complained {
			t.Errorf("state of a bounced address after a complaint = %s; want %s", got, bulletin.Complained)
		}
	})
}

func TestTransientBounces(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name    string
		bounces []time.Duration // before the fixture's now
		want    bulletin.State
	}{
		{"one", []time.Duration{0}, bulletin.Subscribed},
		{"two in 30 days", []time.Duration{20 * day, 0}, bulletin.Subscribed},
		{"three in 30 days", []time.Duration{29 * day, 10 * day, 0}, bulletin.Bounced},
		{"three, out of order", []time.Duration{0, 29 * day, 10 * day}, bulletin.Bounced},
		{"three over more than 30 days", []time.Duration{31 * day, 10 * day, 0}, bulletin.Subscribed},
		{"the same bounce three times", []time.Duration{day, day, day}, bulletin.Subscribed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
				f := newFixture(t, db, table)
				for _, ago := range tc.bounces {
					f.handle(t, event(t, transientAt(t, f.now.Add(-ago))))
				}
				if got := f.state(t, rowan); got != tc.want {
					t.Errorf("state after transient bounces %v ago = %s; want %s", tc.bounces, got, tc.want)
				}
				if got := f.state(t, other); got != bulletin.Subscribed {
					t.Errorf("state of another subscriber = %s; want %s", got, bulletin.Subscribed)
				}
			})
		})
	}
}

func TestUndeterminedBounceCounts(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		undetermined := testdata(t, "notification-bounce-undetermined.json")
		f.handle(t, event(t, transientAt(t, f.now.Add(-48*time.Hour)), transientAt(t, f.now.Add(-24*time.Hour))))
		if got := f.state(t, rowan); got != bulletin.Subscribed {
			t.Fatalf("state after two transient bounces = %s; want %s", got, bulletin.Subscribed)
		}
		f.now = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
		f.handle(t, event(t, undetermined))
		if got := f.state(t, rowan); got != bulletin.Bounced {
			t.Errorf("state after an undetermined bounce (a notification, the address with a display name) = %s; want %s", got, bulletin.Bounced)
		}
	})
}

func TestUnknownAddress(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		ctx := context.Background()
		const stranger = "stranger@elsewhere.example"
		permanent := edit(t, sample(t, "mailfeedback-sns-bounce.json").Records[0].SNS.Message, func(m map[string]any) {
			m["bounce"].(map[string]any)["bouncedRecipients"] = []any{map[string]any{"emailAddress": stranger}}
		})
		f.handle(t, event(t, permanent))
		if got := f.state(t, stranger); got != bulletin.Bounced {
			t.Fatalf("state of an unknown address after a permanent bounce = %s; want a %s record", got, bulletin.Bounced)
		}
		// An import does not subscribe it.
		row := bulletin.ImportRow{Line: 2, Email: stranger, ConsentedAt: f.now.AddDate(0, -2, 0), ConsentSource: "old list"}
		if c, err := f.store.ImportSubscribers(ctx, "subscribers/old.csv", []bulletin.ImportRow{row}, f.now); err != nil || c.Suppressed != 1 {
			t.Errorf("ImportSubscribers = %+v, %v; want the address counted as suppressed", c, err)
		}
		if got := f.state(t, stranger); got != bulletin.Bounced {
			t.Errorf("state after an import = %s; want %s", got, bulletin.Bounced)
		}

		// A transient bounce of an unknown address makes no record.
		f.handle(t, event(t, edit(t, transientAt(t, f.now), func(m map[string]any) {
			m["bounce"].(map[string]any)["bouncedRecipients"] = []any{map[string]any{"emailAddress": "passer.by@elsewhere.example"}}
		})))
		if _, ok, err := f.store.SubscriberByEmail(ctx, "passer.by@elsewhere.example"); ok || err != nil {
			t.Errorf("SubscriberByEmail after a transient bounce of an unknown address = %v, %v; want no record", ok, err)
		}
	})
}

func TestMalformedAndOtherMessagesAreSkipped(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		secret := `{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"` + other + `"}]`
		ev := event(t,
			"Hello from SNS!",
			secret, // cut short: not JSON
			`{"eventType":"Bounce","bounce":{"bounceType":"Sideways","bouncedRecipients":[{"emailAddress":"`+other+`"}]}}`,
			testdata(t, "delivery.json"),
			sample(t, "mailfeedback-sns-complaint.json").Records[0].SNS.Message,
		)
		f.handle(t, ev)
		if got := f.state(t, complaintAddr); got != bulletin.Complained {
			t.Errorf("state after a complaint among malformed messages = %s; want %s", got, bulletin.Complained)
		}
		if got := f.state(t, other); got != bulletin.Subscribed {
			t.Errorf("state after malformed bounces = %s; want %s", got, bulletin.Subscribed)
		}
		logs := f.logs.String()
		if n := strings.Count(logs, "skipped a message that is not an SES notice"); n != 3 {
			t.Errorf("log has %d lines of skipped messages; want 3:\n%s", n, logs)
		}
		if !strings.Contains(logs, "ignored a notice that is neither a bounce nor a complaint") || !strings.Contains(logs, "type=Delivery") {
			t.Errorf("log does not say the delivery was ignored:\n%s", logs)
		}
	})
}

func TestInvalidRecipientSkipped(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		f := newFixture(t, db, table)
		msg := edit(t, sample(t, "mailfeedback-sns-bounce.json").Records[0].SNS.Message, func(m map[string]any) {
			m["bounce"].(map[string]any)["bouncedRecipients"] = []any{
				map[string]any{"emailAddress": "MAILER-DAEMON"},
				map[string]any{"emailAddress": bounceAddr},
			}
		})
		f.handle(t, event(t, msg))
		if got := f.state(t, bounceAddr); got != bulletin.Bounced {
			t.Errorf("state of the valid recipient = %s; want %s", got, bulletin.Bounced)
		}
		if !strings.Contains(f.logs.String(), "skipped recipients that are not valid addresses") || strings.Contains(f.logs.String(), "MAILER-DAEMON") {
			t.Errorf("log should count the invalid recipient without naming it:\n%s", f.logs)
		}
	})
}

// failing is a store that fails every write after the first ok ones, and records the calls.
type failing struct {
	mu    sync.Mutex
	ok    int
	calls []call
}

type call struct {
	op, email string
	state     bulletin.State
	at        time.Time
}

var errDown = errors.New("dynamodb: service unavailable")

func (s *failing) record(c call) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	if len(s.calls) > s.ok {
		return errDown
	}
	return nil
}

func (s *failing) Suppress(ctx context.Context, email string, state bulletin.State, now time.Time) (bool, error) {
	return true, s.record(call{"suppress", email, state, now})
}

func (s *failing) SoftBounce(ctx context.Context, email string, now time.Time) (bool, error) {
	return false, s.record(call{"soft-bounce", email, "", now})
}

func TestStoreErrorIsReturned(t *testing.T) {
	bounce := sample(t, "mailfeedback-sns-bounce.json").Records[0].SNS.Message
	two := edit(t, bounce, func(m map[string]any) {
		m["bounce"].(map[string]any)["bouncedRecipients"] = []any{map[string]any{"emailAddress": rowan}, map[string]any{"emailAddress": other}}
	})
	store := &failing{ok: 2} // the first event's bounce and the second's first recipient
	var logs bytes.Buffer
	h := &mailfeedback.Handler{Store: store, Log: slog.New(slog.NewTextHandler(&logs, nil)), Now: time.Now}
	err := h.HandleSNS(context.Background(), event(t, bounce, two, sample(t, "mailfeedback-sns-complaint.json").Records[0].SNS.Message))
	if !errors.Is(err, errDown) {
		t.Fatalf("HandleSNS = %v; want the store's error, for Lambda to retry", err)
	}
	for _, want := range []string{"SNS message 3f9a1c52-7e2b-5d4a-9c81-2b6e0f4d7a13", "suppress recipient 2 of 2", "complain recipient 1 of 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("HandleSNS error %q does not say %q", err, want)
		}
	}
	for _, addr := range []string{rowan, other, complaintAddr} {
		if strings.Contains(err.Error(), addr) || strings.Contains(logs.String(), addr) {
			t.Errorf("error or log holds %q:\n%v\n%s", addr, err, logs.String())
		}
	}
	if len(store.calls) != 4 {
		t.Errorf("store calls = %d; want 4 (each record tried, the failing notice stopping at its failure)", len(store.calls))
	}
}

func TestApplyTime(t *testing.T) {
	now := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	published := now.Add(-time.Minute)
	at := now.Add(-time.Hour)
	for _, tc := range []struct {
		name          string
		at, published time.Time
		want          time.Time
	}{
		{"the notice's time", at, published, at},
		{"no notice time: SNS's", time.Time{}, published, published},
		{"neither: now", time.Time{}, time.Time{}, now},
		{"in the future: now", now.Add(time.Hour), published, now},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &failing{ok: 10}
			h := &mailfeedback.Handler{Store: store, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }}
			n := mailfeedback.Notice{Type: "Bounce", Action: mailfeedback.SoftBounce, Recipients: []string{rowan}, At: tc.at}
			if _, err := h.Apply(context.Background(), n, tc.published); err != nil {
				t.Fatal(err)
			}
			if len(store.calls) != 1 || !store.calls[0].at.Equal(tc.want) || store.calls[0].op != "soft-bounce" {
				t.Errorf("Apply(at %v, published %v) calls %+v; want one soft bounce at %v", tc.at, tc.published, store.calls, tc.want)
			}
		})
	}
}

func TestApplyActions(t *testing.T) {
	for _, tc := range []struct {
		action mailfeedback.Action
		want   call
	}{
		{mailfeedback.Suppress, call{op: "suppress", state: bulletin.Bounced}},
		{mailfeedback.Complain, call{op: "suppress", state: bulletin.Complained}},
		{mailfeedback.SoftBounce, call{op: "soft-bounce"}},
	} {
		store := &failing{ok: 10}
		h := &mailfeedback.Handler{Store: store, Log: slog.New(slog.DiscardHandler), Now: time.Now}
		res, err := h.Apply(context.Background(), mailfeedback.Notice{Action: tc.action, Recipients: []string{rowan, other}}, time.Time{})
		if err != nil || len(store.calls) != 2 || store.calls[1].op != tc.want.op || store.calls[1].state != tc.want.state || store.calls[1].email != other {
			t.Errorf("Apply(%v) = %v, calls %+v; want two %s %q", tc.action, err, store.calls, tc.want.op, tc.want.state)
		}
		if wantChanged := map[bool]int{true: 2, false: 0}[tc.action != mailfeedback.SoftBounce]; res.Changed != wantChanged {
			t.Errorf("Apply(%v).Changed = %d; want %d", tc.action, res.Changed, wantChanged)
		}
	}
}
