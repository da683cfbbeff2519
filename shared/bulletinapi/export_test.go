package bulletinapi

// PrefersJSON is prefersJSON, for the tests.
var PrefersJSON = prefersJSON
