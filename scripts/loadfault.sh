#!/usr/bin/env bash
# loadfault.sh puts Krimstat under load on loopback and breaks its
# dependencies while the load runs, then reports per phase what the clients
# saw. Everything runs on 127.0.0.1, every loop is bounded, and everything
# the script starts is stopped on exit (PostgreSQL, when it stopped it, is
# started again).
#
#   scripts/loadfault.sh                 memory store, own Redis
#   LOADFAULT_PG=1 DATABASE_URL=postgres://...@127.0.0.1:5432/krimstat scripts/loadfault.sh
#
# It builds ./cmd/krimstat, starts a redis-server of its own on a spare port
# and "krimstat serve" on another, then runs two wrk loads at once in every
# phase: a cached route (-t2 -c32) and an uncached-ish one (-t1 -c8, the
# query varied per request so that most requests miss the cache).
#
# Phases, PHASE_SECONDS each:
#   0 baseline   nothing breaks.
#   a redis      Redis is killed (SIGKILL) as the phase starts and restarted
#                halfway; reports how long after the restart Redis served the
#                API again (X-Cache: HIT-REDIS, or the redis-tier hit counter
#                of /metrics on KRIMSTAT_METRICS_ADDR) and what /readyz said
#                during the outage.
#   b postgres   with LOADFAULT_PG=1 only: the cluster is stopped as the phase
#                starts (pg_ctlcluster --skip-systemctl-redirect) and started
#                halfway; reports an uncached answer during the outage and
#                the seconds until uncached requests succeed again.
#   c release    with LOADFAULT_PG=1: "krimstat ingest $LOADFAULT_INGEST_ARGS"
#                loads a new release while the load runs; reports the release
#                before and after. With the memory store it is skipped.
#   d recovery   nothing breaks: the service after the faults, to compare
#                with the baseline.
#
# Environment (defaults in brackets):
#   PHASE_SECONDS [10]           length of each phase (at least 4)
#   LOADFAULT_PG [0]             1: serve from DATABASE_URL and run phases b, c
#   DATABASE_URL                 PostgreSQL on 127.0.0.1 (used only with LOADFAULT_PG=1)
#   PG_CLUSTER [15 main]         version and name for pg_ctlcluster
#   LOADFAULT_INGEST_ARGS [-bundled -eurostat ../shared/data/eurostat/crim_off_cat.tsv]
#   KRIMSTAT_CACHE_LOCAL [off]   off makes every cached request go to Redis
#   KRIMSTAT_RATELIMIT [off]     the load comes from one address; a limit would turn it into 429s
#   CACHED_PATH [/v1/observations?offence=sex-purchase&region=NO]
#   UNCACHED_PATH [/v1/observations?offence=sex-purchase]
#   RECOVERY_TIMEOUT [15]        seconds to wait for a recovery before reporting it as not seen
#   KRIMSTAT_BIN                 a prebuilt krimstat to use instead of building one
#   LOADFAULT_LOGDIR             keep the server, Redis and wrk logs here
#   WRK [/usr/bin/wrk], REDIS_SERVER [/usr/bin/redis-server]
#
# It exits non-zero when a tool is missing or the server does not start; the
# phases' results are reported, not judged.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

PHASE_SECONDS=${PHASE_SECONDS:-10}
LOADFAULT_PG=${LOADFAULT_PG:-0}
PG_CLUSTER=${PG_CLUSTER:-15 main}
INGEST_ARGS=${LOADFAULT_INGEST_ARGS:--bundled -eurostat ../shared/data/eurostat/crim_off_cat.tsv}
CACHE_LOCAL=${KRIMSTAT_CACHE_LOCAL:-off}
RATELIMIT=${KRIMSTAT_RATELIMIT:-off}
CACHED_PATH=${CACHED_PATH:-/v1/observations?offence=sex-purchase&region=NO}
UNCACHED_PATH=${UNCACHED_PATH:-/v1/observations?offence=sex-purchase}
RECOVERY_TIMEOUT=${RECOVERY_TIMEOUT:-15}
WRK=${WRK:-/usr/bin/wrk}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
LUA=$ROOT/scripts/loadfault.lua

log() { echo "loadfault: $*" >&2; }
die() {
	log "$*"
	exit 1
}

[[ $PHASE_SECONDS =~ ^[0-9]+$ && $PHASE_SECONDS -ge 4 ]] || die "PHASE_SECONDS=$PHASE_SECONDS: want whole seconds, at least 4"
[[ $RECOVERY_TIMEOUT =~ ^[0-9]+$ ]] || die "RECOVERY_TIMEOUT=$RECOVERY_TIMEOUT: want whole seconds"
for tool in "$WRK" "$REDIS_SERVER" curl go awk timeout; do
	command -v "$tool" >/dev/null || die "$tool not found"
done
if [[ $LOADFAULT_PG == 1 ]]; then
	[[ -n ${DATABASE_URL:-} ]] || die "LOADFAULT_PG=1 needs DATABASE_URL"
	# All traffic stays on loopback: refuse a database anywhere else.
	host=$(sed -E 's#^[a-z]+://([^@/]*@)?(\[[^]]*\]|[^:/?]*).*#\2#' <<<"$DATABASE_URL")
	case $host in
	127.0.0.1 | localhost | "[::1]") ;;
	*) die "DATABASE_URL host $host: want 127.0.0.1 or localhost" ;;
	esac
	command -v pg_ctlcluster >/dev/null || die "pg_ctlcluster not found"
fi

TMP=$(mktemp -d)
PIDS=()       # wrk and krimstat
REDIS_PID=""  # the current redis-server
PG_STOPPED=0  # 1 while this script holds PostgreSQL stopped

cleanup() {
	local pid
	set +e
	for pid in "${PIDS[@]}" $REDIS_PID; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}" $REDIS_PID; do
		wait "$pid" 2>/dev/null
	done
	if [[ $PG_STOPPED == 1 ]]; then
		log "starting PostgreSQL again"
		# shellcheck disable=SC2086 # PG_CLUSTER is "version name"
		pg_ctlcluster --skip-systemctl-redirect $PG_CLUSTER start
	fi
	if [[ -n ${LOADFAULT_LOGDIR:-} ]]; then
		mkdir -p "$LOADFAULT_LOGDIR" && cp "$TMP"/*.log "$TMP"/*.wrk "$LOADFAULT_LOGDIR"/ 2>/dev/null
		log "logs kept in $LOADFAULT_LOGDIR"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
# later T D: the time D seconds after T, with the decimals awk's print would drop.
later() { awk -v t="$1" -v d="$2" 'BEGIN { printf "%.3f", t + d }'; }
# before T: true while now() is before T.
before() { awk -v n="$(now)" -v t="$1" 'BEGIN { exit !(n < t) }'; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# sleep_until T: sleeps until the time T (from now()), if it is ahead.
sleep_until() {
	local d
	d=$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; if (d > 0) printf "%.2f", d; else print 0 }')
	sleep "$d"
}

# free_port prints a port nothing on 127.0.0.1 listens on (100 tries).
free_port() {
	local port
	for _ in $(seq 1 100); do
		port=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	die "no free port found"
}

# status URL: the HTTP status of a GET, 000 when there is no answer in 2 s.
status() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true; }

# wait_status URL CODE SECONDS: waits for URL to answer CODE.
wait_status() {
	local deadline
	deadline=$(later "$(now)" "$3")
	while before "$deadline"; do
		[[ $(status "$1") == "$2" ]] && return 0
		sleep 0.1
	done
	return 1
}

redis_ping() {
	# PING over bash's /dev/tcp, so that redis-cli is not required.
	(exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'PING\r\n' >&3 && timeout 1 head -c 5 <&3 | tr -d '+\r\n') 2>/dev/null || true
}

start_redis() {
	"$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning \
		>>"$TMP/redis.log" 2>&1 &
	REDIS_PID=$!
	for _ in $(seq 1 50); do
		[[ $(redis_ping "$REDIS_PORT") == PONG ]] && return 0
		sleep 0.1
	done
	die "redis-server on port $REDIS_PORT did not answer within 5 s"
}

kill_redis() {
	kill -KILL "$REDIS_PID" 2>/dev/null || true
	wait "$REDIS_PID" 2>/dev/null || true
	REDIS_PID=""
}

pg() {
	# shellcheck disable=SC2086 # PG_CLUSTER is "version name"
	pg_ctlcluster --skip-systemctl-redirect $PG_CLUSTER "$1"
}

# header URL NAME: the value of one response header of a GET.
header() {
	curl -s -o /dev/null -D - --max-time 2 "$1" 2>/dev/null | tr -d '\r' |
		awk -v h="$(tr '[:upper:]' '[:lower:]' <<<"$2")" -F': ' 'tolower($1) == h { print $2 }' || true
}

# redis_hits: the sum of the redis-tier cache hit counters at /metrics (on
# KRIMSTAT_METRICS_ADDR), or nothing when the server does not export them.
redis_hits() {
	curl -s --max-time 2 "http://$METRICS_ADDR/metrics" 2>/dev/null |
		awk '/^krimstat_cache_hits_total\{/ && /tier="redis"/ { s += $NF; n++ } END { if (n) printf "%d", s }' || true
}

# release: the release id /readyz reports.
release() {
	curl -s --max-time 2 "$BASE/readyz" 2>/dev/null | sed -nE 's/.*"release":"([^"]*)".*/\1/p' || true
}

# redis_used BASELINE: true once the API answers from Redis again.
redis_used() {
	[[ $(header "$BASE$CACHED_PATH" X-Cache) == HIT-REDIS ]] && return 0
	local h
	h=$(redis_hits)
	[[ -n $h && -n $1 && $h -gt $1 ]]
}

# start_load PHASE: starts both wrk runs in the background.
start_load() {
	timeout $((PHASE_SECONDS + 30)) "$WRK" -t2 -c32 -d"${PHASE_SECONDS}s" --latency -s "$LUA" \
		"$BASE$CACHED_PATH" >"$TMP/$1-cached.wrk" 2>&1 &
	WRK_CACHED=$!
	timeout $((PHASE_SECONDS + 30)) "$WRK" -t1 -c8 -d"${PHASE_SECONDS}s" --latency -s "$LUA" \
		"$BASE$UNCACHED_PATH" -- vary >"$TMP/$1-uncached.wrk" 2>&1 &
	WRK_UNCACHED=$!
	PIDS+=("$WRK_CACHED" "$WRK_UNCACHED")
}

declare -a ROWS NOTES
# finish_load PHASE: waits for both wrk runs and records their results.
finish_load() {
	local route line
	wait "$WRK_CACHED" || log "wrk (cached) exited $?"
	wait "$WRK_UNCACHED" || log "wrk (uncached) exited $?"
	for route in cached uncached; do
		line=$(grep '^LOADFAULT ' "$TMP/$1-$route.wrk" || true)
		if [[ -z $line ]]; then
			ROWS+=("$(printf '%-10s %-9s %s' "$1" "$route" "no result: $(tail -n 1 "$TMP/$1-$route.wrk")")")
			continue
		fi
		ROWS+=("$(awk -v phase="$1" -v route="$route" '{
			for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			printf "%-10s %-9s %9d %8d %8d %9.2f  %s", phase, route, v["requests"], v["non2xx"], v["socket_errors"], v["p99_ms"], v["statuses"]
		}' <<<"$line")")
	done
}

note() {
	NOTES+=("$*")
	log "$*"
}

# Build and start.
if [[ -n ${KRIMSTAT_BIN:-} ]]; then
	BIN=$KRIMSTAT_BIN
else
	log "building ./cmd/krimstat"
	go build -o "$TMP/krimstat" ./cmd/krimstat
	BIN=$TMP/krimstat
fi

REDIS_PORT=$(free_port)
start_redis
log "redis-server on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"

# /metrics is served on an address of its own; the load comes from one
# address, so the per-client caps (connections, requests in flight) are off.
METRICS_ADDR="127.0.0.1:$(free_port)"
SERVER_ENV=(KRIMSTAT_ADDR="127.0.0.1:$(free_port)" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
	KRIMSTAT_CACHE_LOCAL="$CACHE_LOCAL" KRIMSTAT_RATELIMIT="$RATELIMIT" GIN_MODE=release
	KRIMSTAT_METRICS_ADDR="$METRICS_ADDR" KRIMSTAT_MAX_CONNS_PER_CLIENT=0 KRIMSTAT_INFLIGHT_PER_CLIENT=100000 KRIMSTAT_INFLIGHT=100000 KRIMSTAT_COMPUTE_PER_CLIENT=100000 KRIMSTAT_COMPUTE=100000)
if [[ $LOADFAULT_PG == 1 ]]; then
	log "PostgreSQL: migrating and loading the bundled release if absent"
	DATABASE_URL=$DATABASE_URL timeout 120 "$BIN" migrate >"$TMP/migrate.log" 2>&1 || {
		cat "$TMP/migrate.log" >&2
		die "migrate failed"
	}
	DATABASE_URL=$DATABASE_URL timeout 120 "$BIN" ingest -bundled >"$TMP/ingest-bundled.log" 2>&1 || {
		tail -n 5 "$TMP/ingest-bundled.log" >&2
		die "ingest -bundled failed"
	}
	SERVER_ENV+=(DATABASE_URL="$DATABASE_URL")
	STORE=postgres
else
	STORE=memory
fi
env -u DATABASE_URL "${SERVER_ENV[@]}" "$BIN" serve >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
BASE="http://${SERVER_ENV[0]#KRIMSTAT_ADDR=}"
if ! wait_status "$BASE/readyz" 200 30; then
	tail -n 20 "$TMP/server.log" >&2
	die "krimstat serve did not become ready within 30 s"
fi
[[ $(status "$BASE$CACHED_PATH") == 200 ]] || die "$CACHED_PATH does not answer 200"
log "krimstat serve at $BASE (pid $SERVER_PID, $STORE store, release $(release))"
if [[ -z $(header "$BASE$CACHED_PATH" X-Cache) ]]; then
	note "the server sends no X-Cache header: is the cache wired? Redis recovery is then read from /metrics only"
fi
if [[ -z $(redis_hits) ]]; then
	note "/metrics has no krimstat_cache_hits_total{tier=\"redis\"}"
fi
if [[ $CACHE_LOCAL != off ]]; then
	note "KRIMSTAT_CACHE_LOCAL=$CACHE_LOCAL: cached requests mostly stay in process, so the Redis phase tests little"
fi
HALF=$((PHASE_SECONDS / 2))
# The outage is probed just before the dependency comes back.
PROBE_AT=$(awk -v h="$HALF" 'BEGIN { print h - 0.5 }')

# Phase 0: baseline.
log "phase baseline (${PHASE_SECONDS}s)"
start_load baseline
finish_load baseline

# Phase a: Redis killed at the start, restarted halfway.
log "phase redis: killing Redis, restarting it after ${HALF}s"
t0=$(now)
start_load redis
kill_redis
sleep_until "$(later "$t0" "$PROBE_AT")"
note "redis: /readyz during the outage: $(status "$BASE/readyz") $(curl -s --max-time 2 "$BASE/readyz" | head -c 200)"
sleep_until "$(later "$t0" "$HALF")"
hits=$(redis_hits)
start_redis
restarted=$(now)
recovered=""
deadline=$(later "$restarted" "$RECOVERY_TIMEOUT")
while before "$deadline"; do
	if redis_used "$hits"; then
		recovered=$(since "$restarted")
		break
	fi
	sleep 0.1
done
if [[ -n $recovered ]]; then
	note "redis: Redis used again ${recovered}s after its restart"
else
	note "redis: Redis not seen in use within ${RECOVERY_TIMEOUT}s of its restart"
fi
finish_load redis

# Phase b: PostgreSQL stopped at the start, started halfway.
if [[ $LOADFAULT_PG == 1 ]]; then
	log "phase postgres: stopping PostgreSQL, starting it after ${HALF}s"
	t0=$(now)
	start_load postgres
	PG_STOPPED=1
	pg stop
	sleep_until "$(later "$t0" "$PROBE_AT")"
	probe="$BASE$UNCACHED_PATH&limit=7&from=1991"
	note "postgres: during the outage: /readyz $(status "$BASE/readyz"); cached $(status "$BASE$CACHED_PATH");" \
		"uncached $(curl -s -o /dev/null --max-time 5 -w '%{http_code} %{content_type}' "$probe") Retry-After: $(header "$probe" Retry-After)"
	sleep_until "$(later "$t0" "$HALF")"
	pg start
	PG_STOPPED=0
	restarted=$(now)
	if wait_status "$BASE$UNCACHED_PATH&limit=11&from=1993" 200 "$RECOVERY_TIMEOUT"; then
		note "postgres: uncached requests succeed again $(since "$restarted")s after the start"
	else
		note "postgres: uncached requests still fail ${RECOVERY_TIMEOUT}s after the start"
	fi
	finish_load postgres
else
	note "postgres: skipped (set LOADFAULT_PG=1 and DATABASE_URL)"
fi

# Phase c: a new release loaded under load.
if [[ $LOADFAULT_PG == 1 ]]; then
	log "phase release: krimstat ingest $INGEST_ARGS"
	before=$(release)
	start_load release
	rc=0
	# shellcheck disable=SC2086 # INGEST_ARGS is a list of arguments
	DATABASE_URL=$DATABASE_URL timeout 120 "$BIN" ingest $INGEST_ARGS >"$TMP/ingest.log" 2>&1 || rc=$?
	if [[ $rc -ne 0 ]]; then
		note "release: ingest exited $rc: $(tail -n 1 "$TMP/ingest.log")"
	fi
	finish_load release
	note "release: before $before, after $(release)"
else
	note "release: skipped with the memory store (its release changes only on restart); run with LOADFAULT_PG=1"
fi

# Phase d: recovery.
log "phase recovery (${PHASE_SECONDS}s)"
start_load recovery
finish_load recovery
kill -0 "$SERVER_PID" 2>/dev/null || note "the server exited during the run: $(tail -n 3 "$TMP/server.log")"

errors=$(grep -c '"level":"ERROR"' "$TMP/server.log" || true)
warns=$(grep -c '"level":"WARN"' "$TMP/server.log" || true)

echo
echo "krimstat load and fault run: $STORE store, ${PHASE_SECONDS}s phases, cached $CACHED_PATH, uncached $UNCACHED_PATH (varied)"
printf '%-10s %-9s %9s %8s %8s %9s  %s\n' phase route requests non2xx sockerr p99_ms statuses
printf '%s\n' "${ROWS[@]}"
echo
printf '%s\n' "${NOTES[@]}"
echo "server log: $errors error and $warns warning lines"
