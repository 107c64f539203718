// Command krimstat serves the Krimstat open-data API and loads its data.
//
//	krimstat serve     serve the API (bundled data by default; DATABASE_URL for PostgreSQL)
//	krimstat ingest    build a release from source files
//	krimstat migrate   bring the PostgreSQL schema up to date
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "krimstat:", err)
		os.Exit(1)
	}
}
