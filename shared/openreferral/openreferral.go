// Package openreferral maps the directory of services onto Open Referral UK (ORUK), the national
// standard councils and the NHS use to exchange directories, as its UK profile 3.0 API
// describes (github.com/OpenReferralUK/uk-profile, schema/openapi.json):
//
//   - each directory organisation is one ORUK organization and one service it provides;
//   - the areas of work, client groups and settings vocabularies are three taxonomies whose
//     terms are attached to services as attributes;
//   - regions are the service's service_areas;
//   - website, email and phone are the service's url, email and phones (and the organization's
//     website and email). The UK profile has no phone on a service; phones is HSDS 3.0's field,
//     which the profile's schemas allow.
//
// ORUK ids are UUIDs. Every id here is a UUID v5 (SHA-1) under Namespace, of a name made from
// the directory's own stable keys ("service:" + the organisation's id, "taxonomy_term:" + the
// vocabulary column and the term's slug), so ids stay the same across imports and instances
// without being stored anywhere.
//
// The package imports no infrastructure: it is the pure mapping. Feed answers the feed's
// questions over one directory version's search index; ParseServicesQuery and the other
// parsers turn query parameters into them, with 400-ready errors.
package openreferral

import (
	"github.com/google/uuid"
)

// What the feed's root document says about it.
const (
	// Version is the HSDS version the feed implements.
	Version = "3.0"
	// Profile is the profile's home.
	Profile = "https://openreferraluk.org/"
	// OpenAPIURL is the profile's OpenAPI document, the contract of every route of the feed.
	OpenAPIURL = "https://raw.githubusercontent.com/openreferral/uk-profile/main/schema/openapi.json"
)

// Namespace is the UUID v5 namespace of every ORUK id the feed makes. It must never change:
// consumers store the ids.
var Namespace = uuid.MustParse("6557a9e2-ba1c-4bf3-8924-e3cd21a4da21")

// Root is the feed's root document (GET /openreferral).
type Root struct {
	Version    string `json:"version"`
	Profile    string `json:"profile"`
	OpenAPIURL string `json:"openapi_url"`
}

// RootDocument returns the root document.
func RootDocument() Root {
	return Root{Version: Version, Profile: Profile, OpenAPIURL: OpenAPIURL}
}

// id returns the UUID v5 of name under Namespace, in its canonical text form.
func id(name string) string {
	return uuid.NewSHA1(Namespace, []byte(name)).String()
}

// OrganizationID is the ORUK id of the organization a directory organisation becomes.
func OrganizationID(directoryID string) string { return id("organization:" + directoryID) }

// ServiceID is the ORUK id of the one service a directory organisation provides.
func ServiceID(directoryID string) string { return id("service:" + directoryID) }

// TaxonomyID is the ORUK id of the taxonomy made from the vocabulary with the given column.
func TaxonomyID(column string) string { return id("taxonomy:" + column) }

// TaxonomyTermID is the ORUK id of the term with slug in the vocabulary with the given column.
func TaxonomyTermID(column, slug string) string { return id("taxonomy_term:" + column + ":" + slug) }

func attributeID(directoryID, column, slug string) string {
	return id("attribute:" + directoryID + ":" + column + ":" + slug)
}

func serviceAreaID(directoryID, region string) string {
	return id("service_area:" + directoryID + ":" + region)
}

func phoneID(directoryID string) string { return id("phone:" + directoryID) }

// canonicalUUID returns s as a canonical lower-case UUID, or false if s is not a UUID in its
// usual 36-character form. Ids in URLs are compared in this form.
func canonicalUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}
