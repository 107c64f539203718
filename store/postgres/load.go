package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/krimstat/krimstat/store"
)

// loadLock is the key of the advisory lock that serialises loads, so that
// release numbers (releases.seq) follow the order in which releases become
// current. It is "krimstat" in ASCII.
const loadLock = 0x6b72696d73746174

// Load validates ds, writes it as a new release and makes it current, all in
// one transaction: readers see the previous release until the commit, and a
// failure (or a cancelled ctx) leaves every table as it was. Replicas are told
// through NOTIFY, which PostgreSQL delivers at the commit. ds is not modified.
//
// An invalid dataset or a release id that is already loaded is an error
// wrapping store.ErrInvalid; a server that cannot be reached one wrapping
// store.ErrUnavailable.
func (s *Store) Load(ctx context.Context, ds *store.Dataset) error {
	if err := ds.Validate(); err != nil {
		return err
	}
	// Only population needs its order, stored as ord, and it must be the
	// order Dataset.Sort gives. The other tables are read by key or id, and
	// sorting observations by Key would cost more than the COPY.
	d := *ds
	d.Population = slices.Clone(ds.Population)
	d.Offences, d.Regions, d.Measures, d.Sources, d.Observations = nil, nil, nil, nil, nil
	d.Sort()
	d.Offences, d.Regions, d.Measures, d.Sources, d.Observations = ds.Offences, ds.Regions, ds.Measures, ds.Sources, ds.Observations
	id := d.Release.ID

	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.wrapErr(err, "load release %s", id)
	}
	defer func() {
		// The request context may be cancelled already; the rollback must
		// still reach the server, or the connection is dropped (which also
		// rolls back).
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()
	if err := s.write(ctx, tx, &d); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.TableName == "releases" {
			return fmt.Errorf("release %s is already loaded: %w", id, store.ErrInvalid)
		}
		return s.wrapErr(err, "load release %s", id)
	}
	if err := tx.Commit(ctx); err != nil {
		return s.wrapErr(err, "load release %s: commit", id)
	}
	// With replicas the store switches only once they have replayed the
	// release (replica.go), which the next check finds.
	if len(s.replicas) == 0 {
		rel := d.Release
		rel.Current = true
		s.current.Store(&cachedRelease{rel: rel, at: time.Now()})
	}
	return nil
}

// write inserts the dataset d, its population sorted, inside tx.
func (s *Store) write(ctx context.Context, tx pgx.Tx, d *store.Dataset) error {
	id := d.Release.ID
	stage := func(name string) error {
		if s.loadHook == nil {
			return nil
		}
		return s.loadHook(ctx, name)
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(loadLock)); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	files, err := json.Marshal(d.Release.Files)
	if err != nil {
		return err
	}
	counts, err := json.Marshal(d.Release.Counts)
	if err != nil {
		return err
	}
	changes, err := jsonOrNull(d.Release.Changes)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx,
		`INSERT INTO releases (id, created, note, files, counts, changes) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, d.Release.Created, d.Release.Note, string(files), string(counts), changes); err != nil {
		return fmt.Errorf("releases: %w", err)
	}

	type table struct {
		name    string
		columns []string
		n       int
		row     func(i int) ([]any, error)
	}
	docRow := func(itemID string, v any) ([]any, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return []any{id, itemID, string(b)}, nil
	}
	docColumns := []string{"release_id", "id", "doc"}
	tables := []table{
		{"offences", docColumns, len(d.Offences), func(i int) ([]any, error) {
			return docRow(d.Offences[i].ID, d.Offences[i])
		}},
		{"regions", []string{"release_id", "id", "type", "valid_from", "valid_to", "doc"}, len(d.Regions), func(i int) ([]any, error) {
			r := d.Regions[i]
			b, err := json.Marshal(r)
			if err != nil {
				return nil, err
			}
			return []any{id, r.ID, r.Type, r.ValidFrom, r.ValidTo, string(b)}, nil
		}},
		{"measures", docColumns, len(d.Measures), func(i int) ([]any, error) {
			return docRow(d.Measures[i].ID, d.Measures[i])
		}},
		{"sources", docColumns, len(d.Sources), func(i int) ([]any, error) {
			return docRow(d.Sources[i].ID, d.Sources[i])
		}},
		{"population", []string{"release_id", "ord", "region", "date", "value", "source", "locator"}, len(d.Population), func(i int) ([]any, error) {
			p := d.Population[i]
			return []any{id, i, p.Region, p.Date, p.Value, p.Source, p.Locator}, nil
		}},
		{"observations", []string{"release_id", "key", "offence", "region", "measure", "period", "period_start", "period_end",
			"sex", "age", "citizenship", "repatriation_country", "value", "value_text", "flags", "source", "confidence", "locator",
			"revision"},
			len(d.Observations), func(i int) ([]any, error) {
				o := d.Observations[i]
				p, err := store.ParsePeriod(o.Period)
				if err != nil {
					return nil, err
				}
				rev, err := jsonOrNull(o.Revision)
				if err != nil {
					return nil, err
				}
				b := o.Breakdown
				return []any{id, o.Key(), o.Offence, o.Region, o.Measure, o.Period, p.Start(), p.End(),
					b.Sex, b.Age, b.Citizenship, b.RepatriationCountry, o.Value, o.ValueText, o.Flags,
					o.Source, o.Confidence, o.Locator, rev}, nil
			}},
	}
	for _, t := range tables {
		if err := stage(t.name); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, pgx.CopyFromSlice(t.n, t.row)); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}

	// Fresh statistics, before the release becomes current: without them
	// the planner takes a new release's millions of rows for a few hundred
	// and sorts whatever a keyset query selects, so each chunk of
	// EachObservation would read the whole rest of the selection. ANALYZE
	// counts the rows this transaction wrote, and blocks no reader.
	if err := stage("analyze"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "ANALYZE observations"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}

	if err := stage("current"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO current_release (singleton, release_id) VALUES (true, $1)
		ON CONFLICT (singleton) DO UPDATE SET release_id = EXCLUDED.release_id`, id); err != nil {
		return fmt.Errorf("current release: %w", err)
	}
	// NOTIFY inside the transaction is delivered at the commit and not at all
	// on a rollback, so listeners never hear of a release they cannot read.
	if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", releaseChannel, id); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// jsonOrNull encodes v for a jsonb column: SQL NULL for a nil pointer, so
// that the many rows without one store nothing.
func jsonOrNull[T any](v *T) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}
