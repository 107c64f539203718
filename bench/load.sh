#!/usr/bin/env bash
# Load benchmark of Krimstat's response cache (make bench).
#
# Builds ./cmd/krimstat and ./bench/ceiling, then, all on 127.0.0.1:
#   1. cached:     krimstat serve with the default cache, and in the same run the
#                  ceiling (a bare Gin handler returning the same bytes);
#   2. uncached:   KRIMSTAT_CACHE=off;
#   3. redis-only: KRIMSTAT_CACHE_LOCAL=off REDIS_URL=$BENCH_REDIS_URL;
#   4. redis-kill: local tier off, Redis on a redis-server of this script's own,
#                  killed at BENCH_KILL_AT s and restarted at BENCH_RESTART_AT s
#                  while wrk runs; reports non-2xx responses and socket errors.
# Prints req/s, the ratio to the ceiling, p50/p99 and the server's RSS after
# each run. Everything started here is killed on exit.
#
# Environment (defaults in brackets):
#   BENCH_SECONDS [10]      duration of each wrk run
#   BENCH_THREADS [2]       wrk threads
#   BENCH_CONNECTIONS [64]  wrk connections
#   BENCH_PATH [/v1/observations?offence=sex-purchase&region=NO]
#   BENCH_REDIS_URL [redis://127.0.0.1:6379/15]  Redis of the redis-only phase
#   BENCH_KILL_SECONDS [10] duration of the redis-kill run
#   BENCH_KILL_AT [3] BENCH_RESTART_AT [6]  seconds into it
#   BENCH_KRIMSTAT          a prebuilt server binary to use instead of building one;
#                           it is run as "$BENCH_KRIMSTAT serve" with KRIMSTAT_ADDR
set -euo pipefail

cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
BENCH_PATH=${BENCH_PATH:-/v1/observations?offence=sex-purchase&region=NO}
REDIS_ONLY_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/15}
KILL_SECONDS=${BENCH_KILL_SECONDS:-10}
KILL_AT=${BENCH_KILL_AT:-3}
RESTART_AT=${BENCH_RESTART_AT:-6}
WRK=${WRK:-wrk}
REDIS_SERVER=${REDIS_SERVER:-redis-server}

for tool in "$WRK" curl "$REDIS_SERVER" go awk; do
	command -v "$tool" >/dev/null || { echo "load.sh: $tool not found" >&2; exit 1; }
done

TMP=$(mktemp -d)
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	# The restarted redis-server is not this shell's child: wait for it by polling.
	if [[ -f $TMP/redis.pid ]]; then
		pid=$(cat "$TMP/redis.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "load.sh: $*" >&2; }

# free_port prints a port nothing on 127.0.0.1 listens on.
free_port() {
	local i port
	for i in $(seq 1 100); do
		port=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	log "no free port found"
	return 1
}

# wait_http URL: waits up to 30 s for URL to answer 200.
wait_http() {
	local i
	for i in $(seq 1 300); do
		if curl -fsS -o /dev/null "$1" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	log "$1 did not answer 200 within 30s"
	return 1
}

# wait_redis PORT: waits up to 5 s for a Redis on PORT to answer PING.
wait_redis() {
	local i
	for i in $(seq 1 50); do
		if [[ $(redis_ping "$1") == PONG ]]; then
			return 0
		fi
		sleep 0.1
	done
	log "redis on port $1 did not answer within 5s"
	return 1
}

redis_ping() {
	# PING over bash's /dev/tcp, so that redis-cli is not required.
	( exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'PING\r\n' >&3 && timeout 1 head -c 5 <&3 | tr -d '+\r\n' ) 2>/dev/null || true
}

rss() { awk '/^VmRSS:/ {print $2 " " $3}' "/proc/$1/status" 2>/dev/null || echo "?"; }

# start_server NAME ENV...: starts krimstat serve on a free port with the given
# environment; sets SERVER_PID and SERVER_URL.
start_server() {
	local name=$1 port
	shift
	port=$(free_port)
	env KRIMSTAT_RATELIMIT=off KRIMSTAT_MAX_CONNS_PER_CLIENT=0 KRIMSTAT_INFLIGHT_PER_CLIENT=100000 KRIMSTAT_INFLIGHT=100000 KRIMSTAT_COMPUTE_PER_CLIENT=100000 KRIMSTAT_COMPUTE=100000 "$@" KRIMSTAT_ADDR="127.0.0.1:$port" GIN_MODE=release \
		"$KRIMSTAT" serve >"$TMP/$name.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	SERVER_URL="http://127.0.0.1:$port"
	wait_http "$SERVER_URL$BENCH_PATH" || { tail -20 "$TMP/$name.log" >&2; exit 1; }
}

stop_pid() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# run_wrk NAME URL [wrk args...]: runs wrk, keeps its output in $TMP/NAME.wrk.
run_wrk() {
	local name=$1 url=$2
	shift 2
	"$WRK" -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$@" "$url" >"$TMP/$name.wrk" 2>&1 || {
		cat "$TMP/$name.wrk" >&2
		exit 1
	}
}

reqs() { awk '/^Requests\/sec:/ {print $2}' "$TMP/$1.wrk"; }

# pct NAME P: the P% latency of a --latency run, in milliseconds.
pct() {
	awk -v p="$2%" '$1 == p {
		v = $2
		if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v) }
		else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
		printf "%.2f", v
	}' "$TMP/$1.wrk"
}

non2xx() { awk '/Non-2xx or 3xx responses:/ {print $NF}' "$TMP/$1.wrk" | grep . || echo 0; }
socket_errors() { grep -h 'Socket errors:' "$TMP/$1.wrk" | sed 's/^ *Socket errors: //' | grep . || echo none; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'; }

# Build.
if [[ -n ${BENCH_KRIMSTAT:-} ]]; then
	KRIMSTAT=$BENCH_KRIMSTAT
else
	log "building ./cmd/krimstat"
	go build -o "$TMP/krimstat" ./cmd/krimstat
	KRIMSTAT=$TMP/krimstat
fi
log "building ./bench/ceiling"
go build -o "$TMP/ceiling" ./bench/ceiling

declare -A RPS P50 P99 RSS

# Phase 1: cached, and the ceiling with the very same bytes.
log "phase cached: krimstat with the default cache"
start_server cached
curl -fsS -o "$TMP/body" -w '%{content_type}' "$SERVER_URL$BENCH_PATH" >"$TMP/content_type"
CEIL_PORT=$(free_port)
"$TMP/ceiling" "127.0.0.1:$CEIL_PORT" "$TMP/body" "$(cat "$TMP/content_type")" 2>"$TMP/ceiling.log" &
CEIL_PID=$!
PIDS+=("$CEIL_PID")
wait_http "http://127.0.0.1:$CEIL_PORT$BENCH_PATH"
log "body: $(wc -c <"$TMP/body") bytes of $(cat "$TMP/content_type")"

log "wrk ceiling (${SECONDS_PER_RUN}s)"
run_wrk ceiling "http://127.0.0.1:$CEIL_PORT$BENCH_PATH"
RSS[ceiling]=$(rss "$CEIL_PID")
stop_pid "$CEIL_PID"
log "wrk cached (${SECONDS_PER_RUN}s)"
run_wrk cached "$SERVER_URL$BENCH_PATH"
RSS[cached]=$(rss "$SERVER_PID")
stop_pid "$SERVER_PID"

# Phase 2: uncached.
log "phase uncached: KRIMSTAT_CACHE=off"
start_server uncached KRIMSTAT_CACHE=off
run_wrk uncached "$SERVER_URL$BENCH_PATH"
RSS[uncached]=$(rss "$SERVER_PID")
stop_pid "$SERVER_PID"

# Phase 3: Redis only.
REDIS_ONLY_HOSTPORT=${REDIS_ONLY_URL#redis://}
REDIS_ONLY_HOSTPORT=${REDIS_ONLY_HOSTPORT%%/*}
if [[ $(redis_ping "${REDIS_ONLY_HOSTPORT##*:}") == PONG ]]; then
	log "phase redis-only: KRIMSTAT_CACHE_LOCAL=off REDIS_URL=$REDIS_ONLY_URL"
	start_server redis-only KRIMSTAT_CACHE_LOCAL=off REDIS_URL="$REDIS_ONLY_URL"
	run_wrk redis-only "$SERVER_URL$BENCH_PATH"
	RSS[redis-only]=$(rss "$SERVER_PID")
	stop_pid "$SERVER_PID"
else
	log "phase redis-only skipped: no Redis answers at $REDIS_ONLY_URL"
fi

# Phase 4: Redis killed and restarted under load.
REDIS_PORT=$(free_port)
start_redis() {
	"$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >>"$TMP/redis.log" 2>&1 &
	echo $! >"$TMP/redis.pid"
	# Killed on purpose: keep bash from reporting it. cleanup stops it by pid.
	disown $!
}
log "phase redis-kill: own redis-server on port $REDIS_PORT, killed at ${KILL_AT}s, restarted at ${RESTART_AT}s"
start_redis
wait_redis "$REDIS_PORT"
start_server redis-kill KRIMSTAT_CACHE_LOCAL=off REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
(
	sleep "$KILL_AT"
	# SIGKILL, as a crash: no graceful shutdown, connections reset.
	kill -9 "$(cat "$TMP/redis.pid")" 2>/dev/null || true
	echo "killed at $(date +%T.%N)" >>"$TMP/redis.events"
	sleep $((RESTART_AT - KILL_AT))
	start_redis
	echo "restarted at $(date +%T.%N)" >>"$TMP/redis.events"
) &
KILLER_PID=$!
PIDS+=("$KILLER_PID")
SECONDS_PER_RUN=$KILL_SECONDS run_wrk redis-kill "$SERVER_URL$BENCH_PATH" -s bench/count.lua
wait "$KILLER_PID" 2>/dev/null || true
RSS[redis-kill]=$(rss "$SERVER_PID")
stop_pid "$SERVER_PID"
REDIS_ERRORS=$(grep -c 'redis' "$TMP/redis-kill.log" || true)

# Report.
CEIL=$(reqs ceiling)
echo
echo "Krimstat load benchmark: wrk -t$THREADS -c$CONNECTIONS -d${BENCH_SECONDS:-10}s --latency, GET $BENCH_PATH"
echo "body $(wc -c <"$TMP/body") bytes, $(nproc) CPUs, $(date -u +%FT%TZ)"
echo
printf '%-12s %12s %10s %10s %10s %12s\n' run req/s vs-ceiling p50-ms p99-ms server-RSS
for run in ceiling cached uncached redis-only redis-kill; do
	[[ -f $TMP/$run.wrk ]] || continue
	printf '%-12s %12s %10s %10s %10s %12s\n' "$run" "$(reqs "$run")" "$(ratio "$(reqs "$run")" "$CEIL")" \
		"$(pct "$run" 50)" "$(pct "$run" 99)" "${RSS[$run]}"
done
echo
echo "redis-kill: $(grep -h 'count.lua:' "$TMP/redis-kill.wrk" || echo 'count.lua printed nothing')"
echo "redis-kill: wrk non-2xx/3xx: $(non2xx redis-kill); socket errors: $(socket_errors redis-kill)"
echo "redis-kill: $(tr '\n' ' ' <"$TMP/redis.events" 2>/dev/null); server log lines mentioning redis: $REDIS_ERRORS"
