package localstack

import (
	"encoding/json"
	"testing"
)

func TestFillEmptyValues(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":{}}`, `{"a":{"L":[]}}`},
		{`{"a":{"S":"x:{}"},"b":{"L":[{},{"S":"y"}]},"c":{"M":{"d":{}}}}`, `{"a":{"S":"x:{}"},"b":{"L":[{"L":[]},{"S":"y"}]},"c":{"M":{"d":{"L":[]}}}}`},
		{`{"n":{"N":"12345678901234567890"}}`, `{"n":{"N":"12345678901234567890"}}`},
	}
	for _, tc := range tests {
		got, err := fillEmptyValues(json.RawMessage(tc.in))
		if err != nil || string(got) != tc.want {
			t.Errorf("fillEmptyValues(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}
