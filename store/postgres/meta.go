package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/krimstat/krimstat/store"
)

// maxMetas bounds how many releases' metadata a Store keeps in memory. A
// server reads the current release and the few that cursors and explicit
// release parameters pin; past the bound the release cached first is
// dropped, and read again if it is asked for again.
const maxMetas = 16

// meta is the metadata of one release: its offences, regions, measures and
// sources in id order, each with an index by id. A release never changes
// once loaded (Load refuses an id that exists), so they are read once, in
// one round trip, and every later call is answered from memory. A meta is
// never modified once built.
type meta struct {
	offences []store.Offence
	regions  []store.Region
	measures []store.Measure
	sources  []store.Source

	offence, region, source map[string]int
}

// metas caches the meta of recently read releases.
type metas struct {
	byID sync.Map // release id -> *meta

	// reading admits one reader at a time, so that the first requests for
	// a release read it once rather than once each; a waiter gives up
	// with its own context.
	reading chan struct{}
	mu      sync.Mutex
	order   []string // the ids in byID, oldest first
}

func newMetas() *metas { return &metas{reading: make(chan struct{}, 1)} }

// meta returns the metadata of release, read on first use. It returns
// ErrNotFound for an unknown release; a failed read is not kept, so a
// passing outage is not remembered.
func (s *Store) meta(ctx context.Context, release string) (*meta, error) {
	if m, ok := s.metas.byID.Load(release); ok {
		return m.(*meta), nil
	}
	if !storable(release) {
		return nil, fmt.Errorf("release %q: %w", release, store.ErrNotFound)
	}
	select {
	case s.metas.reading <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.metas.reading }()
	// Another reader may have read it while this one waited.
	if m, ok := s.metas.byID.Load(release); ok {
		return m.(*meta), nil
	}
	m, err := s.readMeta(ctx, release)
	if err != nil {
		return nil, err
	}
	s.metas.keep(release, m)
	return m, nil
}

// keep caches m as the meta of release, dropping the oldest past maxMetas.
func (c *metas) keep(release string, m *meta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byID.Store(release, m)
	c.order = append(c.order, release)
	for len(c.order) > maxMetas {
		c.byID.Delete(c.order[0])
		c.order = slices.Delete(c.order, 0, 1)
	}
}

// readMeta reads the metadata of release from a server that has it (see
// read).
func (s *Store) readMeta(ctx context.Context, release string) (*meta, error) {
	var m *meta
	err := s.read(ctx, release, func(db *pgxpool.Pool) error {
		var err error
		m, err = s.readMetaOn(ctx, db, release)
		return err
	})
	return m, err
}

// readMetaOn reads the metadata of release from db in one round trip: the
// release's row, to tell an unknown release from an empty one, then each
// table.
func (s *Store) readMetaOn(ctx context.Context, db *pgxpool.Pool, release string) (*meta, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT 0 FROM releases WHERE id = $1`, release)
	for _, table := range []string{"offences", "regions", "measures", "sources"} {
		b.Queue(`SELECT doc FROM `+table+` WHERE release_id = $1 ORDER BY id`, release)
	}
	br := db.SendBatch(ctx, b)
	defer br.Close()
	var zero int
	if err := br.QueryRow().Scan(&zero); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("release %q: %w", release, store.ErrNotFound)
		}
		return nil, s.wrapErr(err, "release %q", release)
	}
	m := &meta{}
	var err error
	if m.offences, err = readDocs[store.Offence](br); err != nil {
		return nil, s.wrapErr(err, "offences")
	}
	if m.regions, err = readDocs[store.Region](br); err != nil {
		return nil, s.wrapErr(err, "regions")
	}
	if m.measures, err = readDocs[store.Measure](br); err != nil {
		return nil, s.wrapErr(err, "measures")
	}
	if m.sources, err = readDocs[store.Source](br); err != nil {
		return nil, s.wrapErr(err, "sources")
	}
	if err := br.Close(); err != nil {
		return nil, s.wrapErr(err, "release %q", release)
	}
	m.offence = index(m.offences, func(o store.Offence) string { return o.ID })
	m.region = index(m.regions, func(r store.Region) string { return r.ID })
	m.source = index(m.sources, func(s store.Source) string { return s.ID })
	return m, nil
}

// readDocs reads the next result of br: JSON documents of type T, one per row.
func readDocs[T any](br pgx.BatchResults) ([]T, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var v T
		if err := json.Unmarshal(rows.RawValues()[0], &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func index[T any](list []T, id func(T) string) map[string]int {
	m := make(map[string]int, len(list))
	for i, v := range list {
		m[id(v)] = i
	}
	return m
}

// Offences implements store.Store.
func (s *Store) Offences(ctx context.Context, release string) ([]store.Offence, error) {
	m, err := s.meta(ctx, release)
	if err != nil {
		return nil, err
	}
	return slices.Clone(m.offences), nil
}

// Offence implements store.Store.
func (s *Store) Offence(ctx context.Context, release, id string) (store.Offence, error) {
	m, err := s.meta(ctx, release)
	if err != nil {
		return store.Offence{}, err
	}
	i, ok := m.offence[id]
	if !ok {
		return store.Offence{}, fmt.Errorf("offence %q: %w", id, store.ErrNotFound)
	}
	return m.offences[i], nil
}

// Regions implements store.Store.
func (s *Store) Regions(ctx context.Context, release string, f store.RegionFilter) ([]store.Region, error) {
	m, err := s.meta(ctx, release)
	if err != nil {
		return nil, err
	}
	out := []store.Region{}
	match := f.Matcher()
	for _, r := range m.regions {
		if match.Match(r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// Region implements store.Store.
func (s *Store) Region(ctx context.Context, release, id string) (store.Region, error) {
	m, err := s.meta(ctx, release)
	if err != nil {
		return store.Region{}, err
	}
	i, ok := m.region[id]
	if !ok {
		return store.Region{}, fmt.Errorf("region %q: %w", id, store.ErrNotFound)
	}
	return m.regions[i], nil
}

// Measures implements store.Store.
func (s *Store) Measures(ctx context.Context, release string) ([]store.Measure, error) {
	m, err := s.meta(ctx, release)
	if err != nil {
		return nil, err
	}
	return slices.Clone(m.measures), nil
}

// Sources implements store.Store.
func (s *Store) Sources(ctx context.Context, release string) ([]store.Source, error) {
	m, err := s.meta(ctx, release)
	if err != nil {
		return nil, err
	}
	return slices.Clone(m.sources), nil
}

// Source implements store.Store.
func (s *Store) Source(ctx context.Context, release, id string) (store.Source, error) {
	m, err := s.meta(ctx, release)
	if err != nil {
		return store.Source{}, err
	}
	i, ok := m.source[id]
	if !ok {
		return store.Source{}, fmt.Errorf("source %q: %w", id, store.ErrNotFound)
	}
	return m.sources[i], nil
}
