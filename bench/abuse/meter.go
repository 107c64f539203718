package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// meter reads the server's CPU and RSS from /proc and Redis's memory.
type meter struct {
	pid   int
	rdb   *redis.Client // nil when Redis is not measured
	notes []string
}

func newMeter(pid int, addr string, db int) *meter {
	m := &meter{pid: pid}
	if addr != "" {
		m.rdb = redis.NewClient(&redis.Options{Addr: addr, DB: db, DialTimeout: time.Second,
			ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: -1})
		m.notes = append(m.notes, fmt.Sprintf("Redis memory is INFO memory used_memory of the whole instance at %s, "+
			"not only database %d; the keys are database %d's (DBSIZE).", addr, db, db))
	}
	if pid == 0 {
		m.notes = append(m.notes, "No -pid: server CPU and RSS not measured.")
	}
	return m
}

func (m *meter) close() {
	if m.rdb != nil {
		m.rdb.Close()
	}
}

// sample is one reading; a field is negative when it could not be read.
type sample struct {
	cpu       time.Duration // user + system time of the server so far
	rss       int64         // bytes
	redisMem  int64         // bytes
	redisKeys int64
}

func (m *meter) read(ctx context.Context) sample {
	s := sample{cpu: -1, rss: -1, redisMem: -1, redisKeys: -1}
	if m.pid != 0 {
		s.cpu = procCPU(m.pid)
		s.rss = procRSS(m.pid)
	}
	if m.rdb != nil {
		s.redisMem = redisUsed(ctx, m.rdb)
		if n, err := m.rdb.DBSize(ctx).Result(); err == nil {
			s.redisKeys = n
		}
	}
	return s
}

// alive reports whether the server's process still exists (true when no
// pid was given: then nothing says otherwise).
func (m *meter) alive() bool {
	if m.pid == 0 {
		return true
	}
	_, err := os.Stat(fmt.Sprintf("/proc/%d", m.pid))
	return err == nil
}

// watch samples RSS and Redis memory every 200 ms until the returned
// function is called, which returns the peaks: what a class holds while it
// runs can be gone by the time it ends.
func (m *meter) watch(ctx context.Context, first sample) func() sample {
	peak := first
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s := m.read(ctx)
			mu.Lock()
			peak.rss = max(peak.rss, s.rss)
			peak.redisMem = max(peak.redisMem, s.redisMem)
			mu.Unlock()
		}
	})
	return func() sample {
		close(done)
		wg.Wait()
		return peak
	}
}

// userHZ is the unit of the times in /proc/PID/stat: fixed at 100 for
// user space on Linux, whatever the kernel's internal tick.
const userHZ = 100

// procCPU returns utime + stime of a process, or -1.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// The command name may hold spaces and parentheses; the fields after
	// its closing parenthesis start with the state (field 3), so utime
	// (field 14) and stime (field 15) are the 12th and 13th after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	k, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(u+k) * time.Second / userHZ
}

// procRSS returns VmRSS of a process in bytes, or -1.
func procRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// redisUsed returns used_memory from INFO memory, or -1.
func redisUsed(ctx context.Context, rdb *redis.Client) int64 {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return -1
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}
