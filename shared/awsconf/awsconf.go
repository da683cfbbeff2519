// Package awsconf builds AWS SDK configuration from a Lambda function's environment, cheaply.
//
// The SDK's config package (config.LoadDefaultConfig) reads shared config files, a CA bundle,
// and pulls in SSO, STS and IMDS clients: it costs milliseconds of cold start that a Lambda
// function never needs, since Lambda hands every function its region and credentials in
// environment variables. So we build aws.Config by hand from those variables.
//
// Endpoints follow the SDK's own convention: AWS_ENDPOINT_URL_<SERVICE> (for example
// AWS_ENDPOINT_URL_DYNAMODB) or AWS_ENDPOINT_URL for every service. The local stack and the tests
// set them; in AWS they are unset and the SDK resolves the regional endpoint.
package awsconf

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// FromEnv returns an aws.Config with the region and credentials of the environment.
func FromEnv(getenv func(string) string) aws.Config {
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(envCredentials{getenv: getenv}),
	}
}

// Endpoint returns the endpoint override for service (an upper-case SDK service ID such as
// "DYNAMODB", "S3" or "SES"), or nil when the SDK should resolve the regional endpoint.
func Endpoint(getenv func(string) string, service string) *string {
	if v := getenv("AWS_ENDPOINT_URL_" + service); v != "" {
		return aws.String(v)
	}
	if v := getenv("AWS_ENDPOINT_URL"); v != "" {
		return aws.String(v)
	}
	return nil
}

// envCredentials reads the credentials Lambda puts in the environment. Lambda's environment
// credentials last as long as the execution environment, so reading them once is enough; the
// credentials cache around it does that.
type envCredentials struct{ getenv func(string) string }

func (e envCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	id, secret := e.getenv("AWS_ACCESS_KEY_ID"), e.getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.Credentials{}, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}
	return aws.Credentials{
		AccessKeyID:     id,
		SecretAccessKey: secret,
		SessionToken:    e.getenv("AWS_SESSION_TOKEN"),
		Source:          "environment",
	}, nil
}
