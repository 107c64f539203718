package handlers

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/krimstat/krimstat/data"
	"github.com/krimstat/krimstat/problem"
	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

// newPNGRouter is the real router over the bundled release with
// /v1/series.png registered as routes.go registers it, if routes.go does
// not already.
func newPNGRouter(t testing.TB) *gin.Engine {
	t.Helper()
	ds, err := store.DecodeDataset(bytes.NewReader(data.Bundled))
	if err != nil {
		t.Fatalf("decode bundled release: %v", err)
	}
	st := memory.New()
	if err := st.Load(ds); err != nil {
		t.Fatal(err)
	}
	h := New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	r := h.Routes(Options{})
	for _, ri := range r.Routes() {
		if ri.Path == "/v1/series.png" {
			return r
		}
	}
	h.get(r.Group("/v1"), "/series.png", seriesPNGRoute, h.getSeriesPNG)
	return r
}

func TestSeriesPNG(t *testing.T) {
	r := newPNGRouter(t)
	const series = "/v1/series.png?offence=sex-purchase&region=NO&measure=reported-persons"
	tests := []struct {
		name   string
		target string
		lang   string
		want   image.Point // the image's size in pixels
	}{
		{"default card", series, "en", image.Pt(1200, 630)},
		{"sized", series + "&width=640&height=360", "en", image.Pt(640, 360)},
		{"scale 2", series + "&width=640&height=360&scale=2", "en", image.Pt(1280, 720)},
		{"numbers as the cache key reads them", series + "&width=+0640&scale=01", "en", image.Pt(640, 630)},
		{"largest", series + "&width=2400&height=1600&scale=2", "en", image.Pt(4800, 3200)},
		{"Norwegian, several districts", "/v1/series.png?offence=human-trafficking&region=pd2016-trondelag,pd2016-more-og-romsdal,pd2016-oslo&measure=reported-offences&lang=nb", "nb", image.Pt(1200, 630)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(r, tt.target)
			if rec.Code != http.StatusOK {
				t.Fatalf("status: got %d, want 200\n%s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != "image/png" {
				t.Errorf("Content-Type: got %q, want image/png", got)
			}
			if got := rec.Header().Get("Content-Language"); got != tt.lang {
				t.Errorf("Content-Language: got %q, want %q", got, tt.lang)
			}
			if rec.Header().Get(releaseHeader) == "" {
				t.Errorf("%s: got none, want the release", releaseHeader)
			}
			img, err := png.Decode(rec.Body)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got := img.Bounds().Size(); got != tt.want {
				t.Errorf("size: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSeriesPNGRefused(t *testing.T) {
	r := newPNGRouter(t)
	const series = "/v1/series.png?offence=sex-purchase&region=NO&measure=reported-persons"
	tests := []struct {
		target string
		status int
		param  string // the parameter the problem names
	}{
		{series + "&width=319", 400, "width"},
		{series + "&width=2401", 400, "width"},
		{series + "&width=wide", 400, "width"},
		{series + "&width=640&width=800", 400, "width"},
		{series + "&height=199", 400, "height"},
		{series + "&height=1601", 400, "height"},
		{series + "&scale=3", 400, "scale"},
		{series + "&scale=0", 400, "scale"},
		{series + "&scale=1.5", 400, "scale"},
		{series + "&scale=", 400, "scale"},
		{series + "&size=big", 400, "size"},
		{series + "&format=png", 400, "format"},
		{"/v1/series.png?region=NO&measure=reported-persons", 400, "offence"},
		{"/v1/series.png?offence=nope&region=NO&measure=reported-persons", 400, "offence"},
		{series + "&release=nope", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := serve(r, tt.target)
			if rec.Code != tt.status {
				t.Fatalf("status: got %d, want %d\n%s", rec.Code, tt.status, rec.Body)
			}
			var p problem.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatalf("problem: %v\n%s", err, rec.Body)
			}
			if p.Parameter != tt.param {
				t.Errorf("parameter: got %q, want %q (%s)", p.Parameter, tt.param, p.Detail)
			}
		})
	}
}

// TestPNGOptionsBound checks the pixel bound on its own: the ranges of
// width, height and scale keep within it, and it holds at its edge.
func TestPNGOptionsBound(t *testing.T) {
	q, err := seriesPNGRoute.query("width=2400&height=1600&scale=2")
	if err != nil {
		t.Fatal(err)
	}
	opt, err := pngOptions(q)
	if err != nil {
		t.Fatalf("largest image: got %v, want no error", err)
	}
	if got := opt.Width * opt.Height * opt.Scale * opt.Scale; got != maxPNGPixels {
		t.Errorf("pixels of the largest image: got %d, want %d", got, maxPNGPixels)
	}
}

func serve(r http.Handler, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}
