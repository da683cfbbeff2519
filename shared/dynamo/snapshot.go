package dynamo

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"sectorhub/shared/directory"
)

// WriteDirectoryVersion writes a complete version: its VERSION# record first (so an
// interrupted write can be found and pruned), then every ORG# item and the CHUNK# snapshot.
// Writing the same version twice writes the same items, so a retried import is harmless.
// Nothing reads a version until PublishDirectory points at it.
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
	chunks, err := encodeChunks(orgs)
	if err != nil {
		return err
	}
	for i, c := range chunks {
		item := key(pk, fmt.Sprintf("%s%04d", chunkSK, i))
		item["data"] = &types.AttributeValueMemberB{Value: c}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	return s.parallelBatchWrite(ctx, reqs)
}

// DirectorySnapshot returns every organisation of a version, for building the search index:
// Query pk=DIRECTORY#<version> sk begins_with CHUNK#, strongly consistent, so that an instance
// that loads a version just published never caches part of it. The snapshot is a few
// compressed chunks, so loading 10,000 organisations takes a handful of requests.
func (s *Store) DirectorySnapshot(ctx context.Context, version string) ([]directory.Organisation, error) {
	cond := expression.Key("pk").Equal(expression.Value(versionPK(version))).
		And(expression.Key("sk").BeginsWith(chunkSK))
	var orgs []directory.Organisation
	err := s.queryEach(ctx, expression.NewBuilder().WithKeyCondition(cond), true, func(item map[string]types.AttributeValue) error {
		data, ok := item["data"].(*types.AttributeValueMemberB)
		if !ok {
			return errors.New("chunk without data")
		}
		part, err := decodeChunk(data.Value)
		if err != nil {
			return err
		}
		orgs = append(orgs, part...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", version, err)
	}
	return orgs, nil
}

// encodeChunks packs organisations into gzip-compressed JSON arrays of at most chunkBytes each.
func encodeChunks(orgs []directory.Organisation) ([][]byte, error) {
	var chunks [][]byte
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	n := 0
	flush := func() error {
		if err := zw.Close(); err != nil {
			return fmt.Errorf("compress snapshot: %w", err)
		}
		chunks = append(chunks, bytes.Clone(buf.Bytes()))
		buf.Reset()
		zw.Reset(&buf)
		n = 0
		return nil
	}
	for _, o := range orgs {
		if err := enc.Encode(o); err != nil {
			return nil, fmt.Errorf("encode snapshot: %w", err)
		}
		n++
		// Flush before the compressed size can pass the limit: one organisation is at most a
		// few KB of JSON, so 32 KB of headroom is plenty.
		if buf.Len() > chunkBytes-32<<10 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if n > 0 || len(chunks) == 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return chunks, nil
}

// decodeChunk reads one chunk: a gzip stream of JSON organisations, one after another.
func decodeChunk(data []byte) ([]directory.Organisation, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("open chunk: %w", err)
	}
	dec := json.NewDecoder(zr)
	var orgs []directory.Organisation
	for {
		var o directory.Organisation
		err := dec.Decode(&o)
		if err == io.EOF {
			return orgs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("decode chunk: %w", err)
		}
		orgs = append(orgs, o)
	}
}
