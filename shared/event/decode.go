package event

// Strict JSON decoding for the request bodies (the staff event body, its PATCH and the booking
// body): a body is walked member by member, so that unknown and repeated fields, values of the
// wrong JSON type and every broken rule become a Problem naming its field path
// ("tickets[1].price_pence"), all of them at once, in the order of the documented fields.
// encoding/json alone stops at the first error and says nothing useful about where.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"sectorhub/shared/apperr"
)

// member is one "key": value of a JSON object, in the order it came.
type member struct {
	key string
	val json.RawMessage
}

// decoder collects the problems of one body. A field has at most one problem, and once a
// value failed to decode (wrong type), nothing more is said about it or below it.
type decoder struct {
	problems []apperr.Problem
	failed   []string // paths whose value could not be decoded
}

// add records a problem for field, unless it already has one or a value above it failed to
// decode.
func (d *decoder) add(field, format string, args ...any) {
	for _, p := range d.problems {
		if p.Field == field {
			return
		}
	}
	for _, f := range d.failed {
		if within(field, f) {
			return
		}
	}
	d.problems = append(d.problems, apperr.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// fail records that the value at field is not of the type it must be.
func (d *decoder) fail(field, format string, args ...any) {
	d.add(field, format, args...)
	d.failed = append(d.failed, field)
}

// hasFailed reports whether the value at path failed to decode.
func (d *decoder) hasFailed(path string) bool { return slices.Contains(d.failed, path) }

// within reports whether path is field or below it (field.x, field[1]).
func within(path, field string) bool {
	if field == "" || path == field {
		return true
	}
	return strings.HasPrefix(path, field) && (path[len(field)] == '.' || path[len(field)] == '[')
}

// body checks that b is one JSON object in valid UTF-8 and returns its members. Repeated keys
// are problems (encoding/json would silently keep the last).
func (d *decoder) body(b []byte) ([]member, bool) {
	if !utf8.Valid(b) {
		d.fail("", "the body is not valid UTF-8 text")
		return nil, false
	}
	if err := json.Unmarshal(b, new(json.RawMessage)); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			d.fail("", "the body is not valid JSON (at byte %d): send one JSON object", se.Offset)
		} else {
			d.fail("", "the body is not valid JSON: send one JSON object")
		}
		return nil, false
	}
	return d.object("", b)
}

// object decodes raw as a JSON object (already known to be valid JSON) and returns its
// members, reporting repeated keys under path.
func (d *decoder) object(path string, raw json.RawMessage) ([]member, bool) {
	if k := JSONKind(raw); k != '{' {
		if path == "" {
			d.fail("", "the body must be a JSON object, not %s", JSONKindName(k))
		} else {
			d.fail(path, "must be a JSON object, not %s", JSONKindName(k))
		}
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		d.fail(path, "is not a valid JSON object")
		return nil, false
	}
	var ms []member
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			d.fail(path, "is not a valid JSON object")
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			d.fail(path, "is not a valid JSON object")
			return nil, false
		}
		if seen[key] {
			d.add(join(path, KeyName(key)), "is given more than once; give each field once")
			continue
		}
		seen[key] = true
		ms = append(ms, member{key, v})
	}
	return ms, true
}

// fields sorts the members of an object into the known ones (by key) and reports the rest:
// read-only ones with their own message, others as unknown, suggesting a known field that
// differs only in case.
func (d *decoder) fields(path string, ms []member, known []string, readOnly map[string]string) map[string]json.RawMessage {
	got := make(map[string]json.RawMessage, len(ms))
	for _, m := range ms {
		switch {
		case slices.Contains(known, m.key):
			got[m.key] = m.val
		case readOnly[m.key] != "":
			d.add(join(path, m.key), "%s", readOnly[m.key])
		default:
			i := slices.IndexFunc(known, func(k string) bool { return strings.EqualFold(k, m.key) })
			if i >= 0 {
				d.add(join(path, KeyName(m.key)), "is not a field; did you mean %s? (field names are lower case)", known[i])
			} else {
				d.add(join(path, KeyName(m.key)), "is not a field here; the fields are %s", strings.Join(known, ", "))
			}
		}
	}
	return got
}

// join appends key to path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends [i] to path.
func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// KeyName is an unknown key as it is shown in a field path: at most 40 characters, control
// characters replaced.
func KeyName(k string) string {
	var b strings.Builder
	for i, r := range []rune(k) {
		if i == 40 {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

// JSONKind returns the first byte of a JSON value: '{', '[', '"', 't', 'f', 'n' or a number's
// first character.
func JSONKind(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// JSONKindName names the JSON type of a value for messages ("must be a string, not a number").
func JSONKindName(k byte) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	case 0:
		return "nothing"
	}
	return "a number"
}

// isNull reports whether raw is JSON null.
func isNull(raw json.RawMessage) bool { return JSONKind(raw) == 'n' }

// str decodes a JSON string. A NUL character is never accepted in any field.
func (d *decoder) str(path string, raw json.RawMessage) (string, bool) {
	if k := JSONKind(raw); k != '"' {
		d.fail(path, "must be a string, not %s", JSONKindName(k))
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		d.fail(path, "is not a valid JSON string")
		return "", false
	}
	if strings.IndexByte(s, 0) >= 0 {
		d.fail(path, "must not contain NUL characters")
		return "", false
	}
	return s, true
}

// integer decodes a JSON number that is a whole number written without a fraction or an
// exponent. A whole number too large for an int comes back as the largest (or smallest) int,
// for the caller's range check to report.
func (d *decoder) integer(path string, raw json.RawMessage) (int, bool) {
	k := JSONKind(raw)
	if k != '-' && (k < '0' || k > '9') {
		d.fail(path, "must be a whole number, not %s", JSONKindName(k))
		return 0, false
	}
	s := string(bytes.TrimSpace(raw))
	n, err := strconv.ParseInt(s, 10, 0)
	var ne *strconv.NumError
	switch {
	case err == nil:
		return int(n), true
	case errors.As(err, &ne) && ne.Err == strconv.ErrRange:
		if s[0] == '-' {
			return minInt, true
		}
		return maxInt, true
	}
	d.fail(path, "must be a whole number (no fraction or exponent)")
	return 0, false
}

const (
	maxInt = int(^uint(0) >> 1)
	minInt = -maxInt - 1
)

// boolean decodes true or false.
func (d *decoder) boolean(path string, raw json.RawMessage) (bool, bool) {
	switch JSONKind(raw) {
	case 't':
		return true, true
	case 'f':
		return false, true
	}
	d.fail(path, "must be true or false, not %s", JSONKindName(JSONKind(raw)))
	return false, false
}

// list decodes a JSON array into its elements.
func (d *decoder) list(path string, raw json.RawMessage) ([]json.RawMessage, bool) {
	if k := JSONKind(raw); k != '[' {
		d.fail(path, "must be a list, not %s", JSONKindName(k))
		return nil, false
	}
	var l []json.RawMessage
	if err := json.Unmarshal(raw, &l); err != nil {
		d.fail(path, "is not a valid JSON list")
		return nil, false
	}
	return l, true
}

// textRule is what a text field may hold.
type textRule struct {
	required  bool
	max       int  // in characters (runes)
	multiLine bool // line breaks and tabs allowed; otherwise one line without them
	what      string
}

// text checks s against r and returns it cleaned: trimmed, with CRLF and CR turned into LF.
func (d *decoder) text(path, s string, r textRule) string {
	s = strings.TrimSpace(s)
	if r.multiLine {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	lines := "on one line"
	if r.multiLine {
		lines = "line breaks allowed"
	}
	switch n := utf8.RuneCountInString(s); {
	case s == "" && r.required:
		d.add(path, "is required: %s (at most %d characters, %s)", r.what, r.max, lines)
	case n > r.max:
		d.add(path, "is %d characters long; at most %d are allowed", n, r.max)
	case r.multiLine && !multiLine(s):
		d.add(path, "must not contain control characters (line breaks and tabs are allowed)")
	case !r.multiLine && !oneLine(s):
		d.add(path, "must be one line, without line breaks, tabs or control characters")
	}
	return s
}

// oneLine reports whether s has no control characters (tabs and line breaks included) and no
// Unicode line or paragraph separators.
func oneLine(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	})
}

// multiLine reports whether s has no control characters but line feeds and tabs.
func multiLine(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && r != '\n' && r != '\t'
	})
}

// sortProblems orders problems by their field path: by the position of the top-level field in
// order (the documented field order), then by list index, then by the position of a nested
// field in sub; body-level problems come first, and unknown fields after known ones, each
// group in the order found.
func sortProblems(ps []apperr.Problem, order, sub []string) {
	type key struct{ top, index, sub int }
	rank := func(list []string, name string) int {
		if i := slices.Index(list, name); i >= 0 {
			return i
		}
		return len(list)
	}
	keyOf := func(field string) key {
		if field == "" {
			return key{-1, -1, -1}
		}
		k := key{index: -1, sub: -1}
		top, rest := field, ""
		if i := strings.IndexAny(field, ".["); i >= 0 {
			top, rest = field[:i], field[i:]
		}
		k.top = rank(order, top)
		if strings.HasPrefix(rest, "[") {
			if j := strings.IndexByte(rest, ']'); j > 0 {
				k.index, _ = strconv.Atoi(rest[1:j])
				rest = rest[j+1:]
			}
		}
		if name, ok := strings.CutPrefix(rest, "."); ok {
			k.sub = rank(sub, name)
		}
		return k
	}
	slices.SortStableFunc(ps, func(a, b apperr.Problem) int {
		ka, kb := keyOf(a.Field), keyOf(b.Field)
		if ka.top != kb.top {
			return ka.top - kb.top
		}
		if ka.index != kb.index {
			return ka.index - kb.index
		}
		return ka.sub - kb.sub
	})
}
