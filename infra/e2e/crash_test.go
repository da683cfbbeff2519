package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sectorhub/infra/localstack"
	"sectorhub/infra/localstack/lambdart"
	"sectorhub/infra/seed"
	"sectorhub/infra/testenv"
)

// TestIngestCrashIsRetriedAndResumes kills the directory upload's function in the middle of an
// import, as a crash would. Lambda retries the event under the same request ID, so the retry
// finds the import claimed by its own request, takes it up again and publishes: the new
// directory is served, the import's record ends published, after one retry.
func TestIngestCrashIsRetriedAndResumes(t *testing.T) {
	for name, endpoint := range targets(t) {
		t.Run(name, func(t *testing.T) {
			reports := &reportList{}
			st := startStackReporting(t, endpoint, reports)
			fnID, bucket := uploadTrigger(t, st, "directory/")
			token, err := st.StaffToken("staff@example.org")
			if err != nil {
				t.Fatal(err)
			}

			// Large enough (about 9 MB, under the 10 MB limit) for the import to be under
			// way for a while: long enough to be caught in the middle.
			const n = 12000
			key := "directory/crash-midway.csv"
			client := testenv.S3Client(t, st.S3URL())
			if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{
				Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(seed.Synthetic(n)),
			}); err != nil {
				t.Fatalf("PutObject(%s): %v", key, err)
			}
			claimed := awaitImport(t, st, token, key)
			if claimed.Status != "processing" {
				t.Fatalf("the import was %s before it could be killed; want it processing (a larger file would take longer)", claimed.Status)
			}
			killed, err := st.CrashBusy(fnID)
			if err != nil {
				t.Fatal(err)
			}
			if len(killed) != 1 {
				t.Fatalf("CrashBusy(%s) ended %v; want the import's one invocation (did it finish first?)", fnID, killed)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			if err := st.Drain(ctx); err != nil {
				t.Fatalf("waiting for the retry: %v", err)
			}
			record := importByID(t, st, token, claimed.ID)
			if record.Key != key || record.Status != "published" {
				t.Errorf("GET /staff/imports/%s = key %s, status %q; want %s published", claimed.ID, record.Key, record.Status, key)
			}
			if listed, ok := findImport(t, st, token, key); !ok || listed.Status != "published" {
				// The list reads gsi1, keyed by received_at: the retry's claim keeps the first
				// one. (The embedded DynamoDB, minidyn before v0.8.2, would also lose the item
				// from the index if a put changed its index key.)
				t.Errorf("GET /staff/imports lists the import of %s: %v, status %q; want published", key, ok, listed.Status)
			}
			if res := search(t, st, ""); res.Total != n {
				t.Errorf("after the retry the directory has %d organisations; want the upload's %d", res.Total, n)
			}
			runs := reports.of(fnID, killed[0])
			if len(runs) != 2 || runs[0].ErrorType != "Runtime.ExitError" || runs[1].Status != "success" {
				t.Errorf("runs of request %s: %+v; want the crash (Runtime.ExitError), then one successful retry under the same request ID", killed[0], runs)
			}
			if f := st.AsyncFailures(); f != 0 {
				t.Errorf("AsyncFailures = %d; want 0", f)
			}
		})
	}
}

// reportList collects a stack's invocation reports.
type reportList struct {
	mu   sync.Mutex
	list []lambdart.Report
}

func (r *reportList) add(rep lambdart.Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rep)
}

// of returns the reports of function logicalID's invocations under requestID, in order.
func (r *reportList) of(logicalID, requestID string) []lambdart.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []lambdart.Report
	for _, rep := range r.list {
		if rep.FunctionName == logicalID && rep.RequestID == requestID {
			out = append(out, rep)
		}
	}
	return out
}

// uploadTrigger finds, in the stack's template, the function an upload under prefix invokes,
// and its bucket.
func uploadTrigger(t *testing.T, st *localstack.Stack, prefix string) (fnID, bucket string) {
	t.Helper()
	for _, e := range st.Template().S3Events {
		if e.Prefix == prefix {
			return e.FunctionID, st.Bucket(e.BucketLogicalID)
		}
	}
	t.Fatalf("no S3 event of the template has the prefix %s", prefix)
	return "", ""
}

// importRecord is what this test reads of an item of GET /staff/imports.
type importRecord struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Status string `json:"status"`
}

// findImport returns the newest record for key in GET /staff/imports (newest first).
func findImport(t *testing.T, st *localstack.Stack, token, key string) (importRecord, bool) {
	t.Helper()
	status, _, body := get(t, st.URL()+"/staff/imports", http.Header{"Authorization": {"Bearer " + token}})
	var page struct {
		Items []importRecord `json:"items"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &page) != nil {
		t.Fatalf("GET /staff/imports = %d %s; want 200 and a list", status, body)
	}
	for _, rec := range page.Items {
		if rec.Key == key {
			return rec, true
		}
	}
	return importRecord{}, false
}

// importByID returns GET /staff/imports/{id}.
func importByID(t *testing.T, st *localstack.Stack, token, id string) importRecord {
	t.Helper()
	status, _, body := get(t, st.URL()+"/staff/imports/"+id, http.Header{"Authorization": {"Bearer " + token}})
	var rec importRecord
	if status != http.StatusOK || json.Unmarshal(body, &rec) != nil {
		t.Fatalf("GET /staff/imports/%s = %d %s; want 200 and the record", id, status, body)
	}
	return rec
}

// awaitImport asks for the import of key until it is listed, and returns its record. The
// test's own timeout bounds the wait; the pause between asks leaves the CPU to the import.
func awaitImport(t *testing.T, st *localstack.Stack, token, key string) importRecord {
	t.Helper()
	for {
		if rec, ok := findImport(t, st, token, key); ok {
			return rec
		}
		time.Sleep(20 * time.Millisecond)
	}
}
