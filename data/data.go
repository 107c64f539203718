// Package data embeds the bundled release: the dataset that krimstat ingest
// built from the reference files, served when no database is configured.
//
// It holds the release twice. krimstat.json is the release as it is
// reviewed and committed, one item per line; krimstat.snap is a snapshot of
// it (see memory.EncodeSnapshot) generated from it by "go generate ./data",
// which the server loads at start in a few milliseconds instead of decoding
// the JSON. TestSnapshotMatchesJSON fails when the two differ.
package data

import (
	_ "embed"

	"github.com/krimstat/krimstat/store"
	"github.com/krimstat/krimstat/store/memory"
)

//go:generate go run ./gen -in krimstat.json -out krimstat.snap

// Bundled is the bundled release in the store.Dataset JSON format.
//
//go:embed krimstat.json
var Bundled []byte

// Snapshot is the bundled release as a snapshot, for memory.LoadSnapshot.
// It is a string so that it stays in the binary's read-only data, where the
// store's strings point into it without copying it to the heap.
//
//go:embed krimstat.snap
var Snapshot string

// Dataset returns the bundled release, read from Snapshot. It is the
// release Bundled holds, read without decoding JSON.
func Dataset() (*store.Dataset, error) {
	return memory.DecodeSnapshot(Snapshot)
}
