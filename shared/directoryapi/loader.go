package directoryapi

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"sectorhub/shared/directory"
)

// How an instance loads the index of a new version. Decoding a stored index takes tens of
// milliseconds, but a load can still be slow: many instances load at once after a publish, on
// a busy table or a throttled CPU. What must not happen is what did when loads rebuilt the
// index: a load that outlasts the function's timeout gets the instance killed, its work lost,
// and the next instance starts over, so under load the failures compound into a timeout storm.
// So:
//
//   - A load runs in its own goroutine, under its own deadline (loadTimeout), not the
//     request's: a request that stops waiting does not cancel it. Lambda freezes the instance
//     between requests; the load carries on with the next one.
//   - A request waits for the load until deadlineMargin before its own deadline, then answers
//     (below), so the function returns instead of timing out and the instance survives.
//   - While an earlier version's index is cached, a request waits at most staleAfter, then
//     answers from it: a reader sees the old directory a moment longer (as the eventually
//     consistent pointer may show it anyway) rather than wait. With nothing cached, it is an
//     error (500), and the load goes on for the next request.
//   - One load at a time: requests for the version being loaded share its load; a request that
//     sees a newer version cancels it and starts the newer one's.
//   - A failed load is not retried for retryAfter: meanwhile requests get the earlier index,
//     or the error, without each starting a load of its own.
//   - A load is only cached when complete: an index whose size differs from the published
//     pointer's count is an error.
const (
	staleAfter     = 2 * time.Second
	deadlineMargin = time.Second
	retryAfter     = time.Second
	loadTimeout    = 30 * time.Second
)

// loader holds an instance's index and its load in progress.
type loader struct {
	load                                    func(ctx context.Context, version string) (*directory.Index, string, error)
	log                                     *slog.Logger
	staleAfter, margin, retryAfter, timeout time.Duration

	mu      sync.Mutex
	version string           // the version of ix
	ix      *directory.Index // nil until the first load
	pending *pendingLoad     // the load in progress, or the last one if it failed; nil otherwise
}

// pendingLoad is one load of one version; ix and err are set when done is closed.
type pendingLoad struct {
	version  string
	done     chan struct{}
	cancel   context.CancelFunc
	ix       *directory.Index
	err      error
	failedAt time.Time
}

// failedBefore reports whether the load has failed, before t.
func (pl *pendingLoad) failedBefore(t time.Time) bool {
	select {
	case <-pl.done:
		return pl.err != nil && pl.failedAt.Before(t)
	default:
		return false
	}
}

// cached returns the cached index if it is version's, or nil.
func (l *loader) cached(version string) *directory.Index {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.version != version {
		return nil
	}
	return l.ix
}

// index returns the index of the published version p: the cached one, or the one being
// loaded once it is, or the earlier version's (see above).
func (l *loader) index(ctx context.Context, p directory.Published) (*directory.Index, error) {
	l.mu.Lock()
	if l.ix != nil && l.version == p.Version {
		ix := l.ix
		l.mu.Unlock()
		return ix, nil
	}
	pl := l.pending
	if pl == nil || pl.version != p.Version || pl.failedBefore(time.Now().Add(-l.retryAfter)) {
		if pl != nil {
			pl.cancel()
		}
		pl = l.start(ctx, p)
		l.pending = pl
	}
	earlier, earlierVersion := l.ix, l.version
	l.mu.Unlock()

	wait, bounded := time.Duration(0), false
	if earlier != nil {
		wait, bounded = l.staleAfter, true
	}
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d) - l.margin; !bounded || left < wait {
			wait, bounded = left, true
		}
	}
	var timeout <-chan time.Time
	if bounded {
		t := time.NewTimer(max(wait, 0))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-pl.done:
	default:
		select {
		case <-pl.done:
		case <-timeout:
			if earlier != nil {
				l.log.InfoContext(ctx, "directory index still loading; answered from the earlier version", "version", p.Version, "earlier", earlierVersion)
				return earlier, nil
			}
			return nil, fmt.Errorf("directory index of version %s is still loading", p.Version)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if pl.err != nil {
		if earlier != nil {
			l.log.WarnContext(ctx, "directory index failed to load; answered from the earlier version", "version", p.Version, "earlier", earlierVersion, "err", pl.err)
			return earlier, nil
		}
		return nil, pl.err
	}
	return pl.ix, nil
}

// start starts loading p's index; l.mu is held.
func (l *loader) start(ctx context.Context, p directory.Published) *pendingLoad {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
	pl := &pendingLoad{version: p.Version, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer cancel()
		began := time.Now()
		ix, how, err := l.load(lctx, p.Version)
		if err == nil && ix.Len() != p.Count {
			// Never cache part of a directory.
			err = fmt.Errorf("index of directory version %s has %d organisations; the published pointer says %d", p.Version, ix.Len(), p.Count)
			ix = nil
		}
		took := time.Since(began)
		l.mu.Lock()
		pl.ix, pl.err = ix, err
		if err != nil {
			pl.failedAt = time.Now()
		} else if l.pending == pl { // not superseded by a newer version
			l.ix, l.version, l.pending = ix, p.Version, nil
		}
		close(pl.done)
		l.mu.Unlock()
		if err != nil {
			l.log.ErrorContext(lctx, "directory index load failed", "version", p.Version, "ms", took.Milliseconds(), "err", err)
			return
		}
		l.log.InfoContext(lctx, "loaded directory index", "version", p.Version, "organisations", ix.Len(), "how", how, "ms", took.Milliseconds())
	}()
	return pl
}
