package seed

import (
	"fmt"
	"time"
)

// Generated returns the sample uploads whose content depends on when the stack seeds, uploaded
// after Uploads' (once their kinds' samples are in): a Light Lunch issue due a minute before
// now (Issue).
func Generated(now time.Time) []Upload {
	return []Upload{Issue(now)}
}

// Issue returns a fictional Light Lunch issue, ready, for now's date in London
// (bulletins/<yyyy-mm-dd>.md), whose send_at is a minute before now: firing the dispatch by hand
// (POST /_local/invoke/BulletinDispatchFunction with {}) sends it at once to the seeded
// subscribers (uploads/30-subscribers), with the events and case studies of the seed in its
// sections. The issue format refuses a ready issue whose send_at is more than 7 days past, so
// this sample cannot be a fixed file.
func Issue(now time.Time) Upload {
	uk, err := time.LoadLocation("Europe/London")
	if err != nil {
		uk = time.UTC
	}
	date := now.In(uk).Format(time.DateOnly)
	sendAt := now.Add(-time.Minute).UTC().Truncate(time.Second).Format(time.RFC3339)
	body := fmt.Sprintf(`---
subject: "Light Lunch: a sample issue from the local stack"
preheader: Funding news, a peer mentoring guide and what is on this month
send_at: %s
status: ready
---
## Welcome to Light Lunch

This is a **sample issue**, seeded by the local stack so that you can see a dispatch end to end.
Everything in it is fictional.

## Funding news

- The *Example Community Fund* opens its next round for small charities working with people
  leaving prison.
- A new guide explains how to [pay people for their time](https://www.example.org/guides/paying-people)
  when they take part in involvement work.

## From the network

Peer mentors from across the network met last week to share what helps on the day of release.
Read their notes, and tell us what works where you are: reply to this mail.

| Region | Meetings this term |
| --- | --- |
| North West | 3 |
| London | 2 |
`, sendAt)
	return Upload{Key: "bulletins/" + date + ".md", Body: []byte(body)}
}
