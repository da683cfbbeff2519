package main

import (
	"context"
	"io"
)

func searchAndIngest(ctx context.Context, w io.Writer, root string, orgs, requests int) error {
	return nil
}
