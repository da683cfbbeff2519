package event

// Identifiers and secrets. Event and booking IDs are random (16 bytes, so no one can list
// bookings by counting), written in lower-case base32. The token of an attendee's cancel link
// is 32 random bytes in base64url; only its SHA-256 is a key in the table, and the shape
// checks let a handler refuse a malformed one before any lookup.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Lengths of a token and of an ID in characters.
const (
	TokenLen = 43 // 32 bytes, base64url without padding
	IDLen    = 26 // 16 bytes, base32 without padding
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewToken returns a new secret for a booking's cancel link: 256 random bits from crypto/rand,
// base64url without padding (43 characters).
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// ValidToken reports whether s has the shape of a token (43 base64url characters). It checks
// the shape only, cheaply, so that a handler answers a malformed link without a lookup.
func ValidToken(s string) bool {
	if len(s) != TokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// TokenHash is the key under which a token is stored: its SHA-256 in hex. The table never
// holds a token as a key, so reading the token items gives no working link.
func TokenHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// NewID returns a new event or booking ID: 128 random bits from crypto/rand as 26 lower-case
// base32 characters (a–z, 2–7).
func NewID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return strings.ToLower(idEncoding.EncodeToString(b[:])), nil
}

// ValidID reports whether s has the shape of an ID (26 characters a–z and 2–7); a handler
// answers 404 for anything else without a lookup.
func ValidID(s string) bool {
	if len(s) != IDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
