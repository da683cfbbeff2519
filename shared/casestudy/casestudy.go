// Package casestudy knows what a case study is: a story of good practice that staff publish by
// uploading a Markdown file (see package casestudy/markdown for the upload format), listed by
// theme and region and read as safe HTML. It holds the themes vocabulary, the list route's
// query parameters and the in-memory index that answers them.
//
// It imports no AWS SDK, and neither the Markdown renderer nor the YAML parser: those run at
// publish time only (package casestudy/markdown, imported by the ingest function), so the
// public read function's binary and cold start carry neither.
package casestudy

// Limits of a case study's fields and file.
const (
	MinSlug        = 3
	MaxSlug        = 80
	MaxTitle       = 200 // characters
	MaxSummary     = 500 // characters
	MaxAuthor      = 200 // characters
	MaxBodyBytes   = 200 << 10
	WordsPerMinute = 200 // reading speed behind ReadingMinutes
)

// Organisation is the directory organisation a case study is about, named as the directory
// named it when the case study was published.
type Organisation struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Summary is a case study as the list route shows it. Themes and Regions hold slugs in
// vocabulary order, never nil once normalised; Published is a date, YYYY-MM-DD.
type Summary struct {
	Slug           string        `json:"slug"`
	Title          string        `json:"title"`
	Summary        string        `json:"summary"`
	Published      string        `json:"published"`
	Themes         []string      `json:"themes"`
	Regions        []string      `json:"regions"`
	Organisation   *Organisation `json:"organisation"`
	Author         string        `json:"author"`
	ReadingMinutes int           `json:"reading_minutes"`
}

// Normalise makes nil lists empty, so that they encode as [] (stores omit empty lists).
func (s *Summary) Normalise() {
	if s.Themes == nil {
		s.Themes = []string{}
	}
	if s.Regions == nil {
		s.Regions = []string{}
	}
}

// CaseStudy is one case study as GET /case-studies/{slug} returns it: its summary and its
// body as sanitised HTML, rendered when it was published.
type CaseStudy struct {
	Summary
	HTML string `json:"html"`
}

// Entry is what the list's index holds of a case study: its summary and the plain text of
// its body, which search reads with the title and summary.
type Entry struct {
	Summary
	Text string `json:"text"`
}

// Document is a valid uploaded case study, ready to publish.
type Document struct {
	CaseStudy
	// Text is the body as plain text, for search.
	Text string
	// Draft case studies are stored (a draft replaces the published version of its slug) but
	// neither listed nor shown.
	Draft bool
}

// Entry returns the list index's part of d.
func (d Document) Entry() Entry { return Entry{Summary: d.Summary, Text: d.Text} }

// Ref names a case study on its organisation's page.
type Ref struct {
	Slug  string `json:"slug"`
	Title string `json:"title"`
}

// ValidSlug reports whether s can name a case study: 3 to 80 lower-case ASCII letters,
// digits and hyphens (the upload's file name without .md, and its URL).
func ValidSlug(s string) bool {
	if len(s) < MinSlug || len(s) > MaxSlug {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidOrganisationID reports whether s has the shape of a directory id (ASCII letters,
// digits, "-" and "_", at most 64), as the directory's CSV requires of its ids.
func ValidOrganisationID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ReadingMinutes is how long a text of words words takes to read: words ÷ WordsPerMinute in
// whole minutes (as the issue has it), at least 1.
func ReadingMinutes(words int) int {
	return max(1, words/WordsPerMinute)
}
