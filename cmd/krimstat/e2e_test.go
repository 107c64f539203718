package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krimstat/krimstat/internal/testenv"
)

// env makes a getenv from a map.
func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestPostgresAnswersLikeEmbedded loads the bundled release into an empty
// PostgreSQL database with migrate and ingest, then checks that serve with
// DATABASE_URL answers every route byte for byte as the embedded default.
func TestPostgresAnswersLikeEmbedded(t *testing.T) {
	dbURL := testenv.PostgresURL(t)
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"krimstat", "migrate"}, env(map[string]string{"DATABASE_URL": dbURL}), &out); err != nil {
		t.Fatalf("migrate: %v\n%s", err, &out)
	}
	if err := run(ctx, []string{"krimstat", "ingest", "-bundled"}, env(map[string]string{"DATABASE_URL": dbURL}), &out); err != nil {
		t.Fatalf("ingest: %v\n%s", err, &out)
	}
	// A second load of the same release is a no-op, not an error.
	if err := run(ctx, []string{"krimstat", "ingest", "-bundled"}, env(map[string]string{"DATABASE_URL": dbURL}), &out); err != nil {
		t.Fatalf("second ingest: %v\n%s", err, &out)
	}
	pgBase, _, _ := startServe(t, map[string]string{"DATABASE_URL": dbURL})
	memBase, _, _ := startServe(t, nil)

	targets := []string{
		"/v1/offences", "/v1/offences?format=csv", "/v1/offences/human-trafficking/aggravated", "/v1/offences/nope",
		"/v1/regions", "/v1/regions?type=police-district&valid_on=2015-06-30", "/v1/regions?format=csv", "/v1/regions/pd2016-trondelag",
		"/v1/measures", "/v1/sources", "/v1/sources?format=csv", "/v1/sources/unodc-glotip-2025",
		"/v1/observations?offence=sex-purchase&region=NO&measure=reported-persons&from=2009&to=2010",
		"/v1/observations?region=NO&limit=10000",
		"/v1/observations?region=NO,SE&offence=iccs/0302&format=csv",
		"/v1/observations?limit=500",
		"/v1/observations?from=2013-T1&to=2013",
		"/v1/observations?sex=female&age=0-17&limit=10000",
		"/v1/observations?citizenship=total&measure=detected-victims&region=NO",
		"/v1/observations?from=20x9",
		"/v1/population?region=NO", "/v1/population?from=2009&to=2010&format=csv",
		"/v1/releases",
	}
	if body, status := fetch(t, pgBase+"/readyz"); status != 200 || !strings.Contains(string(body), `"postgres":"ok"`) {
		t.Errorf("/readyz on PostgreSQL: got %d %s, want 200 with postgres ok", status, body)
	}
	for _, target := range targets {
		got, gotStatus := fetch(t, pgBase+target)
		want, wantStatus := fetch(t, memBase+target)
		if gotStatus != wantStatus || !bytes.Equal(stripRequestID(got), stripRequestID(want)) {
			t.Errorf("%s: PostgreSQL answered %d %.300s\nmemory answered %d %.300s", target, gotStatus, got, wantStatus, want)
		}
	}
	// Walk every page of the whole release on both and compare.
	next := "/v1/observations?limit=3000"
	for next != "" {
		got, _ := fetch(t, pgBase+next)
		want, _ := fetch(t, memBase+next)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: PostgreSQL and memory differ", next)
		}
		next = nextLink(got)
	}
}

// TestIngestWritesReleaseDirectory builds a release from a new Eurostat
// extract without PostgreSQL and serves it with -data DIR next to the
// bundled one.
func TestIngestWritesReleaseDirectory(t *testing.T) {
	ref := testenv.ReferenceData(t)
	dir := t.TempDir()
	var out bytes.Buffer
	tsv := filepath.Join(ref, "eurostat", "crim_off_cat.tsv")
	if err := run(context.Background(), []string{"krimstat", "ingest", "-eurostat", tsv, "-out", dir}, env(nil), &out); err != nil {
		t.Fatalf("ingest: %v\n%s", err, &out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("release files: got %v, want one", files)
	}
	base, _, _ := startServe(t, nil, "-data", dir)
	body, status := fetch(t, base+"/v1/releases")
	if status != 200 || !strings.Contains(string(body), "crim_off_cat.tsv") {
		t.Errorf("/v1/releases: got %d %.300s", status, body)
	}
}

// TestIngestBadInputChangesNothing: a bad input file is an error naming the
// file and position, and the output is not written.
func TestIngestBadInputChangesNothing(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.tsv")
	os.WriteFile(bad, []byte("freq,iccs,unit,geo\\TIME_PERIOD\t2008 \nA,ICCS0101,NR,NO\t12x \n"), 0o644)
	outFile := filepath.Join(dir, "release.json")
	var out bytes.Buffer
	err := run(context.Background(), []string{"krimstat", "ingest", "-eurostat", bad, "-out", outFile}, env(nil), &out)
	if err == nil || !strings.Contains(err.Error(), "bad.tsv:2: column 2") {
		t.Fatalf("got %v, want an error naming bad.tsv:2: column 2", err)
	}
	if _, err := os.Stat(outFile); !os.IsNotExist(err) {
		t.Errorf("release file written despite the error")
	}
}

// loadBundled migrates the database at dbURL and loads the bundled release,
// as an operator would.
func loadBundled(t *testing.T, dbURL string) {
	t.Helper()
	var out bytes.Buffer
	for _, args := range [][]string{{"krimstat", "migrate"}, {"krimstat", "ingest", "-bundled"}} {
		if err := run(context.Background(), args, env(map[string]string{"DATABASE_URL": dbURL}), &out); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, &out)
		}
	}
}

func fetch(t *testing.T, url string) ([]byte, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, resp.StatusCode
}

// stripRequestID removes the per-request id from problem bodies.
func stripRequestID(b []byte) []byte {
	s := string(b)
	if i := strings.Index(s, `"request_id":"`); i >= 0 {
		j := strings.Index(s[i+14:], `"`)
		s = s[:i] + s[i+14+j+1:]
	}
	return []byte(s)
}

func nextLink(body []byte) string {
	s := string(body)
	i := strings.Index(s, `"next":"`)
	if i < 0 {
		return ""
	}
	s = s[i+8:]
	return strings.ReplaceAll(s[:strings.Index(s, `"`)], `\u0026`, "&")
}

// TestSecondReleaseUnderLoad loads a second release while clients read: no
// request fails, every response names one release and its data match that
// release, the server switches without a restart, and the first release stays
// reachable with release=.
func TestSecondReleaseUnderLoad(t *testing.T) {
	ref := testenv.ReferenceData(t)
	dbURL := testenv.PostgresURL(t)
	ctx := context.Background()
	var out bytes.Buffer
	loadBundled(t, dbURL)
	base, _, _ := startServe(t, map[string]string{"DATABASE_URL": dbURL})
	first, _ := fetch(t, base+"/v1/releases")

	stop := make(chan struct{})
	type result struct {
		status  int
		header  string
		release string
	}
	results := make(chan result, 100000)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				target := base + "/v1/observations?offence=iccs/0302&region=NO"
				if i%2 == 1 {
					target = base + "/v1/observations?region=SE&limit=50"
				}
				resp, err := http.Get(target)
				if err != nil {
					results <- result{status: -1}
					continue
				}
				var body struct {
					Meta struct {
						Release string `json:"release"`
					} `json:"meta"`
				}
				json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				results <- result{resp.StatusCode, resp.Header.Get("X-Krimstat-Release"), body.Meta.Release}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	tsv := filepath.Join(ref, "eurostat", "crim_off_cat.tsv")
	if err := run(ctx, []string{"krimstat", "ingest", "-eurostat", tsv}, env(map[string]string{"DATABASE_URL": dbURL}), &out); err != nil {
		t.Fatalf("second ingest: %v\n%s", err, &out)
	}
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(results)
	seen := map[string]int{}
	n := 0
	for r := range results {
		n++
		if r.status != 200 {
			t.Fatalf("a request failed during the load: status %d", r.status)
		}
		if r.header != r.release {
			t.Fatalf("header names release %s, body %s", r.header, r.release)
		}
		seen[r.release]++
	}
	if len(seen) != 2 {
		t.Errorf("releases seen by %d requests: %v, want the old and the new", n, seen)
	}
	var rels struct {
		Data []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"data"`
	}
	body, _ := fetch(t, base+"/v1/releases")
	if err := json.Unmarshal(body, &rels); err != nil || len(rels.Data) != 2 || !rels.Data[0].Current {
		t.Fatalf("/v1/releases after the load: %s (before: %s)", body, first)
	}
	old := rels.Data[1].ID
	if body, status := fetch(t, base+"/v1/observations?offence=sex-purchase&region=NO&release="+old); status != 200 || !strings.Contains(string(body), `"release":"`+old+`"`) {
		t.Errorf("old release %s with release=: got %d %.200s", old, status, body)
	}
	t.Logf("%d requests during the load, by release: %v", n, seen)
}
