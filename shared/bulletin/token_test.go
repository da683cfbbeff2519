package bulletin_test

import (
	"strings"
	"testing"

	"sectorhub/shared/bulletin"
)

func TestTokens(t *testing.T) {
	s := bulletin.Subscriber{ID: bulletin.NewSubscriberID(), ConfirmSecret: bulletin.NewSecret(), UnsubscribeSecret: bulletin.NewSecret()}
	u := bulletin.UnsubscribeToken(s)
	c := bulletin.ConfirmToken(s)
	if len(u) != bulletin.TokenLen || len(c) != bulletin.TokenLen {
		t.Fatalf("token lengths %d, %d; want %d", len(u), len(c), bulletin.TokenLen)
	}
	if id, secret, ok := bulletin.ParseToken(bulletin.UnsubscribePurpose, u); !ok || id != s.ID || secret != s.UnsubscribeSecret {
		t.Errorf("ParseToken(unsubscribe, %q) = %q, %q, %v; want %q, %q, true", u, id, secret, ok, s.ID, s.UnsubscribeSecret)
	}
	if id, secret, ok := bulletin.ParseToken(bulletin.ConfirmPurpose, c); !ok || id != s.ID || secret != s.ConfirmSecret {
		t.Errorf("ParseToken(confirm, %q) = %q, %q, %v; want %q, %q, true", c, id, secret, ok, s.ID, s.ConfirmSecret)
	}
	bad := map[string]string{
		"confirm token as unsubscribe": c,
		"empty":                        "",
		"one short":                    u[:len(u)-1],
		"one long":                     u + "A",
		"not base64url":                u[:10] + "+" + u[11:],
		"padding":                      u[:len(u)-1] + "=",
		"non-canonical last character": u[:bulletin.TokenLen-1] + nonCanonical(u[bulletin.TokenLen-1]),
		"spaces":                       strings.Repeat(" ", bulletin.TokenLen),
	}
	for name, tok := range bad {
		if id, secret, ok := bulletin.ParseToken(bulletin.UnsubscribePurpose, tok); ok {
			t.Errorf("%s: ParseToken(unsubscribe, %q) = %q, %q, true; want false", name, tok, id, secret)
		}
	}
	if bulletin.NewSecret() == bulletin.NewSecret() || bulletin.NewSubscriberID() == bulletin.NewSubscriberID() {
		t.Error("two new secrets or IDs are equal")
	}
}

// nonCanonical returns the character after c in the base64url alphabet. 16 bytes leave the
// last of 22 characters 4 unused bits, so only A, Q, g and w end a canonical encoding, and
// the character after any of them does not.
func nonCanonical(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	return string(alphabet[strings.IndexByte(alphabet, c)+1])
}

func TestSecretMatches(t *testing.T) {
	secret := bulletin.NewSecret()
	for _, c := range []struct {
		name, stored, given string
		want                bool
	}{
		{"same", secret, secret, true},
		{"other", secret, bulletin.NewSecret(), false},
		{"stored empty", "", "", false},
		{"given empty", secret, "", false},
		{"prefix", secret, secret[:10], false},
	} {
		if got := bulletin.SecretMatches(c.stored, c.given); got != c.want {
			t.Errorf("%s: SecretMatches(%q, %q) = %v; want %v", c.name, c.stored, c.given, got, c.want)
		}
	}
}

// FuzzParseToken: whatever the string, ParseToken does not panic, and what it accepts is
// exactly the token its parts make again.
func FuzzParseToken(f *testing.F) {
	s := bulletin.Subscriber{ID: bulletin.NewSubscriberID(), UnsubscribeSecret: bulletin.NewSecret(), ConfirmSecret: bulletin.NewSecret()}
	f.Add(bulletin.UnsubscribeToken(s))
	f.Add(bulletin.ConfirmToken(s))
	f.Add("")
	f.Add("u" + strings.Repeat("_", 44))
	f.Fuzz(func(t *testing.T, tok string) {
		for _, p := range []bulletin.Purpose{bulletin.ConfirmPurpose, bulletin.UnsubscribePurpose} {
			id, secret, ok := bulletin.ParseToken(p, tok)
			if !ok {
				if id != "" || secret != "" {
					t.Fatalf("ParseToken(%q) refused but returned %q, %q", tok, id, secret)
				}
				continue
			}
			if !bulletin.ValidID(id) || !bulletin.ValidID(secret) || bulletin.Token(p, id, secret) != tok {
				t.Fatalf("ParseToken(%c, %q) = %q, %q: not the token's parts", p, tok, id, secret)
			}
		}
	})
}
