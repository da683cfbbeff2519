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

// The string fields of an organisation, numbered in the order appendJSON writes them.
const (
	fieldID = iota
	fieldName
	fieldSummary
	fieldDescription
	fieldWebsite
	fieldEmail
	fieldPhone
	fieldPostcode
	numStringFields
)

// stringFields returns o's string fields, numbered as above.
func (o *Organisation) stringFields() [numStringFields]*string {
	return [numStringFields]*string{&o.ID, &o.Name, &o.Summary, &o.Description, &o.Website, &o.Email, &o.Phone, &o.Postcode}
}

// appendJSON appends o's JSON encoding, with empty lists as [] (see MarshalJSON).
func (o *Organisation) appendJSON(b []byte) []byte { return o.appendJSONAt(b, nil) }

// appendJSONAt is appendJSON that also records, if at is not nil, where each string field's
// encoded value starts in b (after its opening quote). A value that needed no escaping is then
// b[at[f]:at[f]+len(value)], which the index snapshot uses to share the bytes (see WriteTo).
func (o *Organisation) appendJSONAt(b []byte, at *[numStringFields]int) []byte {
	b = append(b, `{"id":`...)
	b = appendField(b, at, fieldID, o.ID)
	b = append(b, `,"name":`...)
	b = appendField(b, at, fieldName, o.Name)
	b = append(b, `,"summary":`...)
	b = appendField(b, at, fieldSummary, o.Summary)
	b = append(b, `,"description":`...)
	b = appendField(b, at, fieldDescription, o.Description)
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
	b = appendField(b, at, fieldWebsite, o.Website)
	b = append(b, `,"email":`...)
	b = appendField(b, at, fieldEmail, o.Email)
	b = append(b, `,"phone":`...)
	b = appendField(b, at, fieldPhone, o.Phone)
	b = append(b, `,"postcode":`...)
	b = appendField(b, at, fieldPostcode, o.Postcode)
	return append(b, '}')
}

func appendField(b []byte, at *[numStringFields]int, f int, s string) []byte {
	if at != nil {
		at[f] = len(b) + 1
	}
	return appendString(b, s)
}

// encodeAll returns the JSON encoding of each organisation. The encodings share one string, so
// that an index holds one allocation for them rather than one per organisation.
func encodeAll(orgs []Organisation) []string {
	var b []byte
	ends := make([]int, len(orgs))
	for i := range orgs {
		b = orgs[i].appendJSON(b)
		ends[i] = len(b)
	}
	all := string(b)
	out := make([]string, len(orgs))
	start := 0
	for i, end := range ends {
		out[i] = all[start:end]
		start = end
	}
	return out
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
