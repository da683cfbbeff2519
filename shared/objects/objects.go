// Package objects is the S3 adapter for the uploads bucket: read an uploaded object (one
// exact version, bounded in size) and write a report beside it.
package objects

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"sectorhub/shared/awsconf"
)

// Store reads and writes objects in S3.
type Store struct{ s3 *s3.Client }

// New returns a Store using client.
func New(client *s3.Client) *Store { return &Store{s3: client} }

// Open returns the body of one version of an object ("" for the latest), read through a
// limit: reading more than max bytes fails with ErrTooLarge, whatever size the object claims.
func (s *Store) Open(ctx context.Context, bucket, key, versionID string, max int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{Bucket: &bucket, Key: &key}
	if versionID != "" {
		in.VersionId = &versionID
	}
	out, err := s.s3.GetObject(ctx, in)
	if notFound(err) {
		return nil, fmt.Errorf("get s3://%s/%s (version %q): %w", bucket, key, versionID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	return &limitedBody{r: io.LimitReader(out.Body, max+1), c: out.Body, left: max}, nil
}

// ErrNotFound is returned by Open when the object, or the version asked for, does not exist.
var ErrNotFound = errors.New("no such object")

// notFound reports whether err is S3's answer for a missing key or version. A GetObject of a
// version that is a delete marker answers 405 MethodNotAllowed: that object is gone too.
func notFound(err error) bool {
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "NoSuchKey", "NoSuchVersion", "NotFound", "MethodNotAllowed":
			return true
		}
	}
	return false
}

// ErrTooLarge is returned by a body opened with Open once it passes its limit.
var ErrTooLarge = errors.New("object is larger than the limit")

type limitedBody struct {
	r    io.Reader
	c    io.Closer
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, ErrTooLarge
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.c.Close() }

// PutJSON writes body as a JSON object at key.
func (s *Store) PutJSON(ctx context.Context, bucket, key string, body []byte) error {
	_, err := s.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &bucket,
		Key:           &key,
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// NewClient returns an S3 client for a function, configured from its environment (see package
// awsconf). With AWS_ENDPOINT_URL_S3 set (the local stack, tests) it uses path-style
// addressing, which local S3 servers need.
func NewClient(getenv func(string) string) *s3.Client {
	endpoint := awsconf.Endpoint(getenv, "S3")
	return s3.NewFromConfig(awsconf.FromEnv(getenv), func(o *s3.Options) {
		o.BaseEndpoint = endpoint
		o.UsePathStyle = endpoint != nil
	})
}
