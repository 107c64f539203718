// Package ingest turns source files into Krimstat releases (store.Dataset).
//
// Build turns the reference files in ../shared/data, beside the repository,
// into the bundled release: the Norwegian figures, sources, population and
// police districts, Eurostat's crim_off_cat bulk TSV with its geo and ICCS
// label files, and UNODC's GLOTIP export. Every row is either represented or
// reported as a FileError naming its file, line and field, so that no figure
// is dropped in silence.
//
// Assemble builds a new release on top of an existing one: a Eurostat bulk
// TSV, or a JSON-stat 2.0 dataset read with package jsonstat and a mapping
// file, replaces the base's figures from the same source. The base is a
// release file, the current release of a store (read back with Export), or
// the bundled release. Fresh releases from Statistics Norway (SSB) and
// Eurostat will come in by this same path, so they are checked as strictly as
// the bundled data.
package ingest
