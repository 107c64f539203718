// Package syncer renews the release from its sources: it reads the sources
// file (which tables, through which API, with which mapping), fetches each
// enabled table from Statistics Norway's PxWebApi v2 or Eurostat's
// statistics API, checks that the table still has the shape its mapping was
// written for, maps it to observations, and builds a candidate release in
// which each fetched source replaces the base release's figures from that
// source. Whether a candidate is published is decided elsewhere (the gate of
// the sources file).
//
// Nothing is partial: a fault in any table fails the whole collection, and
// a candidate is validated as every release is.
package syncer
