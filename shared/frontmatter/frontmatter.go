// Package frontmatter reads the files staff upload as YAML front matter between --- lines and
// a body (case studies, bulletin issues): splitting them, decoding the YAML without letting
// the parser's panics through, and placing its errors and invalid UTF-8 on a line.
package frontmatter

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Split cuts data into the front matter (between the first line, ---, and the next line that
// is ---) and the body, with the line number the body starts on. Lines may end in CRLF and
// the --- lines may have trailing spaces. ok is false when data does not start with front
// matter or it is not closed.
func Split(data []byte) (front, body []byte, bodyLine int, ok bool) {
	line, rest, _ := cutLine(data)
	if !isRule(line) {
		return nil, nil, 0, false
	}
	start := len(data) - len(rest)
	n := 1
	for len(rest) > 0 {
		n++
		var l []byte
		at := len(data) - len(rest)
		l, rest, _ = cutLine(rest)
		if isRule(l) {
			return data[start:at], rest, n + 1, true
		}
	}
	return nil, nil, 0, false
}

func cutLine(b []byte) (line, rest []byte, found bool) {
	line, rest, found = bytes.Cut(b, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), rest, found
}

func isRule(line []byte) bool { return string(bytes.TrimRight(line, " \t")) == "---" }

// Decode parses YAML into a node tree, turning a panic of the parser on hostile input into an
// error rather than a crashed function.
func Decode(b []byte, n *yaml.Node) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("yaml: %v", p)
		}
	}()
	return yaml.Unmarshal(b, n)
}

// ErrorLine returns the line (within the YAML; 0 if unknown) and message of a YAML error.
func ErrorLine(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, after, _ := strings.Cut(rest, ":")
		if n, err := strconv.Atoi(num); err == nil {
			return n, strings.TrimSpace(after)
		}
	}
	return 0, msg
}

// Offset is what to add to a line of the front matter's YAML to get the file's line: the
// YAML starts on line 2, after the opening ---.
const Offset = 1

// Fields decodes front as YAML that must be a mapping of fields (or empty: nil, no problem).
// Otherwise it returns the problem's line in the file (0 when unknown) and message; example
// is a field line to show ("title: Peer mentors on the wing").
func Fields(front []byte, example string) (m *yaml.Node, line int, problem string) {
	var doc yaml.Node
	if err := Decode(front, &doc); err != nil {
		line, msg := ErrorLine(err)
		if line > 0 {
			line += Offset
		}
		if strings.Contains(msg, "mapping values are not allowed") {
			// The commonest mistake: a value with ": " in it, which YAML reads as a mapping.
			msg += `; a value containing ": " must be put in quotes, as in subject: "Light Lunch: funding news"`
		}
		return nil, line, "the front matter is not valid YAML: " + msg
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		m = doc.Content[0]
	}
	if m != nil && m.Kind != yaml.MappingNode {
		return nil, m.Line + Offset, "the front matter must be fields, one a line, such as " + example
	}
	return m, 0, ""
}
