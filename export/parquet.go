package export

import (
	"fmt"
	"io"
	"iter"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"
)

// parquetRow is a Row as a Parquet record, its columns those of Columns.
// Text that may be absent is optional, so a reader sees null where CSV has
// an empty field; value is an optional DOUBLE, null for a figure the source
// gave as text, so a gap never reads as zero.
type parquetRow struct {
	Offence             string    `parquet:"offence,dict"`
	OffenceName         string    `parquet:"offence_name,dict"`
	Region              string    `parquet:"region,dict"`
	RegionName          string    `parquet:"region_name,dict"`
	Period              string    `parquet:"period,dict"`
	PeriodStart         time.Time `parquet:"period_start,date"`
	Measure             string    `parquet:"measure,dict"`
	MeasureName         string    `parquet:"measure_name,dict"`
	Unit                string    `parquet:"unit,dict"`
	Sex                 string    `parquet:"sex,dict"`
	Age                 string    `parquet:"age,dict"`
	Citizenship         string    `parquet:"citizenship,dict"`
	RepatriationCountry string    `parquet:"repatriation_country,dict"`
	Value               *float64  `parquet:"value,optional"`
	ValueText           string    `parquet:"value_text,optional,dict"`
	Flags               string    `parquet:"flags,optional,dict"`
	Confidence          string    `parquet:"confidence,dict"`
	Source              string    `parquet:"source,dict"`
	SourceTitle         string    `parquet:"source_title,dict"`
	SourcePublisher     string    `parquet:"source_publisher,dict"`
	SourceURL           string    `parquet:"source_url,optional,dict"`
	SourceLicence       string    `parquet:"source_licence,optional,dict"`
	Locator             string    `parquet:"locator,optional"`
}

func toParquet(r Row) parquetRow {
	b := r.Breakdown
	start, _ := time.Parse(time.DateOnly, r.PeriodStart())
	return parquetRow{
		Offence: r.Offence, OffenceName: r.OffenceName, Region: r.Region, RegionName: r.RegionName,
		Period: r.Period, PeriodStart: start,
		Measure: r.Measure, MeasureName: r.MeasureName, Unit: r.Unit,
		Sex: orTotal(b.Sex), Age: orTotal(b.Age), Citizenship: orTotal(b.Citizenship), RepatriationCountry: orTotal(b.RepatriationCountry),
		Value: r.Value, ValueText: r.ValueText, Flags: r.FlagText(), Confidence: r.Confidence,
		Source: r.Source, SourceTitle: r.SourceTitle, SourcePublisher: r.SourcePublisher,
		SourceURL: r.SourceURL, SourceLicence: r.SourceLicence, Locator: r.Locator,
	}
}

// Sizes that bound the Parquet writer's memory: rows are handed over in
// batches, and a row group is closed (written out) every parquetGroupRows.
const (
	parquetBatch     = 1024
	parquetGroupRows = 64 << 10
)

// WriteParquet writes rows as one Parquet file with typed columns (those
// of Columns; period_start a DATE, value an optional DOUBLE), compressed
// with Snappy, in row groups of at most 65,536 rows, so memory stays bounded
// by one row group. The file's created_by names Krimstat and no library
// version, so the same rows give the same bytes with any build. It returns
// the first error of rows or of w.
func WriteParquet(w io.Writer, rows iter.Seq2[Row, error]) error {
	pw := parquet.NewGenericWriter[parquetRow](w,
		parquet.Compression(&snappy.Codec{}),
		parquet.MaxRowsPerRowGroup(parquetGroupRows),
		parquet.CreatedBy("krimstat", "1", "export"),
	)
	batch := make([]parquetRow, 0, parquetBatch)
	flush := func() error {
		if _, err := pw.Write(batch); err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	for r, err := range rows {
		if err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		batch = append(batch, toParquet(r))
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}
