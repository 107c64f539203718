package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"

	"github.com/krimstat/krimstat/internal/testenv"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
	"github.com/krimstat/krimstat/store/storetest"
)

// mustOpen opens a store on url, closed when the test ends.
func mustOpen(tb testing.TB, url string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), url)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// mustMigrated opens a store on a fresh, migrated database holding releases.
func mustMigrated(tb testing.TB, releases ...*store.Dataset) (*Store, string) {
	tb.Helper()
	url := testenv.PostgresURL(tb)
	s := mustOpen(tb, url)
	if err := s.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	for _, d := range releases {
		if err := s.Load(context.Background(), d); err != nil {
			tb.Fatalf("load %s: %v", d.Release.ID, err)
		}
	}
	return s, url
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, releases ...*store.Dataset) store.Store {
		s, _ := mustMigrated(t, releases...)
		return s
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	s, _ := mustMigrated(t, storetest.Dataset1())
	ctx := context.Background()
	before := dump(t, s)
	for range 2 {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("migrate again: %v", err)
		}
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Errorf("CheckSchema after migrating: %v", err)
	}
	current, target, err := s.SchemaVersion(ctx)
	if err != nil || current != target || current < 1 {
		t.Errorf("SchemaVersion: got %d, %d, %v; want equal versions from 1", current, target, err)
	}
	if after := dump(t, s); after != before {
		t.Errorf("migrating again changed the data: got\n%s\nwant\n%s", after, before)
	}
}

func TestCheckSchemaRefusesAnEmptyDatabase(t *testing.T) {
	s := mustOpen(t, testenv.PostgresURL(t))
	err := s.CheckSchema(context.Background())
	if err == nil {
		t.Fatal("CheckSchema on an empty database: got nil, want an error")
	}
	for _, want := range []string{"version 0", "needs 2", "krimstat migrate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("CheckSchema: got %q, want it to contain %q", err, want)
		}
	}
}

// TestMigrateKeepsEarlierReleases: a database of schema version 1, with a
// release loaded before releases had change summaries and observations
// revisions, migrates to the newest version with that release as it was,
// read back without either; a release loaded afterwards keeps both.
func TestMigrateKeepsEarlierReleases(t *testing.T) {
	s := mustOpen(t, testenv.PostgresURL(t))
	ctx := context.Background()
	err := s.provider(ctx, func(p *goose.Provider) error {
		_, err := p.UpTo(ctx, 1)
		return err
	})
	if err != nil {
		t.Fatalf("migrate to version 1: %v", err)
	}
	// The rows version 1 holds, written as a binary of that version did.
	for _, q := range []string{
		`INSERT INTO releases (id, created, note, files, counts) VALUES ('old', '2024-01-01T00:00:00Z', '', '[]', '{}')`,
		`INSERT INTO current_release (release_id) VALUES ('old')`,
		`INSERT INTO observations (release_id, key, offence, region, measure, period, period_start, period_end,
			sex, age, citizenship, repatriation_country, value, value_text, flags, source, confidence, locator)
		 VALUES ('old', 'k', 'homicide', 'NO', 'offences-reported', '2013', '2013-01-01', '2013-12-31',
			'', '', '', '', 40, '', '{}', 'ssb-08484', 'A', 'table 1')`,
	} {
		if _, err := s.pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("CheckSchema: %v", err)
	}
	rel, err := s.Release(ctx, "old")
	if err != nil || rel.Changes != nil {
		t.Errorf("release of version 1: got %+v, %v; want it without changes", rel, err)
	}
	page, err := s.Observations(ctx, "old", store.ObservationFilter{})
	if err != nil || len(page.Observations) != 1 || page.Observations[0].Revision != nil || *page.Observations[0].Value != 40 {
		t.Errorf("observations of version 1: got %+v, %v; want one of 40 without a revision", page.Observations, err)
	}
	if err := s.Load(ctx, storetest.Dataset2()); err != nil {
		t.Fatalf("load after migrating: %v", err)
	}
	rel, err = s.Release(ctx, storetest.Release2)
	if err != nil || rel.Changes == nil || rel.Changes.Since != storetest.Release1 {
		t.Errorf("release loaded after migrating: got %+v, %v; want its changes since %s", rel, err, storetest.Release1)
	}
}

// dump describes every table by row count and a checksum of its rows, so
// that two dumps are equal only if no row changed.
func dump(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"releases", "current_release", "offences", "regions", "measures", "sources", "population", "observations"} {
		var n int
		var sum string
		err := s.pool.QueryRow(context.Background(),
			"SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM "+table+" t").Scan(&n, &sum)
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		fmt.Fprintf(&b, "%s %d %s\n", table, n, sum)
	}
	return b.String()
}

func TestFailedLoadChangesNothing(t *testing.T) {
	nul := storetest.Dataset2()
	// PostgreSQL text cannot hold NUL, so the COPY fails on the server after
	// half the observations went in.
	nul.Observations[len(nul.Observations)/2].Locator = "bad\x00locator"

	invalid := storetest.Dataset2()
	invalid.Observations[3].Flags = []string{"no-such-flag"}

	fail := errors.New("injected failure")
	tests := []struct {
		name string
		ds   *store.Dataset
		hook func(cancel context.CancelFunc, stage string) error
		want error // an error the load must wrap, or nil for any
	}{
		{name: "a row the database rejects", ds: nul},
		{name: "an invalid dataset", ds: invalid, want: store.ErrInvalid},
		{name: "a release already loaded", ds: storetest.Dataset1(), want: store.ErrInvalid},
		{name: "context cancelled before the observations", ds: storetest.Dataset2(), want: context.Canceled,
			hook: func(cancel context.CancelFunc, stage string) error {
				if stage == "observations" {
					cancel()
				}
				return nil
			}},
		{name: "failure before switching the current release", ds: storetest.Dataset2(), want: fail,
			hook: func(cancel context.CancelFunc, stage string) error {
				if stage == "current" {
					return fail
				}
				return nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, url := mustMigrated(t, storetest.Dataset1())
			before := dump(t, s)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.hook != nil {
				s.loadHook = func(_ context.Context, stage string) error { return tt.hook(cancel, stage) }
			}
			err := s.Load(ctx, tt.ds)
			if err == nil {
				t.Fatal("Load: got nil, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Load: got %v, want an error wrapping %v", err, tt.want)
			}
			if after := dump(t, s); after != before {
				t.Errorf("failed load changed the tables: got\n%s\nwant\n%s", after, before)
			}
			// A second store has no cache to hide a change behind.
			for _, st := range []*Store{s, mustOpen(t, url)} {
				rel, err := st.CurrentRelease(context.Background())
				if err != nil || rel.ID != storetest.Release1 {
					t.Errorf("CurrentRelease: got %q, %v; want %q", rel.ID, err, storetest.Release1)
				}
			}
			// Nothing is left behind that would stop a good load.
			s.loadHook = nil
			if err := s.Load(context.Background(), storetest.Dataset2()); err != nil {
				t.Errorf("Load after the failure: %v", err)
			}
		})
	}
}

// TestLoadWhileReading loads a release while readers, on this store and on a
// second one standing for a replica, query continuously: no read fails, and
// every answer comes whole from one release.
func TestLoadWhileReading(t *testing.T) {
	const size = 20000
	a, b := storetest.Synthetic("release-a", size), storetest.Synthetic("release-b", size)
	for i := range b.Observations {
		*b.Observations[i].Value += 0.5
	}
	s, url := mustMigrated(t, a)
	replica := mustOpen(t, url)
	wantTotal := map[string]int{}
	for _, d := range []*store.Dataset{a, b} {
		n := 0
		for _, o := range d.Observations {
			if o.Offence == "offence-003" {
				n++
			}
		}
		wantTotal[d.Release.ID] = n
	}

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var reads atomic.Int64
	seen := sync.Map{}
	errs := make(chan error, 16)
	for i := range 8 {
		st := s
		if i%2 == 1 {
			st = replica
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				rel, err := st.CurrentRelease(ctx)
				if err != nil {
					errs <- fmt.Errorf("CurrentRelease: %w", err)
					return
				}
				page, err := st.Observations(ctx, rel.ID, store.ObservationFilter{Offences: []string{"offence-003"}, Limit: 200})
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					errs <- fmt.Errorf("Observations: %w", err)
					return
				}
				if page.Total != wantTotal[rel.ID] {
					errs <- fmt.Errorf("release %s: got Total %d, want %d", rel.ID, page.Total, wantTotal[rel.ID])
					return
				}
				for _, o := range page.Observations {
					if !strings.HasPrefix(o.Locator, rel.ID+" ") {
						errs <- fmt.Errorf("release %s: got an observation of %q", rel.ID, o.Locator)
						return
					}
				}
				seen.Store(rel.ID, true)
				reads.Add(1)
			}
		})
	}

	start := time.Now()
	if err := s.Load(context.Background(), b); err != nil {
		t.Fatalf("load: %v", err)
	}
	loaded := time.Since(start)
	readsDuringLoad := reads.Load()
	// Let the replica's cache expire so that it reads the new release too.
	time.Sleep(staleAfter + 300*time.Millisecond)
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, id := range []string{"release-a", "release-b"} {
		if _, ok := seen.Load(id); !ok {
			t.Errorf("readers never saw release %s", id)
		}
	}
	t.Logf("loaded %d observations in %v (%.0f rows/s) during %d reads; %d reads in all",
		len(b.Observations), loaded, float64(len(b.Observations))/loaded.Seconds(), readsDuringLoad, reads.Load())

	// The older release stays whole.
	page, err := s.Observations(context.Background(), "release-a", store.ObservationFilter{Offences: []string{"offence-003"}})
	if err != nil || page.Total != wantTotal["release-a"] {
		t.Errorf("release-a after the load: got Total %d, %v; want %d", page.Total, err, wantTotal["release-a"])
	}
}

func TestWatchReleases(t *testing.T) {
	loader, url := mustMigrated(t)
	watcher := mustOpen(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	ids := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		watcher.WatchReleases(ctx, func(id string) { ids <- id })
		close(done)
	}()
	defer func() {
		cancel()
		<-done
	}()
	waitListening := func() {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); watcher.listening.Load() == 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the watcher did not start listening")
			}
		}
	}
	expect := func(want string) {
		t.Helper()
		select {
		case id := <-ids:
			if id != want {
				t.Errorf("notified of %q, want %q", id, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no notification of %s", want)
		}
		rel, err := watcher.CurrentRelease(context.Background())
		if err != nil || rel.ID != want || !rel.Current {
			t.Errorf("CurrentRelease after the notification: got %+v, %v; want %s, current", rel, err, want)
		}
	}

	waitListening()
	if err := loader.Load(context.Background(), storetest.Dataset1()); err != nil {
		t.Fatal(err)
	}
	expect(storetest.Release1)
	if err := loader.Load(context.Background(), storetest.Dataset2()); err != nil {
		t.Fatal(err)
	}
	expect(storetest.Release2)

	// The server ends the watcher's session; a release loaded meanwhile is
	// still reported, by catching up on reconnection or by notification.
	var killed int
	err := loader.pool.QueryRow(context.Background(), `
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN `+releaseChannel+`'`).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminating the watcher's session: got %d, %v; want 1", killed, err)
	}
	if err := loader.Load(context.Background(), storetest.Synthetic("release-3", 100)); err != nil {
		t.Fatal(err)
	}
	expect("release-3")
	waitListening()
}

func TestUnavailable(t *testing.T) {
	// Nothing listens on port 1.
	_, err := Open(context.Background(), "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open on a closed port: got %v, want ErrUnavailable", err)
	}
	_, err = Open(context.Background(), "postgres://postgres@127.0.0.1:5432/test?sslmode=nonsense")
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Open with a malformed URL: got %v, want ErrInvalid", err)
	}

	tests := []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "57P01"}, true},
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "53300"}, true},
		{&pgconn.PgError{Code: "57014"}, true},
		{&pgconn.PgError{Code: "23505"}, false},
		{&pgconn.PgError{Code: "42P01"}, false},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{context.Canceled, false},
		{errors.New("syntax error"), false},
	}
	for _, tt := range tests {
		if got := unavailable(tt.err); got != tt.want {
			t.Errorf("unavailable(%v): got %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestSessionSettings: every connection of the pool carries the statement
// timeout asked for (none when none is asked for, whatever the test
// server's default).
func TestSessionSettings(t *testing.T) {
	url := testenv.PostgresURL(t)
	tests := []struct {
		opts        []Option
		wantTimeout string
	}{
		{nil, "0"},
		{[]Option{WithStatementTimeout(0)}, "0"},
		{[]Option{WithStatementTimeout(250 * time.Millisecond)}, "250ms"},
		{[]Option{WithStatementTimeout(5 * time.Second)}, "5s"},
		{[]Option{WithStatementTimeout(time.Microsecond)}, "1ms"},
	}
	for _, tt := range tests {
		// A URL parameter is a session setting too: the option must be what
		// decides.
		s, err := Open(context.Background(), withParam(url, "statement_timeout", "0"), tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		// Several connections at once, so that more than one is checked.
		conns := make([]*pgxpool.Conn, 3)
		for i := range conns {
			if conns[i], err = s.pool.Acquire(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range conns {
			var timeout string
			// A new backend's first statement reads the catalog, which can
			// take longer than the shortest timeout tested (1ms) on a busy
			// machine; a cancelled try warms it for the next.
			for try := 1; ; try++ {
				err := c.QueryRow(ctx, "SELECT current_setting('statement_timeout')").Scan(&timeout)
				var pgErr *pgconn.PgError
				if err != nil && try < 20 && errors.As(err, &pgErr) && pgErr.Code == "57014" {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				break
			}
			if timeout != tt.wantTimeout {
				t.Errorf("statement_timeout: got %s, want %s", timeout, tt.wantTimeout)
			}
			c.Release()
		}
		s.Close()
	}
}

// withParam adds name=value to a connection URL or key=value string.
func withParam(url, name, value string) string {
	switch {
	case !strings.Contains(url, "://"):
		return url + " " + name + "=" + value
	case strings.Contains(url, "?"):
		return url + "&" + name + "=" + value
	}
	return url + "?" + name + "=" + value
}

// TestStatementTimeout: a query that runs past the statement timeout (here
// because another session holds a lock it waits for) fails soon after the
// timeout with store.ErrUnavailable, which the API answers with 503 rather
// than 500, and the store keeps serving once the lock is gone.
func TestStatementTimeout(t *testing.T) {
	_, url := mustMigrated(t, storetest.Dataset1())
	s, err := Open(context.Background(), url, WithStatementTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx := context.Background()
	locker, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(ctx)
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE observations, regions IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"Observations", func() error {
			_, err := s.Observations(ctx, storetest.Release1, store.ObservationFilter{Citizenship: []string{"total"}})
			return err
		}},
		{"Regions", func() error {
			_, err := s.Regions(ctx, storetest.Release1, store.RegionFilter{})
			return err
		}},
	}
	for _, c := range calls {
		start := time.Now()
		err := c.call()
		took := time.Since(start)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s past the statement timeout: got %v, want ErrUnavailable", c.name, err)
		}
		if took > 2*time.Second {
			t.Errorf("%s past a 200ms statement timeout took %s", c.name, took)
		}
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if err := c.call(); err != nil {
			t.Errorf("%s after the lock is gone: %v", c.name, err)
		}
	}
}

// TestWithMode: a statement with a long list of values is planned for its
// own parameters (sent unprepared), any other may use a cached plan.
func TestWithMode(t *testing.T) {
	tests := []struct {
		args []any
		want pgx.QueryExecMode
	}{
		{[]any{"r1", "homicide"}, pgx.QueryExecModeCacheStatement},
		{[]any{"r1", []string{}, 100}, pgx.QueryExecModeCacheStatement},
		{[]any{"r1", []string{"NO"}}, pgx.QueryExecModeCacheStatement},
		{[]any{"r1", "homicide", []string{"NO", "SE"}, 100}, pgx.QueryExecModeCacheStatement},
		{[]any{"r1", []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}}, pgx.QueryExecModeCacheDescribe},
	}
	for _, tt := range tests {
		got := withMode(tt.args)
		if got[0] != tt.want || len(got) != len(tt.args)+1 {
			t.Errorf("withMode(%v): got %v, want %v first, then the arguments", tt.args, got, tt.want)
		}
	}
}

// TestLongListFilter: a filter naming thousands of values costs PostgreSQL
// about as much as a short one, on every execution of the statement. With a
// generic plan (which PostgreSQL may pick from the sixth execution of a
// prepared statement on) the list is scanned for every row: about half a
// second here; withMode has such a statement planned for its parameters.
func TestLongListFilter(t *testing.T) {
	s, _ := mustMigrated(t, storetest.Synthetic("long", 20000))
	ctx := context.Background()
	values := make([]string, 3000)
	for i := range values {
		values[i] = fmt.Sprintf("c%04d", i)
	}
	f := store.ObservationFilter{Citizenship: append(values, "total"), Limit: 100}
	var slowest time.Duration
	for range 10 {
		start := time.Now()
		page, err := s.Observations(ctx, "long", f)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 20000 {
			t.Fatalf("Total: got %d, want 20000", page.Total)
		}
		slowest = max(slowest, time.Since(start))
	}
	if slowest > 250*time.Millisecond {
		t.Errorf("slowest of 10 queries with a 3001-value filter: got %s, want well under 250ms", slowest)
	}
	t.Logf("slowest of 10 queries with a 3001-value filter: %s", slowest)
}

// TestEachObservationChunks runs the comparisons of the conformance suite
// with chunks of one to three rows, so that every filter, After and Limit of
// the handcrafted releases crosses chunk boundaries.
func TestEachObservationChunks(t *testing.T) {
	s, _ := mustMigrated(t, storetest.Dataset1(), storetest.Dataset2())
	s.chunks = [2]int{1, 3}
	for _, d := range []*store.Dataset{storetest.Dataset1(), storetest.Dataset2()} {
		d.Sort()
		t.Run(d.Release.ID, func(t *testing.T) { storetest.Compare(t, s, d) })
	}
}

// TestBundledDataset loads the project's own dataset and checks that
// PostgreSQL answers exactly as the in-memory store does.
func TestBundledDataset(t *testing.T) {
	const path = "../../data/krimstat.json"
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s does not exist yet", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := store.DecodeDataset(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	mem := memory.New()
	if err := mem.Load(d); err != nil {
		t.Fatalf("memory: %v", err)
	}
	start := time.Now()
	pg, _ := mustMigrated(t, d)
	t.Logf("migrated and loaded %d observations in %v", len(d.Observations), time.Since(start))
	storetest.Equivalent(t, mem, pg, d.Release.ID)
}

// BenchmarkObservations measures a typical /v1/observations query, one
// offence in one region, against PostgreSQL with no cache in front.
func BenchmarkObservations(b *testing.B) {
	d := storetest.Synthetic("bench", 100000)
	s, _ := mustMigrated(b, d)
	ctx := context.Background()
	f := store.ObservationFilter{Offences: []string{"offence-007"}, Regions: []string{"REGION-042"}, Limit: 100}
	page, err := s.Observations(ctx, "bench", f)
	if err != nil || page.Total == 0 {
		b.Fatalf("Observations: got Total %d, %v; want matches", page.Total, err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Observations(ctx, "bench", f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEachObservation measures streaming a whole selection of a
// release of 200 000 observations from PostgreSQL, for the filters a bulk
// download is likely to use.
func BenchmarkEachObservation(b *testing.B) {
	d := storetest.Synthetic("bench", 200000)
	s, _ := mustMigrated(b, d)
	ctx := context.Background()
	for _, bb := range []struct {
		name string
		f    store.ObservationFilter
	}{
		{"all", store.ObservationFilter{}},
		{"offence", store.ObservationFilter{Offences: []string{"offence-007"}}},
		{"region", store.ObservationFilter{Regions: []string{"REGION-042"}}},
		{"offences", store.ObservationFilter{Offences: []string{"offence-003", "offence-011"}}},
		{"measure", store.ObservationFilter{Measures: []string{"rate-per-100k"}}},
		{"sex", store.ObservationFilter{Sex: []string{"total"}}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			rows := 0
			for b.Loop() {
				err := s.EachObservation(ctx, "bench", bb.f, func(store.Observation) error {
					rows++
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkLoad measures loading a release of 100 000 observations.
func BenchmarkLoad(b *testing.B) {
	s, _ := mustMigrated(b)
	i, rows := 0, 0
	for b.Loop() {
		b.StopTimer()
		i++
		d := storetest.Synthetic(fmt.Sprintf("bench-%d", i), 100000)
		rows += len(d.Observations)
		b.StartTimer()
		if err := s.Load(context.Background(), d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
