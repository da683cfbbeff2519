package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sectorhub/infra/localstack"
	"sectorhub/infra/localstack/lambdart"
	"sectorhub/infra/seed"
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

// lastReports keeps the latest invocation report of each function.
type lastReports struct {
	mu   sync.Mutex
	last map[string]lambdart.Report
}

func (r *lastReports) add(rep lambdart.Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last = map[string]lambdart.Report{}
	}
	r.last[rep.FunctionName] = rep
}

func (r *lastReports) get(fn string) lambdart.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[fn]
}

func searchAndIngest(ctx context.Context, w io.Writer, root, buildDir string, orgs, requests int) error {
	var reports lastReports
	st, err := localstack.Start(ctx, localstack.Options{
		Root:         root,
		Addr:         "127.0.0.1:0",
		S3Addr:       "127.0.0.1:0",
		SESAddr:      "127.0.0.1:0",
		TablePrefix:  fmt.Sprintf("bench-%d-", time.Now().UnixNano()),
		MaxInstances: 2,
		BuildDir:     buildDir,
		OnReport:     reports.add,
	})
	if err != nil {
		return err
	}
	defer st.Close()
	client := s3.New(s3.Options{
		Region:       "eu-west-2",
		BaseEndpoint: aws.String(st.S3URL()),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	bucket := st.Bucket("UploadsBucket")
	upload := func(n int) (time.Duration, error) {
		body := seed.Synthetic(n)
		start := time.Now()
		key := fmt.Sprintf("directory/bench-%d.csv", n)
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)}); err != nil {
			return 0, fmt.Errorf("upload %s: %w", key, err)
		}
		if err := st.Drain(ctx); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	httpc := &http.Client{Timeout: 30 * time.Second}
	fetch := func(path string) (time.Duration, error) {
		start := time.Now()
		resp, err := httpc.Get(st.URL() + path)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
		}
		return d, err
	}
	// readsPerSearch is the DynamoDB requests one warm search makes, the most over the queries.
	readsPerSearch := func() (int64, error) {
		var most int64
		for _, q := range typicalQueries {
			if _, err := fetch("/directory/organisations?" + q); err != nil { // warm
				return 0, err
			}
			before := st.DynamoDBRequests()
			if _, err := fetch("/directory/organisations?" + q); err != nil {
				return 0, err
			}
			most = max(most, st.DynamoDBRequests()-before)
		}
		return most, nil
	}

	if _, err := upload(100); err != nil {
		return err
	}
	readsSmall, err := readsPerSearch()
	if err != nil {
		return err
	}

	ingestTime, err := upload(orgs)
	if err != nil {
		return err
	}
	ingest := reports.get("IngestFunction")
	if ingest.Status != "success" {
		return fmt.Errorf("ingest of %d rows: %s %s", orgs, ingest.Status, ingest.ErrorType)
	}
	coldLoad, err := fetch("/directory/organisations?q=housing")
	if err != nil {
		return err
	}
	ids, err := someIDs(httpc, st.URL())
	if err != nil {
		return err
	}
	readsLarge, err := readsPerSearch()
	if err != nil {
		return err
	}

	// Warm latencies, in turns so that drift on the machine hits every query alike.
	// The function's own duration (its REPORT line) is kept beside each round trip, to tell
	// the function's work from the transport's.
	byQuery := make([][]time.Duration, len(typicalQueries))
	fnByQuery := make([][]time.Duration, len(typicalQueries))
	var searches, gets, fnGets []time.Duration
	for i := range requests {
		for j, q := range typicalQueries {
			d, err := fetch("/directory/organisations?" + q)
			if err != nil {
				return err
			}
			byQuery[j] = append(byQuery[j], d)
			fnByQuery[j] = append(fnByQuery[j], reports.get("DirectoryFunction").Duration)
			searches = append(searches, d)
		}
		d, err := fetch("/directory/organisations/" + ids[i%len(ids)])
		if err != nil {
			return err
		}
		gets = append(gets, d)
		fnGets = append(fnGets, reports.get("DirectoryFunction").Duration)
	}

	fmt.Fprintf(w, "\n== Search at %d organisations, through the local stack (HTTP → gateway → Runtime API → function → DynamoDB) ==\n", orgs)
	fmt.Fprintln(w, "goal: warm search ≤ 1.5× GET /directory/organisations/{id} (bar 2×); DynamoDB requests per warm search equal at 100 and 10,000")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "request\tp50\tp99\tp50 ratio\tp99 ratio\tfunction p50\t")
	gp50, gp99 := percentile(gets, 50), percentile(gets, 99)
	fmt.Fprintf(tw, "GET /directory/organisations/{id}\t%s\t%s\t1.00×\t1.00×\t%s\t\n", msStr(gp50), msStr(gp99), msStr(median(fnGets)))
	for j, q := range typicalQueries {
		p50, p99 := percentile(byQuery[j], 50), percentile(byQuery[j], 99)
		fmt.Fprintf(tw, "search ?%s\t%s\t%s\t%.2f×\t%.2f×\t%s\t\n", q, msStr(p50), msStr(p99), ratio(p50, gp50), ratio(p99, gp99), msStr(median(fnByQuery[j])))
	}
	p50, p99 := percentile(searches, 50), percentile(searches, 99)
	fmt.Fprintf(tw, "all searches (%d)\t%s\t%s\t%.2f×\t%.2f×\t\t\n", len(searches), msStr(p50), msStr(p99), ratio(p50, gp50), ratio(p99, gp99))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "first search after the new version (index load of %d organisations): %s\n", orgs, msStr(coldLoad))
	fmt.Fprintf(w, "DynamoDB requests per warm search: %d at 100 organisations, %d at %d organisations\n", readsSmall, readsLarge, orgs)

	fmt.Fprintf(w, "\n== Ingest of a %d-row CSV (%.1f MB) ==\n", orgs, float64(len(seed.Synthetic(orgs)))/1e6)
	fmt.Fprintf(w, "upload → published: %s; IngestFunction duration %s, peak memory (VmHWM) %d MB of %d MB\n",
		msStr(ingestTime), msStr(ingest.Duration), ingest.MaxMemoryMB, ingest.MemorySizeMB)
	return nil
}

// someIDs returns organisation IDs from the first pages of the directory.
func someIDs(httpc *http.Client, base string) ([]string, error) {
	resp, err := httpc.Get(base + "/directory/organisations?per_page=100")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var res struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
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

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
