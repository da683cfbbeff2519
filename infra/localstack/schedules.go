package localstack

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"sectorhub/infra/localstack/lambdart"
	"sectorhub/infra/localstack/schedule"
	"sectorhub/infra/samtemplate"
)

// Clock is the time the stack's schedules run on: the system clock unless Options.Clock gives
// another (tests move time on by hand instead of waiting for it).
type Clock interface {
	Now() time.Time
	// At returns a channel that is closed once the clock has reached t, and a function that
	// stops waiting for it.
	At(t time.Time) (reached <-chan struct{}, stop func())
}

// systemClock is the machine's clock. It looks at the time at least every recheckEvery: a
// timer set for an hour runs late by however long the machine slept.
type systemClock struct{}

const recheckEvery = 30 * time.Second

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) At(t time.Time) (<-chan struct{}, func()) {
	reached, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		for {
			d := time.Until(t)
			if d <= 0 {
				close(reached)
				return
			}
			timer := time.NewTimer(min(d, recheckEvery))
			select {
			case <-timer.C:
			case <-stopped:
				timer.Stop()
				return
			}
		}
	}()
	return reached, sync.OnceFunc(func() { close(stopped) })
}

// missedAfter is how late a firing may be and still happen: a schedule woken later than
// this (the machine slept, the clock jumped) skips what it missed, as a schedule that was
// paused would, rather than firing every missed time at once.
const missedAfter = time.Minute

// timetable is one Schedule or ScheduleV2 trigger that the stack fires on its timetable
// (Options.Schedules).
type timetable struct {
	trigger  samtemplate.Trigger
	expr     schedule.Expression
	loc      *time.Location // ScheduleV2's ScheduleExpressionTimezone; UTC for rules
	input    []byte         // the trigger's Input; nil for the default event
	arn      string         // the rule's or schedule's ARN, for the default event
	disabled bool

	mu   sync.Mutex
	next time.Time // zero when disabled or when it never fires again
}

// ScheduleInfo describes a schedule of the template, as the stack fires it.
type ScheduleInfo struct {
	FunctionID, EventID string
	Type                string // Schedule or ScheduleV2
	Expression          string
	Timezone            string // "UTC" unless a ScheduleV2 names one
	Disabled            bool   // Enabled: false or State: DISABLED
	Next                time.Time
}

// When says when the schedule fires next, in its own time zone ("next 2026-11-24 09:00:00
// GMT"), or that it is disabled or never fires again.
func (sc ScheduleInfo) When() string {
	switch {
	case sc.Disabled:
		return "disabled"
	case sc.Next.IsZero():
		return "no more firings"
	}
	loc, err := time.LoadLocation(sc.Timezone)
	if err != nil {
		loc = time.UTC
	}
	return "next " + sc.Next.In(loc).Format("2006-01-02 15:04:05 MST")
}

// Schedules describes the schedules the stack fires (none unless Options.Schedules), with
// each one's next firing.
func (s *Stack) Schedules() []ScheduleInfo {
	out := make([]ScheduleInfo, 0, len(s.timetables))
	for _, tt := range s.timetables {
		tt.mu.Lock()
		next := tt.next
		tt.mu.Unlock()
		out = append(out, ScheduleInfo{
			FunctionID: tt.trigger.FunctionID,
			EventID:    tt.trigger.EventID,
			Type:       tt.trigger.Type,
			Expression: tt.expr.String(),
			Timezone:   tt.loc.String(),
			Disabled:   tt.disabled,
			Next:       next,
		})
	}
	return out
}

// loadTimetables reads every Schedule and ScheduleV2 trigger of the template: its expression
// (refused at start if the schedule package cannot evaluate it), time zone, input, ARN and
// state.
func (s *Stack) loadTimetables() ([]*timetable, error) {
	var out []*timetable
	for _, tr := range s.tmpl.Triggers {
		if tr.Type != "Schedule" && tr.Type != "ScheduleV2" {
			continue
		}
		where := fmt.Sprintf("%s: %s event %s", s.tmpl.Path, tr.FunctionID, tr.EventID)
		props := map[string]string{}
		for name, v := range map[string]samtemplate.Value{"expression": tr.Schedule, "Timezone": tr.Timezone, "Input": tr.Input,
			"Name": tr.Name, "GroupName": tr.GroupName, "Enabled": tr.Enabled, "State": tr.State} {
			val, err := s.tmpl.Resolve(v, s.names)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			props[name] = val
		}
		expr, err := schedule.Parse(props["expression"])
		if err != nil {
			return nil, fmt.Errorf("%s: %w (the local stack's --schedules cannot fire it)", where, err)
		}
		tt := &timetable{trigger: tr, expr: expr, loc: time.UTC}
		if tz := props["Timezone"]; tz != "" {
			if tt.loc, err = time.LoadLocation(tz); err != nil {
				return nil, fmt.Errorf("%s: ScheduleExpressionTimezone %q: %w", where, tz, err)
			}
		}
		if in := props["Input"]; in != "" {
			if !json.Valid([]byte(in)) {
				return nil, fmt.Errorf("%s: Input is not JSON (a Lambda target takes a JSON event)", where)
			}
			tt.input = []byte(in)
		}
		tt.disabled = strings.EqualFold(props["Enabled"], "false") || strings.EqualFold(props["State"], "DISABLED")
		region, account, partition := s.tmpl.Pseudo["AWS::Region"], s.tmpl.Pseudo["AWS::AccountId"], s.tmpl.Pseudo["AWS::Partition"]
		// Without a Name, CloudFormation names a rule after the stack and SAM names a schedule
		// after its logical ID: the function's and the event's.
		if tr.Type == "Schedule" {
			name := cmp.Or(props["Name"], s.tmpl.Pseudo["AWS::StackName"]+"-"+tr.FunctionID+tr.EventID)
			tt.arn = fmt.Sprintf("arn:%s:events:%s:%s:rule/%s", partition, region, account, name)
		} else {
			name, group := cmp.Or(props["Name"], tr.FunctionID+tr.EventID), cmp.Or(props["GroupName"], "default")
			tt.arn = fmt.Sprintf("arn:%s:scheduler:%s:%s:schedule/%s/%s", partition, region, account, group, name)
		}
		out = append(out, tt)
	}
	return out, nil
}

// first returns a timetable's first firing after the stack starts at now: at once for a
// ScheduleV2 rate (EventBridge Scheduler starts a rate schedule without a StartDate when it is
// created), one interval later for a rule's rate, the next match for a cron expression.
func (tt *timetable) first(now time.Time) (time.Time, bool) {
	if _, ok := tt.expr.Rate(); ok && tt.trigger.Type == "ScheduleV2" {
		return now, true
	}
	return tt.expr.Next(now, tt.loc)
}

func (tt *timetable) setNext(t time.Time) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.next = t
}

// startTimetables computes every enabled schedule's first firing and starts firing them.
func (s *Stack) startTimetables() {
	now := s.clock.Now()
	for _, tt := range s.timetables {
		if tt.disabled {
			continue
		}
		next, ok := tt.first(now)
		if !ok {
			s.log.Printf("schedule", "%s %s → %s (%s): never fires after %s", tt.trigger.Type, tt.trigger.EventID, tt.trigger.FunctionID, tt.expr, now.UTC().Format(time.RFC3339))
			continue
		}
		tt.setNext(next)
		s.timers.Add(1)
		go s.runTimetable(tt, next)
	}
}

// runTimetable fires tt at next and every later time its expression gives, until the stack
// closes.
func (s *Stack) runTimetable(tt *timetable, next time.Time) {
	defer s.timers.Done()
	for {
		reached, stop := s.clock.At(next)
		select {
		case <-reached:
		case <-s.closing:
			stop()
			return
		}
		var ok bool
		if now := s.clock.Now(); now.Sub(next) > missedAfter {
			s.log.Printf("schedule", "%s %s → %s (%s): missed %s (the clock jumped or the machine slept)", tt.trigger.Type, tt.trigger.EventID, tt.trigger.FunctionID, tt.expr, next.UTC().Format(time.RFC3339))
			next, ok = tt.expr.Next(now, tt.loc)
		} else {
			fired := next
			next, ok = tt.expr.Next(fired, tt.loc)
			s.fire(tt, fired, next, ok)
		}
		if !ok {
			tt.setNext(time.Time{})
			return
		}
		tt.setNext(next)
	}
}

// fire invokes tt's function asynchronously, as EventBridge does, with tt's Input or the
// default event of its type, and logs one line.
func (s *Stack) fire(tt *timetable, at, next time.Time, more bool) {
	payload := tt.input
	if payload == nil {
		var err error
		if payload, err = json.Marshal(s.scheduledEvent(tt, at)); err != nil {
			s.log.Printf("schedule", "encode the event of %s: %v", tt.trigger.EventID, err)
			return
		}
	}
	then := "no later firing"
	if more {
		then = "next " + next.UTC().Format(time.RFC3339)
	}
	s.log.Printf("schedule", "%s %s → %s (%s) fired for %s; %s", tt.trigger.Type, tt.trigger.EventID, tt.trigger.FunctionID, tt.expr, at.UTC().Format(time.RFC3339), then)
	s.async.arrive("", 1)
	go func() {
		defer s.async.done()
		s.invokeAsync("schedule", tt.trigger.FunctionID, tt.trigger.Type+" "+tt.trigger.EventID, payload)
	}()
}

// scheduledEvent is the event a schedule delivers when it has no Input: an EventBridge rule's
// "Scheduled Event" (source aws.events, detail {}), or EventBridge Scheduler's default
// notification to a Lambda target (source aws.scheduler, detail the string "{}", resources the
// schedule's ARN), as aws-lambda-java-libs' scheduler_event.json records it.
func (s *Stack) scheduledEvent(tt *timetable, at time.Time) any {
	ev := struct {
		Version    string   `json:"version"`
		ID         string   `json:"id"`
		DetailType string   `json:"detail-type"`
		Source     string   `json:"source"`
		Account    string   `json:"account"`
		Time       string   `json:"time"`
		Region     string   `json:"region"`
		Resources  []string `json:"resources"`
		Detail     any      `json:"detail"`
	}{
		Version:    "0",
		ID:         lambdart.NewRequestID(),
		DetailType: "Scheduled Event",
		Source:     "aws.events",
		Account:    s.tmpl.Pseudo["AWS::AccountId"],
		Time:       at.UTC().Format("2006-01-02T15:04:05Z"),
		Region:     s.tmpl.Pseudo["AWS::Region"],
		Resources:  []string{tt.arn},
		Detail:     struct{}{},
	}
	if tt.trigger.Type == "ScheduleV2" {
		ev.Source, ev.Detail = "aws.scheduler", "{}"
	}
	return ev
}
