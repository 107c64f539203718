// Package store is Krimstat's domain: the types every other package speaks
// (offences, regions, measures, sources, observations, releases), the
// sentinel errors, and the Store interface that the in-memory and PostgreSQL
// implementations satisfy.
//
// The package imports neither Gin, swag nor Redis, so the HTTP layer, the
// caches and the ingest code can all depend on it without depending on each
// other.
package store

import (
	"context"
	"errors"
	"fmt"
)

// Sentinel errors. Implementations wrap them with %w and a short context;
// handlers map them to HTTP statuses in one place.
var (
	// ErrNotFound means the requested resource does not exist in the release.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means a caller passed a malformed value (a bad period, cursor or filter).
	ErrInvalid = errors.New("invalid")
	// ErrUnavailable means the backing service (PostgreSQL) cannot answer now; retrying later may succeed.
	ErrUnavailable = errors.New("unavailable")
)

// ParamError is an invalid request parameter: its name and what is wrong.
// Every ParamError is an ErrInvalid; the HTTP layer names the parameter in
// its problem body, so domain code that validates a request (package
// series) can say which parameter was wrong without knowing about HTTP.
type ParamError struct {
	Param string
	Msg   string
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Msg }

// Unwrap makes every parameter error an ErrInvalid.
func (e *ParamError) Unwrap() error { return ErrInvalid }

// InvalidParam returns a *ParamError for param with a formatted message.
func InvalidParam(param, format string, a ...any) error {
	return &ParamError{Param: param, Msg: fmt.Sprintf(format, a...)}
}

// Store reads one or more data releases. Every data method takes a release
// id; callers resolve "the current release" once per request with
// CurrentRelease so that a request never mixes two releases.
type Store interface {
	// CurrentRelease returns the release served by default.
	// It returns ErrNotFound when no release has been loaded.
	CurrentRelease(ctx context.Context) (Release, error)
	// Releases returns every release, newest first.
	Releases(ctx context.Context) ([]Release, error)
	// Release returns one release. It returns ErrNotFound for an unknown id.
	Release(ctx context.Context, id string) (Release, error)

	// Offences returns the offences of a release in id order.
	// It returns ErrNotFound for an unknown release.
	Offences(ctx context.Context, release string) ([]Offence, error)
	// Offence returns one offence. It returns ErrNotFound for an unknown id or release.
	Offence(ctx context.Context, release, id string) (Offence, error)

	// Regions returns the regions matching f in id order.
	// It returns ErrNotFound for an unknown release.
	Regions(ctx context.Context, release string, f RegionFilter) ([]Region, error)
	// Region returns one region. It returns ErrNotFound for an unknown id or release.
	Region(ctx context.Context, release, id string) (Region, error)

	// Measures returns the measures of a release in id order.
	// It returns ErrNotFound for an unknown release.
	Measures(ctx context.Context, release string) ([]Measure, error)

	// Sources returns the sources of a release in id order.
	// It returns ErrNotFound for an unknown release.
	Sources(ctx context.Context, release string) ([]Source, error)
	// Source returns one source. It returns ErrNotFound for an unknown id or release.
	Source(ctx context.Context, release, id string) (Source, error)

	// Observations returns one page of the observations matching f, in Key
	// order, starting after f.After. It returns ErrNotFound for an unknown
	// release.
	Observations(ctx context.Context, release string, f ObservationFilter) (ObservationPage, error)
	// EachObservation calls fn with every observation matching f, in Key
	// order, starting after f.After, at most f.Limit of them (0 means no
	// limit). It holds a bounded number of observations in memory however
	// large the selection, so that a whole file can be streamed to a client.
	// It stops at fn's first error and returns that error as is, so a write
	// to a client that went away ends the walk. It returns ErrNotFound for an
	// unknown release, and ctx's error when ctx ends before the walk does.
	EachObservation(ctx context.Context, release string, f ObservationFilter, fn func(Observation) error) error
	// CountObservations returns how many observations EachObservation would
	// call fn with for the same release and f: the matches after f.After, at
	// most f.Limit. Without After and Limit it is the Total of an
	// Observations page, so a caller can refuse a selection too large to
	// stream before it sends anything. It returns ErrNotFound for an
	// unknown release.
	CountObservations(ctx context.Context, release string, f ObservationFilter) (int, error)

	// Population returns the population figures matching f in (region, date) order.
	// It returns ErrNotFound for an unknown release.
	Population(ctx context.Context, release string, f PopulationFilter) ([]PopulationFigure, error)
}
