// Package metrics exposes the API's Prometheus metrics at /metrics.
//
// Everything is registered on a registry of the Metrics' own, never on
// Prometheus' global default, so tests and several servers in one process do
// not collide. Other packages stay free of Prometheus: they keep plain
// counters (a Stats method) and the caller registers a callback here that
// reads them at scrape time.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the registry and the request metrics. Its methods are safe
// for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// series memoises the labelled children by (route, method, status), so
	// the hot path skips hashing the label values on every request. Routes,
	// methods and statuses are bounded sets, so the map stays small.
	series sync.Map
}

// seriesKey names one labelled child of the request metrics.
type seriesKey struct {
	route, method string
	status        int
}

// requestSeries is the counter and histogram of one seriesKey.
type requestSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// Unmatched is the route label of requests no route served (404s, 405s), so
// that scanners probing random paths cannot grow the label set.
const Unmatched = "unmatched"

// durationBuckets span a local-cache hit (sub-millisecond) to a slow
// uncached PostgreSQL query near the request timeout.
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New returns Metrics with the request metrics and the Go and process
// collectors registered.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "krimstat_http_requests_total",
			Help: "HTTP requests served, by route template, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "krimstat_http_request_duration_seconds",
			Help:    "Time from the request reaching the router to the handler returning, by route template and method.",
			Buckets: durationBuckets,
		}, []string{"route", "method"}),
	}
	m.reg.MustRegister(
		m.requests,
		m.duration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the registry in the Prometheus text or OpenMetrics format.
// Collection errors are reported in the response, not hidden.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.reg, // counts promhttp's own scrape errors
	})
}

// Register adds a collector of the caller's own, such as a connection
// pool's. It returns the registry's error when the metric is already
// registered or inconsistent with one that is.
func (m *Metrics) Register(c prometheus.Collector) error {
	return m.reg.Register(c)
}

// Middleware counts and times every request that passes through it. The
// route label is the matched template (c.FullPath(), "/v1/regions/:id"),
// never the raw path, or Unmatched.
func (m *Metrics) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = Unmatched
		}
		k := seriesKey{route, methodLabel(c.Request.Method), c.Writer.Status()}
		v, ok := m.series.Load(k)
		if !ok {
			v, _ = m.series.LoadOrStore(k, &requestSeries{
				requests: m.requests.WithLabelValues(k.route, k.method, strconv.Itoa(k.status)),
				duration: m.duration.WithLabelValues(k.route, k.method),
			})
		}
		s := v.(*requestSeries)
		s.requests.Inc()
		s.duration.Observe(time.Since(start).Seconds())
	}
}

// methodLabel keeps the method label to the standard methods: any other
// token is "OTHER", since clients may send arbitrary ones.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}
