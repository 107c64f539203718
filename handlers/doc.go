// Package handlers is Krimstat's HTTP layer: the route handlers, the one
// place errors become RFC 9457 problems, and the router with its middleware.
//
//	@title						Krimstat API
//	@version					1.0
//	@description				Police-reported counts of purchase of sexual services, human trafficking and pimping in Norway, by year and region, with European comparison figures from Eurostat and UNODC. Every figure carries its source, a locator, a confidence grade and flags; gaps are absent rows, never zeros. Errors are RFC 9457 application/problem+json.
//	@contact.name				Krimstat
//	@license.name				Data: each source's own terms (CC BY 4.0 for Statistics Norway and Eurostat; cite UNODC and the other publishers): see /v1/sources
//	@BasePath					/
//	@externalDocs.description	README: data sources, caveats and examples
//	@externalDocs.url			https://github.com/krimstat/krimstat
package handlers
