package dynamo

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/shared/directory"
)

// A version's search index is stored ready to use: the ingest builds it once
// (directory.NewIndex), writes its snapshot (Index.WriteTo) gzip-compressed and cut into
// parts, and a search instance that loads the version decodes it (DirectoryIndex) rather than
// building it again.
//
//	pk                   sk            attributes
//	DIRECTORY#<version>  INDEX#0000    data (part 0), parts (how many), size (uncompressed bytes)
//	DIRECTORY#<version>  INDEX#<nnnn>  data (part n)
//
// Versions written before indexes were stored have CHUNK# items instead (gzip JSON of the
// organisations), which this code does not read; nor does it read a snapshot of another format
// (directory.ErrIndexFormat). For those DirectoryIndex builds the index from the version's ORG#
// items: slower, but only until the next publish, and never wrong. CHUNK# items are pruned with
// the rest of their version.
const (
	indexSK = "INDEX#"
	// indexFetchers is how many parts a load reads at once: a few requests in flight hide the
	// latency of each, without letting one instance's load swamp the table or the network.
	indexFetchers = 4
	// maxIndexParts bounds the parts a head item may claim (MaxRows organisations need far fewer).
	maxIndexParts = 4096
	// indexRetryDelay caps the SDK's backoff between attempts at one part. Its default waits up
	// to 2 s before the first retry, for a load that decodes in tens of milliseconds and that
	// searches are waiting for; a read of a large item now and then fails at once with "use of
	// closed network connection" (aws/aws-sdk-go-v2#2737; the embedded server shows it about
	// once in 150 reads of a part), which a prompt retry cures. Attempts stay at the SDK's
	// three, and the load's deadline bounds them all.
	indexRetryDelay = 50 * time.Millisecond
)

// indexPartBytes bounds one part, under DynamoDB's 400 KB item limit with room for the keys.
// Tests set it smaller, to make many parts of a small directory.
var indexPartBytes = 360 << 10

// How DirectoryIndex made an index, for the loader's log.
const (
	IndexDecoded       = "decoded"       // from the version's index snapshot
	IndexRebuilt       = "rebuilt"       // the snapshot's organisations, indexed again: its text rules differ from this code's
	IndexOrganisations = "organisations" // the version's ORG# items, indexed: it has no snapshot
)

func indexPartSK(i int) string { return fmt.Sprintf("%s%04d", indexSK, i) }

// WriteDirectoryVersion writes a complete version: its VERSION# record first (so an
// interrupted write can be found and pruned), then every ORG# item and the INDEX# parts of its
// search index. Writing the same version twice writes the same items, so a retried import is
// harmless. Nothing reads a version until PublishDirectory points at it.
func (s *Store) WriteDirectoryVersion(ctx context.Context, version string, orgs []directory.Organisation, now time.Time) error {
	rec, err := attributevalue.MarshalMap(map[string]any{
		"pk": directoryPK, "sk": versionSK + version, "version": version, "written_at": timeKey(now),
	})
	if err != nil {
		return fmt.Errorf("encode version record: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: rec}); err != nil {
		return fmt.Errorf("put version record %s: %w", version, err)
	}

	reqs := make([]types.WriteRequest, 0, len(orgs)+8)
	pk := versionPK(version)
	for _, o := range orgs {
		item, err := attributevalue.MarshalMapWithOptions(o, jsonTags)
		if err != nil {
			return fmt.Errorf("encode organisation %s: %w", o.ID, err)
		}
		item["pk"] = &types.AttributeValueMemberS{Value: pk}
		item["sk"] = &types.AttributeValueMemberS{Value: orgSK + o.ID}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	parts, size, err := encodeIndex(directory.NewIndex(orgs))
	if err != nil {
		return fmt.Errorf("index of version %s: %w", version, err)
	}
	for i, p := range parts {
		item := key(pk, indexPartSK(i))
		item["data"] = &types.AttributeValueMemberB{Value: p}
		if i == 0 {
			item["parts"] = &types.AttributeValueMemberN{Value: strconv.Itoa(len(parts))}
			item["size"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(size, 10)}
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	return s.parallelBatchWrite(ctx, reqs)
}

// encodeIndex returns ix's snapshot, gzip-compressed, in parts of at most indexPartBytes, and
// its uncompressed size.
func encodeIndex(ix *directory.Index) (parts [][]byte, size int64, err error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if size, err = ix.WriteTo(zw); err != nil {
		return nil, 0, fmt.Errorf("write snapshot: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, 0, fmt.Errorf("compress snapshot: %w", err)
	}
	data := buf.Bytes()
	for len(data) > indexPartBytes {
		parts = append(parts, data[:indexPartBytes])
		data = data[indexPartBytes:]
	}
	return append(parts, data), size, nil
}

// DirectoryIndex returns the search index of a version, and how it was made (IndexDecoded,
// IndexRebuilt or IndexOrganisations). It reads GetItem pk=DIRECTORY#<version> sk=INDEX#0000,
// which says how many parts follow, then the other parts, indexFetchers at a time, while it
// decodes those already read. Every read is strongly consistent, so that an instance that
// loads a version just published never caches part of it; a part that is missing (the version
// was pruned meanwhile) or corrupt is an error, never a smaller index. ctx bounds the whole
// load; nothing of it runs on after DirectoryIndex returns.
func (s *Store) DirectoryIndex(ctx context.Context, version string) (*directory.Index, string, error) {
	head, err := s.indexPart(ctx, version, 0)
	if err != nil {
		return nil, "", err
	}
	if head != nil {
		ix, rebuilt, err := s.decodeIndex(ctx, version, head)
		switch {
		case err == nil && rebuilt:
			return ix, IndexRebuilt, nil
		case err == nil:
			return ix, IndexDecoded, nil
		case !errors.Is(err, directory.ErrIndexFormat):
			return nil, "", fmt.Errorf("index of version %s: %w", version, err)
		}
	}
	orgs, err := s.DirectorySnapshot(ctx, version)
	if err != nil {
		return nil, "", err
	}
	return directory.NewIndex(orgs), IndexOrganisations, nil
}

// decodeIndex reads the index whose head part is head.
func (s *Store) decodeIndex(ctx context.Context, version string, head map[string]types.AttributeValue) (*directory.Index, bool, error) {
	parts, err1 := numberAttr(head, "parts")
	size, err2 := numberAttr(head, "size")
	if err := errors.Join(err1, err2); err != nil || parts < 1 || parts > maxIndexParts {
		return nil, false, fmt.Errorf("head part claims %d parts: %v", parts, err)
	}
	first, _ := head["data"].(*types.AttributeValueMemberB)
	if first == nil {
		return nil, false, errors.New("head part without data")
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait() // no fetch outlives the load
	}()
	r := &partsReader{ctx: ctx, parts: make([]chan partResult, parts)}
	for i := range r.parts {
		r.parts[i] = make(chan partResult, 1) // each is sent once: no fetch blocks
	}
	r.parts[0] <- partResult{data: first.Value}
	// Parts are taken in order, so the reader meets a failed fetch before any part that was
	// left unfetched because of it.
	next := make(chan int, parts)
	for i := 1; i < int(parts); i++ {
		next <- i
	}
	close(next)
	for range min(indexFetchers, int(parts)-1) {
		wg.Go(func() {
			for i := range next {
				data, err := s.indexPartData(ctx, version, i, int(parts))
				r.parts[i] <- partResult{data: data, err: err}
				if err != nil {
					return
				}
			}
		})
	}

	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, false, err
	}
	return directory.ReadIndex(zr, size)
}

// indexPartData returns the data of part i of a version's index of parts parts.
func (s *Store) indexPartData(ctx context.Context, version string, i, parts int) ([]byte, error) {
	item, err := s.indexPart(ctx, version, i)
	if err != nil {
		return nil, err
	}
	if item == nil {
		return nil, fmt.Errorf("index part %d of %d is missing", i, parts)
	}
	b, ok := item["data"].(*types.AttributeValueMemberB)
	if !ok {
		return nil, fmt.Errorf("index part %d of %d has no data", i, parts)
	}
	return b.Value, nil
}

// indexPart returns the item of part i of a version's index, or nil if there is none.
func (s *Store) indexPart(ctx context.Context, version string, i int) (map[string]types.AttributeValue, error) {
	consistent := true
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            key(versionPK(version), indexPartSK(i)),
		ConsistentRead: &consistent,
	}, func(o *dynamodb.Options) { o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, indexRetryDelay) })
	if err != nil {
		return nil, fmt.Errorf("get index part %d of version %s: %w", i, version, err)
	}
	return out.Item, nil
}

func numberAttr(item map[string]types.AttributeValue, name string) (int64, error) {
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("no number %s", name)
	}
	return strconv.ParseInt(n.Value, 10, 64)
}

type partResult struct {
	data []byte
	err  error
}

// partsReader reads the parts of an index in order, each as its fetch delivers it.
type partsReader struct {
	ctx   context.Context
	parts []chan partResult
	next  int
	cur   []byte
}

func (r *partsReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.next == len(r.parts) {
			return 0, io.EOF
		}
		select {
		case res := <-r.parts[r.next]:
			if res.err != nil {
				return 0, res.err
			}
			r.cur = res.data
			r.next++
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// DirectorySnapshot returns every organisation of a version from its ORG# items, in id order:
// Query pk=DIRECTORY#<version> sk begins_with ORG#, strongly consistent. DirectoryIndex uses it
// for versions written without an index; it reads the whole partition page by page, so it is
// far slower than the index.
func (s *Store) DirectorySnapshot(ctx context.Context, version string) ([]directory.Organisation, error) {
	cond := expression.Key("pk").Equal(expression.Value(versionPK(version))).
		And(expression.Key("sk").BeginsWith(orgSK))
	var orgs []directory.Organisation
	err := s.queryEach(ctx, expression.NewBuilder().WithKeyCondition(cond), true, func(item map[string]types.AttributeValue) error {
		var o directory.Organisation
		if err := attributevalue.UnmarshalMapWithOptions(item, &o, jsonTagsDecode); err != nil {
			return fmt.Errorf("decode organisation: %w", err)
		}
		orgs = append(orgs, o)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("organisations of version %s: %w", version, err)
	}
	return orgs, nil
}
