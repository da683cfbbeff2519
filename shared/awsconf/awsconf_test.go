package awsconf_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"sectorhub/shared/awsconf"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	cfg := awsconf.FromEnv(env(map[string]string{
		"AWS_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
	}))
	if cfg.Region != "eu-west-2" {
		t.Errorf("Region = %q; want eu-west-2", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKID" || creds.SecretAccessKey != "secret" || creds.SessionToken != "token" {
		t.Errorf("Credentials = %+v, %v; want the environment's", creds, err)
	}

	if got := awsconf.FromEnv(env(map[string]string{"AWS_DEFAULT_REGION": "eu-west-1"})).Region; got != "eu-west-1" {
		t.Errorf("Region from AWS_DEFAULT_REGION = %q; want eu-west-1", got)
	}
	if _, err := awsconf.FromEnv(env(nil)).Credentials.Retrieve(context.Background()); err == nil {
		t.Error("Credentials without AWS_ACCESS_KEY_ID succeeded; want an error")
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"none", nil, ""},
		{"service", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}, "http://127.0.0.1:8000"},
		{"global", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}, "http://127.0.0.1:9000"},
		{"service wins", map[string]string{"AWS_ENDPOINT_URL": "http://g", "AWS_ENDPOINT_URL_DYNAMODB": "http://s"}, "http://s"},
		{"other service", map[string]string{"AWS_ENDPOINT_URL_S3": "http://s3"}, ""},
	}
	for _, tc := range tests {
		if got := aws.ToString(awsconf.Endpoint(env(tc.env), "DYNAMODB")); got != tc.want {
			t.Errorf("%s: Endpoint(DYNAMODB) = %q; want %q", tc.name, got, tc.want)
		}
	}
}
