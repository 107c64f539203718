package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/krimstat/krimstat/store"
)

// A Store given read replicas (WithReadURLs) reads from hot standbys of its
// primary, and loads, migrates and listens for NOTIFY on the primary (a
// standby can do none of these).
//
// A standby replays the primary's WAL some time after the primary commits,
// so a release the primary has made current may not be on every standby
// yet. The store therefore keeps its own current release: the primary's,
// once every replica in rotation has replayed it. A replica is in rotation
// while it answers and has replayed the store's current release. When the
// primary's current release moves on, the store keeps serving the previous
// one, asking the replicas every catchUpPoll after a notification (and at
// every refresh otherwise), until each replica in rotation has the new one,
// or at most the maximum lag (WithMaxReplicaLag): then it switches, and a
// replica still behind leaves the rotation until a later check finds it
// caught up. One broken replica thus delays a switch by at most the lag and
// never freezes it.
//
// A read for release R goes round-robin to the replicas in rotation that
// have R. A load commits a release whole, in one transaction, and a standby
// applies a commit whole, so a replica that has R's row has all of R; and
// every query names its release, so a response built for R reads only R,
// wherever it reads it. A release that no replica in rotation has (an id
// unknown to all, or one newer than the store's current release) is asked
// of any replica in rotation, which answers as of the releases it has: the
// store's view is its replicas'. The primary serves reads only while no
// replica is in rotation.
//
// Releases are only ever added, never changed or removed, so a replica's
// set of releases only grows, and a replica that has a release has every
// release loaded before it.

// DefaultMaxReplicaLag is how long a new release waits, by default, for the
// replicas to replay it before the store switches without the ones still
// behind.
const DefaultMaxReplicaLag = 30 * time.Second

// catchUpPoll is how often a store waiting for its replicas to replay a new
// release asks them.
const catchUpPoll = 50 * time.Millisecond

// replica is one read replica and what the store last learnt of it.
type replica struct {
	pool *pgxpool.Pool
	// name is the replica's host and port, for the log (never its URL,
	// which may hold a password).
	name  string
	state atomic.Pointer[replicaState]

	// conn is the connection that checks ask on, apart from the pool: a
	// pool busy with reads must not make the replica look down. It is
	// made on first use and dropped on any error; connConfig is its
	// configuration, the pool's. Both are guarded by Store.checking.
	conn       *pgx.Conn
	connConfig *pgx.ConnConfig
}

// replicaState is what a check, or a failed read, learnt of a replica. It
// is never modified once stored.
type replicaState struct {
	// up is whether the replica answered its last check, and no read has
	// lost its connection since.
	up bool
	// has holds the ids of the releases the replica had replayed at its
	// last check.
	has map[string]bool
	// serving is whether the replica is in rotation: up, and it has the
	// store's current release.
	serving bool
	// err is why it is not up.
	err error
	// checked is false until the first check.
	checked bool
}

// ReplicaStats describe a Store's read replicas, for the metrics endpoint.
type ReplicaStats struct {
	// Replicas is how many read replicas the store has; InRotation how
	// many of them serve reads now.
	Replicas, InRotation int
	// OutOfRotation counts the times a replica left the rotation: it
	// stopped answering, or had not replayed a new release within the
	// maximum lag.
	OutOfRotation uint64
	// PrimaryReads counts the reads the primary served because no replica
	// in rotation could.
	PrimaryReads uint64
}

// ReplicaStats returns the state of the read replicas. A store without
// them has zero stats.
func (s *Store) ReplicaStats() ReplicaStats {
	st := ReplicaStats{Replicas: len(s.replicas), OutOfRotation: s.outOfRotation.Load(), PrimaryReads: s.primaryReads.Load()}
	for _, r := range s.replicas {
		if r.state.Load().serving {
			st.InRotation++
		}
	}
	return st
}

// WithReadURLs gives the store read replicas: hot standbys streaming from
// the primary that Open connects to. Each URL is a postgres:// URL or a
// key=value connection string, and each replica gets a pool of its own,
// with the same statement timeout as the primary's. See the comment at the
// top of replica.go for how reads are spread and the current release
// switched.
func WithReadURLs(urls ...string) Option {
	return func(s *Store) { s.readURLs = append(s.readURLs, urls...) }
}

// WithMaxReplicaLag sets how long a new release made current on the primary
// waits for the replicas to replay it; a replica that has not by then
// leaves the rotation until it has. d <= 0 switches as soon as the primary
// has the release, leaving the replicas that lack it out of the rotation
// meanwhile. The default is DefaultMaxReplicaLag.
func WithMaxReplicaLag(d time.Duration) Option {
	return func(s *Store) { s.maxLag = max(d, 0) }
}

// openReplicas makes a pool for each read URL. The pools connect on first
// use: a replica down at start is not an error, only out of rotation.
func (s *Store) openReplicas(ctx context.Context) error {
	for _, url := range s.readURLs {
		cfg, err := s.poolConfig(url)
		if err != nil {
			return fmt.Errorf("postgres: read replica: %w", err)
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return fmt.Errorf("postgres: read replica: %w", err)
		}
		r := &replica{pool: pool, name: net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))),
			connConfig: cfg.ConnConfig.Copy()}
		r.state.Store(&replicaState{err: errors.New("not checked yet")})
		s.replicas = append(s.replicas, r)
	}
	return nil
}

// read runs fn with the pool of a server to read release from: a replica
// in rotation that has release, in turn; else any replica in rotation;
// else, or when each of those fails to answer, the primary. A replica whose
// connection fails is taken out of the rotation and the next server tried,
// so a replica going down fails no request; fn must therefore start afresh
// each time it is called. Without replicas fn runs on the primary.
func (s *Store) read(ctx context.Context, release string, fn func(db *pgxpool.Pool) error) error {
	if len(s.replicas) == 0 {
		return fn(s.pool)
	}
	for _, r := range s.route(release) {
		err := fn(r.pool)
		if err == nil || ctx.Err() != nil || !s.failedOn(r, err) {
			return err
		}
	}
	s.primaryReads.Add(1)
	return fn(s.pool)
}

// route returns the replicas to read release from, in the order to try
// them: the ones in rotation that have it, or else every one in rotation,
// starting from the next in turn.
func (s *Store) route(release string) []*replica {
	n := len(s.replicas)
	first := int(s.next.Add(1) % uint64(n))
	with := make([]*replica, 0, n)
	var serving []*replica
	for i := range n {
		r := s.replicas[(first+i)%n]
		st := r.state.Load()
		if !st.serving {
			continue
		}
		if st.has[release] {
			with = append(with, r)
		} else {
			serving = append(serving, r)
		}
	}
	if len(with) > 0 {
		return with
	}
	return serving
}

// failedOn reports whether err, returned by a read on r, means that r
// rather than the read failed, so that another server may answer. A lost
// or refused connection also takes r out of the rotation until a check
// finds it answering again.
func (s *Store) failedOn(r *replica, err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", "40P01":
			// Cancelled for a conflict with recovery, which only a standby
			// has: the replica is fine, another server may answer.
			return true
		case "57014":
			// The statement timeout: the query would cost as much anywhere.
			return false
		}
	}
	if !unavailable(err) {
		return false
	}
	for {
		old := r.state.Load()
		if !old.up {
			return true
		}
		st := *old
		st.up, st.serving, st.err = false, false, err
		if r.state.CompareAndSwap(old, &st) {
			if old.serving {
				s.outOfRotation.Add(1)
				s.log.Warn("read replica out of rotation: a read failed", "replica", r.name, "error", err)
			}
			return true
		}
	}
}

// poll asks r which releases it has, on its own connection. Only check
// calls it.
func (r *replica) poll(ctx context.Context) (map[string]bool, error) {
	if r.conn == nil {
		conn, err := pgx.ConnectConfig(ctx, r.connConfig)
		if err != nil {
			return nil, err
		}
		r.conn = conn
	}
	rows, err := r.conn.Query(ctx, `SELECT id FROM releases`)
	var ids []string
	if err == nil {
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		r.closeConn()
		return nil, err
	}
	has := make(map[string]bool, len(ids))
	for _, id := range ids {
		has[id] = true
	}
	return has, nil
}

// closeConn closes the connection of checks, if any.
func (r *replica) closeConn() {
	if r.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = r.conn.Close(ctx)
	r.conn = nil
}

// check asks the primary for its current release and every replica for the
// releases it has, at once; then it decides the store's current release and
// the rotation, and caches both. waiting reports that the primary has a
// newer current release that replicas in rotation are still replaying.
// Checks run one at a time.
//
// While the primary does not answer, the current release stays as it was
// (no release can be loaded meanwhile) and only the rotation is updated.
func (s *Store) check(ctx context.Context) (rel store.Release, waiting bool, err error) {
	s.checking.Lock()
	defer s.checking.Unlock()
	if s.closed {
		return store.Release{}, false, fmt.Errorf("postgres: closed: %w", store.ErrUnavailable)
	}
	at := time.Now()
	// A hanging server must not hold every request for its whole deadline.
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	type poll struct {
		has map[string]bool
		err error
	}
	polls := make([]poll, len(s.replicas))
	var wg sync.WaitGroup
	for i, r := range s.replicas {
		wg.Go(func() {
			polls[i].has, polls[i].err = r.poll(ctx)
		})
	}
	primary, perr := s.readCurrent(ctx, s.pool)
	wg.Wait()

	var cur *store.Release
	if c := s.current.Load(); c != nil {
		cur = &c.rel
	}
	switch {
	case perr == nil && (cur == nil || cur.ID != primary.ID):
		var behind []string
		if cur != nil {
			for i, r := range s.replicas {
				if p := polls[i]; p.err == nil && p.has[cur.ID] && !p.has[primary.ID] {
					behind = append(behind, r.name)
				}
			}
		}
		if s.pending.IsZero() {
			s.pending = at
		}
		switch {
		case len(behind) == 0:
			cur = &primary
		case at.Sub(s.pending) >= s.maxLag:
			s.log.Warn("read replicas have not replayed the new release within the maximum lag: switching without them",
				"release", primary.ID, "replicas", behind, "max_lag", s.maxLag.String())
			cur = &primary
		default:
			waiting = true
		}
		if !waiting {
			s.pending = time.Time{}
		}
	case perr == nil:
		s.pending = time.Time{}
	case errors.Is(perr, pgx.ErrNoRows):
		// Nothing is loaded yet: every replica that answers serves (and
		// finds nothing).
		cur = nil
	}

	// The rotation is stored before the current release, so that a reader
	// that sees the new current release also sees replicas that have it.
	inRotation := 0
	for i, r := range s.replicas {
		st := &replicaState{up: polls[i].err == nil, has: polls[i].has, err: polls[i].err, checked: true}
		st.serving = st.up && (cur == nil || st.has[cur.ID])
		old := r.state.Swap(st)
		if st.serving {
			inRotation++
		}
		if old.serving && !st.serving {
			s.outOfRotation.Add(1)
		}
		// Each change is logged once, and so is the state found first.
		switch {
		case st.serving && !old.serving:
			s.log.Info("read replica in rotation", "replica", r.name)
		case !st.up && (old.up || !old.checked):
			s.log.Warn("read replica out of rotation: it does not answer", "replica", r.name, "error", st.err)
		case st.up && !st.serving && (old.serving || !old.checked):
			s.log.Warn("read replica out of rotation: it has not replayed the current release", "replica", r.name, "release", cur.ID)
		}
	}
	if primaryOnly := inRotation == 0; primaryOnly != s.primaryOnly {
		s.primaryOnly = primaryOnly
		if primaryOnly {
			s.log.Warn("no read replica in rotation: the primary serves reads")
		} else {
			s.log.Info("read replicas serve reads", "in_rotation", inRotation)
		}
	}

	switch {
	case perr == nil:
		rel := *cur
		rel.Current = true
		s.current.Store(&cachedRelease{rel: rel, at: at})
		return rel, waiting, nil
	case errors.Is(perr, pgx.ErrNoRows):
		s.current.Store(nil)
		return store.Release{}, false, fmt.Errorf("current release: %w", store.ErrNotFound)
	}
	err = s.wrapErr(perr, "current release")
	// As without replicas (refreshCurrent): while the primary is
	// unreachable the last known release is still the best answer.
	if c := s.current.Load(); c != nil && (errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)) {
		s.current.Store(&cachedRelease{rel: c.rel, at: at})
		return c.rel, false, nil
	}
	return store.Release{}, false, err
}

// awaitCurrent refreshes the current release after the primary announced
// a new one. With replicas it checks them every catchUpPoll until each in
// rotation has replayed it, which check bounds by the maximum lag.
func (s *Store) awaitCurrent(ctx context.Context) (store.Release, error) {
	if len(s.replicas) == 0 {
		return s.refreshCurrent(ctx)
	}
	for {
		rel, waiting, err := s.check(ctx)
		if err != nil || !waiting {
			return rel, err
		}
		select {
		case <-ctx.Done():
			return rel, nil
		case <-time.After(catchUpPoll):
		}
	}
}

// currentID returns the id of the store's current release, "" when there
// is none.
func (s *Store) currentID(ctx context.Context) (string, error) {
	rel, err := s.CurrentRelease(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return rel.ID, err
}

// ping answers nil as soon as the primary or a replica in rotation
// answers: either can serve reads.
func (s *Store) ping(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pools := []*pgxpool.Pool{s.pool}
	for _, r := range s.replicas {
		if r.state.Load().serving {
			pools = append(pools, r.pool)
		}
	}
	errs := make(chan error, len(pools))
	for _, p := range pools {
		go func() { errs <- p.Ping(ctx) }()
	}
	var first error
	for range pools {
		err := <-errs
		if err == nil {
			return nil
		}
		first = cmp.Or(first, err)
	}
	return first
}
