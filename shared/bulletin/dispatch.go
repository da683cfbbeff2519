package bulletin

import "time"

// DispatchState is where an issue's sending stands.
type DispatchState string

// States of a dispatch.
const (
	NotStarted DispatchState = ""          // waiting for its send_at (or a draft)
	Preparing  DispatchState = "preparing" // rendering and listing its recipients
	Sending    DispatchState = "sending"   // recipients listed; mails going out
	Finished   DispatchState = "sent"      // every recipient attended to
)

// Progress counts an issue's recipients by outcome. Recipients is fixed once they are
// listed (Sending); then Recipients = Sent + Suppressed + Failed + Uncertain + Remaining.
type Progress struct {
	Recipients int `json:"recipients"`
	Sent       int `json:"sent"`
	Suppressed int `json:"suppressed"` // unsubscribed, bounced or complained after being listed: not sent
	Failed     int `json:"failed"`     // SES refused the mail for good
	Uncertain  int `json:"uncertain"`  // claimed by a sender that stopped before recording: not re-sent
	Remaining  int `json:"remaining"`
	// Throttled counts SES throttling errors seen (each retried, never dropped).
	Throttled int `json:"throttled"`
}

// Dispatch is the sending of one issue.
type Dispatch struct {
	State      DispatchState `json:"state"`
	StartedAt  time.Time     `json:"started_at,omitzero"`
	FinishedAt time.Time     `json:"finished_at,omitzero"`
	Progress   Progress      `json:"progress"`
	// LeaseOwner is the invocation (its Lambda request ID) working on the dispatch until
	// LeaseUntil; only it sends. Another may take the dispatch over once the lease ends; the
	// same request (Lambda's retry of the invocation) may take it at once.
	LeaseOwner string    `json:"lease_owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}

// StoredIssue is an uploaded issue with its dispatch.
type StoredIssue struct {
	Issue
	Key        string    `json:"key"`         // the upload's key (bulletins/<id>.md)
	UploadedAt time.Time `json:"uploaded_at"` // the S3 event time of the upload stored
	Dispatch   Dispatch  `json:"dispatch"`
}

// Rendered is an issue's mail, rendered once when its dispatch starts (with the upcoming
// events and new case studies of that moment) and kept: each recipient's mail is it with
// their unsubscribe link and name filled in (package bulletinmail), and the web archive shows
// ArchiveHTML.
type Rendered struct {
	Subject   string `json:"subject"`
	Preheader string `json:"preheader,omitempty"`
	// HTML and Text are the mail's parts with placeholders for the personal parts, as
	// package bulletinmail writes and fills them.
	HTML string `json:"html"`
	Text string `json:"text"`
	// ArchiveHTML is the issue as a web page, without personal links.
	ArchiveHTML string `json:"archive_html"`
	// Events and CaseStudies count what the sections listed.
	Events      int       `json:"events"`
	CaseStudies int       `json:"case_studies"`
	RenderedAt  time.Time `json:"rendered_at"`
}

// RecipientStatus is where one recipient of an issue stands.
type RecipientStatus string

// Statuses of a recipient.
const (
	Queued              RecipientStatus = "queued"     // listed, not yet claimed
	Claimed             RecipientStatus = "sending"    // claimed by the dispatch's sender; outcome not yet recorded
	Delivered           RecipientStatus = "sent"       // SES accepted the mail
	RecipientFailed     RecipientStatus = "failed"     // SES refused it for good
	RecipientSuppressed RecipientStatus = "suppressed" // no longer subscribed when its turn came
	RecipientUncertain  RecipientStatus = "uncertain"  // found claimed after its sender stopped: never re-sent
)

// Recipient is one subscriber listed for an issue, with what their mail needs. Email, Name
// and UnsubscribeToken are dropped from the record once the recipient is attended to.
type Recipient struct {
	SubscriberID     string          `json:"subscriber_id"`
	Email            string          `json:"email,omitempty"`
	Name             string          `json:"name,omitempty"`
	UnsubscribeToken string          `json:"unsubscribe_token,omitempty"`
	Status           RecipientStatus `json:"status"`
	ClaimedAt        time.Time       `json:"claimed_at,omitzero"`
	DoneAt           time.Time       `json:"done_at,omitzero"`
	MessageID        string          `json:"message_id,omitempty"` // SES's
	Code             string          `json:"code,omitempty"`       // SES's error code, when failed
}

// ClaimResult is what claiming a recipient found.
type ClaimResult int

// Results of ClaimRecipient.
const (
	ClaimOK         ClaimResult = iota // claimed: send the mail, then record the outcome
	ClaimTaken                         // not queued any more (claimed or done before): skip it
	ClaimSuppressed                    // no longer subscribed: recorded as suppressed; skip it
)
