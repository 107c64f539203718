package ratelimit_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/problem"
	"github.com/krimstat/krimstat/ratelimit"
)

// TestGate holds requests inside the handler and checks who else gets in:
// a client at its cap gets 429, any client once the server is at its cap
// gets 503, and places free when responses are written.
func TestGate(t *testing.T) {
	g := ratelimit.NewGate(ratelimit.GateConfig{PerClient: 2, Total: 3})
	release := make(chan struct{})
	entered := make(chan struct{}, 10)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/hold", g.Middleware(), func(c *gin.Context) {
		entered <- struct{}{}
		<-release
		c.String(http.StatusOK, "ok")
	})
	r.GET("/now", g.Middleware(), func(c *gin.Context) { c.String(http.StatusOK, "ok") })

	get := func(path, client string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = client + ":1234"
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec
	}
	var wg sync.WaitGroup
	hold := func(client string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rec := get("/hold", client); rec.Code != http.StatusOK {
				t.Errorf("held request of %s: got %d, want 200", client, rec.Code)
			}
		}()
		<-entered
	}
	hold("192.0.2.1")
	hold("192.0.2.1")

	tests := []struct {
		name, client string
		want         int
		wantType     string
	}{
		{"client at its cap", "192.0.2.1", http.StatusTooManyRequests, ratelimit.ProblemTooManyInFlight},
		{"other client has room", "192.0.2.2", http.StatusOK, ""},
	}
	for _, tt := range tests {
		rec := get("/now", tt.client)
		if rec.Code != tt.want {
			t.Fatalf("%s: got %d, want %d", tt.name, rec.Code, tt.want)
		}
		if tt.wantType != "" {
			checkProblem(t, rec, tt.wantType)
		}
	}
	hold("192.0.2.3")
	if got := g.InFlight(); got != 3 {
		t.Fatalf("in flight: got %d, want 3", got)
	}
	rec := get("/now", "192.0.2.4")
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("server at its cap: got %d, want 503", rec.Code)
	}
	checkProblem(t, rec, ratelimit.ProblemOverloaded)

	close(release)
	wg.Wait()
	if got := g.InFlight(); got != 0 {
		t.Errorf("in flight after all answered: got %d, want 0", got)
	}
	if rec := get("/now", "192.0.2.1"); rec.Code != http.StatusOK {
		t.Errorf("after the held requests: got %d, want 200", rec.Code)
	}
}

func checkProblem(t *testing.T, rec *httptest.ResponseRecorder, wantType string) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != problem.MediaType {
		t.Errorf("Content-Type: got %q, want %q", ct, problem.MediaType)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After: got %q, want 1", ra)
	}
	var p problem.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Type != wantType || p.Status != rec.Code {
		t.Errorf("problem: got %+v (%v), want type %s status %d", p, err, wantType, rec.Code)
	}
}

// TestGateWaits shows a request beyond its client's cap waiting for a
// place instead of being refused: a page's burst is served in turn.
func TestGateWaits(t *testing.T) {
	g := ratelimit.NewGate(ratelimit.GateConfig{PerClient: 1, Total: 10})
	first := make(chan struct{})
	entered := make(chan struct{}, 2)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/x", g.Middleware(), func(c *gin.Context) {
		entered <- struct{}{}
		if c.Query("hold") != "" {
			<-first
		}
		c.String(http.StatusOK, "ok")
	})
	get := func(target string) int {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.RemoteAddr = "192.0.2.9:1"
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec.Code
	}
	done := make(chan int, 2)
	go func() { done <- get("/x?hold=1") }()
	<-entered
	go func() { done <- get("/x") }()
	// The second request waits for the first's place; let the first go.
	time.Sleep(50 * time.Millisecond)
	close(first)
	for range 2 {
		if code := <-done; code != http.StatusOK {
			t.Errorf("got %d, want both answered 200", code)
		}
	}
	if n := g.InFlight(); n != 0 {
		t.Errorf("in flight: got %d, want 0", n)
	}
}
