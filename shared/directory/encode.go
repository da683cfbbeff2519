package directory

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Search responses are the hot path of the public API, and encoding/json spends most of a
// response's time on reflection and on re-validating what custom marshalers return. So an
// organisation is encoded once, when the index is built, and a Result is assembled from those
// bytes by AppendJSON (which httpapi uses when a value has it). The output is the same JSON
// that encoding/json gives (tests compare them), with facets in vocabulary order.

// appendJSON appends o's JSON encoding, with empty lists as [] (see MarshalJSON).
func (o *Organisation) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, o.ID)
	b = append(b, `,"name":`...)
	b = appendString(b, o.Name)
	b = append(b, `,"summary":`...)
	b = appendString(b, o.Summary)
	b = append(b, `,"description":`...)
	b = appendString(b, o.Description)
	b = append(b, `,"areas_of_work":`...)
	b = appendStrings(b, o.AreasOfWork)
	b = append(b, `,"client_groups":`...)
	b = appendStrings(b, o.ClientGroups)
	b = append(b, `,"regions":`...)
	b = appendStrings(b, o.Regions)
	b = append(b, `,"settings":`...)
	b = appendStrings(b, o.Settings)
	b = append(b, `,"lived_experience":`...)
	b = strconv.AppendBool(b, o.LivedExperience)
	b = append(b, `,"lived_experience_board":`...)
	b = strconv.AppendBool(b, o.LivedExperienceBoard)
	b = append(b, `,"website":`...)
	b = appendString(b, o.Website)
	b = append(b, `,"email":`...)
	b = appendString(b, o.Email)
	b = append(b, `,"phone":`...)
	b = appendString(b, o.Phone)
	b = append(b, `,"postcode":`...)
	b = appendString(b, o.Postcode)
	return append(b, '}')
}

// AppendJSON appends r's JSON encoding to b.
func (r Result) AppendJSON(b []byte) []byte {
	b = append(b, `{"items":[`...)
	for i := range r.Items {
		if i > 0 {
			b = append(b, ',')
		}
		if i < len(r.itemJSON) {
			b = append(b, r.itemJSON[i]...)
		} else {
			b = r.Items[i].appendJSON(b)
		}
	}
	b = append(b, `],"total":`...)
	b = strconv.AppendInt(b, int64(r.Total), 10)
	b = append(b, `,"page":`...)
	b = strconv.AppendInt(b, int64(r.Page), 10)
	b = append(b, `,"per_page":`...)
	b = strconv.AppendInt(b, int64(r.PerPage), 10)
	b = append(b, `,"facets":`...)
	if r.Facets == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		first := true
		for _, l := range Lists() {
			counts, ok := r.Facets[l.Param]
			if !ok {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, l.Param)
			b = append(b, ':')
			b = appendCounts(b, l, counts)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendCounts encodes one facet: the vocabulary's slugs in order, then any others.
func appendCounts(b []byte, l List, counts map[string]int) []byte {
	b = append(b, '{')
	n := 0
	for _, t := range l.Terms {
		c, ok := counts[t.Slug]
		if !ok {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendString(b, t.Slug)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(c), 10)
	}
	if n < len(counts) { // slugs outside the vocabulary: only in hand-made Results
		for slug, c := range counts {
			if l.index(slug) >= 0 {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = appendString(b, slug)
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(c), 10)
		}
	}
	return append(b, '}')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString appends s as a JSON string. Plain printable ASCII is copied as is; anything
// else goes through encoding/json, so escaping (HTML characters, U+2028, invalid UTF-8) is
// exactly encoding/json's.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			enc, _ := json.Marshal(s) // a string always encodes
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
