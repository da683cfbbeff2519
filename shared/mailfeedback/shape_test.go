package mailfeedback

import (
	"strings"
	"testing"
)

// TestShapes pins the hand-written checks to the patterns they replace:
// ^[A-Za-z][A-Za-z ]{0,39}$ and ^[A-Za-z0-9][A-Za-z0-9-]{0,99}$.
func TestShapes(t *testing.T) {
	for _, c := range []struct {
		s           string
		word, msgID bool
	}{
		{"Permanent", true, true},
		{"On Account Suppression List", true, false},
		{"", false, false},
		{" Permanent", false, false},
		{"Permanent ", true, false},
		{"Type2", false, true},
		{"2Type", false, true},
		{strings.Repeat("a", 40), true, true},
		{strings.Repeat("a", 41), false, true},
		{strings.Repeat("a", 100), false, true},
		{strings.Repeat("a", 101), false, false},
		{"010201a2-bdee32f1-6c9f-000000", false, true},
		{"-0102", false, false},
		{"Perm\u00e9nent", false, false},
		{"a\nb", false, false},
	} {
		if got := isWord(c.s); got != c.word {
			t.Errorf("isWord(%q) = %v; want %v", c.s, got, c.word)
		}
		if got := isMessageID(c.s); got != c.msgID {
			t.Errorf("isMessageID(%q) = %v; want %v", c.s, got, c.msgID)
		}
	}
}
