package dynamo

import (
	"crypto/sha256"
	"encoding/hex"
)

// The Light Lunch bulletin's items (subscribers.go, bulletins.go):
//
//	pk                         sk          what
//	SUB#<subscriber id>        SUB         a subscriber (bulletin.Subscriber's fields, state in "state");
//	                                       while Subscribed: gsi2pk SUBSCRIBED, gsi2sk <subscriber id>
//	SUBEMAIL#<sha256(email)>   SUBEMAIL    the one subscriber of an address: {"subscriber_id"}
//	BULLETIN#<issue id>        ISSUE       an issue (bulletin.StoredIssue) with its dispatch, its body
//	                                       gzip-compressed in "body"; gsi1pk BULLETINS, gsi1sk <issue id>
//	                                       (the staff list); gsi2 by where it stands:
//	                                         BULLETIN_DUE   <send_at>#<id>      ready, not finished
//	                                         BULLETIN_DRAFT <id>                a draft (nothing reads it)
//	                                         BULLETIN_SENT  <finished_at>#<id>  finished: the archive
//	BULLETIN#<issue id>        RENDERED    the issue's bulletin.Rendered mail, gzip-compressed
//	BULLETIN#<issue id>        R#<sub id>  one recipient of the issue (bulletin.Recipient, claimed_by,
//	                                       expires_at a year after listing: the table's TTL)
//
// An issue's gsi2 keys are changed, never removed, and attributes that end (an attended
// recipient's address, name and token; an ended lease's owner) are set to NULL rather than
// removed: a choice made when the embedded DynamoDB (minidyn) lost index entries of items
// that left an index and came back, and ignored REMOVE of a top-level attribute; the local
// stack's wrapper (infra/localstack/dynamoserver) now handles both, and the layout, right on
// any server, stays. An ended lease
// is lease_owner NULL and lease_until the zero time, so that anyone may take it at once.

func subscriberPK(id string) string { return "SUB#" + id }

const subscriberSK = "SUB"

// subscriberEmailPK keys the address's lookup item by its SHA-256, so that the key holds no
// address.
func subscriberEmailPK(email string) string {
	sum := sha256.Sum256([]byte(email))
	return "SUBEMAIL#" + hex.EncodeToString(sum[:])
}

const subscriberEmailSK = "SUBEMAIL"

// subscribedIndex is gsi2's partition of the Subscribed subscribers.
const subscribedIndex = "SUBSCRIBED"

// subscriberStateAttr is the attribute of a subscriber's state.
const subscriberStateAttr = "state"

func bulletinPK(id string) string { return "BULLETIN#" + id }

const (
	issueSK     = "ISSUE"
	renderedSK  = "RENDERED"
	recipientSK = "R#" // + subscriber id
)

// gsi partitions of issues.
const (
	bulletinsIndex    = "BULLETINS"     // gsi1: every issue
	bulletinDueIndex  = "BULLETIN_DUE"  // gsi2: ready, not finished
	bulletinSentIndex = "BULLETIN_SENT" // gsi2: finished
)
