// Command ceiling serves one fixed body on every path, through a bare Gin
// engine (release mode, no middleware). It is the "ceiling" of bench/load.sh:
// the fastest a Gin handler can answer with the same bytes that Krimstat
// serves from its cache.
//
// Usage: ceiling ADDR BODY-FILE CONTENT-TYPE
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	if len(args) != 3 {
		return errors.New("usage: ceiling ADDR BODY-FILE CONTENT-TYPE")
	}
	addr, file, contentType := args[0], args[1], args[2]
	body, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.NoRoute(func(c *gin.Context) { c.Data(http.StatusOK, contentType, body) })

	srv := &http.Server{
		Addr:              addr,
		Handler:           r,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    1 << 20,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Fprintf(stderr, "ceiling: serving %d bytes of %s on %s\n", len(body), contentType, addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
