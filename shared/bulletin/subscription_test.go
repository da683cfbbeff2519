package bulletin_test

import (
	"strings"
	"testing"

	"sectorhub/shared/apperr"
	"sectorhub/shared/bulletin"
)

func TestParseSubscription(t *testing.T) {
	long := strings.Repeat("é", bulletin.MaxName+1)
	tests := []struct {
		name string
		body string
		want bulletin.Subscription
		// fields lists the fields of the problems expected, in order ("" for the body).
		fields []string
	}{
		{"minimal", `{"email":"Jo@Example.ORG","consent":true}`, bulletin.Subscription{Email: "Jo@example.org"}, nil},
		{"all fields trimmed", `{"email":" jo@example.org ","name":" Jo Example ","organisation":"Quill","consent":true}`,
			bulletin.Subscription{Email: "jo@example.org", Name: "Jo Example", Organisation: "Quill"}, nil},
		{"nulls are absent", `{"email":"jo@example.org","name":null,"organisation":null,"consent":true}`, bulletin.Subscription{Email: "jo@example.org"}, nil},
		{"name at the limit", `{"email":"jo@example.org","name":"` + long[:len(long)-2] + `","consent":true}`,
			bulletin.Subscription{Email: "jo@example.org", Name: long[:len(long)-2]}, nil},
		{"name over the limit", `{"email":"jo@example.org","name":"` + long + `","consent":true}`, bulletin.Subscription{}, []string{"name"}},
		{"name with a line break", `{"email":"jo@example.org","name":"Jo\nExample","consent":true}`, bulletin.Subscription{}, []string{"name"}},
		{"organisation with a tab", `{"email":"jo@example.org","organisation":"a\tb","consent":true}`, bulletin.Subscription{}, []string{"organisation"}},
		{"consent false", `{"email":"jo@example.org","consent":false}`, bulletin.Subscription{}, []string{"consent"}},
		{"consent missing", `{"email":"jo@example.org"}`, bulletin.Subscription{}, []string{"consent"}},
		{"consent a string", `{"email":"jo@example.org","consent":"true"}`, bulletin.Subscription{}, []string{"consent"}},
		{"consent a number", `{"email":"jo@example.org","consent":1}`, bulletin.Subscription{}, []string{"consent"}},
		{"email missing", `{"consent":true}`, bulletin.Subscription{}, []string{"email"}},
		{"email not an address", `{"email":"jo at example","consent":true}`, bulletin.Subscription{}, []string{"email"}},
		{"email with display name", `{"email":"Jo <jo@example.org>","consent":true}`, bulletin.Subscription{}, []string{"email"}},
		{"email not mailable", `{"email":"jo@ab--c.org","consent":true}`, bulletin.Subscription{}, []string{"email"}},
		{"email a number", `{"email":12,"consent":true}`, bulletin.Subscription{}, []string{"email"}},
		{"email with NUL", `{"email":"jo\u0000@example.org","consent":true}`, bulletin.Subscription{}, []string{"email"}},
		{"unknown field", `{"email":"jo@example.org","consent":true,"admin":true}`, bulletin.Subscription{}, []string{"admin"}},
		{"field in the wrong case", `{"Email":"jo@example.org","consent":true}`, bulletin.Subscription{}, []string{"email", "Email"}},
		{"repeated field", `{"email":"jo@example.org","email":"x@example.org","consent":true}`, bulletin.Subscription{}, []string{"email"}},
		{"every problem in field order", `{"x":1,"consent":false,"name":[],"email":""}`, bulletin.Subscription{}, []string{"email", "name", "consent", "x"}},
		{"not JSON", `{"email":`, bulletin.Subscription{}, []string{""}},
		{"two values", `{} {}`, bulletin.Subscription{}, []string{""}},
		{"a list", `[]`, bulletin.Subscription{}, []string{""}},
		{"empty", ``, bulletin.Subscription{}, []string{""}},
		{"not UTF-8", "{\"email\":\"\xff\"}", bulletin.Subscription{}, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := bulletin.ParseSubscription([]byte(tt.body))
			if got != tt.want {
				t.Errorf("ParseSubscription(%q) = %+v; want %+v", tt.body, got, tt.want)
			}
			if fs := fieldsOf(problems); strings.Join(fs, "|") != strings.Join(tt.fields, "|") {
				t.Errorf("ParseSubscription(%q) problems = %+v; want fields %q", tt.body, problems, tt.fields)
			}
		})
	}
}

// TestParseSubscriptionQuotesNothing: no problem repeats what was sent in a value.
func TestParseSubscriptionQuotesNothing(t *testing.T) {
	const secret = "Zebedee-Quintessential"
	for _, body := range []string{
		`{"email":"` + secret + `","consent":true}`,
		`{"email":"` + secret + `@example.org","name":"` + secret + `\nx","consent":true}`,
		`{"email":"` + secret + `@ab--c.org","organisation":"` + strings.Repeat(secret, 20) + `","consent":"` + secret + `"}`,
		`{"email":"` + secret + `", "consent":` + `tru}`,
	} {
		_, problems := bulletin.ParseSubscription([]byte(body))
		if len(problems) == 0 {
			t.Fatalf("ParseSubscription(%q) accepted it; want problems", body)
		}
		for _, p := range problems {
			if strings.Contains(p.Message, "Zebedee") || strings.Contains(p.Field, "Zebedee") {
				t.Errorf("ParseSubscription(%q) problem %+v quotes the body", body, p)
			}
		}
	}
}

func fieldsOf(problems []apperr.Problem) []string {
	var fs []string
	for _, p := range problems {
		fs = append(fs, p.Field)
	}
	return fs
}
