// Package dynamoserver is the local stack's embedded DynamoDB-compatible
// endpoint: minidyn's HTTP server, answering the operations minidyn lacks as
// DynamoDB answers an operation it does not know.
package dynamoserver

import (
	"io"
	"net/http"
	"strings"

	minidyn "github.com/truora/minidyn/server"
)

// New returns a DynamoDB JSON-protocol handler backed by a new, empty
// in-memory minidyn. An operation minidyn does not implement (BatchGetItem,
// TransactGetItems, UpdateTimeToLive, ...) gets a JSON
// UnknownOperationException that the SDK decodes, rather than minidyn's
// plain-text 400 that the SDK reports as a deserialization error.
func New() http.Handler {
	srv := minidyn.NewServer()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.ServeHTTP(&operationWriter{ResponseWriter: w}, r)
	})
}

type operationWriter struct {
	http.ResponseWriter
	rewritten bool
}

func (w *operationWriter) WriteHeader(status int) {
	if status == http.StatusBadRequest && strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		w.rewritten = true
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Del("X-Content-Type-Options")
		w.ResponseWriter.WriteHeader(status)
		_, _ = io.WriteString(w.ResponseWriter, `{"__type":"com.amazonaws.dynamodb.v20120810#UnknownOperationException","message":"the embedded DynamoDB (minidyn) does not implement this operation"}`)
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *operationWriter) Write(p []byte) (int, error) {
	if w.rewritten {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}
