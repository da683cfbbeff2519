package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sectorhub/shared/objects"
	"sectorhub/shared/staffapi"
)

// presigner signs upload URLs with the function's own credentials: a presigned URL carries the
// rights of whoever signed it, so the template allows StaffFunction s3:PutObject under the
// upload prefixes and nothing else in the bucket. Its S3 client is built on first use, not at
// init, keeping it out of the cold start of the imports routes.
type presigner struct{ client func() *s3.PresignClient }

func newPresigner(getenv func(string) string) presigner {
	return presigner{client: sync.OnceValue(func() *s3.PresignClient {
		return s3.NewPresignClient(objects.NewClient(getenv))
	})}
}

// PresignPut signs a PutObject of key with metadata (sent as x-amz-meta-* headers, which the
// signature covers).
func (p presigner) PresignPut(ctx context.Context, bucket, key string, metadata map[string]string, expires time.Duration) (staffapi.PresignedRequest, error) {
	req, err := p.client().PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Metadata: metadata}, s3.WithPresignExpires(expires))
	if err != nil {
		return staffapi.PresignedRequest{}, fmt.Errorf("presign put s3://%s/%s: %w", bucket, key, err)
	}
	at, err := expiresAt(req.URL)
	if err != nil {
		return staffapi.PresignedRequest{}, err
	}
	return staffapi.PresignedRequest{URL: req.URL, Method: req.Method, Header: req.SignedHeader, ExpiresAt: at}, nil
}

// expiresAt reads when a SigV4 presigned URL stops working: its X-Amz-Date (the signing time,
// to the second) plus X-Amz-Expires seconds, exactly what S3 checks.
func expiresAt(rawURL string) (time.Time, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return time.Time{}, fmt.Errorf("presigned URL: %w", err)
	}
	q := u.Query()
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return time.Time{}, fmt.Errorf("presigned URL: X-Amz-Date %q: %w", q.Get("X-Amz-Date"), err)
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil {
		return time.Time{}, fmt.Errorf("presigned URL: X-Amz-Expires %q: %w", q.Get("X-Amz-Expires"), err)
	}
	return signed.Add(time.Duration(secs) * time.Second), nil
}
