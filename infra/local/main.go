// Command local runs the whole product on this machine, without Docker:
//
//	go run ./infra/local [flags]
//	go run ./infra/local token --email staff@example.org [--ttl 12h]
//
// It reads template.yaml, builds every function, and serves the HTTP API,
// an S3 endpoint whose uploads trigger the functions, an SES endpoint that
// captures mail, and an embedded DynamoDB (see package localstack). It seeds
// the sample directory, prints the endpoints and a staff token, and runs
// until Ctrl-C. The token subcommand prints a staff token the running stack
// accepts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"sectorhub/infra/localstack"
	"sectorhub/infra/localstack/sescapture"
	"sectorhub/infra/localstack/staffauth"
	"sectorhub/infra/samtemplate"
	"sectorhub/infra/seed"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "local:", err)
		}
		os.Exit(1)
	}
}

// envDynamoDBEndpoint, if set, is the default of --dynamodb-endpoint.
const envDynamoDBEndpoint = "SECTORHUB_DYNAMODB_ENDPOINT"

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "token" {
		return runToken(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:3000", "address of the HTTP API")
	s3Addr := fs.String("s3-addr", "127.0.0.1:4569", "address of the S3 endpoint")
	sesAddr := fs.String("ses-addr", "127.0.0.1:4579", "address of the SES endpoint")
	dynamo := fs.String("dynamodb-endpoint", getenv(envDynamoDBEndpoint), "use this DynamoDB endpoint (e.g. DynamoDB Local at http://127.0.0.1:8000) instead of the embedded one (default $"+envDynamoDBEndpoint+")")
	sesRate := fs.Int("ses-max-send-rate", 14, "recipients the SES endpoint accepts per second, refusing more with SES's throttling error as SES does (0: no limit)")
	ses24h := fs.Int("ses-max-24h-send", 50000, "recipients the SES endpoint accepts in any 24 hours, refusing more with SES's daily quota error (0: no limit)")
	sesKeep := fs.Int("ses-keep", sescapture.DefaultMaxMessages, "messages the outbox keeps; the oldest are dropped")
	maxInstances := fs.Int("max-instances", 10, "most processes per function under concurrent load")
	noSeed := fs.Bool("no-seed", false, "do not publish the sample content (infra/seed/uploads) at start")
	dataDir := fs.String("data-dir", "", "keep the stack's DynamoDB and S3 content in this folder across restarts (saved when the stack stops; restored, instead of seeding, when it starts)")
	enforce := fs.Bool("enforce-policies", false, "refuse a function's DynamoDB request that its template policy does not allow, as AWS would (otherwise it is only reported, on the log's iam lines)")
	schedules := fs.Bool("schedules", false, "fire every Schedule and ScheduleV2 trigger of the template on its own timetable (otherwise only by hand, with POST /_local/invoke/<LogicalId>)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./infra/local [flags]\n       go run ./infra/local token --email staff@example.org [--ttl 12h]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	sesOpts, err := sesOptions(*sesRate, *ses24h, *sesKeep)
	if err != nil {
		return err
	}
	root, tmplPath, err := findRoot()
	if err != nil {
		return err
	}

	began := time.Now()
	start, measured := commandStarted(began)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if !start.goRun.IsZero() {
		go cancelWhenGoRunGone(ctx, cancel)
	}
	stack, err := localstack.Start(ctx, localstack.Options{
		Root:             root,
		Template:         tmplPath,
		Addr:             *addr,
		S3Addr:           *s3Addr,
		SESAddr:          *sesAddr,
		SES:              sesOpts,
		DynamoDBEndpoint: *dynamo,
		Seed:             !*noSeed,
		DataDir:          *dataDir,
		Schedules:        *schedules,
		EnforcePolicies:  *enforce,
		MaxInstances:     *maxInstances,
		Log:              stderr,
	})
	if err != nil {
		if ctx.Err() != nil {
			return errors.New("interrupted")
		}
		return err
	}
	token, err := stack.StaffToken("staff@example.org")
	if err != nil {
		_ = stack.Close()
		return err
	}
	printBanner(stdout, stack, token, *dynamo, *dataDir, readyText(start, measured, began, time.Now()))

	<-ctx.Done()
	stop() // a second Ctrl-C ends the process at once; the kernel still kills the functions
	if errors.Is(context.Cause(ctx), errGoRunGone) {
		fmt.Fprintf(stderr, "stack | %v; stopping\n", errGoRunGone)
	} else {
		fmt.Fprintln(stderr, "stack | stopping")
	}
	if err := stack.Close(); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "stack | stopped")
	return nil
}

// sesOptions returns the SES capture's options for the flags --ses-max-send-rate (rate),
// --ses-max-24h-send (day) and --ses-keep (keep), each 0 or more.
func sesOptions(rate, day, keep int) (sescapture.Options, error) {
	for _, f := range []struct {
		name string
		v    int
	}{{"--ses-max-send-rate", rate}, {"--ses-max-24h-send", day}, {"--ses-keep", keep}} {
		if f.v < 0 {
			return sescapture.Options{}, fmt.Errorf("%s %d: want 0 or more", f.name, f.v)
		}
	}
	return sescapture.Options{MaxSendRate: rate, Max24HourSend: day, MaxMessages: keep}, nil
}

// findRoot finds the checkout: the nearest directory at or above the
// working directory holding template.yaml and go.mod. It returns the
// template's path relative to the working directory, as errors show it.
func findRoot() (root, tmpl string, err error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		_, errT := os.Stat(filepath.Join(dir, "template.yaml"))
		_, errM := os.Stat(filepath.Join(dir, "go.mod"))
		if errT == nil && errM == nil {
			tmpl = filepath.Join(dir, "template.yaml")
			if rel, err := filepath.Rel(wd, tmpl); err == nil {
				tmpl = rel
			}
			return dir, tmpl, nil
		}
		if filepath.Dir(dir) == dir {
			return "", "", fmt.Errorf("no template.yaml and go.mod in %s or above: run this from the sectorhub checkout", wd)
		}
	}
}

func printBanner(w io.Writer, s *localstack.Stack, token, dynamo, dataDir, ready string) {
	t := s.Template()
	api := s.URL()
	fmt.Fprintf(w, "\nsectorhub local stack %s\n\n", ready)
	fmt.Fprintf(w, "  HTTP API   %s   (index of routes and endpoints: %s/_local/)\n", api, api)
	for _, r := range t.Routes {
		if r.Method != "GET" {
			continue
		}
		auth := ""
		if r.Authorizer != "" {
			if strings.Contains(r.Path, "{") {
				continue // no sample value works for a staff record's ID
			}
			auth = `-H "Authorization: Bearer $TOKEN" `
		}
		// Every line works as printed: the one route with a path parameter shown is a seed
		// organisation's page (other IDs, such as the Open Referral feed's UUIDs, have no
		// sample value here).
		path := r.Path
		if path == sampleOrganisationPath {
			path = strings.ReplaceAll(path, "{id}", sampleID)
		}
		if strings.Contains(path, "{") || slices.Contains(linkRoutes, r.RouteKey()) {
			continue
		}
		fmt.Fprintf(w, "             curl %s'%s%s'\n", auth, api, path)
	}
	var buckets []string
	for _, b := range t.Buckets {
		buckets = append(buckets, s.Bucket(b.LogicalID))
	}
	fmt.Fprintf(w, "  S3         %s   (path style) bucket %s\n", s.S3URL(), strings.Join(buckets, ", "))
	// One upload per kind, of one of its sample files (the command works as printed from the
	// repository's root), to the key it was seeded at.
	samples, _ := seed.Uploads()
	for _, e := range t.S3Events {
		if !slices.ContainsFunc(e.Events, func(p string) bool { return strings.HasPrefix(p, "s3:ObjectCreated:") }) {
			continue // a removal trigger
		}
		i := slices.IndexFunc(samples, func(u seed.Upload) bool {
			return strings.HasPrefix(u.Key, e.Prefix) && strings.HasSuffix(u.Key, e.Suffix)
		})
		if i < 0 {
			continue // a kind without samples
		}
		u := samples[i]
		fmt.Fprintf(w, "             AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=%s aws --endpoint-url %s s3 cp %s s3://%s/%s   (→ %s)\n",
			t.Pseudo["AWS::Region"], s.S3URL(), u.Path, s.Bucket(e.BucketLogicalID), u.Key, e.FunctionID)
		fmt.Fprintf(w, "             curl -X PUT --data-binary @%s %s/%s/%s   (the same without the AWS CLI)\n",
			u.Path, s.S3URL(), s.Bucket(e.BucketLogicalID), u.Key)
	}
	fmt.Fprintf(w, "  SES        %s   (mail is captured, not sent)\n", s.SESURL())
	fmt.Fprintf(w, "  Outbox     %s\n", s.OutboxURL())
	where := "embedded"
	if dynamo != "" {
		where = "proxy to " + dynamo
	}
	var tables []string
	for _, tb := range t.Tables {
		tables = append(tables, s.TableName(tb.LogicalID))
	}
	fmt.Fprintf(w, "  DynamoDB   %s   (%s) tables %s\n", s.DynamoDBEndpoint(), where, strings.Join(tables, ", "))
	switch {
	case dataDir != "" && dynamo == "":
		fmt.Fprintf(w, "  Data       kept in %s: saved when the stack stops (Ctrl-C), restored at the next start\n", dataDir)
	case dataDir != "":
		fmt.Fprintf(w, "  Data       S3 kept in %s (saved when the stack stops); DynamoDB's stays at %s\n", dataDir, dynamo)
	case dynamo == "":
		fmt.Fprintf(w, "  Data       in memory: lost when the stack stops; every start seeds the sample content again (--data-dir keeps it)\n")
	default:
		fmt.Fprintf(w, "  Data       S3 in memory, lost when the stack stops; DynamoDB's stays at %s\n", dynamo)
	}
	fmt.Fprintf(w, "  Invoke     curl -d @event.json %s/_local/invoke/<LogicalId>   (%s)\n", api, strings.Join(s.FunctionIDs(), ", "))
	printBulletin(w, api, s.FunctionIDs())
	hasSchedules := slices.ContainsFunc(t.Triggers, func(tr samtemplate.Trigger) bool { return tr.Type == "Schedule" || tr.Type == "ScheduleV2" })
	printSchedules(w, s.Schedules(), hasSchedules)
	fmt.Fprintf(w, "\n  Staff token, valid 12 h (go run ./infra/local token --email you@example.org makes more):\n  TOKEN=%s\n\nCtrl-C to stop.\n\n", token)
}

// bulletinDispatch is the function that sends the Light Lunch bulletin's due issues.
const bulletinDispatch = "BulletinDispatchFunction"

// printBulletin says how to send the bulletin's due issues by hand (the seed's is due at
// start), when the template has the dispatch.
func printBulletin(w io.Writer, api string, functions []string) {
	if !slices.Contains(functions, bulletinDispatch) {
		return
	}
	fmt.Fprintf(w, "  Bulletin   curl -d '{}' %s/_local/invoke/%s   (sends every due issue now: the seed's goes to the seeded subscribers; their mail is in the Outbox, and the two at simulator.amazonses.com bounce and complain as SES's mailbox simulator does)\n", api, bulletinDispatch)
}

// printSchedules lists the schedules the stack fires, each with its next firing in its own
// time zone, or, when it fires none but the template has some, says how to have them fired.
func printSchedules(w io.Writer, fired []localstack.ScheduleInfo, hasSchedules bool) {
	if len(fired) == 0 {
		if hasSchedules {
			fmt.Fprintf(w, "  Schedules  not fired on their own: --schedules fires them on their timetable (or fire one by hand, above)\n")
		}
		return
	}
	fmt.Fprintf(w, "  Schedules  fired on their timetable (--schedules):\n")
	for _, sc := range fired {
		fmt.Fprintf(w, "             %s %s  %s %s  %s\n", sc.FunctionID, sc.EventID, sc.Expression, sc.Timezone, sc.When())
	}
}

// linkRoutes are pages reached from a link in a mail, which carries the token they need: the
// banner cannot show them working.
var linkRoutes = []string{"GET /bulletin/confirm", "GET /bulletin/unsubscribe"}

// sampleID is an organisation of the seeded sample directory, for the banner's example of
// sampleOrganisationPath.
const (
	sampleID               = "irwell-womens-centre"
	sampleOrganisationPath = "/directory/organisations/{id}"
)

// runToken prints a staff token the local stack's authorizer accepts.
func runToken(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the staff member's email address (required)")
	ttl := fs.Duration("ttl", 12*time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *email == "" {
		fs.Usage()
		return errors.New("token: --email is required")
	}
	_, tmplPath, err := findRoot()
	if err != nil {
		return err
	}
	t, err := samtemplate.Load(tmplPath)
	if err != nil {
		return err
	}
	names, err := t.LocalNames(func(id string) string { return localstack.DefaultTablePrefix + id })
	if err != nil {
		return err
	}
	keyPath, err := staffauth.DefaultKeyPath()
	if err != nil {
		return err
	}
	issuer, err := staffauth.LoadOrCreate(keyPath)
	if err != nil {
		return fmt.Errorf("staff token key: %w", err)
	}
	token, err := localstack.StaffToken(t, names, issuer, *email, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}
