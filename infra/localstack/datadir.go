package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/johannesboyne/gofakes3"
)

// With Options.DataDir the stack keeps its content across restarts: when it stops, the
// embedded DynamoDB's items and the latest version of every object in the buckets are written
// to DataDir/state (DynamoDB in its own wire format, so nothing is lost in translation; each
// object as a file at its key); when it starts and that folder exists, they are put back
// (without S3 events) instead of seeding. It is saved on a clean stop only: a killed stack
// keeps what it last saved. An external DynamoDB (--dynamodb-endpoint) keeps its own data and
// is not saved. Object versions and metadata are not kept.

// stateDir is the folder of the saved state under a data directory.
func stateDir(dataDir string) string { return filepath.Join(dataDir, "state") }

// restore puts back the state saved in DataDir, if any, and reports whether there was one.
func (s *Stack) restore(ctx context.Context) (bool, error) {
	dir := stateDir(s.opts.DataDir)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("data dir: %w", err)
	}
	if s.opts.DynamoDBEndpoint == "" {
		for _, t := range s.tmpl.Tables {
			if err := s.restoreTable(ctx, filepath.Join(dir, "dynamodb", t.LogicalID+".json"), s.TableName(t.LogicalID)); err != nil {
				return false, err
			}
		}
	}
	for _, bucket := range s.s3Buckets {
		root := filepath.Join(dir, "s3", bucket)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return fs.SkipDir
			}
			if err != nil || d.IsDir() {
				return err
			}
			body, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			key := filepath.ToSlash(rel)
			_, err = s.s3local.Backend().PutObject(bucket, key, map[string]string{}, bytes.NewReader(body), int64(len(body)), nil)
			return err
		})
		if err != nil {
			return false, fmt.Errorf("data dir: restore bucket %s: %w", bucket, err)
		}
	}
	s.log.Printf("stack", "restored the data saved in %s", dir)
	return true, nil
}

// save writes the stack's content to DataDir/state, replacing what was there.
func (s *Stack) save(ctx context.Context) error {
	final := stateDir(s.opts.DataDir)
	tmp := final + ".new"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if s.opts.DynamoDBEndpoint == "" {
		for _, t := range s.tmpl.Tables {
			if err := s.saveTable(ctx, filepath.Join(tmp, "dynamodb", t.LogicalID+".json"), s.TableName(t.LogicalID)); err != nil {
				return err
			}
		}
	}
	backend := s.s3local.Backend()
	for _, bucket := range s.s3Buckets {
		list, err := backend.ListBucket(bucket, &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
		if err != nil {
			return fmt.Errorf("list bucket %s: %w", bucket, err)
		}
		for _, c := range list.Contents {
			key := c.Key
			if key == "" || strings.HasPrefix(key, "/") || slices.Contains(strings.Split(key, "/"), "..") || strings.HasSuffix(key, "/") {
				s.log.Printf("stack", "data dir: not saving s3://%s/%s (not a file name)", bucket, key)
				continue
			}
			obj, err := backend.GetObject(bucket, key, nil)
			if err != nil {
				return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
			}
			body, err := io.ReadAll(obj.Contents)
			obj.Contents.Close()
			if err != nil {
				return fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
			}
			if err := writeFile(filepath.Join(tmp, "s3", bucket, filepath.FromSlash(path.Clean(key))), body); err != nil {
				return err
			}
		}
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(final); err != nil {
		return err
	}
	return os.Rename(tmp, final)
}

func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}

// saveTable writes every item of table, as DynamoDB's wire JSON, to a JSON array in file. It
// scans: this is a tool run at stop, not a request path.
func (s *Stack) saveTable(ctx context.Context, file, table string) error {
	items := []json.RawMessage{}
	var start json.RawMessage
	for {
		in := map[string]any{"TableName": table}
		if start != nil {
			in["ExclusiveStartKey"] = start
		}
		var out struct {
			Items            []json.RawMessage
			LastEvaluatedKey json.RawMessage
		}
		if err := s.dynamoCall(ctx, "Scan", in, &out); err != nil {
			return fmt.Errorf("save table %s: %w", table, err)
		}
		for _, item := range out.Items {
			fixed, err := fillEmptyValues(item)
			if err != nil {
				return fmt.Errorf("save table %s: %w", table, err)
			}
			items = append(items, fixed)
		}
		if len(out.LastEvaluatedKey) == 0 || string(out.LastEvaluatedKey) == "null" {
			break
		}
		start = out.LastEvaluatedKey
	}
	data, err := json.Marshal(items)
	if err != nil {
		return err
	}
	return writeFile(file, data)
}

// restoreTable puts back the items saveTable wrote to file, if it exists.
func (s *Stack) restoreTable(ctx context.Context, file, table string) error {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return fmt.Errorf("data dir: %s: %w", file, err)
	}
	for len(items) > 0 {
		n := min(25, len(items))
		reqs := make([]map[string]any, n)
		for i, item := range items[:n] {
			reqs[i] = map[string]any{"PutRequest": map[string]any{"Item": item}}
		}
		pending := map[string]any{table: reqs}
		for attempt := 0; ; attempt++ {
			var out struct{ UnprocessedItems map[string][]json.RawMessage }
			if err := s.dynamoCall(ctx, "BatchWriteItem", map[string]any{"RequestItems": pending}, &out); err != nil {
				return fmt.Errorf("restore table %s: %w", table, err)
			}
			left := out.UnprocessedItems[table]
			if len(left) == 0 {
				break
			}
			if attempt == 10 {
				return fmt.Errorf("restore table %s: %d items still unprocessed", table, len(left))
			}
			pending = map[string]any{table: left}
		}
		items = items[n:]
	}
	return nil
}

// dynamoCall makes one DynamoDB JSON-protocol call to the stack's DynamoDB endpoint.
func (s *Stack) dynamoCall(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.dynamo.URL(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=local/20260101/"+s.tmpl.Pseudo["AWS::Region"]+"/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s %s", op, resp.Status, bytes.TrimSpace(data))
	}
	return json.Unmarshal(data, out)
}

// fillEmptyValues returns item (an attribute map in DynamoDB's wire JSON) with every empty
// attribute value ({}) made an empty list. The embedded minidyn stores an empty list or map as
// a value of no type, and answers a Scan with it as {}; written back as such, it breaks later
// queries of the table, while an empty list is stored as the original was.
func fillEmptyValues(item json.RawMessage) (json.RawMessage, error) {
	var m map[string]any
	if err := json.Unmarshal(item, &m); err != nil {
		return nil, err
	}
	fillAttributes(m)
	return json.Marshal(m)
}

func fillAttributes(attrs map[string]any) {
	for name, v := range attrs {
		attrs[name] = fillValue(v)
	}
}

func fillValue(v any) any {
	av, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if len(av) == 0 {
		return map[string]any{"L": []any{}}
	}
	if m, ok := av["M"].(map[string]any); ok {
		fillAttributes(m)
	}
	if l, ok := av["L"].([]any); ok {
		for i := range l {
			l[i] = fillValue(l[i])
		}
	}
	return av
}
