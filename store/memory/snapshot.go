package memory

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/krimstat/krimstat/store"
)

// SnapshotFormat is the first line of a snapshot, naming its format.
const SnapshotFormat = "krimstat-snapshot/1\n"

// A snapshot is a release in the layout the store keeps it in, so that the
// server can load the bundled release without decoding JSON:
//
//	"krimstat-snapshot/1\n"
//	SHA-256 of the body (32 bytes)
//	body:
//	  the release without its observations, as JSON (uvarint length first)
//	  the distinct strings: their count, their lengths, then their bytes
//	  the distinct breakdowns: count, then four string numbers each
//	  the distinct flag lists: count, then for each 0 (nil) or n+1 and n string numbers
//	  the values of the observations that have one, in order: count, then 8 bytes each
//	  the revisions, in order: count, then release, 0 or 1 and 8 bytes of value, value_text
//	  the observations, in Key order: count, then for each the string
//	  numbers of offence, region, period, measure, source, value_text,
//	  confidence and locator, a breakdown and a flag list number, and 0 or 1
//	  for whether it has a value, then a revision
//
// Numbers are unsigned varints; values are IEEE 754 bits, little-endian.
// The strings are kept in one run so that a snapshot read from a string
// shares its bytes: a locator costs no memory until it is read.

// EncodeSnapshot validates ds and writes it to w as a snapshot, with its
// lists in id order and its observations in Key order. It writes nothing
// for a dataset that does not validate: LoadSnapshot relies on that.
func EncodeSnapshot(w io.Writer, ds *store.Dataset) error {
	if err := ds.Validate(); err != nil {
		return err
	}
	obs := newTable(ds.Observations)
	obs.sort()
	refs := make(map[string]uint32, obs.strings())
	for i := range obs.strings() {
		refs[obs.str(uint32(i))] = uint32(i)
	}
	// ref is the number of a string of a breakdown, flag list or revision,
	// which the table holds by value (and among its strings).
	ref := func(s string) int { return int(refs[s]) }
	meta, err := json.Marshal(copyMeta(ds))
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	var body []byte
	num := func(n int) { body = binary.AppendUvarint(body, uint64(n)) }
	float := func(v float64) { body = binary.LittleEndian.AppendUint64(body, math.Float64bits(v)) }
	num(len(meta))
	body = append(body, meta...)
	num(obs.strings())
	for i := range obs.strings() {
		num(len(obs.str(uint32(i))))
	}
	body = append(body, obs.text...)
	num(len(obs.breakdowns))
	for _, b := range obs.breakdowns {
		for _, s := range []string{b.Sex, b.Age, b.Citizenship, b.RepatriationCountry} {
			num(ref(s))
		}
	}
	num(len(obs.flagSets))
	for _, fs := range obs.flagSets {
		if fs == nil {
			num(0)
			continue
		}
		num(len(fs) + 1)
		for _, f := range fs {
			num(ref(f))
		}
	}
	// Values and revisions are written in row order, so that a row need
	// only say whether it has one.
	var values []float64
	var revisions []store.Revision
	for _, r := range obs.rows {
		if r.value >= 0 {
			values = append(values, obs.values[r.value])
		}
		if r.revision >= 0 {
			revisions = append(revisions, obs.revisions[r.revision])
		}
	}
	num(len(values))
	for _, v := range values {
		float(v)
	}
	num(len(revisions))
	for _, rev := range revisions {
		num(ref(rev.Release))
		if rev.Value == nil {
			num(0)
		} else {
			num(1)
			float(*rev.Value)
		}
		num(ref(rev.ValueText))
	}
	num(len(obs.rows))
	for _, r := range obs.rows {
		for _, n := range []uint32{r.offence, r.region, r.period, r.measure, r.source, r.valueText, r.confidence, r.locator, r.breakdown, r.flags} {
			num(int(n))
		}
		num(b2i(r.value >= 0))
		num(b2i(r.revision >= 0))
	}
	sum := sha256.Sum256(body)
	bw := bufio.NewWriter(w)
	bw.WriteString(SnapshotFormat)
	bw.Write(sum[:])
	bw.Write(body)
	return bw.Flush()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checksum is the SHA-256 of s. It hashes a copy of s a piece at a time:
// the hash takes a []byte, and converting all of s would copy the whole
// body at once.
func checksum(s string) string {
	h := sha256.New()
	var buf [32 << 10]byte
	for len(s) > 0 {
		n := copy(buf[:], s)
		h.Write(buf[:n])
		s = s[n:]
	}
	return string(h.Sum(nil))
}

// decodeSnapshot reads a snapshot written by EncodeSnapshot. The strings of
// the table are substrings of snap.
//
// It does not validate the release again: the checksum stands for that.
// EncodeSnapshot writes only a dataset that passed Validate, and a body whose
// SHA-256 matches the one in its header is, byte for byte, a body that
// EncodeSnapshot wrote: damage in storage or in a build, or a snapshot cut
// short, cannot pass for one. (The bundled snapshot is moreover checked
// against the JSON release it was made from by TestSnapshotMatchesJSON.) A
// checksum is no defence against someone forging a snapshot and its
// checksum together; but the server reads only the snapshot compiled into
// its binary, and whoever can change that can change the binary. Beyond the
// checksum, decodeSnapshot checks that every number points inside its
// table, so that even a forged snapshot is an error rather than a panic.
// Validating once more would cost as much as all the rest of loading.
func decodeSnapshot(snap string) (*store.Dataset, *table, error) {
	if len(snap) < len(SnapshotFormat)+sha256.Size || snap[:len(SnapshotFormat)] != SnapshotFormat {
		return nil, nil, fmt.Errorf("snapshot: want the format %q first: %w", strings.TrimSpace(SnapshotFormat), store.ErrInvalid)
	}
	sum, body := snap[len(SnapshotFormat):len(SnapshotFormat)+sha256.Size], snap[len(SnapshotFormat)+sha256.Size:]
	if checksum(body) != sum {
		return nil, nil, fmt.Errorf("snapshot: damaged: the checksum does not match: %w", store.ErrInvalid)
	}
	d := decoder{s: body}
	metaJSON := d.bytes(d.count(1))
	var meta store.Dataset
	dec := json.NewDecoder(strings.NewReader(metaJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&meta); err != nil {
		return nil, nil, fmt.Errorf("snapshot: release: %v: %w", err, store.ErrInvalid)
	}
	meta.Observations = nil // they are the table's
	t := &table{}
	t.offs = make([]uint32, d.count(1)+1)
	end := 0
	for i := 1; i < len(t.offs); i++ {
		end += d.count(0)
		t.offs[i] = uint32(end)
	}
	t.text = d.bytes(end)
	if len(t.offs) < 2 || t.offs[1] != 0 || end > math.MaxUint32 {
		// String 0 is "", the breakdown field or value_text that is not set.
		d.bad = true
		t.offs = []uint32{0, 0}
	}
	t.breakdowns = make([]store.Breakdown, d.count(4))
	for i := range t.breakdowns {
		t.breakdowns[i] = store.Breakdown{Sex: d.str(t), Age: d.str(t), Citizenship: d.str(t), RepatriationCountry: d.str(t)}
	}
	t.flagSets = make([][]string, d.count(1))
	for i := range t.flagSets {
		n := d.count(0)
		if n == 0 {
			continue
		}
		fs := make([]string, n-1)
		for j := range fs {
			fs[j] = d.str(t)
		}
		t.flagSets[i] = fs
	}
	t.values = make([]float64, d.count(8))
	for i := range t.values {
		t.values[i] = d.float()
	}
	t.revisions = make([]store.Revision, d.count(3))
	revValues := make([]float64, len(t.revisions))
	for i := range t.revisions {
		rev := &t.revisions[i]
		rev.Release = d.str(t)
		if d.flag() {
			revValues[i] = d.float()
			rev.Value = &revValues[i]
		}
		rev.ValueText = d.str(t)
	}
	t.rows = make([]row, d.count(12))
	values, revisions := int32(0), int32(0)
	for i := range t.rows {
		r := &t.rows[i]
		r.offence, r.region, r.period, r.measure, r.source = d.ref(t), d.ref(t), d.ref(t), d.ref(t), d.ref(t)
		r.valueText, r.confidence, r.locator = d.ref(t), d.ref(t), d.ref(t)
		r.breakdown, r.flags = d.num(len(t.breakdowns)), d.num(len(t.flagSets))
		r.value, r.revision = -1, -1
		if d.flag() {
			r.value, values = values, values+1
		}
		if d.flag() {
			r.revision, revisions = revisions, revisions+1
		}
	}
	if d.bad || d.left() != 0 || int(values) != len(t.values) || int(revisions) != len(t.revisions) {
		return nil, nil, fmt.Errorf("snapshot: damaged near byte %d of the body: %w", d.at, store.ErrInvalid)
	}
	return &meta, t, nil
}

// DecodeSnapshot reads a snapshot written by EncodeSnapshot into a dataset.
// It does not validate the dataset (see LoadSnapshot); errors wrap
// store.ErrInvalid.
func DecodeSnapshot(snap string) (*store.Dataset, error) {
	meta, t, err := decodeSnapshot(snap)
	if err != nil {
		return nil, err
	}
	meta.Observations = t.observations()
	return meta, nil
}

// LoadSnapshot adds the release in snap, a snapshot written by
// EncodeSnapshot, and makes it current, as Load does for a dataset. It does
// not validate the release again: a snapshot is written only for a release
// that validates, and its checksum proves it is the one written (see
// decodeSnapshot). It returns an error wrapping store.ErrInvalid for a
// damaged snapshot or a release id already loaded.
func (s *Store) LoadSnapshot(snap string) error {
	meta, t, err := decodeSnapshot(snap)
	if err != nil {
		return err
	}
	// The lists were written in order; sorting them again costs nothing
	// next to the observations, which stay as written.
	meta.Sort()
	return s.add(meta, t)
}

// decoder reads the numbers and bytes of a snapshot body. Once a read
// fails, every later read returns zero values, and the caller checks bad
// once at the end. It moves an offset through s rather than reslicing s,
// which would write a pointer (and run the garbage collector's write
// barrier) for every number read.
type decoder struct {
	s   string
	at  int
	bad bool
}

// num reads a number below limit.
func (d *decoder) num(limit int) uint32 {
	if d.bad {
		return 0
	}
	v, n := uvarint(d.s, d.at)
	if n <= 0 || v >= uint64(limit) {
		d.bad = true
		return 0
	}
	d.at += n
	return uint32(v)
}

// left is the number of bytes not yet read.
func (d *decoder) left() int { return len(d.s) - d.at }

// count reads the length of a list whose items take at least size bytes
// each, so that a damaged length cannot ask for more memory than the
// snapshot could fill.
func (d *decoder) count(size int) int {
	limit := d.left() + 1
	if size > 0 {
		limit = d.left()/size + 1
	}
	return int(d.num(limit))
}

func (d *decoder) flag() bool { return d.num(2) == 1 }

func (d *decoder) ref(t *table) uint32 { return d.num(t.strings()) }

func (d *decoder) str(t *table) string { return t.str(d.ref(t)) }

func (d *decoder) bytes(n int) string {
	if d.bad || n > d.left() {
		d.bad = true
		return ""
	}
	d.at += n
	return d.s[d.at-n : d.at]
}

func (d *decoder) float() float64 {
	if d.bad || d.left() < 8 {
		d.bad = true
		return 0
	}
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(d.s[d.at+i])
	}
	d.at += 8
	return math.Float64frombits(v)
}

// uvarint is binary.Uvarint for s[at:], without copying s to a []byte.
func uvarint(s string, at int) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; at+i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[at+i]
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				return 0, -(i + 1)
			}
			return x | uint64(b)<<shift, i + 1
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	return 0, 0
}
