package eventmail

import (
	"bytes"
	"html/template"
	"strings"
	"sync"
	"unicode/utf8"
)

// page is the HTML part. It reads without images or CSS: headings in order (h1 what
// happened, h2 the event and each section), links whose text says where they go, inline
// styles only (mail clients drop style sheets), and a presentation table that keeps it to
// 600 px in clients that ignore max-width. html/template escapes every value, and refuses
// a URL that is not http(s) in an href.
// page is parsed when the first mail is rendered, not when a function starts.
var page = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{"link": link}).Parse(`<!DOCTYPE html>
<html lang="en-GB" dir="ltr">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{{.Subject}}</title>
</head>
<body style="margin:0;padding:0;background-color:#ffffff;color:#1a1a1a;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;">
<tr>
<td align="center" style="padding:24px 16px;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" style="width:100%;max-width:600px;border-collapse:collapse;">
<tr>
<td style="font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a;text-align:left;">
<h1 style="margin:0 0 24px;font-size:26px;line-height:1.25;font-weight:bold;color:#1a1a1a;">{{.Heading}}</h1>
<p style="margin:0 0 16px;">{{.Greeting}}</p>
{{- range .Intro}}
{{template "para" .}}
{{- end}}
<h2 style="margin:32px 0 12px;font-size:21px;line-height:1.3;font-weight:bold;color:#1a1a1a;">{{.Title}}</h2>
{{- range .Facts}}
<p style="margin:0 0 8px;"><strong>{{.Label}}:</strong> {{range $i, $line := .Lines}}{{if $i}}<br>{{end}}{{$line}}{{end}}</p>
{{- end}}
{{template "para" (link "View the event page on our website" .EventURL)}}
{{- range .Sections}}
<h2 style="margin:32px 0 12px;font-size:21px;line-height:1.3;font-weight:bold;color:#1a1a1a;">{{.Heading}}</h2>
{{- range .Paras}}
{{template "para" .}}
{{- end}}
{{- end}}
<hr style="margin:32px 0 16px;border:0;border-top:1px solid #b1b4b6;">
<p style="margin:0;font-size:14px;color:#454545;">{{.Footer}}</p>
</td>
</tr>
</table>
</td>
</tr>
</table>
</body>
</html>
{{define "para"}}{{if .URL}}<p style="margin:0 0 16px;"><a href="{{.URL}}" style="color:#1d4f91;text-decoration:underline;font-weight:bold;">{{.Text}}</a></p>{{else}}<p style="margin:0 0 16px;">{{.Text}}</p>{{end}}{{end}}`))
})

func renderHTML(c content) (string, error) {
	var buf bytes.Buffer
	if err := page().Execute(&buf, c); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// renderText is the plain-text part: the same content, headings underlined, each link's
// text followed by its URL on a line of its own.
func renderText(c content) string {
	var b strings.Builder
	heading := func(s string, rule string) {
		b.WriteString(s + "\n" + strings.Repeat(rule, utf8.RuneCountInString(s)) + "\n\n")
	}
	writePara := func(p para) {
		if p.URL != "" {
			b.WriteString(p.Text + ":\n" + p.URL + "\n\n")
			return
		}
		b.WriteString(p.Text + "\n\n")
	}
	heading(c.Heading, "=")
	b.WriteString(c.Greeting + "\n\n")
	for _, p := range c.Intro {
		writePara(p)
	}
	heading(c.Title, "-")
	for _, f := range c.Facts {
		b.WriteString(f.Label + ": " + strings.Join(f.Lines, ", ") + "\n")
	}
	b.WriteString("\n")
	writePara(link("View the event page on our website", c.EventURL))
	for _, s := range c.Sections {
		heading(s.Heading, "-")
		for _, p := range s.Paras {
			writePara(p)
		}
	}
	b.WriteString("-- \n" + c.Footer + "\n")
	return b.String()
}
