package handlers

import (
	"net/http"

	"example.com/fixture/store"
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type      string `json:"type" example:"https://krimstat.example/problems/not-found"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Parameter string `json:"parameter,omitempty"`
}

// OffenceList is the list response.
type OffenceList struct {
	Data []store.Offence `json:"data"`
}

// ListOffences lists offences.
//
//	@Summary	List offences
//	@Tags		offences
//	@ID			listOffences
//	@Produce	json,text/csv
//	@Param		format	query		string	false	"Response format"	Enums(json, csv)
//	@Success	200		{object}	OffenceList
//	@Failure	400		{object}	Problem
//	@Router		/v1/offences [get]
func ListOffences(w http.ResponseWriter, r *http.Request) {}

// GetOffence returns one offence.
//
//	@Summary	Get an offence
//	@Tags		offences
//	@ID			getOffence
//	@Produce	json
//	@Param		id	path		string	true	"Offence id"
//	@Success	200	{object}	store.Offence
//	@Failure	400,404	{object}	Problem
//	@Failure	500	{object}	Problem
//	@Router		/v1/offences/{id} [get]
func GetOffence(w http.ResponseWriter, r *http.Request) {}

// Healthz answers liveness probes.
//
//	@Summary	Liveness
//	@Tags		health
//	@ID			healthz
//	@Produce	plain
//	@Success	200	{string}	string	"ok"
//	@Router		/healthz [get]
func Healthz(w http.ResponseWriter, r *http.Request) {}
