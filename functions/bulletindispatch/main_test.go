package main

import (
	"context"
	"strings"
	"testing"
)

func TestRunConfig(t *testing.T) {
	complete := map[string]string{"TABLE_NAME": "t", "SENDER_ADDRESS": "Light Lunch <bulletin@example.org>", "SITE_URL": "https://example.org"}
	with := func(k, v string) map[string]string {
		env := map[string]string{}
		for name, value := range complete {
			env[name] = value
		}
		env[k] = v
		return env
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no table", with("TABLE_NAME", ""), "TABLE_NAME"},
		{"no sender", with("SENDER_ADDRESS", ""), "SENDER_ADDRESS"},
		{"no site", with("SITE_URL", ""), "SITE_URL"},
		{"rate not a number", with("BULLETIN_MAX_RATE", "fast"), "BULLETIN_MAX_RATE"},
		{"rate zero", with("BULLETIN_MAX_RATE", "0"), "BULLETIN_MAX_RATE"},
	}
	for _, tc := range tests {
		err := run(context.Background(), func(k string) string { return tc.env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%s) = %v; want an error naming %s", tc.name, err, tc.want)
		}
	}
}

// TestDispatcher builds the dispatcher from a complete environment: the cap on the rate, the
// sender and the site come from it.
func TestDispatcher(t *testing.T) {
	env := map[string]string{
		"TABLE_NAME": "t", "SENDER_ADDRESS": "Light Lunch <bulletin@example.org>", "SITE_URL": "https://example.org/",
		"BULLETIN_MAX_RATE": "10", "AWS_REGION": "eu-west-2",
	}
	d, err := dispatcher(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("dispatcher() error = %v", err)
	}
	if d.MaxRate != 10 || d.Renderer.SiteURL != "https://example.org" || d.Renderer.From != env["SENDER_ADDRESS"] {
		t.Errorf("dispatcher() = max rate %v, renderer %+v; want 10 and the environment's sender and site", d.MaxRate, d.Renderer)
	}
}
