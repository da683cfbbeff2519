package s3local

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
)

const (
	// maxChunkLine bounds a chunk header or trailer line of an aws-chunked body.
	maxChunkLine = 4 << 10
	// maxTrailers bounds the number of trailer lines of an aws-chunked body.
	maxTrailers = 16
	// maxBufferedBody bounds a body the wrapper reads into memory (S3's single PUT limit is
	// 5 GB; the in-memory backend holds everything anyway).
	maxBufferedBody = 1 << 30
)

// checksumHeaders maps the checksum headers S3 accepts to their hash functions.
var checksumHeaders = map[string]func() hash.Hash{
	"X-Amz-Checksum-Crc32":     func() hash.Hash { return crc32.NewIEEE() },
	"X-Amz-Checksum-Crc32c":    func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"X-Amz-Checksum-Crc64nvme": func() hash.Hash { return crc64.New(crc64NVME) },
	"X-Amz-Checksum-Sha1":      sha1.New,
	"X-Amz-Checksum-Sha256":    sha256.New,
}

// crc64NVME is the table of the CRC-64/NVME polynomial (0xAD93D23594C93659, reflected).
var crc64NVME = crc64.MakeTable(0x9A6C9329AC4BC9B5)

// isAWSChunked reports whether a request body uses the aws-chunked content encoding: SigV4
// streaming (signed chunks) or the unsigned streaming payload with trailing checksums that new
// SDKs and the AWS CLI send.
func isAWSChunked(h http.Header) bool {
	if strings.HasPrefix(h.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		return true
	}
	for _, enc := range strings.Split(h.Get("Content-Encoding"), ",") {
		if strings.EqualFold(strings.TrimSpace(enc), "aws-chunked") {
			return true
		}
	}
	return false
}

// prepareBody rewrites an object or part upload so that gofakes3 sees a plain body: an
// aws-chunked body is decoded (its trailing checksums become headers), a flexible checksum
// (x-amz-checksum-*) is verified, and the headers that only describe the transfer are removed
// so that they are not stored as object metadata.
func prepareBody(r *http.Request) error {
	checksumHeader := ""
	for name := range checksumHeaders {
		if r.Header.Get(name) != "" {
			checksumHeader = name
		}
	}
	trailer := r.Header.Get("X-Amz-Trailer")
	if !isAWSChunked(r.Header) && checksumHeader == "" {
		stripTransferHeaders(r.Header)
		return nil
	}

	var body []byte
	if isAWSChunked(r.Header) {
		decoded, trailers, err := decodeAWSChunked(r.Body)
		if err != nil {
			return err
		}
		if want := r.Header.Get("X-Amz-Decoded-Content-Length"); want != "" && want != strconv.Itoa(len(decoded)) {
			return newError(http.StatusBadRequest, "IncompleteBody",
				"decoded body is %d bytes; x-amz-decoded-content-length says %s", len(decoded), want)
		}
		for name, value := range trailers {
			if _, ok := checksumHeaders[name]; ok {
				r.Header.Set(name, value)
				checksumHeader = name
			}
		}
		if trailer != "" && checksumHeader == "" {
			return newError(http.StatusBadRequest, "InvalidRequest", "trailer %s was declared but not sent", trailer)
		}
		body = decoded
	} else {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBufferedBody+1))
		if err != nil {
			return fmt.Errorf("read request body: %w", err)
		}
		if len(body) > maxBufferedBody {
			return errTooLarge
		}
	}
	if checksumHeader != "" {
		if err := verifyChecksum(checksumHeader, r.Header.Get(checksumHeader), body); err != nil {
			return err
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	r.TransferEncoding = nil
	r.Header.Del("Transfer-Encoding")
	stripTransferHeaders(r.Header)
	return nil
}

// stripTransferHeaders removes the headers that describe how a body was sent, not the object,
// which gofakes3 would otherwise store as metadata and echo on every GET. (A stale
// x-amz-checksum-* echoed after an overwrite would make SDKs that validate responses fail.)
func stripTransferHeaders(h http.Header) {
	for name := range h {
		if strings.HasPrefix(name, "X-Amz-Checksum-") {
			delete(h, name)
		}
	}
	for _, name := range []string{
		"X-Amz-Sdk-Checksum-Algorithm", "X-Amz-Checksum-Algorithm", "X-Amz-Checksum-Type",
		"X-Amz-Trailer", "X-Amz-Decoded-Content-Length", "X-Amz-Content-Sha256",
		"X-Amz-Security-Token", "X-Amz-User-Agent", "X-Amz-Expected-Bucket-Owner",
	} {
		h.Del(name)
	}
	if enc := h.Get("Content-Encoding"); enc != "" {
		var kept []string
		for _, e := range strings.Split(enc, ",") {
			if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 {
			h.Del("Content-Encoding")
		} else {
			h.Set("Content-Encoding", strings.Join(kept, ","))
		}
	}
}

// decodeAWSChunked decodes an aws-chunked body: chunks of "hex-size[;chunk-signature=...]\r\n"
// then the data and "\r\n", ended by a zero-size chunk, optional trailer lines
// ("x-amz-checksum-crc32:..." and "x-amz-trailer-signature:...") and an empty line.
// Signatures are not checked.
func decodeAWSChunked(body io.Reader) ([]byte, map[string]string, error) {
	br := bufio.NewReader(body)
	var out bytes.Buffer
	malformed := func(format string, args ...any) error {
		return newError(http.StatusBadRequest, "IncompleteBody", "malformed aws-chunked body: "+format, args...)
	}
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, nil, malformed("chunk header: %v", err)
		}
		sizeText, _, _ := strings.Cut(line, ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
		if err != nil || size < 0 {
			return nil, nil, malformed("chunk size %q", sizeText)
		}
		if size == 0 {
			break
		}
		if int64(out.Len())+size > maxBufferedBody {
			return nil, nil, errTooLarge
		}
		if _, err := io.CopyN(&out, br, size); err != nil {
			return nil, nil, malformed("chunk data: %v", err)
		}
		if end, err := readLine(br); err != nil || end != "" {
			return nil, nil, malformed("no line break after a chunk")
		}
	}
	trailers := map[string]string{}
	for n := 0; ; n++ {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) && line == "" {
			break // some clients end the body right after the last trailer
		}
		if err != nil {
			return nil, nil, malformed("trailer: %v", err)
		}
		if line == "" {
			break
		}
		if n >= maxTrailers {
			return nil, nil, malformed("too many trailers")
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, nil, malformed("trailer %q", line)
		}
		trailers[http.CanonicalHeaderKey(strings.TrimSpace(name))] = strings.TrimSpace(value)
	}
	return out.Bytes(), trailers, nil
}

// readLine reads one CRLF- (or LF-) terminated line without its terminator.
func readLine(br *bufio.Reader) (string, error) {
	var line []byte
	for {
		part, isPrefix, err := br.ReadLine()
		line = append(line, part...)
		if len(line) > maxChunkLine {
			return "", errors.New("line too long")
		}
		if err != nil {
			return string(line), err
		}
		if !isPrefix {
			return string(line), nil
		}
	}
}

// verifyChecksum checks a flexible checksum header value (base64 of the big-endian digest).
func verifyChecksum(header, value string, body []byte) error {
	h := checksumHeaders[header]()
	h.Write(body)
	got := base64.StdEncoding.EncodeToString(h.Sum(nil))
	if got != value {
		algorithm := strings.ToUpper(strings.TrimPrefix(header, "X-Amz-Checksum-"))
		return newError(http.StatusBadRequest, "BadDigest", "The %s you specified did not match the calculated checksum.", algorithm)
	}
	return nil
}
