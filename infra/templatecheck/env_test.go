package templatecheck

import (
	"strings"
	"testing"

	"sectorhub/infra/samtemplate"
)

// firstSample returns a sample event for fn: one of its routes' or S3 events'.
func firstSample(t *testing.T, tmpl *samtemplate.Template, fn samtemplate.Function, all []sample, names map[string]string) []byte {
	t.Helper()
	for _, r := range tmpl.Routes {
		for _, s := range all {
			if r.FunctionID == fn.LogicalID && s.HTTP != nil && s.RouteKey == r.RouteKey() {
				return s.Payload
			}
		}
	}
	for _, e := range tmpl.S3Events {
		for _, s := range all {
			if e.FunctionID == fn.LogicalID && s.S3 != nil && matchesS3(e, names[e.BucketLogicalID], *s.S3) == "" {
				return s.Payload
			}
		}
	}
	// A function with neither (a schedule, say) still has to get through init.
	return []byte(`{}`)
}

// optionalVariables are variables a function reads but starts without, each with why; the
// template may set them though removing one does not stop the function.
var optionalVariables = map[string]string{
	"MAIL_CONFIGURATION_SET": "mail.NewSES sends without a configuration set when it is unset (as tests and tools do); TestMailSendersNameTheConfigurationSet checks that every sender of the template names it",
	"BULLETIN_MAX_RATE":      "empty (BulletinMaxRate's default) means no cap below the SES account's rate",
}

func TestTemplateSetsExactlyTheVariablesFunctionsRead(t *testing.T) {
	tmpl := loadTemplate(t)
	all := samples(t)
	be := newBackend(t)
	for _, fn := range tmpl.Functions {
		t.Run(fn.LogicalID, func(t *testing.T) {
			payload := firstSample(t, tmpl, fn, all, be.names)
			env := be.templateEnv(t, fn)

			// With the template's variables (and the local endpoints), init succeeds.
			o := invoke(t, fn, merge(env, be.endpoints), payload)
			if !o.initDone() {
				t.Fatalf("with the template's Environment %v, %s never reached its first /next: %v\n%s", sortedKeys(env), fn.LogicalID, o.fnErr, indent(o.log))
			}

			// Without any one of them, init fails naming it.
			for _, name := range sortedKeys(env) {
				if _, ok := optionalVariables[name]; ok {
					continue
				}
				reduced := merge(env, be.endpoints)
				delete(reduced, name)
				o := invoke(t, fn, reduced, payload)
				switch {
				case o.initDone():
					t.Errorf("%s starts without %s: the template sets a variable the function does not require (remove it from the template, or make the function read it)", fn.LogicalID, name)
				case !strings.Contains(o.log, name) && (o.fnErr == nil || !strings.Contains(o.fnErr.Message, name)):
					t.Errorf("%s fails at init without %s, but its error does not name the variable:\n%s", fn.LogicalID, name, indent(o.log))
				}
			}
		})
	}
}
