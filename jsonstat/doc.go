// Package jsonstat reads and writes JSON-stat 2.0 datasets: it decodes the
// responses of Statistics Norway's PxWebApi (v0 and v2) and Eurostat
// strictly, maps their cells to Krimstat observations with a mapping file
// that names every code (or selects a category by its exact published
// label, which Resolve turns into its code and Map quotes in the
// locators), downloads them with limits, and encodes
// observations as a JSON-stat dataset that decodes back to the same
// observations.
//
// The specification is https://json-stat.org/format/. Where it leaves a
// choice, this package is strict: a value must be a number or null (the
// specification also allows strings, which the sources Krimstat reads never
// use), unknown properties and duplicate keys are errors, and every problem
// names the file and the JSON path or byte offset.
package jsonstat
