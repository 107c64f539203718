package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// representationVersion is bumped by hand whenever a change alters the bytes
// of a response for unchanged data. It is part of every revision, so a reader
// of the cache keys can tell representations apart at a glance.
const representationVersion = "r1"

// buildRevision identifies the code of the running binary, for the cache
// keys and ETags: a new binary may render the same data differently, and must
// then neither serve an old binary's cached bodies nor answer 304 to its
// ETags. It returns the revision and where it came from, for the start-up
// log.
//
// The VCS revision is used when the build recorded one and the tree was
// clean. Otherwise (Docker builds have no .git, -buildvcs=false, or local
// edits) it is a SHA-256 of the executable: the same for every replica
// running one image, different for any change of the code. Should the
// executable be unreadable, a random revision keeps this process from
// sharing anything with others rather than risking stale answers.
func buildRevision() (revision, source string) {
	vcs, modified := "", false
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				vcs = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if vcs != "" && !modified {
		return representationVersion + "-" + vcs, "vcs"
	}
	sum, err := executableHash()
	if err != nil {
		var b [8]byte
		_, _ = rand.Read(b[:])
		return representationVersion + "-random-" + hex.EncodeToString(b[:]), "random (" + err.Error() + ")"
	}
	return representationVersion + "-exe-" + sum, "executable"
}

// executableHash returns the first 16 bytes of the SHA-256 of the running
// executable, in hex.
func executableHash() (string, error) {
	path, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("executable: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("executable: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("executable %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}
