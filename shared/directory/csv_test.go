package directory_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf16"

	"sectorhub/shared/directory"
)

const fullHeader = "id,name,summary,description,areas_of_work,client_groups,regions,settings,lived_experience,lived_experience_board,website,email,phone,postcode"

// parseCSV parses s, failing tb if the reader errs.
func parseCSV(tb testing.TB, s string) ([]directory.Organisation, []directory.Problem) {
	tb.Helper()
	orgs, problems, err := directory.ParseCSV(strings.NewReader(s))
	if err != nil {
		tb.Fatalf("ParseCSV: %v", err)
	}
	return orgs, problems
}

// org returns a minimal valid organisation with empty lists, as ParseCSV returns them.
func org(id, name, summary string, regions ...string) directory.Organisation {
	return directory.Organisation{
		ID: id, Name: name, Summary: summary, Regions: regions,
		AreasOfWork: []string{}, ClientGroups: []string{}, Settings: []string{},
	}
}

// with returns o as changed by f.
func with(o directory.Organisation, f func(*directory.Organisation)) directory.Organisation {
	f(&o)
	return o
}

func TestParseCSV(t *testing.T) {
	full := directory.Organisation{
		ID: "open-gate", Name: "Open Gate", Summary: "Housing after release.",
		Description:  "Homes, and help to keep them.",
		AreasOfWork:  []string{"accommodation", "finance-benefits-debt", "resettlement"},
		ClientGroups: []string{"women", "young-adults"}, Regions: []string{"north-east", "national"},
		Settings: []string{"prison", "through-the-gate"}, LivedExperience: true, LivedExperienceBoard: false,
		Website: "https://www.open-gate.example.org", Email: "info@open-gate.example.org",
		Phone: "0191 498 0101", Postcode: "NE1 4XF",
	}
	fullRow := `open-gate,Open Gate,Housing after release.,"Homes, and help to keep them.",resettlement; Accommodation;finance-benefits-debt,Young adults (18–25);women,National;north-east,Through the gate;prison,Yes,no,https://www.open-gate.example.org,info@open-gate.example.org,0191 498 0101,ne14xf`
	tests := []struct {
		name string
		in   string
		want []directory.Organisation
	}{
		{"every column", fullHeader + "\n" + fullRow + "\n", []directory.Organisation{full}},
		{"byte order mark and CRLF", "\ufeff" + fullHeader + "\r\n" + fullRow + "\r\n", []directory.Organisation{full}},
		{"no final newline", fullHeader + "\n" + fullRow, []directory.Organisation{full}},
		{
			"required columns only, in another order",
			"Regions, ID ,NAME,summary\nLondon,a,A,Sa\nwales;wales,b,B,Sb\n",
			[]directory.Organisation{org("a", "A", "Sa", "london"), org("b", "B", "Sb", "wales")},
		},
		{
			"header names with spaces for underscores",
			"id,name,summary,regions,Areas of work,lived-experience\na,A,S,london,Health,y\n",
			[]directory.Organisation{with(org("a", "A", "S", "london"), func(o *directory.Organisation) {
				o.AreasOfWork = []string{"health"}
				o.LivedExperience = true
			})},
		},
		{
			"quoted field with newlines",
			"id,name,summary,description,regions\na,A,S,\"line one\nline two\r\nline three\",london\nb,B,S,,wales\n",
			[]directory.Organisation{
				with(org("a", "A", "S", "london"), func(o *directory.Organisation) {
					o.Description = "line one\nline two\nline three"
				}),
				org("b", "B", "S", "wales"),
			},
		},
		{
			"blank lines and rows of empty cells are skipped",
			"id,name,summary,regions\n\na,A,S,london\n,,,\n , ,,\n\nb,B,S,wales\n\n",
			[]directory.Organisation{org("a", "A", "S", "london"), org("b", "B", "S", "wales")},
		},
		{
			"values are trimmed",
			"id,name,summary,regions,email\n  a , A  ,\tS ,  london ; wales , info@a.example.org \n",
			[]directory.Organisation{with(org("a", "A", "S", "london", "wales"), func(o *directory.Organisation) {
				o.Email = "info@a.example.org"
			})},
		},
		{
			"flag spellings",
			"id,name,summary,regions,lived_experience,lived_experience_board\n" +
				"a,A,S,london,TRUE,1\nb,B,S,london,n,0\nc,C,S,london,Y,False\nd,D,S,london,,NO\n",
			func() []directory.Organisation {
				a, b, c, d := org("a", "A", "S", "london"), org("b", "B", "S", "london"), org("c", "C", "S", "london"), org("d", "D", "S", "london")
				a.LivedExperience, a.LivedExperienceBoard = true, true
				c.LivedExperience = true
				return []directory.Organisation{a, b, c, d}
			}(),
		},
		{
			"website without a scheme, http website, postcode spacing",
			"id,name,summary,regions,website,postcode\na,A,S,london,www.a.example.org/about,sw1a1aa\nb,B,S,london,http://b.example.org,  m1   1ae \n",
			func() []directory.Organisation {
				a, b := org("a", "A", "S", "london"), org("b", "B", "S", "london")
				a.Website, a.Postcode = "https://www.a.example.org/about", "SW1A 1AA"
				b.Website, b.Postcode = "http://b.example.org", "M1 1AE"
				return []directory.Organisation{a, b}
			}(),
		},
		{
			"empty optional cells and empty lists",
			"id,name,summary,regions,areas_of_work,website,email,phone,postcode\na,A,S,london, ; ,,,,\n",
			[]directory.Organisation{org("a", "A", "S", "london")},
		},
		{
			"unnamed empty column is tolerated",
			"id,name,summary,regions,\na,A,S,london,\n",
			[]directory.Organisation{org("a", "A", "S", "london")},
		},
		{
			"accented and non-Latin text",
			"id,name,summary,regions\nа-1,Café Ñandú,Сводка ✓,london\n",
			nil, // "а" is Cyrillic: not a letter of an id
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := parseCSV(t, tt.in)
			if tt.want == nil {
				if len(problems) == 0 {
					t.Fatalf("ParseCSV = %d organisations, no problems; want problems", len(got))
				}
				return
			}
			if len(problems) > 0 {
				t.Fatalf("ParseCSV problems = %v; want none", problems)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCSV =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// problem is an expected problem: Message need only contain the given text.
type problem struct {
	line    int
	column  string
	message string
}

func TestParseCSVProblems(t *testing.T) {
	const h = "id,name,summary,regions"
	tests := []struct {
		name string
		in   string
		want []problem
	}{
		{"empty file", "", []problem{{0, "", "the file is empty"}}},
		{"header only", h + "\n", []problem{{0, "", "the file has no organisations"}}},
		{"header and blank rows only", h + "\n\n,,,\n", []problem{{0, "", "the file has no organisations"}}},
		{"not a header", "a,A,S,london\n", []problem{{1, "", "the first row must be the header"}}},
		{"semicolons for commas", "id;name;summary;regions\na;A;S;london\n", []problem{{1, "", `separated by ";" rather than commas`}}},
		{
			"unknown and duplicate columns",
			"id,name,Nmae,summary,regions,NAME\na,A,x,S,london,y\n",
			[]problem{{1, "Nmae", `unknown column "Nmae"`}, {1, "name", `column "name" appears more than once`}},
		},
		{
			"missing required columns",
			"id,name\na,A\n",
			[]problem{{1, "summary", `the required column "summary" is missing`}, {1, "regions", `the required column "regions" is missing`}},
		},
		{
			"missing required values",
			h + "\n,,,\u00a0\n ,A,,london\nb,,S,\n",
			[]problem{
				{3, "id", "id is required"}, {3, "summary", "summary is required"},
				{4, "name", "name is required"}, {4, "regions", "at least one region is required"},
			},
		},
		{"regions of only separators", h + "\na,A,S, ; ;\n", []problem{{2, "regions", "at least one region is required"}}},
		{
			"control characters",
			"id,name,summary,regions,description\na,A\x00,S,london,ok\nb,B,S\u202e reversed,london,\"two\nlines\tand a tab\"\nc,C\x1b[31m,S,london,x\u0085y\n",
			[]problem{
				{2, "name", `contains U+0000, an invisible control character, after "A"; delete it and upload again`},
				{3, "summary", `contains U+202E RIGHT-TO-LEFT OVERRIDE, an invisible character that changes the direction text is displayed in, after "S"`},
				{5, "name", `contains U+001B, an invisible control character, after "C"`},
				{5, "description", `contains U+0085 NEXT LINE, an invisible control character, after "x"`},
			},
		},
		{"old Mac line ends", "id,name,summary,regions\ra,A,S,london\r", []problem{{1, "", "carriage return only"}}},
		{
			"bad ids",
			h + "\nhas space,A,S,london\nslash/no,A,S,london\n" + strings.Repeat("x", 65) + ",A,S,london\ncafé-1,A,S,london\n",
			[]problem{
				{2, "id", `id "has space" may contain only ASCII letters (a–z, A–Z, without accents), digits, - and _ (no spaces)`},
				{3, "id", `id "slash/no" may contain only ASCII letters`},
				{4, "id", "id is too long: 65 characters, at most 64"},
				{5, "id", `id "café-1" may contain only ASCII letters (a–z, A–Z, without accents)`},
			},
		},
		{
			"duplicate ids, case-insensitively",
			h + "\na,A,S,london\nb,B,S,london\n\"b\",C,S,london\nA,D,S,london\n",
			[]problem{{4, "id", `duplicate id "b" (first on line 3)`}, {5, "id", `duplicate id "A" (first on line 2)`}},
		},
		{
			"duplicate id after a multi-line record reports start lines",
			h + ",description\na,A,S,london,\"one\ntwo\nthree\"\nb,B,S,london,x\na,C,S,london,y\n",
			[]problem{{6, "id", `duplicate id "a" (first on line 2)`}},
		},
		{
			"too long text",
			"id,name,summary,description,regions,website\na," + strings.Repeat("n", 201) + "," + strings.Repeat("s", 501) + "," + strings.Repeat("é", 5001) + ",london,https://" + strings.Repeat("w", 300) + ".org\n",
			[]problem{
				{2, "name", "name is too long: 201 characters, at most 200"},
				{2, "summary", "summary is too long: 501 characters, at most 500"},
				{2, "description", "description is too long: 5001 characters, at most 5000"},
				{2, "website", "website is too long"},
			},
		},
		{
			"unknown terms",
			"id,name,summary,regions,areas_of_work,client_groups,settings\na,A,S,Mars;london,\"Health, Mentoring\",women;aliens,jail\n",
			[]problem{
				{2, "regions", `unknown region "Mars"; use one of: North East; North West;`},
				{2, "areas_of_work", `unknown area of work "Health, Mentoring" (separate terms with ;)`},
				{2, "client_groups", `unknown client group "aliens"`},
				{2, "settings", `unknown setting "jail"`},
			},
		},
		{
			"bad flags",
			h + ",lived_experience,lived_experience_board\na,A,S,london,maybe,2\n",
			[]problem{
				{2, "lived_experience", `lived_experience must be yes or no, not "maybe"`},
				{2, "lived_experience_board", `lived_experience_board must be yes or no, not "2"`},
			},
		},
		{
			"bad websites",
			h + ",website\n" +
				"a,A,S,london,ftp://a.example.org\n" +
				"b,B,S,london,https://\n" +
				"c,C,S,london,not a url\n" +
				"d,D,S,london,https://user:pw@d.example.org\n" +
				"e,E,S,london,localhost\n" +
				"f,F,S,london,javascript:alert(1)\n" +
				"g,G,S,london,https://-bad-.example.org\n",
			[]problem{
				{2, "website", `website "ftp://a.example.org" is not a web address`},
				{3, "website", `website "https://" is not a web address`},
				{4, "website", `website "not a url"`},
				{5, "website", "is not a web address"},
				{6, "website", `website "localhost"`},
				{7, "website", `website "javascript:alert(1)"`},
				{8, "website", "is not a web address"},
			},
		},
		{
			"bad emails",
			h + ",email\n" +
				"a,A,S,london,info\n" +
				"b,B,S,london,Info Desk <info@b.example.org>\n" +
				"c,C,S,london,\"a@c.example.org, b@c.example.org\"\n" +
				"d,D,S,london,info@localhost\n" +
				"e,E,S,london,info@@e.example.org\n",
			[]problem{
				{2, "email", `email "info" is not a single email address`},
				{3, "email", `email "Info Desk <info@b.example.org>"`},
				{4, "email", "is not a single email address"},
				{5, "email", `email "info@localhost"`},
				{6, "email", "is not a single email address"},
			},
		},
		{
			"bad phones",
			h + ",phone\na,A,S,london,0161 496 0x00\nb,B,S,london,12345\nc,C,S,london,+44 (0) 161 496 0000 1234 5678\n",
			[]problem{
				{2, "phone", `phone "0161 496 0x00" is not a phone number`},
				{3, "phone", `phone "12345" is not a phone number`},
				{4, "phone", "is not a phone number"},
			},
		},
		{
			"bad postcodes",
			h + ",postcode\na,A,S,london,SW1A\nb,B,S,london,12345\nc,C,S,london,SW1A 1AAA\n",
			[]problem{
				{2, "postcode", `postcode "SW1A" is not a UK postcode`},
				{3, "postcode", `postcode "12345"`},
				{4, "postcode", `postcode "SW1A 1AAA"`},
			},
		},
		{
			"wrong field counts",
			h + "\na,A,S,london,extra\nb,B,S\nc,C,S,london\n",
			[]problem{{2, "", "has 5 fields; the header has 4"}, {3, "", "has 3 fields; the header has 4"}},
		},
		{
			"value in an unnamed column",
			"id,name,,summary,regions\na,A,oops,S,london\n",
			[]problem{{2, "", "column 3 has a value but no name in the header"}},
		},
		{
			"not UTF-8",
			h + "\na,Caf\xe9,S,london\nb,B,S\xa3,london\n",
			[]problem{{2, "name", "not UTF-8"}, {3, "summary", "not UTF-8"}},
		},
		{
			"not UTF-8 in the header",
			"id,n\xe4me,summary,regions\na,A,S,london\n",
			[]problem{{1, "", "the name of column 2 is not UTF-8"}, {1, "name", `the required column "name" is missing`}},
		},
		{
			"bare quote",
			h + "\na,The \"Good\" Trust,S,london\nb,B,S,london\n",
			[]problem{{2, "", "contains a double quote"}},
		},
		{
			"unclosed quote reports the line the record starts on",
			h + "\na,A,S,london\nb,\"B,S,london\nc,C,S,london\n",
			[]problem{{3, "", "is not closed properly"}},
		},
		{"broken header", "id,\"name,summary,regions\n", []problem{{1, "", "is not closed properly"}}},
		{
			"UTF-16 file",
			"\xff\xfei\x00d\x00",
			[]problem{{0, "", `the file is saved as UTF-16 ("Unicode text"); save it as "CSV UTF-8 (Comma delimited)"`}},
		},
		{
			"UTF-16 little-endian without a byte order mark",
			utf16Text(h+"\r\na,A,S,london\r\n", false),
			[]problem{{0, "", `the file is saved as UTF-16 ("Unicode text"); save it as "CSV UTF-8 (Comma delimited)"`}},
		},
		{
			"UTF-16 big-endian without a byte order mark",
			utf16Text(h+"\r\na,A,S,london\r\n", true),
			[]problem{{0, "", `the file is saved as UTF-16 ("Unicode text"); save it as "CSV UTF-8 (Comma delimited)"`}},
		},
		{"UTF-16 of a few bytes", utf16Text("id", false), []problem{{0, "", "the file is saved as UTF-16"}}},
		{
			"UTF-16 with accents early on",
			utf16Text("Région,id,name,summary\r\n", false),
			[]problem{{0, "", "the file is saved as UTF-16"}},
		},
		{
			"problems in file order across columns and rows",
			"regions,summary,id,name\nmars,,a,A\nlondon,S,a b,\n",
			[]problem{
				{2, "regions", `unknown region "mars"`}, {2, "summary", "summary is required"},
				{3, "id", `id "a b"`}, {3, "name", "name is required"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orgs, got := parseCSV(t, tt.in)
			if len(orgs) != 0 {
				t.Errorf("ParseCSV returned %d organisations with problems; want none", len(orgs))
			}
			checkProblems(t, got, tt.want)
		})
	}
}

// utf16Text encodes s in UTF-16 without a byte order mark, as some programs save "Unicode
// text".
func utf16Text(s string, bigEndian bool) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = binary.BigEndian.AppendUint16(b, u)
		} else {
			b = binary.LittleEndian.AppendUint16(b, u)
		}
	}
	return string(b)
}

func checkProblems(tb testing.TB, got []directory.Problem, want []problem) {
	tb.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].Line == want[i].line && got[i].Column == want[i].column && strings.Contains(got[i].Message, want[i].message)
	}
	if !ok {
		var b strings.Builder
		for _, p := range got {
			fmt.Fprintf(&b, "\n  line %d, column %q: %s", p.Line, p.Column, p.Message)
		}
		tb.Errorf("ParseCSV problems:%s\nwant %+v", b.String(), want)
	}
}

// rows returns a directory of n rows, each formatted from row and its number.
func rows(n int, row string) string {
	var b strings.Builder
	b.WriteString("id,name,summary,regions\n")
	for i := range n {
		fmt.Fprintf(&b, row, i)
	}
	return b.String()
}

func TestParseCSVLimits(t *testing.T) {
	t.Run("more problems than listed", func(t *testing.T) {
		_, problems := parseCSV(t, rows(directory.MaxProblems+250, "o%d,Name,Summary,mars\n"))
		if len(problems) != directory.MaxProblems+1 {
			t.Fatalf("ParseCSV gave %d problems; want %d", len(problems), directory.MaxProblems+1)
		}
		if p := problems[directory.MaxProblems-1]; p.Line != directory.MaxProblems+1 {
			t.Errorf("last listed problem is on line %d; want %d", p.Line, directory.MaxProblems+1)
		}
		if last := problems[directory.MaxProblems]; last.Line != 0 || !strings.Contains(last.Message, "250 more problems were not listed") {
			t.Errorf("last problem = %+v; want one saying 250 more problems were not listed", last)
		}
	})
	t.Run("too many rows", func(t *testing.T) {
		_, problems := parseCSV(t, rows(directory.MaxRows+5, "o%d,N,S,london\n"))
		checkProblems(t, problems, []problem{{directory.MaxRows + 2, "", "the file has more than 20000 organisations"}})
	})
	t.Run("exactly the most rows", func(t *testing.T) {
		orgs, problems := parseCSV(t, rows(directory.MaxRows, "o%d,N,S,london\n"))
		if len(problems) != 0 || len(orgs) != directory.MaxRows {
			t.Errorf("ParseCSV = %d organisations, %d problems; want %d, 0", len(orgs), len(problems), directory.MaxRows)
		}
	})
	t.Run("too large", func(t *testing.T) {
		header := "id,name,summary,description,regions\n"
		row := "o,N,S," + strings.Repeat("d", 4000) + ",london\n"
		var read int64
		r := &countingReader{r: io.MultiReader(strings.NewReader(header), &repeatReader{s: row}), n: &read}
		orgs, problems, err := directory.ParseCSV(r)
		if err != nil {
			t.Fatalf("ParseCSV: %v", err)
		}
		if len(orgs) != 0 || len(problems) == 0 || problems[len(problems)-1] != (directory.Problem{Message: "file is larger than the 10 MB limit"}) {
			t.Errorf("ParseCSV = %d organisations, %d problems ending %v; want the size limit last", len(orgs), len(problems), problems[max(0, len(problems)-2):])
		}
		if read > directory.MaxUploadBytes+1<<20 {
			t.Errorf("ParseCSV read %d bytes of an endless file; want it to stop near %d", read, directory.MaxUploadBytes)
		}
	})
	t.Run("exactly the size limit", func(t *testing.T) {
		data := []byte("id,name,summary,regions\na,A,S,london\n")
		pad := make([]byte, directory.MaxUploadBytes-len(data))
		for i := range pad {
			pad[i] = '\n'
		}
		orgs, problems, err := directory.ParseCSV(bytes.NewReader(append(data, pad...)))
		if err != nil || len(problems) != 0 || len(orgs) != 1 {
			t.Errorf("ParseCSV = %d organisations, %v, %v; want 1, none, nil", len(orgs), problems, err)
		}
	})
	t.Run("failing reader", func(t *testing.T) {
		boom := errors.New("boom")
		r := io.MultiReader(strings.NewReader("id,name,summary,regions\na,A,S,london\n"), iotest.ErrReader(boom))
		_, _, err := directory.ParseCSV(r)
		if !errors.Is(err, boom) {
			t.Errorf("ParseCSV error = %v; want one wrapping %v", err, boom)
		}
	})
}

// repeatReader yields s forever.
type repeatReader struct {
	s   string
	off int
}

func (r *repeatReader) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		c := copy(b[n:], r.s[r.off:])
		n += c
		r.off = (r.off + c) % len(r.s)
	}
	return n, nil
}

type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	*c.n += int64(n)
	return n, err
}

func TestReadCSVCountsEveryProblem(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,name,summary,regions\n")
	const rows = directory.MaxProblems + 500
	for i := range rows {
		fmt.Fprintf(&b, "org-%d,Name,Summary,Mars\n", i)
	}
	res, err := directory.ReadCSV(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if res.ProblemTotal != rows {
		t.Errorf("ReadCSV(%d bad rows).ProblemTotal = %d; want %d", rows, res.ProblemTotal, rows)
	}
	if len(res.Problems) != directory.MaxProblems+1 {
		t.Errorf("ReadCSV(%d bad rows) lists %d problems; want %d and a line saying how many more", rows, len(res.Problems), directory.MaxProblems)
	}
}

// TestParseCSVRefusesInvisibleCharacters checks that every kind of character a spreadsheet does
// not show, but that would change published text or hide it from search, is refused with a
// problem naming it and saying where it is.
func TestParseCSVRefusesInvisibleCharacters(t *testing.T) {
	wales := "\U0001F3F4\U000E0067\U000E0062\U000E0077\U000E006C\U000E0073\U000E007F"
	tests := []struct {
		name, cell string
		want       string // the problem with the name column contains this
	}{
		{"zero width space", "Ev\u200bil", `contains U+200B ZERO WIDTH SPACE, an invisible formatting character, after "Ev"; delete it and upload again`},
		{"left-to-right mark", "Ev\u200eil", "U+200E LEFT-TO-RIGHT MARK, an invisible character that changes the direction text is displayed in"},
		{"right-to-left mark", "Ev\u200fil", "U+200F RIGHT-TO-LEFT MARK, an invisible character that changes the direction"},
		{"Arabic letter mark", "Ev\u061cil", "U+061C ARABIC LETTER MARK, an invisible character that changes the direction"},
		{"left-to-right embedding", "Ev\u202ail", "U+202A LEFT-TO-RIGHT EMBEDDING"},
		{"first strong isolate", "Ev\u2068il", "U+2068 FIRST STRONG ISOLATE"},
		{"word joiner", "Ev\u2060il", "U+2060 WORD JOINER, an invisible formatting character"},
		{"function application", "Ev\u2061il", "U+2061 FUNCTION APPLICATION"},
		{"invisible times", "Ev\u2062il", "U+2062 INVISIBLE TIMES"},
		{"invisible plus", "Ev\u2064il", "U+2064 INVISIBLE PLUS"},
		{"deprecated format character", "Ev\u206ail", "U+206A, an invisible formatting character"},
		{"zero width no-break space inside", "Ev\ufeffil", "U+FEFF ZERO WIDTH NO-BREAK SPACE"},
		{"zero width no-break space at the start of a cell", "\ufeffEvil", "U+FEFF ZERO WIDTH NO-BREAK SPACE, an invisible formatting character, at the start"},
		{"soft hyphen", "Ev\u00adil", "U+00AD SOFT HYPHEN, an invisible formatting character"},
		{"Mongolian vowel separator", "Ev\u180eil", "U+180E MONGOLIAN VOWEL SEPARATOR"},
		{"interlinear annotation anchor", "Ev\ufff9il", "U+FFF9, an invisible formatting character"},
		{"tag characters hiding text", "Evil\U000E0068\U000E0069", `U+E0068, an invisible tag character, after "Evil"`},
		{"language tag", "Evil\U000E0001", "U+E0001 LANGUAGE TAG, an invisible tag character"},
		{"tags of no flag after a flag", "\U0001F3F4\U000E0078\U000E0079\U000E007F Evil", "U+E0078, an invisible tag character"},
		{"flag tags without the cancel tag", wales[:len(wales)-4] + " Evil", "U+E0067, an invisible tag character"},
		{"flag tags without the flag", wales[4:] + " Evil", "U+E0067, an invisible tag character, at the start"},
		{"line separator", "Ev\u2028il", "U+2028 LINE SEPARATOR, a line break that spreadsheets do not show"},
		{"paragraph separator", "Ev\u2029il", "U+2029 PARAGRAPH SEPARATOR"},
		{"Hangul filler", "Ev\u3164il", "U+3164 HANGUL FILLER, an invisible filler character"},
		{"Hangul choseong filler", "Ev\u115fil", "U+115F HANGUL CHOSEONG FILLER, an invisible filler character"},
		{"Hangul jungseong filler", "Ev\u1160il", "U+1160 HANGUL JUNGSEONG FILLER"},
		{"halfwidth Hangul filler", "Ev\uffa0il", "U+FFA0 HALFWIDTH HANGUL FILLER"},
		{"reserved default-ignorable", "Ev\u2065il", "U+2065, an invisible formatting character"},
		{"reserved default-ignorable tag plane", "Ev\U000E0080il", "U+E0080, an invisible formatting character"},
		{"newline outside the description", "\"Ev\nil\"", "U+000A LINE FEED, a line break, which only the description may have"},
		{"long text before it is cut", strings.Repeat("x", 30) + "abcdefghijklmnopqrst\u200b", `after …"abcdefghijklmnopqrst"`},
		{"only a zero width joiner", "\u200d", "name contains only invisible characters (such as U+200D ZERO WIDTH JOINER); delete them and upload again"},
		{"only joiners, selectors and spaces", " \u200d \ufe0f\u200c ", "name contains only invisible characters (such as U+200D ZERO WIDTH JOINER)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := "id,name,summary,regions\na," + tt.cell + ",S,london\n"
			orgs, problems := parseCSV(t, in)
			if len(orgs) != 0 || len(problems) != 1 || problems[0].Line != 2 || problems[0].Column != "name" || !strings.Contains(problems[0].Message, tt.want) {
				t.Errorf("ParseCSV(%q) = %d organisations, problems %v; want one problem on line 2, column name, containing %q", in, len(orgs), problems, tt.want)
			}
		})
	}
}

// TestInvisibleCharactersAllowedAreSearchable checks that the invisible characters the CSV
// allows are published as written and do not hide a word from search, and that a query holding
// invisible characters still finds what it spells.
func TestInvisibleCharactersAllowedAreSearchable(t *testing.T) {
	tests := []struct {
		name, cell string
		search     string // a query that must find the organisation
	}{
		{"zero width joiner inside a word", "Ev\u200dil Trust", "evil"},
		{"zero width non-joiner inside a word", "Ev\u200cil Trust", "evil trust"},
		{"variation selector inside a word", "Ev\ufe0fil Trust", "evil"},
		{"combining grapheme joiner", "Ev\u034fil Trust", "evil"},
		{"supplementary variation selector", "Ev\U000E0100il Trust", "evil"},
		{"emoji sequence with joiners", "Evil \U0001F469\u200d\u2695\ufe0f Trust", "evil trust"},
		{"emoji presentation selector", "Evil \u2714\ufe0f Trust", "trust"},
		{"flag of Wales", "Evil \U0001F3F4\U000E0067\U000E0062\U000E0077\U000E006C\U000E0073\U000E007F Trust", "evil"},
		{"flag of England", "Evil\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", "evil"},
		{"flag of Scotland", "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007FEvil", "evil"},
		{"joiner inside an apostrophe word", "Evil\u2019\u200ds Trust", "evil"},
		{"line separator at the end is trimmed", "Evil\u2028", "evil"},
		{"query holding a zero width space", "Evil Trust", "ev\u200bil"},
		{"query holding a soft hyphen and a joiner", "Evil Trust", "ev\u00adi\u200dl tr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := "id,name,summary,regions\nevil,\"" + tt.cell + "\",S,london\nother,Other,S,london\n"
			orgs, problems := parseCSV(t, in)
			if len(problems) > 0 {
				t.Fatalf("ParseCSV(%q) problems = %v; want none", in, problems)
			}
			if want := strings.TrimSpace(tt.cell); orgs[0].Name != want {
				t.Errorf("ParseCSV(%q) name = %q; want %q", in, orgs[0].Name, want)
			}
			ix := directory.NewIndex(orgs)
			raw := "q=" + url.QueryEscape(tt.search)
			if got := ids(search(t, ix, raw).Items); !slices.Equal(got, []string{"evil"}) {
				t.Errorf("Search(%q) over a name of %q = %v; want [evil]", raw, tt.cell, got)
			}
		})
	}
}
