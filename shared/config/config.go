// Package config reads a function's configuration from its environment. Each function's run
// reads the variables it needs through one Env (Required, then Err), so that a missing
// variable fails the function at start with a message naming every missing variable; the
// values go straight into the clients and handlers that use them.
package config

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Env reads variables from getenv and remembers which required ones were missing.
type Env struct {
	getenv  func(string) string
	missing []string
}

// New returns an Env reading from getenv (os.Getenv in a function's main).
func New(getenv func(string) string) *Env { return &Env{getenv: getenv} }

// Required returns the value of name, recording it as missing when it is empty.
func (e *Env) Required(name string) string {
	v := strings.TrimSpace(e.getenv(name))
	if v == "" {
		e.missing = append(e.missing, name)
	}
	return v
}

// Err reports every missing required variable, or nil.
func (e *Env) Err() error {
	if len(e.missing) == 0 {
		return nil
	}
	return fmt.Errorf("missing environment variable(s): %s", strings.Join(e.missing, ", "))
}

// Logger returns the functions' logger: JSON lines on stdout (what Lambda's JSON log format
// expects) at the level Lambda passes in AWS_LAMBDA_LOG_LEVEL (the template's
// ApplicationLogLevel), INFO by default.
func Logger(getenv func(string) string) *slog.Logger {
	var level slog.Level
	switch strings.ToUpper(getenv("AWS_LAMBDA_LOG_LEVEL")) {
	case "TRACE", "DEBUG":
		level = slog.LevelDebug
	case "WARN":
		level = slog.LevelWarn
	case "ERROR", "FATAL":
		level = slog.LevelError
	}
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
}
