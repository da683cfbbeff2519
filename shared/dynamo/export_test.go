package dynamo

// SetBeforePublish makes PublishDirectory call f between reading the live directory and
// writing its transaction, so that a test can publish something else in between.
func SetBeforePublish(s *Store, f func()) { s.beforePublish = f }

// SetBeforeClaim makes BeginImport call f between reading the import and claiming it.
func SetBeforeClaim(s *Store, f func()) { s.beforeClaim = f }
