package dynamo

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/infra/seed"
	"sectorhub/infra/testenv"
	"sectorhub/shared/directory"
)

// smallParts makes WriteDirectoryVersion cut indexes into parts of n bytes for the test.
func smallParts(t *testing.T, n int) {
	old := indexPartBytes
	indexPartBytes = n
	t.Cleanup(func() { indexPartBytes = old })
}

func parse(tb testing.TB, csv []byte) []directory.Organisation {
	tb.Helper()
	orgs, problems, err := directory.ParseCSV(bytes.NewReader(csv))
	if err != nil || len(problems) > 0 {
		tb.Fatalf("ParseCSV = %v, %v", problems, err)
	}
	return orgs
}

// sameSearches fails tb unless got answers a few kinds of query with the same JSON as want.
func sameSearches(tb testing.TB, got, want *directory.Index) {
	tb.Helper()
	for _, raw := range []string{"", "q=housing", "q=mentr", "q=resetlement&region=london", "area=mental-health&lived_experience=true&page=2", "q=women+prison+"} {
		v, _ := url.ParseQuery(raw)
		q, err := directory.ParseQuery(v)
		if err != nil {
			tb.Fatalf("ParseQuery(%q): %v", raw, err)
		}
		if g, w := got.Search(q), want.Search(q); !bytes.Equal(g.AppendJSON(nil), w.AppendJSON(nil)) {
			tb.Errorf("Search(%q) over the stored index = %d results; over a built one %d, or their items differ", raw, g.Total, w.Total)
		}
	}
}

func TestDirectoryIndex(t *testing.T) {
	smallParts(t, 8<<10)
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := New(db, table)
		orgs := parse(t, seed.Synthetic(400))
		built := directory.NewIndex(orgs)
		if err := st.WriteDirectoryVersion(ctx, "v1", orgs, time.Now()); err != nil {
			t.Fatal(err)
		}
		head, err := st.indexPart(ctx, "v1", 0)
		if err != nil {
			t.Fatal(err)
		}
		parts, _ := numberAttr(head, "parts")
		if parts < 3 {
			t.Fatalf("the index of 400 organisations in parts of 8 KB has %d parts; the test needs several", parts)
		}

		ix, how, err := st.DirectoryIndex(ctx, "v1")
		if err != nil || how != IndexDecoded || ix.Len() != len(orgs) {
			t.Fatalf("DirectoryIndex(v1) = %v, %q, %v; want %d organisations decoded", ix, how, err, len(orgs))
		}
		sameSearches(t, ix, built)

		// A version with no index at all: nothing published, nothing found.
		if ix, how, err := st.DirectoryIndex(ctx, "none"); err != nil || ix.Len() != 0 || how != IndexOrganisations {
			t.Errorf("DirectoryIndex(none) = %v, %q, %v; want an empty index from the organisations", ix, how, err)
		}

		// A missing or corrupt part is an error, never a smaller index.
		for _, tc := range []struct {
			name   string
			change func(item map[string]types.AttributeValue) map[string]types.AttributeValue
		}{
			{"missing part", func(map[string]types.AttributeValue) map[string]types.AttributeValue { return nil }},
			{"corrupt part", func(item map[string]types.AttributeValue) map[string]types.AttributeValue {
				data := bytes.Clone(item["data"].(*types.AttributeValueMemberB).Value)
				data[len(data)/2] ^= 0x55
				item["data"] = &types.AttributeValueMemberB{Value: data}
				return item
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := st.WriteDirectoryVersion(ctx, "v2", orgs, time.Now()); err != nil {
					t.Fatal(err)
				}
				k := key(versionPK("v2"), indexPartSK(int(parts)-2))
				out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &st.table, Key: k})
				if err != nil {
					t.Fatal(err)
				}
				if item := tc.change(out.Item); item == nil {
					_, err = st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table, Key: k})
				} else {
					_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item})
				}
				if err != nil {
					t.Fatal(err)
				}
				if ix, _, err := st.DirectoryIndex(ctx, "v2"); err == nil {
					t.Fatalf("DirectoryIndex with a %s = %d organisations; want an error", tc.name, ix.Len())
				}
			})
		}

		// A cancelled load stops with the context's error.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := st.DirectoryIndex(cctx, "v1"); !errors.Is(err, context.Canceled) {
			t.Errorf("DirectoryIndex with a cancelled context = %v; want context.Canceled", err)
		}
	})
}

// TestDirectoryIndexOfOlderVersions: a version written before indexes were stored (CHUNK#
// items of gzip JSON, no INDEX#), or with an index of a format this code does not read, is
// indexed from its ORG# items.
func TestDirectoryIndexOfOlderVersions(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		ctx := context.Background()
		st := New(db, table)
		orgs := parse(t, seed.DirectoryCSV)
		built := directory.NewIndex(orgs)
		for _, tc := range []struct {
			version string
			head    []byte // what INDEX#0000 holds instead of the index; nil for no index
		}{
			{"before-indexes", nil},
			{"other-format", gzipped(t, []byte("sectorhub directory index\n\x63"))},
		} {
			if err := st.WriteDirectoryVersion(ctx, tc.version, orgs, time.Now()); err != nil {
				t.Fatal(err)
			}
			pk := versionPK(tc.version)
			var err error
			if tc.head == nil {
				_, err = st.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &st.table, Key: key(pk, indexPartSK(0))})
				if err == nil {
					chunk := key(pk, "CHUNK#0000")
					chunk["data"] = &types.AttributeValueMemberB{Value: gzipped(t, []byte(`{"id":"old-format"}`))}
					_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: chunk})
				}
			} else {
				item := key(pk, indexPartSK(0))
				item["data"] = &types.AttributeValueMemberB{Value: tc.head}
				item["parts"] = &types.AttributeValueMemberN{Value: "1"}
				item["size"] = &types.AttributeValueMemberN{Value: fmt.Sprint(len("sectorhub directory index\n\x63"))}
				_, err = st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &st.table, Item: item})
			}
			if err != nil {
				t.Fatal(err)
			}
			ix, how, err := st.DirectoryIndex(ctx, tc.version)
			if err != nil || how != IndexOrganisations || ix.Len() != len(orgs) {
				t.Fatalf("DirectoryIndex(%s) = %v, %q, %v; want %d organisations from ORG# items", tc.version, ix, how, err, len(orgs))
			}
			sameSearches(t, ix, built)
		}
	})
}

func gzipped(tb testing.TB, data []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
