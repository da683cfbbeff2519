package directoryapi

import (
	"bytes"
	"context"
	"testing"
	"time"

	"sectorhub/shared/directory"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/imports"
)

// Publish writes and publishes the directory in csv as version, uploaded at at, as an import
// would, and returns its organisations.
func Publish(t *testing.T, st *dynamo.Store, version string, csv []byte, at time.Time) []directory.Organisation {
	t.Helper()
	orgs, problems, err := directory.ParseCSV(bytes.NewReader(csv))
	if err != nil || len(problems) > 0 {
		t.Fatalf("ParseCSV: %v %v", problems, err)
	}
	ctx := context.Background()
	if err := st.WriteDirectoryVersion(ctx, version, orgs, at); err != nil {
		t.Fatal(err)
	}
	rep := imports.Report{Record: imports.Record{ID: version, Status: imports.Processing, ReceivedAt: at, UploadedAt: at, RequestID: "req-" + version}}
	if _, ok, err := st.BeginImport(ctx, rep, at.Add(time.Hour), at); err != nil || !ok {
		t.Fatalf("BeginImport(%s) = %v, %v", version, ok, err)
	}
	rep.Status = imports.Published
	if ok, err := st.PublishDirectory(ctx, directory.Published{Version: version, Count: len(orgs), UploadedAt: at, PublishedAt: at}, rep); err != nil || !ok {
		t.Fatalf("PublishDirectory(%s) = %v, %v", version, ok, err)
	}
	return orgs
}
