package directory_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"sectorhub/infra/seed"
	"sectorhub/shared/apperr"
	"sectorhub/shared/directory"
)

// FuzzParseCSV checks that ParseCSV never panics or errs on a byte slice, that problems and
// organisations never come together, and that every organisation it accepts keeps the
// directory's invariants and survives being written out and parsed again unchanged.
func FuzzParseCSV(f *testing.F) {
	// Small seeds fuzz faster: the first rows of the sample directory, and a synthetic one.
	f.Add(bytes.Join(bytes.SplitAfter(seed.DirectoryCSV, []byte("\n"))[:4], nil))
	f.Add(seed.Synthetic(2))
	for _, s := range []string{
		"",
		"id,name,summary,regions\na,A,S,london\n",
		"\ufeffregions,id,name,summary\r\nNorth West;wales,a,A,S\r\n",
		fullHeader + "\nx,X,S,\"D\nD\",health;Mentoring,women,national,prison,yes,no,www.x.example.org,a@x.example.org,020 7946 0000,sw1a1aa\n",
		"id,name,summary,regions\na,\"A\"\"B\",S,london\nb,\"unterminated,S,london\n",
		"id,name,summary,regions,\na,A,S,london,x\n,,,,\n",
		"id,id,name\n",
		"\xff\xfei\x00d\x00",
		"i\x00d\x00,\x00n\x00a\x00m\x00e\x00\r\x00\n\x00", // UTF-16 without a byte order mark
		"\x00i\x00d\x00,\x00n\x00a\x00m\x00e\x00\r\x00\n", // and big-endian
		"id,name,summary,regions\na,Ev\u200bil,S,london\nb,B\u00ad\u2060\ufeff\u3164,S\u2028x,london\n",
		"id,name,summary,regions\na,Ev\u200dil \U0001F469\u200d\u2695\ufe0f,S,london\nb,\u200d\u200c,S,london\n",
		"id,name,summary,regions\na,\U0001F3F4\U000E0067\U000E0062\U000E0077\U000E006C\U000E0073\U000E007F A,S,london\nb,B\U000E0068\U000E0069,S,london\n",
		"id,name,summary,regions\ncafé,A,S,london\n",
	} {
		f.Add([]byte(s))
	}
	idPattern := regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	f.Fuzz(func(t *testing.T, data []byte) {
		orgs, problems, err := directory.ParseCSV(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("ParseCSV of bytes returned an error: %v", err)
		}
		if len(problems) > 0 {
			if len(orgs) != 0 {
				t.Fatalf("ParseCSV returned %d organisations with %d problems", len(orgs), len(problems))
			}
			if len(problems) > directory.MaxProblems+2 {
				t.Fatalf("ParseCSV returned %d problems; want at most %d", len(problems), directory.MaxProblems+2)
			}
			last := 0
			for _, p := range problems {
				if p.Message == "" || !utf8.ValidString(p.Message) || !utf8.ValidString(p.Column) {
					t.Fatalf("bad problem %+v", p)
				}
				if p.Line != 0 && p.Line < last {
					t.Fatalf("problems out of file order: %v", problems)
				}
				last = max(last, p.Line)
			}
			return
		}
		if len(orgs) == 0 || len(orgs) > directory.MaxRows {
			t.Fatalf("ParseCSV returned %d organisations and no problems", len(orgs))
		}
		seen := map[string]bool{}
		for _, o := range orgs {
			id := strings.ToLower(o.ID)
			if seen[id] || !idPattern.MatchString(o.ID) {
				t.Fatalf("bad or repeated id %q", o.ID)
			}
			seen[id] = true
			if o.Name == "" || o.Summary == "" || len(o.Regions) == 0 {
				t.Fatalf("organisation %q lacks a name, summary or region: %+v", o.ID, o)
			}
			for _, s := range []string{o.Name, o.Summary, o.Description, o.Website, o.Email, o.Phone, o.Postcode} {
				if !utf8.ValidString(s) || strings.TrimSpace(s) != s {
					t.Fatalf("organisation %q has untrimmed or invalid text %q", o.ID, s)
				}
				for _, r := range s {
					// Of the invisible formatting characters, only joiners and the tags of a
					// flag are published.
					if unicode.In(r, unicode.Zl, unicode.Zp) || unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d' && (r < 0xe0020 || r > 0xe007f) {
						t.Fatalf("organisation %q has text %q with the invisible character %U", o.ID, s, r)
					}
				}
			}
			for _, l := range directory.Lists() {
				slugs := terms(o, l)
				if slugs == nil {
					t.Fatalf("organisation %q has a nil %s", o.ID, l.Column)
				}
				last := -1
				for _, s := range slugs {
					i := slices.IndexFunc(l.Terms, func(t directory.Term) bool { return t.Slug == s })
					if i <= last {
						t.Fatalf("organisation %q has %s %v: unknown, repeated or out of order", o.ID, l.Column, slugs)
					}
					last = i
				}
			}
			if o.Website != "" && !strings.HasPrefix(o.Website, "https://") && !strings.HasPrefix(o.Website, "http://") {
				t.Fatalf("organisation %q has website %q", o.ID, o.Website)
			}
		}
		again, problems, err := directory.ParseCSV(bytes.NewReader(writeCSV(t, orgs)))
		if err != nil || len(problems) > 0 || !reflect.DeepEqual(again, orgs) {
			t.Fatalf("organisations written out and parsed again differ: %v, %v", problems, err)
		}
	})
}

func terms(o directory.Organisation, l directory.List) []string {
	return map[string][]string{
		"areas_of_work": o.AreasOfWork, "client_groups": o.ClientGroups, "regions": o.Regions, "settings": o.Settings,
	}[l.Column]
}

// writeCSV writes orgs in the upload format.
func writeCSV(tb testing.TB, orgs []directory.Organisation) []byte {
	tb.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(strings.Split(fullHeader, ","))
	flag := map[bool]string{true: "yes", false: "no"}
	for _, o := range orgs {
		w.Write([]string{
			o.ID, o.Name, o.Summary, o.Description,
			strings.Join(o.AreasOfWork, ";"), strings.Join(o.ClientGroups, ";"), strings.Join(o.Regions, ";"), strings.Join(o.Settings, ";"),
			flag[o.LivedExperience], flag[o.LivedExperienceBoard], o.Website, o.Email, o.Phone, o.Postcode,
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// FuzzParseQuery checks that ParseQuery never panics, fails only with invalid_parameter
// errors, and returns only values within its limits.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"", "q=housing", "q=women%27s+centre&region=north-west&lived_experience=true&page=2&per_page=50",
		"region=london,wales&region=North+East", "area=Attitudes%2C+thinking+and+behaviour", "regoin=london",
		"page=0", "per_page=101", "q=a&q=b", "q=%ff", "lived_experience=maybe", "page=99999999999999999999",
		"lived_experience=no", "lived_experience=Y", "lived_experience=0", "q=ev%E2%80%8Bil",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw) // v holds whatever parsed; the rest is not our concern here
		q, err := directory.ParseQuery(v)
		if err != nil {
			var e *apperr.Error
			if !errors.As(err, &e) || e.Code != apperr.Invalid || e.Message == "" || !utf8.ValidString(e.Message) {
				t.Fatalf("ParseQuery(%q) error = %#v; want an *apperr.Error with code %s", raw, err, apperr.Invalid)
			}
			return
		}
		if q.Page < 1 || q.Page > directory.MaxPage || q.PerPage < 1 || q.PerPage > directory.MaxPerPage {
			t.Fatalf("ParseQuery(%q) = page %d, per page %d", raw, q.Page, q.PerPage)
		}
		if q.LivedExperience != directory.FlagAny && q.LivedExperience != directory.FlagYes && q.LivedExperience != directory.FlagNo {
			t.Fatalf("ParseQuery(%q).LivedExperience = %v", raw, q.LivedExperience)
		}
		if utf8.RuneCountInString(q.Text) > directory.MaxQueryLength || !utf8.ValidString(q.Text) {
			t.Fatalf("ParseQuery(%q).Text = %q", raw, q.Text)
		}
		for param, slugs := range q.Filters {
			i := slices.IndexFunc(directory.Lists(), func(l directory.List) bool { return l.Param == param })
			if i < 0 || len(slugs) == 0 {
				t.Fatalf("ParseQuery(%q) has filter %s=%v", raw, param, slugs)
			}
			for _, s := range slugs {
				if directory.Lists()[i].Label(s) == "" {
					t.Fatalf("ParseQuery(%q) has unknown %s %q", raw, param, s)
				}
			}
		}
	})
}
