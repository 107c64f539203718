package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/krimstat/krimstat/internal/testenv"
	"github.com/krimstat/krimstat/syncer"
	"github.com/krimstat/krimstat/syncer/synctest"
)

// syncSources writes a sources file whose one entry is Eurostat's
// crim_off_cat for Norway, read with the repository's real mapping from the
// fake API, and returns its path.
func syncSources(t *testing.T, gate string) string {
	t.Helper()
	mapping, err := filepath.Abs("../../ingest/mappings/eurostat-crim-off-cat.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sources.json")
	body := fmt.Sprintf(`{"gate": %s, "sources": [{"id": "eurostat-crim-off-cat", "kind": "eurostat", "table": "crim_off_cat",
		"query": ["freq=A", "unit=NR", "unit=P_HTHAB", "geo=NO"], "mapping": %q, "enabled": true}]}`, gate, mapping)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tablesDigest is every table of the database as text, each in a fixed
// order, hashed: equal digests mean the tables are byte for byte the same.
func tablesDigest(t *testing.T, dbURL string) map[string]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, table := range tables {
		ident := pgx.Identifier{table}.Sanitize()
		var digest string
		q := fmt.Sprintf(`SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\n' ORDER BY t::text)), '') FROM %s t`, ident)
		if err := conn.QueryRow(ctx, q).Scan(&digest); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		out[table] = digest
	}
	return out
}

// TestSyncEndToEnd runs the sync against a fake Eurostat API on a
// PostgreSQL database holding the bundled release: the candidate (Norway
// only) would remove nearly every Eurostat figure, so the gate refuses it
// and every table stays byte for byte as it was; -accept publishes it;
// then the publisher revises one figure, withdraws one and adds one, and
// the next sync publishes exactly those, which /changes and the Atom feed
// show.
func TestSyncEndToEnd(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	loadBundled(t, dbURL)
	eurostat := synctest.NewEurostat(t)
	sources := syncSources(t, `{"max_removed_share": 0.01}`)
	getenv := env(map[string]string{"DATABASE_URL": dbURL})
	ctx := context.Background()
	sync := func(extra ...string) (string, error) {
		var out bytes.Buffer
		args := append([]string{"krimstat", "sync", "-sources", sources, "-eurostat-base", eurostat.URL, "-timeout", "5s"}, extra...)
		err := run(ctx, args, getenv, &out)
		return out.String(), err
	}

	before := tablesDigest(t, dbURL)
	out, err := sync()
	if !errors.Is(err, errRefused) || !strings.Contains(out, "max_removed_share") {
		t.Fatalf("first sync: got %v\n%s\nwant a refusal naming max_removed_share", err, out)
	}
	if after := tablesDigest(t, dbURL); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a refused candidate changed the tables:\nbefore %v\nafter  %v", before, after)
	}
	// A dry run reports and writes nothing either; a fault of the API
	// fails the run and leaves the tables too.
	if out, err := sync("-dry-run"); err != nil || !strings.Contains(out, "dry run") {
		t.Fatalf("dry run: got %v\n%s", err, out)
	}
	eurostat.Fail(eurostat.DataPath(synctest.EurostatTable), synctest.Status(503))
	if _, err := sync("-accept"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("sync against a 503: got %v, want the 503", err)
	}
	eurostat.Clear()
	if after := tablesDigest(t, dbURL); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a dry run or a failed sync changed the tables")
	}

	out, err = sync("-accept")
	if err != nil || !strings.Contains(out, "published release") {
		t.Fatalf("sync -accept: got %v\n%s", err, out)
	}
	first := releaseIn(t, out)
	// The same data again: nothing to publish.
	if out, err := sync(); err != nil || !strings.Contains(out, "nothing to publish") {
		t.Fatalf("sync of unchanged data: got %v\n%s", err, out)
	}

	// The publisher revises 2022's intentional homicides (31, provisional),
	// withdraws 2022's attempted ones and adds 2023's homicides. The new
	// figures are test values.
	v := func(x float64) *float64 { return &x }
	eurostat.Edit(synctest.EurostatTable, func(d *synctest.Doc) {
		d.SetValue(synctest.Cell{"freq": "A", "unit": "NR", "iccs": "ICCS0101", "geo": "NO", "time": "2022"}, v(31), "")
		d.RemoveCell(synctest.Cell{"freq": "A", "unit": "NR", "iccs": "ICCS0102", "geo": "NO", "time": "2022"}, "")
		d.AddCategory("time", "2023", "2023", func(c synctest.Cell) *float64 {
			if c["iccs"] == "ICCS0101" && c["unit"] == "NR" {
				return v(1001)
			}
			return nil
		})
	})
	out, err = sync()
	if err != nil || !strings.Contains(out, "published release") {
		t.Fatalf("sync of the revision: got %v\n%s", err, out)
	}
	second := releaseIn(t, out)

	base, _, _ := startServe(t, map[string]string{"DATABASE_URL": dbURL})
	body, status := fetch(t, base+"/v1/releases/"+second+"/changes")
	if status != 200 {
		t.Fatalf("/changes: %d %s", status, body)
	}
	var ch struct {
		Data struct {
			Summary struct {
				From                    string `json:"from"`
				Added, Removed, Revised int
				MetadataRevised         int `json:"metadata_revised"`
			} `json:"summary"`
			Added []struct {
				Offence, Region, Period string
				Value                   *float64
			} `json:"added"`
			Removed []struct {
				Offence, Region, Period string
				Value                   *float64
			} `json:"removed"`
			Revised []struct {
				Kind     string
				Old, New struct {
					Offence, Period string
					Value           *float64
					Flags           []string
				}
			} `json:"revised"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ch); err != nil {
		t.Fatal(err)
	}
	s := ch.Data.Summary
	if s.From != first || s.Added != 1 || s.Removed != 1 || s.Revised != 1 || s.MetadataRevised != 0 {
		t.Errorf("/changes summary: got %+v, want from %s: 1 added, 1 removed, 1 revised\n%.2000s", s, first, body)
	}
	if len(ch.Data.Added) != 1 || ch.Data.Added[0].Offence != "iccs/0101" || ch.Data.Added[0].Period != "2023" || *ch.Data.Added[0].Value != 1001 {
		t.Errorf("added: got %+v, want iccs/0101 2023 = 1001", ch.Data.Added)
	}
	if len(ch.Data.Removed) != 1 || ch.Data.Removed[0].Offence != "iccs/0102" || ch.Data.Removed[0].Period != "2022" {
		t.Errorf("removed: got %+v, want iccs/0102 2022", ch.Data.Removed)
	}
	if r := ch.Data.Revised; len(r) != 1 || r[0].New.Offence != "iccs/0101" || r[0].New.Period != "2022" || *r[0].New.Value != 31 || r[0].Old.Value == nil || *r[0].Old.Value == 31 {
		t.Errorf("revised: got %d (%.500v), want iccs/0101 2022 from its earlier value to 31", len(r), r)
	}
	// The observation itself says it was revised, and from what.
	obs, _ := fetch(t, base+"/v1/observations?offence=iccs/0101&region=NO&measure=reported-offences&from=2022&to=2022&source=eurostat-crim-off-cat")
	if !strings.Contains(string(obs), `"revised"`) || !strings.Contains(string(obs), `"release":"`+first+`"`) {
		t.Errorf("the revised observation: want the revised flag and the earlier release %s in\n%s", first, obs)
	}

	feed, status := fetch(t, base+"/v1/releases.atom")
	var atom struct {
		Entries []struct {
			ID      string `xml:"id"`
			Summary string `xml:"summary"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(feed, &atom); status != 200 || err != nil || len(atom.Entries) < 3 {
		t.Fatalf("feed: %d %v, %d entries\n%s", status, err, len(atom.Entries), feed)
	}
	if e := atom.Entries[0]; !strings.HasSuffix(e.ID, second) || !strings.Contains(e.Summary, "1 added, 1 removed, 1 revised") {
		t.Errorf("the feed's newest entry: got %+v, want release %s with 1 added, 1 removed, 1 revised", e, second)
	}
}

// releaseIn is the release id a sync run reports it published.
func releaseIn(t *testing.T, out string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "published release ")
	if !ok {
		t.Fatalf("no published release in\n%s", out)
	}
	id, _, _ := strings.Cut(rest, " ")
	return id
}

// TestSyncMetricsFile: a run writes its metrics for node_exporter's
// textfile collector, a failed run included.
func TestSyncMetricsFile(t *testing.T) {
	eurostat := synctest.NewEurostat(t)
	eurostat.Fail(eurostat.DataPath(synctest.EurostatTable), synctest.Status(500))
	dir := t.TempDir()
	metrics := filepath.Join(dir, "krimstat_sync.prom")
	var out bytes.Buffer
	err := run(context.Background(), []string{"krimstat", "sync", "-sources", syncSources(t, "{}"), "-eurostat-base", eurostat.URL,
		"-out", dir, "-metrics-file", metrics, "-timeout", "5s"}, env(nil), &out)
	if err == nil {
		t.Fatal("sync against a 500: got no error")
	}
	b, rerr := os.ReadFile(metrics)
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, want := range []string{"krimstat_sync_last_success 0\n", "krimstat_sync_failures_total 1\n", "krimstat_sync_last_success_timestamp_seconds 0\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics: want %q in\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "krimstat_sync_last_attempt_timestamp_seconds 0\n") {
		t.Errorf("metrics: the attempt has no time:\n%s", b)
	}
}

// TestRealSourcesFile: the repository's sources file loads, its gate is
// valid, and only entries whose mappings are complete are enabled.
func TestRealSourcesFile(t *testing.T) {
	src, err := syncer.LoadSources("../../ingest/sources.json")
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateOf(src)
	if err != nil {
		t.Fatal(err)
	}
	if g.MaxRemovedShare <= 0 || g.MaxRemovedShare > 0.05 || g.AllowVanishedSeries {
		t.Errorf("gate: got %+v, want a small removal bound and no vanished series", g)
	}
	if len(src.Enabled()) == 0 {
		t.Error("no enabled entry")
	}
}
