package directory

// Organisation is one entry of the directory. Its JSON field names are the CSV column names;
// lists hold vocabulary slugs in vocabulary order; the two flags say whether the organisation
// involves people with lived experience of the criminal justice system in its work and on its
// board.
type Organisation struct {
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

// MarshalJSON encodes o with empty lists as [] rather than null, so clients never need to tell
// the two apart.
func (o Organisation) MarshalJSON() ([]byte, error) { return o.appendJSON(nil), nil }

// terms returns o's slugs of list l.
func (o *Organisation) terms(l List) []string {
	switch l.Column {
	case Areas.Column:
		return o.AreasOfWork
	case ClientGroups.Column:
		return o.ClientGroups
	case Regions.Column:
		return o.Regions
	case Settings.Column:
		return o.Settings
	}
	return nil
}
