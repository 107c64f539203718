package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// versionTable is goose's table of applied migrations.
const versionTable = goose.DefaultTablename

// provider runs fn with a goose provider over the pool. It uses goose's
// Provider API, which keeps no global state, and a session lock so that
// replicas migrating at the same time take turns.
func (s *Store) provider(ctx context.Context, fn func(*goose.Provider) error) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(locker),
		goose.WithSlog(s.log),
	)
	if err != nil {
		return err
	}
	return fn(p)
}

// Migrate brings the schema up to the newest embedded migration. It is
// idempotent: on an up-to-date schema it changes nothing.
func (s *Store) Migrate(ctx context.Context) error {
	err := s.provider(ctx, func(p *goose.Provider) error {
		results, err := p.Up(ctx)
		for _, r := range results {
			s.log.Info("migrated", "version", r.Source.Version, "path", r.Source.Path, "duration", r.Duration)
		}
		return err
	})
	if err != nil {
		return s.wrapErr(err, "migrate")
	}
	return nil
}

// CheckSchema returns an error, naming both versions, unless the database's
// schema is exactly the newest embedded migration. serve calls it at start
// so that a binary never runs on a schema it was not written for.
func (s *Store) CheckSchema(ctx context.Context) error {
	current, target, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case current < target:
		return fmt.Errorf("database schema is at version %d, this binary needs %d: run krimstat migrate", current, target)
	case current > target:
		return fmt.Errorf("database schema is at version %d, newer than version %d of this binary", current, target)
	}
	return nil
}

// SchemaVersion returns the version of the database's schema (0 when it has
// never been migrated) and the newest version embedded in the binary.
func (s *Store) SchemaVersion(ctx context.Context) (current, target int64, err error) {
	// goose cannot tell "never migrated" from other errors, so look first.
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", versionTable).Scan(&exists); err != nil {
		return 0, 0, s.wrapErr(err, "schema version")
	}
	err = s.provider(ctx, func(p *goose.Provider) error {
		if !exists {
			sources := p.ListSources()
			target = sources[len(sources)-1].Version
			return nil
		}
		// GetVersions takes no lock, so a check never waits for a migration.
		current, target, err = p.GetVersions(ctx)
		return err
	})
	if err != nil {
		return 0, 0, s.wrapErr(err, "schema version")
	}
	return current, target, nil
}
