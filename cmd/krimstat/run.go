package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

const usage = `usage: krimstat <command> [flags]

commands:
  serve     serve the API (bundled data by default; DATABASE_URL for PostgreSQL, REDIS_URL for a shared cache)
  ingest    build a release from source files
  migrate   bring the PostgreSQL schema up to date (DATABASE_URL)
  export    write a release's bundle (the zip of /v1/releases/{id}/download) to a file
  healthcheck  exit 0 when the server at KRIMSTAT_ADDR is ready (for container health checks)

Run "krimstat <command> -h" for a command's flags.`

// errUsage is returned for a missing or unknown command.
var errUsage = errors.New("unknown command (see usage above)")

// run dispatches to a subcommand. It owns no state beyond its arguments, so
// tests can call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) < 2 {
		fmt.Fprintln(stdout, usage)
		return errUsage
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout)
	case "ingest":
		return ingestCmd(ctx, rest, getenv, stdout)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout)
	case "sync":
		return syncCmd(ctx, rest, getenv, stdout)
	case "export":
		return exportCmd(ctx, rest, getenv, stdout)
	case "healthcheck":
		return healthcheck(ctx, rest, getenv, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stdout, usage)
	return fmt.Errorf("%q: %w", cmd, errUsage)
}
