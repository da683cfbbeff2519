package dynamo

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/shared/apperr"
)

// FuzzImportsCursor feeds the staff API's cursor parameter to its decoder: it never panics,
// refuses what it cannot use with invalid_parameter, and a cursor it accepts can only point
// into the imports index.
func FuzzImportsCursor(f *testing.F) {
	valid := encodeImportsCursor(map[string]types.AttributeValue{
		"gsi1sk": &types.AttributeValueMemberS{Value: timeKey(time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)) + "#abc123"},
	})
	for _, seed := range []string{valid, "", "!!!", "bm90LWEtY3Vyc29y", strings.Repeat("A", 400), valid + "x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		key, err := decodeImportsCursor(cursor)
		if err != nil {
			if apperr.Code(err) != apperr.Invalid {
				t.Fatalf("decodeImportsCursor(%q) error %v; want invalid_parameter", cursor, err)
			}
			return
		}
		if pk := key["gsi1pk"].(*types.AttributeValueMemberS).Value; pk != importsGSIPK {
			t.Fatalf("decodeImportsCursor(%q) gsi1pk = %q; want %q", cursor, pk, importsGSIPK)
		}
		pk := key["pk"].(*types.AttributeValueMemberS).Value
		if !strings.HasPrefix(pk, importPKPrefix) || strings.Count(pk, "#") != 1 {
			t.Fatalf("decodeImportsCursor(%q) pk = %q; want one import's key", cursor, pk)
		}
		if again := encodeImportsCursor(key); again != cursor {
			t.Fatalf("re-encoded cursor = %q; want %q", again, cursor)
		}
	})
}
