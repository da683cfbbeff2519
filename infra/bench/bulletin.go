package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sectorhub/infra/localstack"
	"sectorhub/infra/samtemplate"
	"sectorhub/shared/bulletin"
	"sectorhub/shared/dynamo"
)

// The bulletin benchmarks (-only bulletin; also in the full run):
//
//   - cold start and size of the bulletin functions (with -only bulletin);
//   - a dispatch of the weekly issue through the local stack, each on a stack and table of its
//     own: 7,040 subscribers with the SES capture's sending rate at 100/s and at 14/s, and
//     50,000 at 500/s. The subscribers are imported as staff do (a CSV uploaded to the
//     bucket, timed), the issue uploaded, and BulletinDispatchFunction invoked as its
//     schedule does (again with {"continue": true} while an invocation leaves the dispatch
//     unfinished). The figures come from the capture (what SES would have received: when,
//     to whom), the issue's progress, the stack's DynamoDB request count and the function's
//     REPORT lines (peak memory).
//
// The achieved rate is (mails - 1) over the time from the first mail to the last, as a ratio
// of the capture's rate, which refuses anything faster with SES's throttling error.

// bulletinFunctionIDs are the bulletin's functions.
var bulletinFunctionIDs = []string{"BulletinFunction", "StaffBulletinFunction", "BulletinIngestFunction", "BulletinDispatchFunction", "MailFeedbackFunction"}

// dispatchRun is one dispatch measured.
type dispatchRun struct {
	subscribers int
	rate        int // the capture's MaxSendRate
}

// parseDispatchRuns reads -dispatch: subscribers@rate, comma-separated.
func parseDispatchRuns(s string) ([]dispatchRun, error) {
	var runs []dispatchRun
	for _, f := range strings.Split(s, ",") {
		var r dispatchRun
		if _, err := fmt.Sscanf(strings.TrimSpace(f), "%d@%d", &r.subscribers, &r.rate); err != nil || r.subscribers < 2 || r.rate < 1 {
			return nil, fmt.Errorf("-dispatch: %q is not subscribers@rate (at least 2 subscribers, a rate of at least 1)", f)
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// dispatchRow is what one dispatch run measured.
type dispatchRow struct {
	dispatchRun
	target      string
	imported    time.Duration // the upload of the list until its import finished
	took        time.Duration // first mail to last
	sent        int           // mails the capture received for the issue
	achieved    float64       // mails a second
	progress    bulletin.Progress
	duplicates  int // addresses that received the issue more than once
	missing     int // subscribers that did not receive it
	requests    float64
	peakMB      int
	invocations int
}

// bulletinBenchmarks runs the bulletin benchmarks; withCold adds the cold-start and size table
// of the bulletin functions. The stacks' log is appended to logPath, if set.
func bulletinBenchmarks(ctx context.Context, w io.Writer, tpl *samtemplate.Template, root, dir string, cold int, withCold bool, logPath, dispatches string) error {
	dispatchRuns, err := parseDispatchRuns(dispatches)
	if err != nil {
		return err
	}
	if withCold {
		sub := *tpl
		sub.Functions = slices.DeleteFunc(slices.Clone(tpl.Functions), func(fn samtemplate.Function) bool {
			return !slices.Contains(bulletinFunctionIDs, fn.LogicalID)
		})
		if len(sub.Functions) != len(bulletinFunctionIDs) {
			return fmt.Errorf("the template does not have every one of %v", bulletinFunctionIDs)
		}
		if err := coldAndSize(ctx, w, &sub, root, dir, cold, ""); err != nil {
			return err
		}
	}
	logw := io.Discard
	if logPath != "" {
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		logw = f
	}
	prev := log.Writer()
	log.SetOutput(logw)
	defer log.SetOutput(prev)

	target, endpoint := "DynamoDB Local", ""
	e, stop, err := dynamoDBLocal(ctx, root)
	if err != nil {
		target = "embedded (minidyn)"
		fmt.Fprintf(w, "\nDynamoDB Local not available (%v): the dispatch runs on the embedded DynamoDB\n", err)
	} else {
		defer stop()
		endpoint = e
	}
	fmt.Fprintf(w, "\n== Bulletin: dispatch of one issue through the local stack (%s), paced to the SES capture's sending rate ==\n", target)
	var rows []dispatchRow
	for _, run := range dispatchRuns {
		row, err := measureDispatch(ctx, logw, root, filepath.Join(dir, "bulletin-stack"), endpoint, run)
		row.target = target
		if err != nil {
			return fmt.Errorf("dispatch of %d at %d/s: %w", run.subscribers, run.rate, err)
		}
		rows = append(rows, row)
		fmt.Fprintf(w, "done: %d subscribers at %d/s: sent %d in %v, %.3f of the rate, %d throttled, %d duplicates, %d missing\n",
			run.subscribers, run.rate, row.sent, row.took.Round(time.Second), row.achieved/float64(run.rate), row.progress.Throttled, row.duplicates, row.missing)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "subscribers\tallowed/s\timport\tsend time\tsent\tachieved/s\tachieved/allowed\tthrottled (retried)\tduplicates\tmissing\tuncertain\tfailed\tDynamoDB requests/recipient\tpeak memory\tinvocations")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%d\t%v\t%v\t%d\t%.1f\t%.3f\t%d\t%d\t%d\t%d\t%d\t%.2f\t%d MB\t%d\n",
			r.subscribers, r.rate, r.imported.Round(100*time.Millisecond), r.took.Round(100*time.Millisecond), r.sent,
			r.achieved, r.achieved/float64(r.rate), r.progress.Throttled, r.duplicates, r.missing,
			r.progress.Uncertain, r.progress.Failed, r.requests, r.peakMB, r.invocations)
	}
	return tw.Flush()
}

// measureDispatch imports run.subscribers, uploads an issue and dispatches it, on a stack of
// its own whose SES capture accepts run.rate mails a second.
func measureDispatch(ctx context.Context, logw io.Writer, root, buildDir, endpoint string, run dispatchRun) (dispatchRow, error) {
	row := dispatchRow{dispatchRun: run}
	rep := &reports{}
	st, err := localstack.Start(ctx, localstack.Options{
		Root:             root,
		Addr:             "127.0.0.1:0",
		S3Addr:           "127.0.0.1:0",
		SESAddr:          "127.0.0.1:0",
		TablePrefix:      fmt.Sprintf("bench-bulletin-%d-", time.Now().UnixNano()),
		BuildDir:         buildDir,
		MaxInstances:     2,
		DynamoDBEndpoint: endpoint,
		Log:              logw,
		OnReport:         rep.add,
	})
	if err != nil {
		return row, err
	}
	defer st.Close()
	st.Outbox().SetLimits(run.rate, 0)
	bucket := st.Bucket("UploadsBucket")
	s3c := s3.New(s3.Options{
		Region: "eu-west-2", BaseEndpoint: aws.String(st.S3URL()), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	store := dynamo.New(dynamo.NewClient(func(k string) string {
		switch k {
		case "AWS_ENDPOINT_URL_DYNAMODB":
			return st.DynamoDBEndpoint()
		case "AWS_REGION":
			return "eu-west-2"
		case "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY":
			return "local"
		}
		return ""
	}), st.TableName("Table"))

	// The list, as staff upload it.
	var csv bytes.Buffer
	csv.WriteString("email,name,organisation,consented_at,consent_source\n")
	for i := range run.subscribers {
		fmt.Fprintf(&csv, "reader.%d@example.org,Reader %d,Bench Trust,2025-03-01,bench list\n", i, i)
	}
	put := func(key string, body []byte) error {
		_, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)})
		if err == nil {
			err = st.Drain(ctx)
		}
		if r := rep.get("BulletinIngestFunction"); err == nil && r.Status != "success" {
			err = fmt.Errorf("ingest of %s: %s %s", key, r.Status, r.ErrorType)
		}
		return err
	}
	began := time.Now()
	if err := put("subscribers/bench.csv", csv.Bytes()); err != nil {
		return row, err
	}
	row.imported = time.Since(began)
	if n, err := store.SubscribedCount(ctx); err != nil || n != run.subscribers {
		return row, fmt.Errorf("after the import, %d subscribed (%v); want %d", n, err, run.subscribers)
	}

	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		return row, err
	}
	now := time.Now().In(london)
	id := now.Format("2006-01-02")
	issue := fmt.Sprintf("---\nsubject: Light Lunch bench %d at %d/s\nsend_at: %s\nstatus: ready\n---\n%s",
		run.subscribers, run.rate, now.Add(-time.Minute).Format(time.RFC3339), benchIssueBody)
	if err := put("bulletins/"+id+".md", []byte(issue)); err != nil {
		return row, err
	}

	before := len(st.Outbox().Messages())
	requests := st.DynamoDBRequests()
	record := rep.record()
	for event := []byte(`{}`); ; event = []byte(`{"continue": true}`) {
		row.invocations++
		if _, err := st.Invoke(ctx, "BulletinDispatchFunction", event); err != nil {
			return row, fmt.Errorf("invocation %d: %w", row.invocations, err)
		}
		iss, ok, err := store.IssueByID(ctx, id)
		if err != nil || !ok {
			return row, fmt.Errorf("issue %s: found %v, %v", id, ok, err)
		}
		if iss.Dispatch.State == bulletin.Finished {
			row.progress = iss.Dispatch.Progress
			break
		}
		if row.invocations == 20 {
			return row, fmt.Errorf("the dispatch is still %q after %d invocations", iss.Dispatch.State, row.invocations)
		}
	}
	row.requests = float64(st.DynamoDBRequests()-requests) / float64(run.subscribers)
	for _, r := range record() {
		if r.FunctionName == "BulletinDispatchFunction" && r.MaxMemoryMB > row.peakMB {
			row.peakMB = r.MaxMemoryMB
		}
	}

	subject := fmt.Sprintf("Light Lunch bench %d at %d/s", run.subscribers, run.rate)
	msgs := st.Outbox().Messages()
	received := map[string]int{}
	var first, last time.Time
	for _, m := range msgs[:len(msgs)-before] { // newest first
		if m.Subject != subject {
			continue
		}
		row.sent++
		for _, d := range m.Destinations {
			received[strings.ToLower(d)]++
		}
		if first.IsZero() || m.Received.Before(first) {
			first = m.Received
		}
		if m.Received.After(last) {
			last = m.Received
		}
	}
	for i := range run.subscribers {
		switch n := received[fmt.Sprintf("reader.%d@example.org", i)]; {
		case n == 0:
			row.missing++
		case n > 1:
			row.duplicates++
		}
	}
	row.took = last.Sub(first)
	if row.sent < 2 || row.took <= 0 {
		return row, errors.New("fewer than two mails were captured")
	}
	row.achieved = float64(row.sent-1) / row.took.Seconds()
	return row, nil
}

// benchIssueBody is the issue's own part: a few paragraphs and a list, as a week's issue has.
const benchIssueBody = `Welcome to this week's Light Lunch, the bulletin for voluntary organisations working in
criminal justice.

## This week

- The new guide to commissioning through-the-gate support is out.
- Applications for the small grants round close on Friday.
- Our members' network meets online next Thursday.

Thank you for everything you do.
`
