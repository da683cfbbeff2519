package mail_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"sectorhub/infra/testenv"
	"sectorhub/shared/mail"
)

const testSource = "events@sectorhub.example.org"

// sesEnv returns a function environment whose SES endpoint is endpoint.
func sesEnv(endpoint string, extra ...string) func(string) string {
	env := map[string]string{
		"AWS_REGION":            testenv.Region,
		"AWS_ACCESS_KEY_ID":     testenv.AccessKey,
		"AWS_SECRET_ACCESS_KEY": testenv.SecretKey,
		"AWS_ENDPOINT_URL_SES":  endpoint,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return func(k string) string { return env[k] }
}

func buildTestMessage(tb testing.TB, subject string) []byte {
	tb.Helper()
	raw, err := mail.Build(mail.Message{
		From: "Events <" + testSource + ">", To: []string{"Zoë <reader@example.org>"},
		Subject: subject, Text: "Your place is booked.", HTML: "<p>Your place is booked.</p>",
	}, t0)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

func TestSESSendRaw(t *testing.T) {
	for _, target := range testenv.SESTargets(t) {
		t.Run(target.Name, func(t *testing.T) {
			testenv.VerifySender(t, target, testSource)
			raw := buildTestMessage(t, "Booked: Winter Conference — Zoë")
			id, err := mail.NewSES(sesEnv(target.Endpoint)).SendRaw(context.Background(), testSource, []string{"reader@example.org"}, raw)
			if err != nil || id == "" {
				t.Fatalf("SendRaw = %q, %v; want a message ID", id, err)
			}
			if target.Outbox == nil {
				return
			}
			got, ok := target.Outbox.Message(id)
			if !ok {
				t.Fatalf("the capture has no message %s", id)
			}
			if got.Action != "SendRawEmail" || got.Source != testSource || strings.Join(got.Destinations, ",") != "reader@example.org" ||
				got.Subject != "Booked: Winter Conference — Zoë" || string(got.Raw) != string(raw) {
				t.Errorf("captured %s from %s to %v, subject %q, %d bytes; want SendRawEmail of the message (%d bytes) as sent",
					got.Action, got.Source, got.Destinations, got.Subject, len(got.Raw), len(raw))
			}
		})
	}
}

// TestSESErrors checks the classification of what SES (the capture, and moto under `make
// test`) and the network really answer.
func TestSESErrors(t *testing.T) {
	closed := closedPort(t)
	hangUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack() // read the request, then hang up without answering
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(hangUp.Close)
	type errCase struct {
		name          string
		endpoint      string
		from          string
		to            []string
		raw           []byte
		wantCode      string
		temp, perm    bool
		wantNotInText string // personal data the error's text must not carry
	}
	for _, target := range testenv.SESTargets(t) {
		t.Run(target.Name, func(t *testing.T) {
			testenv.VerifySender(t, target, testSource)
			raw := buildTestMessage(t, "s")
			cases := []errCase{
				{"invalid destination", target.Endpoint, testSource, []string{"not an address"}, raw, "InvalidParameterValue", false, true, "not an address"},
				{"connection refused", closed, testSource, []string{"reader@example.org"}, raw, "dial", true, false, ""},
				{"no answer", hangUp.URL, testSource, []string{"reader@example.org"}, raw, "transport", false, false, ""},
			}
			if target.Outbox != nil {
				cases = append(cases, errCase{"unparseable message", target.Endpoint, testSource, []string{"reader@example.org"}, []byte("garbage"), "MessageRejected", false, true, ""})
			} else {
				// moto refuses an unverified Source, naming it in the message.
				cases = append(cases, errCase{"unverified sender", target.Endpoint, "nobody@unverified.example.org", []string{"reader@example.org"}, raw, "MessageRejected", false, true, "nobody@"})
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					_, err := mail.NewSES(sesEnv(tc.endpoint)).SendRaw(context.Background(), tc.from, tc.to, tc.raw)
					if err == nil {
						t.Fatalf("SendRaw = nil; want an error")
					}
					if code, temp, perm := mail.Code(err), mail.Temporary(err), mail.Permanent(err); code != tc.wantCode || temp != tc.temp || perm != tc.perm {
						t.Errorf("Code, Temporary, Permanent(%v) = %s, %v, %v; want %s, %v, %v", err, code, temp, perm, tc.wantCode, tc.temp, tc.perm)
					}
					if tc.wantNotInText != "" && strings.Contains(err.Error(), tc.wantNotInText) {
						t.Errorf("SendRaw's error %q quotes %q", err, tc.wantNotInText)
					}
				})
			}
		})
	}
}

func TestSESConfigurationSet(t *testing.T) {
	// The capture records what it was asked; it answers SendRawEmail with ConfigurationSetName.
	target := testenv.SESTargets(t)[0]
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err == nil {
			got = r.Form.Get("ConfigurationSetName")
		}
		target.Outbox.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		env  []string
		want string
	}{
		{nil, ""},
		{[]string{"MAIL_CONFIGURATION_SET", "sectorhub-prod"}, "sectorhub-prod"},
	}
	for _, tc := range tests {
		if _, err := mail.NewSES(sesEnv(srv.URL, tc.env...)).SendRaw(context.Background(), testSource, []string{"reader@example.org"}, buildTestMessage(t, "s")); err != nil {
			t.Fatalf("SendRaw: %v", err)
		}
		if got != tc.want {
			t.Errorf("with %v, ConfigurationSetName = %q; want %q", tc.env, got, tc.want)
		}
	}
}

// closedPort returns the URL of a loopback port nothing listens on.
func closedPort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}
