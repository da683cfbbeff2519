package directory

import (
	"unicode"
	"unicode/utf8"
)

// Text is compared folded: lower case, with the accents of Latin-1 and Latin Extended-A letters
// removed ("Café" and "cafe" are one word) and ligatures spelled out ("Æ" → "ae", "ß" → "ss").
// A small table does this rather than golang.org/x/text: the directory's text is English with the
// odd accented name, and the table keeps the dependency list and the binary small.

// latinFold maps U+00C0..U+017F to their folded forms; "" means the rune is not a letter to fold.
var latinFold [0x180 - 0xc0]string

func init() {
	for _, f := range []struct {
		from, to rune
		s        string
	}{
		{0xc0, 0xc5, "a"}, {0xc6, 0xc6, "ae"}, {0xc7, 0xc7, "c"}, {0xc8, 0xcb, "e"}, {0xcc, 0xcf, "i"},
		{0xd0, 0xd0, "d"}, {0xd1, 0xd1, "n"}, {0xd2, 0xd6, "o"}, {0xd8, 0xd8, "o"}, {0xd9, 0xdc, "u"},
		{0xdd, 0xdd, "y"}, {0xde, 0xde, "th"}, {0xdf, 0xdf, "ss"},
		{0xe0, 0xe5, "a"}, {0xe6, 0xe6, "ae"}, {0xe7, 0xe7, "c"}, {0xe8, 0xeb, "e"}, {0xec, 0xef, "i"},
		{0xf0, 0xf0, "d"}, {0xf1, 0xf1, "n"}, {0xf2, 0xf6, "o"}, {0xf8, 0xf8, "o"}, {0xf9, 0xfc, "u"},
		{0xfd, 0xfd, "y"}, {0xfe, 0xfe, "th"}, {0xff, 0xff, "y"},
		{0x100, 0x105, "a"}, {0x106, 0x10d, "c"}, {0x10e, 0x111, "d"}, {0x112, 0x11b, "e"},
		{0x11c, 0x123, "g"}, {0x124, 0x127, "h"}, {0x128, 0x131, "i"}, {0x132, 0x133, "ij"},
		{0x134, 0x135, "j"}, {0x136, 0x138, "k"}, {0x139, 0x142, "l"}, {0x143, 0x14b, "n"},
		{0x14c, 0x151, "o"}, {0x152, 0x153, "oe"}, {0x154, 0x159, "r"}, {0x15a, 0x161, "s"},
		{0x162, 0x167, "t"}, {0x168, 0x173, "u"}, {0x174, 0x175, "w"}, {0x176, 0x178, "y"},
		{0x179, 0x17e, "z"}, {0x17f, 0x17f, "s"},
	} {
		for r := f.from; r <= f.to; r++ {
			latinFold[r-0xc0] = f.s
		}
	}
}

// appendFolded appends the folded form of r to b. Combining marks (the accents of decomposed
// text) and ignorable characters are dropped.
func appendFolded(b []byte, r rune) []byte {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(b, byte(r))
	case r >= 0xc0 && r < 0x180 && latinFold[r-0xc0] != "":
		return append(b, latinFold[r-0xc0]...)
	case unicode.Is(unicode.Mn, r), ignorable(r):
		return b
	}
	return utf8.AppendRune(b, unicode.ToLower(r))
}

// ignorable reports whether search ignores r: it neither belongs to a word nor separates two,
// so that text holding characters a reader cannot see is found as if they were not there
// ("Ev\u200dil" is the word "evil", in the directory and in a query alike). They are:
//
//   - every format character (Unicode category Cf): U+200C ZERO WIDTH NON-JOINER and U+200D ZERO
//     WIDTH JOINER, which the CSV allows, and those it refuses (U+00AD SOFT HYPHEN, U+200B ZERO
//     WIDTH SPACE, U+2060 WORD JOINER, U+FEFF, the bidirectional marks, the tag characters, ...),
//     which may still come in a query or in a directory published before they were refused;
//   - the variation selectors (U+180B–U+180D, U+180F, U+FE00–U+FE0F, U+E0100–U+E01EF), combining
//     marks that folding drops anyway;
//   - Unicode's other default-ignorable code points: U+034F COMBINING GRAPHEME JOINER, U+17B4
//     and U+17B5, the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0 (letters otherwise), and
//     the unassigned U+2065, U+FFF0–U+FFF8 and U+E0000–U+E0FFF.
//
// invisibleChar says which of them the CSV refuses.
func ignorable(r rune) bool {
	if r < 0xad {
		return false
	}
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

// fold returns s folded: lower case, without accents or ignorable characters.
func fold(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = appendFolded(b, r)
	}
	return string(b)
}

// isApostrophe reports whether r joins the parts of a word such as "women's".
func isApostrophe(r rune) bool {
	return r == '\'' || r == '\u2019' || r == '\u2018' || r == '\u02bc'
}

// wordChar reports whether r is part of a word: a letter, a digit or a combining mark.
func wordChar(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// words splits s into folded words and calls f for each. Words are runs of letters and digits;
// ignorable characters are skipped; everything else separates words, except an apostrophe
// between letters, which joins: "women's" is the word "womens", and f also receives stem
// "women" (the part before the first apostrophe) so that both spellings can match. stem is nil
// for words without an apostrophe. The slices are only valid during the call. buf is scratch
// space; words returns it for reuse.
func words(s string, buf []byte, f func(word, stem []byte)) []byte {
	b := buf[:0]
	stem := -1
	flush := func() {
		if len(b) > 0 {
			if stem > 0 {
				f(b, b[:stem])
			} else {
				f(b, nil)
			}
		}
		b = b[:0]
		stem = -1
	}
	// apostrophe handles an apostrophe inside a word, followed by s[next:]: before a letter it
	// joins, otherwise it ends the word.
	apostrophe := func(next int) {
		r, size := utf8.DecodeRuneInString(s[next:])
		for size > 0 && ignorable(r) {
			next += size
			r, size = utf8.DecodeRuneInString(s[next:])
		}
		if !wordChar(r) {
			flush()
		} else if stem < 0 {
			stem = len(b)
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf { // fast path for ASCII, most of the text
			switch {
			case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
				b = append(b, c)
			case 'A' <= c && c <= 'Z':
				b = append(b, c+'a'-'A')
			case c == '\'' && len(b) > 0:
				apostrophe(i + 1)
			default:
				flush()
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case ignorable(r):
		case wordChar(r):
			b = appendFolded(b, r)
		case isApostrophe(r) && len(b) > 0:
			apostrophe(i + size)
		default:
			flush()
		}
		i += size
	}
	flush()
	return b
}

// Words calls f with each word of s as search splits and folds it (see words): lower case,
// without accents or ignorable characters; stem is the part of a word before its apostrophe
// ("women" of "womens"), "" for a word without one. Other capabilities that search text (case
// studies) use Words and MatchWord so that their search matches as the directory's does.
func Words(s string, f func(word, stem string)) {
	words(s, nil, func(w, stem []byte) { f(string(w), string(stem)) })
}

// How a query word matches a word of the text, as MatchWord reports it; a larger value is a
// better match.
const (
	NoMatch     = 0
	TypoMatch   = matchTypo
	PrefixMatch = matchPrefix
	ExactMatch  = matchExact
)

// MatchWord reports how the folded query word w matches the folded word t of a text under
// search's rules: exactly; as its start, when prefix (the query's last word, still being
// typed); or within one typo, for query words of minTypoLen or more ASCII letters.
func MatchWord(w, t string, prefix bool) int {
	switch {
	case w == t:
		return ExactMatch
	case prefix && len(t) > len(w) && t[:len(w)] == w:
		return PrefixMatch
	case len(w) >= minTypoLen && len(w) < maxTypoLen && isASCII(w) && inBucket(t) && oneEdit(w, t):
		return TypoMatch
	}
	return NoMatch
}
