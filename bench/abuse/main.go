// Command abuse attacks a running Krimstat server the way a hostile client
// would, one class of attack at a time, while a well-behaved client measures
// the latency everyone else sees (issue 10). Per class it reports the
// requests sent and their statuses, the server's CPU and RSS (from /proc),
// Redis memory, the well-behaved client's p50 and p99, and the slowest
// request it found; at the end the cost amplification: the slowest single
// request over a cached hit.
//
// scripts/abuse.sh builds and starts a server and runs this against it. To
// run it against a server that is already up:
//
//	go run ./bench/abuse -url http://127.0.0.1:8080 -pid "$(pgrep -n krimstat)" -duration 5s
//
// The server's rate limiter keys on the TCP peer address, so the attacker
// dials from 127.0.0.1 and the well-behaved client from 127.0.0.2: two
// clients, as on the internet. Set-up, the cached-hit measurement and the
// slowest-request probes dial from further addresses (127.0.1.x, 127.0.2.x)
// so that they spend neither client's budget. Linux routes all of 127/8 on
// loopback, so no address needs configuring.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "abuse:", err)
		os.Exit(1)
	}
}

// config is everything the harness is told, read from flags in one place.
type config struct {
	base      string // the server's URL without a trailing slash
	host      string // its host:port, for raw requests
	pid       int
	redisAddr string
	redisDB   int
	duration  time.Duration
	rest      time.Duration
	conc      int
	timeout   time.Duration
	goodRate  float64
	attacker  net.IP
	good      net.IP
	slowConns int
	idleConns int
	chunkWait time.Duration
	probes    int
	obey      bool
	line      int
	maxLine   int
	only      []string
}

func parseFlags(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	fs := flag.NewFlagSet("abuse", flag.ContinueOnError)
	fs.SetOutput(stdout)
	defURL := "http://127.0.0.1:8080"
	if v := getenv("KRIMSTAT_URL"); v != "" {
		defURL = v
	}
	var c config
	rawURL := fs.String("url", defURL, "the server to attack (default $KRIMSTAT_URL or http://127.0.0.1:8080)")
	fs.IntVar(&c.pid, "pid", 0, "the server's process id, for CPU and RSS from /proc (0: not measured)")
	fs.StringVar(&c.redisAddr, "redis", "127.0.0.1:6379", "Redis address for INFO memory (empty: not measured)")
	fs.IntVar(&c.redisDB, "redis-db", 0, "the Redis database the server uses, for its key count")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "how long each class attacks")
	fs.DurationVar(&c.rest, "rest", 5*time.Second, "pause between classes, so the clients' rate-limit budgets refill")
	fs.IntVar(&c.conc, "conc", 16, "the attacker's concurrent requests")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "timeout of every request")
	fs.Float64Var(&c.goodRate, "good-rate", 20, "the well-behaved client's requests per second")
	attacker := fs.String("attacker", "127.0.0.1", "the attacker's source address")
	good := fs.String("good", "127.0.0.2", "the well-behaved client's source address")
	fs.IntVar(&c.slowConns, "slow-conns", 300, "connections of slow-readers")
	fs.IntVar(&c.idleConns, "idle-conns", 2000, "connections of idle-conns")
	fs.DurationVar(&c.chunkWait, "chunk-wait", 15*time.Second, "how long chunked-get waits for an answer")
	fs.IntVar(&c.probes, "probes", 5, "uncached requests per class, sent alone at the end, to find the slowest")
	fs.BoolVar(&c.obey, "obey-429", false, "the attacker waits out Retry-After after a 429, so the server's CPU goes to admitted requests rather than refusals")
	fs.IntVar(&c.line, "line", 8<<10, "request-line bytes of long-lists")
	fs.IntVar(&c.maxLine, "max-line", 19500, "request-line bytes of long-lists-max (Go servers take MaxHeaderBytes + 4 KB)")
	only := fs.String("classes", "", "comma-separated classes to run (default all; -list shows them)")
	list := fs.Bool("list", false, "list the attack classes and exit")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *list {
		for _, cl := range (&harness{cfg: c}).classes() {
			fmt.Fprintf(stdout, "%-16s %s\n", cl.name, cl.what)
		}
		return c, errListed
	}
	u, err := url.Parse(*rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return c, fmt.Errorf("-url %q: want http://host:port", *rawURL)
	}
	c.base, c.host = strings.TrimRight(u.String(), "/"), u.Host
	if c.attacker = net.ParseIP(*attacker); c.attacker == nil {
		return c, fmt.Errorf("-attacker %q: not an IP address", *attacker)
	}
	if c.good = net.ParseIP(*good); c.good == nil {
		return c, fmt.Errorf("-good %q: not an IP address", *good)
	}
	if c.duration <= 0 || c.conc < 1 || c.timeout <= 0 || c.goodRate <= 0 || c.probes < 0 || c.rest < 0 {
		return c, errors.New("-duration, -conc, -timeout and -good-rate must be positive, -probes and -rest not negative")
	}
	if *only != "" {
		c.only = strings.Split(*only, ",")
	}
	return c, nil
}

// errListed ends a run that only listed the classes.
var errListed = errors.New("listed")

// run attacks the server class by class and prints the report. It fails
// only on bad flags or a server it cannot reach at all: everything that goes
// wrong after that is a finding, counted and reported.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := parseFlags(args[1:], getenv, stdout)
	if errors.Is(err, errListed) || errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	m := newMeter(cfg.pid, cfg.redisAddr, cfg.redisDB)
	defer m.close()
	h := newHarness(cfg)
	defer h.close()
	if err := h.reachable(ctx); err != nil {
		return err
	}
	h.setup(ctx)
	classes := h.classes()
	if cfg.only != nil {
		classes = slices.DeleteFunc(classes, func(c class) bool { return !slices.Contains(cfg.only, c.name) })
		if len(classes) == 0 {
			return fmt.Errorf("-classes %q: no such class (see -list)", strings.Join(cfg.only, ","))
		}
	}
	r := report{cfg: cfg, release: h.release, meterNotes: m.notes}
	fmt.Fprintf(stdout, "abuse: %s, release %s; %d classes of %s each, %s apart\n",
		cfg.base, orDash(h.release), len(classes), cfg.duration, cfg.rest)

	r.hit = h.cachedHit(ctx, m)
	fmt.Fprintf(stdout, "abuse: cached hit %s\n", r.hit)

	r.rows = append(r.rows, h.measure(ctx, m, class{name: "baseline", what: "no attack: the well-behaved client alone"}))
	for _, c := range classes {
		if !sleep(ctx, cfg.rest) {
			break
		}
		fmt.Fprintf(stdout, "abuse: %s (%s)\n", c.name, cfg.duration)
		row := h.measure(ctx, m, c)
		r.rows = append(r.rows, row)
		if !m.alive() {
			r.notes = append(r.notes, fmt.Sprintf("The server (pid %d) exited during %s; the run stopped there.", cfg.pid, c.name))
			break
		}
		if err := h.reachable(ctx); err != nil {
			r.notes = append(r.notes, fmt.Sprintf("After %s: %v.", c.name, err))
		}
	}
	if ctx.Err() == nil && m.alive() {
		// The probes want a quiet server: let the last class's connections
		// and garbage go first.
		sleep(ctx, cfg.rest)
		fmt.Fprintln(stdout, "abuse: probing each class's requests alone for the slowest")
		h.probeSlowest(ctx, m, classes, r.rows)
	}
	r.print(stdout)
	return nil
}

// sleep waits d, or less when ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
