package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/krimstat/krimstat/changes"
	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/ingest"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/postgres"
	"github.com/krimstat/krimstat/syncer"
)

const syncUsage = `usage: krimstat sync [flags]

Renews the current release from the official sources listed in a sources
file (SSB PxWebApi v2 tables, Eurostat's statistics API): downloads every
enabled entry, maps it, builds a candidate release on top of the current
one, marks revised values, and compares the two. Within the gate's
thresholds (the sources file's "gate") the candidate is published
atomically: to PostgreSQL (DATABASE_URL) as the new current release, or,
without DATABASE_URL, as a file in -out (a directory "serve -data DIR"
loads). Beyond them it is refused with the report, unless -accept.

  krimstat sync -dry-run                      fetch, build and report; publish nothing
  krimstat sync                               publish when within the gate
  krimstat sync -accept                       publish even beyond the gate
  krimstat sync -interval 24h                 the same every 24 hours (a service)
  krimstat sync -labels ssb-08484             list an entry's published categories, to write a mapping

A network fault, a time-out, a 5xx, a truncated body, a changed dimension or
label fails the run and leaves the current release as it was.
`

// errRefused is returned when the gate refuses a candidate: the command
// fails, so that a scheduler sees it, with the report already printed.
var errRefused = errors.New("sync: the candidate release is beyond the gate's thresholds; nothing was published (see the report; -accept publishes it)")

// syncFlags are the sync command's flags.
type syncFlags struct {
	sources, out, base, labels string
	ssbBase, eurostatBase      string
	format, metricsFile        string
	dryRun, accept             bool
	interval, timeout          time.Duration
	listLimit                  int
}

func parseSyncFlags(args []string, stdout io.Writer) (syncFlags, error) {
	var f syncFlags
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() { fmt.Fprint(stdout, syncUsage); fs.PrintDefaults() }
	fs.StringVar(&f.sources, "sources", "ingest/sources.json", "the sources file")
	fs.StringVar(&f.out, "out", "", "without DATABASE_URL: the directory to write <release-id>.json into (serve -data DIR)")
	fs.StringVar(&f.base, "base", "", "without DATABASE_URL: the release file to build on (default: the newest release in -out, else the bundled release)")
	fs.StringVar(&f.labels, "labels", "", "list the categories an entry's table publishes (codes and labels, by dimension) and stop")
	fs.StringVar(&f.ssbBase, "ssb-base", syncer.DefaultSSBBase, "SSB PxWebApi v2 base URL")
	fs.StringVar(&f.eurostatBase, "eurostat-base", syncer.DefaultEurostatBase, "Eurostat statistics API base URL")
	fs.StringVar(&f.format, "report", "text", "the report's format: text or json")
	fs.StringVar(&f.metricsFile, "metrics-file", "", "write the run's metrics here in Prometheus text format (node_exporter's textfile collector)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "report only: publish nothing")
	fs.BoolVar(&f.accept, "accept", false, "publish even when the candidate is beyond the gate's thresholds")
	fs.DurationVar(&f.interval, "interval", 0, "run again after this long, until stopped (0: once)")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "time limit of each download")
	fs.IntVar(&f.listLimit, "list", 50, "changes listed in the report, at most")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("sync: unexpected argument %q", fs.Arg(0))
	}
	if f.format != "text" && f.format != "json" {
		return f, fmt.Errorf("sync: -report %q: want text or json", f.format)
	}
	if f.dryRun && f.accept {
		return f, errors.New("sync: -dry-run publishes nothing; -accept makes no sense with it")
	}
	if f.interval < 0 || (f.interval > 0 && f.interval < time.Minute) {
		return f, fmt.Errorf("sync: -interval %s: want 0 (once) or at least a minute", f.interval)
	}
	return f, nil
}

// syncCmd runs the sync once, or every -interval until ctx ends. In the
// loop a failed run is logged and retried at the next interval, since the
// sources' outages are usually short; a single run returns its error.
func syncCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	f, err := parseSyncFlags(args, stdout)
	if err != nil {
		return err
	}
	src, err := syncer.LoadSources(f.sources)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	cfg := syncer.Config{SSBBase: f.ssbBase, EurostatBase: f.eurostatBase, Client: &http.Client{}, Timeout: f.timeout}
	if f.labels != "" {
		return listLabels(ctx, cfg, src, f.labels, stdout)
	}
	thresholds, err := gateOf(src)
	if err != nil {
		return err
	}
	dbURL := getenv("DATABASE_URL")
	if dbURL == "" && f.out == "" && !f.dryRun {
		return errors.New("sync: set DATABASE_URL or give -out (or -dry-run)")
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	var pg *postgres.Store
	if dbURL != "" {
		if pg, err = openPrimary(ctx, dbURL, log); err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		defer pg.Close()
	}
	s := syncRun{flags: f, src: src, cfg: cfg, gate: thresholds, pg: pg, stdout: stdout}
	var m syncMetrics
	for {
		m.attempt(time.Now())
		published, err := s.once(ctx)
		m.result(time.Now(), published, err)
		if f.metricsFile != "" {
			if werr := writeAtomic(f.metricsFile, m.text()); werr != nil {
				log.Error("sync metrics", "file", f.metricsFile, "err", werr)
			}
		}
		if f.interval == 0 {
			return err
		}
		if err != nil {
			log.Error("sync failed; the current release is unchanged", "err", err, "next", f.interval.String())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(f.interval):
		}
	}
}

// gateOf reads the sources file's gate over the defaults.
func gateOf(src syncer.Sources) (changes.Thresholds, error) {
	if len(bytes.TrimSpace(src.Gate)) == 0 {
		return changes.DefaultThresholds(), nil
	}
	t, err := changes.ParseThresholds(bytes.NewReader(src.Gate))
	if err != nil {
		return t, fmt.Errorf("sync: %s: gate: %w", src.Path, err)
	}
	return t, nil
}

// syncRun is one configured sync: what once needs between runs.
type syncRun struct {
	flags  syncFlags
	src    syncer.Sources
	cfg    syncer.Config
	gate   changes.Thresholds
	pg     *postgres.Store
	stdout io.Writer
}

// once runs the sync once: fetch, candidate, revisions, report, gate,
// publish. It reports whether a release was published. Nothing is written
// before the gate has passed, and the publication itself is atomic (one
// PostgreSQL transaction, or a file renamed into place), so a failure at
// any step leaves the current release as it was.
func (s syncRun) once(ctx context.Context) (bool, error) {
	start := time.Now()
	base, err := s.base(ctx)
	if err != nil {
		return false, err
	}
	fetched, err := syncer.Collect(ctx, s.cfg, s.src)
	if err != nil {
		return false, err // it names the sync and the entry
	}
	now := time.Now()
	cand, err := syncer.Candidate(base, fetched, now)
	if err != nil {
		return false, fmt.Errorf("sync: %w", err)
	}
	// Marking revisions changes the candidate's content, so its id (a
	// checksum of the content) is computed again afterwards.
	if changes.MarkRevisions(base, cand) > 0 {
		if err := ingest.Finish(cand, cand.Release.Files, now, cand.Release.Note); err != nil {
			return false, fmt.Errorf("sync: %w", err)
		}
	}
	report, err := changes.Compare(changes.DatasetInput(base), changes.DatasetInput(cand), changes.Options{Limit: s.flags.listLimit})
	if err != nil {
		return false, fmt.Errorf("sync: %w", err)
	}
	violations := report.Check(s.gate)
	if err := s.writeReport(report, violations); err != nil {
		return false, err
	}
	c := report.Summary.ChangeCounts
	switch {
	case c.Added+c.Removed+c.Revised+c.MetadataRevised == 0:
		// Only the retrieval dates would differ: a new release every
		// day with the same figures would be noise in every feed.
		fmt.Fprintf(s.stdout, "sync: no observation changed since release %s; nothing to publish (%s)\n", base.Release.ID, time.Since(start).Round(time.Millisecond))
		return false, nil
	case s.flags.dryRun:
		fmt.Fprintf(s.stdout, "sync: dry run; candidate %s not published\n", cand.Release.ID)
		return false, nil
	case len(violations) > 0 && !s.flags.accept:
		return false, errRefused
	}
	cand.Release.Changes = report.Summary.Release()
	where, err := s.publish(ctx, cand)
	if err != nil {
		return false, fmt.Errorf("sync: publish: %w", err)
	}
	fmt.Fprintf(s.stdout, "sync: published release %s (%d observations) -> %s in %s\n", cand.Release.ID, len(cand.Observations), where, time.Since(start).Round(time.Millisecond))
	return true, nil
}

// base is the release a candidate is built on: PostgreSQL's current
// release, else -base, else the newest release file in -out, else the
// bundled release.
func (s syncRun) base(ctx context.Context) (*store.Dataset, error) {
	if s.pg != nil {
		cur, err := s.pg.CurrentRelease(ctx)
		if err != nil {
			return nil, fmt.Errorf("sync: the current release: %w (load one with krimstat ingest -bundled)", err)
		}
		return ingest.Export(ctx, s.pg, cur.ID)
	}
	path := s.flags.base
	if path == "" && s.flags.out != "" {
		newest, err := newestRelease(s.flags.out)
		if err != nil {
			return nil, fmt.Errorf("sync: %w", err)
		}
		path = newest
	}
	raw := data.Bundled
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("sync: base: %w", err)
		}
		raw = b
	}
	ds, err := store.DecodeDataset(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("sync: base %s: %w", cmpOr(path, "(bundled)"), err)
	}
	return ds, nil
}

// newestRelease is the path of the newest release file in dir (by the
// created time each records), or "" when dir holds none.
func newestRelease(dir string) (string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return "", err
	}
	var best, bestCreated string
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return "", err
		}
		ds, err := store.DecodeDataset(f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		if ds.Release.Created > bestCreated {
			best, bestCreated = name, ds.Release.Created
		}
	}
	return best, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// publish makes cand the current release: loaded into PostgreSQL in one
// transaction (which also tells every replica, by NOTIFY), or written as a
// file beside the others in -out.
func (s syncRun) publish(ctx context.Context, cand *store.Dataset) (string, error) {
	if s.pg != nil {
		if err := s.pg.Load(ctx, cand); err != nil {
			return "", err
		}
		return "PostgreSQL", nil
	}
	return writeRelease(s.flags.out, cand)
}

// writeReport prints the comparison and the gate's verdict.
func (s syncRun) writeReport(r changes.Report, violations []changes.Violation) error {
	if s.flags.format == "json" {
		return changes.WriteJSON(s.stdout, r, violations)
	}
	return changes.WriteText(s.stdout, r, violations)
}

// listLabels prints the categories of one entry's table, by dimension:
// what a mapping's labels must match exactly.
func listLabels(ctx context.Context, cfg syncer.Config, src syncer.Sources, id string, stdout io.Writer) error {
	var entry *syncer.Entry
	for i, e := range src.Entries {
		if e.ID == id {
			entry = &src.Entries[i]
		}
	}
	if entry == nil {
		return fmt.Errorf("sync: -labels %q: no such entry in %s", id, src.Path)
	}
	ds, err := syncer.Categories(ctx, cfg, *entry)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	for _, dim := range ds.ID {
		d := ds.Dimension[dim]
		fmt.Fprintf(stdout, "%s\t%s\t(%d categories)\n", dim, d.Label, len(d.Codes))
		for _, code := range d.Codes {
			fmt.Fprintf(stdout, "\t%s\t%s\n", code, strconv.Quote(d.CategoryLabel(code)))
		}
	}
	return nil
}

// syncMetrics are the last run's facts, written in Prometheus text format
// for node_exporter's textfile collector: a sync run by a scheduler is
// gone before anything could scrape it.
type syncMetrics struct {
	lastAttempt, lastSuccess, lastPublish time.Time
	lastDuration                          time.Duration
	attempts, failures                    int
	lastOK                                bool
	started                               time.Time
}

func (m *syncMetrics) attempt(now time.Time) {
	m.started, m.lastAttempt = now, now
	m.attempts++
}

func (m *syncMetrics) result(now time.Time, published bool, err error) {
	m.lastDuration = now.Sub(m.started)
	m.lastOK = err == nil
	if err != nil {
		m.failures++
		return
	}
	m.lastSuccess = now
	if published {
		m.lastPublish = now
	}
}

func (m *syncMetrics) text() []byte {
	var b strings.Builder
	gauge := func(name, help string, v float64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, strconv.FormatFloat(v, 'g', -1, 64))
	}
	unix := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return float64(t.UnixMilli()) / 1000
	}
	ok := 0.0
	if m.lastOK {
		ok = 1
	}
	gauge("krimstat_sync_last_attempt_timestamp_seconds", "When the last sync run started.", unix(m.lastAttempt))
	gauge("krimstat_sync_last_success_timestamp_seconds", "When the last sync run that did not fail ended (0: none yet).", unix(m.lastSuccess))
	gauge("krimstat_sync_last_publish_timestamp_seconds", "When the last sync run published a release (0: none yet).", unix(m.lastPublish))
	gauge("krimstat_sync_last_duration_seconds", "How long the last sync run took.", m.lastDuration.Seconds())
	gauge("krimstat_sync_last_success", "1 if the last sync run did not fail (a refusal by the gate is a failure), else 0.", ok)
	fmt.Fprintf(&b, "# HELP krimstat_sync_runs_total Sync runs by this process.\n# TYPE krimstat_sync_runs_total counter\nkrimstat_sync_runs_total %d\n", m.attempts)
	fmt.Fprintf(&b, "# HELP krimstat_sync_failures_total Failed sync runs by this process.\n# TYPE krimstat_sync_failures_total counter\nkrimstat_sync_failures_total %d\n", m.failures)
	return []byte(b.String())
}
