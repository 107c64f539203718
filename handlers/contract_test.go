package handlers_test

import (
	"net/http/httptest"
	"testing"

	"github.com/krimstat/krimstat/internal/contract"
)

// TestContract validates real responses of every documented route against
// the committed OpenAPI contract: status, content type and body schema.
func TestContract(t *testing.T) {
	doc := contract.Load(t)
	r, _ := newRouter(t)
	tests := []struct {
		path   string // the OpenAPI path template
		target string
		accept string
	}{
		{"/v1/offences", "/v1/offences", ""},
		{"/v1/offences", "/v1/offences?format=csv", ""},
		{"/v1/offences", "/v1/offences", "image/png"},
		{"/v1/offences", "/v1/offences?unknown=1", ""},
		{"/v1/offences", "/v1/offences?release=nope", ""},
		{"/v1/offences/{id}", "/v1/offences/sex-purchase", ""},
		{"/v1/offences/{id}", "/v1/offences/human-trafficking/aggravated", ""},
		{"/v1/offences/{id}", "/v1/offences/nope", ""},
		{"/v1/regions", "/v1/regions?type=police-district&valid_on=2016-01-01", ""},
		{"/v1/regions", "/v1/regions?format=csv", ""},
		{"/v1/regions", "/v1/regions?type=city", ""},
		{"/v1/regions/{id}", "/v1/regions/pd2016-trondelag", ""},
		{"/v1/regions/{id}", "/v1/regions/pd2002-sor-trondelag", ""},
		{"/v1/regions/{id}", "/v1/regions/nope", ""},
		{"/v1/measures", "/v1/measures", ""},
		{"/v1/measures", "/v1/measures?format=csv", ""},
		{"/v1/sources", "/v1/sources", ""},
		{"/v1/sources", "/v1/sources", "text/csv"},
		{"/v1/sources/{id}", "/v1/sources/unodc-glotip-2025", ""},
		{"/v1/sources/{id}", "/v1/sources/nope", ""},
		{"/v1/observations", "/v1/observations?offence=sex-purchase&region=NO&measure=reported-persons&from=2009&to=2010", ""},
		{"/v1/observations", "/v1/observations?region=NO&measure=persons-convicted&limit=10000", ""},
		{"/v1/observations", "/v1/observations?limit=3", ""},
		{"/v1/observations", "/v1/observations?format=csv&limit=20", ""},
		{"/v1/observations", "/v1/observations?from=20x9", ""},
		{"/v1/observations", "/v1/observations?limit=0", ""},
		{"/v1/observations", "/v1/observations?format=xml", ""},
		{"/v1/observations", "/v1/observations", "application/xml"},
		// JSON-stat is served as application/json: the contract's 200
		// body is oneOf the route's JSON and a JSON-stat dataset.
		{"/v1/observations", "/v1/observations?offence=sex-purchase&region=NO&format=jsonstat", ""},
		{"/v1/observations", "/v1/observations?offence=sex-purchase&region=NO&lang=nb", "application/json+stat"},
		{"/v1/observations", "/v1/observations?region=NO&format=csv&layout=wide&lang=nb", ""},
		{"/v1/series", "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&format=jsonstat", ""},
		{"/v1/observations", "/v1/observations?offence=sex-purchase&region=NO&format=xlsx&lang=nb", ""},
		{"/v1/observations", "/v1/observations?offence=sex-purchase&region=NO&format=parquet", ""},
		{"/v1/observations", "/v1/observations?offence=sex-purchase", "application/vnd.apache.parquet"},
		{"/v1/observations", "/v1/observations?offence=sex-purchase&format=csv&csv_dialect=excel-no", ""},
		{"/v1/observations", "/v1/observations?csv_dialect=excel", ""},
		{"/v1/series", "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&per=100000", ""},
		{"/v1/series", "/v1/series?offence=sex-purchase&region=NO&measure=reported-offences&per=100000", ""},
		{"/v1/series", "/v1/series?offence=sex-purchase&region=pd2016-trondelag&measure=reported-offences&harmonise=2016", ""},
		{"/v1/series", "/v1/series?offence=pimping&region=NO&measure=reported-offences", ""},
		{"/v1/series", "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&format=csv&csv_dialect=excel-no", ""},
		{"/v1/series", "/v1/series?offence=sex-purchase&region=NO", ""},
		{"/v1/series", "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons", "image/png"},
		{"/v1/series", "/v1/series?offence=sex-purchase&region=NO&measure=reported-persons&release=nope", ""},
		{"/v1/series.svg", "/v1/series.svg?offence=sex-purchase&region=NO&measure=reported-persons", ""},
		{"/v1/series.svg", "/v1/series.svg?offence=sex-purchase&region=NO&measure=reported-persons&format=csv", ""},
		{"/v1/series.svg", "/v1/series.svg?offence=nope&region=NO&measure=reported-persons", ""},
		{"/v1/series.png", "/v1/series.png?offence=sex-purchase&region=NO&measure=reported-persons&width=640&height=360", ""},
		{"/v1/series.png", "/v1/series.png?offence=sex-purchase&region=NO&measure=reported-persons&scale=3", ""},
		{"/v1/compare.svg", "/v1/compare.svg?offence=human-trafficking&measure=reported-offences&region=NO,SE,DK,FI,IS&period=2020", ""},
		{"/v1/compare.svg", "/v1/compare.svg?offence=human-trafficking&measure=reported-offences&region=NO,SE", ""},
		{"/v1/compare.png", "/v1/compare.png?offence=human-trafficking&measure=reported-offences&region=NO,SE,DK,FI,IS&period=2020&width=640&height=360", ""},
		{"/v1/compare.png", "/v1/compare.png?offence=human-trafficking&measure=reported-offences&region=NO&period=2020&scale=3", ""},
		{"/embed/compare", "/embed/compare?offence=human-trafficking&measure=reported-offences&region=NO,SE,DK,FI,IS&period=2020&per=100000", ""},
		{"/embed/compare", "/embed/compare?offence=human-trafficking&measure=reported-offences&region=NO&period=x", ""},
		{"/embed/series", "/embed/series?offence=sex-purchase&region=NO&measure=reported-persons&per=100000", ""},
		{"/embed/series", "/embed/series?offence=sex-purchase&region=NO&measure=reported-persons&from=x", ""},
		{"/oembed", "/oembed?url=http%3A%2F%2Fexample.com%2Fembed%2Fseries%3Foffence%3Dsex-purchase%26region%3DNO%26measure%3Dreported-persons", ""},
		{"/oembed", "/oembed?url=http%3A%2F%2Fexample.com%2Fembed%2Fseries%3Foffence%3Dsex-purchase%26region%3DNO%26measure%3Dreported-persons&format=xml", ""},
		{"/oembed", "/oembed?url=http%3A%2F%2Fexample.org%2Fembed%2Fseries%3Foffence%3Dsex-purchase%26region%3DNO%26measure%3Dreported-persons", ""},
		{"/oembed", "/oembed?url=http%3A%2F%2Fexample.com%2Fembed%2Fseries%3Foffence%3Dsex-purchase%26region%3DNO%26measure%3Dreported-persons&maxwidth=x", ""},
		{"/v1/cite", "/v1/cite?offence=sex-purchase&region=NO&measure=reported-persons", ""},
		{"/v1/cite", "/v1/cite?offence=sex-purchase&region=NO&measure=reported-persons&format=bibtex", ""},
		{"/v1/cite", "/v1/cite?offence=sex-purchase&format=text", ""},
		{"/v1/cite", "/v1/cite?offence=sex-purchase&cite=book", ""},
		{"/v1/population", "/v1/population?region=NO", ""},
		{"/v1/population", "/v1/population?format=csv", ""},
		{"/v1/population", "/v1/population?region=XX", ""},
		{"/v1/releases", "/v1/releases", ""},
		{"/v1/releases", "/v1/releases?format=csv", ""},
		{"/v1/releases", "/v1/releases?limit=1", ""},
		{"/v1/releases/{id}", "/v1/releases/nope", ""},
		{"/v1/releases/{id}/changes", "/v1/releases/nope/changes", ""},
		{"/v1/releases.atom", "/v1/releases.atom", ""},
		{"/v1/releases/{id}/download", "/v1/releases/current/download", ""},
		{"/v1/releases/{id}/download", "/v1/releases/nope/download", ""},
		{"/healthz", "/healthz", ""},
		{"/readyz", "/readyz", ""},
		{"/openapi.json", "/openapi.json", ""},
	}
	ds, _ := bundled()
	tests = append(tests, struct{ path, target, accept string }{"/v1/releases/{id}", "/v1/releases/" + ds.Release.ID, ""},
		// The bundled release supersedes none: without since a 400, with
		// itself as since a report of no change. TestChangesContract checks
		// one with changes.
		struct{ path, target, accept string }{"/v1/releases/{id}/changes", "/v1/releases/" + ds.Release.ID + "/changes", ""},
		struct{ path, target, accept string }{"/v1/releases/{id}/changes", "/v1/releases/" + ds.Release.ID + "/changes?since=" + ds.Release.ID, ""})
	seen := map[string]bool{}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", tt.target, nil)
		if tt.accept != "" {
			req.Header.Set("Accept", tt.accept)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		contract.Check(t, doc, "GET", tt.path, req, rec)
		seen[contract.Key("GET", tt.path)] = true
	}
	contract.Covered(t, doc, seen)
}
