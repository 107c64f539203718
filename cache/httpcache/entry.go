package httpcache

import (
	"encoding/binary"
	"errors"
	"net/http"
)

// entryVersion starts every encoded entry, so that a change of the layout
// reads old bytes (from Redis, written by an older process) as corrupt rather
// than as garbage.
const entryVersion = 1

var errCorrupt = errors.New("httpcache: corrupt cache entry")

// entry is a cached 200 response: the headers worth replaying and the body,
// compressed when Content-Encoding says so. The status is always 200.
type entry struct {
	header [][2]string // canonical name, value; a name may repeat
	body   []byte
}

// encode lays the entry out as a version byte, a count of header fields, each
// field as length-prefixed name and value, then the body.
func (e entry) encode() []byte {
	n := 1 + binary.MaxVarintLen64 + len(e.body)
	for _, kv := range e.header {
		n += 2*binary.MaxVarintLen64 + len(kv[0]) + len(kv[1])
	}
	b := make([]byte, 0, n)
	b = append(b, entryVersion)
	b = binary.AppendUvarint(b, uint64(len(e.header)))
	for _, kv := range e.header {
		for _, s := range kv {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	return append(b, e.body...)
}

// decodeEntry reads an encoded entry. The body aliases b.
func decodeEntry(b []byte) (entry, error) {
	if len(b) == 0 || b[0] != entryVersion {
		return entry{}, errCorrupt
	}
	b = b[1:]
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)) {
		return entry{}, errCorrupt
	}
	b = b[n:]
	e := entry{header: make([][2]string, count)}
	for i := range e.header {
		for j := range 2 {
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return entry{}, errCorrupt
			}
			e.header[i][j] = string(b[n : n+int(l)])
			b = b[n+int(l):]
		}
	}
	e.body = b
	return e, nil
}

// contentEncoding returns the entry's Content-Encoding, empty for identity.
func (e entry) contentEncoding() string {
	for _, kv := range e.header {
		if kv[0] == "Content-Encoding" {
			return kv[1]
		}
	}
	return ""
}

// keptHeader reports whether a response header belongs to the cached
// representation. Everything else (cookies, request ids, anything set per
// request) is left out.
func keptHeader(name string) bool {
	switch name {
	case "Content-Type", "Content-Disposition", "Content-Encoding", "Content-Language", "Link", "Content-Security-Policy":
		return true
	}
	return len(name) > len("X-Krimstat-") && http.CanonicalHeaderKey(name[:len("X-Krimstat-")]) == "X-Krimstat-"
}
