package jsonstat

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/krimstat/krimstat/store"
)

func TestFetch(t *testing.T) {
	body := `{"version":"2.0"}`
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" {
			http.Error(w, "want Accept: application/json", http.StatusNotAcceptable)
			return
		}
		w.Write([]byte(body))
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusBadGateway)
	})
	mux.HandleFunc("/big-declared", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte(strings.Repeat("x", 1000)))
	})
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		for range 10 {
			w.Write([]byte(strings.Repeat("x", 100)))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/truncated", func(w http.ResponseWriter, r *http.Request) {
		// The server promises 500 bytes and hangs up after 10.
		w.Header().Set("Content-Length", "500")
		w.Write([]byte(`{"version"`))
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tests := []struct {
		path    string
		max     int64
		timeout time.Duration
		want    string // error substring; "" for success
		kind    error  // the sentinel the error wraps
	}{
		{"/ok", 100, 0, "", nil},
		{"/ok", int64(len(body)), 0, "", nil},
		{"/missing", 100, 0, "status 404 Not Found", store.ErrNotFound},
		{"/broken", 100, 0, "status 502 Bad Gateway", store.ErrUnavailable},
		{"/big-declared", 999, 0, "Content-Length 1000 exceeds the size limit of 999 bytes", store.ErrInvalid},
		{"/big-chunked", 999, 0, "body exceeds the size limit of 999 bytes", store.ErrInvalid},
		{"/big-chunked", 1000, 0, "", nil},
		{"/truncated", 1000, 0, "truncated: got 10 of 500 bytes", store.ErrInvalid},
		{"/slow", 1000, 50 * time.Millisecond, "context deadline exceeded", store.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			got, err := Fetch(ctx, srv.Client(), srv.URL+tt.path, tt.max)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if len(got) == 0 {
					t.Errorf("got an empty body")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), srv.URL+tt.path) {
				t.Fatalf("got %v, want an error naming the URL and containing %q", err, tt.want)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("got %v, want it to wrap %v", err, tt.kind)
			}
		})
	}
}

func TestFetchRejectsBadLimit(t *testing.T) {
	_, err := Fetch(context.Background(), nil, "http://127.0.0.1:1/", 0)
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("got %v, want ErrInvalid for a zero size limit", err)
	}
}

// TestFetchThenDecode reads the real SSB sample through a local server, as
// `krimstat ingest --fetch` would read SSB's API.
func TestFetchThenDecode(t *testing.T) {
	srv := httptest.NewServer(http.FileServer(http.Dir(testdata)))
	t.Cleanup(srv.Close)
	url := srv.URL + "/ssb-05300-v0.json"
	data, err := Fetch(context.Background(), srv.Client(), url, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := Decode(strings.NewReader(string(data)), url)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 432 {
		t.Errorf("Len() = %d, want 432", ds.Len())
	}
}
