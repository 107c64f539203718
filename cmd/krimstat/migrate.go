package main

import (
	"context"
	"fmt"
	"io"
)

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return fmt.Errorf("migrate: not wired yet")
}
