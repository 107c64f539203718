package export_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/krimstat/krimstat/export"
	"github.com/krimstat/krimstat/store"
)

func TestLabel(t *testing.T) {
	st := newStore(t, smallDataset())
	ctx := context.Background()
	tests := []struct {
		lang                               string
		obs                                int // index into smallDataset().Observations
		offence, region, measure, unit     string
		sourceTitle, sourcePublisher, text string
	}{
		{export.EN, 0, "Purchase of sexual services", "Norway", "Persons reported", "persons", "Answer, with a | pipe", "Stortinget", ""},
		{export.NB, 0, "Kjøp av seksuelle tjenester", "Norge", "Personer anmeldt", "persons", "Answer, with a | pipe", "Stortinget", ""},
		// Sweden has no Norwegian name: Norwegian files fall back to English.
		{export.NB, 3, "Kjøp av seksuelle tjenester", "Sweden", "Personer anmeldt", "persons", "Table \"b\"", "Eurostat", "<5"},
	}
	for _, tt := range tests {
		n, err := export.NewNames(ctx, st, "20240101-test", tt.lang)
		if err != nil {
			t.Fatal(err)
		}
		o := smallDataset().Observations[tt.obs]
		r := n.Label(o)
		got := []string{r.OffenceName, r.RegionName, r.MeasureName, r.Unit, r.SourceTitle, r.SourcePublisher, r.ValueText}
		want := []string{tt.offence, tt.region, tt.measure, tt.unit, tt.sourceTitle, tt.sourcePublisher, tt.text}
		if !slices.Equal(got, want) {
			t.Errorf("%s: Label(%s %s %s) = %q, want %q", tt.lang, o.Offence, o.Region, o.Period, got, want)
		}
	}
}

func TestRecord(t *testing.T) {
	st := newStore(t, smallDataset())
	n, err := export.NewNames(context.Background(), st, export.Current, export.EN)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		obs  int
		want map[string]string
	}{
		{0, map[string]string{"period": "2009", "period_start": "2009-01-01", "value": "334", "value_text": "", "flags": "", "sex": "total", "confidence": "A"}},
		// A real zero is a number, not a gap.
		{2, map[string]string{"period": "2013-T1", "period_start": "2013-01-01", "value": "0", "flags": "partial-year"}},
		// A suppressed figure leaves value empty and says why in value_text.
		{3, map[string]string{"value": "", "value_text": "<5", "flags": "suppressed;inconsistent-in-source", "sex": "female", "age": "total"}},
		{4, map[string]string{"value": "12.5", "offence_name": "Street", "source_url": "https://example.org/a", "source_licence": "public record; cite the source"}},
	}
	for _, tt := range tests {
		rec := n.Label(smallDataset().Observations[tt.obs]).Record()
		if len(rec) != len(export.Columns) {
			t.Fatalf("Record has %d fields, want %d (Columns)", len(rec), len(export.Columns))
		}
		for col, want := range tt.want {
			if got := rec[slices.Index(export.Columns, col)]; got != want {
				t.Errorf("observation %d: %s = %q, want %q", tt.obs, col, got, want)
			}
		}
	}
}

func TestNewNamesErrors(t *testing.T) {
	st := newStore(t, smallDataset())
	tests := []struct {
		release, lang string
		want          error
	}{
		{"no-such-release", export.EN, store.ErrNotFound},
		{"20240101-test", "de", store.ErrInvalid},
		{"20240101-test", "", store.ErrInvalid},
	}
	for _, tt := range tests {
		_, err := export.NewNames(context.Background(), st, tt.release, tt.lang)
		if !errors.Is(err, tt.want) {
			t.Errorf("NewNames(%q, %q) error = %v, want %v", tt.release, tt.lang, err, tt.want)
		}
	}
}

// TestUntranslated lists the names a Norwegian file shows in English. The
// bundled release has a Norwegian name for everything; a release without
// one is listed.
func TestUntranslated(t *testing.T) {
	st, ds := bundledStore(t)
	n, err := export.NewNames(context.Background(), st, ds.Release.ID, export.NB)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Untranslated(); len(got) != 0 {
		t.Errorf("bundled release: untranslated names %q, want none", got)
	}
	small, err := export.NewNames(context.Background(), newStore(t, smallDataset()), export.Current, export.NB)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := small.Untranslated(), []string{"region SE"}; !slices.Equal(got, want) {
		t.Errorf("small release: untranslated = %q, want %q", got, want)
	}
}

// TestRowsStops checks that a reader that stops early ends the store walk
// without an error.
func TestRowsStops(t *testing.T) {
	st, ds := bundledStore(t)
	ctx := context.Background()
	n, err := export.NewNames(ctx, st, ds.Release.ID, export.EN)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, err := range export.Rows(ctx, st, n, store.ObservationFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if seen++; seen == 10 {
			break
		}
	}
	if seen != 10 {
		t.Errorf("got %d rows, want 10", seen)
	}
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	var last error
	for _, err := range export.Rows(ctx, st, n, store.ObservationFilter{}) {
		last = err
	}
	if !errors.Is(last, context.Canceled) {
		t.Errorf("rows of a cancelled context: last error %v, want context.Canceled", last)
	}
}
