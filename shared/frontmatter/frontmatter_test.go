package frontmatter

import (
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name, data  string
		front, body string
		bodyLine    int
		ok          bool
	}{
		{"plain", "---\na: 1\n---\nbody\n", "a: 1\n", "body\n", 4, true},
		{"CRLF and trailing spaces", "--- \r\na: 1\r\n---\t\r\nbody", "a: 1\r\n", "body", 4, true},
		{"empty front matter", "---\n---\n", "", "", 3, true},
		{"no opening rule", "a: 1\n---\nbody", "", "", 0, false},
		{"never closed", "---\na: 1\nbody\n", "", "", 0, false},
		{"empty", "", "", "", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			front, body, line, ok := Split([]byte(tc.data))
			if string(front) != tc.front || string(body) != tc.body || line != tc.bodyLine || ok != tc.ok {
				t.Errorf("Split(%q) = %q, %q, %d, %v; want %q, %q, %d, %v", tc.data, front, body, line, ok, tc.front, tc.body, tc.bodyLine, tc.ok)
			}
		})
	}
}

func TestDecodeAndErrorLine(t *testing.T) {
	var n yaml.Node
	err := Decode([]byte("a: 1\nb: [unclosed\n"), &n)
	if err == nil {
		t.Fatal("Decode of broken YAML = nil; want an error")
	}
	if line, msg := ErrorLine(err); line == 0 || msg == "" {
		t.Errorf("ErrorLine(%v) = %d, %q; want a line and a message", err, line, msg)
	}
	if line, msg := ErrorLine(errors.New("yaml: something odd")); line != 0 || msg != "something odd" {
		t.Errorf("ErrorLine without a line = %d, %q; want 0, %q", line, msg, "something odd")
	}
}

// TestFieldsColonHint: a value with ": " in it, the commonest mistake, is reported on its
// line with the advice to quote it.
func TestFieldsColonHint(t *testing.T) {
	_, line, problem := Fields([]byte("status: ready\nsubject: Light Lunch: funding news\n"), "subject: Light Lunch")
	if line != 3 || !strings.Contains(problem, "must be put in quotes") {
		t.Errorf("Fields(unquoted colon) = line %d, %q; want line 3 and the advice to quote", line, problem)
	}
	if _, _, problem := Fields([]byte("subject: [unclosed\n"), "subject: x"); strings.Contains(problem, "quotes") {
		t.Errorf("Fields(unclosed list) = %q; want no advice about colons", problem)
	}
}
