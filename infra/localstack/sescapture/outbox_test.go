package sescapture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// send sends a one-line message to n recipients, with SendRawEmail when raw is set.
func send(client *ses.Client, n int, raw bool) error {
	to := make([]string, n)
	for i := range to {
		to[i] = fmt.Sprintf("r%d@example.org", i)
	}
	ctx := context.Background()
	if raw {
		msg := "From: news@sectorhub.example\r\nTo: " + strings.Join(to, ", ") + "\r\nSubject: s\r\n\r\nbody\r\n"
		_, err := client.SendRawEmail(ctx, &ses.SendRawEmailInput{RawMessage: &types.RawMessage{Data: []byte(msg)}})
		return err
	}
	_, err := client.SendEmail(ctx, &ses.SendEmailInput{
		Source:      aws.String("news@sectorhub.example"),
		Destination: &types.Destination{ToAddresses: to},
		Message:     &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("b")}}},
	})
	return err
}

// checkSendError fails unless err is nil when wantMessage is empty, or else SES's throttling
// error, as the SDK decodes it, with wantMessage.
func checkSendError(tb testing.TB, err error, wantMessage string) {
	tb.Helper()
	if wantMessage == "" {
		if err != nil {
			tb.Errorf("send error = %v; want none", err)
		}
		return
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		tb.Fatalf("send error = %v; want the API error Throttling: %s", err, wantMessage)
	}
	if apiErr.ErrorCode() != "Throttling" || apiErr.ErrorMessage() != wantMessage {
		tb.Errorf("send error = %s %q; want Throttling %q", apiErr.ErrorCode(), apiErr.ErrorMessage(), wantMessage)
	}
	// The SDK's standard retryer backs off and retries it, as it does against SES.
	if got := retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err); got != aws.TrueTernary {
		tb.Errorf("the SDK's retryer counts the error as a throttle: %v; want true", got)
	}
	var respErr *awshttp.ResponseError
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != http.StatusBadRequest {
		tb.Errorf("send error = %v; want HTTP 400", err)
	}
}

func TestGetSendQuota(t *testing.T) {
	tests := []struct {
		name         string
		opts         Options
		wantMax24    float64
		wantMaxRate  float64
		wantSent     float64 // after sends to 1 and 2 recipients
		wantSentLate float64 // 24 hours later
	}{
		{name: "no limits", opts: Options{}, wantMax24: -1, wantMaxRate: -1, wantSent: 3},
		{name: "the local stack's limits", opts: Options{MaxSendRate: 14, Max24HourSend: 50000}, wantMax24: 50000, wantMaxRate: 14, wantSent: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			tt.opts.Now = clock.Now
			client := newClient(t, startServer(t, NewWithOptions(tt.opts)))
			ctx := context.Background()
			for _, n := range []int{1, 2} {
				if err := send(client, n, false); err != nil {
					t.Fatal(err)
				}
				clock.Advance(time.Hour)
			}
			q, err := client.GetSendQuota(ctx, &ses.GetSendQuotaInput{})
			if err != nil {
				t.Fatalf("GetSendQuota() error = %v", err)
			}
			if q.Max24HourSend != tt.wantMax24 || q.MaxSendRate != tt.wantMaxRate || q.SentLast24Hours != tt.wantSent {
				t.Errorf("GetSendQuota() = %v, %v, %v; want %v, %v, %v (recipients)", q.Max24HourSend, q.MaxSendRate, q.SentLast24Hours, tt.wantMax24, tt.wantMaxRate, tt.wantSent)
			}
			clock.Advance(23 * time.Hour)
			q, err = client.GetSendQuota(ctx, &ses.GetSendQuotaInput{})
			if err != nil {
				t.Fatalf("GetSendQuota() error = %v", err)
			}
			if q.SentLast24Hours != tt.wantSentLate {
				t.Errorf("24 hours on, SentLast24Hours = %v; want %v", q.SentLast24Hours, tt.wantSentLate)
			}
		})
	}
}

// TestSendLimits sends, step by step on a fake clock, against a rate of 3 recipients a
// second and a quota of 10 recipients a day.
func TestSendLimits(t *testing.T) {
	const rateErr, dailyErr = "Maximum sending rate exceeded.", "Daily message quota exceeded."
	clock := newFakeClock()
	o := NewWithOptions(Options{MaxSendRate: 3, Max24HourSend: 10, Now: clock.Now})
	client := newClient(t, startServer(t, o))
	steps := []struct {
		name       string
		advance    time.Duration // before sending
		recipients int
		raw        bool
		wantErr    string
	}{
		{name: "first", recipients: 1},
		{name: "second, raw", advance: 100 * time.Millisecond, recipients: 1, raw: true},
		{name: "two recipients over the rate", recipients: 2, wantErr: rateErr},
		{name: "third", recipients: 1},
		{name: "fourth in the second", advance: 899 * time.Millisecond, recipients: 1, wantErr: rateErr},
		{name: "fourth in the second, raw", recipients: 1, raw: true, wantErr: rateErr},
		{name: "a second after the first", advance: time.Millisecond, recipients: 1}, // window: second, third, this
		{name: "still full", recipients: 1, wantErr: rateErr},
		{name: "five recipients in a quiet second", advance: 2 * time.Second, recipients: 5}, // 9 today
		{name: "two over the day's quota", advance: 2 * time.Second, recipients: 2, wantErr: dailyErr},
		{name: "one fits the day's quota", recipients: 1}, // 10 today
		{name: "the day is full", advance: time.Hour, recipients: 1, raw: true, wantErr: dailyErr},
		{name: "a day after the first three", advance: 23*time.Hour - 4500*time.Millisecond, recipients: 1}, // 7 left, now 8
		{name: "the fourth leaves too", advance: 1100 * time.Millisecond, recipients: 3},                    // 7 left, now 10
		{name: "the day full again", advance: time.Second, recipients: 1, wantErr: dailyErr},
	}
	accepted := 0
	for _, st := range steps {
		clock.Advance(st.advance)
		err := send(client, st.recipients, st.raw)
		t.Run(st.name, func(t *testing.T) { checkSendError(t, err, st.wantErr) })
		if err == nil {
			accepted++
		}
	}
	if got := len(o.Messages()); got != accepted {
		t.Errorf("captured %d messages; want the %d accepted (refused ones are not captured)", got, accepted)
	}
}

// TestSetLimits sets limits on an outbox that has been sending without: what it accepted
// before counts against them.
func TestSetLimits(t *testing.T) {
	clock := newFakeClock()
	o := NewWithOptions(Options{Now: clock.Now})
	client := newClient(t, startServer(t, o))
	for range 5 {
		if err := send(client, 1, false); err != nil {
			t.Fatalf("send with no limits: %v", err)
		}
	}
	o.SetLimits(3, 6)
	q, err := client.GetSendQuota(context.Background(), &ses.GetSendQuotaInput{})
	if err != nil || q.MaxSendRate != 3 || q.Max24HourSend != 6 || q.SentLast24Hours != 5 {
		t.Errorf("GetSendQuota() = %v, %v, %v, %v; want 3, 6, 5", q.MaxSendRate, q.Max24HourSend, q.SentLast24Hours, err)
	}
	steps := []struct {
		name    string
		advance time.Duration
		wantErr string
	}{
		{name: "the second holds five", wantErr: "Maximum sending rate exceeded."},
		{name: "a second on", advance: time.Second},
		{name: "the day holds six", advance: time.Second, wantErr: "Daily message quota exceeded."},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		err := send(client, 1, false)
		t.Run(st.name, func(t *testing.T) { checkSendError(t, err, st.wantErr) })
	}
}

func TestOutboxKeepsNewest(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want int
	}{
		{name: "configured", opts: Options{MaxMessages: 10}, want: 10},
		{name: "default", opts: Options{}, want: DefaultMaxMessages},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewWithOptions(tt.opts)
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := range tt.want + 5 {
				if err := o.add(Message{ID: fmt.Sprint(i), Received: start.Add(time.Duration(i) * time.Second)}); err != nil {
					t.Fatal(err)
				}
			}
			msgs := o.Messages()
			if len(msgs) != tt.want {
				t.Fatalf("len(Messages()) = %d; want %d", len(msgs), tt.want)
			}
			if msgs[0].ID != fmt.Sprint(tt.want+4) || msgs[len(msgs)-1].ID != "5" {
				t.Errorf("Messages() runs from %s to %s; want %d (newest) to 5", msgs[0].ID, msgs[len(msgs)-1].ID, tt.want+4)
			}
			if _, ok := o.Message("4"); ok {
				t.Error(`Message("4") found; want it dropped as the oldest`)
			}
			if m, ok := o.Message("5"); !ok || m.ID != "5" {
				t.Errorf(`Message("5") = %v, %v; want the oldest kept`, m.ID, ok)
			}
		})
	}
}

// fillOutbox adds n messages, the newest last: message i goes to r<i>@example.org, and every
// tenth also to Shared@Example.org.
func fillOutbox(tb testing.TB, o *Outbox, n int) {
	tb.Helper()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		to := []string{fmt.Sprintf("r%d@example.org", i)}
		if i%10 == 0 {
			to = append(to, "Shared@Example.org")
		}
		m := Message{ID: fmt.Sprintf("m%05d", i), Received: start.Add(time.Duration(i) * time.Millisecond), Action: "SendRawEmail",
			Source: "news@sectorhub.example", Destinations: to, Subject: fmt.Sprintf("bulletin %d", i), Raw: fillRaw(i, to)}
		if err := o.add(m); err != nil {
			tb.Fatal(err)
		}
	}
}

// fillRaw is the raw form fillOutbox gives message i.
func fillRaw(i int, to []string) []byte {
	return fmt.Appendf(nil, "From: news@sectorhub.example\r\nTo: %s\r\nSubject: bulletin %d\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHello %d, news of the sector\r\n",
		strings.Join(to, ", "), i, i)
}

// TestRawKeptInBlocks checks the raw forms of messages in compressed blocks, in the open
// block, and in a block whose older messages were dropped.
func TestRawKeptInBlocks(t *testing.T) {
	const n, keep = 5*blockSize + 7, 3*blockSize + 20
	o := NewWithOptions(Options{MaxMessages: keep})
	fillOutbox(t, o, n)
	msgs := o.Messages()
	if len(msgs) != keep {
		t.Fatalf("len(Messages()) = %d; want %d", len(msgs), keep)
	}
	for j, m := range msgs {
		i := n - 1 - j
		want := fillRaw(i, m.Destinations)
		if m.ID != fmt.Sprintf("m%05d", i) || string(m.Raw) != string(want) {
			t.Fatalf("Messages()[%d] = %s %q; want m%05d %q", j, m.ID, m.Raw, i, want)
		}
		one, ok := o.Message(m.ID)
		if !ok || string(one.Raw) != string(want) {
			t.Fatalf("Message(%q).Raw = %q, %v; want %q", m.ID, one.Raw, ok, want)
		}
	}
}

type listing struct {
	Messages []map[string]any `json:"messages"`
	Total    int              `json:"total"`
	Next     string           `json:"next"`
}

// getListing fetches the JSON listing with the given query.
func getListing(tb testing.TB, client *http.Client, base string, query url.Values) (int, listing, string) {
	tb.Helper()
	resp, err := client.Get(base + outboxPrefix + ".json?" + query.Encode())
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	var l listing
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &l); err != nil {
			tb.Fatalf("listing %v: %v", query, err)
		}
	}
	return resp.StatusCode, l, string(body)
}

// TestJSONPaging pages through a dispatch of 7,040 messages, all and one recipient's.
func TestJSONPaging(t *testing.T) {
	const n = 7040
	o := New()
	fillOutbox(t, o, n)
	srv := startServer(t, o)
	tests := []struct {
		name     string
		query    url.Values
		wantIDs  []string // newest first
		wantKeys []string
	}{
		{name: "everyone", query: url.Values{"limit": {"1000"}, "fields": {"id,destinations"}}, wantKeys: []string{"destinations", "id"}},
		{name: "one recipient", query: url.Values{"limit": {"300"}, "to": {"shared@example.ORG"}, "fields": {"id"}}, wantKeys: []string{"id"}},
		{name: "one page of everything", query: url.Values{"limit": {"7040"}, "fields": {"subject,id"}}, wantKeys: []string{"id", "subject"}},
	}
	for i := n - 1; i >= 0; i-- {
		tests[0].wantIDs = append(tests[0].wantIDs, fmt.Sprintf("m%05d", i))
		if i%10 == 0 {
			tests[1].wantIDs = append(tests[1].wantIDs, fmt.Sprintf("m%05d", i))
		}
	}
	tests[2].wantIDs = tests[0].wantIDs
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			q := tt.query
			for pages := 0; ; pages++ {
				if pages > n {
					t.Fatal("paging does not end")
				}
				status, l, body := getListing(t, srv.Client(), srv.URL, q)
				if status != http.StatusOK {
					t.Fatalf("GET %v = %d %s", q, status, body)
				}
				if l.Total != len(tt.wantIDs) {
					t.Errorf("GET %v: total = %d; want %d", q, l.Total, len(tt.wantIDs))
				}
				for _, m := range l.Messages {
					keys := make([]string, 0, len(m))
					for k := range m {
						keys = append(keys, k)
					}
					sort.Strings(keys)
					if !slices.Equal(keys, tt.wantKeys) {
						t.Fatalf("GET %v: message fields %v; want %v", q, keys, tt.wantKeys)
					}
					got = append(got, m["id"].(string))
				}
				if l.Next == "" {
					break
				}
				if l.Next != got[len(got)-1] {
					t.Fatalf("GET %v: next = %q; want the page's last ID %q", q, l.Next, got[len(got)-1])
				}
				q = url.Values{"after": {l.Next}}
				for k, v := range tt.query {
					q[k] = v
				}
				q["after"] = []string{l.Next}
			}
			if !slices.Equal(got, tt.wantIDs) {
				t.Errorf("paged %d IDs; want %d, newest first, each once", len(got), len(tt.wantIDs))
			}
		})
	}
}

func TestJSONQuery(t *testing.T) {
	o := New()
	fillOutbox(t, o, 25)
	srv := startServer(t, o)
	tests := []struct {
		name       string
		query      url.Values
		wantStatus int
		wantError  string // in the 400's body
		wantIDs    []string
		wantTotal  int
		wantNext   string
	}{
		{name: "no parameters", query: url.Values{}, wantStatus: 200, wantTotal: 25, wantIDs: ids(24, 0)},
		{name: "limit", query: url.Values{"limit": {"3"}}, wantStatus: 200, wantTotal: 25, wantIDs: ids(24, 22), wantNext: "m00022"},
		{name: "limit 0 counts", query: url.Values{"limit": {"0"}, "to": {"shared@example.org"}}, wantStatus: 200, wantTotal: 3, wantIDs: []string{}},
		{name: "after", query: url.Values{"after": {"m00003"}}, wantStatus: 200, wantTotal: 25, wantIDs: ids(2, 0)},
		{name: "after the oldest", query: url.Values{"after": {"m00000"}}, wantStatus: 200, wantTotal: 25, wantIDs: []string{}},
		{name: "after with to", query: url.Values{"after": {"m00015"}, "to": {"SHARED@example.org"}}, wantStatus: 200, wantTotal: 3, wantIDs: []string{"m00010", "m00000"}},
		{name: "to one", query: url.Values{"to": {"r7@example.org"}}, wantStatus: 200, wantTotal: 1, wantIDs: []string{"m00007"}},
		{name: "to nobody", query: url.Values{"to": {"nobody@example.org"}}, wantStatus: 200, wantTotal: 0, wantIDs: []string{}},
		{name: "negative limit", query: url.Values{"limit": {"-1"}}, wantStatus: 400, wantError: "limit"},
		{name: "limit not a number", query: url.Values{"limit": {"ten"}}, wantStatus: 400, wantError: "limit"},
		{name: "after unknown", query: url.Values{"after": {"nope"}}, wantStatus: 400, wantError: "no such message"},
		{name: "after empty", query: url.Values{"after": {""}}, wantStatus: 400, wantError: "after"},
		{name: "to not an address", query: url.Values{"to": {"not an address"}}, wantStatus: 400, wantError: "to:"},
		{name: "to with a name", query: url.Values{"to": {"Ada <ada@example.org>"}}, wantStatus: 400, wantError: "bare email address"},
		{name: "unknown field", query: url.Values{"fields": {"id,body"}}, wantStatus: 400, wantError: `"body"`},
		{name: "empty fields", query: url.Values{"fields": {""}}, wantStatus: 400, wantError: "fields"},
		{name: "unknown parameter", query: url.Values{"recipient": {"a@example.org"}}, wantStatus: 400, wantError: `"recipient"`},
		{name: "repeated parameter", query: url.Values{"limit": {"1", "2"}}, wantStatus: 400, wantError: "once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, l, body := getListing(t, srv.Client(), srv.URL, tt.query)
			if status != tt.wantStatus {
				t.Fatalf("GET %v = %d %s; want %d", tt.query, status, body, tt.wantStatus)
			}
			if status != http.StatusOK {
				if !strings.Contains(body, tt.wantError) {
					t.Errorf("GET %v = %q; want a message naming %s", tt.query, body, tt.wantError)
				}
				return
			}
			got := []string{}
			for _, m := range l.Messages {
				got = append(got, m["id"].(string))
			}
			wantNext := tt.wantNext
			if !slices.Equal(got, tt.wantIDs) || l.Total != tt.wantTotal || l.Next != wantNext {
				t.Errorf("GET %v = %v, total %d, next %q; want %v, total %d, next %q", tt.query, got, l.Total, l.Next, tt.wantIDs, tt.wantTotal, wantNext)
			}
		})
	}
}

// ids returns the IDs fillOutbox gives messages from to down to, inclusive.
func ids(from, to int) []string {
	var out []string
	for i := from; i >= to; i-- {
		out = append(out, fmt.Sprintf("m%05d", i))
	}
	return out
}

func TestJSONFieldsKeepBodies(t *testing.T) {
	o := New()
	fillOutbox(t, o, 1)
	srv := startServer(t, o)
	m, _ := o.Message("m00000")
	_, l, _ := getListing(t, srv.Client(), srv.URL, url.Values{"fields": {"text,raw, url"}})
	if len(l.Messages) != 1 {
		t.Fatalf("listed %d messages; want 1", len(l.Messages))
	}
	got := l.Messages[0]
	wantText := strings.ReplaceAll(string(m.Raw[strings.Index(string(m.Raw), "\r\n\r\n")+4:]), "\r\n", "\n")
	if len(got) != 3 || got["raw"] != string(m.Raw) || got["text"] != wantText || got["url"] != outboxPrefix+"/m00000" {
		t.Errorf("fields text,raw,url = %v; want the message's text, raw form and URL", got)
	}
}
