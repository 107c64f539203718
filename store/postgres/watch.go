package postgres

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reconnection backoff of the release watcher.
const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// WatchReleases listens on a dedicated connection for releases made current
// by any Store on the same database (this one included) and calls fn with
// the id of the new current release, after the CurrentRelease cache has been
// refreshed. With read replicas it listens on the primary (a standby cannot
// LISTEN), and the cache switches, and fn is called, once the replicas in
// rotation have replayed the release or the maximum lag has passed. When
// the connection is lost it reconnects with exponential backoff; on
// reconnecting it re-reads the current release and calls fn if it changed
// meanwhile, since notifications sent while no one listened are lost.
// Failures are logged at 1, 2, 4, 8, ... consecutive attempts, so an outage
// does not flood the log.
//
// WatchReleases blocks until ctx is done; run it in its own goroutine. fn is
// called from that goroutine, one call at a time.
func (s *Store) WatchReleases(ctx context.Context, fn func(id string)) {
	backoff := minBackoff
	failures := 0
	for {
		connected, err := s.listen(ctx, fn)
		if ctx.Err() != nil {
			return
		}
		if connected {
			backoff, failures = minBackoff, 0
		}
		failures++
		if failures&(failures-1) == 0 {
			s.log.Warn("release watcher: connection lost, reconnecting", "error", err, "failures", failures, "backoff", backoff)
		}
		// Jitter keeps replicas from reconnecting in step after a restart.
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listen runs one LISTEN session until its connection fails or ctx is done.
// connected reports whether LISTEN was established.
func (s *Store) listen(ctx context.Context, fn func(id string)) (connected bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+releaseChannel); err != nil {
		return false, err
	}

	// Catch up on a release loaded while no one listened, then trust the
	// cache for as long as this connection stays up.
	var before string
	if c := s.current.Load(); c != nil {
		before = c.rel.ID
	}
	if rel, err := s.awaitCurrent(ctx); err == nil && rel.ID != before {
		fn(rel.ID)
	}
	s.log.Info("release watcher: listening", "channel", releaseChannel)
	s.listening.Add(1)
	defer s.listening.Add(-1)

	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		id := n.Payload
		if rel, err := s.awaitCurrent(ctx); err == nil {
			// Two loads may commit in quick succession: report what is
			// current now, which the cache also holds.
			id = rel.ID
		} else {
			// Without a fresh answer, make CurrentRelease ask the database.
			s.current.Store(nil)
			s.log.Warn("release watcher: reading the current release", "error", err)
		}
		fn(id)
	}
}
