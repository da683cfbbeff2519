package event

import (
	"slices"
	"strings"
	"testing"
)

// bookable is an event with a members-only paid ticket, a paid ticket and a free one.
func bookable(tb testing.TB) Event {
	ev := mustEvent(tb, venueBody())
	ev.Tickets = append(ev.Tickets, Ticket{ID: "free", Label: "Free", PricePence: 0})
	return ev
}

func TestParseBooking(t *testing.T) {
	ev := bookable(t)
	invoice := map[string]any{"billing_email": " Accounts@Analytical.TEST ", "address": "1 High Street\r\nLeeds", "purchase_order": "PO-1"}
	paid := func() map[string]any {
		return map[string]any{"name": " Ada Lovelace ", "email": " Ada.Lovelace@Analytical.TEST ", "organisation": "Analytical Ltd", "ticket": "non-member", "invoice": invoice}
	}
	free := func() map[string]any {
		return map[string]any{"name": "Ada", "email": "ada@analytical.test", "ticket": "free"}
	}
	cases := []struct {
		name  string
		body  map[string]any
		raw   string
		want  []string
		check func(t *testing.T, r BookingRequest)
	}{
		{name: "paid", body: paid(), check: func(t *testing.T, r BookingRequest) {
			want := BookingRequest{Name: "Ada Lovelace", Email: "Ada.Lovelace@analytical.test", Organisation: "Analytical Ltd", Ticket: "non-member",
				Invoice: &Invoice{BillingEmail: "Accounts@analytical.test", Address: "1 High Street\nLeeds", PurchaseOrder: "PO-1"}}
			if r.Invoice == nil || *r.Invoice != *want.Invoice {
				t.Fatalf("ParseBooking(paid) invoice = %+v; want %+v", r.Invoice, want.Invoice)
			}
			r.Invoice, want.Invoice = nil, nil
			if r != want {
				t.Errorf("ParseBooking(paid) = %+v; want %+v", r, want)
			}
		}},
		{name: "free drops invoice", body: with(free(), map[string]any{"invoice": map[string]any{"nonsense": true}}), check: func(t *testing.T, r BookingRequest) {
			if r.Invoice != nil {
				t.Errorf("ParseBooking(free with invoice) invoice = %+v; want none", r.Invoice)
			}
		}},
		{name: "free invoice wrong type ignored", body: with(free(), map[string]any{"invoice": "yes"})},
		{name: "multi-line fields", body: with(free(), map[string]any{"access_needs": "Step-free\r\naccess\tplease", "dietary": "Vegan\nNo nuts", "job_title": "Manager"}), check: func(t *testing.T, r BookingRequest) {
			if r.AccessNeeds != "Step-free\naccess\tplease" || r.Dietary != "Vegan\nNo nuts" {
				t.Errorf("ParseBooking multi-line = %q, %q", r.AccessNeeds, r.Dietary)
			}
		}},
		{name: "nulls are absent", body: with(free(), map[string]any{"organisation": null, "job_title": null, "invoice": null})},
		{name: "empty", raw: `{}`, want: []string{"name", "email", "ticket"}},
		{name: "not JSON", raw: `{"name": "x"`, want: []string{""}},
		{name: "unknown field", body: with(free(), map[string]any{"phone": "0113"}), want: []string{"phone"}},
		{name: "name too long", body: with(free(), map[string]any{"name": strings.Repeat("n", 201)}), want: []string{"name"}},
		{name: "name at the limit", body: with(free(), map[string]any{"name": strings.Repeat("ñ", 200)})},
		{name: "name two lines", body: with(free(), map[string]any{"name": "Ada\nLovelace"}), want: []string{"name"}},
		{name: "name a number", body: with(free(), map[string]any{"name": 7}), want: []string{"name"}},
		{name: "email display name", body: with(free(), map[string]any{"email": "Ada <ada@analytical.test>"}), want: []string{"email"}},
		{name: "email two", body: with(free(), map[string]any{"email": "ada@analytical.test, bob@analytical.test"}), want: []string{"email"}},
		{name: "email no domain dot", body: with(free(), map[string]any{"email": "ada@localhost"}), want: []string{"email"}},
		{name: "email literal", body: with(free(), map[string]any{"email": "ada@[192.0.2.1]"}), want: []string{"email"}},
		{name: "email not ASCII", body: with(free(), map[string]any{"email": "adé@analytical.test"}), want: []string{"email"}},
		{name: "email tab", body: with(free(), map[string]any{"email": "a\tda@analytical.test"}), want: []string{"email"}},
		{name: "email too long", body: with(free(), map[string]any{"email": strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 59) + ".test"}), want: []string{"email"}},
		{name: "email hyphen label", body: with(free(), map[string]any{"email": "ada@-analytical.test"}), want: []string{"email"}},
		{name: "email numeric TLD", body: with(free(), map[string]any{"email": "ada@example.123"}), want: []string{"email"}},
		{name: "email local part at the limit", body: with(free(), map[string]any{"email": strings.Repeat("a", 64) + "@analytical.test"})},
		{name: "email local part too long", body: with(free(), map[string]any{"email": strings.Repeat("a", 65) + "@analytical.test"}), want: []string{"email"}},
		{name: "email hyphens in third and fourth places", body: with(free(), map[string]any{"email": "ada@ab--cd.org"}), want: []string{"email"}},
		{name: "email xn-- label not Punycode", body: with(free(), map[string]any{"email": "ada@xn--zz.org"}), want: []string{"email"}},
		{name: "email xn-- label valid", body: with(free(), map[string]any{"email": "ada@xn--caf-dma.org"})},
		{name: "billing email local part too long", body: with(paid(), map[string]any{"invoice": map[string]any{"billing_email": strings.Repeat("b", 65) + "@analytical.test", "address": "1 Road"}}), want: []string{"invoice.billing_email"}},
		{name: "billing email xn-- label not Punycode", body: with(paid(), map[string]any{"invoice": map[string]any{"billing_email": "accounts@xn--zz.org", "address": "1 Road"}}), want: []string{"invoice.billing_email"}},
		{name: "organisation too long", body: with(free(), map[string]any{"organisation": strings.Repeat("o", 201)}), want: []string{"organisation"}},
		{name: "members only without organisation", body: with(paid(), map[string]any{"ticket": "member", "organisation": " "}), want: []string{"organisation"}},
		{name: "unknown ticket", body: with(free(), map[string]any{"ticket": "vip"}), want: []string{"ticket"}},
		{name: "ticket a number", body: with(free(), map[string]any{"ticket": 1}), want: []string{"ticket"}},
		{name: "job title too long", body: with(free(), map[string]any{"job_title": strings.Repeat("j", 201)}), want: []string{"job_title"}},
		{name: "access needs too long", body: with(free(), map[string]any{"access_needs": strings.Repeat("a", 1001)}), want: []string{"access_needs"}},
		{name: "access needs control", body: with(free(), map[string]any{"access_needs": "a\x07"}), want: []string{"access_needs"}},
		{name: "dietary too long", body: with(free(), map[string]any{"dietary": strings.Repeat("d", 501)}), want: []string{"dietary"}},
		{name: "paid without invoice", body: with(paid(), map[string]any{"invoice": nil}), want: []string{"invoice"}},
		{name: "paid invoice null", body: with(paid(), map[string]any{"invoice": null}), want: []string{"invoice"}},
		{name: "invoice a string", body: with(paid(), map[string]any{"invoice": "please"}), want: []string{"invoice"}},
		{name: "invoice problems", body: with(paid(), map[string]any{"invoice": map[string]any{"billing_email": "x", "purchase_order": strings.Repeat("p", 101), "vat": 1}}),
			want: []string{"invoice.billing_email", "invoice.purchase_order", "invoice.address", "invoice.vat"}},
		{name: "unknown ticket checks invoice", body: with(paid(), map[string]any{"ticket": "vip", "invoice": map[string]any{"address": "x"}}), want: []string{"ticket", "invoice.billing_email"}},
		{name: "order", body: with(paid(), map[string]any{"invoice": nil, "zz": 1, "dietary": "\x00", "name": ""}), want: []string{"name", "dietary", "invoice", "zz"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := caseBody(t, c.raw, c.body)
			r, problems := ParseBooking(body, ev)
			if got := fields(problems); !slices.Equal(got, c.want) {
				t.Fatalf("ParseBooking problems = %v; want fields %q", problems, c.want)
			}
			for _, p := range problems {
				for _, personal := range []string{"Ada", "ada", "Lovelace", "analytical", "Analytical", "0113", "High Street"} {
					if strings.Contains(p.Message, personal) {
						t.Errorf("ParseBooking problem %+v quotes the body (%q)", p, personal)
					}
				}
			}
			if len(problems) > 0 {
				if r != (BookingRequest{}) {
					t.Errorf("ParseBooking with problems = %+v; want zero", r)
				}
				return
			}
			checkBooking(t, r, ev)
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

func TestEmailKey(t *testing.T) {
	a := EmailKey(" Ada@Example.org ")
	if a != EmailKey("ada@example.org") || len(a) != 64 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("EmailKey(%q) = %q; want the lower-case hex SHA-256 of ada@example.org", " Ada@Example.org ", a)
	}
	if a == EmailKey("ada@example.com") {
		t.Errorf("EmailKey gives two addresses the same key")
	}
	// sha256 of "ada@example.org", computed with sha256sum.
	if want := "cfe00dde46ef942601ffafb9e2825e802858b460e586b8305b344c1eb826357d"; a != want {
		t.Errorf("EmailKey(%q) = %s; want %s", " Ada@Example.org ", a, want)
	}
}
