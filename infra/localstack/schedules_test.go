package localstack

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sectorhub/infra/testenv"
)

// scheduledEvents returns the events ManualFunction recorded under seen/schedules/ once there
// are want of them (the test's timeout bounds the wait), after every invocation has finished.
func scheduledEvents(t *testing.T, st *testStack, want int) []map[string]any {
	t.Helper()
	client := st.S3Client()
	ctx := context.Background()
	bucket := st.Bucket("Uploads")
	for {
		out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("seen/schedules/")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Contents) >= want {
			if err := st.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			out, err = client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("seen/schedules/")})
			if err != nil {
				t.Fatal(err)
			}
			var evs []map[string]any
			for _, o := range out.Contents {
				obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(obj.Body)
				obj.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				var ev map[string]any
				if err := json.Unmarshal(b, &ev); err != nil {
					t.Fatalf("recorded event %s: %v", b, err)
				}
				evs = append(evs, ev)
			}
			return evs
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// describe names an event for comparison: its input's record, or its source, time, resources
// and detail.
func describe(ev map[string]any) string {
	if r, ok := ev["record"]; ok {
		return "input " + r.(string)
	}
	b, _ := json.Marshal(map[string]any{"detail": ev["detail"], "resources": ev["resources"]})
	return ev["source"].(string) + " " + ev["time"].(string) + " " + string(b)
}

func TestSchedulesFireOnTheirTimetable(t *testing.T) {
	// Saturday 28 March 2026, 08:59:30 in London (GMT); the clocks go forward that night.
	t0 := time.Date(2026, 3, 28, 8, 59, 30, 0, time.UTC)
	clock := NewManualClock(t0)
	opts := testOptions(t)
	opts.Schedules, opts.Clock = true, clock
	st := startStack(t, opts)

	infos := map[string]ScheduleInfo{}
	for _, sc := range st.Schedules() {
		infos[sc.EventID] = sc
	}
	if len(infos) != 4 {
		t.Fatalf("Schedules() = %+v; want Weekly, EveryMinute, Morning and Paused", st.Schedules())
	}
	for id, want := range map[string]struct {
		next     time.Time
		tz       string
		disabled bool
	}{
		"Weekly":  {t0.Add(7 * 24 * time.Hour), "UTC", false},
		"Morning": {time.Date(2026, 3, 28, 9, 0, 0, 0, time.UTC), "Europe/London", false},
		"Paused":  {time.Time{}, "UTC", true},
	} {
		if sc := infos[id]; !sc.Next.Equal(want.next) || sc.Timezone != want.tz || sc.Disabled != want.disabled {
			t.Errorf("schedule %s = %+v; want next %v in %s, disabled %t", id, sc, want.next, want.tz, want.disabled)
		}
	}

	const (
		minuteARN = "arn:aws:scheduler:eu-west-2:000000000000:schedule/default/ManualFunctionEveryMinute"
		weeklyARN = "arn:aws:events:eu-west-2:000000000000:rule/sectorhub-local-ManualFunctionWeekly"
	)
	v2 := func(at string) string {
		return `aws.scheduler ` + at + ` {"detail":"{}","resources":["` + minuteARN + `"]}`
	}
	steps := []struct {
		name string
		to   time.Time
		want []string // every event recorded so far
	}{
		// A rate ScheduleV2 without a StartDate fires as soon as it exists.
		{"start", t0, []string{v2("2026-03-28T08:59:30Z")}},
		{"09:00 GMT", time.Date(2026, 3, 28, 9, 0, 0, 0, time.UTC), []string{v2("2026-03-28T08:59:30Z"), "input morning"}},
		{"a minute after start", t0.Add(time.Minute), []string{v2("2026-03-28T08:59:30Z"), "input morning", v2("2026-03-28T09:00:30Z")}},
		// 09:00 BST is 08:00 UTC; the every-minute schedule missed a day of firings: it skips them.
		{"09:00 BST", time.Date(2026, 3, 29, 8, 0, 0, 0, time.UTC), []string{v2("2026-03-28T08:59:30Z"), "input morning", v2("2026-03-28T09:00:30Z"), "input morning"}},
		{"a week after start", t0.Add(7 * 24 * time.Hour), []string{v2("2026-03-28T08:59:30Z"), "input morning", v2("2026-03-28T09:00:30Z"), "input morning",
			`aws.events 2026-04-04T08:59:30Z {"detail":{},"resources":["` + weeklyARN + `"]}`}},
	}
	for _, step := range steps {
		clock.Set(step.to)
		evs := scheduledEvents(t, st, len(step.want))
		var got []string
		for _, ev := range evs {
			got = append(got, describe(ev))
			if src, _ := ev["source"].(string); src != "" && (ev["version"] != "0" || ev["detail-type"] != "Scheduled Event" || ev["account"] != "000000000000" || ev["region"] != "eu-west-2" || ev["id"] == "") {
				t.Errorf("%s: event %v lacks the scheduled event's envelope", step.name, ev)
			}
		}
		slices.Sort(got)
		want := slices.Clone(step.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("after %s, recorded events:\n  %s\nwant:\n  %s", step.name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
	if n := strings.Count(st.log.String(), " fired for "); n != 5 {
		t.Errorf("%d firing lines in the log; want one per firing, 5:\n%s", n, st.log)
	}
	// A missed firing is skipped in the schedule's own goroutine, after the step: wait for it
	// (the test's timeout bounds the wait).
	for !strings.Contains(st.log.String(), "schedule | ScheduleV2 Morning → ManualFunction (cron(0 9 * * ? *)): missed 2026-03-30T08:00:00Z") {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(st.log.String(), "schedule | ScheduleV2 EveryMinute → ManualFunction (rate(1 minute)): missed 2026-03-28T09:01:30Z") {
		t.Errorf("log lacks the missed firing of EveryMinute:\n%s", st.log)
	}
	for !strings.Contains(string(do(t, "GET", st.URL()+"/_local/", nil, nil).body), "ScheduleV2 Morning → ManualFunction (cron(0 9 * * ? *)): next 2026-04-05 09:00:00 BST") {
		time.Sleep(10 * time.Millisecond)
	}
	if r := do(t, "GET", st.URL()+"/_local/", nil, nil); !strings.Contains(string(r.body), "ScheduleV2 Paused → ManualFunction (rate(1 minute)): disabled") {
		t.Errorf("GET /_local/ lists the schedules as:\n%s", r.body)
	}
}

func TestSchedulesRefuseWhatTheyCannotFire(t *testing.T) {
	dir := t.TempDir()
	tmpl := "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn\n      Events:\n        Odd:\n          Type: ScheduleV2\n          Properties:\n            ScheduleExpression: %s\n%s"
	tests := []struct {
		name, expr, extra, want string
	}{
		{"L-3", "cron(0 9 L-3 * ? *)", "", `Fn event Odd: schedule expression "cron(0 9 L-3 * ? *)": day-of-month "L-3"`},
		{"rate unit", "rate(1 minutes)", "", "must be rate(1 minute)"},
		{"time zone", "rate(1 day)", "            ScheduleExpressionTimezone: Europe/Lundon\n", `ScheduleExpressionTimezone "Europe/Lundon"`},
		{"input", "rate(1 day)", "            Input: not json\n", "Input is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := dir + "/" + strings.ReplaceAll(tt.name, " ", "-")
			testenv.WriteFiles(t, sub, map[string]string{"template.yaml": strings.Replace(strings.Replace(tmpl, "%s", tt.expr, 1), "%s", tt.extra, 1)})
			opts := testOptions(t)
			opts.Root, opts.Template, opts.Schedules = sub, "", true
			_, err := Start(context.Background(), opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start with %s = %v; want an error with %q", tt.expr, err, tt.want)
			}
		})
	}
}
