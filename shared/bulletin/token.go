package bulletin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// Tokens in the bulletin's links. A token is one letter naming its purpose, the subscriber's
// ID and a secret, each 16 random bytes in unpadded base64url (22 characters): 45 characters
// with no personal data inside. The secrets are stored with the subscriber, because each
// issue's mail carries the unsubscribe link and is built long after the record; a token is
// checked by reading the record by its ID and comparing secrets in constant time. A confirm
// token cannot unsubscribe, nor the other way round.

// Purpose is what a token does.
type Purpose byte

// Purposes of tokens.
const (
	ConfirmPurpose     Purpose = 'c'
	UnsubscribePurpose Purpose = 'u'
)

const idLen = 22 // base64url characters of 16 bytes

// TokenLen is the length of every token.
const TokenLen = 1 + 2*idLen

func random16() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewSubscriberID returns a new random subscriber ID.
func NewSubscriberID() string { return random16() }

// NewSecret returns a new random secret for a link.
func NewSecret() string { return random16() }

// ValidID reports whether s has the form of a subscriber ID or a secret: 22 base64url
// characters that decode to 16 bytes.
func ValidID(s string) bool {
	if len(s) != idLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == 16
}

// Token returns the token for purpose p of subscriber id with secret.
func Token(p Purpose, id, secret string) string {
	return string(rune(p)) + id + secret
}

// ConfirmToken and UnsubscribeToken return s's links' tokens.
func ConfirmToken(s Subscriber) string { return Token(ConfirmPurpose, s.ID, s.ConfirmSecret) }
func UnsubscribeToken(s Subscriber) string {
	return Token(UnsubscribePurpose, s.ID, s.UnsubscribeSecret)
}

// ParseToken splits a token of purpose p into the subscriber ID and the secret; ok is false
// when it is not one (another purpose, the wrong length or alphabet).
func ParseToken(p Purpose, token string) (id, secret string, ok bool) {
	if len(token) != TokenLen || token[0] != byte(p) {
		return "", "", false
	}
	id, secret = token[1:1+idLen], token[1+idLen:]
	if !ValidID(id) || !ValidID(secret) {
		return "", "", false
	}
	return id, secret, true
}

// SecretMatches compares a stored secret with one from a link in constant time; an empty
// stored secret matches nothing.
func SecretMatches(stored, given string) bool {
	return stored != "" && subtle.ConstantTimeCompare([]byte(stored), []byte(given)) == 1
}

// ConfirmPath and UnsubscribePath are the site paths of the links, with the token in the
// query string.
func ConfirmPath(token string) string     { return "/bulletin/confirm?token=" + token }
func UnsubscribePath(token string) string { return "/bulletin/unsubscribe?token=" + token }

// SiteURL joins a site's base URL (SITE_URL) and a path.
func SiteURL(base, path string) string { return strings.TrimRight(base, "/") + path }
