// Package handlers is a small stand-in for Krimstat's handlers, annotated the
// way the real ones are, for testing the documentation generator.
//
//	@title			Fixture API
//	@version		1.0
//	@description	Police-reported figures, with "<5" kept as text & sources.
//	@license.name	CC BY 4.0
//	@BasePath		/
package handlers
