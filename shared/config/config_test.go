package config_test

import (
	"testing"

	"sectorhub/shared/config"
)

func TestRequired(t *testing.T) {
	vars := map[string]string{"TABLE_NAME": "t", "BLANK": "  "}
	env := config.New(func(k string) string { return vars[k] })
	if got := env.Required("TABLE_NAME"); got != "t" {
		t.Fatalf("Required(TABLE_NAME) = %q; want t", got)
	}
	if err := env.Err(); err != nil {
		t.Fatalf("Err() = %v; want nil", err)
	}
	env.Required("BLANK")
	env.Required("UPLOADS_BUCKET")
	if err := env.Err(); err == nil || err.Error() != "missing environment variable(s): BLANK, UPLOADS_BUCKET" {
		t.Fatalf("Err() = %v; want both missing variables named", err)
	}
}
