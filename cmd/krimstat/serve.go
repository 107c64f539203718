package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/krimstat/krimstat/cache"
	"github.com/krimstat/krimstat/cache/httpcache"
	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/metrics"
	"github.com/krimstat/krimstat/openapi"
	"github.com/krimstat/krimstat/ratelimit"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
	"github.com/krimstat/krimstat/store/postgres"
	"github.com/krimstat/krimstat/warmup"
)

// serve runs the API until ctx ends or SIGINT/SIGTERM arrives, then shuts
// down gracefully: in-flight requests finish within the shutdown timeout.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stdout)
	dataFile := fs.String("data", "", "serve this release file, or every release file in this directory, instead of the bundled release")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	log.Info("starting", "addr", cfg.Addr, "database_url", masked(cfg.DatabaseURL), "redis_url", masked(cfg.RedisURL),
		"data", *dataFile, "log_level", cfg.LogLevel.String(), "revision", cfg.Cache.Revision, "revision_source", cfg.RevisionSource)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Everything opened below is closed when serve returns, last first.
	var cl closers
	defer func() { cl.close() }()

	st, closeStore, err := openStore(ctx, cfg, *dataFile, log)
	if err != nil {
		return err
	}
	cl.add(closeStore)
	rel, err := st.CurrentRelease(ctx)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("store ready", "release", rel.ID)

	w, err := wire(ctx, cfg, st, log, &cl)
	if err != nil {
		return err
	}
	servers, err := listen(ctx, cfg, st, w, log, &cl)
	if err != nil {
		return err
	}
	return runServers(ctx, servers, cfg.ShutdownTimeout, log)
}

// closers are what serve opened, closed in reverse order.
type closers []func()

func (c *closers) add(f func()) { *c = append(*c, f) }

func (c closers) close() {
	for i := len(c) - 1; i >= 0; i-- {
		c[i]()
	}
}

// wiring is the API with its layers, before it listens.
type wiring struct {
	h                   *handlers.Handler
	opts                handlers.Options
	tier                *cache.Tiered
	rl                  *ratelimit.Limiter
	cacheWatch, rlWatch *cache.WriteWatch
}

// wire builds the handlers and their layers: the response cache (in
// process, plus Redis when REDIS_URL is set), the gates, and the rate
// limits. An unreachable Redis is logged and the service starts anyway.
func wire(ctx context.Context, cfg config, st store.Store, log *slog.Logger, cl *closers) (wiring, error) {
	var w wiring
	var checks []handlers.Check
	if p, ok := st.(interface{ Ping(context.Context) error }); ok {
		checks = append(checks, handlers.Check{Name: "postgres", Check: p.Ping})
	}
	// Readiness asks the watch on the cache's Redis client, which also
	// reports a Redis that answers but refuses writes because it is full.
	var rdb redis.UniversalClient
	var err error
	if cfg.RedisURL != "" {
		if rdb, w.cacheWatch, err = openRedis(ctx, cfg.RedisURL, cfg.Cache.RedisTimeout, "cache", log); err != nil {
			return w, fmt.Errorf("serve: REDIS_URL: %w", err)
		}
		cl.add(func() { _ = rdb.Close() })
		checks = append(checks, handlers.Check{Name: "redis", Check: w.cacheWatch.Healthy})
	}
	if w.tier, err = httpcache.NewTiered(cfg.Cache, rdb, log); err != nil {
		return w, fmt.Errorf("serve: cache: %w", err)
	}
	cl.add(func() { _ = w.tier.Close() })
	// The API reads the release this replica serves, which moves to a new
	// current release only once the most requested targets are cached
	// for it; each request is pinned to one release.
	sw, err := warmup.New(ctx, cfg.Warmup, st, log)
	if err != nil {
		return w, fmt.Errorf("serve: %w", err)
	}
	view := sw.Store()
	// The handlers say what a request means, so the cache keys every
	// spelling of one request alike and refuses to key what they refuse.
	w.h = handlers.New(view, log, openapi.JSON)
	cfg.Cache.RequestKey, cfg.Cache.Vary = w.h.CacheKey, handlers.CacheVary
	w.opts = handlers.Options{
		Gate:           ratelimit.NewGate(cfg.Gate).Middleware(),
		MissGate:       ratelimit.NewGate(cfg.MissGate).Middleware(),
		Cache:          sw.Middleware(httpcache.New(cfg.Cache, w.tier, releaseFunc(view), log)),
		RequestTimeout: cfg.RequestTimeout,
		Checks:         checks,
	}
	log.Info("cache", "enabled", cfg.Cache.Enabled, "local", cfg.Cache.LocalEnabled, "local_mb", cfg.Cache.LocalMaxBytes>>20,
		"redis", rdb != nil, "ttl", cfg.Cache.TTL.String(), "max_age", cfg.Cache.MaxAge.String(), "cache_control", httpcache.CacheControl(cfg.Cache))
	// The warm-up replays requests through the routes and the cache
	// without the limits, so it spends no client's budget. It stops
	// before the tiers close.
	warm := w.h.Routes(handlers.Options{Cache: w.opts.Cache, RequestTimeout: cfg.RequestTimeout})
	wctx, stopWarm := context.WithCancel(ctx)
	warmed := make(chan struct{})
	go func() { defer close(warmed); sw.Run(wctx, warm) }()
	cl.add(func() { stopWarm(); <-warmed })
	log.Info("warmup", "enabled", cfg.Warmup.Enabled, "keys", cfg.Warmup.Keys, "timeout", cfg.Warmup.Timeout.String(),
		"concurrency", cfg.Warmup.Concurrency, "tracked", cfg.Warmup.Track)
	return w, w.limits(ctx, cfg, rdb, log, cl)
}

// limits adds the rate limits. The limiter shares its counts through
// REDIS_URL, or through a Redis of its own, which a cache filling its Redis
// cannot make refuse writes (the limiter would then fall back to
// per-process limits).
func (w *wiring) limits(ctx context.Context, cfg config, rdb redis.UniversalClient, log *slog.Logger, cl *closers) error {
	if !cfg.RateLimitOn {
		log.Info("rate limit", "enabled", false)
		return nil
	}
	rlClient := rdb
	if cfg.RateLimitRedisURL != "" && cfg.RateLimitRedisURL != cfg.RedisURL {
		var err error
		rlClient, w.rlWatch, err = openRedis(ctx, cfg.RateLimitRedisURL, cfg.RateLimit.WithDefaults().RedisTimeout, "ratelimit", log)
		if err != nil {
			return fmt.Errorf("serve: KRIMSTAT_RATELIMIT_REDIS_URL: %w", err)
		}
		cl.add(func() { _ = rlClient.Close() })
		w.opts.Checks = append(w.opts.Checks, handlers.Check{Name: "redis_ratelimit", Check: w.rlWatch.Healthy})
	}
	w.rl = ratelimit.New(cfg.RateLimit, rlClient, log)
	cl.add(func() { _ = w.rl.Close() })
	w.opts.RateLimit = w.rl.Middleware()
	// Uncached requests cost far more than cached ones: each client has a
	// budget of them, on top of its request limit.
	misses := ratelimit.New(cfg.MissBudget, rlClient, log)
	cl.add(func() { _ = misses.Close() })
	w.opts.MissBudget = misses.Middleware()
	// The defaults New applied, so that the log shows the limits in force.
	eff := cfg.RateLimit.WithDefaults()
	log.Info("rate limit", "enabled", true, "rate", eff.Rate, "period", eff.Period.String(), "burst", eff.Burst,
		"trusted_proxies", len(eff.TrustedProxies), "shared", rlClient != nil, "redis_url", masked(cfg.RateLimitRedisURL),
		"miss_rate", cfg.MissBudget.Rate, "miss_period", cfg.MissBudget.Period.String(), "miss_burst", cfg.MissBudget.Burst,
		"inflight_per_client", cfg.Gate.PerClient, "inflight", cfg.Gate.Total,
		"compute_per_client", cfg.MissGate.PerClient, "compute", cfg.MissGate.Total)
	return nil
}

// served is a server with its listener.
type served struct {
	srv *http.Server
	ln  net.Listener
}

// listen opens the API's listener (capped per client and in all) and, when
// asked for, the metrics listener, and builds their servers.
func listen(ctx context.Context, cfg config, st store.Store, w wiring, log *slog.Logger, cl *closers) ([]served, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	lim := newLimitListener(ln, cfg.MaxConnsPerClient, cfg.MaxConns, cfg.RateLimit.WithDefaults().IPv6PrefixLen, log)
	cl.add(func() { _ = lim.Close() })
	var all []served
	// /metrics is served on its own address only, never on the public one:
	// it tells anyone how the service is doing and what it costs.
	if cfg.MetricsAddr != "" {
		m, err := newMetrics(st, w.tier, w.rl, lim, w.cacheWatch, w.rlWatch)
		if err != nil {
			return nil, fmt.Errorf("serve: metrics: %w", err)
		}
		w.opts.Metrics = m.Middleware()
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return nil, fmt.Errorf("serve: KRIMSTAT_METRICS_ADDR: %w", err)
		}
		cl.add(func() { _ = mln.Close() })
		all = append(all, served{&http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       30 * time.Second,
			MaxHeaderBytes:    8 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}, mln})
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	srv := &http.Server{
		Handler:           w.h.Routes(w.opts),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 5*time.Second,
		// Short, so that idle keep-alive connections do not hold the
		// per-client and total connection slots for long.
		IdleTimeout:    30 * time.Second,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:    func(net.Listener) context.Context { return ctx },
	}
	log.Info("listening", "addr", ln.Addr().String(), "max_conns_per_client", cfg.MaxConnsPerClient, "max_conns", cfg.MaxConns)
	return append([]served{{srv, lim}}, all...), nil
}

// runServers serves until ctx ends or a server fails, then shuts every
// server down gracefully within timeout: in-flight requests finish.
func runServers(ctx context.Context, all []served, timeout time.Duration, log *slog.Logger) error {
	errc := make(chan error, len(all))
	for _, s := range all {
		go func() { errc <- s.srv.Serve(s.ln) }()
	}
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	for _, s := range all {
		if err := s.srv.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("serve: shutdown: %w", err))
		}
	}
	// Every Serve returns once its server is shut down; one that failed
	// already has.
	running := len(all)
	if serveErr != nil {
		running--
	}
	for range running {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("serve: %w", err))
		}
	}
	if serveErr != nil {
		errs = append([]error{fmt.Errorf("serve: %w", serveErr)}, errs...)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// openRedis returns a client on the Redis at url (a single server, Sentinel
// or Cluster; see cache.ParseRedisURL) with a WriteWatch on it, for the named
// use (cache or ratelimit), and logs the kind of Redis and its addresses. It
// pings the server and reads the memory settings of every primary, warning
// when a full one would refuse writes or when one has no bound; neither an
// unreachable Redis nor one that refuses CONFIG is an error, since the
// service runs without. A malformed url is.
func openRedis(ctx context.Context, url string, timeout time.Duration, use string, log *slog.Logger) (redis.UniversalClient, *cache.WriteWatch, error) {
	target, err := cache.ParseRedisURL(url)
	if err != nil {
		return nil, nil, err
	}
	log = log.With("redis", use)
	attrs := []any{"kind", string(target.Kind), "addrs", target.Addrs, "url", masked(url)}
	if target.Master != "" {
		attrs = append(attrs, "master_name", target.Master)
	}
	log.Info("redis configured", attrs...)
	client := target.NewClient(timeout)
	// A refused write is remembered for ten seconds: long enough for
	// readiness, polled every few seconds, to see it.
	watch := cache.WatchWrites(client, 10*time.Second)
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		log.Warn("redis unreachable at start; going on without it until it answers", "err", err)
		return client, watch, nil
	}
	mems, err := cache.ReadRedisMemory(ctx, client)
	if err != nil {
		log.Info("redis memory settings unknown (CONFIG GET refused); see README on maxmemory", "err", err)
		return client, watch, nil
	}
	for _, mem := range mems {
		attrs := []any{"maxmemory", mem.MaxBytes, "maxmemory_policy", mem.Policy}
		if mem.Node != "" {
			attrs = append(attrs, "node", mem.Node)
		}
		warnings := mem.Warnings()
		for _, w := range warnings {
			log.Warn("redis "+w, attrs...)
		}
		if len(warnings) == 0 {
			log.Info("redis memory", attrs...)
		}
	}
	return client, watch, nil
}

// newMetrics builds the metrics registry and registers the callbacks that
// read the cache, rate-limit, connection and store counters at scrape time.
// rl and the watches may be nil.
func newMetrics(st store.Store, tier *cache.Tiered, rl *ratelimit.Limiter, lim *limitListener,
	cacheWatch, rlWatch *cache.WriteWatch) (*metrics.Metrics, error) {
	m := metrics.New()
	regs := []error{
		m.ReleaseInfo(func() string {
			rel, err := st.CurrentRelease(context.Background())
			if err != nil {
				return ""
			}
			return rel.ID
		}),
		m.Snapshot("krimstat_cache_hits_total", "Response cache hits by tier.", metrics.Counter, "tier", func() map[string]float64 {
			s := tier.Stats()
			return map[string]float64{"local": float64(s.LocalHits), "redis": float64(s.RedisHits)}
		}),
		m.Snapshot("krimstat_cache_misses_total", "Response cache misses by tier.", metrics.Counter, "tier", func() map[string]float64 {
			s := tier.Stats()
			return map[string]float64{"local": float64(s.LocalMisses), "redis": float64(s.RedisMisses)}
		}),
		m.CounterFunc("krimstat_cache_computes_total", "Responses computed by the handlers because no tier had them.", nil,
			func() float64 { return float64(tier.Stats().Computes) }),
		m.CounterFunc("krimstat_redis_errors_total", "Failed Redis calls, timeouts included.", prometheus.Labels{"component": "cache"},
			func() float64 { return float64(tier.Stats().RedisErrors) }),
	}
	if rl != nil {
		regs = append(regs,
			m.Snapshot("krimstat_ratelimit_requests_total", "Rate-limit decisions by outcome.", metrics.Counter, "outcome", func() map[string]float64 {
				s := rl.Stats()
				return map[string]float64{"allowed": float64(s.Allowed), "rejected": float64(s.Rejected)}
			}),
			m.CounterFunc("krimstat_ratelimit_fallbacks_total", "Rate-limit decisions made in process because Redis failed.", nil,
				func() float64 { return float64(rl.Stats().Fallbacks) }),
			m.CounterFunc("krimstat_redis_errors_total", "Failed Redis calls, timeouts included.", prometheus.Labels{"component": "ratelimit"},
				func() float64 { return float64(rl.Stats().RedisErrors) }),
		)
	}
	regs = append(regs,
		m.GaugeFunc("krimstat_connections_open", "Connections open on the API listener.", nil,
			func() float64 { return float64(lim.Open()) }),
		m.Snapshot("krimstat_connections_refused_total", "Connections closed at accept, by the cap they were over.", metrics.Counter, "cap", func() map[string]float64 {
			return map[string]float64{"client": float64(lim.refusedClient.Load()), "total": float64(lim.refusedTotal.Load())}
		}),
	)
	for _, w := range []struct {
		component string
		watch     *cache.WriteWatch
	}{{"cache", cacheWatch}, {"ratelimit", rlWatch}} {
		if w.watch != nil {
			regs = append(regs, m.CounterFunc("krimstat_redis_refused_writes_total",
				"Redis commands refused as writes (out of memory under noeviction, read-only).",
				prometheus.Labels{"component": w.component}, func() float64 { return float64(w.watch.Refused()) }))
		}
	}
	if pg, ok := st.(interface{ Failures() uint64 }); ok {
		regs = append(regs, m.CounterFunc("krimstat_postgres_errors_total", "Failed PostgreSQL calls.", nil,
			func() float64 { return float64(pg.Failures()) }))
	}
	if pg, ok := st.(interface{ ReplicaStats() postgres.ReplicaStats }); ok && pg.ReplicaStats().Replicas > 0 {
		regs = append(regs,
			m.GaugeFunc("krimstat_postgres_replicas_in_rotation", "PostgreSQL read replicas serving reads.", nil,
				func() float64 { return float64(pg.ReplicaStats().InRotation) }),
			m.CounterFunc("krimstat_postgres_replica_out_of_rotation_total",
				"Times a PostgreSQL read replica left the rotation (not answering, or behind past KRIMSTAT_REPLICA_MAX_LAG).", nil,
				func() float64 { return float64(pg.ReplicaStats().OutOfRotation) }),
			m.CounterFunc("krimstat_postgres_primary_reads_total",
				"Reads served by the PostgreSQL primary because no read replica in rotation could.", nil,
				func() float64 { return float64(pg.ReplicaStats().PrimaryReads) }),
		)
	}
	return m, errors.Join(regs...)
}

// releaseFunc gives the cache the current release id and date. It runs on
// every request, so it reads the store's in-memory current release and
// parses the date only when the release changes.
func releaseFunc(st store.Store) httpcache.ReleaseFunc {
	type stamp struct {
		id string
		at time.Time
	}
	var last atomic.Pointer[stamp]
	return func(ctx context.Context) (string, time.Time, error) {
		rel, err := st.CurrentRelease(ctx)
		if err != nil {
			return "", time.Time{}, err
		}
		if p := last.Load(); p != nil && p.id == rel.ID {
			return p.id, p.at, nil
		}
		t, err := time.Parse(time.RFC3339, rel.Created)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("release %s: created %q: %w", rel.ID, rel.Created, err)
		}
		last.Store(&stamp{rel.ID, t})
		return rel.ID, t, nil
	}
}

// openStore opens PostgreSQL when DATABASE_URL is set (checking that its
// schema is current and watching for new releases), reading from the
// replicas of DATABASE_READ_URL when it is set, or else loads the release
// files given by -data, or the bundled release, into memory.
func openStore(ctx context.Context, cfg config, dataPath string, log *slog.Logger) (store.Store, func(), error) {
	if cfg.DatabaseURL != "" {
		if dataPath != "" {
			return nil, nil, errors.New("serve: give either DATABASE_URL or -data, not both")
		}
		opts := []postgres.Option{postgres.WithLogger(log), postgres.WithStatementTimeout(cfg.PGStatementTimeout)}
		if len(cfg.DatabaseReadURLs) > 0 {
			// Reads go to the replicas; CheckSchema, the watcher's LISTEN
			// and any load stay on the primary.
			opts = append(opts, postgres.WithReadURLs(cfg.DatabaseReadURLs...), postgres.WithMaxReplicaLag(cfg.ReplicaMaxLag))
		}
		pg, err := postgres.Open(ctx, cfg.DatabaseURL, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("serve: %w", err)
		}
		if err := pg.CheckSchema(ctx); err != nil {
			pg.Close()
			return nil, nil, fmt.Errorf("serve: %w (run krimstat migrate)", err)
		}
		// Replicas learn of a new current release through NOTIFY; the
		// response cache keys change with the release id.
		go pg.WatchReleases(ctx, func(id string) { log.Info("current release changed", "release", id) })
		readURLs := make([]string, len(cfg.DatabaseReadURLs))
		for i, u := range cfg.DatabaseReadURLs {
			readURLs[i] = masked(u)
		}
		log.Info("store", "kind", "postgres", "statement_timeout", cfg.PGStatementTimeout.String(),
			"read_urls", readURLs, "replica_max_lag", cfg.ReplicaMaxLag.String())
		return pg, pg.Close, nil
	}
	files, err := releaseFiles(dataPath)
	if err != nil {
		return nil, nil, err
	}
	st := memory.New()
	if len(files) == 0 {
		// The bundled release loads from its snapshot: nothing to decode
		// but a few columns of numbers, and nothing to validate again
		// (see memory.LoadSnapshot).
		if err := st.LoadSnapshot(data.Snapshot); err != nil {
			return nil, nil, fmt.Errorf("serve: bundled release: %w", err)
		}
		log.Info("store", "kind", "memory", "releases", 1, "from", "bundled snapshot")
		return st, func() {}, nil
	}
	var sets []*store.Dataset
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("serve: %w", err)
		}
		ds, err := store.DecodeDataset(bytes.NewReader(b))
		if err != nil {
			return nil, nil, fmt.Errorf("serve: %s: %w", f, err)
		}
		sets = append(sets, ds)
	}
	// The newest release becomes current: load oldest first.
	sort.SliceStable(sets, func(i, j int) bool {
		if sets[i].Release.Created != sets[j].Release.Created {
			return sets[i].Release.Created < sets[j].Release.Created
		}
		return sets[i].Release.ID < sets[j].Release.ID
	})
	for _, ds := range sets {
		if err := st.Load(ds); err != nil {
			return nil, nil, fmt.Errorf("serve: load release %s: %w", ds.Release.ID, err)
		}
	}
	log.Info("store", "kind", "memory", "releases", len(sets))
	return st, func() {}, nil
}

// releaseFiles lists the release files at path: the file itself, or every
// *.json in a directory. An empty path means the bundled release.
func releaseFiles(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	files, err := filepath.Glob(filepath.Join(path, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("serve: no release files (*.json) in %s", path)
	}
	return files, nil
}
