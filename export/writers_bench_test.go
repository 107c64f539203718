package export_test

import (
	"context"
	"io"
	"iter"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/krimstat/krimstat/export"
	"github.com/krimstat/krimstat/store"
)

// syntheticRows yields n labelled rows that differ in region, period and
// value, none of them held after it is yielded.
func syntheticRows(n int) iter.Seq2[export.Row, error] {
	return func(yield func(export.Row, error) bool) {
		for i := range n {
			v := float64(i % 997)
			r := export.Row{
				Observation: store.Observation{
					Offence: "synthetic", Region: "R" + strconv.Itoa(i%500), Period: strconv.Itoa(1000 + i/500%1000),
					Measure: "reported-offences", Value: &v, Flags: []string{}, Source: "synthetic",
					Confidence: "C", Locator: "synthetic row " + strconv.Itoa(i),
				},
				OffenceName: "Synthetic offence", RegionName: "Region " + strconv.Itoa(i%500), MeasureName: "Reported offences",
				Unit: "offences", SourceTitle: "Synthetic release, not data", SourcePublisher: "Krimstat tests",
			}
			if i%13 == 0 {
				r.Value, r.ValueText, r.Flags = nil, "<5", []string{store.FlagSuppressed}
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

// peakHeap runs fn and returns the most heap in use while it ran, in MiB,
// above what was in use before.
func peakHeap(fn func()) float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base := m.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	<-done
	if peak.Load() < base {
		return 0
	}
	return float64(peak.Load()-base) / (1 << 20)
}

// The writers' benchmarks stream a synthetic selection (flagged synthetic)
// of benchRows rows to io.Discard and report the peak heap growth: it
// stays bounded by a row group (Parquet) or excelize's 16 MiB spill
// threshold (XLSX), not by the number of rows.
const benchRows = 100_000

func BenchmarkWriteParquet(b *testing.B) {
	var peak float64
	for b.Loop() {
		peak = max(peak, peakHeap(func() {
			if err := export.WriteParquet(io.Discard, syntheticRows(benchRows)); err != nil {
				b.Fatal(err)
			}
		}))
	}
	b.ReportMetric(peak, "peak-heap-MiB")
	b.ReportMetric(float64(benchRows), "rows")
}

func BenchmarkWriteXLSX(b *testing.B) {
	st := newStore(b, smallDataset())
	n, err := export.NewNames(context.Background(), st, export.Current, export.EN)
	if err != nil {
		b.Fatal(err)
	}
	var peak float64
	for b.Loop() {
		peak = max(peak, peakHeap(func() {
			if err := export.WriteXLSX(io.Discard, n, syntheticRows(benchRows)); err != nil {
				b.Fatal(err)
			}
		}))
	}
	b.ReportMetric(peak, "peak-heap-MiB")
	b.ReportMetric(float64(benchRows), "rows")
}
