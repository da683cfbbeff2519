package openreferral

import (
	"unicode/utf8"

	"sectorhub/shared/directory"
)

// appendServiceSummary appends the JSON of o's ServiceSummary to b, byte for byte what
// encoding/json makes of summaryOf(o) (a test holds it to that), at a fraction of the cost:
// services lists are the feed's hot path.
func appendServiceSummary(b []byte, o *directory.Organisation) []byte {
	s := summaryOf(o)
	b = append(b, `{"id":`...)
	b = appendString(b, s.ID)
	b = append(b, `,"organization_id":`...)
	b = appendString(b, s.OrganizationID)
	b = append(b, `,"name":`...)
	b = appendString(b, s.Name)
	b = append(b, `,"description":`...)
	b = appendString(b, s.Description)
	if s.URL != "" {
		b = append(b, `,"url":`...)
		b = appendString(b, s.URL)
	}
	if s.Email != "" {
		b = append(b, `,"email":`...)
		b = appendString(b, s.Email)
	}
	b = append(b, `,"status":`...)
	b = appendString(b, s.Status)
	b = append(b, `,"organization":{"id":`...)
	b = appendString(b, s.Organization.ID)
	b = append(b, `,"name":`...)
	b = appendString(b, s.Organization.Name)
	b = append(b, `,"description":`...)
	b = appendString(b, s.Organization.Description)
	if s.Organization.Email != "" {
		b = append(b, `,"email":`...)
		b = appendString(b, s.Organization.Email)
	}
	if s.Organization.Website != "" {
		b = append(b, `,"website":`...)
		b = appendString(b, s.Organization.Website)
	}
	return append(b, "}}"...)
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json escapes it (HTML
// characters, U+2028 and U+2029 as \u escapes; invalid UTF-8 as U+FFFD).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
