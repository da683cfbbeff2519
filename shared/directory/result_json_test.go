package directory_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"testing"

	"sectorhub/infra/seed"
	"sectorhub/shared/directory"
)

func TestResultAppendJSON(t *testing.T) {
	orgs, problems, err := directory.ParseCSV(bytes.NewReader(seed.DirectoryCSV))
	if err != nil || len(problems) > 0 {
		t.Fatalf("ParseCSV: %v %v", problems, err)
	}
	ix := directory.NewIndex(orgs)
	for _, raw := range []string{"", "q=women", "q=hous&region=london", "region=london&region=wales&per_page=3&page=2", "q=zzzzzz", "page=999"} {
		v, _ := url.ParseQuery(raw)
		q, err := directory.ParseQuery(v)
		if err != nil {
			t.Fatal(err)
		}
		res := ix.Search(q)
		fast := res.AppendJSON(nil)
		slow, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(fast, &a); err != nil {
			t.Fatalf("?%s: AppendJSON made invalid JSON: %v\n%s", raw, err, fast)
		}
		if err := json.Unmarshal(slow, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("?%s: AppendJSON =\n%s\nwant the same value as encoding/json\n%s", raw, fast, slow)
		}
	}
}
