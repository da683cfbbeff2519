package directory

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on a directory upload.
const (
	MaxUploadBytes = 10 << 20 // the largest CSV file ParseCSV reads
	MaxRows        = 20000    // the most organisations one file may hold
	MaxProblems    = 1000     // the most problems ParseCSV lists (it then says how many more there were)
)

// Problem is one thing wrong with an uploaded file, reported to the member of staff who
// uploaded it. Line is the file's line the record starts on (1 is the header), or 0 for a
// problem with the whole file; Column is the header name of the column concerned, if any.
type Problem struct {
	Line    int    `json:"line"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

// The columns of the CSV format, in the order the documentation lists them.
const (
	colID = iota
	colName
	colSummary
	colDescription
	colAreas
	colClientGroups
	colRegions
	colSettings
	colLivedExperience
	colLivedExperienceBoard
	colWebsite
	colEmail
	colPhone
	colPostcode
	numColumns
)

var columnNames = [numColumns]string{
	"id", "name", "summary", "description", "areas_of_work", "client_groups", "regions", "settings",
	"lived_experience", "lived_experience_board", "website", "email", "phone", "postcode",
}

// requiredColumns must be in the header; the others may be left out.
var requiredColumns = []int{colID, colName, colSummary, colRegions}

// maxLength is the most characters (not bytes) each text column may hold. The list and flag
// columns are checked term by term instead.
var maxLength = [numColumns]int{
	colID: 64, colName: 200, colSummary: 500, colDescription: 5000,
	colWebsite: 300, colEmail: 300, colPhone: 300, colPostcode: 300,
}

// listColumns maps the list columns to their vocabularies.
var listColumns = map[int]List{colAreas: Areas, colClientGroups: ClientGroups, colRegions: Regions, colSettings: Settings}

// Header cells that are not columns of the format.
const (
	colIgnored = -1 // an unknown or repeated column, reported once at the header
	colUnnamed = -2 // a column with an empty header cell: tolerated while its cells are empty too
)

var errTooLarge = errors.New("directory csv: file too large")

// ParseCSV reads a complete directory in the upload format described in the package
// documentation.
//
// Every content problem goes in problems, in file order, up to MaxProblems followed by one more
// saying how many were left out; orgs is empty whenever there is any problem, because a
// directory is published whole or not at all. err is only for a reader that fails. ParseCSV
// reads r as a stream and stops at MaxUploadBytes or MaxRows.
func ParseCSV(r io.Reader) (orgs []Organisation, problems []Problem, err error) {
	res, err := ReadCSV(r)
	return res.Organisations, res.Problems, err
}

// Parsed is what ReadCSV found in a file.
type Parsed struct {
	Organisations []Organisation // empty whenever there is any problem
	Problems      []Problem      // as ParseCSV lists them
	ProblemTotal  int            // every problem found, including those left out of the list
}

// ReadCSV is ParseCSV that also counts every problem, listed or not.
func ReadCSV(r io.Reader) (Parsed, error) {
	orgs, problems, total, err := readCSV(r)
	return Parsed{Organisations: orgs, Problems: problems, ProblemTotal: total}, err
}

func readCSV(r io.Reader) (orgs []Organisation, problems []Problem, total int, err error) {
	br := bufio.NewReaderSize(&limitReader{r: r, n: MaxUploadBytes + 1}, 64<<10)
	p := parser{ids: map[string]int{}}
	start, err := br.Peek(64)
	switch {
	case errors.Is(err, errTooLarge):
		p.fatal(0, "file is larger than the 10 MB limit")
		total := p.failed()
		return nil, p.result(), total, nil
	case err != nil && err != io.EOF:
		return nil, nil, 0, fmt.Errorf("read directory csv: %w", err)
	case bytes.HasPrefix(start, []byte("\xef\xbb\xbf")):
		_, _ = br.Discard(3) // cannot fail: the bytes are buffered
	case bytes.HasPrefix(start, []byte("\xff\xfe")) || bytes.HasPrefix(start, []byte("\xfe\xff")) || looksUTF16(start):
		p.fatal(0, `the file is saved as UTF-16 ("Unicode text"); save it as "CSV UTF-8 (Comma delimited)" and upload it again`)
		total := p.failed()
		return nil, p.result(), total, nil
	}

	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // field counts are checked here, with a clearer message
	cr.ReuseRecord = true
	header := true
	for !p.stop {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if errors.Is(err, errTooLarge) {
			p.fatal(0, "file is larger than the 10 MB limit")
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if header { // without a header, no row can be read
				p.fatal(pe.StartLine, quoteProblem(pe))
				break
			}
			p.add(pe.StartLine, "", "%s", quoteProblem(pe))
			continue
		}
		if err != nil {
			return nil, nil, 0, fmt.Errorf("read directory csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if header {
			p.header(line, rec)
			header = false
			continue
		}
		p.row(line, rec)
	}
	if header && !p.stop {
		p.fatal(0, "the file is empty; the first row must be the header naming the columns")
	} else if p.rows == 0 && !p.stop {
		p.fatal(0, "the file has no organisations")
	}
	if p.failed() > 0 {
		total := p.failed()
		return nil, p.result(), total, nil
	}
	return p.orgs, nil, 0, nil
}

// looksUTF16 reports whether b, the first bytes of a file without a byte order mark, is UTF-16
// text (little- or big-endian): an ASCII character in UTF-16 is its byte and a NUL, so a header
// row has a NUL in every other position, which no CSV file in UTF-8 has.
func looksUTF16(b []byte) bool {
	n := len(b) &^ 1
	var nuls [2]int // at even and at odd positions
	for i := range n {
		if b[i] == 0 {
			nuls[i&1]++
		}
	}
	return n >= 2 && (nuls[0] == 0) != (nuls[1] == 0) && 2*max(nuls[0], nuls[1]) >= n/2
}

// quoteProblem explains a CSV syntax error in words a spreadsheet user can act on.
func quoteProblem(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return `a field contains a double quote (") but does not start with one; put the whole field in double quotes and double each " inside it`
	case errors.Is(pe.Err, csv.ErrQuote):
		return `a field that starts with a double quote (") is not closed properly: check for a missing closing " or text after it`
	}
	return "the row is not valid CSV: " + pe.Err.Error()
}

// limitReader reads from r until n bytes are left, then fails with errTooLarge. Given one byte
// more than the limit, it tells a file exactly at the limit from a larger one.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(b []byte) (int, error) {
	if l.n <= 0 {
		return 0, errTooLarge
	}
	if int64(len(b)) > l.n {
		b = b[:l.n]
	}
	n, err := l.r.Read(b)
	l.n -= int64(n)
	if l.n <= 0 {
		return 0, errTooLarge
	}
	return n, err
}

type parser struct {
	cols     []int // column of the format each file column holds, or colIgnored or colUnnamed
	present  [numColumns]bool
	problems []Problem
	more     int      // problems beyond MaxProblems
	final    *Problem // a problem that ended reading
	stop     bool     // stop reading
	rows     int
	orgs     []Organisation
	ids      map[string]int // lower-case id -> line it is first on
}

func (p *parser) add(line int, column, format string, args ...any) {
	if len(p.problems) >= MaxProblems {
		p.more++
		return
	}
	p.problems = append(p.problems, Problem{Line: line, Column: column, Message: fmt.Sprintf(format, args...)})
	p.orgs = nil // nothing will be published: stop holding on to organisations
}

// fatal records a problem that ends reading. It is listed even after MaxProblems others, last.
func (p *parser) fatal(line int, message string) {
	p.final = &Problem{Line: line, Message: message}
	p.stop = true
	p.orgs = nil
}

func (p *parser) failed() int {
	n := len(p.problems) + p.more
	if p.final != nil {
		n++
	}
	return n
}

func (p *parser) result() []Problem {
	if p.more > 0 {
		what := "problems were"
		if p.more == 1 {
			what = "problem was"
		}
		p.problems = append(p.problems, Problem{Message: fmt.Sprintf("%d more %s not listed; fix the ones above and upload the file again", p.more, what)})
	}
	if p.final != nil {
		p.problems = append(p.problems, *p.final)
	}
	return p.problems
}

// headerName normalises a header cell: "Areas of work " and "areas-of-work" are areas_of_work.
func headerName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return '_'
		}
		return r
	}, s)
}

func (p *parser) header(line int, rec []string) {
	known := map[string]int{}
	for i, n := range columnNames {
		known[n] = i
	}
	for _, cell := range rec {
		if strings.Contains(cell, "\r") {
			p.fatal(line, `the lines of the file end with a carriage return only (the old Mac format); save the file as "CSV UTF-8 (Comma delimited)"`)
			return
		}
	}
	p.cols = make([]int, len(rec))
	type problem struct{ column, message string }
	var found []problem
	matched := 0
	for i, cell := range rec {
		name := headerName(cell)
		col, ok := known[name]
		switch {
		case !utf8.ValidString(cell):
			p.cols[i] = colIgnored
			found = append(found, problem{"", fmt.Sprintf("the name of column %d is not UTF-8 text; save the file as \"CSV UTF-8 (Comma delimited)\"", i+1)})
		case name == "":
			p.cols[i] = colUnnamed
		case !ok:
			p.cols[i] = colIgnored
			found = append(found, problem{shorten(strings.TrimSpace(cell)), fmt.Sprintf("unknown column %s; the columns are: %s", quote(strings.TrimSpace(cell)), strings.Join(columnNames[:], ", "))})
		case p.present[col]:
			p.cols[i] = colIgnored
			found = append(found, problem{name, fmt.Sprintf("column %q appears more than once in the header", name)})
		default:
			p.cols[i] = col
			p.present[col] = true
			matched++
		}
	}
	if matched == 0 && len(rec) == 1 && strings.Contains(rec[0], ";") {
		p.fatal(line, `the columns are separated by ";" rather than commas; save the file as "CSV UTF-8 (Comma delimited)"`)
		return
	}
	if matched == 0 {
		// Not a header at all (perhaps the header row was deleted): one problem, not fourteen.
		p.fatal(line, fmt.Sprintf("the first row must be the header naming the columns (%s)", strings.Join(columnNames[:], ", ")))
		return
	}
	for _, f := range found {
		p.add(line, f.column, "%s", f.message)
	}
	for _, col := range requiredColumns {
		if !p.present[col] {
			p.add(line, columnNames[col], "the required column %q is missing from the header", columnNames[col])
		}
	}
}

func (p *parser) row(line int, rec []string) {
	blank := true
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			blank = false
			break
		}
	}
	if blank {
		return // blank lines, and rows of empty cells as spreadsheets write them, are skipped
	}
	p.rows++
	if p.rows > MaxRows {
		p.fatal(line, fmt.Sprintf("the file has more than %d organisations, the most one file can hold", MaxRows))
		return
	}
	if len(rec) != len(p.cols) {
		p.add(line, "", "has %d fields; the header has %d", len(rec), len(p.cols))
		return
	}
	o := Organisation{AreasOfWork: []string{}, ClientGroups: []string{}, Regions: []string{}, Settings: []string{}}
	for i, raw := range rec {
		col := p.cols[i]
		name := ""
		if col >= 0 {
			name = columnNames[col]
		}
		if !utf8.ValidString(raw) {
			p.add(line, name, "contains characters that are not UTF-8 text; save the file as \"CSV UTF-8 (Comma delimited)\" and upload it again")
			continue
		}
		v := strings.TrimSpace(raw)
		if at, bad := invisibleChar(v, col == colDescription); bad && col != colIgnored {
			p.add(line, name, "%s", invisibleProblem(v, at))
			continue
		}
		switch col {
		case colIgnored:
			continue
		case colUnnamed:
			if v != "" {
				p.add(line, "", "column %d has a value but no name in the header", i+1)
			}
			continue
		}
		if v != "" && strings.TrimFunc(v, func(r rune) bool { return unicode.IsSpace(r) || ignorable(r) }) == "" {
			p.add(line, name, "%s contains only invisible characters (such as %s); delete them and upload again", name, charName(firstRune(v)))
			continue
		}
		if max := maxLength[col]; max > 0 {
			if n := utf8.RuneCountInString(v); n > max {
				p.add(line, name, "%s is too long: %d characters, at most %d", name, n, max)
				continue
			}
		}
		switch col {
		case colID:
			p.id(line, v)
			o.ID = v
		case colName:
			o.Name = p.required(line, name, v)
		case colSummary:
			o.Summary = p.required(line, name, v)
		case colDescription:
			o.Description = v
		case colAreas:
			o.AreasOfWork = p.list(line, listColumns[col], v)
		case colClientGroups:
			o.ClientGroups = p.list(line, listColumns[col], v)
		case colRegions:
			unknown := p.failed()
			o.Regions = p.list(line, listColumns[col], v)
			if len(o.Regions) == 0 && p.failed() == unknown {
				p.add(line, name, "at least one region is required (use National for organisations that work across England and Wales)")
			}
		case colSettings:
			o.Settings = p.list(line, listColumns[col], v)
		case colLivedExperience:
			o.LivedExperience = p.flag(line, name, v)
		case colLivedExperienceBoard:
			o.LivedExperienceBoard = p.flag(line, name, v)
		case colWebsite:
			o.Website = p.check(line, name, v, normaliseWebsite, "is not a web address such as https://www.example.org")
		case colEmail:
			o.Email = p.check(line, name, v, normaliseEmail, "is not a single email address such as info@example.org")
		case colPhone:
			o.Phone = p.check(line, name, v, normalisePhone, "is not a phone number: use digits, spaces, +, brackets and -, with 7 to 20 digits")
		case colPostcode:
			o.Postcode = p.check(line, name, v, normalisePostcode, "is not a UK postcode such as SW1A 1AA")
		}
	}
	if p.failed() == 0 {
		p.orgs = append(p.orgs, o)
	}
}

func (p *parser) required(line int, name, v string) string {
	if v == "" {
		p.add(line, name, "%s is required", name)
	}
	return v
}

func (p *parser) id(line int, v string) {
	switch {
	case v == "":
		p.add(line, "id", "id is required")
	case !validID(v):
		p.add(line, "id", "id %s may contain only ASCII letters (a–z, A–Z, without accents), digits, - and _ (no spaces)", quote(v))
	default:
		key := strings.ToLower(v)
		if first, ok := p.ids[key]; ok {
			p.add(line, "id", "duplicate id %q (first on line %d)", v, first)
			return
		}
		p.ids[key] = line
	}
}

// validID reports whether v has only ASCII letters, digits, - and _, so that it is safe in a
// URL path unescaped.
func validID(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return v != ""
}

// list parses a ;-separated list of terms into slugs in vocabulary order, without repeats.
func (p *parser) list(line int, l List, v string) []string {
	var mask uint32
	for item := range strings.SplitSeq(v, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		slug, ok := l.Lookup(item)
		if !ok {
			hint := ""
			if strings.Contains(item, ",") {
				hint = " (separate terms with ;)"
			}
			p.add(line, l.Column, "unknown %s %s%s; use one of: %s", l.noun, quote(item), hint, l.labels())
			continue
		}
		mask |= 1 << l.index(slug)
	}
	return slugs(l, mask)
}

// slugs returns the slugs of l's terms whose bits are set in mask, in vocabulary order.
func slugs(l List, mask uint32) []string {
	out := make([]string, 0, bits.OnesCount32(mask))
	for ; mask != 0; mask &= mask - 1 {
		out = append(out, l.Terms[bits.TrailingZeros32(mask)].Slug)
	}
	return out
}

// flag parses a yes/no column; empty means no.
func (p *parser) flag(line int, name, v string) bool {
	if v == "" {
		return false
	}
	yes, ok := parseFlag(v)
	if !ok {
		p.add(line, name, "%s must be yes or no, not %s", name, quote(v))
	}
	return yes
}

// parseFlag reads a yes/no value as both the CSV and the search query accept it: yes/no, y/n,
// true/false or 1/0, in any case.
func parseFlag(s string) (yes, ok bool) {
	switch strings.ToLower(s) {
	case "no", "n", "false", "0":
		return false, true
	case "yes", "y", "true", "1":
		return true, true
	}
	return false, false
}

// check validates and normalises an optional value.
func (p *parser) check(line int, name, v string, normalise func(string) (string, bool), message string) string {
	if v == "" {
		return ""
	}
	n, ok := normalise(v)
	if !ok {
		p.add(line, name, "%s %s %s", name, quote(v), message)
	}
	return n
}

// normaliseWebsite accepts an absolute http or https URL with a host name. An address without
// a scheme ("www.example.org/about") is taken to be https, as browsers do.
func normaliseWebsite(v string) (string, bool) {
	if strings.ContainsAny(v, " \t\r\n<>\"'`\\{}|^") {
		return "", false
	}
	if i := strings.Index(v, "://"); i < 0 {
		v = "https://" + v
	} else {
		v = strings.ToLower(v[:i]) + v[i:] // "HTTPS://" is stored as "https://"
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Opaque != "" {
		return "", false
	}
	host := u.Hostname()
	if !validDomain(host) {
		return "", false
	}
	return v, true
}

// validDomain reports whether host looks like a public DNS name: dot-separated labels of
// letters, digits and hyphens.
func validDomain(host string) bool {
	if len(host) > 253 || !strings.Contains(host, ".") {
		return false
	}
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r >= 0x80 && wordChar(r)) {
				return false
			}
		}
	}
	return true
}

// normaliseEmail accepts one bare address (no display name, no angle brackets) at a DNS name.
func normaliseEmail(v string) (string, bool) {
	a, err := mail.ParseAddress(v)
	if err != nil || a.Name != "" || a.Address != v {
		return "", false
	}
	at := strings.LastIndexByte(v, '@')
	if at <= 0 || !validDomain(v[at+1:]) {
		return "", false
	}
	return v, true
}

// normalisePhone accepts digits, spaces, +, brackets and hyphens, with 7 to 20 digits.
func normalisePhone(v string) (string, bool) {
	digits := 0
	for _, r := range v {
		switch {
		case '0' <= r && r <= '9':
			digits++
		case r == ' ' || r == '+' || r == '(' || r == ')' || r == '-':
		default:
			return "", false
		}
	}
	return v, digits >= 7 && digits <= 20
}

// normalisePostcode accepts a UK postcode in any case and spacing and returns it in upper case
// with one space before the inward code ("sw1a1aa" → "SW1A 1AA"). A postcode is an outward
// code shaped A9, A99, A9A, AA9, AA99 or AA9A, then an inward code shaped 9AA.
func normalisePostcode(v string) (string, bool) {
	s := strings.ToUpper(strings.Join(strings.Fields(v), ""))
	if len(s) < 5 || len(s) > 7 {
		return "", false
	}
	out, in := s[:len(s)-3], s[len(s)-3:]
	if !digit(in[0]) || !letter(in[1]) || !letter(in[2]) {
		return "", false
	}
	var shape []byte
	for i := 0; i < len(out); i++ {
		switch {
		case letter(out[i]):
			shape = append(shape, 'A')
		case digit(out[i]):
			shape = append(shape, '9')
		default:
			return "", false
		}
	}
	switch string(shape) {
	case "A9", "A99", "A9A", "AA9", "AA99", "AA9A":
		return out + " " + in, true
	}
	return "", false
}

func letter(c byte) bool { return 'A' <= c && c <= 'Z' }
func digit(c byte) bool  { return '0' <= c && c <= '9' }

// quote quotes a value for a message, shortened if it is long.
func quote(s string) string { return fmt.Sprintf("%q", shorten(s)) }

// invisibleChar returns the byte offset in s of the first character a text cell may not hold,
// and whether there is one. Refused are the characters a spreadsheet does not show but that
// change what published text says, how it displays, or whether search finds it:
//
//   - C0 and C1 control characters (U+0000–U+001F, U+007F–U+009F), except tab, and newline in
//     the description;
//   - every format character (Unicode category Cf) except U+200C ZERO WIDTH NON-JOINER and
//     U+200D ZERO WIDTH JOINER: among them U+00AD SOFT HYPHEN, U+061C ARABIC LETTER MARK,
//     U+180E MONGOLIAN VOWEL SEPARATOR, U+200B ZERO WIDTH SPACE, U+200E LEFT-TO-RIGHT MARK,
//     U+200F RIGHT-TO-LEFT MARK, the bidirectional embeddings, overrides and isolates
//     U+202A–U+202E and U+2066–U+2069, U+2060 WORD JOINER, the invisible operators
//     U+2061–U+2064, U+206A–U+206F, U+FEFF ZERO WIDTH NO-BREAK SPACE (a byte order mark is
//     allowed only as the first bytes of the file), U+FFF9–U+FFFB, and the tag characters
//     U+E0001 and U+E0020–U+E007F, except in the three flags below;
//   - U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR (at either end of a cell they are
//     trimmed, like spaces);
//   - the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0, letters that show nothing, and the
//     code points Unicode keeps as invisible for future use (U+2065, U+FFF0–U+FFF8, and
//     U+E0000–U+E0FFF outside the tags and variation selectors).
//
// Allowed, because real text uses them, and ignored by search (see ignorable), so that text
// holding them is found as if they were not there:
//
//   - U+200D ZERO WIDTH JOINER (emoji sequences such as 👩‍⚕️; Indic and Arabic scripts) and
//     U+200C ZERO WIDTH NON-JOINER (Persian, Indic scripts);
//   - the combining marks among invisible characters: the variation selectors U+FE00–U+FE0F
//     (U+FE0F asks for an emoji, ✔️) and U+E0100–U+E01EF, U+180B–U+180D and U+180F (Mongolian),
//     U+034F COMBINING GRAPHEME JOINER, U+17B4 and U+17B5 (Khmer);
//   - the tag characters of the flags of England, Scotland and Wales: U+1F3F4 WAVING BLACK FLAG
//     followed by the tags spelling gbeng, gbsct or gbwls and U+E007F CANCEL TAG. Tags anywhere
//     else could hide text, so they are refused.
//
// A cell of nothing but allowed invisible characters and spaces is refused by the caller, as it
// would publish as blank text.
func invisibleChar(s string, newlines bool) (at int, bad bool) {
	for i := 0; i < len(s); {
		if c := s[i]; c >= 0x20 && c < 0x7f { // printable ASCII, most of the text
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\t', r == '\n' && newlines:
		case r == 0x1f3f4: // a flag, perhaps followed by the tags of a subdivision
			for _, tags := range subdivisionFlags {
				if strings.HasPrefix(s[i+size:], tags) {
					size += len(tags)
					break
				}
			}
		case refusedChar(r):
			return i, true
		}
		i += size
	}
	return 0, false
}

// refusedChar reports whether r is one of the characters invisibleChar refuses, out of a flag.
func refusedChar(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f, r == 0x2028, r == 0x2029:
		return true
	case r < 0xad, r == 0x200c, r == 0x200d:
		return false
	}
	return unicode.Is(unicode.Cf, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) && !unicode.Is(unicode.Mn, r)
}

// subdivisionFlags are the tag characters that follow U+1F3F4 WAVING BLACK FLAG in the only
// flags Unicode spells with tags: England, Scotland and Wales.
var subdivisionFlags = []string{tagSequence("gbeng"), tagSequence("gbsct"), tagSequence("gbwls")}

// tagSequence spells ASCII s in tag characters, ending with U+E007F CANCEL TAG.
func tagSequence(s string) string {
	var b []byte
	for _, c := range []byte(s) {
		b = utf8.AppendRune(b, 0xe0000+rune(c))
	}
	return string(utf8.AppendRune(b, 0xe007f))
}

// invisibleProblem describes the character invisibleChar found at s[at:], and where it is.
func invisibleProblem(s string, at int) string {
	r := firstRune(s[at:])
	what := "an invisible formatting character"
	switch {
	case r == '\n', r == '\r':
		what = "a line break, which only the description may have"
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		what = "an invisible control character"
	case r == 0x2028, r == 0x2029:
		what = "a line break that spreadsheets do not show"
	case unicode.Is(unicode.Bidi_Control, r):
		what = "an invisible character that changes the direction text is displayed in"
	case r >= 0xe0000 && r <= 0xe007f:
		what = "an invisible tag character"
	case r == 0x115f, r == 0x1160, r == 0x3164, r == 0xffa0:
		what = "an invisible filler character"
	}
	where := "at the start"
	if at > 0 {
		before, cut := []rune(s[:at]), ""
		if len(before) > 20 {
			before, cut = before[len(before)-20:], "…"
		}
		where = "after " + cut + quote(string(before))
	}
	return fmt.Sprintf("contains %s, %s, %s; delete it and upload again", charName(r), what, where)
}

// charNames names the characters invisibleProblem most often reports.
var charNames = map[rune]string{
	0x0a: "LINE FEED", 0x0d: "CARRIAGE RETURN", 0x85: "NEXT LINE",
	0xad: "SOFT HYPHEN", 0x61c: "ARABIC LETTER MARK", 0x115f: "HANGUL CHOSEONG FILLER",
	0x1160: "HANGUL JUNGSEONG FILLER", 0x180e: "MONGOLIAN VOWEL SEPARATOR",
	0x200b: "ZERO WIDTH SPACE", 0x200c: "ZERO WIDTH NON-JOINER", 0x200d: "ZERO WIDTH JOINER",
	0x200e: "LEFT-TO-RIGHT MARK", 0x200f: "RIGHT-TO-LEFT MARK",
	0x2028: "LINE SEPARATOR", 0x2029: "PARAGRAPH SEPARATOR",
	0x202a: "LEFT-TO-RIGHT EMBEDDING", 0x202b: "RIGHT-TO-LEFT EMBEDDING",
	0x202c: "POP DIRECTIONAL FORMATTING", 0x202d: "LEFT-TO-RIGHT OVERRIDE", 0x202e: "RIGHT-TO-LEFT OVERRIDE",
	0x2060: "WORD JOINER", 0x2061: "FUNCTION APPLICATION", 0x2062: "INVISIBLE TIMES",
	0x2063: "INVISIBLE SEPARATOR", 0x2064: "INVISIBLE PLUS",
	0x2066: "LEFT-TO-RIGHT ISOLATE", 0x2067: "RIGHT-TO-LEFT ISOLATE",
	0x2068: "FIRST STRONG ISOLATE", 0x2069: "POP DIRECTIONAL ISOLATE",
	0x3164: "HANGUL FILLER", 0xfe0f: "VARIATION SELECTOR-16", 0xfeff: "ZERO WIDTH NO-BREAK SPACE",
	0xffa0: "HALFWIDTH HANGUL FILLER", 0xe0001: "LANGUAGE TAG", 0xe007f: "CANCEL TAG",
}

// charName returns r's code point and, if charNames has it, its Unicode name.
func charName(r rune) string {
	if n, ok := charNames[r]; ok {
		return fmt.Sprintf("%U %s", r, n)
	}
	return fmt.Sprintf("%U", r)
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// shorten cuts s to 60 characters, so that a report quoting a runaway cell stays readable and
// small.
func shorten(s string) string {
	const max = 60
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "…"
	}
	return s
}
