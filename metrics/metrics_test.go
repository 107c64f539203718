package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/krimstat/krimstat/metrics"
)

// newEngine wires m the way handlers.Routes does: the middleware on every
// route, the handler at /metrics.
func newEngine(m *metrics.Metrics) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(m.Middleware())
	r.GET("/metrics", gin.WrapH(m.Handler()))
	ok := func(c *gin.Context) { c.String(http.StatusOK, "ok") }
	r.GET("/v1/regions/:id", ok)
	r.HEAD("/v1/regions/:id", ok)
	r.GET("/v1/offences/*id", ok)
	r.GET("/v1/broken", func(c *gin.Context) { c.Status(http.StatusServiceUnavailable) })
	return r
}

func do(h http.Handler, method, path string) int {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w.Code
}

// scrape GETs /metrics and parses the text format.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("/metrics: got status %d, want 200", w.Code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(w.Body.String()))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, w.Body)
	}
	return fams
}

// value returns the value of the sample of family name whose labels include
// want, and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestRequestMetrics(t *testing.T) {
	m := metrics.New()
	h := newEngine(m)
	requests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/v1/regions/NO", 200},
		{"GET", "/v1/regions/SE", 200},
		{"GET", "/v1/regions/03", 200},
		{"HEAD", "/v1/regions/NO", 200},
		{"GET", "/v1/offences/sex-purchase/x", 200},
		{"GET", "/v1/broken", 503},
		{"GET", "/wp-login.php", 404},
		{"GET", "/etc/passwd", 404},
		{"POST", "/v1/regions/NO", 405},
		{"BREW", "/v1/regions/NO", 405},
	}
	for _, r := range requests {
		if got := do(h, r.method, r.path); got != r.want {
			t.Fatalf("%s %s: got %d, want %d", r.method, r.path, got, r.want)
		}
	}
	fams := scrape(t, h)
	counts := []struct {
		route, method, status string
		want                  float64
	}{
		{"/v1/regions/:id", "GET", "200", 3},
		{"/v1/regions/:id", "HEAD", "200", 1},
		{"/v1/offences/*id", "GET", "200", 1},
		{"/v1/broken", "GET", "503", 1},
		{metrics.Unmatched, "GET", "404", 2},
		{metrics.Unmatched, "POST", "405", 1},
		{metrics.Unmatched, "OTHER", "405", 1},
	}
	for _, c := range counts {
		got, ok := value(fams, "krimstat_http_requests_total", map[string]string{"route": c.route, "method": c.method, "status": c.status})
		if !ok || got != c.want {
			t.Errorf("requests_total{route=%q,method=%q,status=%q}: got %v (present %v), want %v",
				c.route, c.method, c.status, got, ok, c.want)
		}
	}
	got, ok := value(fams, "krimstat_http_request_duration_seconds", map[string]string{"route": "/v1/regions/:id", "method": "GET"})
	if !ok || got != 3 {
		t.Errorf("duration count for GET /v1/regions/:id: got %v (present %v), want 3", got, ok)
	}
	for _, m := range fams["krimstat_http_requests_total"].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "route" && (strings.Contains(lp.GetValue(), "NO") || strings.Contains(lp.GetValue(), "passwd")) {
				t.Errorf("route label: got raw path %q, want a template", lp.GetValue())
			}
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s: missing, want the Go and process collectors", name)
		}
	}
}

func TestCallbacks(t *testing.T) {
	m := metrics.New()
	var hits, errs atomic.Uint64
	release := atomic.Value{}
	release.Store("")
	checks := []error{
		m.Snapshot("krimstat_cache_hits_total", "Cache hits by tier.", metrics.Counter, "tier", func() map[string]float64 {
			return map[string]float64{"local": float64(hits.Load()), "redis": 2}
		}),
		m.CounterFunc("krimstat_redis_errors_total", "Redis errors.", prometheus.Labels{"component": "cache"},
			func() float64 { return float64(errs.Load()) }),
		m.CounterFunc("krimstat_redis_errors_total", "Redis errors.", prometheus.Labels{"component": "ratelimit"},
			func() float64 { return 7 }),
		m.GaugeFunc("krimstat_ratelimit_local_keys", "Clients tracked in process.", nil, func() float64 { return 3 }),
		m.ReleaseInfo(func() string { return release.Load().(string) }),
	}
	for i, err := range checks {
		if err != nil {
			t.Fatalf("registration %d: %v", i, err)
		}
	}
	if err := m.CounterFunc("krimstat_redis_errors_total", "Redis errors.", prometheus.Labels{"component": "cache"},
		func() float64 { return 0 }); err == nil {
		t.Errorf("duplicate registration: got nil, want an error")
	}
	h := newEngine(m)

	fams := scrape(t, h)
	if _, ok := fams["krimstat_release_info"]; ok {
		t.Errorf("release_info before a release: got a sample, want none")
	}
	hits.Store(5)
	errs.Store(1)
	release.Store("20250414-3da80bd7")
	fams = scrape(t, h)
	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"krimstat_cache_hits_total", map[string]string{"tier": "local"}, 5},
		{"krimstat_cache_hits_total", map[string]string{"tier": "redis"}, 2},
		{"krimstat_redis_errors_total", map[string]string{"component": "cache"}, 1},
		{"krimstat_redis_errors_total", map[string]string{"component": "ratelimit"}, 7},
		{"krimstat_ratelimit_local_keys", nil, 3},
		{"krimstat_release_info", map[string]string{"release": "20250414-3da80bd7"}, 1},
	}
	for _, w := range want {
		got, ok := value(fams, w.name, w.labels)
		if !ok || got != w.value {
			t.Errorf("%s%v: got %v (present %v), want %v", w.name, w.labels, got, ok, w.value)
		}
	}
	if got := fams["krimstat_cache_hits_total"].GetType(); got != dto.MetricType_COUNTER {
		t.Errorf("cache_hits_total type: got %v, want COUNTER", got)
	}

	release.Store("20250601-0badc0de")
	fams = scrape(t, h)
	if n := len(fams["krimstat_release_info"].GetMetric()); n != 1 {
		t.Errorf("release_info after a new release: got %d samples, want 1", n)
	}
	if _, ok := value(fams, "krimstat_release_info", map[string]string{"release": "20250601-0badc0de"}); !ok {
		t.Errorf("release_info: got %v, want the new release", fams["krimstat_release_info"])
	}
}

func TestSeparateRegistries(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	do(newEngine(a), "GET", "/v1/regions/NO")
	if got, _ := value(scrape(t, newEngine(b)), "krimstat_http_requests_total",
		map[string]string{"route": "/v1/regions/:id"}); got != 0 {
		t.Errorf("second Metrics: got %v requests, want 0", got)
	}
}

func TestOpenMetrics(t *testing.T) {
	m := metrics.New()
	h := newEngine(m)
	r := httptest.NewRequest("GET", "/metrics", nil)
	r.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Errorf("Content-Type: got %q, want application/openmetrics-text", ct)
	}
	if !strings.HasSuffix(w.Body.String(), "# EOF\n") {
		t.Errorf("body: want it to end with # EOF")
	}
}
