package mailfeedback_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"sectorhub/infra/localstack/sescapture"
	"sectorhub/infra/testenv"
	"sectorhub/shared/mailfeedback"
)

// sample returns the SES notice carried by a sample SNS event of events/ (one record).
func sample(tb testing.TB, name string) events.SNSEvent {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(tb), "events", name))
	if err != nil {
		tb.Fatal(err)
	}
	var ev events.SNSEvent
	if err := json.Unmarshal(b, &ev); err != nil || len(ev.Records) != 1 {
		tb.Fatalf("events/%s: %v, %d records; want 1", name, err, len(ev.Records))
	}
	return ev
}

// testdata returns the SES notice in testdata/name.
func testdata(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// edit returns the JSON notice msg changed by fn.
func edit(tb testing.TB, msg string, fn func(m map[string]any)) string {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(msg), &m); err != nil {
		tb.Fatal(err)
	}
	fn(m)
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestParse(t *testing.T) {
	bounce := sample(t, "mailfeedback-sns-bounce.json").Records[0].SNS.Message
	complaint := sample(t, "mailfeedback-sns-complaint.json").Records[0].SNS.Message
	transient := testdata(t, "bounce-transient.json")
	recipients := func(addrs ...any) func(m map[string]any) {
		return func(m map[string]any) {
			var rs []any
			for _, a := range addrs {
				rs = append(rs, map[string]any{"emailAddress": a})
			}
			m["bounce"].(map[string]any)["bouncedRecipients"] = rs
		}
	}
	for _, tc := range []struct {
		name    string
		message string
		want    mailfeedback.Notice
	}{
		{"permanent bounce (event publishing)", bounce, mailfeedback.Notice{
			Type: "Bounce", BounceType: "Permanent", Action: mailfeedback.Suppress,
			Recipients: []string{"bounce@simulator.amazonses.com"},
			At:         time.Date(2026, 11, 24, 12, 3, 9, 871e6, time.UTC),
			MessageID:  "0102019a7f3c0b11-2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f-000000",
		}},
		{"transient bounce: the domain in lower case", transient, mailfeedback.Notice{
			Type: "Bounce", BounceType: "Transient", Action: mailfeedback.SoftBounce,
			Recipients: []string{"Rowan.Ashby@fernhill-trust.example"},
			At:         time.Date(2026, 11, 24, 12, 4, 41, 302e6, time.UTC),
			MessageID:  "0102019a7f3c0c42-9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d-000000",
		}},
		{"undetermined bounce (notification) with a display name", testdata(t, "notification-bounce-undetermined.json"), mailfeedback.Notice{
			Type: "Bounce", BounceType: "Undetermined", Action: mailfeedback.SoftBounce,
			Recipients: []string{"rowan.ashby@fernhill-trust.example"},
			At:         time.Date(2026, 11, 25, 8, 0, 12, 0, time.UTC),
			MessageID:  "0102019a81aa1234-aabbccdd-eeff-4011-8233-445566778899-000000",
		}},
		{"complaint", complaint, mailfeedback.Notice{
			Type: "Complaint", Action: mailfeedback.Complain,
			Recipients: []string{"complaint@simulator.amazonses.com"},
			At:         time.Date(2026, 11, 24, 14, 17, 2, 0, time.UTC),
			MessageID:  "0102019a7f3c0d73-1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b-000000",
		}},
		{"complaint of any feedback type", edit(t, complaint, func(m map[string]any) {
			m["complaint"].(map[string]any)["complaintFeedbackType"] = "not-spam"
		}), mailfeedback.Notice{
			Type: "Complaint", Action: mailfeedback.Complain,
			Recipients: []string{"complaint@simulator.amazonses.com"},
			At:         time.Date(2026, 11, 24, 14, 17, 2, 0, time.UTC),
			MessageID:  "0102019a7f3c0d73-1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b-000000",
		}},
		{"delivery: ignored", testdata(t, "delivery.json"), mailfeedback.Notice{
			Type: "Delivery", Action: mailfeedback.Ignore,
			MessageID: "0102019a7f3c0ea4-4d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a-000000",
		}},
		{"bounce type in capitals", edit(t, bounce, func(m map[string]any) {
			m["bounce"].(map[string]any)["bounceType"] = "PERMANENT"
			delete(m, "mail")
		}), mailfeedback.Notice{
			Type: "Bounce", BounceType: "PERMANENT", Action: mailfeedback.Suppress,
			Recipients: []string{"bounce@simulator.amazonses.com"},
			At:         time.Date(2026, 11, 24, 12, 3, 9, 871e6, time.UTC),
		}},
		{"invalid recipients counted, repeated ones once, no timestamp", edit(t, transient, func(m map[string]any) {
			recipients("a@x.example", "not an address", "a@X.EXAMPLE", "", "b@x.example", "ü@x.example")(m)
			delete(m["bounce"].(map[string]any), "timestamp")
		}), mailfeedback.Notice{
			Type: "Bounce", BounceType: "Transient", Action: mailfeedback.SoftBounce,
			Recipients: []string{"a@x.example", "b@x.example"}, Invalid: 3,
			MessageID: "0102019a7f3c0c42-9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d-000000",
		}},
		{"every recipient invalid", edit(t, bounce, recipients("nobody")), mailfeedback.Notice{
			Type: "Bounce", BounceType: "Permanent", Action: mailfeedback.Suppress, Invalid: 1,
			At:        time.Date(2026, 11, 24, 12, 3, 9, 871e6, time.UTC),
			MessageID: "0102019a7f3c0b11-2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f-000000",
		}},
		{"a message ID of another shape is left out", edit(t, complaint, func(m map[string]any) {
			m["mail"].(map[string]any)["messageId"] = "<complaint@simulator.amazonses.com>"
		}), mailfeedback.Notice{
			Type: "Complaint", Action: mailfeedback.Complain,
			Recipients: []string{"complaint@simulator.amazonses.com"},
			At:         time.Date(2026, 11, 24, 14, 17, 2, 0, time.UTC),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mailfeedback.Parse(tc.message)
			if err != nil {
				t.Fatalf("Parse = %v; want %+v", err, tc.want)
			}
			if !equal(got, tc.want) {
				t.Errorf("Parse =\n%+v; want\n%+v", got, tc.want)
			}
		})
	}
}

func equal(a, b mailfeedback.Notice) bool {
	return a.Type == b.Type && a.BounceType == b.BounceType && a.Action == b.Action &&
		slices.Equal(a.Recipients, b.Recipients) && a.Invalid == b.Invalid && a.At.Equal(b.At) && a.MessageID == b.MessageID
}

func TestParseMalformed(t *testing.T) {
	bounce := sample(t, "mailfeedback-sns-bounce.json").Records[0].SNS.Message
	complaint := sample(t, "mailfeedback-sns-complaint.json").Records[0].SNS.Message
	for _, tc := range []struct {
		name, message, want string
	}{
		{"empty", "", "not a JSON object"},
		{"not JSON", "Hello from SNS!", "not a JSON object"},
		{"truncated", bounce[:len(bounce)/2], "not a JSON object"},
		{"a JSON list", `[{"eventType":"Bounce"}]`, "not a JSON object"},
		{"no type", edit(t, bounce, func(m map[string]any) { delete(m, "eventType") }), "neither eventType nor notificationType"},
		{"type not a string", edit(t, bounce, func(m map[string]any) { m["eventType"] = 7 }), "field eventType has the wrong JSON type"},
		{"type not a word", edit(t, bounce, func(m map[string]any) { m["eventType"] = "someone@x.example" }), "type is not a word"},
		{"bounce without bounce", edit(t, bounce, func(m map[string]any) { delete(m, "bounce") }), "a Bounce without its bounce object"},
		{"complaint without complaint", edit(t, complaint, func(m map[string]any) { delete(m, "complaint") }), "a Complaint without its complaint object"},
		{"unknown bounce type", edit(t, bounce, func(m map[string]any) { m["bounce"].(map[string]any)["bounceType"] = "Sideways" }), `unknown bounceType "Sideways"`},
		{"bounce type not a word", edit(t, bounce, func(m map[string]any) {
			m["bounce"].(map[string]any)["bounceType"] = "bounce@simulator.amazonses.com"
		}), "a Bounce without a bounceType"},
		{"no bounce type", edit(t, bounce, func(m map[string]any) { delete(m["bounce"].(map[string]any), "bounceType") }), "a Bounce without a bounceType"},
		{"no recipients", edit(t, bounce, func(m map[string]any) { m["bounce"].(map[string]any)["bouncedRecipients"] = []any{} }), "a Bounce without recipients"},
		{"no complained recipients", edit(t, complaint, func(m map[string]any) { delete(m["complaint"].(map[string]any), "complainedRecipients") }), "a Complaint without recipients"},
		{"recipients not a list", edit(t, bounce, func(m map[string]any) {
			m["bounce"].(map[string]any)["bouncedRecipients"] = "bounce@simulator.amazonses.com"
		}), "field bounce.bouncedRecipients has the wrong JSON type"},
		{"address not a string", edit(t, complaint, func(m map[string]any) {
			m["complaint"].(map[string]any)["complainedRecipients"] = []any{map[string]any{"emailAddress": []any{"complaint@simulator.amazonses.com"}}}
		}), "field complaint.complainedRecipients.emailAddress has the wrong JSON type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := mailfeedback.Parse(tc.message)
			if !errors.Is(err, mailfeedback.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %+v, %v; want ErrMalformed saying %q", n, err, tc.want)
			}
			if strings.Contains(err.Error(), "@") {
				t.Errorf("Parse error %q quotes an address", err)
			}
		})
	}
}

func TestAddress(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"a@x.example", "a@x.example", true},
		{" Rowan.Ashby@Fernhill-Trust.EXAMPLE ", "Rowan.Ashby@fernhill-trust.example", true},
		{`"Rowan Ashby" <rowan@x.example>`, "rowan@x.example", true},
		{"Rowan <rowan@X.example>", "rowan@x.example", true},
		{"<rowan@x.example>", "rowan@x.example", true},
		{"rowan@localhost", "", false},
		{"Rowan <rowan@localhost>", "", false},
		{"rowan", "", false},
		{"", "", false},
		{"a@b.example, c@d.example", "", false},
	} {
		if got, ok := mailfeedback.Address(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("Address(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParse: Parse never panics; what it accepts has addresses as the store keys them, each
// once, and an action matching its type; what it refuses is ErrMalformed and quotes no
// address.
func FuzzParse(f *testing.F) {
	f.Add(sample(f, "mailfeedback-sns-bounce.json").Records[0].SNS.Message)
	f.Add(sample(f, "mailfeedback-sns-complaint.json").Records[0].SNS.Message)
	for _, name := range []string{"bounce-transient.json", "notification-bounce-undetermined.json", "delivery.json"} {
		f.Add(testdata(f, name))
	}
	f.Add(`{"eventType":"Bounce","bounce":{"bounceType":"Transient","bouncedRecipients":[{"emailAddress":"x"},{"emailAddress":"A@B.example"}]}}`)
	f.Add(`{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"<a@b.example>"}],"timestamp":"x"}}`)
	f.Fuzz(func(t *testing.T, message string) {
		n, err := mailfeedback.Parse(message)
		if err != nil {
			if !errors.Is(err, mailfeedback.ErrMalformed) || strings.Contains(err.Error(), "@") {
				t.Fatalf("Parse error %q: want ErrMalformed without an address", err)
			}
			return
		}
		want := map[string]mailfeedback.Action{"Bounce": n.Action, "Complaint": mailfeedback.Complain}[n.Type]
		if n.Type == "Bounce" && n.Action != mailfeedback.Suppress && n.Action != mailfeedback.SoftBounce || n.Action != want {
			t.Fatalf("Parse: type %q with action %v", n.Type, n.Action)
		}
		if n.Action == mailfeedback.Ignore && (len(n.Recipients) > 0 || n.Invalid > 0) {
			t.Fatalf("Parse: an ignored %q notice with recipients", n.Type)
		}
		seen := map[string]bool{}
		for _, r := range n.Recipients {
			if got, ok := mailfeedback.Address(r); !ok || got != r || seen[r] {
				t.Fatalf("Parse: recipient %q is not as the store keys it (%q, %v) or given twice", r, got, ok)
			}
			seen[r] = true
		}
	})
}

// TestParseSimulatorFeedback: what the local SES capture's mailbox simulator publishes (so
// that the local stack's bounce and complaint reach this code as SES's would) parses to the
// same actions.
func TestParseSimulatorFeedback(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 3, 0, 0, time.UTC)
	m := sescapture.Message{
		ID: "0102019a7f3c0b11-2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f-000000", Received: now, Action: "SendRawEmail",
		Source:           "bulletin@sectorhub.example",
		Destinations:     []string{"bounce+rowan@simulator.amazonses.com", "complaint@simulator.amazonses.com", "success@simulator.amazonses.com"},
		ConfigurationSet: "sectorhub-local-mail",
	}
	want := map[string]mailfeedback.Notice{
		"Bounce":    {Type: "Bounce", BounceType: "Permanent", Action: mailfeedback.Suppress, Recipients: []string{"bounce+rowan@simulator.amazonses.com"}},
		"Complaint": {Type: "Complaint", Action: mailfeedback.Complain, Recipients: []string{"complaint@simulator.amazonses.com"}},
	}
	evs := sescapture.Feedback(m, sescapture.Account{Region: "eu-west-2", AccountID: "000000000000", Partition: "aws"}, now.Add(time.Second))
	if len(evs) != len(want) {
		t.Fatalf("Feedback = %d events; want %d", len(evs), len(want))
	}
	for _, ev := range evs {
		got, err := mailfeedback.Parse(string(ev.Record))
		if err != nil {
			t.Fatalf("Parse(the simulator's %s) = %v", ev.Type, err)
		}
		w := want[got.Type]
		w.At, w.MessageID = now.Add(time.Second), m.ID
		if !equal(got, w) {
			t.Errorf("Parse(the simulator's %s) =\n%+v; want\n%+v", ev.Type, got, w)
		}
	}
}
