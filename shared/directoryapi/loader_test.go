package directoryapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sectorhub/infra/seed"
	"sectorhub/infra/testenv"
	"sectorhub/shared/directory"
	"sectorhub/shared/dynamo"
	"sectorhub/shared/httpapi"
)

// gatedStore is the real store with a hand on its loads: a load of a version with a gate waits
// until the gate is closed (or the load's context ends), and a version in fail fails once.
type gatedStore struct {
	*dynamo.Store
	gates     map[string]chan struct{}
	fail      map[string]*atomic.Bool
	loads     atomic.Int64
	cancelled chan string // versions whose gated load was cancelled
}

func (g *gatedStore) DirectoryIndex(ctx context.Context, version string) (*directory.Index, string, error) {
	g.loads.Add(1)
	if gate := g.gates[version]; gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			g.cancelled <- version
			return nil, "", ctx.Err()
		}
	}
	if f := g.fail[version]; f != nil && f.CompareAndSwap(true, false) {
		return nil, "", errors.New("a load that fails")
	}
	return g.Store.DirectoryIndex(ctx, version)
}

// publishSynthetic publishes seed.Synthetic(n) as version, uploaded at minute minute.
func publishSynthetic(t *testing.T, st *dynamo.Store, version string, n, minute int) {
	t.Helper()
	Publish(t, st, version, seed.Synthetic(n), time.Date(2026, 11, 2, 9, minute, 0, 0, time.UTC))
}

// total searches every organisation and returns the status and the total found.
func total(t *testing.T, api *API, ctx context.Context) (int, int) {
	t.Helper()
	resp, err := api.routes().Serve(ctx, httpapi.Request{RouteKey: "GET /directory/organisations"})
	if err != nil {
		t.Fatal(err)
	}
	var res directory.Result
	if resp.StatusCode == 200 {
		if err := json.Unmarshal([]byte(resp.Body), &res); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, res.Total
}

// settle waits for the load in progress, if any, to end.
func settle(api *API) {
	api.loader.mu.Lock()
	pl := api.loader.pending
	api.loader.mu.Unlock()
	if pl != nil {
		<-pl.done
	}
}

func newGated(t *testing.T, db *dynamodb.Client, table string) (*gatedStore, *API) {
	g := &gatedStore{Store: dynamo.New(db, table), gates: map[string]chan struct{}{}, fail: map[string]*atomic.Bool{}, cancelled: make(chan string, 10)}
	return g, newAPI(g, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// TestSlowLoadAnswersFromTheEarlierVersion: while a new version loads, searches answer from
// the version the instance holds, share the one load, and see the new version once it is in.
func TestSlowLoadAnswersFromTheEarlierVersion(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		g, api := newGated(t, db, table)
		api.loader.staleAfter = 0
		ctx := context.Background()
		publishSynthetic(t, g.Store, "v1", 7, 1)
		if status, n := total(t, api, ctx); status != 200 || n != 7 {
			t.Fatalf("search = %d, %d organisations; want 200, 7", status, n)
		}
		g.gates["v2"] = make(chan struct{})
		publishSynthetic(t, g.Store, "v2", 12, 2)
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				if status, n := total(t, api, ctx); status != 200 || n != 7 {
					t.Errorf("search while v2 loads = %d, %d organisations; want 200 and v1's 7", status, n)
				}
			})
		}
		wg.Wait()
		if n := g.loads.Load(); n != 2 {
			t.Errorf("%d loads for two versions and 17 searches; want 2", n)
		}
		close(g.gates["v2"])
		settle(api)
		if status, n := total(t, api, ctx); status != 200 || n != 12 {
			t.Fatalf("search after the load = %d, %d organisations; want 200, 12", status, n)
		}
		if n := g.loads.Load(); n != 2 {
			t.Errorf("%d loads in all; want 2", n)
		}
	})
}

// TestColdLoadOutlastingTheRequest: an instance with no index whose load outlasts the
// request's deadline answers an error before the deadline, and the load goes on: the next
// request gets the index without loading again.
func TestColdLoadOutlastingTheRequest(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		g, api := newGated(t, db, table)
		api.loader.margin = 0
		publishSynthetic(t, g.Store, "v1", 5, 1)
		g.gates["v1"] = make(chan struct{})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		status, _ := total(t, api, ctx)
		cancel()
		if status != 500 {
			t.Fatalf("search while the only version loads past the deadline = %d; want 500", status)
		}
		close(g.gates["v1"])
		settle(api)
		if status, n := total(t, api, context.Background()); status != 200 || n != 5 {
			t.Fatalf("next search = %d, %d organisations; want 200, 5", status, n)
		}
		if n := g.loads.Load(); n != 1 {
			t.Errorf("%d loads; want the one, not restarted", n)
		}
	})
}

// TestFailedLoadIsRetriedLater: a failed load leaves the earlier index answering; it is not
// retried by every request, only once retryAfter has passed.
func TestFailedLoadIsRetriedLater(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		g, api := newGated(t, db, table)
		api.loader.retryAfter = time.Hour
		ctx := context.Background()
		publishSynthetic(t, g.Store, "v1", 7, 1)
		total(t, api, ctx)
		g.fail["v2"] = new(atomic.Bool)
		g.fail["v2"].Store(true)
		publishSynthetic(t, g.Store, "v2", 3, 2)
		for range 3 {
			if status, n := total(t, api, ctx); status != 200 || n != 7 {
				t.Fatalf("search after v2 failed to load = %d, %d organisations; want 200 and v1's 7", status, n)
			}
		}
		if n := g.loads.Load(); n != 2 {
			t.Errorf("%d loads; want 2 (v1, and v2 once)", n)
		}
		api.loader.retryAfter = 0
		if status, n := total(t, api, ctx); status != 200 || n != 3 {
			t.Fatalf("search once the retry is due = %d, %d organisations; want 200, 3", status, n)
		}
	})
}

// TestNewerVersionCancelsTheOlderLoad: a load that a newer version has overtaken is cancelled,
// so an instance does one load at a time.
func TestNewerVersionCancelsTheOlderLoad(t *testing.T) {
	testenv.ForEachDynamo(t, func(t *testing.T, db *dynamodb.Client, table string) {
		g, api := newGated(t, db, table)
		api.loader.staleAfter = 0
		ctx := context.Background()
		publishSynthetic(t, g.Store, "v1", 7, 1)
		total(t, api, ctx)
		g.gates["v2"] = make(chan struct{})
		publishSynthetic(t, g.Store, "v2", 3, 2)
		total(t, api, ctx) // starts v2's load, answers from v1
		publishSynthetic(t, g.Store, "v3", 4, 3)
		total(t, api, ctx) // cancels it, starts v3's
		if v := <-g.cancelled; v != "v2" {
			t.Errorf("cancelled the load of %s; want v2", v)
		}
		settle(api)
		if status, n := total(t, api, ctx); status != 200 || n != 4 {
			t.Fatalf("search = %d, %d organisations; want 200 and v3's 4", status, n)
		}
	})
}
