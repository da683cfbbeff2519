package testenv_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"sectorhub/infra/testenv"
)

func TestS3(t *testing.T) {
	const bucket = "sectorhub-test-uploads"
	client, _ := testenv.S3(t, bucket)
	ctx := context.Background()
	var versions []string
	for _, body := range []string{"id,name\nfirst,First\n", "id,name\nsecond,Second\n"} {
		out, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("directory/2026-11.csv"), Body: bytes.NewReader([]byte(body))})
		if err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		versions = append(versions, aws.ToString(out.VersionId))
	}
	if versions[0] == "" || versions[0] == versions[1] {
		t.Fatalf("PutObject version IDs = %q; want two distinct (the bucket is versioned)", versions)
	}
	got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("directory/2026-11.csv"), VersionId: aws.String(versions[0])})
	if err != nil {
		t.Fatalf("GetObject(version %s): %v", versions[0], err)
	}
	defer got.Body.Close()
	body, err := io.ReadAll(got.Body)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != "id,name\nfirst,First\n" {
		t.Errorf("GetObject(first version) = %q; want the first body", body)
	}
}
