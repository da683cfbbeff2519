// Package orukcheck checks responses of the Open Referral UK feed against the profile's own
// schemas (schemas/: the compiled JSON schemas and the OpenAPI document, copied unchanged from
// the profile with their licence, CC BY-SA 4.0; see schemas/README.md), with a
// JSON-Schema 2020-12 validator that asserts formats (uuid, uri, email, date-time). Tests
// import it; no function does (the validator is for tests only).
package orukcheck

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"sectorhub/infra/testenv"
)

// base is where the OpenAPI document's $refs point; the local copies are registered under it,
// so nothing is fetched.
const base = "https://raw.githubusercontent.com/openreferral/uk-profile/main/schema/"

// Dir returns the directory of the ORUK schemas: $ORUK_SCHEMAS (to check against another
// copy of the profile), or this package's schemas/.
func Dir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("ORUK_SCHEMAS"); d != "" {
		return d
	}
	return filepath.Join(testenv.RepoRoot(tb), "infra", "orukcheck", "schemas")
}

// Schemas are the compiled checks of each kind of response.
type Schemas struct {
	byRoute map[string][]*jsonschema.Schema // the schemas a route's 200 body must pass
	items   map[string]*jsonschema.Schema   // the schema each item of a list route's contents must pass
}

// Load compiles the schemas, failing tb if any is missing or does not compile.
func Load(tb testing.TB) *Schemas {
	tb.Helper()
	dir := Dir(tb)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(jsonschema.SchemeURLLoader{}) // every document is added below; nothing is fetched
	files := []string{"openapi.json", "taxonomy.json", "taxonomy_term.json"}
	compiled, err := filepath.Glob(filepath.Join(dir, "compiled", "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range compiled {
		files = append(files, "compiled/"+filepath.Base(f))
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			tb.Fatalf("ORUK schema: %v (set ORUK_SCHEMAS to the profile's schema folder)", err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			tb.Fatalf("ORUK schema %s: %v", f, err)
		}
		if err := c.AddResource(base+f, doc); err != nil {
			tb.Fatalf("ORUK schema %s: %v", f, err)
		}
	}
	compile := func(loc string) *jsonschema.Schema {
		tb.Helper()
		s, err := c.Compile(loc)
		if err != nil {
			tb.Fatalf("compile %s: %v", loc, err)
		}
		return s
	}
	// response returns the OpenAPI document's schema of path's 200 response.
	response := func(path string) *jsonschema.Schema {
		ptr := "/paths/" + strings.ReplaceAll(path, "/", "~1") + "/get/responses/200/content/application~1json/schema"
		return compile(base + "openapi.json#" + ptr)
	}
	service := compile(base + "compiled/service.json")
	serviceList := compile(base + "compiled/service_list.json")
	taxonomy := compile(base + "taxonomy.json")
	term := compile(base + "taxonomy_term.json")
	return &Schemas{
		byRoute: map[string][]*jsonschema.Schema{
			"GET /openreferral":                     {response("/")},
			"GET /openreferral/services":            {response("/services")},
			"GET /openreferral/services/{id}":       {response("/services/{id}"), service},
			"GET /openreferral/taxonomies":          {response("/taxonomies")},
			"GET /openreferral/taxonomies/{id}":     {response("/taxonomies/{id}"), taxonomy},
			"GET /openreferral/taxonomy_terms":      {response("/taxonomy_terms")},
			"GET /openreferral/taxonomy_terms/{id}": {response("/taxonomy_terms/{id}"), term},
		},
		items: map[string]*jsonschema.Schema{
			"GET /openreferral/services":       serviceList,
			"GET /openreferral/taxonomies":     taxonomy,
			"GET /openreferral/taxonomy_terms": term,
		},
	}
}

// Envelope is the profile's page envelope, every field required here (the OpenAPI document
// lists them without requiring them).
type Envelope struct {
	TotalItems *int              `json:"total_items"`
	TotalPages *int              `json:"total_pages"`
	PageNumber *int              `json:"page_number"`
	Size       *int              `json:"size"`
	FirstPage  *bool             `json:"first_page"`
	LastPage   *bool             `json:"last_page"`
	Empty      *bool             `json:"empty"`
	Contents   []json.RawMessage `json:"contents"`
}

// Validate returns every schema error of body as the 200 response of routeKey ("GET
// /openreferral/services"): against the OpenAPI document's response schema, the item's schema
// for single items, and for lists the envelope (every field present, size and empty agreeing
// with contents) and each item's schema. It returns nil if body passes.
func (s *Schemas) Validate(routeKey string, body []byte) []string {
	schemas, ok := s.byRoute[routeKey]
	if !ok {
		return []string{"no schema for route " + routeKey}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return []string{"body is not JSON: " + err.Error()}
	}
	var problems []string
	for _, sch := range schemas {
		if err := sch.Validate(inst); err != nil {
			problems = append(problems, err.Error())
		}
	}
	item, ok := s.items[routeKey]
	if !ok {
		return problems
	}
	var env Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return append(problems, "envelope: "+err.Error())
	}
	if env.TotalItems == nil || env.TotalPages == nil || env.PageNumber == nil || env.Size == nil || env.FirstPage == nil || env.LastPage == nil || env.Empty == nil || env.Contents == nil {
		problems = append(problems, "envelope lacks one of total_items, total_pages, page_number, size, first_page, last_page, empty, contents")
		return problems
	}
	if *env.Size != len(env.Contents) || *env.Empty != (len(env.Contents) == 0) {
		problems = append(problems, "envelope: size or empty disagrees with contents")
	}
	for i, c := range env.Contents {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(c))
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if err := item.Validate(v); err != nil {
			problems = append(problems, "contents["+itoa(i)+"]: "+err.Error())
		}
	}
	return problems
}

// Check fails tb with every schema error of body as routeKey's 200 response.
func (s *Schemas) Check(tb testing.TB, routeKey string, body []byte) {
	tb.Helper()
	for _, p := range s.Validate(routeKey, body) {
		tb.Errorf("%s: %s\nbody: %.600s", routeKey, p, body)
	}
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
