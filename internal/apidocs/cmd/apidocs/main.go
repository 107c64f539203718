// Command apidocs regenerates Krimstat's API documentation from the swag
// annotations in package handlers: docs/swagger.json and docs/swagger.yaml
// (Swagger 2.0) and openapi/openapi.json and openapi/openapi.yaml (OpenAPI 3).
//
// Run it from anywhere inside the module, usually as `make docs`:
//
//	go run ./internal/apidocs/cmd/apidocs [-root DIR] [-docs DIR] [-openapi DIR]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/krimstat/krimstat/internal/apidocs"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "apidocs:", err)
		os.Exit(1)
	}
}

// run parses the flags, regenerates the documents and lists them on stdout.
func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apidocs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "module root (default: the nearest directory with a go.mod)")
	docsDir := fs.String("docs", "", "Swagger 2.0 output directory (default: ROOT/docs)")
	openapiDir := fs.String("openapi", "", "OpenAPI 3 output directory (default: ROOT/openapi)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if *root, err = apidocs.FindRoot(wd); err != nil {
			return err
		}
	}
	if *docsDir == "" {
		*docsDir = filepath.Join(*root, "docs")
	}
	if *openapiDir == "" {
		*openapiDir = filepath.Join(*root, "openapi")
	}
	if err := apidocs.Generate(*root, *docsDir, *openapiDir); err != nil {
		return err
	}
	for _, name := range []string{
		filepath.Join(*docsDir, "swagger.json"),
		filepath.Join(*docsDir, "swagger.yaml"),
		filepath.Join(*openapiDir, "openapi.json"),
		filepath.Join(*openapiDir, "openapi.yaml"),
	} {
		fmt.Fprintln(stdout, "wrote", name)
	}
	return nil
}
