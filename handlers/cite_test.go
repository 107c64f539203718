package handlers_test

import (
	"strings"
	"testing"
	"time"

	"github.com/krimstat/krimstat/handlers"
)

func TestCite(t *testing.T) {
	r, _ := newRouter(t)
	today := time.Now().UTC().Format("2006-01-02")
	rec := do(t, r, "GET", "/v1/cite?offence=sex-purchase&region=NO&measure=reported-persons&from=2009&to=2010&per=100000")
	if rec.Code != 200 {
		t.Fatalf("status: got %d: %s", rec.Code, rec.Body)
	}
	c := decode[handlers.Citation](t, rec)
	rel := bundledRelease(t)
	if c.Accessed != today || c.Release != rel {
		t.Errorf("accessed %s release %s: want %s and %s", c.Accessed, c.Release, today, rel)
	}
	if !strings.Contains(c.URL, "/v1/series?") || !strings.Contains(c.URL, "per=100000") {
		t.Errorf("url: got %s, want the series query", c.URL)
	}
	var ids []string
	for _, s := range c.Sources {
		ids = append(ids, s.ID)
	}
	if got, want := strings.Join(ids, " "), "klassekampen-2023-01-04 ssb-07459 stortinget-54169"; got != want {
		t.Errorf("sources: got %s, want %s", got, want)
	}
	for _, s := range []string{"Krimstat. (2025).", "(Release " + rel + ") [Data set]. Retrieved " + today,
		"Stortinget (answer by the Minister of Justice). (2012, June 22).", "Statistics Norway (SSB). (2025, February 25)."} {
		if !strings.Contains(c.APA, s) {
			t.Errorf("apa: got %s, want it to contain %q", c.APA, s)
		}
	}
	for _, s := range []string{"@misc{krimstat-" + rel + ",", "@misc{stortinget-54169,", "note = {Accessed " + today + "}"} {
		if !strings.Contains(c.BibTeX, s) {
			t.Errorf("bibtex: got %s, want it to contain %q", c.BibTeX, s)
		}
	}
	if len(c.CSL) != 4 || c.CSL[0].Type != "dataset" || c.CSL[0].Version != rel ||
		c.CSL[0].Author[0].Literal != "Krimstat" || len(c.CSL[0].Accessed.DateParts[0]) != 3 {
		t.Errorf("csl: got %+v, want Krimstat as a dataset first, then 3 sources", c.CSL)
	}
	for _, it := range c.CSL[1:] {
		if it.URL == "" || it.Title == "" || it.Issued == nil || it.Author[0].Literal == "" {
			t.Errorf("csl item %s: got %+v, want title, URL, issued and author", it.ID, it)
		}
	}

	tests := []struct {
		name, target, contentType, body string
		status                          int
	}{
		{"bibtex", "/v1/cite?offence=sex-purchase&region=NO&measure=reported-persons&format=bibtex", "application/x-bibtex; charset=utf-8", "@misc{klassekampen-2023-01-04,", 200},
		{"text", "/v1/cite?offence=sex-purchase&region=NO&measure=reported-persons&format=text", "text/plain; charset=utf-8", "Krimstat. (2025).", 200},
		{"observations", "/v1/cite?offence=human-trafficking&region=NO,SE", "application/json; charset=utf-8", `"unodc-glotip-2025"`, 200},
		{"breakdown in a series", "/v1/cite?offence=sex-purchase&region=NO&measure=reported-persons&sex=male", "application/problem+json", `"parameter":"sex"`, 400},
		{"series parameter on observations", "/v1/cite?offence=sex-purchase&per=100000", "application/problem+json", `"parameter":"per"`, 400},
		{"bad cite", "/v1/cite?offence=sex-purchase&cite=book", "application/problem+json", `"parameter":"cite"`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, r, "GET", tt.target)
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != tt.contentType || !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("got %d %s %.300s, want %d %s containing %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body, tt.status, tt.contentType, tt.body)
			}
		})
	}
}
