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
	"syscall"
	"time"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/handlers"
	"github.com/krimstat/krimstat/openapi"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

// serve runs the API until ctx ends or SIGINT/SIGTERM arrives, then shuts
// down gracefully: in-flight requests finish within the shutdown timeout.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stdout)
	dataFile := fs.String("data", "", "serve this release file or directory of release files instead of the bundled release")
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

	st, err := openStore(*dataFile)
	if err != nil {
		return err
	}
	rel, err := st.CurrentRelease(ctx)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("store ready", "store", "memory", "release", rel.ID)

	h := handlers.New(st, log, openapi.JSON)
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           http.TimeoutHandler(h.Routes(handlers.Options{}), cfg.RequestTimeout, ""),
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

// openStore loads the bundled release, or the release file given by -data.
func openStore(dataFile string) (store.Store, error) {
	raw := data.Bundled
	if dataFile != "" {
		b, err := os.ReadFile(dataFile)
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		raw = b
	}
	ds, err := store.DecodeDataset(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("serve: load release: %w", err)
	}
	st := memory.New()
	if err := st.Load(ds); err != nil {
		return nil, fmt.Errorf("serve: load release: %w", err)
	}
	return st, nil
}
