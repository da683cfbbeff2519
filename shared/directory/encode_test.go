package directory

import (
	"bytes"
	"encoding/json"
	"testing"
)

// plainOrganisation has Organisation's fields and tags but no MarshalJSON: what encoding/json
// makes of an organisation, the reference the custom encoder is held to. The conversion
// plainOrganisation(o) stops compiling if Organisation gains or loses a field.
type plainOrganisation struct {
	ID                   string   `json:"id"`
	Name                 string   `json:"name"`
	Summary              string   `json:"summary"`
	Description          string   `json:"description"`
	AreasOfWork          []string `json:"areas_of_work"`
	ClientGroups         []string `json:"client_groups"`
	Regions              []string `json:"regions"`
	Settings             []string `json:"settings"`
	LivedExperience      bool     `json:"lived_experience"`
	LivedExperienceBoard bool     `json:"lived_experience_board"`
	Website              string   `json:"website"`
	Email                string   `json:"email"`
	Phone                string   `json:"phone"`
	Postcode             string   `json:"postcode"`
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		org  Organisation
	}{
		{"plain", Organisation{ID: "a", Name: "A", Summary: "s", Regions: []string{"london"}, AreasOfWork: []string{}, ClientGroups: []string{}, Settings: []string{}}},
		{"special characters", Organisation{
			ID: "b", Name: `Quote " and \ backslash`, Summary: "<script>alert('x')</script> & more",
			Description: "line one\nline two\ttab\u2028sep – Café ’s", Website: "https://example.org/?a=1&b=2",
			AreasOfWork: []string{"health"}, ClientGroups: []string{}, Regions: []string{"wales", "national"}, Settings: []string{},
			LivedExperience: true, Email: "x@example.org", Phone: "020 7946 0000", Postcode: "SW1A 1AA",
		}},
		{"invalid UTF-8", Organisation{ID: "c", Name: "bad \xff byte", AreasOfWork: []string{}, ClientGroups: []string{}, Regions: []string{}, Settings: []string{}}},
	}
	for _, tc := range tests {
		want, err := json.Marshal(plainOrganisation(tc.org))
		if err != nil {
			t.Fatal(err)
		}
		if got := tc.org.appendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("%s: appendJSON =\n%s\nwant (encoding/json)\n%s", tc.name, got, want)
		}
	}
	if got, _ := json.Marshal(Organisation{ID: "d"}); !bytes.Contains(got, []byte(`"regions":[]`)) {
		t.Errorf("json.Marshal(Organisation without lists) = %s; want empty lists as []", got)
	}
}
