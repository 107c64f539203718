package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/krimstat/krimstat/internal/testenv"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/storetest"
)

// replicated is a database of a test's own on a primary with a streaming
// replica, and a store without replicas that migrated it and loads its
// releases, as krimstat ingest does.
type replicated struct {
	pair *testenv.PostgresReplica
	// primary and replica name the database on each server.
	primary, replica string
	loader           *Store
}

// mustReplicated creates a database on pair's primary, migrates it, loads
// releases into it and waits until the replica has replayed them.
func mustReplicated(t *testing.T, pair *testenv.PostgresReplica, releases ...*store.Dataset) *replicated {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	name := "krimstat_test_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, pair.PrimaryURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	db := &replicated{pair: pair, primary: withPath(t, pair.PrimaryURL, name), replica: withPath(t, pair.ReplicaURL, name)}
	db.loader = mustOpen(t, db.primary)
	if err := db.loader.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	for _, d := range releases {
		if err := db.loader.Load(ctx, d); err != nil {
			t.Fatalf("load %s: %v", d.Release.ID, err)
		}
	}
	pair.WaitReplayed(t)
	return db
}

func withPath(t *testing.T, base, database string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + database
	return u.String()
}

// reader opens a store on db's primary that reads from its replica, with
// its log kept in log (shown if the test fails), closed when the test ends.
func (db *replicated) reader(t *testing.T, log *syncBuffer, opts ...Option) *Store {
	t.Helper()
	opts = append([]Option{WithReadURLs(db.replica)}, opts...)
	if log != nil {
		opts = append(opts, WithLogger(slog.New(slog.NewTextHandler(log, nil))))
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("the store's log:\n%s", log)
			}
		})
	}
	s, err := Open(context.Background(), db.primary, opts...)
	if err != nil {
		t.Fatalf("open with a read replica: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// syncBuffer is a log for goroutines that may outlive the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// servers is a pgx tracer that counts, by server port, the statements that
// read observations: which server answered the reads.
type servers struct {
	mu sync.Mutex
	n  map[uint16]int
}

func (c *servers) TraceQueryStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "FROM observations") {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.n == nil {
			c.n = map[uint16]int{}
		}
		c.n[conn.Config().Port]++
	}
	return ctx
}

func (c *servers) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// reset returns the counts of the primary and the replica of db so far and
// starts again from zero.
func (c *servers) reset(t *testing.T, db *replicated) (primary, replica int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	primary, replica = c.n[port(t, db.primary)], c.n[port(t, db.replica)]
	c.n = nil
	return primary, replica
}

func port(t *testing.T, url string) uint16 {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Port
}

func withTracer(tr pgx.QueryTracer) Option { return func(s *Store) { s.tracer = tr } }

// watch runs s.WatchReleases until the test ends and returns the ids it
// reports, once it listens. The store has read its current release first,
// so the watcher reports only releases made current later.
func watch(t *testing.T, s *Store) <-chan string {
	t.Helper()
	currentID(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	ids := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		s.WatchReleases(ctx, func(id string) { ids <- id })
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for deadline := time.Now().Add(10 * time.Second); s.listening.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not start listening")
		}
	}
	return ids
}

// waitFor calls cond until it is true, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func currentID(t *testing.T, s *Store) string {
	t.Helper()
	rel, err := s.CurrentRelease(context.Background())
	if err != nil {
		t.Fatalf("CurrentRelease: %v", err)
	}
	return rel.ID
}

// TestReplicaConformance runs the conformance suite against stores that
// read from a streaming replica, each on a database of its own loaded
// through the primary: every read answers as it does from the primary.
func TestReplicaConformance(t *testing.T) {
	pair := testenv.StartPostgresReplica(t)
	storetest.Run(t, func(t *testing.T, releases ...*store.Dataset) store.Store {
		return mustReplicated(t, pair, releases...).reader(t, nil)
	})
}

// TestReplicaServesReads: with the replica in rotation every read goes to
// it and none to the primary.
func TestReplicaServesReads(t *testing.T) {
	pair := testenv.StartPostgresReplica(t)
	db := mustReplicated(t, pair, storetest.Dataset1(), storetest.Dataset2())
	tr := &servers{}
	s := db.reader(t, nil, withTracer(tr))
	if id := currentID(t, s); id != storetest.Release2 {
		t.Fatalf("CurrentRelease: got %s, want %s", id, storetest.Release2)
	}
	for _, d := range []*store.Dataset{storetest.Dataset1(), storetest.Dataset2()} {
		d.Sort()
		storetest.Compare(t, s, d)
	}
	primary, replica := tr.reset(t, db)
	t.Logf("statements reading observations: %d on the replica, %d on the primary", replica, primary)
	if primary != 0 || replica == 0 {
		t.Errorf("reads: got %d statements on the primary and %d on the replica, want every one on the replica", primary, replica)
	}
	if st := s.ReplicaStats(); st != (ReplicaStats{Replicas: 1, InRotation: 1}) {
		t.Errorf("ReplicaStats: got %+v, want the one replica in rotation and no primary read", st)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// TestReplicaHoldsReleaseUntilReplayed: a release loaded on the primary
// while the replica's replay is paused is not served until the replica has
// it: CurrentRelease and every read keep to the previous release, without
// an error, for as long as the pause lasts, and switch soon after it ends.
// Readers query throughout, and no answer holds a row of a release other
// than the one it names, nor reads the primary.
func TestReplicaHoldsReleaseUntilReplayed(t *testing.T) {
	const size = 10000
	a, b := storetest.Synthetic("release-a", size), storetest.Synthetic("release-b", size)
	for i := range b.Observations {
		*b.Observations[i].Value += 0.5
	}
	wantTotal := map[string]int{}
	for _, d := range []*store.Dataset{a, b} {
		for _, o := range d.Observations {
			if o.Offence == "offence-003" {
				wantTotal[d.Release.ID]++
			}
		}
	}
	pair := testenv.StartPostgresReplica(t)
	db := mustReplicated(t, pair, a)
	tr := &servers{}
	s := db.reader(t, &syncBuffer{}, withTracer(tr), WithMaxReplicaLag(time.Minute))
	ids := watch(t, s)
	if id := currentID(t, s); id != "release-a" {
		t.Fatalf("CurrentRelease: got %s, want release-a", id)
	}
	if st := s.ReplicaStats(); st.InRotation != 1 {
		t.Fatalf("ReplicaStats: got %+v, want the replica in rotation", st)
	}

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var reads atomic.Int64
	var seen sync.Map
	errs := make(chan error, 16)
	for range 6 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := readWhole(ctx, s, wantTotal); err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				rel, _ := s.CurrentRelease(ctx)
				seen.Store(rel.ID, true)
				reads.Add(1)
			}
		})
	}
	defer func() {
		stop()
		wg.Wait()
	}()

	pair.PauseReplay(t)
	if err := db.loader.Load(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if id := currentID(t, db.loader); id != "release-b" {
		t.Fatalf("the primary's current release: got %s, want release-b", id)
	}
	// Paused for several refreshes (staleAfter) and many notification
	// polls (catchUpPoll).
	for end := time.Now().Add(3 * staleAfter); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if id := currentID(t, s); id != "release-a" {
			t.Fatalf("CurrentRelease while the replica replays nothing: got %s, want release-a", id)
		}
	}
	// The store's view is its replicas': the new release is not there yet.
	if _, err := s.Observations(context.Background(), "release-b", store.ObservationFilter{Limit: 1}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Observations of the release not replayed: got %v, want ErrNotFound", err)
	}
	readsPaused := reads.Load()

	pair.ResumeReplay(t)
	took := waitFor(t, 2*time.Second, "switching to release-b once replayed", func() bool { return currentID(t, s) == "release-b" })
	t.Logf("switched %v after the replay resumed", took.Round(time.Millisecond))
	select {
	case id := <-ids:
		if id != "release-b" {
			t.Errorf("watcher: got %s, want release-b", id)
		}
	case <-time.After(2 * time.Second):
		t.Error("the watcher did not report release-b")
	}
	time.Sleep(300 * time.Millisecond)
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, id := range []string{"release-a", "release-b"} {
		if _, ok := seen.Load(id); !ok {
			t.Errorf("readers never saw %s", id)
		}
	}
	primary, replica := tr.reset(t, db)
	t.Logf("%d reads, %d of them while paused; statements reading observations: %d on the replica, %d on the primary",
		reads.Load(), readsPaused, replica, primary)
	if primary != 0 {
		t.Errorf("statements on the primary: got %d, want 0", primary)
	}
	if st := s.ReplicaStats(); st.OutOfRotation != 0 || st.PrimaryReads != 0 {
		t.Errorf("ReplicaStats: got %+v, want the replica never out of rotation", st)
	}
}

// readWhole reads the current release as a request does (the release,
// then a page of observations and its metadata) and checks that the
// answer is whole and of that release alone.
func readWhole(ctx context.Context, s *Store, wantTotal map[string]int) error {
	rel, err := s.CurrentRelease(ctx)
	if err != nil {
		return fmt.Errorf("CurrentRelease: %w", err)
	}
	page, err := s.Observations(ctx, rel.ID, store.ObservationFilter{Offences: []string{"offence-003"}, Limit: 200})
	if err != nil {
		return fmt.Errorf("Observations of %s: %w", rel.ID, err)
	}
	if page.Total != wantTotal[rel.ID] {
		return fmt.Errorf("release %s: got Total %d, want %d", rel.ID, page.Total, wantTotal[rel.ID])
	}
	for _, o := range page.Observations {
		if !strings.HasPrefix(o.Locator, rel.ID+" ") {
			return fmt.Errorf("release %s: got an observation of %q", rel.ID, o.Locator)
		}
	}
	if n, err := s.CountObservations(ctx, rel.ID, store.ObservationFilter{Offences: []string{"offence-003"}}); err != nil || n != wantTotal[rel.ID] {
		return fmt.Errorf("CountObservations of %s: got %d, %v; want %d", rel.ID, n, err, wantTotal[rel.ID])
	}
	if _, err := s.Offence(ctx, rel.ID, "offence-003"); err != nil {
		return fmt.Errorf("Offence of %s: %w", rel.ID, err)
	}
	return nil
}

// TestReplicaDown: when the replica dies under readers, every read goes on
// from the primary without an error, and Ping stays ready.
func TestReplicaDown(t *testing.T) {
	a := storetest.Synthetic("release-a", 10000)
	wantTotal := map[string]int{}
	for _, o := range a.Observations {
		if o.Offence == "offence-003" {
			wantTotal["release-a"]++
		}
	}
	pair := testenv.StartPostgresReplica(t)
	db := mustReplicated(t, pair, storetest.Dataset1(), a)
	tr := &servers{}
	log := &syncBuffer{}
	s := db.reader(t, log, withTracer(tr))
	if err := readWhole(context.Background(), s, wantTotal); err != nil {
		t.Fatal(err)
	}

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := readWhole(ctx, s, wantTotal); err != nil && ctx.Err() == nil {
					errs <- err
					return
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	pair.KillReplica()
	time.Sleep(staleAfter + 500*time.Millisecond)
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a read with the replica killed: %v", err)
	}

	// Reads the replica never answered, and so are not cached, come from
	// the primary too.
	ctx = context.Background()
	d1 := storetest.Dataset1()
	d1.Sort()
	storetest.Compare(t, s, d1)
	if rels, err := s.Releases(ctx); err != nil || len(rels) != 2 || !rels[0].Current || rels[0].ID != "release-a" {
		t.Errorf("Releases: got %+v, %v; want release-a current, then %s", rels, err, storetest.Release1)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping with the replica down: got %v, want nil (the primary serves)", err)
	}
	primary, replica := tr.reset(t, db)
	st := s.ReplicaStats()
	t.Logf("statements reading observations: %d on the replica, %d on the primary; %+v", replica, primary, st)
	if primary == 0 || st.PrimaryReads == 0 || st.OutOfRotation != 1 || st.InRotation != 0 {
		t.Errorf("got %d statements on the primary and %+v, want the primary serving and the replica once out of rotation", primary, st)
	}
	if !strings.Contains(log.String(), "out of rotation") || !strings.Contains(log.String(), "the primary serves reads") {
		t.Errorf("log: want the replica out of rotation and the primary serving, got\n%s", log)
	}
}

// TestReplicaLagBeyondBound: a replica that has not replayed a new release
// within the maximum lag leaves the rotation, and the store switches
// without it, reading from the primary; once the replica catches up it
// serves again.
func TestReplicaLagBeyondBound(t *testing.T) {
	const maxLag = 300 * time.Millisecond
	pair := testenv.StartPostgresReplica(t)
	db := mustReplicated(t, pair, storetest.Dataset1())
	tr := &servers{}
	log := &syncBuffer{}
	s := db.reader(t, log, withTracer(tr), WithMaxReplicaLag(maxLag))
	ids := watch(t, s)
	if st := s.ReplicaStats(); st.InRotation != 1 {
		t.Fatalf("ReplicaStats: got %+v, want the replica in rotation", st)
	}
	ctx := context.Background()

	pair.PauseReplay(t)
	start := time.Now()
	if err := db.loader.Load(ctx, storetest.Dataset2()); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-ids:
		if id != storetest.Release2 {
			t.Fatalf("watcher: got %s, want %s", id, storetest.Release2)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the watcher did not report the new release")
	}
	took := time.Since(start)
	t.Logf("switched %v after the load, with a maximum lag of %v", took.Round(time.Millisecond), maxLag)
	if took < maxLag || took > maxLag+time.Second {
		t.Errorf("switched after %v, want just after the maximum lag (%v)", took, maxLag)
	}
	if id := currentID(t, s); id != storetest.Release2 {
		t.Fatalf("CurrentRelease: got %s, want %s", id, storetest.Release2)
	}
	if st := s.ReplicaStats(); st.InRotation != 0 || st.OutOfRotation != 1 {
		t.Errorf("ReplicaStats: got %+v, want the replica out of rotation", st)
	}
	tr.reset(t, db)
	for _, d := range []*store.Dataset{storetest.Dataset1(), storetest.Dataset2()} {
		d.Sort()
		storetest.Compare(t, s, d)
	}
	if primary, replica := tr.reset(t, db); replica != 0 || primary == 0 {
		t.Errorf("reads with the replica behind: got %d statements on the primary and %d on the replica, want all on the primary", primary, replica)
	}

	pair.ResumeReplay(t)
	pair.WaitReplayed(t)
	// A refresh, every staleAfter, finds it caught up.
	took = waitFor(t, 3*staleAfter, "the replica back in rotation", func() bool {
		currentID(t, s)
		return s.ReplicaStats().InRotation == 1
	})
	t.Logf("back in rotation %v after catching up", took.Round(time.Millisecond))
	d2 := storetest.Dataset2()
	d2.Sort()
	storetest.Compare(t, s, d2)
	if primary, replica := tr.reset(t, db); primary != 0 || replica == 0 {
		t.Errorf("reads with the replica caught up: got %d statements on the primary and %d on the replica, want all on the replica", primary, replica)
	}
	if !strings.Contains(log.String(), "maximum lag") {
		t.Errorf("log: want the switch without the replica, got\n%s", log)
	}
}

// TestReplicaPrimaryDown: with the primary gone the replica still serves
// the release it has, and the store stays ready; with both gone it is not.
func TestReplicaPrimaryDown(t *testing.T) {
	pair := testenv.StartPostgresReplica(t)
	db := mustReplicated(t, pair, storetest.Dataset1(), storetest.Dataset2())
	s := db.reader(t, nil)
	ctx := context.Background()
	if id := currentID(t, s); id != storetest.Release2 {
		t.Fatalf("CurrentRelease: got %s, want %s", id, storetest.Release2)
	}
	pair.KillPrimary()
	time.Sleep(staleAfter + 100*time.Millisecond)
	if id := currentID(t, s); id != storetest.Release2 {
		t.Errorf("CurrentRelease with the primary down: got %s, want %s", id, storetest.Release2)
	}
	d := storetest.Dataset1()
	d.Sort()
	storetest.Compare(t, s, d)
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping with the primary down: got %v, want nil (the replica serves)", err)
	}
	pair.KillReplica()
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping with both down: got %v, want ErrUnavailable", err)
	}
}

// TestReplicaURLs: a malformed read URL is refused at Open; a replica that
// does not answer is not, and the primary serves until it does.
func TestReplicaURLs(t *testing.T) {
	_, url := mustMigrated(t, storetest.Dataset1())
	ctx := context.Background()
	if _, err := Open(ctx, url, WithReadURLs("postgres://h/db?sslmode=nonsense")); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Open with a malformed read URL: got %v, want ErrInvalid", err)
	}
	// Nothing listens on port 1.
	s, err := Open(ctx, url, WithReadURLs("postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=1"))
	if err != nil {
		t.Fatalf("Open with a replica down: %v", err)
	}
	defer s.Close()
	if id := currentID(t, s); id != storetest.Release1 {
		t.Errorf("CurrentRelease: got %s, want %s", id, storetest.Release1)
	}
	d := storetest.Dataset1()
	d.Sort()
	storetest.Compare(t, s, d)
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if st := s.ReplicaStats(); st.InRotation != 0 || st.PrimaryReads == 0 {
		t.Errorf("ReplicaStats: got %+v, want no replica in rotation and reads on the primary", st)
	}
}
