package bulletin

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"sectorhub/shared/apperr"
	"sectorhub/shared/event"
)

// MaxSubscriptionBody is the largest body of POST /bulletin/subscriptions the route should
// read, as for a booking.
const MaxSubscriptionBody = 16 << 10

// subscriptionFields are the fields of the body, in the order problems are listed.
var subscriptionFields = []string{"email", "name", "organisation", "consent"}

// Subscription is a valid request to subscribe: a bare, mailable email address with its
// domain in lower case, and an optional name and organisation (trimmed, one line each). The
// person ticked the consent box: ParseSubscription accepts nothing else.
type Subscription struct {
	Email        string `json:"email"`
	Name         string `json:"name,omitempty"`
	Organisation string `json:"organisation,omitempty"`
}

// ParseSubscription validates the body of POST /bulletin/subscriptions,
// {"email", "name"?, "organisation"?, "consent": true}, and returns the subscription or every
// problem found, in the order of the fields above (problems with the body as a whole first).
// The JSON is strict: one object, in UTF-8, each field once, no unknown fields, each value of
// its type (null counts as absent). consent must be exactly true. No message quotes a value.
func ParseSubscription(body []byte) (Subscription, []apperr.Problem) {
	var ps problems
	if !utf8.Valid(body) {
		return Subscription{}, ps.add("", "the body is not valid UTF-8 text")
	}
	if !json.Valid(body) {
		return Subscription{}, ps.add("", "the body is not valid JSON: send one JSON object")
	}
	if event.JSONKind(body) != '{' {
		return Subscription{}, ps.add("", "the body must be a JSON object, not "+event.JSONKindName(event.JSONKind(body)))
	}
	members := ps.object(body)

	str := func(name string) string {
		raw, ok := members[name]
		if !ok || event.JSONKind(raw) == 'n' {
			return ""
		}
		var s string
		if event.JSONKind(raw) != '"' || json.Unmarshal(raw, &s) != nil {
			ps.add(name, "must be a string, not "+event.JSONKindName(event.JSONKind(raw)))
			return ""
		}
		if strings.IndexByte(s, 0) >= 0 {
			ps.add(name, "must not contain NUL characters")
			return ""
		}
		return strings.TrimSpace(s)
	}
	var s Subscription
	if e := str("email"); !ps.has("email") {
		var msg string
		if s.Email, msg = event.NormaliseEmail(e); msg != "" {
			ps.add("email", msg)
		}
	}
	for _, f := range []struct {
		name string
		max  int
		to   *string
	}{{"name", MaxName, &s.Name}, {"organisation", MaxOrganisation, &s.Organisation}} {
		v := str(f.name)
		if msg := LineProblem(v, f.max); msg != "" {
			ps.add(f.name, msg)
		}
		*f.to = v
	}
	switch raw, ok := members["consent"]; {
	case !ok || event.JSONKind(raw) == 'n':
		ps.add("consent", "is required: true, to agree to receive the bulletin")
	case event.JSONKind(raw) == 't':
	case event.JSONKind(raw) == 'f':
		ps.add("consent", "must be true: the bulletin is sent only to people who agree to receive it")
	default:
		ps.add("consent", "must be true, not "+event.JSONKindName(event.JSONKind(raw)))
	}
	if len(ps) > 0 {
		slices.SortStableFunc(ps, func(a, b apperr.Problem) int { return rank(a.Field) - rank(b.Field) })
		return Subscription{}, ps
	}
	return s, nil
}

// problems collects the problems of one body, at most one per field.
type problems []apperr.Problem

func (ps *problems) add(field, msg string) []apperr.Problem {
	if !ps.has(field) {
		*ps = append(*ps, apperr.Problem{Field: field, Message: msg})
	}
	return *ps
}

func (ps problems) has(field string) bool {
	return slices.ContainsFunc(ps, func(p apperr.Problem) bool { return p.Field == field })
}

// object returns the known members of body (valid JSON, an object), reporting repeated and
// unknown keys (encoding/json would silently keep the last of a repeated key and drop
// unknown ones).
func (ps *problems) object(body []byte) map[string]json.RawMessage {
	got := map[string]json.RawMessage{}
	seen := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // {: cannot fail on a valid object
		ps.add("", "the body must be a JSON object")
		return got
	}
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		var v json.RawMessage
		if err != nil || !ok || dec.Decode(&v) != nil {
			ps.add("", "the body must be a JSON object")
			return got
		}
		field := event.KeyName(key)
		switch {
		case seen[key]:
			ps.add(field, "is given more than once; give each field once")
		case slices.Contains(subscriptionFields, key):
			got[key] = v
		default:
			if i := slices.IndexFunc(subscriptionFields, func(f string) bool { return strings.EqualFold(f, key) }); i >= 0 {
				ps.add(field, "is not a field; did you mean "+subscriptionFields[i]+"? (field names are lower case)")
			} else {
				ps.add(field, "is not a field here; the fields are "+strings.Join(subscriptionFields, ", "))
			}
		}
		seen[key] = true
	}
	return got
}

// rank orders problems: the body's first, then the documented fields, then unknown ones.
func rank(field string) int {
	if field == "" {
		return -1
	}
	if i := slices.Index(subscriptionFields, field); i >= 0 {
		return i
	}
	return len(subscriptionFields)
}
