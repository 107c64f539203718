// Package postgres is a store.Store on PostgreSQL through a pgx connection
// pool. Each release is written in one transaction that also makes it
// current, so a reader sees either the old release or the whole new one;
// earlier releases stay queryable by id. A release never changes once
// loaded, so its offences, regions, measures and sources are read once and
// kept in memory (meta.go), and a request for observations is one statement
// (query.go). The schema is versioned by embedded goose migrations (Migrate,
// CheckSchema), and replicas learn of a new current release through
// LISTEN/NOTIFY (WatchReleases). Reads may go to PostgreSQL read replicas
// (WithReadURLs, replica.go), which serve a release only once they have
// replayed it.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/krimstat/krimstat/store"
)

var _ store.Store = (*Store)(nil)

// releaseChannel is the NOTIFY channel on which a load announces the id of
// the release it made current.
const releaseChannel = "krimstat_release"

// staleAfter bounds how long CurrentRelease trusts its cached answer while no
// watcher is listening for release notifications.
const staleAfter = time.Second

// refreshTimeout bounds the query behind CurrentRelease.
const refreshTimeout = 2 * time.Second

// Store reads and loads releases in PostgreSQL. It is safe for concurrent use.
type Store struct {
	// pool is the primary's: every write, and reads unless replicas serve
	// them.
	pool *pgxpool.Pool
	log  *slog.Logger

	// readURLs are the read replicas given to Open, replicas their pools
	// and state (replica.go), in that order.
	readURLs []string
	replicas []*replica
	// maxLag bounds how long a new release waits for the replicas.
	maxLag time.Duration
	// next turns the replica that a read tries first.
	next atomic.Uint64
	// checking serialises checks of the replicas, and guards pending,
	// primaryOnly and closed.
	checking sync.Mutex
	// closed is set by Close, after which no check runs.
	closed bool
	// pending is when the primary was first seen with a current release
	// that replicas in rotation lacked; zero when none is awaited.
	pending time.Time
	// primaryOnly is whether the last check found no replica in rotation.
	primaryOnly bool
	// outOfRotation and primaryReads are counts of ReplicaStats.
	outOfRotation, primaryReads atomic.Uint64

	// current caches the current release; see CurrentRelease.
	current atomic.Pointer[cachedRelease]
	// listening counts watchers whose LISTEN connection is up: while one is,
	// a cached current release is replaced on every notification and so can
	// be trusted without a deadline.
	listening atomic.Int32
	// refreshing is set while a background refresh of current runs.
	refreshing atomic.Bool
	// metas caches the metadata of releases, which never change (meta.go).
	metas *metas
	// failures counts failed database calls (see Failures).
	failures atomic.Uint64
	// statementTimeout bounds every statement on the pool's connections;
	// zero leaves the server's setting.
	statementTimeout time.Duration

	// loadHook, when set by a test, is called at each stage of Load inside
	// the transaction, so that a test can fail or cancel a load midway.
	loadHook func(ctx context.Context, stage string) error
	// chunks, when set by a test, replaces firstChunk and maxChunk, so that
	// a small dataset spans many chunks of EachObservation.
	chunks [2]int
	// tracer, when set by a test before Open, sees every statement the
	// pool's connections run, so that a test can count round trips.
	tracer pgx.QueryTracer
}

type cachedRelease struct {
	rel store.Release
	at  time.Time
}

// Option configures a Store at Open.
type Option func(*Store)

// WithLogger sets the logger for the release watcher. The default discards
// everything.
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) { s.log = l }
}

// WithStatementTimeout makes the server cancel any statement on the pool's
// connections that runs longer than d, so that one expensive query cannot
// hold a connection and a core for longer than a request deserves. Such a
// statement fails with an error wrapping store.ErrUnavailable. It overrides a
// statement_timeout in the connection URL; d <= 0 leaves the URL's or the
// server's setting (by default none). Loads and migrations run long
// statements on purpose: give it only to a store that serves reads.
func WithStatementTimeout(d time.Duration) Option {
	return func(s *Store) { s.statementTimeout = d }
}

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string) and checks that it answers. It does not migrate or check
// the schema: call Migrate or CheckSchema. A server that does not answer is an
// error wrapping store.ErrUnavailable; a malformed url one wrapping
// store.ErrInvalid.
//
// Statements are prepared once per connection and may run on a cached
// generic plan, except those with a list of values, which are planned for
// their own parameters (see withMode).
//
// With read replicas (WithReadURLs) it checks only that the primary
// answers: a replica that does not is out of rotation until it does. A
// malformed read URL is an error wrapping store.ErrInvalid.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	s := &Store{log: slog.New(slog.DiscardHandler), metas: newMetas(), maxLag: DefaultMaxReplicaLag}
	for _, o := range opts {
		o(s)
	}
	cfg, err := s.poolConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, s.wrapErr(err, "postgres: connect")
	}
	s.pool = pool
	if err := s.openReplicas(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// poolConfig parses url into the configuration of a pool, primary or
// replica: both run the same statements under the same timeout.
func (s *Store) poolConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	if s.tracer != nil {
		cfg.ConnConfig.Tracer = s.tracer
	}
	if s.statementTimeout > 0 {
		// Whole milliseconds, at least one: zero would mean no limit.
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(s.statementTimeout.Milliseconds(), 1), 10) + "ms"
	}
	return cfg, nil
}

// Close closes every connection of the pools. Watchers stop with their
// context.
func (s *Store) Close() {
	s.pool.Close()
	s.checking.Lock()
	s.closed = true
	for _, r := range s.replicas {
		r.closeConn()
	}
	s.checking.Unlock()
	for _, r := range s.replicas {
		r.pool.Close()
	}
}

// wrapErr gives an error from pgx its context and, where the server could not
// be reached or went away, store.ErrUnavailable, so that the API answers 503
// rather than 500 and the client may retry.
// Every error passing through it is counted for the metrics endpoint.
func (s *Store) wrapErr(err error, format string, args ...any) error {
	s.failures.Add(1)
	msg := fmt.Sprintf(format, args...)
	if unavailable(err) {
		return fmt.Errorf("%s: %w: %w", msg, store.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// Failures returns how many database calls have failed since Open: lost
// connections, timeouts and query errors, but not "not found".
func (s *Store) Failures() uint64 { return s.failures.Load() }

// unavailable reports whether err means that the server cannot answer now,
// as opposed to a bad query, bad data or a cancelled request.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03", // admin shutdown, crash shutdown, cannot connect now
			"53300", // too many connections
			"57014": // query cancelled: statement_timeout (a cancelled ctx surfaces as ctx's error)
			return true
		}
		// Class 08 is "connection exception".
		return strings.HasPrefix(pgErr.Code, "08")
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err)
}

// CurrentRelease implements store.Store. It is called on every request, so
// the answer is cached: updated by Load and by every notification a
// WatchReleases receives, and otherwise trusted for at most staleAfter.
//
// A stale answer is refreshed in the background by one caller while every
// caller gets the cached answer at once: a slow or unreachable server then
// never holds up requests that the response cache could answer.
//
// With read replicas it is the primary's current release once every
// replica in rotation has replayed it (replica.go), and it is refreshed
// every staleAfter even while a watcher listens, since that refresh is
// also what brings replicas back into the rotation.
func (s *Store) CurrentRelease(ctx context.Context) (store.Release, error) {
	c := s.current.Load()
	if c != nil && ((s.listening.Load() > 0 && len(s.replicas) == 0) || time.Since(c.at) < staleAfter) {
		return c.rel, nil
	}
	if c != nil {
		if s.refreshing.CompareAndSwap(false, true) {
			go func() {
				defer s.refreshing.Store(false)
				_, _ = s.refreshCurrent(context.Background())
			}()
		}
		return c.rel, nil
	}
	return s.refreshCurrent(ctx)
}

// refreshCurrent reads the current release from the database and caches
// it; with replicas, it checks them (see check).
func (s *Store) refreshCurrent(ctx context.Context) (store.Release, error) {
	if len(s.replicas) > 0 {
		rel, _, err := s.check(ctx)
		return rel, err
	}
	at := time.Now()
	// A hanging server must not hold every request for its whole deadline.
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	rel, err := s.readCurrent(ctx, s.pool)
	if errors.Is(err, pgx.ErrNoRows) {
		s.current.Store(nil)
		return store.Release{}, fmt.Errorf("current release: %w", store.ErrNotFound)
	}
	if err != nil {
		err = s.wrapErr(err, "current release")
		// While the server is unreachable the last known release is still
		// the best answer: the response cache keeps serving it, and only
		// requests that need the database fail. The stale entry is
		// re-dated so the next attempt waits staleAfter instead of every
		// request paying for a failing query.
		if c := s.current.Load(); c != nil && (errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)) {
			s.current.Store(&cachedRelease{rel: c.rel, at: at})
			return c.rel, nil
		}
		return store.Release{}, err
	}
	s.current.Store(&cachedRelease{rel: rel, at: at})
	return rel, nil
}

// readCurrent reads the current release of the server of db.
func (s *Store) readCurrent(ctx context.Context, db *pgxpool.Pool) (store.Release, error) {
	return scanRelease(db.QueryRow(ctx, `
		SELECT r.id, r.created, r.note, r.files, r.counts, r.changes, true
		FROM current_release c JOIN releases r ON r.id = c.release_id`))
}

// Releases implements store.Store. With replicas the list comes from one
// that has the store's current release, which is the one marked current:
// a replica may have replayed a newer one, listed as not current until the
// store switches to it.
func (s *Store) Releases(ctx context.Context) ([]store.Release, error) {
	cur, err := s.replicaCurrentID(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Release
	err = s.read(ctx, cur, func(db *pgxpool.Pool) error {
		out = []store.Release{}
		rows, err := db.Query(ctx, `
			SELECT r.id, r.created, r.note, r.files, r.counts, r.changes, c.release_id IS NOT NULL
			FROM releases r LEFT JOIN current_release c ON c.release_id = r.id
			ORDER BY r.seq DESC`)
		if err != nil {
			return s.wrapErr(err, "releases")
		}
		for rows.Next() {
			rel, err := scanRelease(rows)
			if err != nil {
				rows.Close()
				return s.wrapErr(err, "releases")
			}
			out = append(out, rel)
		}
		if err := rows.Err(); err != nil {
			return s.wrapErr(err, "releases")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(s.replicas) > 0 {
		for i := range out {
			out[i].Current = out[i].ID == cur
		}
	}
	return out, nil
}

// Release implements store.Store. With replicas, the release marked current
// is the store's current release, as in Releases.
func (s *Store) Release(ctx context.Context, id string) (store.Release, error) {
	if !storable(id) {
		return store.Release{}, fmt.Errorf("release %q: %w", id, store.ErrNotFound)
	}
	cur, err := s.replicaCurrentID(ctx)
	if err != nil {
		return store.Release{}, err
	}
	var rel store.Release
	err = s.read(ctx, id, func(db *pgxpool.Pool) error {
		var err error
		rel, err = scanRelease(db.QueryRow(ctx, `
			SELECT r.id, r.created, r.note, r.files, r.counts, r.changes, c.release_id IS NOT NULL
			FROM releases r LEFT JOIN current_release c ON c.release_id = r.id
			WHERE r.id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("release %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return s.wrapErr(err, "release %q", id)
		}
		return nil
	})
	if err != nil {
		return store.Release{}, err
	}
	if len(s.replicas) > 0 {
		rel.Current = rel.ID == cur
	}
	return rel, nil
}

// replicaCurrentID returns, for a store with replicas, the id of its current
// release ("" when there is none); without replicas it is "" and asks
// nothing, since the primary's own row says which release is current.
func (s *Store) replicaCurrentID(ctx context.Context) (string, error) {
	if len(s.replicas) == 0 {
		return "", nil
	}
	return s.currentID(ctx)
}

func scanRelease(row pgx.Row) (store.Release, error) {
	var rel store.Release
	var files, counts, changes []byte
	if err := row.Scan(&rel.ID, &rel.Created, &rel.Note, &files, &counts, &changes, &rel.Current); err != nil {
		return store.Release{}, err
	}
	if changes != nil {
		rel.Changes = &store.ChangeSummary{}
		if err := json.Unmarshal(changes, rel.Changes); err != nil {
			return store.Release{}, fmt.Errorf("changes: %w", err)
		}
	}
	if err := unmarshal(files, &rel.Files); err != nil {
		return store.Release{}, fmt.Errorf("files: %w", err)
	}
	if err := unmarshal(counts, &rel.Counts); err != nil {
		return store.Release{}, fmt.Errorf("counts: %w", err)
	}
	return rel, nil
}

// Ping checks that the database answers, for a readiness probe. An error
// wraps store.ErrUnavailable when the server cannot be reached.
//
// With read replicas it succeeds when the primary or any replica in
// rotation answers, since either can serve reads: a replica's outage moves
// reads to the primary, and the primary's leaves the replicas serving the
// releases they have (only loads and release switches wait for it). Taking
// a server out of service for either would turn a partial outage into a
// whole one.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.ping(ctx); err != nil {
		return s.wrapErr(err, "postgres: ping")
	}
	return nil
}
