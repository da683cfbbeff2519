package bulletin_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"sectorhub/shared/bulletin"
	"sectorhub/shared/imports"
)

const header = "email,name,organisation,consented_at,consent_source\n"

func TestParseSubscribers(t *testing.T) {
	london := time.FixedZone("BST", 3600)
	tests := []struct {
		name string
		file string
		want []bulletin.ImportRow
		// problems lists the problems expected as line:column, in order.
		problems []string
	}{
		{"two rows", header + "Jo@Example.org,Jo Example,Quill,2024-03-18,web form\nsam@example.org,,,2024-06-01T10:15:00Z,\"conference, 2024\"\n",
			[]bulletin.ImportRow{
				{Line: 2, Email: "Jo@example.org", Name: "Jo Example", Organisation: "Quill", ConsentedAt: time.Date(2024, 3, 18, 0, 0, 0, 0, time.UTC), ConsentSource: "web form"},
				{Line: 3, Email: "sam@example.org", ConsentedAt: time.Date(2024, 6, 1, 10, 15, 0, 0, time.UTC), ConsentSource: "conference, 2024"},
			}, nil},
		{"columns in another order, BOM, CRLF, a date in summer", "\ufeffconsent_source,consented_at,email,organisation,name\r\nform,2024-06-01,jo@example.org,,\r\n",
			[]bulletin.ImportRow{{Line: 2, Email: "jo@example.org", ConsentedAt: time.Date(2024, 6, 1, 0, 0, 0, 0, london), ConsentSource: "form"}}, nil},
		{"blank and empty rows skipped", header + "\n,,,,\njo@example.org,,,2024-03-18,form\n , , , , \n",
			[]bulletin.ImportRow{{Line: 4, Email: "jo@example.org", ConsentedAt: time.Date(2024, 3, 18, 0, 0, 0, 0, time.UTC), ConsentSource: "form"}}, nil},
		{"quoted cell over two lines", header + "jo@example.org,\"Jo\nExample\",,2024-03-18,form\n", nil, []string{"2:name"}},
		{"duplicate address on the later line", header + "jo@example.org,,,2024-03-18,form\nx@example.org,,,2024-03-18,form\nJO@EXAMPLE.ORG,,,2024-03-18,form\n", nil, []string{"4:email"}},
		{"every cell wrong", header + "not an address," + strings.Repeat("n", 201) + ",a\tb,2099-01-01,\n", nil, []string{"2:email", "2:name", "2:organisation", "2:consented_at", "2:consent_source"}},
		{"consented_at not a date", header + "jo@example.org,,,18/03/2024,form\n", nil, []string{"2:consented_at"}},
		{"consented_at without offset", header + "jo@example.org,,,2024-03-18T10:00:00,form\n", nil, []string{"2:consented_at"}},
		{"consented_at in the future", header + "jo@example.org,,,2026-11-26T10:00:01Z,form\n", nil, []string{"2:consented_at"}},
		{"consented_at missing", header + "jo@example.org,,,,form\n", nil, []string{"2:consented_at"}},
		{"consented_at just now", header + "jo@example.org,,,2026-11-26T10:00:00Z,form\n",
			[]bulletin.ImportRow{{Line: 2, Email: "jo@example.org", ConsentedAt: now, ConsentSource: "form"}}, nil},
		{"email missing", header + ",Jo,,2024-03-18,form\n", nil, []string{"2:email"}},
		{"too few cells", header + "jo@example.org,Jo\n", nil, []string{"2:"}},
		{"header missing a column", "email,name,consented_at,consent_source\njo@example.org,,2024-03-18,form\n", nil, []string{"1:organisation"}},
		{"header with an unknown and a repeated column", "email,name,organisation,consented_at,consent_source,name,phone\n", nil, []string{"1:name", "1:"}},
		{"header in the wrong case", "Email,name,organisation,consented_at,consent_source\n", nil, []string{"1:", "1:email"}},
		{"no header", "jo@example.org,Jo,,2024-03-18,form\n", nil, []string{"1:", "1:", "1:", "1:", "1:", "1:email", "1:name", "1:organisation", "1:consented_at", "1:consent_source"}},
		{"empty", "", nil, []string{"0:"}},
		{"header only", header, nil, []string{"0:"}},
		{"bare quote", header + "jo@example.org,Jo \"J\" Example,,2024-03-18,form\n", nil, []string{"2:"}},
		{"not UTF-8", header + "jo@example.org,\xff,,2024-03-18,form\n", nil, []string{"2:"}},
		{"UTF-16", "\xff\xfee\x00m\x00", nil, []string{"0:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bulletin.ParseSubscribers([]byte(tt.file), now)
			if len(r.Rows) != len(tt.want) {
				t.Fatalf("ParseSubscribers(%q) = %+v; want %+v (problems %+v)", tt.file, r.Rows, tt.want, r.Problems)
			}
			for i, got := range r.Rows {
				want := tt.want[i]
				if !got.ConsentedAt.Equal(want.ConsentedAt) {
					t.Errorf("ParseSubscribers(%q)[%d].ConsentedAt = %v; want %v", tt.file, i, got.ConsentedAt, want.ConsentedAt)
				}
				got.ConsentedAt, want.ConsentedAt = time.Time{}, time.Time{}
				if got != want {
					t.Errorf("ParseSubscribers(%q)[%d] = %+v; want %+v", tt.file, i, got, want)
				}
			}
			if ps := lineColumns(r.Problems); strings.Join(ps, "|") != strings.Join(tt.problems, "|") {
				t.Errorf("ParseSubscribers(%q) problems = %+v; want %q", tt.file, r.Problems, tt.problems)
			}
			if r.ProblemTotal != len(r.Problems) {
				t.Errorf("ParseSubscribers(%q).ProblemTotal = %d; want %d", tt.file, r.ProblemTotal, len(r.Problems))
			}
		})
	}
}

// TestParseSubscribersQuotesNothing: no problem repeats a cell.
func TestParseSubscribersQuotesNothing(t *testing.T) {
	const secret = "Zebedee"
	file := "Zebedee@example.org,Zebedee,Zebedee,Zebedee,Zebedee\n" + header +
		"Zebedee,Zebedee\tZebedee,Zebedee" + strings.Repeat("x", 200) + ",Zebedee,Zebedee\n"
	r := bulletin.ParseSubscribers([]byte(file), now)
	if len(r.Problems) == 0 {
		t.Fatalf("ParseSubscribers(%q) accepted it; want problems", file)
	}
	for _, p := range r.Problems {
		if strings.Contains(p.Message, secret) || strings.Contains(p.Column, secret) {
			t.Errorf("ParseSubscribers(%q) problem %+v quotes a cell", file, p)
		}
	}
}

// TestParseSubscribersManyProblems: the list stops at imports.MaxProblems and says how many more.
func TestParseSubscribersManyProblems(t *testing.T) {
	file := header + strings.Repeat("x,,,2024-03-18,form\n", imports.MaxProblems+5)
	r := bulletin.ParseSubscribers([]byte(file), now)
	if len(r.Problems) != imports.MaxProblems+1 || r.ProblemTotal != imports.MaxProblems+5 || len(r.Rows) != 0 {
		t.Fatalf("ParseSubscribers: %d problems listed, %d in all, %d subscribers; want %d, %d, 0", len(r.Problems), r.ProblemTotal, len(r.Rows), imports.MaxProblems+1, imports.MaxProblems+5)
	}
	if last := r.Problems[len(r.Problems)-1]; !strings.Contains(last.Message, "5 more") {
		t.Errorf("last problem %+v; want it to count the 5 left out", last)
	}
}

// TestParseSubscribersList: a list the size of the charity's (7,040 rows) is read whole.
func TestParseSubscribersList(t *testing.T) {
	file := subscriberList(7040)
	r := bulletin.ParseSubscribers(file, now)
	if len(r.Problems) != 0 || len(r.Rows) != 7040 {
		t.Fatalf("ParseSubscribers(7,040 rows) = %d subscribers, problems %+v; want 7040, none", len(r.Rows), r.Problems[:min(3, len(r.Problems))])
	}
	if s := r.Rows[7039]; s.Line != 7041 || s.Email != "person7039@example.org" {
		t.Errorf("last subscriber %+v; want line 7041, person7039@example.org", s)
	}
}

func BenchmarkParseSubscribers(b *testing.B) {
	file := subscriberList(7040)
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		if r := bulletin.ParseSubscribers(file, now); len(r.Rows) != 7040 {
			b.Fatalf("ParseSubscribers = %d subscribers; want 7040", len(r.Rows))
		}
	}
}

// subscriberList is a valid list of n fictional subscribers.
func subscriberList(n int) []byte {
	var b strings.Builder
	b.WriteString(header)
	for i := range n {
		fmt.Fprintf(&b, "person%d@example.org,Person %d,Organisation %d,2024-03-%02dT10:15:00Z,web form\n", i, i, i%300, 1+i%28)
	}
	return []byte(b.String())
}

func lineColumns(problems []imports.Problem) []string {
	var s []string
	for _, p := range problems {
		s = append(s, fmt.Sprintf("%d:%s", p.Line, p.Column))
	}
	return s
}
