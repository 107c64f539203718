package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's log writes and the
// test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServe runs `krimstat serve` in the background on a free port and
// returns its base URL, its log, and a stop function that returns run's error.
func startServe(t *testing.T, env map[string]string, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	getenv := func(k string) string {
		switch k {
		case "KRIMSTAT_ADDR":
			return "127.0.0.1:0"
		case "KRIMSTAT_RATELIMIT":
			// The load tests send thousands of requests from one address.
			if v, ok := env[k]; ok {
				return v
			}
			return "off"
		}
		return env[k]
	}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"krimstat", "serve"}, args...), getenv, logs) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(logs.String(), "\n") {
			var entry struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "listening" {
				stopped := false
				var stopErr error
				stop := func() error {
					if !stopped {
						stopped = true
						cancel()
						stopErr = <-done
					}
					return stopErr
				}
				t.Cleanup(func() { _ = stop() })
				return "http://" + entry.Addr, logs, stop
			}
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve exited early: %v\n%s", err, logs)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("serve did not start within 20s:\n%s", logs)
	return "", nil, nil
}

func TestServeBundledAndShutdown(t *testing.T) {
	base, logs, stop := startServe(t, nil)
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ready"`) {
		t.Fatalf("/readyz: got %d %s, want 200 ready", resp.StatusCode, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v after shutdown, want nil", err)
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("log has no stopped line:\n%s", logs)
	}
}

func TestRunUsage(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"krimstat"}, func(string) string { return "" }, &out); err == nil {
		t.Error("no command: got nil error, want usage error")
	}
	if err := run(context.Background(), []string{"krimstat", "frobnicate"}, func(string) string { return "" }, &out); err == nil {
		t.Error("unknown command: got nil error")
	}
	if !strings.Contains(out.String(), "usage: krimstat") {
		t.Errorf("usage not printed: %s", out.String())
	}
}

func TestConfigRejectsBadValues(t *testing.T) {
	for _, env := range []map[string]string{
		{"KRIMSTAT_LOG_LEVEL": "loud"},
		{"KRIMSTAT_REQUEST_TIMEOUT": "soon"},
	} {
		_, err := loadConfig(func(k string) string { return env[k] })
		if err == nil {
			t.Errorf("%v: got nil error, want one", env)
		}
	}
}

// TestGracefulShutdownUnderLoad stops the server while clients hammer it:
// every request either completes with 200 or is refused at connect (never
// cut off mid-response), and serve returns nil within its deadline.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	base, _, stop := startServe(t, map[string]string{"KRIMSTAT_CACHE": "off", "KRIMSTAT_SHUTDOWN_TIMEOUT": "10s",
		// The load comes from one client: its caps would turn it into 429s.
		"KRIMSTAT_COMPUTE_PER_CLIENT": "1000", "KRIMSTAT_INFLIGHT_PER_CLIENT": "1000"})
	var (
		wg               sync.WaitGroup
		mu               sync.Mutex
		ok, refused, bad int
		badErr           error
	)
	done := make(chan struct{})
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 400; i++ {
				select {
				case <-done:
					return
				default:
				}
				resp, err := client.Get(base + "/v1/observations?region=NO&limit=2000")
				mu.Lock()
				switch {
				case err != nil && (strings.Contains(err.Error(), "connection refused") ||
					strings.Contains(err.Error(), "server closed idle connection") ||
					// A plain EOF before any response: the request went out on
					// a kept-alive connection that Shutdown closed as idle,
					// so the server never read it. A response cut off midway
					// is an unexpected EOF while reading the body instead.
					errors.Is(err, io.EOF)):
					refused++
				case err != nil:
					bad++
					badErr = err
				default:
					_, rerr := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if rerr != nil || resp.StatusCode != 200 {
						bad++
						badErr = fmt.Errorf("status %d, body error %v", resp.StatusCode, rerr)
					} else {
						ok++
					}
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("serve returned %v, want nil", err)
	}
	took := time.Since(start)
	close(done)
	wg.Wait()
	if bad > 0 {
		t.Errorf("%d requests failed other than by refusal, e.g. %v", bad, badErr)
	}
	if ok == 0 {
		t.Error("no request completed before the shutdown")
	}
	if took > 10*time.Second {
		t.Errorf("shutdown took %s, longer than its deadline", took)
	}
	t.Logf("shutdown in %s: %d completed, %d refused after the listener closed", took, ok, refused)
}

// TestProblemRequestIDBehindCache: a problem computed behind the response
// cache still names the request id the response carries.
func TestProblemRequestIDBehindCache(t *testing.T) {
	base, _, _ := startServe(t, nil)
	resp, err := http.Get(base + "/v1/observations?from=20x9")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct {
		RequestID string `json:"request_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p.RequestID == "" || p.RequestID != resp.Header.Get("X-Request-ID") {
		t.Errorf("problem request_id %q, header %q: want the same, non-empty", p.RequestID, resp.Header.Get("X-Request-ID"))
	}
}
