// Command bench prints sectorhub's performance figures (`make bench`). Every figure that is
// compared is measured side by side in one run, and reported as a ratio, because absolute
// times on a shared machine are noise:
//
//   - cold start: each function's init duration (process start → first Runtime API request)
//     under the local Lambda Runtime API, as a ratio to a hello-world aws-lambda-go binary built
//     with the same flags, median of -cold runs, run in turns so drift hits all binaries alike.
//     Binaries run with a clean, Lambda-like environment (no AWS_CA_BUNDLE, no shared config).
//     They are built for this machine's architecture, since arm64 binaries cannot run here;
//   - binary sizes, built for arm64 exactly as deployed;
//   - search at 10,000 synthetic organisations through the local stack: warm p50/p99 of
//     typical queries as a ratio to GET /directory/organisations/{id}, and the DynamoDB
//     requests per warm search at 100 and at 10,000 organisations;
//   - cold search at 1,000 and 10,000 organisations beside warm: the first search of a warm
//     instance after a publish (it loads the new version's index) and of a new instance (a
//     process of its own: init, then the search), with the function's peak memory;
//   - loading the index of 10,000 organisations in process: fetch and decode from the stack's
//     DynamoDB, decode alone, and building instead, with what each allocates and holds;
//   - ingest of a 10,000-row CSV: time from upload to published, and the function's peak memory;
//   - the Open Referral UK feed at 10,000 organisations: warm p50/p99 of a page of 50 services
//     and of one service, each as a ratio to the directory route it mirrors;
//   - 32 concurrent searchers through the publish of 10,000 organisations: 5xx (the goal is
//     none), and the searches' p50/p99;
//   - case studies (before the search, on a small table): 500 synthetic ones published
//     through the upload path, warm p50/p99 of lists by theme as a ratio to
//     GET /case-studies/{slug}, and the first list of a warm instance after a publish (it
//     builds the list's index again);
//   - events (events.go): warm POST /events/{id}/bookings as a ratio to GET /events/{id} with
//     32 concurrent clients, and bookings per second sustained into one event on the embedded
//     DynamoDB and on DynamoDB Local, with the overbookings counted (-only events adds the
//     events functions' cold start and size).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"sectorhub/infra/localstack"
	"sectorhub/infra/localstack/lambdart"
	"sectorhub/infra/samtemplate"
	"sectorhub/infra/seed"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "repository root (template.yaml)")
	cold := fs.Int("cold", 25, "cold starts per binary")
	orgs := fs.Int("orgs", 10000, "organisations in the search and ingest benchmarks")
	requests := fs.Int("requests", 1000, "warm requests per request in each latency table (search, Open Referral, case studies, events)")
	searchers := fs.Int("searchers", 32, "concurrent searchers through a publish")
	stackLog := fs.String("log", "", "write the local stack's log (functions' output, REPORT lines) to this file")
	dispatches := fs.String("dispatch", "7040@100,7040@14,50000@500", "bulletin dispatches to measure: subscribers@rate, comma-separated")
	only := fs.String("only", "", "run only: cold, size, search, casestudies, events, bulletin")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tpl, err := samtemplate.Load(filepath.Join(*root, "template.yaml"))
	if err != nil {
		return err
	}
	// Parameters without a Default (a deploy asks for them) take the local stack's values, so
	// that every function's environment resolves.
	for name, v := range localstack.LocalParameters("http://127.0.0.1:3000") {
		if _, ok := tpl.Parameters[name]; !ok && tpl.HasParameter(name) {
			tpl.Parameters[name] = v
		}
	}
	dir, err := os.MkdirTemp("", "sectorhub-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	if *only == "" || *only == "cold" || *only == "size" {
		if err := coldAndSize(ctx, stdout, tpl, *root, dir, *cold, *only); err != nil {
			return err
		}
	}
	if *only == "" || *only == "search" || *only == "casestudies" {
		logw := io.Discard
		if *stackLog != "" {
			f, err := os.Create(*stackLog)
			if err != nil {
				return err
			}
			defer f.Close()
			logw = f
		}
		b, err := startBench(ctx, logw, *root, filepath.Join(dir, "stack"), *searchers)
		if err != nil {
			return err
		}
		defer b.st.Close()
		if *only != "search" {
			// First, on a small table: a directory of 100, whose organisations some case
			// studies name.
			if _, err := b.upload(ctx, seed.Synthetic(100)); err != nil {
				return err
			}
			if err := b.caseStudies(ctx, stdout, *requests); err != nil {
				return err
			}
		}
		if *only != "casestudies" {
			if err := searchAndIngest(ctx, stdout, b, *orgs, *requests, *searchers); err != nil {
				return err
			}
		}
	}
	if *only == "" || *only == "events" {
		if err := eventsBenchmarks(ctx, stdout, tpl, *root, dir, *cold, *requests, *only == "events", *stackLog); err != nil {
			return err
		}
	}
	if *only == "" || *only == "bulletin" {
		if err := bulletinBenchmarks(ctx, stdout, tpl, *root, dir, *cold, *only == "bulletin", *stackLog, *dispatches); err != nil {
			return err
		}
	}
	return nil
}

// binary is one program the cold-start benchmark builds.
type binary struct {
	name, pkg string
	env       map[string]string
	host, arm string // paths of the builds for this machine and for arm64
}

// buildFlags are the deployed build's flags (the Makefile's build target and sam build's).
var buildFlags = []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w"}

func build(ctx context.Context, root, pkg, out, goarch string) error {
	cmd := exec.CommandContext(ctx, "go", append(slices.Clone(buildFlags), "-o", out, "./"+pkg)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s (%s): %v\n%s", pkg, goarch, err, b)
	}
	return nil
}

func coldAndSize(ctx context.Context, w io.Writer, tpl *samtemplate.Template, root, dir string, rounds int, only string) error {
	bins := []*binary{{name: "hello-world (baseline)", pkg: "infra/bench/hello"}}
	physical, err := tpl.LocalNames(func(logicalID string) string { return "bench-" + logicalID })
	if err != nil {
		return err
	}
	for _, fn := range tpl.Functions {
		env, err := tpl.ResolveEnv(fn, physical)
		if err != nil {
			return err
		}
		bins = append(bins, &binary{name: fn.LogicalID, pkg: strings.TrimSuffix(fn.CodeUri, "/"), env: env})
	}
	for i, b := range bins {
		b.host = filepath.Join(dir, fmt.Sprintf("host-%d", i))
		b.arm = filepath.Join(dir, fmt.Sprintf("arm64-%d", i))
		if err := build(ctx, root, b.pkg, b.host, runtime.GOARCH); err != nil {
			return err
		}
		if err := build(ctx, root, b.pkg, b.arm, "arm64"); err != nil {
			return err
		}
	}

	inits := make([][]time.Duration, len(bins))
	if only != "size" {
		for range rounds {
			for i, b := range bins {
				d, err := coldStart(ctx, b)
				if err != nil {
					return fmt.Errorf("%s: %w", b.name, err)
				}
				inits[i] = append(inits[i], d)
			}
		}
	}

	fmt.Fprintf(w, "\n== Cold start (init duration, median of %d, %s/%s build of the deployed flags) and arm64 binary size ==\n", rounds, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintln(w, "goal: init ≤ 1.3× hello-world (bar 1.6×); size < 15 MB")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "binary\tinit p50\tinit min\tratio\tsize (arm64)\t")
	base := median(inits[0])
	for i, b := range bins {
		st, err := os.Stat(b.arm)
		if err != nil {
			return err
		}
		ratio := "-"
		if only != "size" && base > 0 {
			ratio = fmt.Sprintf("%.2f×", float64(median(inits[i]))/float64(base))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f MB\t\n", b.name, msStr(median(inits[i])), msStr(minDur(inits[i])), ratio, float64(st.Size())/1e6)
	}
	return tw.Flush()
}

// coldStart starts one fresh process of b under the local Runtime API, invokes it once with
// an empty event, and returns its init duration.
func coldStart(ctx context.Context, b *binary) (time.Duration, error) {
	var rep lambdart.Report
	pool, err := lambdart.NewPool(lambdart.PoolOptions{
		Function: samtemplate.Function{LogicalID: "Bench", Timeout: 10 * time.Second, MemoryMB: 256},
		Binary:   b.host,
		Env:      b.env,
		OnReport: func(r lambdart.Report) { rep = r },
	})
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	if _, _, err := pool.Invoke(ctx, []byte(`{}`)); err != nil {
		return 0, err
	}
	if !rep.Cold || rep.InitDuration <= 0 {
		return 0, errors.New("no init duration reported")
	}
	return rep.InitDuration, nil
}

func median(ds []time.Duration) time.Duration { return percentile(ds, 50) }

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func minDur(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return slices.Min(ds)
}

func msStr(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
