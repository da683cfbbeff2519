// Package lambdart runs Lambda function binaries locally under an
// implementation of the Lambda Runtime API
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), the way
// the provided.al2023 runtime runs them: one process (an execution
// environment) handles one invocation at a time; concurrent invocations start
// more processes, up to a limit; a process is killed on timeout and discarded
// when it crashes; idle processes stay warm until reaped. Each invocation ends
// with a REPORT line like Lambda's.
package lambdart

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"sectorhub/infra/samtemplate"
)

// MaxPayload is Lambda's limit on a synchronous invocation's request and
// response payloads (6 MB).
const MaxPayload = 6 * 1024 * 1024

// ErrClosed is returned by Invoke on a closed pool.
var ErrClosed = errors.New("lambdart: pool closed")

// ErrPayloadTooLarge is returned by Invoke for a payload over MaxPayload, as
// Lambda's Invoke API answers RequestEntityTooLargeException.
var ErrPayloadTooLarge = errors.New("request payload exceeds the 6291456 byte limit (RequestEntityTooLargeException)")

// FunctionError is an invocation's failure as Lambda reports it to the caller:
// an error the handler returned or panicked with, or one Lambda made up
// (Sandbox.Timedout, Runtime.ExitError, Function.ResponseSizeTooLarge).
type FunctionError struct {
	Message    string `json:"errorMessage"`
	Type       string `json:"errorType"`
	StackTrace any    `json:"stackTrace,omitempty"`
}

func (e *FunctionError) Error() string {
	if e.Type == "" {
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// Report describes one finished invocation, as Lambda's REPORT line does.
type Report struct {
	FunctionName string
	RequestID    string
	Instance     int // the instance's number within its pool, from 1
	PID          int
	Duration     time.Duration
	// BilledDuration is Duration plus, on a cold start, InitDuration, rounded
	// up to the millisecond, as Lambda bills provided runtimes.
	BilledDuration time.Duration
	// InitDuration is the time from process start to its first request for
	// an invocation; it is set on the instance's first invocation only.
	InitDuration time.Duration
	Cold         bool
	MemorySizeMB int
	MaxMemoryMB  int    // the process's peak resident set (VmHWM); 0 when unknown
	Status       string // "success", "error" or "timeout"
	ErrorType    string // the FunctionError's type for status "error"
}

// String formats r as Lambda's REPORT line.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB",
		r.RequestID, ms(r.Duration), r.BilledDuration.Milliseconds(), r.MemorySizeMB, r.MaxMemoryMB)
	if r.Cold {
		fmt.Fprintf(&b, "\tInit Duration: %.2f ms", ms(r.InitDuration))
	}
	switch r.Status {
	case "timeout":
		b.WriteString("\tStatus: timeout")
	case "error":
		if r.ErrorType == "Runtime.ExitError" || r.ErrorType == "Sandbox.Timedout" {
			fmt.Fprintf(&b, "\tStatus: error\tError Type: %s", r.ErrorType)
		}
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// PoolOptions configure a Pool.
type PoolOptions struct {
	// Function supplies the logical ID, Timeout, MemoryMB, Handler and log
	// settings; a bare Function{LogicalID, Timeout, MemoryMB} will do.
	Function samtemplate.Function
	// FunctionName is the function's name in the environment and ARN
	// (AWS_LAMBDA_FUNCTION_NAME); Function.LogicalID when empty.
	FunctionName string
	Binary       string // the bootstrap executable
	// Env is added to the environment Lambda itself provides: the
	// function's resolved template Environment and local endpoint overrides.
	Env       map[string]string
	Region    string // "eu-west-2" when empty
	AccountID string // "000000000000" when empty
	// MaxInstances bounds the number of concurrent processes (10 when 0).
	MaxInstances int
	// IdleTimeout is how long an idle process stays warm (10 minutes when 0).
	IdleTimeout time.Duration
	// InitTimeout bounds the time from process start to its first request
	// for an invocation (10 seconds when 0, as Lambda's init phase).
	InitTimeout time.Duration
	// Log receives the processes' output, each line prefixed with the
	// function name and instance number, and the START, END and REPORT lines.
	// Nil discards it.
	Log io.Writer
	// OnReport, if set, is called after every invocation.
	OnReport func(Report)
}

// Pool runs the processes of one function and routes invocations to them.
type Pool struct {
	opts    PoolOptions
	name    string
	log     *LineLog
	ln      net.Listener
	srv     *http.Server
	closing chan struct{} // closed by Close

	mu        sync.Mutex
	instances map[int]*instance
	idle      []*instance // most recently used last
	live      int         // instances started or starting
	nextID    int
	closed    bool
	changed   chan struct{} // closed and replaced whenever an instance frees up or goes away
	procs     sync.WaitGroup
	runs      sync.WaitGroup
}

// NewPool starts the Runtime API endpoint for one function; processes start
// on demand.
func NewPool(opts PoolOptions) (*Pool, error) {
	if opts.Binary == "" {
		return nil, errors.New("lambdart: no binary")
	}
	if opts.FunctionName == "" {
		opts.FunctionName = opts.Function.LogicalID
	}
	if opts.Region == "" {
		opts.Region = "eu-west-2"
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = 10
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 10 * time.Minute
	}
	if opts.InitTimeout <= 0 {
		opts.InitTimeout = 10 * time.Second
	}
	if opts.Function.Timeout <= 0 {
		opts.Function.Timeout = 3 * time.Second
	}
	if opts.Function.MemoryMB <= 0 {
		opts.Function.MemoryMB = 128
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdart: runtime API listener: %w", err)
	}
	p := &Pool{
		opts:      opts,
		name:      opts.FunctionName,
		log:       NewLineLog(opts.Log),
		ln:        ln,
		closing:   make(chan struct{}),
		instances: map[int]*instance{},
		changed:   make(chan struct{}),
	}
	p.srv = &http.Server{Handler: p.runtimeAPI(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	go p.reap()
	return p, nil
}

// Name returns the function's name.
func (p *Pool) Name() string { return p.name }

// Instances returns the number of live processes.
func (p *Pool) Instances() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.live
}

// Invoke runs one invocation of the function with payload and returns its
// response, or the function's error (a FunctionError, a normal outcome), or
// an error from the pool itself (closed, ctx done, payload too large).
// If ctx ends while the invocation runs, Invoke returns ctx.Err() and the
// invocation runs to its end in the background, as Lambda's would.
func (p *Pool) Invoke(ctx context.Context, payload []byte) ([]byte, *FunctionError, error) {
	return p.InvokeWithRequestID(ctx, NewRequestID(), payload)
}

// InvokeWithRequestID is Invoke with the request ID the process sees
// (Lambda-Runtime-Aws-Request-Id) chosen by the caller: Lambda keeps an
// asynchronous invocation's request ID across its retries.
func (p *Pool) InvokeWithRequestID(ctx context.Context, id string, payload []byte) ([]byte, *FunctionError, error) {
	if len(payload) > MaxPayload {
		return nil, nil, ErrPayloadTooLarge
	}
	for attempt := 0; ; attempt++ {
		inst, err := p.acquire(ctx)
		if err != nil {
			return nil, nil, err
		}
		inv := &invocation{
			id:        id,
			payload:   payload,
			delivered: make(chan struct{}),
			done:      make(chan result, 1),
			outcome:   make(chan result, 1),
		}
		p.runs.Add(1)
		go p.run(inst, inv)
		select {
		case r := <-inv.outcome:
			if r.undelivered && attempt < 3 {
				continue // a warm process died before taking it: use another
			}
			return r.resp, r.fnErr, r.err
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

type invocation struct {
	id          string
	payload     []byte
	deadline    time.Time     // set when delivered
	deliveredAt time.Time     // set when delivered
	delivered   chan struct{} // closed once a process has taken the invocation
	done        chan result   // the process's answer
	outcome     chan result   // what Invoke returns
}

type result struct {
	resp  []byte
	fnErr *FunctionError
	err   error
	at    time.Time // when the answer came
	// undelivered means a warm process exited before taking the invocation;
	// Invoke tries another.
	undelivered bool
}

// run drives one invocation on inst to its end, reports it, releases inst
// (unless it died or was killed) and hands the outcome to Invoke.
func (p *Pool) run(inst *instance, inv *invocation) {
	defer p.runs.Done()
	r, status := p.execute(inst, inv)
	if r.err != nil || r.undelivered {
		inv.outcome <- r
		return
	}
	rep := Report{
		FunctionName: p.name,
		RequestID:    inv.id,
		Instance:     inst.id,
		PID:          inst.pid,
		MemorySizeMB: p.opts.Function.MemoryMB,
		MaxMemoryMB:  peakMemoryMB(inst.pid),
		Status:       status,
	}
	if isClosed(inv.delivered) && !r.at.IsZero() {
		rep.Duration = r.at.Sub(inv.deliveredAt)
	}
	if r.fnErr != nil {
		rep.ErrorType = r.fnErr.Type
	}
	if !inst.reported {
		inst.reported = true
		rep.Cold = true
		rep.InitDuration = time.Duration(inst.initDuration.Load())
	}
	billed := rep.Duration
	if rep.Cold {
		billed += rep.InitDuration
	}
	rep.BilledDuration = (billed + time.Millisecond - 1).Truncate(time.Millisecond)
	if status != "timeout" {
		inst.out.sync(outputSyncLimit)
		p.log.Printf(inst.prefix, "END RequestId: %s", inv.id)
	}
	p.log.Printf(inst.prefix, "%s", rep)
	if p.opts.OnReport != nil {
		p.opts.OnReport(rep)
	}
	// Release before answering, so that a caller invoking again at once
	// finds this instance warm.
	p.release(inst)
	inv.outcome <- r
}

// execute hands inv to inst and waits for the answer, the deadline or the
// process's end; it returns the outcome and the report's status.
func (p *Pool) execute(inst *instance, inv *invocation) (result, string) {
	inst.work <- inv
	cold := !inst.initDone.Load()
	var initTimeout <-chan time.Time
	if cold {
		t := time.NewTimer(p.opts.InitTimeout)
		defer t.Stop()
		initTimeout = t.C
	}
	select {
	case <-inv.delivered:
	case <-inst.exited:
		if isClosed(inv.delivered) {
			// Taken, then the process died: that is this invocation's crash.
			if r, ok := answered(inv); ok {
				return r, status(r)
			}
			return result{fnErr: exitError(inv.id, inst.waitErr), at: time.Now()}, "error"
		}
		if !cold {
			return result{undelivered: true}, ""
		}
		inst.mu.Lock()
		initErr := inst.initErr
		inst.mu.Unlock()
		if initErr != nil {
			return result{fnErr: initErr}, "error"
		}
		return result{fnErr: exitError(inv.id, inst.waitErr)}, "error"
	case <-initTimeout:
		p.log.Printf(inst.prefix, "init did not finish within %v; killing the process", p.opts.InitTimeout)
		p.kill(inst)
		return result{fnErr: &FunctionError{Type: "Runtime.InitError", Message: fmt.Sprintf("RequestId: %s Error: init timed out after %.2f seconds", inv.id, p.opts.InitTimeout.Seconds())}}, "error"
	case <-p.closing:
		return result{err: ErrClosed}, ""
	}
	timeout := time.NewTimer(time.Until(inv.deadline))
	defer timeout.Stop()
	select {
	case r := <-inv.done:
		return r, status(r)
	case <-inst.exited:
		if r, ok := answered(inv); ok {
			return r, status(r)
		}
		return result{fnErr: exitError(inv.id, inst.waitErr), at: time.Now()}, "error"
	case <-timeout.C:
		if r, ok := answered(inv); ok {
			return r, status(r)
		}
		at := time.Now()
		secs := p.opts.Function.Timeout.Seconds()
		inst.out.sync(outputSyncLimit)
		p.log.Printf(inst.prefix, "%s %s Task timed out after %.2f seconds", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, secs)
		p.log.Printf(inst.prefix, "END RequestId: %s", inv.id)
		p.kill(inst)
		return result{fnErr: &FunctionError{Type: "Sandbox.Timedout", Message: fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, secs)}, at: at}, "timeout"
	case <-p.closing:
		return result{err: ErrClosed}, ""
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func answered(inv *invocation) (result, bool) {
	select {
	case r := <-inv.done:
		return r, true
	default:
		return result{}, false
	}
}

func status(r result) string {
	if r.fnErr != nil {
		return "error"
	}
	return "success"
}

// outputSyncLimit bounds the wait for a process's output before its END line: the output is
// only late if the stack's own log is blocked.
const outputSyncLimit = 5 * time.Second

func exitError(requestID string, err error) *FunctionError {
	msg := "exit status 0"
	if err != nil {
		msg = err.Error()
	}
	return &FunctionError{Type: "Runtime.ExitError", Message: fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %s", requestID, msg)}
}

// acquire returns an idle instance, or starts one while under the limit, or
// waits for one to free up.
func (p *Pool) acquire(ctx context.Context) (*instance, error) {
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		if n := len(p.idle); n > 0 {
			inst := p.idle[n-1]
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			return inst, nil
		}
		if p.live < p.opts.MaxInstances {
			p.live++
			p.nextID++
			id := p.nextID
			p.mu.Unlock()
			inst, err := p.start(id)
			if err != nil {
				p.mu.Lock()
				p.live--
				p.signal()
				p.mu.Unlock()
				return nil, err
			}
			return inst, nil
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		p.mu.Lock()
	}
}

// signal wakes acquirers; p.mu must be held.
func (p *Pool) signal() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Pool) release(inst *instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-inst.exited:
		return
	default:
	}
	if p.closed {
		return
	}
	inst.lastUsed = time.Now()
	p.idle = append(p.idle, inst)
	p.signal()
}

// reap kills instances idle for longer than IdleTimeout.
func (p *Pool) reap() {
	tick := time.NewTicker(min(p.opts.IdleTimeout/4, time.Minute))
	defer tick.Stop()
	for {
		select {
		case <-p.closing:
			return
		case now := <-tick.C:
			p.mu.Lock()
			var stale []*instance
			keep := p.idle[:0]
			for _, inst := range p.idle {
				if now.Sub(inst.lastUsed) > p.opts.IdleTimeout {
					stale = append(stale, inst)
				} else {
					keep = append(keep, inst)
				}
			}
			p.idle = keep
			p.mu.Unlock()
			for _, inst := range stale {
				p.stop(inst)
			}
		}
	}
}

// CrashBusy ends at once every process that is running an invocation, as a crash of the
// function would (Lambda's SIGKILL on a fatal error): each invocation fails with
// Runtime.ExitError and the process is replaced when next needed. It returns the request
// IDs of the invocations it ended, sorted. Tests use it to see what a retry does after a
// crash.
func (p *Pool) CrashBusy() []string {
	type victim struct {
		inst *instance
		pid  int
	}
	var victims []victim
	var ids []string
	p.mu.Lock()
	for _, inst := range p.instances {
		inst.mu.Lock()
		if inst.current != nil && inst.pid != 0 {
			victims = append(victims, victim{inst, inst.pid})
			ids = append(ids, inst.current.id)
		}
		inst.mu.Unlock()
	}
	p.mu.Unlock()
	for _, v := range victims {
		killGroup(v.pid, syscall.SIGKILL)
		<-v.inst.exited
	}
	sort.Strings(ids)
	return ids
}

// Close kills every process and waits for them to exit. Invocations in
// flight fail with ErrClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.closing)
	p.signal()
	all := make([]*instance, 0, len(p.instances))
	for _, inst := range p.instances {
		inst.killed = true // a process ending now is part of the stop, not news
		all = append(all, inst)
	}
	p.idle = nil
	p.mu.Unlock()
	for _, inst := range all {
		p.kill(inst)
	}
	p.procs.Wait()
	p.runs.Wait()
	err := p.srv.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("lambdart: close %s: %w", p.name, err)
	}
	return nil
}

// instance is one process (execution environment) of the pool.
type instance struct {
	id      int
	pid     int
	prefix  string
	cmd     *exec.Cmd
	out     *output
	started time.Time
	work    chan *invocation // at most one invocation waiting for /next
	exited  chan struct{}    // closed when the process has exited
	waitErr error            // set before exited closes
	killed  bool             // by the pool (timeout, reap, close), under pool mu

	initDone     atomic.Bool
	initDuration atomic.Int64 // nanoseconds from start to the first /next
	extension    atomic.Bool  // an internal extension registered (SIGTERM wanted)
	reported     bool         // the cold-start report was made (run goroutines are serial per instance)
	lastUsed     time.Time    // under pool mu

	mu      sync.Mutex
	current *invocation    // taken by /next, not yet answered
	initErr *FunctionError // reported to /init/error
}

func (p *Pool) start(id int) (*instance, error) {
	inst := &instance{
		id:     id,
		prefix: fmt.Sprintf("%s[%d]", p.name, id),
		work:   make(chan *invocation, 1),
		exited: make(chan struct{}),
	}
	out, err := newOutput(p.log.writer(inst.prefix))
	if err != nil {
		return nil, fmt.Errorf("lambdart: start %s: output pipe: %w", p.name, err)
	}
	go out.read()
	inst.out = out
	cmd := exec.Command(p.opts.Binary)
	cmd.Dir = filepath.Dir(p.opts.Binary)
	cmd.Env = p.environ(id)
	cmd.Stdout = out.w
	cmd.Stderr = out.w
	cmd.SysProcAttr = sysProcAttr()
	inst.cmd = cmd
	inst.started = time.Now()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		out.close(0)
		return nil, ErrClosed
	}
	p.instances[id] = inst
	p.mu.Unlock()
	if err := cmd.Start(); err != nil {
		p.mu.Lock()
		delete(p.instances, id)
		p.mu.Unlock()
		out.close(0)
		close(inst.exited) // nothing to wait for: a kill racing with this start returns
		return nil, fmt.Errorf("lambdart: start %s: %w", p.name, err)
	}
	// kill and stop read the pid under p.mu, never cmd.Process, which Start writes; a kill
	// that came while the process was starting is carried out now.
	p.mu.Lock()
	inst.pid = cmd.Process.Pid
	killedEarly := inst.killed
	p.mu.Unlock()
	if killedEarly {
		killGroup(inst.pid, syscall.SIGKILL)
	}
	p.procs.Add(1)
	go func() {
		defer p.procs.Done()
		err := cmd.Wait()
		out.close(time.Second)
		p.mu.Lock()
		inst.waitErr = err
		killed := inst.killed || p.closed
		delete(p.instances, id)
		for i, idle := range p.idle {
			if idle == inst {
				p.idle = append(p.idle[:i], p.idle[i+1:]...)
				break
			}
		}
		p.live--
		p.signal()
		p.mu.Unlock()
		close(inst.exited)
		if !killed {
			p.log.Printf(inst.prefix, "process exited: %v", exitText(err))
		}
	}()
	return inst, nil
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// kill ends inst's process group at once (Lambda's SIGKILL) and waits for it.
func (p *Pool) kill(inst *instance) {
	p.mu.Lock()
	inst.killed = true
	pid := inst.pid
	p.mu.Unlock()
	select {
	case <-inst.exited:
		return
	default:
	}
	if pid != 0 {
		killGroup(pid, syscall.SIGKILL)
	}
	<-inst.exited
}

// stop shuts an idle instance down: SIGTERM and 500 ms of grace when the
// function registered an extension (aws-lambda-go's WithEnableSIGTERM does),
// as Lambda does, then SIGKILL.
func (p *Pool) stop(inst *instance) {
	p.mu.Lock()
	pid := inst.pid
	p.mu.Unlock()
	if inst.extension.Load() && pid != 0 {
		p.mu.Lock()
		inst.killed = true
		p.mu.Unlock()
		killGroup(pid, syscall.SIGTERM)
		select {
		case <-inst.exited:
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
	p.kill(inst)
}

func (p *Pool) instance(r *http.Request) *instance {
	id, err := strconv.Atoi(r.PathValue("inst"))
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.instances[id]
}

// environ builds the process environment from scratch, as Lambda does: the
// variables Lambda defines, then the caller's (template and endpoint) ones.
func (p *Pool) environ(id int) []string {
	fn := p.opts.Function
	handler := fn.Handler
	if handler == "" {
		handler = "bootstrap"
	}
	dir := filepath.Dir(p.opts.Binary)
	env := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        p.name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + p.name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + randomHex(16),
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      p.opts.Region,
		"AWS_DEFAULT_REGION":              p.opts.Region,
		"AWS_ACCESS_KEY_ID":               "local",
		"AWS_SECRET_ACCESS_KEY":           "local",
		"AWS_SESSION_TOKEN":               "local",
		"_HANDLER":                        handler,
		"LAMBDA_TASK_ROOT":                dir,
		"LAMBDA_RUNTIME_DIR":              dir,
		"TZ":                              ":UTC",
		"LANG":                            "en_US.UTF-8",
		"PATH":                            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
	}
	if strings.EqualFold(fn.LogFormat, "JSON") {
		env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
		if fn.ApplicationLogLevel != "" {
			env["AWS_LAMBDA_LOG_LEVEL"] = fn.ApplicationLogLevel
		}
	}
	for k, v := range p.opts.Env {
		env[k] = v
	}
	env["AWS_LAMBDA_RUNTIME_API"] = fmt.Sprintf("%s/i/%d", p.ln.Addr(), id)
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// peakMemoryMB reads a process's peak resident set size (VmHWM) in MB,
// rounded up; 0 where /proc is not available.
func peakMemoryMB(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				return 0
			}
			return (kb + 1023) / 1024
		}
	}
	return 0
}

// NewRequestID returns a new request ID in Lambda's form (a random UUID).
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
