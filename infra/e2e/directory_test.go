// Package e2e drives the whole product through the local stack, over HTTP and S3, with the
// real function binaries: what a visitor, a member of staff and the AWS CLI would do.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sectorhub/infra/localstack"
	"sectorhub/infra/localstack/lambdart"
	"sectorhub/infra/seed"
	"sectorhub/infra/testenv"
	"sectorhub/shared/directory"
	"sectorhub/shared/imports"
	"sectorhub/shared/staffapi"
)

// buildDir holds this package's function binaries: its own, so that the tests never rewrite
// the binaries a developer's running `go run ./infra/local` starts.
var buildDir string

func TestMain(m *testing.M) { os.Exit(testenv.RunInTempDir(m, "sectorhub-e2e-", &buildDir)) }

// startStack starts the local stack, seeded, on free ports. With DynamoDB Local available
// (make test) it runs there, under a table prefix of its own.
func startStack(t *testing.T, endpoint string) *localstack.Stack {
	t.Helper()
	return startStackReporting(t, endpoint, nil)
}

// startStackReporting is startStack with the invocation reports collected, if reports is not
// nil (a retry is one more report under the same request ID), and the options changed by
// each of opts.
func startStackReporting(t *testing.T, endpoint string, reports *reportList, opts ...func(*localstack.Options)) *localstack.Stack {
	t.Helper()
	var onReport func(lambdart.Report)
	if reports != nil {
		onReport = reports.add
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log testenv.Buffer
	o := localstack.Options{
		Root:         testenv.RepoRoot(t),
		Addr:         "127.0.0.1:0",
		S3Addr:       "127.0.0.1:0",
		SESAddr:      "127.0.0.1:0",
		Seed:         true,
		TablePrefix:  fmt.Sprintf("e2e-%d-", time.Now().UnixNano()),
		StaffKeyPath: t.TempDir() + "/staff.pem",
		BuildDir:     buildDir,

		DynamoDBEndpoint: endpoint,
		Log:              &log,
		OnReport:         onReport,
	}
	for _, set := range opts {
		set(&o)
	}
	st, err := localstack.Start(ctx, o)
	if err != nil {
		t.Fatalf("localstack.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("stack log:\n%s", log.String())
		}
	})
	return st
}

// targets are the DynamoDB endpoints the end-to-end tests run against: embedded always,
// DynamoDB Local when make test provides it.
func targets(t *testing.T) map[string]string {
	m := map[string]string{"embedded": ""}
	if e := testenv.DynamoDBLocal(t); e != "" {
		m["dynamodb-local"] = e
	}
	return m
}

func get(t *testing.T, rawURL string, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func search(t *testing.T, st *localstack.Stack, query string) directory.Result {
	t.Helper()
	status, _, body := get(t, st.URL()+"/directory/organisations?"+query, nil)
	if status != http.StatusOK {
		t.Fatalf("search ?%s = %d %s; want 200", query, status, body)
	}
	var res directory.Result
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("search ?%s: %v in %s", query, err, body)
	}
	return res
}

func upload(t *testing.T, st *localstack.Stack, key string, body []byte) {
	t.Helper()
	client := testenv.S3Client(t, st.S3URL())
	ctx := context.Background()
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(st.Bucket("UploadsBucket")), Key: &key, Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("PutObject(%s): %v", key, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := st.Drain(ctx); err != nil {
		t.Fatalf("waiting for the upload's ingest: %v", err)
	}
}

func TestDirectoryEndToEnd(t *testing.T) {
	for name, endpoint := range targets(t) {
		t.Run(name, func(t *testing.T) {
			st := startStack(t, endpoint)
			sample, _, err := directory.ParseCSV(bytes.NewReader(seed.DirectoryCSV))
			if err != nil {
				t.Fatal(err)
			}

			t.Run("search and filters", func(t *testing.T) {
				all := search(t, st, "")
				if all.Total != len(sample) {
					t.Fatalf("search without filters: total %d; want the %d seeded organisations", all.Total, len(sample))
				}
				london := search(t, st, "region=london")
				if london.Total == 0 || london.Total >= all.Total {
					t.Fatalf("region=london: total %d of %d; want some but not all", london.Total, all.Total)
				}
				for _, o := range london.Items {
					if !contains(o.Regions, "london") {
						t.Errorf("region=london returned %s in %v", o.ID, o.Regions)
					}
				}
				// Facets count under the other filters: the region facet still counts other regions.
				if london.Facets["region"]["london"] != london.Total || len(london.Facets["region"]) < 2 {
					t.Errorf("region facet under region=london = %v; want london=%d and the other regions", london.Facets["region"], london.Total)
				}
				both := search(t, st, "region=london&region=wales")
				if both.Total <= london.Total {
					t.Errorf("region=london&region=wales total %d; want more than london alone (%d)", both.Total, london.Total)
				}
				word := firstWord(sample[0].Name)
				if res := search(t, st, "q="+url.QueryEscape(strings.ToLower(word))); res.Total == 0 || !strings.Contains(strings.ToLower(res.Items[0].Name), strings.ToLower(word)) {
					t.Errorf("q=%s: %d results, first %q; want a name match first", word, res.Total, firstName(res))
				}
			})

			t.Run("one organisation and conditional GET", func(t *testing.T) {
				u := st.URL() + "/directory/organisations/" + sample[0].ID
				status, h, body := get(t, u, nil)
				if status != 200 || h.Get("ETag") == "" || h.Get("Cache-Control") == "" {
					t.Fatalf("GET %s = %d %v %s", u, status, h, body)
				}
				if status, _, _ := get(t, u, http.Header{"If-None-Match": {h.Get("ETag")}}); status != 304 {
					t.Errorf("GET with If-None-Match = %d; want 304", status)
				}
				status, _, body = get(t, st.URL()+"/directory/organisations/no-such-org", nil)
				if status != 404 || !strings.Contains(string(body), `"code":"not_found"`) {
					t.Errorf("GET a missing organisation = %d %s; want 404 not_found", status, body)
				}
				status, _, body = get(t, st.URL()+"/directory/organisations?per_page=500", nil)
				if status != 400 || !strings.Contains(string(body), "per_page must be between 1 and 100") {
					t.Errorf("per_page=500 = %d %s; want 400 with the message", status, body)
				}
			})

			t.Run("staff route needs a token", func(t *testing.T) {
				u := st.URL() + "/staff/imports"
				if status, _, body := get(t, u, nil); status != 401 {
					t.Errorf("GET /staff/imports without a token = %d %s; want 401", status, body)
				}
				if status, _, _ := get(t, u, http.Header{"Authorization": {"Bearer not.a.token"}}); status != 401 {
					t.Errorf("GET /staff/imports with a bad token = %d; want 401", status)
				}
				token, err := st.StaffToken("staff@example.org")
				if err != nil {
					t.Fatal(err)
				}
				status, _, body := get(t, u, http.Header{"Authorization": {"Bearer " + token}})
				var page staffapi.ImportsPage
				if status != 200 || json.Unmarshal(body, &page) != nil || len(page.Items) == 0 || page.Items[0].Status != imports.Published {
					t.Errorf("GET /staff/imports with a token = %d %s; want 200 listing the seed import", status, body)
				}
			})

			t.Run("upload publishes a new directory", func(t *testing.T) {
				csv := "id,name,summary,regions,areas_of_work,lived_experience\n" +
					"zephyr-housing,Zephyr Housing Trust,Supported housing for women leaving prison,North West,Accommodation,yes\n" +
					"quill-mentors,Quill Mentors,Peer mentoring after release,london;wales,mentoring,no\n"
				upload(t, st, "directory/2026-12.csv", []byte(csv))
				res := search(t, st, "q=zephyr")
				if res.Total != 1 || res.Items[0].ID != "zephyr-housing" || !res.Items[0].LivedExperience {
					t.Fatalf("q=zephyr after upload = %+v; want the new organisation", res)
				}
				if all := search(t, st, ""); all.Total != 2 {
					t.Fatalf("after upload, total = %d; want 2 (the file is the complete directory)", all.Total)
				}
			})

			t.Run("readers see the old directory or the new one, never a mix", func(t *testing.T) {
				oldIDs := idSet(search(t, st, "per_page=100").Items)
				newCSV := seed.Synthetic(300)
				fresh, _, err := directory.ParseCSV(bytes.NewReader(newCSV))
				if err != nil {
					t.Fatal(err)
				}
				newIDs := idSet(fresh)

				var wg sync.WaitGroup
				stop := make(chan struct{})
				errs := make(chan error, 100)
				for range 8 {
					wg.Go(func() {
						for {
							select {
							case <-stop:
								return
							default:
							}
							resp, err := http.Get(st.URL() + "/directory/organisations?per_page=100")
							if err != nil {
								errs <- err
								return
							}
							var res directory.Result
							err = json.NewDecoder(resp.Body).Decode(&res)
							resp.Body.Close()
							if err != nil || resp.StatusCode != 200 {
								errs <- fmt.Errorf("status %d, %v", resp.StatusCode, err)
								return
							}
							ids := idSet(res.Items)
							if !(res.Total == len(oldIDs) && subset(ids, oldIDs)) && !(res.Total == len(fresh) && subset(ids, newIDs)) {
								errs <- fmt.Errorf("a response mixing directories: total %d, items %v", res.Total, ids)
								return
							}
						}
					})
				}
				upload(t, st, "directory/2027-01.csv", newCSV)
				close(stop)
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				if res := search(t, st, ""); res.Total != len(fresh) {
					t.Fatalf("after the concurrent publish, total = %d; want %d", res.Total, len(fresh))
				}
			})

			t.Run("invalid upload publishes nothing", func(t *testing.T) {
				before := search(t, st, "")
				bad := "id,name,summary,regions\nok,OK,Fine,london\nbad,,Missing name,Atlantis\n"
				upload(t, st, "directory/broken.csv", []byte(bad))
				if after := search(t, st, ""); after.Total != before.Total {
					t.Fatalf("total after an invalid upload = %d; want %d (unchanged)", after.Total, before.Total)
				}
				client := testenv.S3Client(t, st.S3URL())
				out, err := client.GetObject(context.Background(), &s3.GetObjectInput{
					Bucket: aws.String(st.Bucket("UploadsBucket")), Key: aws.String("reports/directory/broken.csv.json")})
				if err != nil {
					t.Fatalf("the report of the invalid upload: %v", err)
				}
				defer out.Body.Close()
				var rep imports.Report
				if err := json.NewDecoder(out.Body).Decode(&rep); err != nil {
					t.Fatal(err)
				}
				if rep.Status != imports.Rejected || rep.ProblemCount < 2 {
					t.Fatalf("report = %+v; want rejected with the missing name and the unknown region", rep)
				}
				for _, p := range rep.Problems {
					if p.Line != 3 {
						t.Errorf("problem %+v; want line 3", p)
					}
				}
			})
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func firstWord(s string) string {
	for _, w := range strings.Fields(s) {
		if len(w) >= 5 {
			return strings.Trim(w, ".,'’()")
		}
	}
	return strings.Fields(s)[0]
}

func firstName(r directory.Result) string {
	if len(r.Items) == 0 {
		return ""
	}
	return r.Items[0].Name
}

func idSet(orgs []directory.Organisation) map[string]bool {
	m := make(map[string]bool, len(orgs))
	for _, o := range orgs {
		m[o.ID] = true
	}
	return m
}

func subset(a, b map[string]bool) bool {
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
