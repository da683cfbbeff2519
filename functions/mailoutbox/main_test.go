package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/testenv"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/mail"
)

func TestSweeper(t *testing.T) {
	payload, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "events", "mail-outbox-schedule.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(payload) {
		t.Fatal("events/mail-outbox-schedule.json is not JSON")
	}
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		store := dynamo.New(db, table)
		ses := testenv.SESTargets(t)[0] // the capture: it shows what was sent
		now := time.Now()
		for _, to := range []string{"reader@example.org", "not an address"} {
			raw, err := mail.Build(mail.Message{From: "events@sectorhub.example.org", To: []string{"reader@example.org"}, Subject: "s", Text: "t", HTML: "h"}, now)
			if err != nil {
				t.Fatal(err)
			}
			m := mail.Mail{ID: "m-" + to, Kind: "test", From: "events@sectorhub.example.org", To: []string{to}, Raw: raw}
			if _, err := store.PutMail(ctx, m, now.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		var logs bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		env := map[string]string{
			"AWS_REGION": testenv.Region, "AWS_ACCESS_KEY_ID": testenv.AccessKey, "AWS_SECRET_ACCESS_KEY": testenv.SecretKey,
			"AWS_ENDPOINT_URL_SES": ses.Endpoint,
		}
		h := sweeper(store, mail.NewSES(func(k string) string { return env[k] }), 100, log)

		// A Lambda invocation: the schedule's event, a 60-second deadline.
		ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		rep, err := h(ctx, payload)
		if want := (mail.SweepReport{Sent: 1, Failed: 1}); err != nil || rep != want {
			t.Fatalf("handler = %+v, %v; want %+v", rep, err, want)
		}
		if n := len(ses.Outbox.Messages()); n != 1 {
			t.Errorf("the capture holds %d messages; want 1", n)
		}
		if !strings.Contains(logs.String(), `"msg":"outbox sweep","sent":1,"retried":0,"failed":1`) {
			t.Errorf("log = %s; want the counts", logs.String())
		}
		if strings.Contains(logs.String(), "@") || strings.Contains(logs.String(), "not an address") {
			t.Errorf("log = %s; want no address", logs.String())
		}

		// Nothing left: the next sweep does nothing and says so at debug level only.
		logs.Reset()
		if rep, err := h(ctx, payload); err != nil || rep != (mail.SweepReport{}) {
			t.Errorf("second handler = %+v, %v; want nothing done", rep, err)
		}
		if !strings.Contains(logs.String(), `"level":"DEBUG"`) {
			t.Errorf("idle sweep logged %s; want debug level", logs.String())
		}
	})
}

func TestRunConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no table", map[string]string{}, "TABLE_NAME"},
		{"bad rate", map[string]string{"TABLE_NAME": "t", "MAIL_MAX_RATE": "fast"}, "MAIL_MAX_RATE"},
	}
	for _, tc := range tests {
		err := run(context.Background(), func(k string) string { return tc.env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%s) = %v; want an error naming %s", tc.name, err, tc.want)
		}
	}
}
