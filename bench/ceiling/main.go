// Command ceiling is the "ceiling" of bench/load.sh and bench/table.sh: the
// fastest a bare Gin engine (release mode, no middleware) answers a request
// that Krimstat answers, measured in the same run.
//
//	ceiling ADDR BODY-FILE CONTENT-TYPE [HEADER-FILE]
//	ceiling -pgx DATABASE-URL ADDR BODY-FILE
//
// The first form serves one fixed body on every path: the ceiling of a
// response served from Krimstat's cache. With HEADER-FILE (a response head
// as curl -D writes it) it also sends every header of that response but
// Date and Content-Length, which net/http writes: the ceiling of sending
// Krimstat's whole response, headers included, so that a comparison with it
// measures Krimstat's own work rather than the size of its headers.
//
// The second, the ceiling of an uncached request on PostgreSQL, runs for
// every request one parameterised SELECT of the observations the request's
// offence, region and measure (each one value, or absent) and limit
// (default 100) select from Krimstat's own observations table, in key
// order, scans them into store.Observation and encodes them as JSON in the
// shape of GET /v1/observations. BODY-FILE is Krimstat's response to the
// same request: its links and meta are sent as they are (the ceiling does no
// work for them) and its meta.release names the release to read. At start
// the ceiling answers one request of its own and reports on stderr whether
// its body equals BODY-FILE byte for byte, so that the two servers are known
// to send the same bytes. Its connection pool has pgxpool's defaults, as
// Krimstat's has.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/krimstat/krimstat/store"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
}

const usage = "usage: ceiling ADDR BODY-FILE CONTENT-TYPE [HEADER-FILE] | ceiling -pgx DATABASE-URL ADDR BODY-FILE"

func run(args []string, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	var addr string
	switch {
	case (len(args) == 3 || len(args) == 4) && args[0] != "-pgx":
		var file, contentType string
		addr, file, contentType = args[0], args[1], args[2]
		body, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		var head http.Header
		if len(args) == 4 {
			if head, err = readHead(args[3]); err != nil {
				return err
			}
		}
		r.NoRoute(func(c *gin.Context) {
			h := c.Writer.Header()
			for name, values := range head {
				h[name] = values
			}
			c.Data(http.StatusOK, contentType, body)
		})
		fmt.Fprintf(stderr, "ceiling: serving %d bytes of %s and %d more headers on %s\n", len(body), contentType, len(head), addr)
	case len(args) == 4 && args[0] == "-pgx":
		var dbURL, file string
		dbURL, addr, file = args[1], args[2], args[3]
		h, err := newSelectHandler(ctx, dbURL, file)
		if err != nil {
			return err
		}
		defer h.pool.Close()
		r.NoRoute(h.serve)
		fmt.Fprintf(stderr, "ceiling: one pgx SELECT per request from release %s on %s\n", h.release, addr)
		h.selfCheck(r, stderr)
	default:
		return errors.New(usage)
	}

	srv := &http.Server{
		Addr:              addr,
		Handler:           r,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    1 << 20,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// selectHandler answers with one SELECT of the observations table.
type selectHandler struct {
	pool    *pgxpool.Pool
	release string
	want    []byte // Krimstat's body
	links   json.RawMessage
	meta    json.RawMessage
}

func newSelectHandler(ctx context.Context, dbURL, file string) (*selectHandler, error) {
	body, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Links json.RawMessage `json:"links"`
		Meta  json.RawMessage `json:"meta"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var meta struct {
		Release string `json:"release"`
	}
	if err := json.Unmarshal(doc.Meta, &meta); err != nil || meta.Release == "" {
		return nil, fmt.Errorf("%s: no meta.release", file)
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return &selectHandler{pool: pool, release: meta.Release, want: bytes.TrimSpace(body), links: doc.Links, meta: doc.Meta}, nil
}

// observationList has the shape of Krimstat's handlers.ObservationList.
type observationList struct {
	Data  []store.Observation `json:"data"`
	Links json.RawMessage     `json:"links"`
	Meta  json.RawMessage     `json:"meta"`
}

const columns = `key, offence, region, period, measure, sex, age, citizenship, repatriation_country,
	value, value_text, flags, source, confidence, locator, revision`

func (h *selectHandler) serve(c *gin.Context) {
	q, args := h.query(c.Request.URL.Query())
	rows, err := h.pool.Query(c.Request.Context(), q, args...)
	if err != nil {
		c.String(http.StatusInternalServerError, "%v", err)
		return
	}
	out := observationList{Data: []store.Observation{}, Links: h.links, Meta: h.meta}
	for rows.Next() {
		var o store.Observation
		var key string
		var rev []byte
		b := &o.Breakdown
		if err := rows.Scan(&key, &o.Offence, &o.Region, &o.Period, &o.Measure,
			&b.Sex, &b.Age, &b.Citizenship, &b.RepatriationCountry,
			&o.Value, &o.ValueText, &o.Flags, &o.Source, &o.Confidence, &o.Locator, &rev); err != nil {
			rows.Close()
			c.String(http.StatusInternalServerError, "%v", err)
			return
		}
		if rev != nil {
			o.Revision = &store.Revision{}
			if err := json.Unmarshal(rev, o.Revision); err != nil {
				rows.Close()
				c.String(http.StatusInternalServerError, "%v", err)
				return
			}
		}
		out.Data = append(out.Data, o)
	}
	if err := rows.Err(); err != nil {
		c.String(http.StatusInternalServerError, "%v", err)
		return
	}
	// As Gin's PureJSON, which Krimstat's handlers use: no HTML escaping.
	c.PureJSON(http.StatusOK, out)
}

// query is the SELECT for the request's filters: equality on each of
// offence, region and measure given, in key order, limit rows.
func (h *selectHandler) query(v url.Values) (string, []any) {
	q := "SELECT " + columns + " FROM observations WHERE release_id = $1"
	args := []any{h.release}
	for _, name := range []string{"offence", "region", "measure"} {
		if s := v.Get(name); s != "" {
			args = append(args, s)
			q += " AND " + name + " = $" + strconv.Itoa(len(args))
		}
	}
	limit := 100
	if n, err := strconv.Atoi(v.Get("limit")); err == nil && n > 0 {
		limit = n
	}
	args = append(args, limit)
	q += " ORDER BY key LIMIT $" + strconv.Itoa(len(args))
	return q, args
}

// selfCheck answers the request that Krimstat's body answered and reports
// whether the two bodies are the same bytes.
func (h *selectHandler) selfCheck(r http.Handler, stderr io.Writer) {
	var self struct {
		Self string `json:"self"`
	}
	_ = json.Unmarshal(h.links, &self)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, self.Self, nil))
	got := bytes.TrimSpace(w.Body.Bytes())
	if bytes.Equal(got, h.want) {
		fmt.Fprintf(stderr, "ceiling: GET %s: %d bytes, the same as Krimstat's\n", self.Self, len(got))
		return
	}
	fmt.Fprintf(stderr, "ceiling: GET %s: %d bytes, NOT the same as Krimstat's %d (status %d)\n", self.Self, len(got), len(h.want), w.Code)
}

// readHead reads the headers of a response head as curl -D writes it (a
// status line, then "Name: value" lines), leaving out those net/http or
// c.Data write themselves.
func readHead(file string) (http.Header, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(b)))
	if _, err := tp.ReadLine(); err != nil {
		return nil, fmt.Errorf("%s: status line: %w", file, err)
	}
	mh, err := tp.ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	h := http.Header(mh)
	for _, name := range []string{"Date", "Content-Length", "Content-Type"} {
		h.Del(name)
	}
	return h, nil
}
