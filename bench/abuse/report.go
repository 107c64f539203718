package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// row is one class's measurement.
type row struct {
	name, what string
	requests   int
	statuses   map[string]int
	bytes      int64
	elapsed    time.Duration
	before     sample
	after      sample
	peak       sample
	good       goodResult
	slowest    time.Duration // the slowest answer during the attack
	slowReq    string
	notes      []string

	probe probed // filled by probeSlowest
}

// measure runs one class with the well-behaved client beside it, and reads
// the server before, during and after. The "after" reading is taken when
// the attack window closes, before the class lets go of what it holds
// (connections), since what it holds is what is being measured.
func (h *harness) measure(ctx context.Context, m *meter, c class) row {
	before := m.read(ctx)
	stopWatch := m.watch(ctx, before)
	t := newTally()
	start := time.Now()
	until := start.Add(h.cfg.duration)
	goodc := make(chan goodResult, 1)
	go func() { goodc <- h.goodClient(ctx, until) }()
	var cleanup func()
	switch {
	case c.gen != nil:
		h.flood(ctx, until, c.gen, t)
	case c.raw != nil:
		cleanup = c.raw(ctx, until, t)
	default:
		sleep(ctx, time.Until(until))
	}
	g := <-goodc
	elapsed := time.Since(start)
	after := m.read(ctx)
	peak := stopWatch()
	peak.rss, peak.redisMem = max(peak.rss, after.rss), max(peak.redisMem, after.redisMem)
	if cleanup != nil {
		cleanup()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return row{
		name: c.name, what: c.what, requests: t.requests, statuses: t.statuses, bytes: t.bytes, elapsed: elapsed,
		before: before, after: after, peak: peak, good: g, slowest: t.slowest, slowReq: t.slowReq, notes: t.notes,
	}
}

// report is the whole output.
type report struct {
	cfg        config
	release    string
	hit        hit
	rows       []row
	notes      []string
	meterNotes []string
}

func (r report) print(w io.Writer) {
	c := r.cfg
	fmt.Fprintln(w)
	fmt.Fprintf(w, "### Abuse run against %s (release %s)\n\n", c.base, orDash(r.release))
	fmt.Fprintf(w, "Each class: one attacking client (%s, %d concurrent, %s timeout) for %s, %s apart; "+
		"the well-behaved client (%s) sends %d typical requests round-robin at %g req/s meanwhile. %s"+
		"CPU is the server's utime+stime over the class; RSS and Redis are read before and after the attack window, "+
		"peak sampled every 200 ms.\n\n",
		c.attacker, c.conc, c.timeout, c.duration, c.rest, c.good, len(goodPaths), c.goodRate, obeys(c.obey))
	fmt.Fprintln(w, "| class | requests | statuses | server CPU ms | RSS before→after (peak) MB | Redis before→after (peak) MB | good p50 / p99 ms | good errors | slowest ms: alone / under attack |")
	fmt.Fprintln(w, "|---|---:|---|---:|---|---|---|---|---|")
	for _, x := range r.rows {
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s / %s | %s | %s / %s |\n",
			x.name, x.requests, statuses(x.statuses), cpu(x.before, x.after),
			mbRange(x.before.rss, x.after.rss, x.peak.rss), mbRange(x.before.redisMem, x.after.redisMem, x.peak.redisMem),
			ms(percentile(x.good.latencies, 50)), ms(percentile(x.good.latencies, 99)), goodErrors(x.good),
			durOrDash(x.probe.slowest), durOrDash(x.slowest))
	}

	fmt.Fprintln(w, "\nClasses:")
	for _, x := range r.rows {
		var extra []string
		if x.bytes > 0 {
			extra = append(extra, fmt.Sprintf("received %.1f MB (%.1f MB/s)", float64(x.bytes)/(1<<20),
				float64(x.bytes)/(1<<20)/x.elapsed.Seconds()))
		}
		if x.elapsed > r.cfg.duration+time.Second {
			extra = append(extra, fmt.Sprintf("the attack window closed after %.1f s (requests in flight finished)", x.elapsed.Seconds()))
		}
		if x.before.redisKeys >= 0 && x.after.redisKeys >= 0 {
			extra = append(extra, fmt.Sprintf("Redis keys %d→%d", x.before.redisKeys, x.after.redisKeys))
		}
		extra = append(extra, x.notes...)
		if p := x.probe; len(p.times) > 0 {
			cpu := ""
			if c := p.cpuPer(); c >= 0 {
				cpu = fmt.Sprintf(", server CPU %s ms per request", ms(c))
			}
			extra = append(extra, fmt.Sprintf("alone (%d uncached): median %s ms%s, slowest %s ms, %s, GET %s",
				len(p.times), ms(p.median()), cpu, ms(p.slowest), p.status, p.req))
		}
		if x.slowReq != "" {
			extra = append(extra, fmt.Sprintf("slowest under attack: %s ms, GET %s", ms(x.slowest), x.slowReq))
		}
		fmt.Fprintf(w, "- **%s**: %s. — %s.\n", x.name, x.what, strings.Join(extra, "; "))
	}

	fmt.Fprintln(w, "\nSummary:")
	fmt.Fprintf(w, "- Cached hit: %s.\n", r.hit)
	r.printCost(w)
	if u, ok := r.slowestUnder(); ok {
		line := fmt.Sprintf("- Slowest answer under attack (with queueing): %s ms, class %s", ms(u.slowest), u.name)
		if r.hit.measured && r.hit.median > 0 {
			line += fmt.Sprintf(" (%.0f× a cached hit)", float64(u.slowest)/float64(r.hit.median))
		}
		fmt.Fprintln(w, line+".")
	}
	r.printExtremes(w)
	for _, n := range append(r.notes, r.meterNotes...) {
		fmt.Fprintln(w, "- "+n)
	}
}

// printExtremes names the worst class for each of the goals.
func (r report) printExtremes(w io.Writer) {
	if len(r.rows) < 2 {
		return
	}
	base := r.rows[0]
	attacks := r.rows[1:]
	worst := func(f func(row) int64) row {
		return slices.MaxFunc(attacks, func(a, b row) int { return cmp.Compare(f(a), f(b)) })
	}
	if base.before.rss >= 0 {
		// The server rarely gives memory back within seconds, so a class
		// starts where the one before left RSS: growth names the culprit,
		// the highest value tests the goal.
		x := worst(func(x row) int64 { return x.peak.rss })
		fmt.Fprintf(w, "- Highest RSS seen: %s MB (%s MB before the baseline; goal: under 150 MB).\n",
			mb(x.peak.rss), mb(base.before.rss))
		x = worst(func(x row) int64 { return x.peak.rss - x.before.rss })
		fmt.Fprintf(w, "- Largest RSS growth in one class: %+.1f MB during %s (%s→%s MB at peak).\n",
			float64(x.peak.rss-x.before.rss)/(1<<20), x.name, mb(x.before.rss), mb(x.peak.rss))
	}
	if base.before.redisMem >= 0 {
		x := worst(func(x row) int64 { return x.peak.redisMem - x.before.redisMem })
		fmt.Fprintf(w, "- Largest Redis growth: %+.1f MB at peak during %s (%+.1f MB by its end; goal: under 64 MB).\n",
			float64(x.peak.redisMem-x.before.redisMem)/(1<<20), x.name, float64(x.after.redisMem-x.before.redisMem)/(1<<20))
	}
	if bp := percentile(base.good.latencies, 99); bp > 0 {
		x := worst(func(x row) int64 { return int64(percentile(x.good.latencies, 99)) })
		p := percentile(x.good.latencies, 99)
		fmt.Fprintf(w, "- Worst good-client p99: %s ms during %s, %.1f× the baseline's %s ms (goal: within 3×).\n",
			ms(p), x.name, float64(p)/float64(bp), ms(bp))
	}
	var failed []string
	for _, x := range attacks {
		if n := sum(x.good.failed); n > 0 {
			failed = append(failed, fmt.Sprintf("%s %d", x.name, n))
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "- Good-client requests that failed (goal: none): %s.\n", strings.Join(failed, ", "))
	} else {
		fmt.Fprintln(w, "- No good-client request failed during any attack.")
	}
}

// printCost reports the cost amplification three ways: the slowest single
// request (what the issue asks for, and the most exposed to noise such as
// a GC pause), the class slowest at its median, and server CPU per request.
func (r report) printCost(w io.Writer) {
	var probed []row
	for _, x := range r.rows {
		if len(x.probe.times) > 0 {
			probed = append(probed, x)
		}
	}
	if len(probed) == 0 {
		return
	}
	times := func(d time.Duration) string {
		if !r.hit.measured || r.hit.median <= 0 {
			return ""
		}
		return fmt.Sprintf(" = %.0f× the cached hit's %s ms", float64(d)/float64(r.hit.median), ms(r.hit.median))
	}
	a := slices.MaxFunc(probed, func(a, b row) int { return cmp.Compare(a.probe.slowest, b.probe.slowest) })
	fmt.Fprintf(w, "- **Cost amplification: the slowest single request found, sent alone and not from the cache, took %s ms%s** "+
		"(wall time at the client; class %s: GET %s, %s).\n", ms(a.probe.slowest), times(a.probe.slowest), a.name, a.probe.req, a.probe.status)
	m := slices.MaxFunc(probed, func(a, b row) int { return cmp.Compare(a.probe.median(), b.probe.median()) })
	fmt.Fprintf(w, "- The costliest class at its median: %s, %s ms%s.\n", m.name, ms(m.probe.median()), times(m.probe.median()))
	c := slices.MaxFunc(probed, func(a, b row) int { return cmp.Compare(a.probe.cpuPer(), b.probe.cpuPer()) })
	if c.probe.cpuPer() > 0 && r.hit.cpu > 0 {
		fmt.Fprintf(w, "- In server CPU: %s, %s ms per request ÷ %s ms per cached hit = %.0f× (means of 10 ms /proc ticks: rough).\n",
			c.name, ms(c.probe.cpuPer()), msFine(r.hit.cpu), float64(c.probe.cpuPer())/float64(r.hit.cpu))
	}
}

func (r report) slowestUnder() (row, bool) {
	var best row
	for _, x := range r.rows {
		if x.slowest > best.slowest {
			best = x
		}
	}
	return best, best.slowest > 0
}

func obeys(obey bool) string {
	if obey {
		return "The attacker waits out Retry-After after a 429. "
	}
	return "The attacker ignores 429s and sends again at once. "
}

// statuses renders counts as "200:120 400:3000 429:50 err:3", codes first.
func statuses(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		na, ea := strconv.Atoi(a)
		nb, eb := strconv.Atoi(b)
		switch {
		case ea == nil && eb == nil:
			return na - nb
		case ea == nil:
			return -1
		case eb == nil:
			return 1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func goodErrors(g goodResult) string {
	n := sum(g.failed)
	total := len(g.latencies) + g.failed["err"] + g.failed["timeout"]
	if n == 0 {
		return fmt.Sprintf("0 of %d", total)
	}
	return fmt.Sprintf("%d of %d (%s)", n, total, statuses(g.failed))
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func cpu(before, after sample) string {
	if before.cpu < 0 || after.cpu < 0 {
		return "-"
	}
	return strconv.FormatInt((after.cpu - before.cpu).Milliseconds(), 10)
}

func mb(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

func mbRange(before, after, peak int64) string {
	if before < 0 || after < 0 {
		return "-"
	}
	s := mb(before) + "→" + mb(after)
	if peak > after+(1<<20) {
		s += " (" + mb(peak) + ")"
	}
	return s
}

// ms renders a duration in milliseconds with precision to match its size.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f < 10:
		return strconv.FormatFloat(f, 'f', 2, 64)
	case f < 100:
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(f, 'f', 0, 64)
}

// msFine renders a small duration in milliseconds with three decimals.
func msFine(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

func durOrDash(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return ms(d)
}
