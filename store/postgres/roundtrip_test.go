package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/internal/testenv"
	"github.com/krimstat/krimstat/store"
)

// counter is a pgx tracer that counts the round trips and the statements
// of the pool's connections: a query is one round trip with one statement,
// a batch one round trip with as many statements as it queues. A
// connection's first use of a statement prepares it, one round trip more,
// which the counter does not see; the tests warm up first.
type counter struct {
	mu         sync.Mutex
	trips      int
	statements []string
}

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trips++
	c.statements = append(c.statements, oneLine(d.SQL))
	return ctx
}

func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trips++
	return ctx
}

func (c *counter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statements = append(c.statements, oneLine(d.SQL))
}

func (c *counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// reset returns the counts so far and starts again from zero.
func (c *counter) reset() (int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	trips, statements := c.trips, c.statements
	c.trips, c.statements = 0, nil
	return trips, statements
}

func oneLine(sql string) string { return strings.Join(strings.Fields(sql), " ") }

// mustRouter returns the API's router (no cache, no limits) on a fresh
// database holding the bundled release, its store traced by c unless c is
// nil.
func mustRouter(tb testing.TB, c *counter) http.Handler {
	tb.Helper()
	ds, err := store.DecodeDataset(bytes.NewReader(data.Bundled))
	if err != nil {
		tb.Fatalf("bundled release: %v", err)
	}
	s, err := Open(context.Background(), testenv.PostgresURL(tb), func(s *Store) {
		if c != nil {
			s.tracer = c
		}
	})
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(s.Close)
	if err := s.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	if err := s.Load(context.Background(), ds); err != nil {
		tb.Fatalf("load: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return handlers.New(s, log, nil).Routes(handlers.Options{})
}

// The requests of the load benchmarks (bench/load.sh, bench/scale), with
// how many round trips and statements each may take once the release's
// metadata are read.
var roundTripRequests = []struct {
	path              string
	trips, statements int
}{
	{"/v1/observations?offence=sex-purchase&region=NO", 1, 1},
	{"/v1/observations?region=NO&limit=10", 2, 2}, // a page, then the count of the whole selection
	// The cursor's release (Release), then the next page and the count in one batch.
	{"next:/v1/observations?region=NO&limit=10", 2, 3},
	{"/v1/series?offence=sex-purchase&region=NO&measure=reported-persons", 1, 1},
	{"/v1/offences", 0, 0},
	{"/v1/regions/NO", 0, 0},
}

// TestRoundTrips counts the database round trips of the requests that the
// load benchmarks time, so that a change adding one is seen here rather
// than as a slower benchmark. Releases never change, so their metadata are
// read once; a request for observations is then one statement.
func TestRoundTrips(t *testing.T) {
	c := &counter{}
	r := mustRouter(t, c)
	for _, tt := range roundTripRequests {
		t.Run(tt.path, func(t *testing.T) {
			path := requestPath(t, r, tt.path)
			for i := range 2 {
				c.reset()
				w := httptest.NewRecorder()
				r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
				if w.Code != http.StatusOK {
					t.Fatalf("GET %s: got status %d, want 200: %s", path, w.Code, w.Body)
				}
				trips, statements := c.reset()
				t.Logf("request %d: %d round trips: %q", i+1, trips, statements)
				if i == 1 && (trips > tt.trips || len(statements) > tt.statements) {
					t.Errorf("GET %s the second time: got %d round trips and %d statements, want at most %d and %d: %q",
						path, trips, len(statements), tt.trips, tt.statements, statements)
				}
			}
		})
	}
}

// requestPath returns path, or for "next:PATH" the links.next of PATH's
// response.
func requestPath(t *testing.T, r http.Handler, path string) string {
	first, ok := strings.CutPrefix(path, "next:")
	if !ok {
		return path
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, first, nil))
	var page struct {
		Links struct {
			Next string `json:"next"`
		} `json:"links"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || page.Links.Next == "" {
		t.Fatalf("GET %s: got %v and no links.next, want a next page: %s", first, err, w.Body)
	}
	return page.Links.Next
}

// BenchmarkRequest times the benchmarked requests through the router and
// the store, without a cache: with -cpuprofile it shows where an uncached
// request's time goes on the Go side (the server's own work is in the
// profile of PostgreSQL, not here).
func BenchmarkRequest(b *testing.B) {
	r := mustRouter(b, nil)
	paths := []string{
		"/v1/observations?offence=sex-purchase&region=NO",
		"/v1/series?offence=sex-purchase&region=NO&measure=reported-persons",
		"/v1/observations?limit=10000",
	}
	for _, path := range paths {
		b.Run(strings.TrimPrefix(path, "/v1/"), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
					if w.Code != http.StatusOK {
						b.Errorf("GET %s: got status %d, want 200", path, w.Code)
						return
					}
				}
			})
		})
	}
}
