package seed_test

import (
	"strings"
	"testing"
	"time"

	"sectorhub/infra/localstack/sescapture"
	"sectorhub/infra/seed"
	"sectorhub/shared/bulletin"
	"sectorhub/shared/bulletin/issuefile"
)

// The sample subscriber list is valid, about 25 fictional people at example.org, and two of the
// SES mailbox simulator's addresses, so that a dispatch on the local stack shows a bounce and a
// complaint suppressing their subscribers.
func TestSubscriberSamples(t *testing.T) {
	uploads, err := seed.Uploads()
	if err != nil {
		t.Fatal(err)
	}
	var lists int
	for _, u := range uploads {
		if !strings.HasPrefix(u.Key, "subscribers/") {
			continue
		}
		lists++
		if u.Key != "subscribers/seed.csv" {
			t.Errorf("sample list %s; want it at subscribers/seed.csv", u.Key)
		}
		res := bulletin.ParseSubscribers(u.Body, time.Now())
		for _, p := range res.Problems {
			t.Errorf("%s line %d, column %q: %s", u.Key, p.Line, p.Column, p.Message)
		}
		kinds := map[string]int{}
		for _, r := range res.Rows {
			kind, simulated := sescapture.Simulated(r.Email)
			switch {
			case simulated:
				kinds[kind]++
			case strings.HasSuffix(r.Email, "@example.org"):
				kinds["example.org"]++
			default:
				t.Errorf("%s line %d: an address neither at example.org nor of the SES simulator", u.Key, r.Line)
			}
		}
		if kinds["example.org"] < 20 || kinds[sescapture.SimulatedBounce] != 1 || kinds[sescapture.SimulatedComplaint] != 1 {
			t.Errorf("%s has %v; want about 25 people at example.org, one simulated bounce and one simulated complaint", u.Key, kinds)
		}
	}
	if lists != 1 {
		t.Errorf("%d sample subscriber lists; want 1", lists)
	}
}

// The generated issue is a valid, ready issue of the seeding day in London, due a minute before.
func TestIssue(t *testing.T) {
	uk, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		now    time.Time
		wantID string
	}{
		{"a winter afternoon", time.Date(2026, 12, 1, 15, 4, 5, 600e6, time.UTC), "2026-12-01"},
		{"just after midnight in summer (still the day before in UTC)", time.Date(2026, 6, 2, 0, 0, 30, 0, uk), "2026-06-02"},
		{"just before midnight in winter", time.Date(2026, 1, 5, 23, 59, 59, 0, uk), "2026-01-05"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := seed.Issue(tt.now)
			if u.Key != "bulletins/"+tt.wantID+".md" {
				t.Errorf("Issue(%v).Key = %q; want bulletins/%s.md", tt.now, u.Key, tt.wantID)
			}
			res := issuefile.ParseIssue(u.Key, u.Body, tt.now)
			for _, p := range res.Problems {
				t.Errorf("line %d, field %q: %s", p.Line, p.Field, p.Message)
			}
			iss := res.Issue
			wantSendAt := tt.now.Add(-time.Minute).Truncate(time.Second)
			if iss.ID != tt.wantID || iss.Status != bulletin.Ready || !iss.SendAt.Equal(wantSendAt) || iss.Subject == "" || iss.Preheader == "" || !strings.Contains(iss.HTML, "<table>") {
				t.Errorf("issue %s, status %s, send_at %v, subject %q; want %s, ready, %v, a subject, a preheader and a table", iss.ID, iss.Status, iss.SendAt, iss.Subject, tt.wantID, wantSendAt)
			}
			if gen := seed.Generated(tt.now); len(gen) != 1 || gen[0].Key != u.Key || string(gen[0].Body) != string(u.Body) {
				t.Errorf("Generated(%v) = %d uploads; want the issue", tt.now, len(gen))
			}
		})
	}
}
