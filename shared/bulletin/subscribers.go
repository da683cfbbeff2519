package bulletin

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"sectorhub/shared/event"
	"sectorhub/shared/imports"
)

// Limits of a subscriber list upload.
const (
	MaxSubscribersBytes = 10 << 20 // the largest file ParseSubscribers reads
	MaxSubscribers      = 100_000  // the most rows one file may hold
)

// subscriberColumns are the columns of a subscriber list, all required, in any order.
var subscriberColumns = []string{"email", "name", "organisation", "consented_at", "consent_source"}

const (
	colEmail = iota
	colName
	colOrganisation
	colConsentedAt
	colConsentSource
)

// ImportRow is one valid row of a subscriber list: someone who consented to receive the
// bulletin, when and how.
type ImportRow struct {
	Line         int    // the file's line the row starts on
	Email        string // as event.NormaliseEmail returns it
	Name         string // one line, at most MaxName characters; may be ""
	Organisation string // one line, at most MaxOrganisation characters; may be ""
	// ConsentedAt is when they consented: the time given, or midnight in London on the date
	// given; never after the import's now.
	ConsentedAt   time.Time
	ConsentSource string // one line, at most MaxConsentSource characters
}

// SubscribersResult is what ParseSubscribers found in a file.
type SubscribersResult struct {
	Rows     []ImportRow       // in file order; empty whenever there is any problem
	Problems []imports.Problem // in file order, at most imports.MaxProblems and a last one counting the rest
	// ProblemTotal counts every problem found, including those left out of the list.
	ProblemTotal int
}

type subscriberParser struct {
	res  SubscribersResult
	cols []int // the format's column each file column holds
	seen map[string]int
	now  time.Time
	loc  *time.Location
}

func (p *subscriberParser) add(line int, column, format string, args ...any) {
	p.res.ProblemTotal++
	if len(p.res.Problems) < imports.MaxProblems {
		p.res.Problems = append(p.res.Problems, imports.Problem{Line: line, Column: column, Message: fmt.Sprintf(format, args...)})
	}
	p.res.Rows = nil
}

// ParseSubscribers reads a subscriber list, subscribers/<name>.csv: CSV in UTF-8 (a byte order
// mark is allowed) whose header names exactly the columns email, name, organisation,
// consented_at and consent_source, in any order. Each row is one subscriber: email required and
// checked as bookings check it; name and organisation optional, one line, at most 200
// characters; consented_at required, a date (YYYY-MM-DD, read in London) or an RFC 3339 time,
// not after now; consent_source required, one line, at most 200 characters. An address given
// twice (its case aside) is a problem on its later line; rows of empty cells are skipped.
//
// It is all or nothing: Subscribers is filled only when there is no problem; otherwise
// Problems lists them with their line and column, and no message quotes a cell.
func ParseSubscribers(data []byte, now time.Time) SubscribersResult {
	p := &subscriberParser{seen: map[string]int{}, now: now}
	p.loc, _ = event.LoadZone(IssueZone)
	if p.loc == nil { // cannot happen: event embeds the zone database
		p.loc = time.UTC
	}
	switch {
	case len(data) > MaxSubscribersBytes:
		p.add(0, "", "the file is %d bytes; the limit is %d (10 MB)", len(data), MaxSubscribersBytes)
		return p.result()
	case bytes.HasPrefix(data, []byte("\xff\xfe")) || bytes.HasPrefix(data, []byte("\xfe\xff")) || bytes.IndexByte(data, 0) >= 0:
		p.add(0, "", `the file is saved as UTF-16 ("Unicode text") or holds NUL characters; save it as "CSV UTF-8 (Comma delimited)" and upload it again`)
		return p.result()
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if !utf8.Valid(data) {
		line := imports.InvalidUTF8Line(data)
		p.add(line, "", "the file is not UTF-8 text (line %d): save it as \"CSV UTF-8 (Comma delimited)\"", line)
		return p.result()
	}

	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // counts are checked here, with a clearer message
	cr.ReuseRecord = true
	header, rows := true, 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			p.add(pe.StartLine, "", "%s", csvProblem(pe))
			if header {
				return p.result()
			}
			continue
		}
		if err != nil { // cannot happen: a bytes.Reader does not fail
			p.add(0, "", "the file could not be read as CSV")
			return p.result()
		}
		line, _ := cr.FieldPos(0)
		if header {
			header = false
			if !p.header(line, rec) {
				return p.result()
			}
			continue
		}
		if rows++; rows > MaxSubscribers {
			p.add(line, "", "the file has more than %d subscribers; split it into several files", MaxSubscribers)
			return p.result()
		}
		p.row(line, rec)
	}
	switch {
	case header:
		p.add(0, "", "the file is empty; the first row must be the header: %s", strings.Join(subscriberColumns, ","))
	case p.res.ProblemTotal == 0 && len(p.res.Rows) == 0:
		p.add(0, "", "the file has no subscribers")
	}
	return p.result()
}

// result returns what was found, with a last problem counting those left out of the list.
func (p *subscriberParser) result() SubscribersResult {
	if more := p.res.ProblemTotal - len(p.res.Problems); more > 0 {
		p.res.Problems = append(p.res.Problems, imports.Problem{Message: fmt.Sprintf("and %d more problems not listed", more)})
	}
	return p.res
}

// header maps the file's columns to the format's, reporting unknown, repeated and missing
// ones; it reports whether rows can be read.
func (p *subscriberParser) header(line int, rec []string) bool {
	p.cols = make([]int, len(rec))
	at := make([]int, len(subscriberColumns)) // file column+1 of each format column
	ok := true
	for i, cell := range rec {
		name := strings.TrimSpace(cell)
		c := -1
		for j, want := range subscriberColumns {
			if name == want {
				c = j
			}
		}
		p.cols[i] = c
		switch {
		case c < 0:
			p.add(line, "", "column %d of the header is not a column of a subscriber list; the columns are %s (the first row must be the header)", i+1, strings.Join(subscriberColumns, ","))
			ok = false
		case at[c] > 0:
			p.add(line, name, "the column %s is given twice (columns %d and %d)", name, at[c], i+1)
			ok = false
		default:
			at[c] = i + 1
		}
	}
	for j, name := range subscriberColumns {
		if at[j] == 0 {
			p.add(line, name, "the header has no %s column; the columns are %s, in any order", name, strings.Join(subscriberColumns, ","))
			ok = false
		}
	}
	return ok
}

// row checks one record and keeps its subscriber.
func (p *subscriberParser) row(line int, rec []string) {
	if len(rec) != len(p.cols) {
		if strings.TrimSpace(strings.Join(rec, "")) != "" {
			p.add(line, "", "the row has %d cells; the header has %d columns", len(rec), len(p.cols))
		}
		return
	}
	var cells [5]string
	for i, c := range p.cols {
		cells[c] = strings.TrimSpace(rec[i])
	}
	if cells == [5]string{} {
		return // a row of empty cells, as spreadsheets leave at the end
	}
	s := ImportRow{Line: line}

	var msg string
	if s.Email, msg = event.NormaliseEmail(cells[colEmail]); msg != "" {
		p.add(line, "email", "email %s", msg)
	} else if first, dup := p.seen[strings.ToLower(s.Email)]; dup {
		p.add(line, "email", "the same email address is on line %d", first)
	} else {
		p.seen[strings.ToLower(s.Email)] = line
	}
	s.Name = p.text(line, colName, cells, "")
	s.Organisation = p.text(line, colOrganisation, cells, "")
	s.ConsentedAt = p.consentedAt(line, cells[colConsentedAt])
	s.ConsentSource = p.text(line, colConsentSource, cells, `how the person consented, such as "sign-up form at the 2024 conference"`)
	if p.res.ProblemTotal == 0 { // a problem anywhere means nothing is kept
		p.res.Rows = append(p.res.Rows, s)
	}
}

// text checks the text cell of column col: one line, at most 200 characters (MaxName,
// MaxOrganisation and MaxConsentSource); required says what it is when it may not be empty.
func (p *subscriberParser) text(line, col int, cells [5]string, required string) string {
	name, v := subscriberColumns[col], cells[col]
	if v == "" && required != "" {
		p.add(line, name, "%s is required: %s", name, required)
	} else if msg := LineProblem(v, maxText[col]); msg != "" {
		p.add(line, name, "%s %s", name, msg)
	}
	return v
}

// maxText is the most characters each text column may hold.
var maxText = [...]int{colName: MaxName, colOrganisation: MaxOrganisation, colConsentSource: MaxConsentSource}

// consentedAt reads the consented_at cell: a date, taken as midnight in London, or an
// RFC 3339 time; not after now.
func (p *subscriberParser) consentedAt(line int, v string) time.Time {
	const name = "consented_at"
	if v == "" {
		p.add(line, name, "consented_at is required: when the person consented, a date such as 2024-03-18 or a time such as 2024-03-18T10:15:00Z")
		return time.Time{}
	}
	t, err := time.ParseInLocation(time.DateOnly, v, p.loc)
	if err != nil {
		t, err = time.Parse(time.RFC3339, v)
	}
	switch {
	case err != nil:
		p.add(line, name, "consented_at must be a date written YYYY-MM-DD, such as 2024-03-18, or a time with its offset from UTC, such as 2024-03-18T10:15:00Z")
	case t.After(p.now):
		p.add(line, name, "consented_at is in the future")
	default:
		return t
	}
	return time.Time{}
}

// csvProblem explains a CSV syntax error in words a spreadsheet user can act on.
func csvProblem(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return `a cell contains a double quote (") but does not start with one; put the whole cell in double quotes and double each " inside it`
	case errors.Is(pe.Err, csv.ErrQuote):
		return `a cell that starts with a double quote (") is not closed properly: check for a missing closing " or text after it`
	}
	return "the row is not valid CSV"
}
