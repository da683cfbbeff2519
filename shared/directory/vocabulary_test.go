package directory_test

import (
	"regexp"
	"testing"

	"sectorhub/shared/directory"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		name string
		list directory.List
		in   string
		want string // "" means not found
	}{
		{"slug", directory.Areas, "mental-health", "mental-health"},
		{"label", directory.Areas, "Mental health", "mental-health"},
		{"label in upper case", directory.Areas, "MENTAL HEALTH", "mental-health"},
		{"surrounding spaces", directory.Regions, "  North West\t", "north-west"},
		{"inner spaces collapse", directory.Regions, "North   West", "north-west"},
		{"non-breaking space", directory.Regions, "North\u00a0West", "north-west"},
		{"slug in upper case", directory.Regions, "NORTH-WEST", "north-west"},
		{"ampersand for and", directory.Regions, "Yorkshire & the Humber", "yorkshire-humber"},
		{"ampersand without spaces", directory.Areas, "Arts&culture", "arts-culture"},
		{"label with a comma", directory.Areas, "Attitudes, thinking and behaviour", "attitudes-thinking-behaviour"},
		{"en dash label", directory.ClientGroups, "Young adults (18–25)", "young-adults"},
		{"hyphen for en dash", directory.ClientGroups, "young adults (18-25)", "young-adults"},
		{"em dash for hyphen", directory.Areas, "Faith—based support", "faith"},
		{"label without its parenthesis", directory.ClientGroups, "Young adults", "young-adults"},
		{"plus sign", directory.ClientGroups, "lgbt+ people", "lgbt"},
		{"accents ignored", directory.Settings, "Prisón", "prison"},
		{"zero width joiner ignored", directory.Regions, "Wal\u200des", "wales"},
		{"soft hyphen ignored", directory.Areas, "Men\u00adtal health", "mental-health"},
		{"unknown", directory.Regions, "Mars", ""},
		{"empty", directory.Regions, "", ""},
		{"term of another list", directory.Regions, "prison", ""},
		{"partial label", directory.Areas, "Advice", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.list.Lookup(tt.in)
			if ok != (tt.want != "") || got != tt.want {
				t.Errorf("%s.Lookup(%q) = %q, %v; want %q", tt.list.Param, tt.in, got, ok, tt.want)
			}
		})
	}
}

func TestLabel(t *testing.T) {
	tests := []struct {
		list       directory.List
		slug, want string
	}{
		{directory.Areas, "faith", "Faith-based support"},
		{directory.ClientGroups, "young-adults", "Young adults (18–25)"},
		{directory.Regions, "east", "East of England"},
		{directory.Settings, "through-the-gate", "Through the gate"},
		{directory.Settings, "Prison", ""},
		{directory.Regions, "mars", ""},
	}
	for _, tt := range tests {
		if got := tt.list.Label(tt.slug); got != tt.want {
			t.Errorf("%s.Label(%q) = %q; want %q", tt.list.Param, tt.slug, got, tt.want)
		}
	}
}

// TestLists checks the shape of the vocabulary: four lists in a fixed order, slugs that are
// safe in URLs, and no two terms that Lookup could confuse.
func TestLists(t *testing.T) {
	want := []struct {
		column, param string
		terms         int
	}{
		{"areas_of_work", "area", 16},
		{"client_groups", "client_group", 11},
		{"regions", "region", 11},
		{"settings", "setting", 5},
	}
	lists := directory.Lists()
	if len(lists) != len(want) {
		t.Fatalf("Lists() has %d lists; want %d", len(lists), len(want))
	}
	slug := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	for i, l := range lists {
		if l.Column != want[i].column || l.Param != want[i].param || len(l.Terms) != want[i].terms {
			t.Errorf("Lists()[%d] = %s/%s with %d terms; want %s/%s with %d", i, l.Column, l.Param, len(l.Terms), want[i].column, want[i].param, want[i].terms)
		}
		for _, term := range l.Terms {
			if !slug.MatchString(term.Slug) {
				t.Errorf("%s slug %q is not lower-case words joined by -", l.Param, term.Slug)
			}
			for _, name := range []string{term.Slug, term.Label} {
				if got, ok := l.Lookup(name); !ok || got != term.Slug {
					t.Errorf("%s.Lookup(%q) = %q, %v; want %q", l.Param, name, got, ok, term.Slug)
				}
			}
			if got := l.Label(term.Slug); got != term.Label {
				t.Errorf("%s.Label(%q) = %q; want %q", l.Param, term.Slug, got, term.Label)
			}
		}
	}
}
