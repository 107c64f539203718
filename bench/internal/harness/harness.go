// Package harness holds what the Go bench commands (bench/stream,
// bench/scale) share to run the server they measure: building it and
// giving it a clean environment.
package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build builds ./cmd/krimstat of this module into bin.
func Build(ctx context.Context, bin string) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return errors.New("not inside the krimstat module: run from its directory, or give -bin")
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/krimstat")
	cmd.Dir = filepath.Dir(mod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/krimstat: %w\n%s", err, out)
	}
	return nil
}

// CleanEnv drops the settings that would make the server something other
// than the one measured: a database or Redis of the caller's, and any
// KRIMSTAT_ setting, which the harness sets itself.
func CleanEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if name == "DATABASE_URL" || name == "REDIS_URL" || name == "GOGC" || strings.HasPrefix(name, "KRIMSTAT_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
