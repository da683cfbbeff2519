package imports_test

import (
	"testing"

	"sectorhub/shared/imports"
)

func TestInvalidUTF8Line(t *testing.T) {
	for _, tc := range []struct {
		data string
		want int
	}{{"", 0}, {"héllo\nwörld", 0}, {"ok\xffno", 1}, {"a\nb\nc\xff", 3}, {"a\n\xc3", 2}} {
		if got := imports.InvalidUTF8Line([]byte(tc.data)); got != tc.want {
			t.Errorf("InvalidUTF8Line(%q) = %d; want %d", tc.data, got, tc.want)
		}
	}
}
