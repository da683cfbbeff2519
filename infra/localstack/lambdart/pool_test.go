package lambdart

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sectorhub/infra/samtemplate"
	"sectorhub/infra/testenv"
)

var (
	echoOnce sync.Once
	echoBin  string
	echoErr  error
	echoDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if echoDir != "" {
		os.RemoveAll(echoDir)
	}
	os.Exit(code)
}

// echoBinary builds testdata/echo once per test run.
func echoBinary(tb testing.TB) string {
	tb.Helper()
	echoOnce.Do(func() {
		echoDir, echoErr = os.MkdirTemp("", "lambdart-test")
		if echoErr != nil {
			return
		}
		echoBin = filepath.Join(echoDir, "echo", "bootstrap")
		echoErr = BuildPackage(context.Background(), ".", "./testdata/echo", echoBin)
	})
	if echoErr != nil {
		tb.Fatalf("build echo: %v", echoErr)
	}
	return echoBin
}

type testPool struct {
	*Pool
	log     *testenv.Buffer
	mu      sync.Mutex
	reports []Report
}

func (tp *testPool) Reports() []Report {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]Report(nil), tp.reports...)
}

func newTestPool(tb testing.TB, opts PoolOptions) *testPool {
	tb.Helper()
	tp := &testPool{log: &testenv.Buffer{}}
	if opts.Binary == "" {
		opts.Binary = echoBinary(tb)
	}
	if opts.Function.LogicalID == "" {
		opts.Function = samtemplate.Function{LogicalID: "EchoFunction", Timeout: 10 * time.Second, MemoryMB: 256, Handler: "bootstrap"}
	}
	opts.Log = tp.log
	opts.OnReport = func(r Report) {
		tp.mu.Lock()
		tp.reports = append(tp.reports, r)
		tp.mu.Unlock()
	}
	p, err := NewPool(opts)
	if err != nil {
		tb.Fatalf("NewPool: %v", err)
	}
	tp.Pool = p
	tb.Cleanup(func() {
		if err := p.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return tp
}

func invoke(tb testing.TB, p *testPool, event string) ([]byte, *FunctionError) {
	tb.Helper()
	resp, fnErr, err := p.Invoke(context.Background(), []byte(event))
	if err != nil {
		tb.Fatalf("Invoke(%s): %v", event, err)
	}
	return resp, fnErr
}

func processGone(pid int) bool {
	err := syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}

func TestInvoke(t *testing.T) {
	p := newTestPool(t, PoolOptions{})
	tests := []struct {
		name, event, wantResp, wantErrType, wantErrMsg string
	}{
		{"echo", `{"action":"echo","message":"hi"}`, `{"action":"echo","message":"hi"}`, "", ""},
		{"handler error", `{"action":"error","message":"no such thing"}`, "", "errorString", "no such thing"},
		{"panic", `{"action":"panic","message":"boom"}`, "", "string", "boom"},
		{"after panic", `{"action":"echo"}`, `{"action":"echo"}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, fnErr := invoke(t, p, tt.event)
			if tt.wantErrType == "" {
				if fnErr != nil || string(resp) != tt.wantResp {
					t.Errorf("Invoke(%s) = %s, %v; want %s", tt.event, resp, fnErr, tt.wantResp)
				}
				return
			}
			if fnErr == nil || fnErr.Type != tt.wantErrType || !strings.Contains(fnErr.Message, tt.wantErrMsg) {
				t.Errorf("Invoke(%s) error = %+v; want type %s message %q", tt.event, fnErr, tt.wantErrType, tt.wantErrMsg)
			}
		})
	}
}

func TestInvokeContext(t *testing.T) {
	p := newTestPool(t, PoolOptions{FunctionName: "echo-fn", Region: "eu-west-1"})
	resp, fnErr := invoke(t, p, `{"action":"context"}`)
	if fnErr != nil {
		t.Fatal(fnErr)
	}
	var got struct {
		RequestID   string `json:"requestId"`
		FunctionArn string `json:"functionArn"`
		DeadlineIn  int64  `json:"deadlineIn"`
	}
	if err := json.Unmarshal(resp, &got); err != nil {
		t.Fatal(err)
	}
	if got.FunctionArn != "arn:aws:lambda:eu-west-1:000000000000:function:echo-fn" {
		t.Errorf("function ARN = %q", got.FunctionArn)
	}
	if got.DeadlineIn <= 0 || got.DeadlineIn > 10000 {
		t.Errorf("deadline in %d ms; want within the 10 s timeout", got.DeadlineIn)
	}
	reports := p.Reports()
	if len(reports) != 1 || reports[0].RequestID != got.RequestID {
		t.Errorf("reports = %+v; want one for request %s", reports, got.RequestID)
	}
}

func TestEnvironmentIsClean(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "/etc/ssl/host-only.pem")
	t.Setenv("SECRET_FROM_HOST", "leak")
	fn := samtemplate.Function{LogicalID: "EchoFunction", Timeout: 10 * time.Second, MemoryMB: 512, Handler: "bootstrap", LogFormat: "JSON", ApplicationLogLevel: "INFO"}
	p := newTestPool(t, PoolOptions{Function: fn, Env: map[string]string{
		"TABLE_NAME":                "sectorhub-local-Table",
		"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:1234",
	}})
	resp, fnErr := invoke(t, p, `{"action":"env"}`)
	if fnErr != nil {
		t.Fatal(fnErr)
	}
	var env map[string]string
	if err := json.Unmarshal(resp, &env); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "EchoFunction",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_LAMBDA_LOG_FORMAT":           "JSON",
		"AWS_LAMBDA_LOG_LEVEL":            "INFO",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/EchoFunction",
		"AWS_REGION":                      "eu-west-2",
		"AWS_DEFAULT_REGION":              "eu-west-2",
		"_HANDLER":                        "bootstrap",
		"TZ":                              ":UTC",
		"TABLE_NAME":                      "sectorhub-local-Table",
		"AWS_ENDPOINT_URL_DYNAMODB":       "http://127.0.0.1:1234",
		"LAMBDA_TASK_ROOT":                filepath.Dir(echoBinary(t)),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s = %q; want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "PATH", "LANG", "LAMBDA_RUNTIME_DIR"} {
		if env[k] == "" {
			t.Errorf("env %s is empty", k)
		}
	}
	for _, k := range []string{"AWS_CA_BUNDLE", "SECRET_FROM_HOST", "HOME", "GOFLAGS"} {
		if v, ok := env[k]; ok {
			t.Errorf("env %s = %q leaked from the host", k, v)
		}
	}
}

// barrier is an HTTP server that the "wait" action calls: it holds each call
// until size calls are waiting, and records whether any process was called
// while already busy.
type barrier struct {
	size      int
	mu        sync.Mutex
	waiting   int
	release   chan struct{}
	busy      map[string]bool
	pids      map[string]int
	overlaps  int
	maxActive int
	active    int
}

func newBarrier(tb testing.TB, size int) (*barrier, string) {
	tb.Helper()
	b := &barrier{size: size, release: make(chan struct{}), busy: map[string]bool{}, pids: map[string]int{}}
	srv := httptest.NewServer(b)
	tb.Cleanup(srv.Close)
	return b, srv.URL
}

// waitActive waits until n invocations are held at the barrier.
func (b *barrier) waitActive(n int) {
	for {
		b.mu.Lock()
		active := b.active
		b.mu.Unlock()
		if active == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (b *barrier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pid := r.URL.Query().Get("pid")
	b.mu.Lock()
	if b.busy[pid] {
		b.overlaps++
	}
	b.busy[pid] = true
	b.pids[pid]++
	b.active++
	b.maxActive = max(b.maxActive, b.active)
	b.waiting++
	release := b.release
	if b.waiting == b.size {
		close(b.release)
		b.release = make(chan struct{})
		b.waiting = 0
	}
	b.mu.Unlock()
	select {
	case <-release:
	case <-r.Context().Done():
	}
	b.mu.Lock()
	b.busy[pid] = false
	b.active--
	b.mu.Unlock()
}

// warmUp leaves n warm, idle processes in p: n invocations held at a barrier until all n
// are running. It returns the barrier and its URL.
func warmUp(tb testing.TB, p *testPool, n int) (*barrier, string) {
	tb.Helper()
	b, url := newBarrier(tb, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { invoke(tb, p, fmt.Sprintf(`{"action":"wait","url":%q}`, url)) })
	}
	wg.Wait()
	return b, url
}

func TestConcurrentInvocationsStartInstances(t *testing.T) {
	tests := []struct {
		name                      string
		maxInstances, invocations int
		barrier                   int
	}{
		{"one instance per concurrent invocation", 4, 4, 4},
		{"limit bounds the instances", 2, 6, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPool(t, PoolOptions{MaxInstances: tt.maxInstances})
			b, url := newBarrier(t, tt.barrier)
			event := fmt.Sprintf(`{"action":"wait","url":%q}`, url)
			var wg sync.WaitGroup
			errs := make(chan error, tt.invocations)
			for range tt.invocations {
				wg.Go(func() {
					_, fnErr, err := p.Invoke(context.Background(), []byte(event))
					if err != nil {
						errs <- err
					} else if fnErr != nil {
						errs <- fnErr
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("Invoke: %v", err)
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			if len(b.pids) != tt.maxInstances {
				t.Errorf("%d invocations ran in %d processes; want %d", tt.invocations, len(b.pids), tt.maxInstances)
			}
			if b.overlaps != 0 {
				t.Errorf("a process got a second invocation while busy %d times; want 0", b.overlaps)
			}
			if b.maxActive > tt.maxInstances {
				t.Errorf("%d invocations ran at once; want at most %d", b.maxActive, tt.maxInstances)
			}
			if got := len(p.Reports()); got != tt.invocations {
				t.Errorf("%d reports; want %d", got, tt.invocations)
			}
			if n := p.Instances(); n != tt.maxInstances {
				t.Errorf("Instances() = %d after the burst; want %d kept warm", n, tt.maxInstances)
			}
		})
	}
}

func TestWarmInstanceIsReused(t *testing.T) {
	p := newTestPool(t, PoolOptions{})
	for range 3 {
		invoke(t, p, `{"action":"echo"}`)
	}
	reports := p.Reports()
	if len(reports) != 3 {
		t.Fatalf("reports = %d; want 3", len(reports))
	}
	for i, r := range reports {
		if r.PID != reports[0].PID {
			t.Errorf("invocation %d ran in pid %d; want the warm pid %d", i, r.PID, reports[0].PID)
		}
		if r.Cold != (i == 0) {
			t.Errorf("invocation %d Cold = %v; want %v", i, r.Cold, i == 0)
		}
	}
	if reports[0].InitDuration <= 0 {
		t.Errorf("cold start InitDuration = %v; want > 0", reports[0].InitDuration)
	}
}

func TestTimeoutKillsInstance(t *testing.T) {
	fn := samtemplate.Function{LogicalID: "SlowFunction", Timeout: time.Second, MemoryMB: 128}
	p := newTestPool(t, PoolOptions{Function: fn})
	_, fnErr := invoke(t, p, `{"action":"sleep","ms":60000}`)
	if fnErr == nil || fnErr.Type != "Sandbox.Timedout" || !strings.Contains(fnErr.Message, "Task timed out after 1.00 seconds") {
		t.Fatalf("error = %+v; want Sandbox.Timedout after 1.00 seconds", fnErr)
	}
	reports := p.Reports()
	if len(reports) != 1 || reports[0].Status != "timeout" {
		t.Fatalf("reports = %+v; want one with status timeout", reports)
	}
	if !processGone(reports[0].PID) {
		t.Errorf("timed-out process %d still exists", reports[0].PID)
	}
	if !strings.Contains(p.log.String(), "Task timed out after 1.00 seconds") {
		t.Errorf("log lacks the timeout line:\n%s", p.log)
	}
	if resp, fnErr := invoke(t, p, `{"action":"echo"}`); fnErr != nil || string(resp) != `{"action":"echo"}` {
		t.Errorf("invoke after timeout = %s, %v", resp, fnErr)
	}
}

func TestCrashDiscardsInstance(t *testing.T) {
	p := newTestPool(t, PoolOptions{})
	_, fnErr := invoke(t, p, `{"action":"crash"}`)
	if fnErr == nil || fnErr.Type != "Runtime.ExitError" || !strings.Contains(fnErr.Message, "Runtime exited with error: exit status 3") {
		t.Fatalf("error = %+v; want Runtime.ExitError with exit status 3", fnErr)
	}
	first := p.Reports()[0]
	if !processGone(first.PID) {
		t.Errorf("crashed process %d still exists", first.PID)
	}
	invoke(t, p, `{"action":"echo"}`)
	second := p.Reports()[1]
	if second.PID == first.PID || !second.Cold {
		t.Errorf("after a crash: pid %d cold %v; want a new cold instance", second.PID, second.Cold)
	}
}

func TestCrashAtInit(t *testing.T) {
	p := newTestPool(t, PoolOptions{Env: map[string]string{"CRASH_AT_INIT": "1"}})
	_, fnErr := invoke(t, p, `{"action":"echo"}`)
	if fnErr == nil || fnErr.Type != "Runtime.ExitError" || !strings.Contains(fnErr.Message, "exit status 1") {
		t.Fatalf("error = %+v; want Runtime.ExitError exit status 1", fnErr)
	}
	if !strings.Contains(p.log.String(), "EchoFunction[1] | crashing at init") {
		t.Errorf("log lacks the process's output:\n%s", p.log)
	}
}

func TestResponseTooLarge(t *testing.T) {
	p := newTestPool(t, PoolOptions{})
	_, fnErr := invoke(t, p, fmt.Sprintf(`{"action":"big","ms":%d}`, MaxPayload+10))
	if fnErr == nil || fnErr.Type != "Function.ResponseSizeTooLarge" {
		t.Errorf("error = %+v; want Function.ResponseSizeTooLarge", fnErr)
	}
	_, _, err := p.Invoke(context.Background(), bytes.Repeat([]byte(" "), MaxPayload+1))
	if !errors.Is(err, ErrPayloadTooLarge) {
		t.Errorf("Invoke(6 MB + 1) = %v; want ErrPayloadTooLarge", err)
	}
}

var reportLine = regexp.MustCompile(`^EchoFunction\[1\] \| REPORT RequestId: ([0-9a-f-]{36})\tDuration: (\d+\.\d\d) ms\tBilled Duration: (\d+) ms\tMemory Size: 256 MB\tMax Memory Used: (\d+) MB(\tInit Duration: (\d+\.\d\d) ms)?$`)

func TestReportLines(t *testing.T) {
	p := newTestPool(t, PoolOptions{})
	invoke(t, p, `{"action":"echo"}`)
	invoke(t, p, `{"action":"echo"}`)
	var reports []string
	var starts, ends int
	for line := range strings.SplitSeq(p.log.String(), "\n") {
		switch {
		case strings.Contains(line, "| REPORT "):
			reports = append(reports, line)
		case strings.Contains(line, "| START RequestId: ") && strings.HasSuffix(line, " Version: $LATEST"):
			starts++
		case strings.Contains(line, "| END RequestId: "):
			ends++
		}
	}
	if len(reports) != 2 || starts != 2 || ends != 2 {
		t.Fatalf("log has %d START, %d END, %d REPORT lines; want 2 each:\n%s", starts, ends, len(reports), p.log)
	}
	for i, line := range reports {
		m := reportLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("REPORT line %q does not match %s", line, reportLine)
			continue
		}
		if cold := m[5] != ""; cold != (i == 0) {
			t.Errorf("REPORT line %d has Init Duration = %v; want %v", i, cold, i == 0)
		}
		if mem, _ := strconv.Atoi(m[4]); mem <= 0 {
			t.Errorf("Max Memory Used = %d MB; want > 0", mem)
		}
		if got := p.Reports()[i].String(); !strings.HasSuffix(line, got) {
			t.Errorf("REPORT line %q does not end with Report.String() %q", line, got)
		}
	}
	if !strings.Contains(p.log.String(), "EchoFunction[1] | echo init") {
		t.Errorf("log lacks the process's own output:\n%s", p.log)
	}
}

func TestCloseLeavesNoProcesses(t *testing.T) {
	p := newTestPool(t, PoolOptions{})
	b, url := warmUp(t, p, 2)
	// Two idle processes now, and one busy in a third invocation that never
	// returns before Close.
	busy := make(chan error, 1)
	go func() {
		_, _, err := p.Invoke(context.Background(), []byte(fmt.Sprintf(`{"action":"wait","url":%q}`, url+"/never")))
		busy <- err
	}()
	b.waitActive(1)
	var pids []int
	for _, r := range p.Reports() {
		pids = append(pids, r.PID)
	}
	b.mu.Lock()
	for pid := range b.pids {
		n, _ := strconv.Atoi(pid)
		pids = append(pids, n)
	}
	b.mu.Unlock()
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-busy; !errors.Is(err, ErrClosed) {
		t.Errorf("invocation in flight at Close = %v; want ErrClosed", err)
	}
	for _, pid := range pids {
		if !processGone(pid) {
			t.Errorf("process %d survived Close", pid)
		}
	}
	if _, _, err := p.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close = %v; want ErrClosed", err)
	}
}

func TestIdleInstancesAreReaped(t *testing.T) {
	p := newTestPool(t, PoolOptions{IdleTimeout: 200 * time.Millisecond})
	invoke(t, p, `{"action":"echo"}`)
	pid := p.Reports()[0].PID
	for p.Instances() != 0 {
		time.Sleep(20 * time.Millisecond)
	}
	if !processGone(pid) {
		t.Errorf("reaped process %d still exists", pid)
	}
}

func TestBuildFailureShowsCompilerOutput(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":        "module broken\n\ngo 1.22\n",
		"fn/main.go":    "package main\n\nfunc main() { undefinedThing() }\n",
		"ok/main.go":    "package main\n\nfunc main() {}\n",
		"template.yaml": "Resources:\n  BrokenFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn\n  OkFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: ok\n",
	}
	testenv.WriteFiles(t, dir, files)
	tmpl, err := samtemplate.Load(filepath.Join(dir, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(context.Background(), tmpl, t.TempDir(), nil)
	if err == nil {
		t.Fatal("Build succeeded; want a compile error")
	}
	be, ok := errors.AsType[*BuildError](err)
	if !ok || be.Function != "BrokenFunction" {
		t.Fatalf("Build error = %v; want a *BuildError for BrokenFunction", err)
	}
	for _, want := range []string{"build BrokenFunction (./fn)", "undefined: undefinedThing", "main.go:3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Build error %q lacks %q", err, want)
		}
	}
}

func TestBuildTemplateFunctions(t *testing.T) {
	dir := t.TempDir()
	tmpl, err := samtemplate.Parse(filepath.Join(".", "template.yaml"), []byte("Resources:\n  EchoFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: testdata/echo\n"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []BuildStep
	bins, err := Build(context.Background(), tmpl, dir, func(s BuildStep) { steps = append(steps, s) })
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 || steps[0] != (BuildStep{Function: "EchoFunction", Package: "./testdata/echo"}) ||
		!steps[1].Done || steps[1].Function != "EchoFunction" || steps[1].Took <= 0 || steps[1].Err != nil {
		t.Errorf("progress = %+v; want EchoFunction's start, then its end with the time it took", steps)
	}
	want := filepath.Join(dir, "EchoFunction", "bootstrap")
	if bins["EchoFunction"] != want {
		t.Fatalf("Build = %v; want EchoFunction → %s", bins, want)
	}
	p := newTestPool(t, PoolOptions{Binary: want})
	if resp, fnErr := invoke(t, p, `{"action":"echo"}`); fnErr != nil || string(resp) != `{"action":"echo"}` {
		t.Errorf("built binary answered %s, %v", resp, fnErr)
	}
}

func TestInvokeHonoursContext(t *testing.T) {
	p := newTestPool(t, PoolOptions{MaxInstances: 1})
	b, url := newBarrier(t, 2)
	first := make(chan error, 1)
	go func() {
		_, _, err := p.Invoke(context.Background(), []byte(fmt.Sprintf(`{"action":"wait","url":%q}`, url)))
		first <- err
	}()
	b.waitActive(1)
	// The only instance is busy: a second invocation waits, and gives up
	// with its context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := p.Invoke(ctx, []byte(`{"action":"echo"}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("Invoke with a cancelled context while the pool is full = %v; want context.Canceled", err)
	}
	b.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/?pid=test", nil)) // release the barrier
	if err := <-first; err != nil {
		t.Errorf("first invocation: %v", err)
	}
}

// TestOutputBeforeEnd: what a process writes during an invocation is logged before the
// invocation's END and REPORT lines, as CloudWatch shows it, however much it writes.
func TestOutputBeforeEnd(t *testing.T) {
	p := newTestPool(t, PoolOptions{})
	const lines = 400
	var ids []string
	for range 5 {
		resp, fnErr := invoke(t, p, fmt.Sprintf(`{"action":"log","lines":%d}`, lines))
		var got struct {
			RequestID string `json:"requestId"`
		}
		if fnErr != nil || json.Unmarshal(resp, &got) != nil || got.RequestID == "" {
			t.Fatalf("log action = %s, %v", resp, fnErr)
		}
		ids = append(ids, got.RequestID)
	}
	log := p.log.String()
	for _, id := range ids {
		end := strings.Index(log, "| END RequestId: "+id)
		if end < 0 {
			t.Fatalf("no END line for %s", id)
		}
		if n := strings.Count(log[:end], " of "+id+" "); n != lines {
			t.Errorf("%d of the %d lines of %s come before its END line; want all", n, lines, id)
		}
	}
}

// TestCloseIsQuiet: stopping a pool of several warm processes logs nothing about them (no
// failed /next, no exit statuses).
func TestCloseIsQuiet(t *testing.T) {
	p := newTestPool(t, PoolOptions{})
	b, _ := warmUp(t, p, 3)
	if n := p.Instances(); n != 3 {
		t.Fatalf("Instances() = %d; want 3", n)
	}
	before := len(p.log.String())
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if after := p.log.String()[before:]; after != "" {
		t.Errorf("Close logged:\n%s\nwant nothing", after)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for pid := range b.pids {
		n, _ := strconv.Atoi(pid)
		if !processGone(n) {
			t.Errorf("process %d survived Close", n)
		}
	}
}

// TestInvokeWithRequestID: the caller's request ID is the one the process and the report see,
// on every invocation that carries it (Lambda's retries of an asynchronous invocation).
func TestInvokeWithRequestID(t *testing.T) {
	p := newTestPool(t, PoolOptions{})
	id := NewRequestID()
	for attempt := range 2 {
		resp, fnErr, err := p.InvokeWithRequestID(context.Background(), id, []byte(`{"action":"context"}`))
		if err != nil || fnErr != nil {
			t.Fatalf("attempt %d: %v, %v", attempt, err, fnErr)
		}
		var got struct {
			RequestID string `json:"requestId"`
		}
		if err := json.Unmarshal(resp, &got); err != nil || got.RequestID != id {
			t.Errorf("attempt %d: the process saw request ID %q; want %q", attempt, got.RequestID, id)
		}
	}
	for _, r := range p.Reports() {
		if r.RequestID != id {
			t.Errorf("report for request %s; want %s", r.RequestID, id)
		}
	}
}

// TestCrashBusy: CrashBusy ends the process running an invocation, which fails as a crash
// does, and leaves idle processes alone; the next invocation gets a new process.
func TestCrashBusy(t *testing.T) {
	p := newTestPool(t, PoolOptions{})
	// Two warm processes; then one of them busy, held at a barrier, and the other idle.
	warmUp(t, p, 2)
	b, url := newBarrier(t, 2)
	done := make(chan *FunctionError, 1)
	go func() {
		_, fnErr := invoke(t, p, fmt.Sprintf(`{"action":"wait","url":%q}`, url))
		done <- fnErr
	}()
	b.waitActive(1)
	ids := p.CrashBusy()
	fnErr := <-done
	if fnErr == nil || fnErr.Type != "Runtime.ExitError" || !strings.Contains(fnErr.Message, "signal: killed") {
		t.Fatalf("the crashed invocation's error = %+v; want Runtime.ExitError, signal: killed", fnErr)
	}
	reports := p.Reports()
	crashed := reports[len(reports)-1]
	if len(ids) != 1 || ids[0] != crashed.RequestID || crashed.Status != "error" {
		t.Errorf("CrashBusy = %v, report %+v; want the crashed request's ID and an error report", ids, crashed)
	}
	idle := reports[0].PID
	if idle == crashed.PID {
		idle = reports[1].PID
	}
	if processGone(idle) || !processGone(crashed.PID) {
		t.Errorf("idle process %d gone = %v, busy process %d gone = %v; want only the busy one gone", idle, processGone(idle), crashed.PID, processGone(crashed.PID))
	}
	if got := p.CrashBusy(); len(got) != 0 {
		t.Errorf("CrashBusy with nothing running = %v; want none", got)
	}
	if resp, fnErr := invoke(t, p, `{"action":"echo"}`); fnErr != nil || string(resp) != `{"action":"echo"}` {
		t.Errorf("invoke after the crash = %s, %v", resp, fnErr)
	}
}

// TestOutputMarks: a mark is taken out of a process's output wherever the pipe's reads split
// it, and text that only looks like the start of a mark is kept.
func TestOutputMarks(t *testing.T) {
	mark := "\x00lambdart-mark-test-"
	stream := "a\nb" + mark + fmt.Sprintf("%016x", 7) + "c\n\x00lam\n"
	for split := range len(stream) + 1 {
		var buf bytes.Buffer
		o := &output{log: NewLineLog(&buf).writer("p"), mark: []byte(mark), changed: make(chan struct{})}
		rest := o.scan([]byte(stream[:split]))
		rest = o.scan(append(rest, stream[split:]...))
		_, _ = o.log.Write(rest)
		o.log.flush()
		if want := "p | a\np | bc\np | \x00lam\n"; buf.String() != want || o.reached != 7 {
			t.Errorf("split at %d: logged %q, reached mark %d; want %q, mark 7", split, buf.String(), o.reached, want)
		}
	}
}
