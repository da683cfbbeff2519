package directory

import (
	"strings"
)

// Term is one entry of a controlled vocabulary: a stable slug stored in data and used in URLs,
// and the label people read.
type Term struct {
	Slug, Label string
}

// List is one controlled vocabulary. Column is the CSV column and JSON field that holds an
// organisation's terms ("areas_of_work"); Param is the search parameter and facet name ("area").
// Terms are in display order, which is also the order slugs are stored in.
type List struct {
	Column, Param string
	Terms         []Term

	noun string            // what one term is called in messages ("area of work")
	keys map[string]string // normalised slug, label or alias -> slug
}

// The vocabularies. This is the one place they are defined: CSV parsing, search parameters,
// facets and the seed data all read them from here.
var (
	Areas = newList("areas_of_work", "area", "area of work", []Term{
		{"accommodation", "Accommodation"},
		{"advice-advocacy", "Advice and advocacy"},
		{"arts-culture", "Arts and culture"},
		{"attitudes-thinking-behaviour", "Attitudes, thinking and behaviour"},
		{"education-training-employment", "Education, training and employment"},
		{"emotional-support", "Emotional support"},
		{"faith", "Faith-based support"},
		{"family-support", "Family support"},
		{"finance-benefits-debt", "Finance, benefits and debt"},
		{"health", "Health"},
		{"mental-health", "Mental health"},
		{"mentoring", "Mentoring"},
		{"resettlement", "Resettlement"},
		{"restorative-justice", "Restorative justice"},
		{"sport", "Sport and physical activity"},
		{"substance-misuse", "Substance misuse"},
	})
	ClientGroups = newList("client_groups", "client_group", "client group", []Term{
		{"women", "Women"},
		{"young-adults", "Young adults (18–25)"},
		{"children-young-people", "Children and young people"},
		{"families", "Families"},
		{"racially-minoritised", "Racially minoritised people"},
		{"veterans", "Veterans"},
		{"older-people", "Older people"},
		{"foreign-nationals", "Foreign nationals"},
		{"lgbt", "LGBT+ people"},
		{"learning-disabilities", "People with learning disabilities"},
		{"sexual-offences", "People convicted of sexual offences"},
	})
	Regions = newList("regions", "region", "region", []Term{
		{"north-east", "North East"},
		{"north-west", "North West"},
		{"yorkshire-humber", "Yorkshire and the Humber"},
		{"east-midlands", "East Midlands"},
		{"west-midlands", "West Midlands"},
		{"east", "East of England"},
		{"london", "London"},
		{"south-east", "South East"},
		{"south-west", "South West"},
		{"wales", "Wales"},
		{"national", "National"},
	})
	Settings = newList("settings", "setting", "setting", []Term{
		{"prison", "Prison"},
		{"community", "Community"},
		{"through-the-gate", "Through the gate"},
		{"courts", "Courts"},
		{"police-custody", "Police custody"},
	})
)

// maxTerms is the most terms one list may have: search keeps an organisation's terms of one
// list as a bit mask in a uint32.
const maxTerms = 32

// Lists returns every vocabulary in a fixed order: area, client_group, region, setting.
func Lists() []List {
	return []List{Areas, ClientGroups, Regions, Settings}
}

func newList(column, param, noun string, terms []Term) List {
	if len(terms) > maxTerms {
		panic("directory: list " + column + " has more than 32 terms")
	}
	l := List{Column: column, Param: param, Terms: terms, noun: noun, keys: map[string]string{}}
	add := func(key, slug string) {
		k := lookupKey(key)
		if other, ok := l.keys[k]; ok && other != slug {
			panic("directory: list " + column + ": " + key + " names both " + other + " and " + slug)
		}
		l.keys[k] = slug
	}
	for _, t := range terms {
		add(t.Slug, t.Slug)
		add(t.Label, t.Slug)
		// "Young adults (18–25)" may also be written "Young adults".
		if i := strings.Index(t.Label, " ("); i > 0 {
			add(t.Label[:i], t.Slug)
		}
	}
	return l
}

// Lookup returns the slug of the term s names. s may be the slug or the label, in any case and
// with surrounding spaces; a label may also be written with "&" for "and", with any kind of dash,
// without accents, or without a trailing parenthesis ("Young adults" for "Young adults (18–25)").
func (l List) Lookup(s string) (slug string, ok bool) {
	slug, ok = l.keys[lookupKey(s)]
	return slug, ok
}

// Label returns the label of the term with the given slug, or "" if the list has no such term.
func (l List) Label(slug string) string {
	for _, t := range l.Terms {
		if t.Slug == slug {
			return t.Label
		}
	}
	return ""
}

// index returns the position of slug in l.Terms, or -1.
func (l List) index(slug string) int {
	for i, t := range l.Terms {
		if t.Slug == slug {
			return i
		}
	}
	return -1
}

// labels returns the labels of every term, joined for a message.
func (l List) labels() string {
	var b strings.Builder
	for i, t := range l.Terms {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(t.Label)
	}
	return b.String()
}

// lookupKey normalises a term name for Lookup: folded to lower case without accents, dashes of
// every kind as "-", "&" as "and", runs of spaces as one space, trimmed.
func lookupKey(s string) string {
	b := make([]byte, 0, len(s)+8)
	space := false
	for _, r := range s {
		switch {
		case r == '&':
			if len(b) > 0 {
				b = append(b, ' ')
			}
			b = append(b, "and"...)
			space = true
			continue
		case isDash(r):
			r = '-'
		case isSpace(r):
			space = true
			continue
		}
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
		b = appendFolded(b, r)
	}
	return string(b)
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u2007', '\u202f':
		return true
	}
	return false
}

func isDash(r rune) bool {
	switch r {
	case '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', '\ufe58', '\ufe63', '\uff0d':
		return true
	}
	return false
}
