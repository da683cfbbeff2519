// Package emulators names what `make test` hands the tests about the third-party emulators it
// starts (infra/emulators/run): one place, so the runner and infra/testenv cannot drift apart.
package emulators

// Environment variables the runner sets for the command it runs.
const (
	// EnvDynamoDBEndpoint is DynamoDB Local's endpoint, http://127.0.0.1:port.
	EnvDynamoDBEndpoint = "SECTORHUB_TEST_DYNAMODB_ENDPOINT"
	// EnvSESEndpoint is moto_server's endpoint (its SES API).
	EnvSESEndpoint = "SECTORHUB_TEST_SES_ENDPOINT"
	// EnvRequired is set to "1" by the runner: tests then fail, rather than quietly run against
	// the embedded emulators only, when an endpoint above is missing.
	EnvRequired = "SECTORHUB_TEST_EMULATORS_REQUIRED"
)
