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
		"data", *dataFile, "log_level", cfg.LogLevel.String())

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, closeStore, err := openStore(ctx, cfg, *dataFile, log)
	if err != nil {
		return err
	}
	defer closeStore()
	rel, err := st.CurrentRelease(ctx)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("store ready", "release", rel.ID)

	// The response cache: in process, plus Redis when REDIS_URL is set. An
	// unreachable Redis is logged and the service starts anyway.
	var rdb *redis.Client
	if cfg.RedisURL != "" {
		opt, err := cache.RedisOptions(cfg.RedisURL, cfg.Cache.RedisTimeout)
		if err != nil {
			return fmt.Errorf("serve: REDIS_URL: %w", err)
		}
		rdb = redis.NewClient(opt)
		defer rdb.Close()
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		if err := rdb.Ping(pctx).Err(); err != nil {
			log.Warn("redis unreachable at start; serving from the local cache until it answers", "err", err)
		}
		cancel()
	}
	var checks []handlers.Check
	if p, ok := st.(interface{ Ping(context.Context) error }); ok {
		checks = append(checks, handlers.Check{Name: "postgres", Check: p.Ping})
	}
	if rdb != nil {
		checks = append(checks, handlers.Check{Name: "redis", Check: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }})
	}
	tier, err := httpcache.NewTiered(cfg.Cache, rdb, log)
	if err != nil {
		return fmt.Errorf("serve: cache: %w", err)
	}
	defer tier.Close()
	opts := handlers.Options{
		Cache:          httpcache.New(cfg.Cache, tier, releaseFunc(st), log),
		RequestTimeout: cfg.RequestTimeout,
		Checks:         checks,
	}
	log.Info("cache", "enabled", cfg.Cache.Enabled, "local", cfg.Cache.LocalEnabled, "local_mb", cfg.Cache.LocalMaxBytes>>20,
		"redis", rdb != nil, "ttl", cfg.Cache.TTL.String(), "max_age", cfg.Cache.MaxAge.String())

	var rl *ratelimit.Limiter
	if cfg.RateLimitOn {
		rl = ratelimit.New(cfg.RateLimit, rdb, log)
		defer rl.Close()
		opts.RateLimit = rl.Middleware()
	}
	log.Info("rate limit", "enabled", cfg.RateLimitOn, "rate", cfg.RateLimit.Rate, "period", cfg.RateLimit.Period.String(),
		"burst", cfg.RateLimit.Burst, "trusted_proxies", len(cfg.RateLimit.TrustedProxies), "shared", rdb != nil)

	m, err := newMetrics(st, tier, rl)
	if err != nil {
		return fmt.Errorf("serve: metrics: %w", err)
	}
	opts.Metrics, opts.MetricsHandler = m.Middleware(), m.Handler()

	h := handlers.New(st, log, openapi.JSON)
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           h.Routes(opts),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      cfg.RequestTimeout + 5*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// newMetrics builds the metrics registry and registers the callbacks that
// read the cache, rate-limit and store counters at scrape time.
func newMetrics(st store.Store, tier *cache.Tiered, rl *ratelimit.Limiter) (*metrics.Metrics, error) {
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
	if pg, ok := st.(interface{ Failures() uint64 }); ok {
		regs = append(regs, m.CounterFunc("krimstat_postgres_errors_total", "Failed PostgreSQL calls.", nil,
			func() float64 { return float64(pg.Failures()) }))
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
// schema is current and watching for new releases), or else loads the release
// files given by -data, or the bundled release, into memory.
func openStore(ctx context.Context, cfg config, dataPath string, log *slog.Logger) (store.Store, func(), error) {
	if cfg.DatabaseURL != "" {
		if dataPath != "" {
			return nil, nil, errors.New("serve: give either DATABASE_URL or -data, not both")
		}
		pg, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.WithLogger(log))
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
		log.Info("store", "kind", "postgres")
		return pg, pg.Close, nil
	}
	files, err := releaseFiles(dataPath)
	if err != nil {
		return nil, nil, err
	}
	st := memory.New()
	var sets []*store.Dataset
	if len(files) == 0 {
		ds, err := store.DecodeDataset(bytes.NewReader(data.Bundled))
		if err != nil {
			return nil, nil, fmt.Errorf("serve: bundled release: %w", err)
		}
		sets = append(sets, ds)
	}
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
