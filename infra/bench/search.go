package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sectorhub/infra/localstack"
	"sectorhub/infra/localstack/lambdart"
	"sectorhub/infra/samtemplate"
	"sectorhub/infra/seed"
	"sectorhub/shared/directory"
)

// typicalQueries are what visitors ask of the directory: words, a prefix as they type, a
// typo, filters, and both together.
var typicalQueries = []string{
	"q=housing",
	"q=mentor",
	"q=resetlement",
	"q=women+prison&region=north-west",
	"region=london&client_group=families",
	"area=mental-health&lived_experience=true",
	"q=support&page=3",
	"q=housing&per_page=1",
	"",
}

const (
	searchPath = "/directory/organisations"
	coldQuery  = "q=housing"
	// coldSize is the smaller directory whose cold search is shown beside the larger one's.
	coldSize = 1000
	// afterPublishRuns and newInstanceRuns are how many times each cold figure is measured.
	afterPublishRuns = 3
	newInstanceRuns  = 5
)

// reports keeps the invocation reports of the stack's functions.
type reports struct {
	mu   sync.Mutex
	last map[string]lambdart.Report
	all  []lambdart.Report // every report while recording
	rec  bool
}

func (r *reports) add(rep lambdart.Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last = map[string]lambdart.Report{}
	}
	r.last[rep.FunctionName] = rep
	if r.rec {
		r.all = append(r.all, rep)
	}
}

func (r *reports) get(fn string) lambdart.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[fn]
}

// record starts keeping every report, and returns a function that stops and returns them.
func (r *reports) record() func() []lambdart.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec, r.all = true, nil
	return func() []lambdart.Report {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.rec = false
		return r.all
	}
}

// bench is one run of the search benchmarks on a local stack.
type bench struct {
	st       *localstack.Stack
	reports  *reports
	buildDir string
	s3       *s3.Client
	bucket   string
	search   samtemplate.Function // the function behind GET /directory/organisations
	ingest   string               // the function a directory/ upload invokes
	httpc    *http.Client
	uploads  int
}

// startBench starts a local stack for the benchmarks that go through it, with an HTTP client
// for conns concurrent requests.
func startBench(ctx context.Context, log io.Writer, root, buildDir string, conns int) (*bench, error) {
	rep := &reports{}
	st, err := localstack.Start(ctx, localstack.Options{
		Root:        root,
		Addr:        "127.0.0.1:0",
		S3Addr:      "127.0.0.1:0",
		SESAddr:     "127.0.0.1:0",
		TablePrefix: fmt.Sprintf("bench-%d-", time.Now().UnixNano()),
		BuildDir:    buildDir,
		Log:         log,
		OnReport:    rep.add,
	})
	if err != nil {
		return nil, err
	}
	b := &bench{
		st: st, reports: rep, buildDir: buildDir,
		s3: s3.New(s3.Options{
			Region:       "eu-west-2",
			BaseEndpoint: aws.String(st.S3URL()),
			UsePathStyle: true,
			Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		}),
		httpc: &http.Client{
			Timeout:   60 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 2 * conns},
		},
		search: routeFunction(st.Template(), searchPath),
	}
	b.ingest, b.bucket = b.s3Event("directory/")
	if b.search.LogicalID == "" || b.ingest == "" {
		st.Close()
		return nil, fmt.Errorf("the template has no function for GET %s or for uploads under directory/", searchPath)
	}
	return b, nil
}

// routeFunction returns the function behind GET path (zero if none).
func routeFunction(tpl *samtemplate.Template, path string) samtemplate.Function {
	for _, r := range tpl.Routes {
		if r.Method == http.MethodGet && r.Path == path {
			fn, _ := tpl.Function(r.FunctionID)
			return fn
		}
	}
	return samtemplate.Function{}
}

// s3Event returns the function an upload under prefix invokes, and the bucket it is uploaded
// to ("" if none).
func (b *bench) s3Event(prefix string) (fnID, bucket string) {
	for _, e := range b.st.Template().S3Events {
		if e.Prefix == prefix {
			return e.FunctionID, b.st.Bucket(e.BucketLogicalID)
		}
	}
	return "", ""
}

func searchAndIngest(ctx context.Context, w io.Writer, b *bench, orgs, requests, searchers int) error {
	if _, err := b.upload(ctx, seed.Synthetic(100)); err != nil {
		return err
	}
	readsSmall, err := b.readsPerSearch()
	if err != nil {
		return err
	}

	var colds []coldFigures
	var ingestTime time.Duration
	var ingest lambdart.Report
	for _, n := range []int{min(coldSize, orgs), orgs} {
		c, err := b.cold(ctx, n)
		if err != nil {
			return err
		}
		colds = append(colds, c)
		ingestTime, ingest = c.ingestTime, c.ingest
	}
	ids, err := b.someIDs()
	if err != nil {
		return err
	}
	readsLarge, err := b.readsPerSearch()
	if err != nil {
		return err
	}

	// Warm latencies, in turns so that drift on the machine hits every query alike.
	reqs := []request{{name: "GET " + searchPath + "/{id}", path: func(i int) string { return searchPath + "/" + ids[i%len(ids)] }}}
	for _, q := range typicalQueries {
		reqs = append(reqs, fixed("search ?"+q, searchPath+"?"+q))
	}
	rows, err := b.inTurns(requests, b.search.LogicalID, reqs)
	if err != nil {
		return err
	}
	rows = append(rows, pooled("all searches", rows[1:], 0))

	fmt.Fprintf(w, "\n== Search at %d organisations, through the local stack (HTTP → gateway → Runtime API → function → DynamoDB) ==\n", orgs)
	fmt.Fprintln(w, "goal: warm search ≤ 1.5× GET /directory/organisations/{id} (bar 2×); DynamoDB requests per warm search equal at 100 and 10,000")
	if err := printLatencies(w, rows); err != nil {
		return err
	}
	fmt.Fprintf(w, "DynamoDB requests per warm search: %d at 100 organisations, %d at %d organisations\n", readsSmall, readsLarge, orgs)

	fmt.Fprintf(w, "\n== Cold search: the first ?%s of an instance after a publish, and of a new instance, beside warm search ==\n", coldQuery)
	fmt.Fprintf(w, "goal: cold < 100 ms at 10,000 organisations (bar 150 ms); the instance decodes the index stored with the version\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "organisations\tsearch\truns\tround trip p50\tround trip max\tfunction p50\tfunction max\tinit p50\tpeak memory\t")
	for _, c := range colds {
		fmt.Fprintf(tw, "%d\tfirst after a publish (warm instance)\t%d\t%s\t%s\t%s\t%s\t\t\t\n", c.n, len(c.afterPublish), msStr(median(c.afterPublish)), msStr(maxDur(c.afterPublish)), msStr(median(c.afterPublishFn)), msStr(maxDur(c.afterPublishFn)))
		fmt.Fprintf(tw, "%d\tfirst of a new instance (init, then the search)\t%d\t\t\t%s\t%s\t%s\t%d MB of %d MB\t\n", c.n, len(c.newInstanceFn), msStr(median(c.newInstanceFn)), msStr(maxDur(c.newInstanceFn)), msStr(median(c.newInstanceInit)), c.peakMB, b.search.MemoryMB)
		fmt.Fprintf(tw, "%d\twarm\t%d\t%s\t%s\t%s\t%s\t\t\t\n", c.n, len(c.warm), msStr(median(c.warm)), msStr(maxDur(c.warm)), msStr(median(c.warmFn)), msStr(maxDur(c.warmFn)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := b.indexLoad(ctx, w, orgs); err != nil {
		return err
	}
	if err := b.openReferral(w, orgs, requests, ids); err != nil {
		return err
	}

	fmt.Fprintf(w, "\n== Ingest of a %d-row CSV (%.1f MB) ==\n", orgs, float64(len(seed.Synthetic(orgs)))/1e6)
	fmt.Fprintf(w, "upload → published: %s; %s duration %s, peak memory (VmHWM) %d MB of %d MB\n",
		msStr(ingestTime), b.ingest, msStr(ingest.Duration), ingest.MaxMemoryMB, ingest.MemorySizeMB)

	if err := b.publishUnderLoad(ctx, w, seed.Synthetic(orgs), orgs, orgs, searchers); err != nil {
		return err
	}
	// Twice as many, as the upload format's 20,000-row limit allows (shorter descriptions, to
	// fit its 10 MB).
	more := min(2*orgs, directory.MaxRows)
	return b.publishUnderLoad(ctx, w, seed.SyntheticCompact(more), more, orgs, searchers)
}

// upload puts body under a new key of directory/ and waits until its ingest has finished.
func (b *bench) upload(ctx context.Context, body []byte) (time.Duration, error) {
	b.uploads++
	key := fmt.Sprintf("directory/bench-%d.csv", b.uploads)
	start := time.Now()
	if _, err := b.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &b.bucket, Key: &key, Body: bytes.NewReader(body)}); err != nil {
		return 0, fmt.Errorf("upload %s: %w", key, err)
	}
	if err := b.st.Drain(ctx); err != nil {
		return 0, err
	}
	if rep := b.reports.get(b.ingest); rep.Status != "success" {
		return 0, fmt.Errorf("ingest of %s: %s %s", key, rep.Status, rep.ErrorType)
	}
	return time.Since(start), nil
}

// fetch GETs path from the HTTP API and returns the round trip; any status but 200 is an error.
func (b *bench) fetch(path string) (time.Duration, error) {
	d, status, err := b.get(path)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("GET %s: status %d", path, status)
	}
	return d, err
}

func (b *bench) get(path string) (time.Duration, int, error) {
	start := time.Now()
	resp, err := b.httpc.Get(b.st.URL() + path)
	if err != nil {
		return time.Since(start), 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(start), resp.StatusCode, err
}

// readsPerSearch is the DynamoDB requests one warm search makes, the most over the queries.
func (b *bench) readsPerSearch() (int64, error) {
	var most int64
	for _, q := range typicalQueries {
		if _, err := b.fetch(searchPath + "?" + q); err != nil { // warm
			return 0, err
		}
		before := b.st.DynamoDBRequests()
		if _, err := b.fetch(searchPath + "?" + q); err != nil {
			return 0, err
		}
		most = max(most, b.st.DynamoDBRequests()-before)
	}
	return most, nil
}

// coldFigures are the cold and warm search figures at n organisations.
type coldFigures struct {
	n                              int
	afterPublish, afterPublishFn   []time.Duration
	newInstanceFn, newInstanceInit []time.Duration
	warm, warmFn                   []time.Duration
	peakMB                         int
	ingestTime                     time.Duration
	ingest                         lambdart.Report
}

// cold publishes n organisations afterPublishRuns times, each followed by the first search
// (on the stack's warm instance, which loads the new version), then starts newInstanceRuns
// new instances of the search function, each for one search, then measures warm searches.
func (b *bench) cold(ctx context.Context, n int) (coldFigures, error) {
	c := coldFigures{n: n}
	body := seed.Synthetic(n)
	for range afterPublishRuns {
		took, err := b.upload(ctx, body)
		if err != nil {
			return c, err
		}
		c.ingestTime, c.ingest = took, b.reports.get(b.ingest)
		d, err := b.fetch(searchPath + "?" + coldQuery)
		if err != nil {
			return c, err
		}
		c.afterPublish = append(c.afterPublish, d)
		c.afterPublishFn = append(c.afterPublishFn, b.reports.get(b.search.LogicalID).Duration)
	}
	for range newInstanceRuns {
		rep, err := b.newInstanceSearch(ctx, coldQuery)
		if err != nil {
			return c, err
		}
		c.newInstanceFn = append(c.newInstanceFn, rep.Duration)
		c.newInstanceInit = append(c.newInstanceInit, rep.InitDuration)
		c.peakMB = max(c.peakMB, rep.MaxMemoryMB)
	}
	for range 50 {
		d, err := b.fetch(searchPath + "?" + coldQuery)
		if err != nil {
			return c, err
		}
		c.warm = append(c.warm, d)
		c.warmFn = append(c.warmFn, b.reports.get(b.search.LogicalID).Duration)
	}
	return c, nil
}

// newInstanceSearch starts a new process of the search function, as Lambda starts a new
// instance, invokes it once with a search for query and returns the invocation's report.
func (b *bench) newInstanceSearch(ctx context.Context, query string) (lambdart.Report, error) {
	fn := b.search
	env, err := b.st.Template().ResolveEnv(fn, b.st.Names())
	if err != nil {
		return lambdart.Report{}, err
	}
	env["AWS_ENDPOINT_URL_DYNAMODB"] = b.st.DynamoDBEndpoint()
	var rep lambdart.Report
	pool, err := lambdart.NewPool(lambdart.PoolOptions{
		Function:     fn,
		FunctionName: b.st.Names()[fn.LogicalID],
		Binary:       filepath.Join(b.buildDir, fn.LogicalID, "bootstrap"),
		Env:          env,
		Region:       b.st.Template().Pseudo["AWS::Region"],
		AccountID:    b.st.Template().Pseudo["AWS::AccountId"],
		MaxInstances: 1,
		OnReport:     func(r lambdart.Report) { rep = r },
	})
	if err != nil {
		return rep, err
	}
	defer pool.Close()
	event, err := json.Marshal(events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "GET " + searchPath, RawPath: searchPath, RawQueryString: query,
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: searchPath}},
	})
	if err != nil {
		return rep, err
	}
	out, fnErr, err := pool.Invoke(ctx, event)
	if err != nil {
		return rep, err
	}
	if fnErr != nil {
		return rep, fmt.Errorf("search on a new instance: %v", fnErr)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != http.StatusOK {
		return rep, fmt.Errorf("search on a new instance: status %d %.200s (%v)", resp.StatusCode, resp.Body, err)
	}
	if !rep.Cold {
		return rep, fmt.Errorf("search on a new instance: no cold start reported")
	}
	return rep, nil
}

// someIDs returns organisation IDs from the first pages of the directory.
func (b *bench) someIDs() ([]string, error) {
	var res struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := b.getJSON(searchPath+"?per_page=100", &res); err != nil {
		return nil, err
	}
	var ids []string
	for _, it := range res.Items {
		ids = append(ids, it.ID)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no organisations to fetch")
	}
	return ids, nil
}

// getJSON GETs path from the HTTP API and decodes its JSON body into v.
func (b *bench) getJSON(path string, v any) error {
	resp, err := b.httpc.Get(b.st.URL() + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func maxDur(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}
