package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/seed"
	"sectorhub/shared/directory"
	"sectorhub/shared/dynamo"
)

// indexLoad measures, in this process, what loading the live version's index costs: fetching
// and decoding it from the stack's DynamoDB as a search instance does, decoding alone, and, to
// compare, building it from the organisations as instances did before indexes were stored.
// The live version must hold seed.Synthetic(n).
func (b *bench) indexLoad(ctx context.Context, w io.Writer, n int) error {
	env, err := b.st.Template().ResolveEnv(b.search, b.st.Names())
	if err != nil {
		return err
	}
	store := dynamo.New(dynamodb.New(dynamodb.Options{
		Region:       b.st.Template().Pseudo["AWS::Region"],
		BaseEndpoint: aws.String(b.st.DynamoDBEndpoint()),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	}), env["TABLE_NAME"])
	live, ok, err := store.CurrentDirectory(ctx)
	if err != nil || !ok || live.Count != n {
		return fmt.Errorf("the live directory is %+v (%v); want %d organisations", live, err, n)
	}
	var fetches []time.Duration
	how := ""
	for range 5 {
		start := time.Now()
		ix, h, err := store.DirectoryIndex(ctx, live.Version)
		if err != nil {
			return err
		}
		fetches = append(fetches, time.Since(start))
		if how = h; ix.Len() != n {
			return fmt.Errorf("DirectoryIndex = %d organisations; want %d", ix.Len(), n)
		}
	}

	orgs, _, err := directory.ParseCSV(bytes.NewReader(seed.Synthetic(n)))
	if err != nil {
		return err
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	size, err := directory.NewIndex(orgs).WriteTo(zw)
	if err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	decode := func() (*directory.Index, error) {
		zr, err := gzip.NewReader(bytes.NewReader(zipped.Bytes()))
		if err != nil {
			return nil, err
		}
		ix, _, err := directory.ReadIndex(zr, size)
		return ix, err
	}
	decodes, decodeAlloc, decodeHeld, err := measure(10, decode)
	if err != nil {
		return err
	}
	builds, buildAlloc, buildHeld, err := measure(5, func() (*directory.Index, error) { return directory.NewIndex(orgs), nil })
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "\n== Loading the index of %d organisations, in process ==\n", n)
	fmt.Fprintf(w, "stored with the version: %.2f MB gzip (%.1f MB decoded)\n", float64(zipped.Len())/1e6, float64(size)/1e6)
	fmt.Fprintf(w, "fetch and decode from the local DynamoDB (DirectoryIndex, %s): p50 %s, max %s\n", how, msStr(median(fetches)), msStr(maxDur(fetches)))
	fmt.Fprintf(w, "decode alone (gunzip, directory.ReadIndex): p50 %s, max %s; allocates %.1f MB; the index holds %.1f MB\n",
		msStr(median(decodes)), msStr(maxDur(decodes)), decodeAlloc, decodeHeld)
	fmt.Fprintf(w, "build instead (directory.NewIndex of parsed organisations, what a cold instance did after decoding JSON): p50 %s, max %s; allocates %.1f MB; the index holds %.1f MB besides the organisations\n",
		msStr(median(builds)), msStr(maxDur(builds)), buildAlloc, buildHeld)
	return nil
}

// measure runs make runs times and returns its durations, the MB it allocates per run, and the
// MB of heap the index it makes holds.
func measure(runs int, make func() (*directory.Index, error)) (ds []time.Duration, allocMB, heldMB float64, err error) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		start := time.Now()
		if _, err := make(); err != nil {
			return nil, 0, 0, err
		}
		ds = append(ds, time.Since(start))
	}
	runtime.ReadMemStats(&after)
	allocMB = float64(after.TotalAlloc-before.TotalAlloc) / float64(runs) / 1e6
	runtime.GC()
	runtime.ReadMemStats(&before)
	ix, err := make()
	if err != nil {
		return nil, 0, 0, err
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(ix)
	heldMB = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / 1e6
	return ds, allocMB, heldMB, nil
}
