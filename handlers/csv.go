package handlers

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/store"
)

// table is a list rendered as CSV: a header row and rows of fields.
type table struct {
	name    string // file name stem, e.g. krimstat-observations-sex-purchase-NO
	header  []string
	rows    [][]string
	dialect string   // csvRFC4180 (the default when empty) or csvExcelNO
	numeric []string // columns holding numbers, written with a decimal comma in excel-no
}

// CSV dialects.
const (
	csvRFC4180 = "rfc4180"
	// csvExcelNO is what Excel in a Norwegian locale opens without the
	// import wizard: a UTF-8 byte order mark, ";" between fields, a
	// decimal comma and CRLF line ends.
	csvExcelNO = "excel-no"
)

// representation reads the format (parameter or Accept header, among
// offered) and the CSV dialect of a request.
func (q query) representation(accept string, offered ...string) (format, dialect string, err error) {
	if format, err = q.format(accept, offered...); err != nil {
		return "", "", err
	}
	if dialect, err = csvDialectOf(q); err != nil {
		return "", "", err
	}
	return format, dialect, nil
}

// csvDialectOf reads the csv_dialect parameter.
func csvDialectOf(q query) (string, error) {
	d, err := q.one("csv_dialect")
	if err != nil {
		return "", err
	}
	switch d {
	case "", csvRFC4180:
		return csvRFC4180, nil
	case csvExcelNO:
		return csvExcelNO, nil
	}
	return "", store.InvalidParam("csv_dialect", "%q: want %s or %s", d, csvRFC4180, csvExcelNO)
}

// fileName joins a file name stem from parts, keeping letters, digits,
// "-" and "." and replacing anything else (such as the "/" of iccs/0302)
// with "-"; empty parts are left out. A name longer than maxFileName is
// cut, and a short hash of the whole name keeps it distinct: filters of
// many values must not make a file name no file system takes.
func fileName(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p == "" {
			continue
		}
		kept = append(kept, strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
				return r
			}
			return '-'
		}, p))
	}
	name := strings.Join(kept, "-")
	if len(name) <= maxFileName {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:maxFileName-9] + "-" + hex.EncodeToString(sum[:4])
}

// maxFileName bounds a download's file name stem, in bytes.
const maxFileName = 120

// writeCSV sends a CSV with a header row: RFC 4180 (comma, CRLF, quoted
// where needed) by default, or the excel-no dialect. The file name ends
// with the release the response comes from.
//
// In excel-no, text cells that start with = + - @ (or a tab or carriage
// return) get a leading ' so that Excel shows them as text instead of
// running them as formulas; numeric columns are written with a decimal
// comma and never prefixed. RFC 4180 output is left exactly as published.
func writeCSV(c *gin.Context, t table) {
	out := startCSV(c, t)
	for _, row := range t.rows {
		if out.row(row) != nil {
			return // the client went away
		}
	}
	_ = out.end()
}

// csvOut writes a CSV response row by row, so a whole selection can be
// streamed without being held: t's rows are ignored, its name, header,
// numeric columns and dialect used.
type csvOut struct {
	w       *csv.Writer
	excel   bool
	numeric []bool
	cells   []string
	rows    int
}

// startCSV sends the headers and the header row of t.
func startCSV(c *gin.Context, t table) *csvOut {
	name := t.name
	if rel := c.Writer.Header().Get(releaseHeader); rel != "" {
		name = fileName(name) + "-" + fileName(rel)
	}
	c.Header("Content-Type", "text/csv; charset=utf-8; header=present")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csv"`, name))
	c.Status(http.StatusOK)
	o := &csvOut{w: csv.NewWriter(c.Writer), excel: t.dialect == csvExcelNO, cells: make([]string, len(t.header))}
	o.w.UseCRLF = true
	if o.excel {
		o.w.Comma = ';'
		_, _ = c.Writer.WriteString("\ufeff")
		o.numeric = make([]bool, len(t.header))
		for i, h := range t.header {
			o.numeric[i] = slices.Contains(t.numeric, h) || (t.numeric == nil && (h == "value" || h == "rate"))
		}
	}
	_ = o.w.Write(t.header)
	return o
}

// row writes one row; an error means the client went away.
func (o *csvOut) row(cells []string) error {
	if o.excel {
		for i, cell := range cells {
			switch {
			case i < len(o.numeric) && o.numeric[i]:
				cell = strings.Replace(cell, ".", ",", 1)
			case cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])):
				cell = "'" + cell
			}
			o.cells[i] = cell
		}
		cells = o.cells[:len(cells)]
	}
	if err := o.w.Write(cells); err != nil {
		return err
	}
	// Flushing every so many rows sends a large file as it is made.
	if o.rows++; o.rows%1024 == 0 {
		o.w.Flush()
		return o.w.Error()
	}
	return nil
}

// end flushes what is left.
func (o *csvOut) end() error {
	o.w.Flush()
	return o.w.Error()
}
