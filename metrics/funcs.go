package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Kind says how Prometheus should treat a value read by a callback.
type Kind int

// The kinds of callback metrics. A Counter only ever grows (its name should
// end in _total); a Gauge goes up and down.
const (
	Counter Kind = iota
	Gauge
)

func (k Kind) valueType() prometheus.ValueType {
	if k == Gauge {
		return prometheus.GaugeValue
	}
	return prometheus.CounterValue
}

// CounterFunc registers a counter whose value f returns at scrape time, for
// counters another package keeps, such as a Stats field. The same name may
// be registered again with other values of the same label names. It returns
// the registry's error for a clash.
func (m *Metrics) CounterFunc(name, help string, labels prometheus.Labels, f func() float64) error {
	return m.reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: name, Help: help, ConstLabels: labels,
	}, f))
}

// GaugeFunc is CounterFunc for a value that goes up and down.
func (m *Metrics) GaugeFunc(name, help string, labels prometheus.Labels, f func() float64) error {
	return m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: name, Help: help, ConstLabels: labels,
	}, f))
}

// Snapshot registers one metric with one variable label, whose values f
// returns at scrape time as a map from label value to value: one call reads
// a whole Stats snapshot consistently, e.g. cache hits by tier. A nil or
// empty map exports nothing. It returns the registry's error for a clash.
func (m *Metrics) Snapshot(name, help string, kind Kind, label string, f func() map[string]float64) error {
	return m.reg.Register(&snapshot{
		desc: prometheus.NewDesc(name, help, []string{label}, nil),
		kind: kind.valueType(),
		f:    f,
	})
}

// ReleaseInfo registers krimstat_release_info{release="<id>"} 1, the id
// read through f at scrape time so that loading a new release shows at
// once. Nothing is exported while f returns "".
func (m *Metrics) ReleaseInfo(f func() string) error {
	return m.reg.Register(&info{
		desc: prometheus.NewDesc("krimstat_release_info",
			"The data release being served, as a label; the value is always 1.", []string{"release"}, nil),
		f: f,
	})
}

// snapshot is a collector of values read through a callback.
type snapshot struct {
	desc *prometheus.Desc
	kind prometheus.ValueType
	f    func() map[string]float64
}

func (s *snapshot) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

func (s *snapshot) Collect(ch chan<- prometheus.Metric) {
	for label, v := range s.f() {
		ch <- constMetric(s.desc, s.kind, v, label)
	}
}

// info is a collector of one info-style gauge.
type info struct {
	desc *prometheus.Desc
	f    func() string
}

func (i *info) Describe(ch chan<- *prometheus.Desc) { ch <- i.desc }

func (i *info) Collect(ch chan<- prometheus.Metric) {
	if v := i.f(); v != "" {
		ch <- constMetric(i.desc, prometheus.GaugeValue, 1, v)
	}
}

// constMetric turns a bad label value (invalid UTF-8) into a scrape error
// that promhttp reports, rather than a panic.
func constMetric(d *prometheus.Desc, t prometheus.ValueType, v float64, label string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, t, v, label)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}
