package ingest

import (
	"time"

	"github.com/krimstat/krimstat/store"
)

// The functions below let another builder of releases (package syncer)
// assemble a release exactly as Assemble does, rather than keeping a second
// copy of the rules that a release must follow.

// ReplaceSource puts src and its observations into ds, replacing every
// observation ds held from a source of the same id: a new vintage of a table
// supersedes the old one as a whole, so no stale figure survives beside a
// revised one. It changes ds.Observations and ds.Sources.
func ReplaceSource(ds *store.Dataset, src store.Source, obs []store.Observation) {
	replaceSource(ds, src, obs)
}

// Finish makes ds a complete release as Assemble does: canonical order,
// counts per source, and an id made of the date of created and the content
// checksum; files and note are recorded as given. It validates the result;
// errors wrap store.ErrInvalid.
func Finish(ds *store.Dataset, files []store.ReleaseFile, created time.Time, note string) error {
	return finish(ds, files, created, note)
}

// FileInfo describes an input of a release by its name (a path or a URL),
// the SHA-256 of data and its number of lines.
func FileInfo(name string, data []byte) store.ReleaseFile {
	return fileInfo(name, data)
}
