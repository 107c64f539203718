package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strings"
)

// DatasetFormat names the version of the bundled file format.
const DatasetFormat = "krimstat-dataset/1"

// Dataset is one complete release: everything a Store serves. It is what
// the ingest code produces and what both stores load.
type Dataset struct {
	Format       string             `json:"format"`
	Release      Release            `json:"release"`
	Offences     []Offence          `json:"offences"`
	Regions      []Region           `json:"regions"`
	Measures     []Measure          `json:"measures"`
	Sources      []Source           `json:"sources"`
	Population   []PopulationFigure `json:"population"`
	Observations []Observation      `json:"observations"`
}

// Sort puts every list into its canonical order (by id; observations by Key).
func (d *Dataset) Sort() {
	sort.Slice(d.Offences, func(i, j int) bool { return d.Offences[i].ID < d.Offences[j].ID })
	sort.Slice(d.Regions, func(i, j int) bool { return d.Regions[i].ID < d.Regions[j].ID })
	sort.Slice(d.Measures, func(i, j int) bool { return d.Measures[i].ID < d.Measures[j].ID })
	sort.Slice(d.Sources, func(i, j int) bool { return d.Sources[i].ID < d.Sources[j].ID })
	sort.Slice(d.Population, func(i, j int) bool {
		a, b := d.Population[i], d.Population[j]
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		if a.Date != b.Date {
			return a.Date < b.Date
		}
		return a.Source < b.Source
	})
	// Keys are computed once: computing them inside the comparison would
	// dominate start-up time.
	type keyed struct {
		key string
		obs Observation
	}
	ks := make([]keyed, len(d.Observations))
	for i, o := range d.Observations {
		ks[i] = keyed{o.Key(), o}
	}
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].key < ks[j].key })
	for i := range ks {
		d.Observations[i] = ks[i].obs
	}
}

// Validate checks that the dataset is whole: every reference resolves, every
// period and flag is known, no two observations share a key, and a value is
// absent exactly when the source printed text. Errors wrap ErrInvalid and
// name the item.
func (d *Dataset) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf(format+": %w", append(a, ErrInvalid)...))
	}
	if d.Format != DatasetFormat {
		bad("format %q: want %q", d.Format, DatasetFormat)
	}
	if d.Release.ID == "" {
		bad("release: id is empty")
	}
	if c := d.Release.Changes; c != nil && (c.Since == "" || c.Since == d.Release.ID) {
		bad("release: changes.since %q: want the id of an earlier release", c.Since)
	}
	offences := map[string]bool{}
	for i, o := range d.Offences {
		if o.ID == "" || offences[o.ID] {
			bad("offences[%d]: id %q is empty or repeated", i, o.ID)
		}
		offences[o.ID] = true
	}
	for i, o := range d.Offences {
		if o.Parent != "" && !offences[o.Parent] {
			bad("offences[%d] %s: unknown parent %q", i, o.ID, o.Parent)
		}
	}
	regions := map[string]bool{}
	for i, r := range d.Regions {
		if r.ID == "" || regions[r.ID] {
			bad("regions[%d]: id %q is empty or repeated", i, r.ID)
		}
		regions[r.ID] = true
		switch r.Type {
		case RegionCountry, RegionCountryPart, RegionPoliceDistrict:
		default:
			bad("regions[%d] %s: unknown type %q", i, r.ID, r.Type)
		}
	}
	for i, r := range d.Regions {
		for _, s := range append(append([]Succession{}, r.Successors...), r.Predecessors...) {
			if !regions[s.Region] {
				bad("regions[%d] %s: unknown successor or predecessor %q", i, r.ID, s.Region)
			}
		}
		if r.Parent != "" && !regions[r.Parent] {
			bad("regions[%d] %s: unknown parent %q", i, r.ID, r.Parent)
		}
	}
	measures := map[string]bool{}
	for i, m := range d.Measures {
		if m.ID == "" || measures[m.ID] {
			bad("measures[%d]: id %q is empty or repeated", i, m.ID)
		}
		measures[m.ID] = true
	}
	sources := map[string]bool{}
	for i, s := range d.Sources {
		if s.ID == "" || sources[s.ID] {
			bad("sources[%d]: id %q is empty or repeated", i, s.ID)
		}
		sources[s.ID] = true
	}
	for i, p := range d.Population {
		if !regions[p.Region] || !sources[p.Source] {
			bad("population[%d]: unknown region %q or source %q", i, p.Region, p.Source)
		}
	}
	// Observations are told apart by their Key, compared as a struct
	// rather than built as a string for each: a struct with the period
	// parsed is equal exactly when the Keys are (ParsePeriod has one
	// spelling per period, and an unparsable period counts as the zero
	// Period, as in Key). Only where a field holds the separator of Key
	// could two different structs make one Key; such observations, whose
	// Keys cannot equal one without it, are told apart by their Key.
	type identity struct {
		offence, region, measure string
		period                   Period
		breakdown                Breakdown
		source                   string
	}
	keys := make(map[identity]int, len(d.Observations))
	var oddKeys map[string]int
	for i, o := range d.Observations {
		// The name of the observation is formatted only for an error:
		// formatting it for each of thousands of valid observations took
		// a good part of the time to load a release.
		at := func() string {
			return fmt.Sprintf("observations[%d] (%s %s %s %s)", i, o.Offence, o.Region, o.Period, o.Measure)
		}
		if !offences[o.Offence] {
			bad("%s: unknown offence %q", at(), o.Offence)
		}
		if !regions[o.Region] {
			bad("%s: unknown region %q", at(), o.Region)
		}
		if !measures[o.Measure] {
			bad("%s: unknown measure %q", at(), o.Measure)
		}
		if !sources[o.Source] {
			bad("%s: unknown source %q", at(), o.Source)
		}
		period, err := ParsePeriod(o.Period)
		if err != nil {
			bad("%s: %v", at(), err)
		}
		if (o.Value == nil) == (o.ValueText == "") {
			bad("%s: exactly one of value and value_text must be set", at())
		}
		for _, f := range o.Flags {
			if !KnownFlag(f) {
				bad("%s: unknown flag %q", at(), f)
			}
		}
		if o.Confidence != "A" && o.Confidence != "B" && o.Confidence != "C" {
			bad("%s: confidence %q: want A, B or C", at(), o.Confidence)
		}
		if o.Locator == "" {
			bad("%s: locator is empty", at())
		}
		if r := o.Revision; r != nil {
			if r.Release == "" {
				bad("%s: revision: release is empty", at())
			}
			if (r.Value == nil) == (r.ValueText == "") {
				bad("%s: revision: exactly one of value and value_text must be set", at())
			}
			if !slices.Contains(o.Flags, FlagRevised) {
				bad("%s: revision without the %s flag", at(), FlagRevised)
			}
		}
		if holdsKeySep(o) {
			if oddKeys == nil {
				oddKeys = map[string]int{}
			}
			k := o.Key()
			if j, dup := oddKeys[k]; dup {
				bad("%s: same key as observations[%d]", at(), j)
			}
			oddKeys[k] = i
			continue
		}
		k := identity{o.Offence, o.Region, o.Measure, period, o.Breakdown, o.Source}
		if j, dup := keys[k]; dup {
			bad("%s: same key as observations[%d]", at(), j)
		}
		keys[k] = i
	}
	return errors.Join(errs...)
}

// holdsKeySep reports whether a field of o's Key holds the separator of Key.
func holdsKeySep(o Observation) bool {
	for _, f := range []string{o.Offence, o.Region, o.Measure, o.Breakdown.Sex, o.Breakdown.Age,
		o.Breakdown.Citizenship, o.Breakdown.RepatriationCountry, o.Source} {
		if strings.Contains(f, keySep) {
			return true
		}
	}
	return false
}

// Checksum is the SHA-256 of the dataset's content without its release
// block, so that a release id derived from it changes only when the data do.
func (d *Dataset) Checksum() (string, error) {
	c := *d
	c.Release = Release{}
	var buf bytes.Buffer
	if err := c.Encode(&buf); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

// Encode writes the dataset as JSON with one list item per line, so that a
// new release shows as a readable line diff. The output is deterministic.
func (d *Dataset) Encode(w io.Writer) error {
	bw := bufio.NewWriter(w)
	line := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = bw.Write(b)
		return err
	}
	list := func(name string, n int, item func(i int) any, last bool) error {
		fmt.Fprintf(bw, "%q: [", name)
		for i := 0; i < n; i++ {
			if i > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n  ")
			if err := line(item(i)); err != nil {
				return fmt.Errorf("%s[%d]: %w", name, i, err)
			}
		}
		if n > 0 {
			bw.WriteString("\n")
		}
		bw.WriteString("]")
		if !last {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		return nil
	}
	bw.WriteString("{\n")
	fmt.Fprintf(bw, "%q: %q,\n%q: ", "format", d.Format, "release")
	if err := line(d.Release); err != nil {
		return err
	}
	bw.WriteString(",\n")
	steps := []struct {
		name string
		n    int
		item func(int) any
	}{
		{"offences", len(d.Offences), func(i int) any { return d.Offences[i] }},
		{"regions", len(d.Regions), func(i int) any { return d.Regions[i] }},
		{"measures", len(d.Measures), func(i int) any { return d.Measures[i] }},
		{"sources", len(d.Sources), func(i int) any { return d.Sources[i] }},
		{"population", len(d.Population), func(i int) any { return d.Population[i] }},
		{"observations", len(d.Observations), func(i int) any { return d.Observations[i] }},
	}
	for i, s := range steps {
		if err := list(s.name, s.n, s.item, i == len(steps)-1); err != nil {
			return err
		}
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// DecodeDataset reads a dataset written by Encode (or any JSON of the same
// shape), rejecting unknown fields, and validates it.
func DecodeDataset(r io.Reader) (*Dataset, error) {
	b, err := readAll(r)
	if err != nil {
		// As when the decoder read r itself.
		return nil, fmt.Errorf("dataset: %v: %w", err, ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	// The observations are made room for at once: grown one append at a
	// time, copying and clearing ever larger arrays of them took a third of
	// the time to decode a release. Encode writes "offence": once per
	// observation; where another writer spaced it, the count is low and
	// the list grows as it did.
	var d Dataset
	if n := bytes.Count(b, []byte(`"offence":`)); n > 0 {
		d.Observations = make([]Observation, 0, n)
	}
	if err := dec.Decode(&d); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("dataset: byte offset %d: %v: %w", se.Offset, se, ErrInvalid)
		}
		return nil, fmt.Errorf("dataset: %v: %w", err, ErrInvalid)
	}
	if dec.More() {
		return nil, fmt.Errorf("dataset: trailing data after the document: %w", ErrInvalid)
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	return &d, nil
}

// readAll reads r to the end, into a buffer of the right size at once when r
// tells how much it holds (as a bytes.Reader, a strings.Reader or a file does).
func readAll(r io.Reader) ([]byte, error) {
	n := 0
	switch v := r.(type) {
	case interface{ Len() int }:
		n = v.Len()
	case interface{ Stat() (fs.FileInfo, error) }:
		if st, err := v.Stat(); err == nil && st.Mode().IsRegular() {
			n = int(st.Size())
		}
	}
	buf := bytes.NewBuffer(make([]byte, 0, n+bytes.MinRead))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}
