package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/export"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

// countingStore counts the walks over observations, each bundle build
// making two, and fails the first failures of them with store.ErrUnavailable.
type countingStore struct {
	store.Store
	walks    atomic.Int32
	failures atomic.Int32
}

func (s *countingStore) EachObservation(ctx context.Context, release string, f store.ObservationFilter, fn func(store.Observation) error) error {
	s.walks.Add(1)
	if s.failures.Add(-1) >= 0 {
		return store.ErrUnavailable
	}
	return s.Store.EachObservation(ctx, release, f, fn)
}

// newDownloadRouter serves the download route alone over the bundled
// release, as Routes wires it.
func newDownloadRouter(t testing.TB, failures int32) (*gin.Engine, *countingStore, *store.Dataset) {
	t.Helper()
	ds, err := store.DecodeDataset(bytes.NewReader(data.Bundled))
	if err != nil {
		t.Fatalf("decode bundled release: %v", err)
	}
	mem := memory.New()
	if err := mem.Load(ds); err != nil {
		t.Fatal(err)
	}
	st := &countingStore{Store: mem}
	st.failures.Store(failures)
	h := New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	h.get(r.Group("/v1"), "/releases/:id/download", route{}, h.newBundles().downloadRelease)
	return r, st, ds
}

func serveDownload(r http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	return rec
}

func TestDownloadRelease(t *testing.T) {
	r, st, ds := newDownloadRouter(t, 0)
	want, err := export.Bundle(context.Background(), st.Store, ds.Release.ID)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(want)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	path := "/v1/releases/" + ds.Release.ID + "/download"
	current := "/v1/releases/current/download"
	size := strconv.Itoa(len(want))

	tests := []struct {
		name, method, target string
		header               []string
		status               int
		body                 []byte // nil: not checked
		headers              map[string]string
	}{
		{"whole", "GET", path, nil, http.StatusOK, want, map[string]string{
			"Content-Type":        "application/zip",
			"Content-Disposition": `attachment; filename="krimstat-` + ds.Release.ID + `.zip"`,
			"Content-Length":      size,
			"Etag":                etag,
			"Last-Modified":       "Mon, 14 Apr 2025 00:00:00 GMT",
			"Cache-Control":       bundleCacheControl,
			"Accept-Ranges":       "bytes",
			releaseHeader:         ds.Release.ID,
		}},
		{"current", "GET", current, nil, http.StatusOK, want, map[string]string{
			"Etag": etag, "Cache-Control": currentBundleCacheControl, releaseHeader: ds.Release.ID,
		}},
		{"head", "HEAD", path, nil, http.StatusOK, []byte{}, map[string]string{"Content-Length": size, "Etag": etag}},
		{"range", "GET", path, []string{"Range", "bytes=0-99"}, http.StatusPartialContent, want[:100], map[string]string{
			"Content-Range": "bytes 0-99/" + size, "Content-Length": "100",
		}},
		{"suffix range", "GET", path, []string{"Range", "bytes=-10"}, http.StatusPartialContent, want[len(want)-10:], nil},
		{"range if unchanged", "GET", path, []string{"Range", "bytes=10-19", "If-Range", etag}, http.StatusPartialContent, want[10:20], nil},
		{"range if changed", "GET", path, []string{"Range", "bytes=10-19", "If-Range", `"other"`}, http.StatusOK, want, nil},
		{"unsatisfiable range", "GET", path, []string{"Range", "bytes=" + size + "-"}, http.StatusRequestedRangeNotSatisfiable, nil, nil},
		{"not modified", "GET", path, []string{"If-None-Match", etag}, http.StatusNotModified, []byte{}, map[string]string{"Etag": etag}},
		{"modified", "GET", path, []string{"If-None-Match", `"other"`}, http.StatusOK, want, nil},
		{"unknown release", "GET", "/v1/releases/no-such-release/download", nil, http.StatusNotFound, nil, map[string]string{
			"Content-Type": "application/problem+json",
		}},
		{"unknown parameter", "GET", path + "?format=csv", nil, http.StatusBadRequest, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serveDownload(r, tt.method, tt.target, tt.header...)
			if rec.Code != tt.status {
				t.Fatalf("%s %s: status %d, want %d: %s", tt.method, tt.target, rec.Code, tt.status, rec.Body.Bytes()[:min(rec.Body.Len(), 300)])
			}
			if tt.body != nil && !bytes.Equal(rec.Body.Bytes(), tt.body) {
				t.Errorf("body: %d bytes, want %d", rec.Body.Len(), len(tt.body))
			}
			for name, want := range tt.headers {
				// A media type may carry parameters (charset).
				if got := rec.Header().Get(name); !strings.HasPrefix(got, want) || (name != "Content-Type" && got != want) {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
		})
	}
	// Two walks over the observations (CSV and Parquet) build the bundle;
	// every request above was answered from that one build.
	if got := st.walks.Load(); got != 2 {
		t.Errorf("observations walked %d times, want 2 (one build)", got)
	}
}

// TestDownloadReleaseOneBuild checks that requests arriving together wait
// for one build.
func TestDownloadReleaseOneBuild(t *testing.T) {
	r, st, ds := newDownloadRouter(t, 0)
	var wg sync.WaitGroup
	etags := make([]string, 16)
	for i := range etags {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := "/v1/releases/current/download"
			if i%2 == 0 {
				target = "/v1/releases/" + ds.Release.ID + "/download"
			}
			rec := serveDownload(r, "GET", target)
			if rec.Code == http.StatusOK {
				etags[i] = rec.Header().Get("Etag")
			}
		}()
	}
	wg.Wait()
	for i, e := range etags {
		if e == "" || e != etags[0] {
			t.Errorf("request %d: ETag %q, want the one ETag %q", i, e, etags[0])
		}
	}
	if got := st.walks.Load(); got != 2 {
		t.Errorf("observations walked %d times, want 2 (one build)", got)
	}
}

// TestDownloadReleaseRetry checks that a failed build is not kept: the
// request gets the store's error, and the next request builds again.
func TestDownloadReleaseRetry(t *testing.T) {
	r, _, _ := newDownloadRouter(t, 1)
	if rec := serveDownload(r, "GET", "/v1/releases/current/download"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("store unavailable: status %d, want 503", rec.Code)
	}
	if rec := serveDownload(r, "GET", "/v1/releases/current/download"); rec.Code != http.StatusOK {
		t.Fatalf("store back: status %d, want 200", rec.Code)
	}
}

// TestBundlesBound checks that the memo keeps at most maxBundles finished
// bundles, dropping the oldest.
func TestBundlesBound(t *testing.T) {
	b := &bundles{byID: map[string]*bundle{}}
	for i := range maxBundles + 3 {
		b.mu.Lock()
		b.evict()
		done := make(chan struct{})
		close(done)
		id := strconv.Itoa(i)
		b.byID[id] = &bundle{done: done}
		b.order = append(b.order, id)
		b.mu.Unlock()
	}
	if len(b.byID) != maxBundles || len(b.order) != maxBundles {
		t.Fatalf("memo holds %d bundles (%d in order), want %d", len(b.byID), len(b.order), maxBundles)
	}
	if _, ok := b.byID["0"]; ok {
		t.Errorf("oldest bundle kept, want it dropped")
	}
	if _, ok := b.byID[strconv.Itoa(maxBundles+2)]; !ok {
		t.Errorf("newest bundle dropped, want it kept")
	}
}
