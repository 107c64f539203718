package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/krimstat/krimstat/store/postgres"
)

// migrate brings the PostgreSQL schema at DATABASE_URL up to date with the
// migrations embedded in the binary. It is safe to run repeatedly.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		return err
	}
	url := getenv("DATABASE_URL")
	if url == "" {
		return errors.New("migrate: DATABASE_URL is not set")
	}
	pg, err := postgres.Open(ctx, url, postgres.WithLogger(slog.New(slog.NewJSONHandler(stdout, nil))))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer pg.Close()
	if err := pg.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	cur, target, err := pg.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(stdout, "schema at version %d of %d\n", cur, target)
	return nil
}
