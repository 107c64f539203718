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
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/krimstat/krimstat/store"
)

// rows runs q with args on db, one statement in one round trip, and calls
// scan with each row; what names the rows in an error. It returns how many
// rows it read. No row at all may mean an unknown release: only then is the
// release looked up, in the metadata cache (meta), so that an unknown
// release is ErrNotFound rather than an empty list. A row means the release
// exists, since every row references it.
func (s *Store) rows(ctx context.Context, db *pgxpool.Pool, what, release, q string, args []any, scan func(pgx.Rows) error) (int, error) {
	if !storable(release) {
		return 0, fmt.Errorf("release %q: %w", release, store.ErrNotFound)
	}
	rows, err := db.Query(ctx, q, withMode(args)...)
	if err != nil {
		return 0, s.wrapErr(err, "%s", what)
	}
	n := 0
	for rows.Next() {
		n++
		if err := scan(rows); err != nil {
			rows.Close()
			return 0, s.wrapErr(err, "%s", what)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, s.wrapErr(err, "%s", what)
	}
	if n == 0 {
		if _, err := s.meta(ctx, release); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// longList is the length from which PostgreSQL hashes the values of
// "column = ANY(list)" in a custom plan (MIN_ARRAY_SIZE_FOR_HASHED_SAOP);
// a shorter list is searched value by value in any plan.
const longList = 9

// withMode returns args led by the pgx.QueryExecMode of a statement with
// them. A statement is prepared once per connection and may run on
// PostgreSQL's cached generic plan (plan_cache_mode auto), which saves
// planning it anew for every request, unless it has a long list of values
// ("column = ANY($n)"): then it is sent unprepared, so that it is planned
// for its own parameters. A custom plan hashes a long list, where a generic
// plan compares every row with every value of it: a filter of thousands of
// values would cost a second a query.
func withMode(args []any) []any {
	mode := pgx.QueryExecModeCacheStatement
	for _, a := range args {
		if l, ok := a.([]string); ok && len(l) >= longList {
			mode = pgx.QueryExecModeCacheDescribe
			break
		}
	}
	return append([]any{mode}, args...)
}

// storable reports whether PostgreSQL can hold s as text: valid UTF-8 with
// no NUL. Every stored id and key is storable, so a filter value that is not
// can match nothing; sending it would only make the server fail the query.
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
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

// in adds the condition that column is one of values, leaving out the
// values PostgreSQL cannot hold (which match nothing). One value is an
// equality: unlike "= ANY", it lets an index whose next column is key hand
// out the rows in key order, so that a LIMIT stops the scan early.
func (c *conds) in(column string, values []string) {
	values = storableOnly(values)
	if len(values) == 1 {
		c.add(column+" = ?", values[0])
		return
	}
	c.add(column+" = ANY(?)", values)
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
			c.in(in.column, in.values)
		}
	}
	for _, in := range []struct {
		column string
		values []string
	}{{"sex", f.Sex}, {"age", f.Age}, {"citizenship", f.Citizenship}} {
		if len(in.values) > 0 {
			c.in(in.column, breakdownValues(in.values))
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
// key), in key order, at most limit of them (0 means no limit). With
// count, each row leads with the number of every match of c, after or not:
// an uncorrelated subquery, which PostgreSQL runs once per statement. c is
// not changed.
func selectObservations(c conds, after string, limit int, count bool) (string, []any) {
	where := c.where()
	// Clipped, so that the appends below copy rather than write into
	// the caller's arrays.
	c.sql, c.args = slices.Clip(c.sql), slices.Clip(c.args)
	if after != "" {
		c.add(c.compare("key", ">", after), nil)
	}
	q := "SELECT "
	if count {
		q += "(SELECT count(*) FROM observations WHERE " + where + "), "
	}
	q += "key, " + observationColumns + " FROM observations WHERE " + c.where() + " ORDER BY key"
	if limit > 0 {
		// A parameter, not a literal, so that every limit shares one prepared statement.
		c.args = append(c.args, limit)
		q += " LIMIT $" + strconv.Itoa(len(c.args))
	}
	return q, c.args
}

// observationScanner reads the rows of selectObservations into one
// observation, reused row after row, so that a row costs no allocation
// beyond its values. key holds the key of the row read last and, for a
// query with the count, count the count.
type observationScanner struct {
	o     store.Observation
	key   string
	count int
	rev   []byte
	dest  []any
}

func newObservationScanner(count bool) *observationScanner {
	s := &observationScanner{}
	o, b := &s.o, &s.o.Breakdown
	s.dest = []any{&s.key, &o.Offence, &o.Region, &o.Period, &o.Measure,
		&b.Sex, &b.Age, &b.Citizenship, &b.RepatriationCountry,
		&o.Value, &o.ValueText, &o.Flags, &o.Source, &o.Confidence, &o.Locator, &s.rev}
	if count {
		s.dest = append([]any{&s.count}, s.dest...)
	}
	return s
}

// scan reads the current row of rows.
func (s *observationScanner) scan(rows pgx.Rows) (store.Observation, error) {
	// Zeroed, so that pgx makes each row's Value, Flags and revision anew
	// rather than writing into the previous row's.
	s.o, s.rev = store.Observation{}, nil
	if err := rows.Scan(s.dest...); err != nil {
		return store.Observation{}, err
	}
	o := s.o
	if s.rev != nil {
		o.Revision = &store.Revision{}
		if err := json.Unmarshal(s.rev, o.Revision); err != nil {
			return store.Observation{}, fmt.Errorf("revision: %w", err)
		}
	}
	return o, nil
}

// Observations implements store.Store. A page is the keyset key > After in
// key order, read with one row more than Limit to learn whether another page
// follows. Total counts every match, After or not, and costs no statement of
// its own in the common cases: a first page that is the whole selection
// counts itself, and a later page (After set) reads the count in its own
// statement. Only a first page with another after it is followed by a
// count. The page and its count are read from one server.
func (s *Store) Observations(ctx context.Context, release string, f store.ObservationFilter) (store.ObservationPage, error) {
	var page store.ObservationPage
	err := s.read(ctx, release, func(db *pgxpool.Pool) error {
		var err error
		page, err = s.observations(ctx, db, release, f)
		return err
	})
	if err != nil {
		return store.ObservationPage{}, err
	}
	return page, nil
}

// observations reads a page of Observations from db.
func (s *Store) observations(ctx context.Context, db *pgxpool.Pool, release string, f store.ObservationFilter) (store.ObservationPage, error) {
	c := observationConds(release, f)
	limit := 0
	if f.Limit > 0 {
		limit = f.Limit + 1
	}
	later := f.After != ""
	q, args := selectObservations(c, f.After, limit, later)

	page := store.ObservationPage{Observations: []store.Observation{}}
	sc := newObservationScanner(later)
	n, err := s.rows(ctx, db, "observations", release, q, args, func(rows pgx.Rows) error {
		if f.Limit > 0 && len(page.Observations) == f.Limit {
			// The extra row: another page follows this one, after the
			// key of the last row read.
			page.Next = sc.key
			return nil
		}
		o, err := sc.scan(rows)
		if err != nil {
			return err
		}
		page.Observations = append(page.Observations, o)
		return nil
	})
	if err != nil {
		return store.ObservationPage{}, err
	}
	page.Total = n
	if later {
		page.Total = sc.count
	}
	// A first page that is not the whole selection, or a page after the
	// last match, has no count: count now.
	if (!later && page.Next != "") || (later && n == 0) {
		q := "SELECT count(*) FROM observations WHERE " + c.where()
		if err := db.QueryRow(ctx, q, withMode(c.args)...).Scan(&page.Total); err != nil {
			return store.ObservationPage{}, s.wrapErr(err, "count observations")
		}
	}
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
// are exactly what one query would have read, and each chunk may come
// from a different server that has the release.
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
		q, args := selectObservations(c, after, n, false)
		var sc *observationScanner
		err := s.read(ctx, release, func(db *pgxpool.Pool) error {
			chunk, sc = chunk[:0], newObservationScanner(false)
			_, err := s.rows(ctx, db, "observations", release, q, args, func(rows pgx.Rows) error {
				o, err := sc.scan(rows)
				chunk = append(chunk, o)
				return err
			})
			return err
		})
		if err != nil {
			return err
		}
		if len(chunk) > 0 {
			after = sc.key
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
	err := s.read(ctx, release, func(db *pgxpool.Pool) error {
		err := db.QueryRow(ctx, "SELECT (SELECT count(*) FROM ("+sub+") m) FROM releases WHERE id = $1", withMode(c.args)...).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("release %q: %w", release, store.ErrNotFound)
		}
		if err != nil {
			return s.wrapErr(err, "count observations")
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Population implements store.Store.
func (s *Store) Population(ctx context.Context, release string, f store.PopulationFilter) ([]store.PopulationFigure, error) {
	var c conds
	c.add("release_id = ?", release)
	if len(f.Regions) > 0 {
		c.in("region", f.Regions)
	}
	if f.From != "" {
		c.add(c.compare("date", ">=", f.From), nil)
	}
	if f.To != "" {
		c.add(c.compare("date", "<=", f.To), nil)
	}
	var out []store.PopulationFigure
	err := s.read(ctx, release, func(db *pgxpool.Pool) error {
		out = []store.PopulationFigure{}
		_, err := s.rows(ctx, db, "population", release,
			"SELECT region, date, value, source, locator FROM population WHERE "+c.where()+" ORDER BY ord",
			c.args, func(rows pgx.Rows) error {
				var p store.PopulationFigure
				if err := rows.Scan(&p.Region, &p.Date, &p.Value, &p.Source, &p.Locator); err != nil {
					return err
				}
				out = append(out, p)
				return nil
			})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
