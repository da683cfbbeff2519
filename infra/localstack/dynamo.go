package localstack

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"

	"sectorhub/infra/localstack/dynamoserver"
)

// dynamoBackend returns the DynamoDB endpoint's handler: the embedded
// minidyn server when endpoint is empty, otherwise a reverse proxy to
// endpoint. The proxy keeps the client's Host header, so that a
// signature-checking server sees the host the request was signed for.
func dynamoBackend(endpoint string) (http.Handler, error) {
	if endpoint == "" {
		return dynamoserver.New(), nil
	}
	target, err := url.Parse(endpoint)
	if err != nil || target.Scheme == "" || target.Host == "" {
		return nil, fmt.Errorf("DynamoDB endpoint %q is not a URL like http://127.0.0.1:8000", endpoint)
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		},
	}, nil
}
