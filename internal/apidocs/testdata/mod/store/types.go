// Package store is a small stand-in for Krimstat's domain types.
package store

import "time"

// Offence is a kind of offence.
type Offence struct {
	ID        string     `json:"id" example:"sex-purchase"`
	Name      Names      `json:"name"`
	ValidFrom *time.Time `json:"valid_from,omitempty"`
	Value     *float64   `json:"value" extensions:"x-nullable"`
}

// Names holds a name in each language.
type Names struct {
	EN string `json:"en"`
	NB string `json:"nb"`
}
