package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/krimstat/krimstat/store"
)

// read runs a query over one release's rows in a single round trip with a
// check that the release exists, so that an unknown release is ErrNotFound
// rather than an empty list. head is an SQL expression evaluated on the
// release's row (a count of matches, or 0) with headArgs, whose $1 is the
// release id; q and args produce the rows handed to scan. It returns head's
// value.
func (s *Store) read(ctx context.Context, what, release, head string, headArgs []any, q string, args []any, scan func(pgx.Rows) error) (int, error) {
	if !storable(release) {
		return 0, fmt.Errorf("release %q: %w", release, store.ErrNotFound)
	}
	b := &pgx.Batch{}
	b.Queue("SELECT "+head+" FROM releases WHERE id = $1", headArgs...)
	b.Queue(q, args...)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	var n int
	if err := br.QueryRow().Scan(&n); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("release %q: %w", release, store.ErrNotFound)
		}
		return 0, s.wrapErr(err, "%s", what)
	}
	rows, err := br.Query()
	if err != nil {
		return 0, s.wrapErr(err, "%s", what)
	}
	for rows.Next() {
		if err := scan(rows); err != nil {
			rows.Close()
			return 0, s.wrapErr(err, "%s", what)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, s.wrapErr(err, "%s", what)
	}
	if err := br.Close(); err != nil {
		return 0, s.wrapErr(err, "%s", what)
	}
	return n, nil
}

// docs reads JSON documents of type T, one per row.
func docs[T any](ctx context.Context, s *Store, what, release, q string, args ...any) ([]T, error) {
	out := []T{}
	_, err := s.read(ctx, what, release, "0", []any{release}, q, args, func(rows pgx.Rows) error {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return err
		}
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// doc reads one JSON document of type T; what names it in a not-found error.
func doc[T any](ctx context.Context, s *Store, what, release, q string, args ...any) (T, error) {
	var zero T
	list, err := docs[T](ctx, s, what, release, q, args...)
	if err != nil {
		return zero, err
	}
	if len(list) == 0 {
		return zero, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return list[0], nil
}

// storable reports whether PostgreSQL can hold s as text: valid UTF-8 with
// no NUL. Every stored id and key is storable, so a filter value that is not
// can match nothing; sending it would only make the server fail the query.
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// storableID returns id, or the empty string, which is never an id, when
// PostgreSQL cannot hold id.
func storableID(id string) string {
	if !storable(id) {
		return ""
	}
	return id
}

// storableOnly drops the values that cannot equal a stored string. It
// returns an empty, not nil, slice when none is left.
func storableOnly(values []string) []string {
	out := make([]string, 0, len(values))
	for _, v := range values {
		if storable(v) {
			out = append(out, v)
		}
	}
	return out
}

// unmarshal decodes a JSON column; SQL NULL leaves v as it is.
func unmarshal(b []byte, v any) error {
	if b == nil {
		return nil
	}
	return json.Unmarshal(b, v)
}

// Offences implements store.Store.
func (s *Store) Offences(ctx context.Context, release string) ([]store.Offence, error) {
	return docs[store.Offence](ctx, s, "offences", release,
		`SELECT doc FROM offences WHERE release_id = $1 ORDER BY id`, release)
}

// Offence implements store.Store.
func (s *Store) Offence(ctx context.Context, release, id string) (store.Offence, error) {
	return doc[store.Offence](ctx, s, fmt.Sprintf("offence %q", id), release,
		`SELECT doc FROM offences WHERE release_id = $1 AND id = $2`, release, storableID(id))
}

// Regions implements store.Store.
func (s *Store) Regions(ctx context.Context, release string, f store.RegionFilter) ([]store.Region, error) {
	var c conds
	c.add("release_id = ?", release)
	if len(f.Types) > 0 {
		c.add("type = ANY(?)", storableOnly(f.Types))
	}
	if f.ValidOn != "" {
		// As store.Region.ValidOn: an empty bound is open.
		c.add("(valid_from = '' OR "+c.compare("valid_from", "<=", f.ValidOn)+")", nil)
		c.add("(valid_to = '' OR "+c.compare("valid_to", ">=", f.ValidOn)+")", nil)
	}
	return docs[store.Region](ctx, s, "regions", release,
		"SELECT doc FROM regions WHERE "+c.where()+" ORDER BY id", c.args...)
}

// Region implements store.Store.
func (s *Store) Region(ctx context.Context, release, id string) (store.Region, error) {
	return doc[store.Region](ctx, s, fmt.Sprintf("region %q", id), release,
		`SELECT doc FROM regions WHERE release_id = $1 AND id = $2`, release, storableID(id))
}

// Measures implements store.Store.
func (s *Store) Measures(ctx context.Context, release string) ([]store.Measure, error) {
	return docs[store.Measure](ctx, s, "measures", release,
		`SELECT doc FROM measures WHERE release_id = $1 ORDER BY id`, release)
}

// Sources implements store.Store.
func (s *Store) Sources(ctx context.Context, release string) ([]store.Source, error) {
	return docs[store.Source](ctx, s, "sources", release,
		`SELECT doc FROM sources WHERE release_id = $1 ORDER BY id`, release)
}

// Source implements store.Store.
func (s *Store) Source(ctx context.Context, release, id string) (store.Source, error) {
	return doc[store.Source](ctx, s, fmt.Sprintf("source %q", id), release,
		`SELECT doc FROM sources WHERE release_id = $1 AND id = $2`, release, storableID(id))
}

// conds collects the parameterised conditions of a WHERE clause.
type conds struct {
	sql  []string
	args []any
}

// add appends a condition; each ? in it stands for arg. A nil arg adds a
// condition without a parameter of its own, such as one built by compare.
func (c *conds) add(cond string, arg any) {
	if arg != nil {
		c.args = append(c.args, arg)
		cond = strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(c.args)))
	}
	c.sql = append(c.sql, cond)
}

// compare returns the condition "column op value", comparing bytewise as Go
// does. The column's COLLATE "C" compares bytes already; a value PostgreSQL
// cannot hold as text (such as a cursor with a NUL) is compared as bytea.
func (c *conds) compare(column, op, value string) string {
	if storable(value) {
		c.args = append(c.args, value)
		return column + " " + op + " $" + strconv.Itoa(len(c.args))
	}
	c.args = append(c.args, []byte(value))
	return "convert_to(" + column + ", 'UTF8') " + op + " $" + strconv.Itoa(len(c.args))
}

func (c *conds) where() string { return strings.Join(c.sql, " AND ") }

// breakdownValues turns a breakdown filter into the column values it
// matches, as store.ObservationFilter.Match does: "total" is the empty field
// (and a field literally "total"), and an empty value matches nothing.
func breakdownValues(want []string) []string {
	out := make([]string, 0, len(want)+1)
	for _, w := range want {
		if w == "" {
			continue
		}
		out = append(out, w)
		if w == "total" {
			out = append(out, "")
		}
	}
	return out
}

const observationColumns = `offence, region, period, measure, sex, age, citizenship, repatriation_country,
	value, value_text, flags, source, confidence, locator, revision`

// observationConds returns the conditions that select the observations of
// release that f matches, leaving f.After and f.Limit to the caller.
func observationConds(release string, f store.ObservationFilter) conds {
	var c conds
	c.add("release_id = ?", release)
	for _, in := range []struct {
		column string
		values []string
	}{{"offence", f.Offences}, {"region", f.Regions}, {"measure", f.Measures}, {"source", f.Sources}} {
		if len(in.values) > 0 {
			c.add(in.column+" = ANY(?)", storableOnly(in.values))
		}
	}
	for _, in := range []struct {
		column string
		values []string
	}{{"sex", f.Sex}, {"age", f.Age}, {"citizenship", f.Citizenship}} {
		if len(in.values) > 0 {
			c.add(in.column+" = ANY(?)", storableOnly(breakdownValues(in.values)))
		}
	}
	if f.From != nil {
		c.add(c.compare("period_start", ">=", f.From.Start()), nil)
	}
	if f.To != nil {
		c.add(c.compare("period_end", "<=", f.To.End()), nil)
	}
	return c
}

// selectObservations returns the query, and its arguments, of the
// observations of c whose key is above after (every one for the empty
// key), in key order, at most limit of them (0 means no limit). c is not
// changed.
func selectObservations(c conds, after string, limit int) (string, []any) {
	// Clipped, so that the appends below copy rather than write into
	// the caller's arrays.
	c.sql, c.args = slices.Clip(c.sql), slices.Clip(c.args)
	if after != "" {
		c.add(c.compare("key", ">", after), nil)
	}
	q := "SELECT key, " + observationColumns + " FROM observations WHERE " + c.where() + " ORDER BY key"
	if limit > 0 {
		// A parameter, not a literal, so that every limit shares one prepared statement.
		c.args = append(c.args, limit)
		q += " LIMIT $" + strconv.Itoa(len(c.args))
	}
	return q, c.args
}

// scanObservation reads a row of selectObservations, and its key into key.
func scanObservation(rows pgx.Rows, key *string) (store.Observation, error) {
	var o store.Observation
	var rev []byte
	b := &o.Breakdown
	err := rows.Scan(key, &o.Offence, &o.Region, &o.Period, &o.Measure,
		&b.Sex, &b.Age, &b.Citizenship, &b.RepatriationCountry,
		&o.Value, &o.ValueText, &o.Flags, &o.Source, &o.Confidence, &o.Locator, &rev)
	if err != nil || rev == nil {
		return o, err
	}
	o.Revision = &store.Revision{}
	if err := json.Unmarshal(rev, o.Revision); err != nil {
		return o, fmt.Errorf("revision: %w", err)
	}
	return o, nil
}

// Observations implements store.Store. A page is the keyset key > After in
// key order, read with one row more than Limit to learn whether another page
// follows; Total is counted in the same round trip.
func (s *Store) Observations(ctx context.Context, release string, f store.ObservationFilter) (store.ObservationPage, error) {
	c := observationConds(release, f)
	count := "(SELECT count(*) FROM observations WHERE " + c.where() + ")"
	limit := 0
	if f.Limit > 0 {
		limit = f.Limit + 1
	}
	q, args := selectObservations(c, f.After, limit)

	page := store.ObservationPage{Observations: []store.Observation{}}
	var lastKey string
	total, err := s.read(ctx, "observations", release, count, c.args, q, args, func(rows pgx.Rows) error {
		if f.Limit > 0 && len(page.Observations) == f.Limit {
			// The extra row: another page follows this one.
			page.Next = lastKey
			return nil
		}
		o, err := scanObservation(rows, &lastKey)
		if err != nil {
			return err
		}
		page.Observations = append(page.Observations, o)
		return nil
	})
	if err != nil {
		return store.ObservationPage{}, err
	}
	page.Total = total
	return page, nil
}

// The chunks of EachObservation grow from firstChunk rows to maxChunk: the
// first rows reach the client after a small query, and a long selection
// costs few queries. A chunk of maxChunk observations takes a few MB.
const (
	firstChunk = 256
	maxChunk   = 4096
)

func (s *Store) firstChunk() int {
	if s.chunks[0] > 0 {
		return s.chunks[0]
	}
	return firstChunk
}

func (s *Store) maxChunk() int {
	if s.chunks[1] > 0 {
		return s.chunks[1]
	}
	return maxChunk
}

// EachObservation implements store.Store. It reads the selection in chunks,
// each one query for the next rows in key order after the last key read
// (key > $last ORDER BY key LIMIT n, a range of the primary key or of an
// index ending in key), and calls fn with a chunk's rows only once the whole
// chunk is read. So a client that reads slowly holds neither a pooled
// connection nor an open statement, each statement stays well within the
// statement timeout however long the download takes, and at most one chunk
// is in memory. A release never changes once loaded, so the chunks together
// are exactly what one query would have read.
func (s *Store) EachObservation(ctx context.Context, release string, f store.ObservationFilter, fn func(store.Observation) error) error {
	c := observationConds(release, f)
	after, left := f.After, f.Limit
	chunk := make([]store.Observation, 0, s.firstChunk())
	for size := s.firstChunk(); ; size = min(2*size, s.maxChunk()) {
		// A walk whose client went away ends here rather than as a failed
		// query, which would count as a database failure.
		if err := ctx.Err(); err != nil {
			return err
		}
		n := size
		if f.Limit > 0 {
			n = min(n, left)
		}
		q, args := selectObservations(c, after, n)
		chunk = chunk[:0]
		_, err := s.read(ctx, "observations", release, "0", []any{release}, q, args, func(rows pgx.Rows) error {
			o, err := scanObservation(rows, &after)
			chunk = append(chunk, o)
			return err
		})
		if err != nil {
			return err
		}
		for _, o := range chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(o); err != nil {
				return err
			}
		}
		left -= len(chunk)
		if len(chunk) < n || (f.Limit > 0 && left == 0) {
			return nil
		}
	}
}

// CountObservations implements store.Store, in one statement that also
// checks that the release exists. A limit bounds the count's work as well.
func (s *Store) CountObservations(ctx context.Context, release string, f store.ObservationFilter) (int, error) {
	if !storable(release) {
		return 0, fmt.Errorf("release %q: %w", release, store.ErrNotFound)
	}
	c := observationConds(release, f)
	if f.After != "" {
		c.add(c.compare("key", ">", f.After), nil)
	}
	sub := "SELECT 1 FROM observations WHERE " + c.where()
	if f.Limit > 0 {
		c.args = append(c.args, f.Limit)
		sub += " LIMIT $" + strconv.Itoa(len(c.args))
	}
	// $1 is the release id, as in the conditions.
	var n int
	err := s.pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM ("+sub+") m) FROM releases WHERE id = $1", c.args...).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("release %q: %w", release, store.ErrNotFound)
	}
	if err != nil {
		return 0, s.wrapErr(err, "count observations")
	}
	return n, nil
}

// Population implements store.Store.
func (s *Store) Population(ctx context.Context, release string, f store.PopulationFilter) ([]store.PopulationFigure, error) {
	var c conds
	c.add("release_id = ?", release)
	if len(f.Regions) > 0 {
		c.add("region = ANY(?)", storableOnly(f.Regions))
	}
	if f.From != "" {
		c.add(c.compare("date", ">=", f.From), nil)
	}
	if f.To != "" {
		c.add(c.compare("date", "<=", f.To), nil)
	}
	out := []store.PopulationFigure{}
	_, err := s.read(ctx, "population", release, "0", []any{release},
		"SELECT region, date, value, source, locator FROM population WHERE "+c.where()+" ORDER BY ord",
		c.args, func(rows pgx.Rows) error {
			var p store.PopulationFigure
			if err := rows.Scan(&p.Region, &p.Date, &p.Value, &p.Source, &p.Locator); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}
