// Package localstack runs the whole product on one machine without Docker:
// it reads template.yaml, builds every function and runs it under the local
// Lambda runtime (lambdart), serves the HTTP API with payload-2.0 events and
// the JWT authorizer, an embedded DynamoDB-compatible endpoint with the
// template's tables, an S3 endpoint whose uploads trigger functions as S3
// notifications do (and that checks presigned URLs as S3 does), an SES endpoint
// that captures mail (and publishes the mailbox simulator's bounces and complaints
// to the functions subscribed to the SNS topics of the template's configuration
// sets, sns.go), and, when asked, the template's schedules fired on their
// timetable.
//
// `go run ./infra/local` is its command; end-to-end tests start it with Start.
package localstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/localstack/lambdart"
	"sectorhub/infra/localstack/s3local"
	"sectorhub/infra/localstack/sescapture"
	"sectorhub/infra/localstack/staffauth"
	"sectorhub/infra/samtemplate"
	"sectorhub/infra/seed"
)

// DefaultTablePrefix prefixes the logical ID to name each local table.
const DefaultTablePrefix = "sectorhub-local-"

// Options configure a Stack. Addresses may use port 0 for a free port.
type Options struct {
	Root     string // the repository root; template.yaml is read from there
	Template string // the template's path; Root/template.yaml when empty

	Addr    string // HTTP API; "127.0.0.1:3000" when empty
	S3Addr  string // S3 endpoint; "127.0.0.1:4569" when empty
	SESAddr string // SES endpoint; "127.0.0.1:4579" when empty
	// SES configures the SES capture: its sending limits (none when zero; `go run ./infra/local`
	// sets SES's default production ones) and how many messages it keeps. The limits apply
	// once Start has seeded, so that the seed's burst of booking mail is not throttled. The
	// stack sets its ConfigurationSets (the template's) and calls its OnSent after its own.
	SES sescapture.Options

	// DynamoDBEndpoint is an existing DynamoDB endpoint (DynamoDB Local, or
	// any other) to use instead of the embedded one. Either way the functions
	// talk to it through a counting proxy (see DynamoDBRequests).
	DynamoDBEndpoint string
	// TablePrefix prefixes the logical ID to name each table;
	// "sectorhub-local-" when empty.
	TablePrefix string

	Seed bool // publish infra/seed's sample content through the upload path at start
	// DataDir, if set, keeps the stack's content across restarts (see datadir.go): saved there
	// at Close, restored at Start instead of seeding.
	DataDir      string
	MaxInstances int // processes per function; 10 when 0

	// BuildDir receives the function binaries; a per-checkout directory
	// under the user's cache directory when empty.
	BuildDir string
	// StaffKeyPath is the staff token signing key; staffauth.DefaultKeyPath()
	// when empty (shared with `go run ./infra/local token`).
	StaffKeyPath string
	// AsyncRetryDelay is the delay before retrying a failed asynchronous
	// (S3-triggered or scheduled) invocation; doubled for the second retry. Lambda waits a
	// minute; the local stack 1 s unless set.
	AsyncRetryDelay time.Duration

	// Schedules fires every Schedule and ScheduleV2 trigger of the template on its own
	// timetable (schedules.go); without it they fire only by hand (POST /_local/invoke).
	Schedules bool
	// Clock is the time schedules fire by; the system clock when nil.
	Clock Clock

	// EnforcePolicies refuses a function's DynamoDB request that its template policy does not
	// allow, with AccessDeniedException as DynamoDB would; without it such a request is only
	// reported (the log's "iam" lines, PolicyDenials). See iam.go.
	EnforcePolicies bool

	// Parameters give template parameters values, over their Defaults. Parameters the
	// template declares without a Default get local values (LocalParameters) unless given here.
	Parameters map[string]string

	Log      io.Writer             // the stack's and the functions' log; discarded when nil
	OnReport func(lambdart.Report) // called after every invocation, if set
}

// Stack is a running local stack.
type Stack struct {
	opts   Options
	tmpl   *samtemplate.Template
	names  map[string]string // physical names by logical ID
	log    *lambdart.LineLog
	issuer *staffauth.Issuer

	pools     map[string]*lambdart.Pool
	servers   []*server
	api       *server
	s3        *server
	ses       *server
	dynamo    *server
	s3local   *s3local.Server
	s3Buckets []string
	outbox    *sescapture.Outbox
	dynamoN   atomic.Int64
	gateway   *gateway
	async     tracker
	closing   chan struct{}
	closeMu   sync.Mutex
	closed    bool
	started   bool         // Start succeeded: there is content worth saving to DataDir
	failures  atomic.Int64 // async invocations that failed for good

	clock      Clock
	timetables []*timetable   // with Options.Schedules
	timers     sync.WaitGroup // runTimetable goroutines

	iam               *policyChecker    // the functions' policies, for their DynamoDB requests
	subscriptions     []snsSubscription // the functions' SNS events
	configurationSets []string          // the names of the template's SES configuration sets
	mailDestinations  []mailDestination // enabled SES event destinations publishing to SNS
}

// server is one HTTP listener of the stack.
type server struct {
	name string
	ln   net.Listener
	srv  *http.Server
}

func (s *server) URL() string { return "http://" + s.ln.Addr().String() }

// Start builds and starts the stack; ctx bounds the start (build, seeding)
// only. Close stops it.
func Start(ctx context.Context, opts Options) (st *Stack, err error) {
	if opts.Root == "" {
		opts.Root = "."
	}
	if opts.Template == "" {
		opts.Template = filepath.Join(opts.Root, "template.yaml")
	}
	opts.Addr = cmp.Or(opts.Addr, "127.0.0.1:3000")
	opts.S3Addr = cmp.Or(opts.S3Addr, "127.0.0.1:4569")
	opts.SESAddr = cmp.Or(opts.SESAddr, "127.0.0.1:4579")
	opts.TablePrefix = cmp.Or(opts.TablePrefix, DefaultTablePrefix)
	if opts.AsyncRetryDelay <= 0 {
		opts.AsyncRetryDelay = time.Second
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	opts.Log = &syncWriter{w: opts.Log}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	s := &Stack{opts: opts, log: lambdart.NewLineLog(opts.Log), pools: map[string]*lambdart.Pool{}, closing: make(chan struct{}), clock: opts.Clock}
	s.async.init()
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()

	if s.tmpl, err = samtemplate.Load(opts.Template); err != nil {
		return nil, err
	}
	for _, r := range s.tmpl.Routes {
		if r.PayloadFormatVersion != "2.0" {
			return nil, fmt.Errorf("%s: %s event %s: payload format %s is not supported by the local stack (only 2.0)", s.tmpl.Path, r.FunctionID, r.EventID, r.PayloadFormatVersion)
		}
	}
	// Claim the ports before the slow build, so a busy port fails fast.
	if s.api, err = s.listen("api", opts.Addr, "--addr"); err != nil {
		return nil, err
	}
	s.setParameters()
	if s.names, err = s.tmpl.LocalNames(s.TableName); err != nil {
		return nil, err
	}
	if err := s.loadSNS(); err != nil {
		return nil, err
	}
	if s.iam, err = newPolicyChecker(s.tmpl, s.names, s.TableName, opts.EnforcePolicies, func(format string, args ...any) { s.log.Printf("iam", format, args...) }); err != nil {
		return nil, err
	}
	if opts.Schedules {
		if s.timetables, err = s.loadTimetables(); err != nil {
			return nil, err
		}
	}
	if s.s3, err = s.listen("s3", opts.S3Addr, "--s3-addr"); err != nil {
		return nil, err
	}
	if s.ses, err = s.listen("ses", opts.SESAddr, "--ses-addr"); err != nil {
		return nil, err
	}
	if s.dynamo, err = s.listen("dynamodb", "127.0.0.1:0", ""); err != nil {
		return nil, err
	}

	keyPath := opts.StaffKeyPath
	if keyPath == "" {
		if keyPath, err = staffauth.DefaultKeyPath(); err != nil {
			return nil, err
		}
	}
	if s.issuer, err = staffauth.LoadOrCreate(keyPath); err != nil {
		return nil, fmt.Errorf("staff token key: %w", err)
	}

	buildDir := opts.BuildDir
	if buildDir == "" {
		if buildDir, err = lambdart.DefaultBuildDir(opts.Root); err != nil {
			return nil, err
		}
	}
	began := time.Now()
	s.log.Printf("stack", "building %d functions into %s", len(s.tmpl.Functions), buildDir)
	built := 0
	bins, err := lambdart.Build(ctx, s.tmpl, buildDir, func(step lambdart.BuildStep) {
		switch {
		case !step.Done:
			s.log.Printf("stack", "build %s (%s)…", step.Function, step.Package)
		case step.Err == nil:
			built++
			s.log.Printf("stack", "built %s in %.1f s (%d of %d)", step.Function, step.Took.Seconds(), built, len(s.tmpl.Functions))
		}
	})
	if err != nil {
		return nil, err
	}
	s.log.Printf("stack", "built %d functions in %.1f s", len(bins), time.Since(began).Seconds())

	if err := s.startDynamoDB(ctx); err != nil {
		return nil, err
	}
	if err := s.newS3(); err != nil {
		return nil, err
	}
	unlimited := opts.SES
	unlimited.MaxSendRate, unlimited.Max24HourSend = 0, 0
	unlimited.ConfigurationSets = s.configurationSets
	unlimited.OnSent = func(m sescapture.Message) {
		s.mailSent(m)
		if opts.SES.OnSent != nil {
			opts.SES.OnSent(m)
		}
	}
	s.outbox = sescapture.NewWithOptions(unlimited)
	s.serve(s.ses, s.outbox)

	for _, fn := range s.tmpl.Functions {
		env, err := s.tmpl.ResolveEnv(fn, s.names)
		if err != nil {
			return nil, err
		}
		env["AWS_ENDPOINT_URL_DYNAMODB"] = s.dynamo.URL()
		env["AWS_SESSION_TOKEN"] = sessionToken(fn.LogicalID) // its role's, for its policy (iam.go)
		env["AWS_ENDPOINT_URL_S3"] = s.s3.URL()
		env["AWS_ENDPOINT_URL_SES"] = s.ses.URL()
		pool, err := lambdart.NewPool(lambdart.PoolOptions{
			Function:     fn,
			FunctionName: s.names[fn.LogicalID],
			Binary:       bins[fn.LogicalID],
			Env:          env,
			Region:       s.tmpl.Pseudo["AWS::Region"],
			AccountID:    s.tmpl.Pseudo["AWS::AccountId"],
			MaxInstances: maxInstances(opts.MaxInstances, fn.ReservedConcurrency),
			Log:          opts.Log,
			OnReport:     opts.OnReport,
		})
		if err != nil {
			return nil, err
		}
		s.pools[fn.LogicalID] = pool
	}

	// Serve S3 only now: an upload invokes functions.
	s.serve(s.s3, s.s3Handler(s.s3local, s.s3Buckets))
	if s.gateway, err = newGateway(s); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/_local/", s.localHandler())
	mux.Handle("/", s.gateway)
	s.serve(s.api, mux)

	restored := false
	if opts.DataDir != "" {
		if restored, err = s.restore(ctx); err != nil {
			return nil, err
		}
	}
	if opts.Seed && !restored {
		if err := s.seed(ctx); err != nil {
			return nil, err
		}
		if err := s.seedEvents(ctx); err != nil {
			return nil, err
		}
		// Content of the moment (a bulletin issue due now), once the kinds it draws on are in.
		if err := s.seedUploads(ctx, seed.Generated(time.Now())); err != nil {
			return nil, err
		}
	}
	s.outbox.SetLimits(opts.SES.MaxSendRate, opts.SES.Max24HourSend)
	s.started = true
	s.startTimetables()
	return s, nil
}

// setParameters gives the template's parameters the values of Options.Parameters, and those
// without a Default local values: what a deploy would ask for.
func (s *Stack) setParameters() {
	for name, v := range LocalParameters(s.api.URL()) {
		if _, ok := s.tmpl.Parameters[name]; !ok && s.tmpl.HasParameter(name) {
			s.tmpl.Parameters[name] = v
		}
	}
	maps.Copy(s.tmpl.Parameters, s.opts.Parameters)
}

// LocalParameters are the local values of the template's parameters that have no Default
// (sam deploy --guided asks for them): the operations and sender addresses (mail goes to the
// local SES capture), and the site's URL, the local HTTP API's, so that links in captured
// mail work locally.
func LocalParameters(apiURL string) map[string]string {
	return map[string]string{
		"OperationsEmail": "operations@example.org",
		"SenderAddress":   "events@example.org",
		"SiteUrl":         apiURL,
	}
}

// listen claims addr, explaining a busy port with the option that changes it.
func (s *Stack) listen(name, addr, option string) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			hint := ""
			if option != "" {
				hint = " (is another local stack running? use " + option + ")"
			}
			return nil, fmt.Errorf("listen %s: address already in use%s", addr, hint)
		}
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	srv := &server{name: name, ln: ln}
	s.servers = append(s.servers, srv)
	return srv, nil
}

func (s *Stack) serve(srv *server, h http.Handler) {
	srv.srv = &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	go func() {
		if err := srv.srv.Serve(srv.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Printf("stack", "%s server: %v", srv.name, err)
		}
	}()
}

// startDynamoDB serves the embedded minidyn server, or a proxy to
// DynamoDBEndpoint, behind a request counter, and creates the tables.
func (s *Stack) startDynamoDB(ctx context.Context) error {
	backend, err := dynamoBackend(s.opts.DynamoDBEndpoint)
	if err != nil {
		return err
	}
	checked := s.iam.withPolicies(backend)
	s.serve(s.dynamo, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.dynamoN.Add(1)
		checked.ServeHTTP(w, r)
	}))
	client := dynamodb.New(dynamodb.Options{
		Region:       s.tmpl.Pseudo["AWS::Region"],
		BaseEndpoint: aws.String(s.dynamo.URL()),
		Credentials:  localCredentials,
	})
	if err := samtemplate.CreateTables(ctx, client, s.tmpl, s.TableName); err != nil {
		where := "the embedded DynamoDB"
		if s.opts.DynamoDBEndpoint != "" {
			where = s.opts.DynamoDBEndpoint
		}
		return fmt.Errorf("create tables on %s: %w", where, err)
	}
	return nil
}

func (s *Stack) newS3() error {
	var buckets []string
	for _, b := range s.tmpl.Buckets {
		buckets = append(buckets, s.names[b.LogicalID])
	}
	srv, err := s3local.New(s3local.Options{
		Region:  s.tmpl.Pseudo["AWS::Region"],
		Buckets: buckets,
		OnEvent: s.objectEvent,
		Logf:    func(format string, args ...any) { s.log.Printf("s3", format, args...) },
		// Presigned URLs must be signed with the credentials the functions have.
		Credentials: map[string]string{localAccessKey: localSecretKey},
	})
	if err != nil {
		return err
	}
	s.s3local = srv
	s.s3Buckets = buckets
	return nil
}

// URL returns the HTTP API's base URL, like "http://127.0.0.1:3000".
func (s *Stack) URL() string { return s.api.URL() }

// S3URL returns the S3 endpoint (path-style).
func (s *Stack) S3URL() string { return s.s3.URL() }

// SESURL returns the SES endpoint.
func (s *Stack) SESURL() string { return s.ses.URL() }

// OutboxURL returns the page listing captured mail.
func (s *Stack) OutboxURL() string { return s.api.URL() + "/_local/outbox" }

// DynamoDBEndpoint returns the DynamoDB endpoint the functions use.
func (s *Stack) DynamoDBEndpoint() string { return s.dynamo.URL() }

// DynamoDBRequests returns how many requests the DynamoDB endpoint has
// served (table creation included).
func (s *Stack) DynamoDBRequests() int64 { return s.dynamoN.Load() }

// TableName returns the local physical name of the table with logicalID.
func (s *Stack) TableName(logicalID string) string { return s.opts.TablePrefix + logicalID }

// Bucket returns the local name of the bucket with logicalID ("" if none).
func (s *Stack) Bucket(logicalID string) string {
	for _, b := range s.tmpl.Buckets {
		if b.LogicalID == logicalID {
			return s.names[logicalID]
		}
	}
	return ""
}

// Template returns the template the stack runs.
func (s *Stack) Template() *samtemplate.Template { return s.tmpl }

// Names returns the local physical names of the template's resources.
func (s *Stack) Names() map[string]string { return s.names }

// Outbox returns the captured mail.
func (s *Stack) Outbox() *sescapture.Outbox { return s.outbox }

// S3 returns the S3 endpoint's server (its Backend reads objects directly).
func (s *Stack) S3() *s3local.Server { return s.s3local }

// StaffToken returns a staff JWT for email, valid for 12 hours, that the
// stack's JWT authorizer accepts.
func (s *Stack) StaffToken(email string) (string, error) {
	return StaffToken(s.tmpl, s.names, s.issuer, email, 12*time.Hour)
}

// StaffToken issues a token for the template's JWT authorizer (the one the
// first authorized route uses, else the first by name), with the issuer and
// audience resolved against names.
func StaffToken(t *samtemplate.Template, names map[string]string, issuer *staffauth.Issuer, email string, ttl time.Duration) (string, error) {
	name := ""
	for _, r := range t.Routes {
		if r.Authorizer != "" {
			name = r.Authorizer
			break
		}
	}
	if name == "" {
		keys := slices.Sorted(maps.Keys(t.Authorizers))
		if len(keys) == 0 {
			return "", errors.New("staff token: the template has no JWT authorizer")
		}
		name = keys[0]
	}
	a := t.Authorizers[name]
	iss, err := t.Resolve(a.Issuer, names)
	if err != nil {
		return "", fmt.Errorf("staff token: authorizer %s issuer: %w", name, err)
	}
	if len(a.Audience) == 0 {
		return "", fmt.Errorf("staff token: authorizer %s has no audience", name)
	}
	aud, err := t.ResolveList(a.Audience[0], names)
	if err != nil {
		return "", fmt.Errorf("staff token: authorizer %s audience: %w", name, err)
	}
	if len(aud) == 0 {
		return "", fmt.Errorf("staff token: authorizer %s has no audience", name)
	}
	return issuer.Token(email, iss, aud[0], ttl, time.Now())
}

// FunctionIDs returns the logical IDs of the functions, sorted.
func (s *Stack) FunctionIDs() []string {
	return slices.Sorted(maps.Keys(s.pools))
}

// Invoke invokes the function with logicalID synchronously. A function
// error is returned as a *lambdart.FunctionError.
func (s *Stack) Invoke(ctx context.Context, logicalID string, payload []byte) ([]byte, error) {
	return s.invoke(ctx, logicalID, lambdart.NewRequestID(), payload)
}

// invoke is Invoke under a given request ID (an asynchronous invocation keeps
// its ID across retries).
func (s *Stack) invoke(ctx context.Context, logicalID, requestID string, payload []byte) ([]byte, error) {
	pool, ok := s.pools[logicalID]
	if !ok {
		return nil, fmt.Errorf("invoke %s: %w", logicalID, errNoFunction)
	}
	resp, fnErr, err := pool.InvokeWithRequestID(ctx, requestID, payload)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", logicalID, err)
	}
	if fnErr != nil {
		return nil, fnErr
	}
	return resp, nil
}

var errNoFunction = errors.New("no such function in the template")

// CrashBusy ends at once every process of the function with logicalID that is
// running an invocation, as a crash would, and returns the request IDs of the
// invocations it ended (see lambdart.Pool.CrashBusy). An asynchronous one is
// then retried, as Lambda retries it.
func (s *Stack) CrashBusy(logicalID string) ([]string, error) {
	pool, ok := s.pools[logicalID]
	if !ok {
		return nil, fmt.Errorf("crash %s: %w", logicalID, errNoFunction)
	}
	return pool.CrashBusy(), nil
}

// Close stops the servers and every function process, and waits for them.
func (s *Stack) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.closeMu.Unlock()
	s.timers.Wait() // no schedule fires from now on

	var errs []error
	// First stop taking requests and uploads, so that nothing starts an invocation (or an
	// asynchronous one the wait below would race with) while the pools close.
	for _, srv := range []*server{s.api, s.s3} {
		if srv != nil && srv.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = srv.srv.Shutdown(ctx)
			cancel()
		}
	}
	for _, id := range slices.Sorted(maps.Keys(s.pools)) {
		if err := s.pools[id].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	s.async.wait()
	if s.opts.DataDir != "" && s.started {
		// Nothing writes any more; DynamoDB and S3 still answer.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := s.save(ctx); err != nil {
			errs = append(errs, fmt.Errorf("save to %s: %w", s.opts.DataDir, err))
		} else {
			s.log.Printf("stack", "saved the data in %s", stateDir(s.opts.DataDir))
		}
		cancel()
	}
	for _, srv := range s.servers {
		if srv.srv != nil {
			_ = srv.srv.Close()
		} else {
			_ = srv.ln.Close()
		}
	}
	return errors.Join(errs...)
}

// localCredentials are the static credentials the stack's own clients use;
// the functions get the same through AWS_ACCESS_KEY_ID and friends (lambdart).
var localCredentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: localAccessKey, SecretAccessKey: localSecretKey, Source: "localstack"}, nil
})

const (
	localAccessKey = "local"
	localSecretKey = "local"
)

// syncWriter serialises writes from the stack and every pool onto one writer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// maxInstances is the local limit on a function's processes: --max-instances (10 by default),
// or its reserved concurrency if that is lower, as Lambda would throttle beyond it.
func maxInstances(flag, reserved int) int {
	if flag <= 0 {
		flag = 10
	}
	if reserved > 0 && reserved < flag {
		return reserved
	}
	return flag
}
