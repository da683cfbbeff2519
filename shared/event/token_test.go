package event

import (
	"encoding/base32"
	"encoding/base64"
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(b) != 32 || len(tok) != 43 || !ValidToken(tok) || seen[tok] {
			t.Fatalf("NewToken() = %q (%d bytes, %v, repeated %v); want 32 fresh bytes in 43 base64url characters", tok, len(b), err, seen[tok])
		}
		seen[tok] = true
	}
}

func TestValidToken(t *testing.T) {
	cases := []struct {
		name string
		s    string
		want bool
	}{
		{"letters", strings.Repeat("a", 43), true},
		{"alphabet", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijk-_0129", true},
		{"42", strings.Repeat("a", 42), false},
		{"44", strings.Repeat("a", 44), false},
		{"empty", "", false},
		{"padding", strings.Repeat("a", 42) + "=", false},
		{"standard base64", strings.Repeat("a", 42) + "+", false},
		{"slash", strings.Repeat("a", 42) + "/", false},
		{"dot", strings.Repeat("a", 42) + ".", false},
		{"non-ASCII", strings.Repeat("a", 41) + "é", false},
	}
	for _, c := range cases {
		if got := ValidToken(c.s); got != c.want {
			t.Errorf("ValidToken(%s %q) = %v; want %v", c.name, c.s, got, c.want)
		}
	}
}

func TestTokenHash(t *testing.T) {
	// The SHA-256 of "abc" (FIPS 180-2's example).
	if got, want := TokenHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("TokenHash(%q) = %s; want %s", "abc", got, want)
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id, err := NewID()
		if err != nil {
			t.Fatal(err)
		}
		b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(id))
		if err != nil || len(b) != 16 || len(id) != 26 || id != strings.ToLower(id) || !ValidID(id) || seen[id] {
			t.Fatalf("NewID() = %q (%d bytes, %v); want 16 fresh bytes in 26 lower-case base32 characters", id, len(b), err)
		}
		seen[id] = true
	}
}

func TestValidID(t *testing.T) {
	cases := []struct {
		name string
		s    string
		want bool
	}{
		{"alphabet", "abcdefghijklmnopqrstuvwxyz", true},
		{"digits", "234567abcdefghijklmnopqrst", true},
		{"upper case", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", false},
		{"digit 1", "1bcdefghijklmnopqrstuvwxyz", false},
		{"digit 8", "abcdefghijklmnopqrstuvwxy8", false},
		{"25", "abcdefghijklmnopqrstuvwxy", false},
		{"27", "abcdefghijklmnopqrstuvwxyza", false},
		{"uuid", "0f8fad5bd9cb469fa16570867728950e", false},
		{"path", "../../abcdefghijklmnopqrstu", false},
		{"empty", "", false},
	}
	for _, c := range cases {
		if got := ValidID(c.s); got != c.want {
			t.Errorf("ValidID(%s %q) = %v; want %v", c.name, c.s, got, c.want)
		}
	}
}
