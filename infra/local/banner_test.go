package main

import (
	"bytes"
	"testing"
	"time"

	"sectorhub/infra/localstack"
)

func TestPrintSchedules(t *testing.T) {
	reminders := localstack.ScheduleInfo{FunctionID: "EventRemindersFunction", EventID: "Hourly", Type: "ScheduleV2",
		Expression: "cron(0 * * * ? *)", Timezone: "Europe/London", Next: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	outbox := localstack.ScheduleInfo{FunctionID: "MailOutboxFunction", EventID: "Sweep", Type: "ScheduleV2",
		Expression: "rate(1 minute)", Timezone: "UTC", Next: time.Date(2026, 12, 1, 9, 0, 30, 0, time.UTC)}
	paused := localstack.ScheduleInfo{FunctionID: "BulletinFunction", EventID: "Weekly", Type: "Schedule", Expression: "rate(7 days)", Timezone: "UTC", Disabled: true}
	over := localstack.ScheduleInfo{FunctionID: "OnceFunction", EventID: "Launch", Type: "ScheduleV2", Expression: "cron(0 9 1 1 ? 2020)", Timezone: "UTC"}
	tests := []struct {
		name         string
		fired        []localstack.ScheduleInfo
		hasSchedules bool
		want         string
	}{
		{"fired", []localstack.ScheduleInfo{reminders, outbox, paused, over}, true, "" +
			"  Schedules  fired on their timetable (--schedules):\n" +
			"             EventRemindersFunction Hourly  cron(0 * * * ? *) Europe/London  next 2026-06-01 10:00:00 BST\n" +
			"             MailOutboxFunction Sweep  rate(1 minute) UTC  next 2026-12-01 09:00:30 UTC\n" +
			"             BulletinFunction Weekly  rate(7 days) UTC  disabled\n" +
			"             OnceFunction Launch  cron(0 9 1 1 ? 2020) UTC  no more firings\n"},
		{"not asked", nil, true, "  Schedules  not fired on their own: --schedules fires them on their timetable (or fire one by hand, above)\n"},
		{"none in the template", nil, false, ""},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		printSchedules(&b, tt.fired, tt.hasSchedules)
		if b.String() != tt.want {
			t.Errorf("%s: printSchedules =\n%s\nwant\n%s", tt.name, b.String(), tt.want)
		}
	}
}

func TestPrintBulletin(t *testing.T) {
	tests := []struct {
		name      string
		functions []string
		want      string
	}{
		{"with the dispatch", []string{"BulletinDispatchFunction", "EventsFunction"}, "  Bulletin   curl -d '{}' http://127.0.0.1:3000/_local/invoke/BulletinDispatchFunction   (sends every due issue now: the seed's goes to the seeded subscribers; their mail is in the Outbox, and the two at simulator.amazonses.com bounce and complain as SES's mailbox simulator does)\n"},
		{"without", []string{"EventsFunction"}, ""},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		printBulletin(&b, "http://127.0.0.1:3000", tt.functions)
		if b.String() != tt.want {
			t.Errorf("%s: printBulletin =\n%q\nwant\n%q", tt.name, b.String(), tt.want)
		}
	}
}
