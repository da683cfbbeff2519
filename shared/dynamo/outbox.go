package dynamo

// The outbox: mail recorded before it is sent (package mail).
//
//	pk                 sk      what
//	MAIL#<id>          MAIL    one mail (mail.Mail); while pending or sending it is in gsi2
//	                           (gsi2pk OUTBOX, gsi2sk <next_attempt_at>#<id>); expires_at 30 days
//	                           after it was recorded

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/shared/mail"
)

const (
	mailSK = "MAIL"
	// outboxPK is gsi2's partition of mail waiting to be sent.
	outboxPK = "OUTBOX"
	// mailKeep is how long a mail's record stays (TTL) after it was recorded.
	mailKeep = 30 * 24 * time.Hour
)

func mailPK(id string) string { return "MAIL#" + id }

// outboxSK is a pending mail's gsi2 sort key: due mail sorts first.
func outboxSK(due time.Time, id string) string { return timeKey(due) + "#" + id }

// mailPut returns the transaction item that records m as pending, due at once, unless a mail
// with its ID is already recorded (then the condition fails: the mail was recorded before,
// and is not recorded twice). Capabilities put it in the same transaction as the change the
// mail is about (a booking), so that the mail exists exactly when the change does.
func (s *Store) mailPut(m mail.Mail, now time.Time) (*types.Put, error) {
	m.Status = mail.Pending
	m.CreatedAt = now
	m.NextAttemptAt = now
	item, err := attributevalue.MarshalMapWithOptions(m, jsonTags)
	if err != nil {
		return nil, fmt.Errorf("encode mail %s: %w", m.ID, err)
	}
	for k, v := range key(mailPK(m.ID), mailSK) {
		item[k] = v
	}
	item["gsi2pk"] = &types.AttributeValueMemberS{Value: outboxPK}
	item["gsi2sk"] = &types.AttributeValueMemberS{Value: outboxSK(now, m.ID)}
	item["expires_at"] = &types.AttributeValueMemberN{Value: fmt.Sprint(now.Add(mailKeep).Unix())}
	cond, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name("pk"))).Build()
	if err != nil {
		return nil, err
	}
	return &types.Put{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       cond.Condition(),
		ExpressionAttributeNames:  cond.Names(),
		ExpressionAttributeValues: cond.Values(),
	}, nil
}
