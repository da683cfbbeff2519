package templatecheck

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"sectorhub/infra/localstack"
	"sectorhub/infra/localstack/lambdart"
	"sectorhub/infra/localstack/s3local"
	"sectorhub/infra/localstack/sescapture"
	"sectorhub/infra/samtemplate"
	"sectorhub/infra/testenv"
)

// buildDir holds the functions' binaries, built once per test binary.
var buildDir string

func TestMain(m *testing.M) { os.Exit(testenv.RunInTempDir(m, "templatecheck-", &buildDir)) }

var (
	templateOnce sync.Once
	tmpl         *samtemplate.Template
	tmplErr      error
)

// loadTemplate returns the repository's parsed template.yaml.
func loadTemplate(tb testing.TB) *samtemplate.Template {
	tb.Helper()
	path := filepath.Join(testenv.RepoRoot(tb), "template.yaml")
	templateOnce.Do(func() {
		if tmpl, tmplErr = samtemplate.Load(path); tmplErr == nil {
			// The parameters a deploy asks for get the local stack's values.
			for name, v := range localstack.LocalParameters("http://127.0.0.1:3000") {
				if _, ok := tmpl.Parameters[name]; !ok && tmpl.HasParameter(name) {
					tmpl.Parameters[name] = v
				}
			}
		}
	})
	if tmplErr != nil {
		tb.Fatalf("load template: %v", tmplErr)
	}
	return tmpl
}

// buildResult is one function's build, done once.
type buildResult struct {
	once sync.Once
	path string
	err  error
}

var builds sync.Map // logical ID -> *build

// binary builds fn (once per test binary) and returns the executable's path.
func binary(tb testing.TB, fn samtemplate.Function) string {
	tb.Helper()
	t := loadTemplate(tb)
	v, _ := builds.LoadOrStore(fn.LogicalID, &buildResult{})
	b := v.(*buildResult)
	b.once.Do(func() {
		out := filepath.Join(buildDir, fn.LogicalID, "bootstrap")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		b.err = lambdart.BuildPackage(ctx, t.Dir, "./"+filepath.ToSlash(filepath.Clean(fn.CodeUri)), out)
		b.path = out
	})
	if b.err != nil {
		tb.Fatalf("%s: %v", fn.LogicalID, b.err)
	}
	return b.path
}

// sample is one file of events/.
type sample struct {
	File     string // base name, e.g. directory-search.json
	Payload  []byte
	RouteKey string                          // set for HTTP API events
	HTTP     *events.APIGatewayV2HTTPRequest // set for HTTP API events
	S3       *events.S3Event                 // set for S3 events
	SNS      *events.SNSEvent                // set for SNS events
}

// samples loads every events/*.json.
func samples(tb testing.TB) []sample {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(tb), "events", "*.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []sample
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		s := sample{File: filepath.Base(file), Payload: data}
		var probe struct {
			RouteKey *string          `json:"routeKey"`
			Records  []map[string]any `json:"Records"`
		}
		if err := json.Unmarshal(data, &probe); err != nil {
			tb.Fatalf("events/%s: %v", s.File, err)
		}
		switch {
		case probe.RouteKey != nil:
			s.RouteKey = *probe.RouteKey
			s.HTTP = &events.APIGatewayV2HTTPRequest{}
			err = json.Unmarshal(data, s.HTTP)
		case len(probe.Records) > 0 && probe.Records[0]["eventSource"] == "aws:s3":
			s.S3 = &events.S3Event{}
			err = json.Unmarshal(data, s.S3)
		case len(probe.Records) > 0 && probe.Records[0]["EventSource"] == "aws:sns":
			s.SNS = &events.SNSEvent{}
			err = json.Unmarshal(data, s.SNS)
		}
		if err != nil {
			tb.Fatalf("events/%s: %v", s.File, err)
		}
		out = append(out, s)
	}
	return out
}

// backend is what the functions talk to while they run: minidyn with the template's tables, an
// in-process S3 with the template's buckets, and the SES capture; names are the local physical
// names of the template's resources.
type backend struct {
	names     map[string]string
	endpoints map[string]string // AWS_ENDPOINT_URL_* variables
}

func newBackend(tb testing.TB) backend {
	tb.Helper()
	t := loadTemplate(tb)
	dynamo := testenv.DynamoTargets(tb)[0] // the embedded one: enough to run the handlers
	_, tables := testenv.NewTables(tb, dynamo)
	names, err := t.LocalNames(func(logicalID string) string { return tables[logicalID] })
	if err != nil {
		tb.Fatalf("local names: %v", err)
	}
	var buckets []string
	for _, b := range t.Buckets {
		buckets = append(buckets, names[b.LogicalID])
	}
	s3srv, err := s3local.New(s3local.Options{Region: testenv.Region, Buckets: buckets})
	if err != nil {
		tb.Fatal(err)
	}
	s3http := httptest.NewServer(s3srv)
	tb.Cleanup(s3http.Close)
	seshttp := httptest.NewServer(sescapture.New())
	tb.Cleanup(seshttp.Close)
	return backend{names: names, endpoints: map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": dynamo.Endpoint,
		"AWS_ENDPOINT_URL_S3":       s3http.URL,
		"AWS_ENDPOINT_URL_SES":      seshttp.URL,
	}}
}

// templateEnv returns fn's Environment as the template resolves it locally.
func (b backend) templateEnv(tb testing.TB, fn samtemplate.Function) map[string]string {
	tb.Helper()
	env, err := loadTemplate(tb).ResolveEnv(fn, b.names)
	if err != nil {
		tb.Fatalf("resolve %s environment: %v", fn.LogicalID, err)
	}
	return env
}

// outcome is one invocation of a function in a new process.
type outcome struct {
	resp   []byte
	fnErr  *lambdart.FunctionError
	report lambdart.Report
	log    string // the process's output and the runtime's lines
}

// initDone reports whether the process got through init to its first /next.
func (o outcome) initDone() bool { return o.report.InitDuration > 0 }

// invoke starts fn in a fresh execution environment whose environment is exactly what Lambda
// provides plus env, and invokes it once with payload.
func invoke(tb testing.TB, fn samtemplate.Function, env map[string]string, payload []byte) outcome {
	tb.Helper()
	var (
		log testenv.Buffer
		mu  sync.Mutex
		rep lambdart.Report
	)
	pool, err := lambdart.NewPool(lambdart.PoolOptions{
		Function:     fn,
		Binary:       binary(tb, fn),
		Env:          env,
		MaxInstances: 1,
		InitTimeout:  30 * time.Second,
		Log:          &log,
		OnReport: func(r lambdart.Report) {
			mu.Lock()
			defer mu.Unlock()
			rep = r
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, fnErr, err := pool.Invoke(ctx, payload)
	if err != nil {
		tb.Fatalf("invoke %s: %v\n%s", fn.LogicalID, err, log.String())
	}
	mu.Lock()
	defer mu.Unlock()
	return outcome{resp: resp, fnErr: fnErr, report: rep, log: log.String()}
}

// merge returns the union of maps, later ones winning.
func merge(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// indent indents every line of s, for logs quoted in failures.
func indent(s string) string {
	return "\t" + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n\t")
}
