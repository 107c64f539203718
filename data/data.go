// Package data embeds the bundled release: the dataset that krimstat ingest
// built from the reference files, served when no database is configured.
package data

import _ "embed"

// Bundled is the bundled release in the store.Dataset JSON format.
//
//go:embed krimstat.json
var Bundled []byte
