package templatecheck

import (
	"fmt"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"sectorhub/infra/samtemplate"
	"sectorhub/shared/ingest"
)

// matchesS3 returns "" if every record of ev would be sent to e by a bucket named bucket, or
// why not.
func matchesS3(e samtemplate.S3Event, bucket string, ev events.S3Event) string {
	if len(ev.Records) == 0 {
		return "no records"
	}
	for i, r := range ev.Records {
		if r.S3.Bucket.Name != bucket {
			return fmt.Sprintf("record %d: bucket %q, not %q", i, r.S3.Bucket.Name, bucket)
		}
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			return fmt.Sprintf("record %d: key %q is not URL-encoded: %v", i, r.S3.Object.Key, err)
		}
		if !strings.HasPrefix(key, e.Prefix) || !strings.HasSuffix(key, e.Suffix) {
			return fmt.Sprintf("record %d: key %q does not match prefix %q and suffix %q", i, key, e.Prefix, e.Suffix)
		}
		matched := false
		for _, pattern := range e.Events {
			if ok, _ := path.Match(strings.TrimPrefix(pattern, "s3:"), r.EventName); ok {
				matched = true
			}
		}
		if !matched {
			return fmt.Sprintf("record %d: event %q is none of %v", i, r.EventName, e.Events)
		}
	}
	return ""
}

func TestEveryS3EventHasASample(t *testing.T) {
	tmpl := loadTemplate(t)
	names, err := tmpl.LocalNames(func(logicalID string) string { return logicalID })
	if err != nil {
		t.Fatal(err)
	}
	all := samples(t)
	for _, e := range tmpl.S3Events {
		bucket := names[e.BucketLogicalID]
		var misses []string
		found := false
		for _, s := range all {
			if s.S3 == nil {
				continue
			}
			why := matchesS3(e, bucket, *s.S3)
			if why == "" {
				found = true
				break
			}
			misses = append(misses, "events/"+s.File+": "+why)
		}
		if !found {
			t.Errorf("%s event %s (bucket %s, prefix %q, suffix %q) has no sample in events/; %v", e.FunctionID, e.EventID, bucket, e.Prefix, e.Suffix, misses)
		}
	}
	for _, s := range all {
		if s.S3 == nil {
			continue
		}
		owned := false
		for _, e := range tmpl.S3Events {
			owned = owned || matchesS3(e, names[e.BucketLogicalID], *s.S3) == ""
		}
		if !owned {
			t.Errorf("events/%s matches no S3 event of template.yaml (bucket, prefix, suffix or event name)", s.File)
		}
	}
}

// TestUploadFunctionsFitTheLease: an import's claim is leased for ingest.Lease so that a
// crashed invocation's import can be taken over; an invocation still running after its lease
// could be overtaken while it works. Every function triggered by uploads must time out first.
func TestUploadFunctionsFitTheLease(t *testing.T) {
	tmpl := loadTemplate(t)
	for _, e := range tmpl.S3Events {
		fn, ok := tmpl.Function(e.FunctionID)
		if !ok {
			t.Fatalf("S3 event %s names no function %s", e.EventID, e.FunctionID)
		}
		if fn.Timeout >= ingest.Lease {
			t.Errorf("%s times out after %v, not before the import lease (%v) runs out", fn.LogicalID, fn.Timeout, ingest.Lease)
		}
	}
}
