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
//	BULLETIN#<issue id>        ISSUE       an issue (bulletin.StoredIssue) with its dispatch;
//	                                       gsi1pk BULLETINS, gsi1sk <issue id> (the staff list);
//	                                       while Ready and not Finished: gsi2pk BULLETIN_DUE, gsi2sk <send_at>#<id>;
//	                                       once Finished: gsi2pk BULLETIN_SENT, gsi2sk <finished_at>#<id>
//	BULLETIN#<issue id>        RENDERED    the issue's bulletin.Rendered mail
//	BULLETIN#<issue id>        R#<sub id>  one recipient of the issue (bulletin.Recipient)

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
