package testenv

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sectorhub/infra/localstack/s3local"
)

// S3 starts an in-process S3 endpoint (infra/localstack/s3local) holding bucket, versioned as
// the template's uploads bucket is, and returns a path-style SDK client for it and the server
// (whose Backend reads objects directly). The server stops with the test.
func S3(tb testing.TB, bucket string) (*s3.Client, *s3local.Server) {
	tb.Helper()
	srv, err := s3local.New(s3local.Options{Region: Region, Buckets: []string{bucket}, Logf: tb.Logf})
	if err != nil {
		tb.Fatalf("start S3 endpoint: %v", err)
	}
	hs := httptest.NewServer(srv)
	tb.Cleanup(hs.Close)
	return S3Client(tb, hs.URL), srv
}

// S3Client returns a path-style SDK S3 client for endpoint, its aws.Config built by hand.
func S3Client(tb testing.TB, endpoint string) *s3.Client {
	tb.Helper()
	return s3.NewFromConfig(awsConfig(), func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
}
