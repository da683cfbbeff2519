package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/samtemplate"
	"sectorhub/infra/seed"
	"sectorhub/shared/casestudy/markdown"
	"sectorhub/shared/dynamo"
	evt "sectorhub/shared/event" // the stack has its own "event"
)

// seedEvents creates the sample events (seed.Events) as staff would, through the staff API
// with a local staff token, and books their sample places through the public route, so that
// the booking mails land in the outbox capture. An event that has already ended cannot be
// created through the API (it refuses one), so those are written to the table directly. A
// template without the events routes is skipped with a note.
func (s *Stack) seedEvents(ctx context.Context) error {
	if !s.hasRoute("POST /staff/events") || !s.hasRoute("POST /events/{id}/bookings") {
		s.log.Printf("stack", "seed: the template has no events routes; no sample events")
		return nil
	}
	token, err := s.StaffToken("seed@example.org")
	if err != nil {
		return fmt.Errorf("seed events: %w", err)
	}
	now := time.Now()
	events, bookings := 0, 0
	for _, sample := range seed.Events(now) {
		var id string
		if sample.Past {
			id, err = s.writePastEvent(ctx, sample, now)
		} else {
			var created struct {
				ID string `json:"id"`
			}
			err = s.seedCall(ctx, "/staff/events", token, sample.JSON(), &created)
			id = created.ID
		}
		if err != nil {
			return fmt.Errorf("seed event %q: %w", sample.Body["title"], err)
		}
		events++
		for _, b := range sample.Bookings {
			body, err := json.Marshal(b)
			if err != nil {
				return err
			}
			if err := s.seedCall(ctx, "/events/"+id+"/bookings", "", body, nil); err != nil {
				return fmt.Errorf("seed a booking on %q: %w", sample.Body["title"], err)
			}
			bookings++
		}
	}
	s.log.Printf("stack", "seed: created %d events and %d bookings (their mail is in the outbox)", events, bookings)
	return nil
}

func (s *Stack) hasRoute(key string) bool {
	return slices.ContainsFunc(s.tmpl.Routes, func(r samtemplate.Route) bool { return r.Method+" "+r.Path == key })
}

// seedCall POSTs body to the stack's API at path, as staff (token) or the public, and decodes
// a 2xx answer into out.
func (s *Stack) seedCall(ctx context.Context, path, token string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.api.URL()+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s %s", path, resp.Status, bytes.TrimSpace(data))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// writePastEvent validates a past sample as of a month before it started and writes it with
// the store's CreateEvent, as the staff route would have then.
func (s *Stack) writePastEvent(ctx context.Context, sample seed.SampleEvent, now time.Time) (string, error) {
	if len(s.tmpl.Tables) != 1 {
		return "", errors.New("the template does not have exactly one table")
	}
	starts, err := time.Parse(time.RFC3339, fmt.Sprint(sample.Body["starts_at"]))
	if err != nil {
		return "", err
	}
	ev, problems := evt.ParseEvent(sample.JSON(), starts.AddDate(0, -1, 0))
	if len(problems) > 0 {
		return "", fmt.Errorf("%v", problems)
	}
	if ev.ID, err = evt.NewID(); err != nil {
		return "", err
	}
	if ev.Description != "" {
		if ev.DescriptionHTML, _, err = markdown.Render([]byte(ev.Description)); err != nil {
			return "", err
		}
	}
	ev.CreatedAt, ev.UpdatedAt = now, now
	client := dynamodb.New(dynamodb.Options{
		Region:       s.tmpl.Pseudo["AWS::Region"],
		BaseEndpoint: aws.String(s.dynamo.URL()),
		Credentials:  localCredentials,
	})
	store := dynamo.New(client, s.TableName(s.tmpl.Tables[0].LogicalID))
	return ev.ID, store.CreateEvent(ctx, ev)
}
