package openreferral

import (
	"sectorhub/shared/directory"
)

// Organization is the ORUK organization a directory organisation becomes.
type Organization struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Email       string `json:"email,omitempty"`
	Website     string `json:"website,omitempty"`
}

// ServiceSummary is a service as lists show it: its one-to-one fields and its organization
// (compiled/service_list.json).
type ServiceSummary struct {
	ID             string       `json:"id"`
	OrganizationID string       `json:"organization_id"`
	Name           string       `json:"name"`
	Description    string       `json:"description"`
	URL            string       `json:"url,omitempty"`
	Email          string       `json:"email,omitempty"`
	Status         string       `json:"status"`
	Organization   Organization `json:"organization"`
}

// Service is a fully nested service (compiled/service.json). Lists are never null.
type Service struct {
	ServiceSummary
	Attributes   []Attribute   `json:"attributes"`
	ServiceAreas []ServiceArea `json:"service_areas"`
	Phones       []Phone       `json:"phones"`
}

// Attribute links a service to a taxonomy term.
type Attribute struct {
	ID             string       `json:"id"`
	LinkID         string       `json:"link_id"`
	LinkEntity     string       `json:"link_entity"`
	TaxonomyTermID string       `json:"taxonomy_term_id"`
	TaxonomyTerm   TaxonomyTerm `json:"taxonomy_term"`
}

// ServiceArea is a region a service covers. The profile has both name and the older
// service_area for the area in words; both hold the region's label.
type ServiceArea struct {
	ID          string `json:"id"`
	ServiceID   string `json:"service_id"`
	Name        string `json:"name"`
	ServiceArea string `json:"service_area"`
}

// Phone is HSDS 3.0's phone of a service.
type Phone struct {
	ID        string `json:"id"`
	ServiceID string `json:"service_id"`
	Number    string `json:"number"`
}

// statusActive is every service's status: the directory lists only organisations at work.
const statusActive = "active"

// summaryOf maps o to its service's one-to-one fields. The organization is described by the
// organisation's summary; the service by its description, or its summary when it has none.
func summaryOf(o *directory.Organisation) ServiceSummary {
	desc := o.Description
	if desc == "" {
		desc = o.Summary
	}
	orgID := OrganizationID(o.ID)
	return ServiceSummary{
		ID:             ServiceID(o.ID),
		OrganizationID: orgID,
		Name:           o.Name,
		Description:    desc,
		URL:            o.Website,
		Email:          o.Email,
		Status:         statusActive,
		Organization: Organization{
			ID:          orgID,
			Name:        o.Name,
			Description: o.Summary,
			Email:       o.Email,
			Website:     o.Website,
		},
	}
}

// ServiceOf maps o to its fully nested service: the terms of its areas of work, client groups
// and settings as attributes, its regions as service areas, its phone.
func ServiceOf(o directory.Organisation) Service {
	s := Service{ServiceSummary: summaryOf(&o), Attributes: []Attribute{}, ServiceAreas: []ServiceArea{}, Phones: []Phone{}}
	v := vocabulary()
	for _, t := range v.taxonomies {
		for _, slug := range termsOf(&o, t.list) {
			term, ok := v.term(t.list.Column, slug)
			if !ok {
				continue // not in the vocabulary; the directory never stores such a slug
			}
			s.Attributes = append(s.Attributes, Attribute{
				ID:             attributeID(o.ID, t.list.Column, slug),
				LinkID:         s.ID,
				LinkEntity:     "service",
				TaxonomyTermID: term.ID,
				TaxonomyTerm:   term,
			})
		}
	}
	for _, r := range o.Regions {
		label := directory.Regions.Label(r)
		if label == "" {
			continue
		}
		s.ServiceAreas = append(s.ServiceAreas, ServiceArea{ID: serviceAreaID(o.ID, r), ServiceID: s.ID, Name: label, ServiceArea: label})
	}
	if o.Phone != "" {
		s.Phones = append(s.Phones, Phone{ID: phoneID(o.ID), ServiceID: s.ID, Number: o.Phone})
	}
	return s
}

// termsOf returns o's slugs of the vocabulary l.
func termsOf(o *directory.Organisation, l directory.List) []string {
	switch l.Column {
	case directory.Areas.Column:
		return o.AreasOfWork
	case directory.ClientGroups.Column:
		return o.ClientGroups
	case directory.Regions.Column:
		return o.Regions
	case directory.Settings.Column:
		return o.Settings
	}
	return nil
}
