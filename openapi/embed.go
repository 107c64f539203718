// Package openapi embeds the OpenAPI 3 contract generated from the handlers'
// swag annotations (make docs). The files beside this one are generated;
// never edit them by hand.
package openapi

import _ "embed"

// JSON is openapi.json, served at /openapi.json.
//
//go:embed openapi.json
var JSON []byte
