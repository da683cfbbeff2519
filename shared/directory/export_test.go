package directory

// PlainOrganisation lets the external tests use plainOrganisation (encode_test.go).
type PlainOrganisation = plainOrganisation
