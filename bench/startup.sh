#!/usr/bin/env bash
# Start-up benchmark of krimstat serve with the embedded release (issue 14).
#
# Builds ./cmd/krimstat as "go build" does by default, then starts it N times
# with no configuration (only KRIMSTAT_ADDR, for a free port on 127.0.0.1) and
# for each start measures:
#   - the wall time from exec to the first 200 from /readyz, polled every
#     POLL_MS ms over bash's /dev/tcp, so that no fork (curl, date, sleep)
#     sits between two polls and blurs the figure;
#   - the CPU time its threads used until then;
#   - VmRSS from /proc/PID/status right after that 200 (after load), and its
#     split into RssAnon (heap, stacks) and RssFile (mapped binary pages);
#   - VmRSS after 100 requests to a typical query (BENCH_PATH), sent by one
#     curl over one keep-alive connection.
# Then, in one more start with KRIMSTAT_RATELIMIT=off (100 uncached queries
# would otherwise spend the miss budget), VmRSS after 100 distinct queries,
# which the response cache cannot answer, so every one reaches the store.
#
# Prints TSV rows: figure<TAB>value<TAB>goal<TAB>note.
#
# Environment (defaults in brackets):
#   N [10]                      starts
#   POLL_MS [3]                 /readyz poll interval
#   BENCH_PATH [/v1/observations?offence=sex-purchase&region=NO]
#   BENCH_KRIMSTAT              a prebuilt binary to use instead of building one
#                               (binary_mb_stripped is still of this tree)
set -euo pipefail

cd "$(dirname "$0")/.."

N=${N:-10}
POLL_MS=${POLL_MS:-3}
BENCH_PATH=${BENCH_PATH:-/v1/observations?offence=sex-purchase&region=NO}

for tool in go curl awk sort; do
	command -v "$tool" >/dev/null || { echo "startup.sh: $tool not found" >&2; exit 1; }
done

TMP=$(mktemp -d)
PID=""
cleanup() {
	if [[ -n $PID ]]; then
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	exec 9>&- 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "startup.sh: $*" >&2; }
# shellcheck source=bench/lib.sh
. bench/lib.sh

SRC=${BENCH_KRIMSTAT:-}
if [[ -z $SRC ]]; then
	SRC=$TMP/krimstat.built
	log "building ./cmd/krimstat"
	go build -o "$SRC" ./cmd/krimstat
fi
# The server runs from a fresh copy: how much of a binary the kernel maps
# on each page fault (RssFile) depends on how its file came into the page
# cache, by several MB, so every binary measured gets there the same way.
BIN=$TMP/krimstat
cp "$SRC" "$BIN"
STRIPPED=$TMP/krimstat-stripped
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$STRIPPED" ./cmd/krimstat

# A FIFO opened for reading and writing never delivers data, so "read -t"
# on it is a sleep without a fork.
mkfifo "$TMP/tick"
exec 9<>"$TMP/tick"
pause() { read -r -t "$1" -u 9 _ || true; }
POLL_S=$(awk -v ms="$POLL_MS" 'BEGIN { printf "%.3f", ms / 1000 }')

# ready PORT: one GET /readyz over /dev/tcp; true on a 200.
ready() {
	local status=""
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf 'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
	read -r -t 1 _ status _ <&3 || true
	exec 3>&-
	[[ $status == 200 ]]
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# anon_kb and file_kb split VmRSS into the process's own memory (heap,
# stacks) and the pages of files it maps (its binary, mostly), which the
# page cache holds whether or not the process runs.
anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }
file_kb() { awk '/^RssFile:/ {print $2}' "/proc/$1/status"; }

# cpu_us prints the CPU time the process's threads have used, in
# microseconds. Unlike the wall time it hardly depends on what else the
# machine runs; threads that already exited are not counted (Go keeps its).
cpu_us() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s / 1000 }'; }

# start [ENV...]: starts the server with no configuration but its address
# (and ENV), waits for /readyz, and sets PID, PORT and STARTUP_US. Another
# program may take the free port before the server binds it: the server is
# then started again on another.
start() {
	local attempt
	for attempt in 1 2 3 4 5; do
		if start_once "$@"; then
			return 0
		fi
		grep -q "address already in use" "$TMP/serve.log" || break
		log "port $PORT taken meanwhile; again on another"
	done
	tail -20 "$TMP/serve.log" >&2
	log "server exited before it was ready"
	exit 1
}

# start_once [ENV...]: one attempt of start; false when the server exits
# before it is ready.
start_once() {
	PORT=$(free_port)
	local t0 t1 i
	t0=${EPOCHREALTIME/[.,]/}
	env -i PATH="$PATH" HOME="$TMP" "$@" KRIMSTAT_ADDR="127.0.0.1:$PORT" "$BIN" serve >"$TMP/serve.log" 2>&1 &
	PID=$!
	for ((i = 0; ; i++)); do
		if ready "$PORT" 2>/dev/null; then
			break
		fi
		if ! kill -0 "$PID" 2>/dev/null; then
			wait "$PID" 2>/dev/null || true
			PID=""
			return 1
		fi
		if ((i * POLL_MS > 30000)); then
			log "not ready within 30 s"
			exit 1
		fi
		pause "$POLL_S"
	done
	t1=${EPOCHREALTIME/[.,]/}
	STARTUP_US=$((t1 - t0))
	# The server logs "listening" before it serves: a 200 without it came
	# from another program that took the port.
	if ! grep -q '"msg":"listening"' "$TMP/serve.log"; then
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
		PID=""
		echo "address already in use (by whoever answered)" >>"$TMP/serve.log"
		return 1
	fi
}

stop() {
	kill "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=""
}

# median, max and min of the numbers on stdin.
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { sort -n | tail -1; }
minimum() { sort -n | head -1; }

: >"$TMP/startup" >"$TMP/cpu" >"$TMP/rss_load" >"$TMP/anon_load" >"$TMP/file_load" >"$TMP/rss_query" >"$TMP/codes"
for ((run = 1; run <= N; run++)); do
	start
	cpu_us "$PID" >>"$TMP/cpu"
	rss_kb "$PID" >>"$TMP/rss_load"
	anon_kb "$PID" >>"$TMP/anon_load"
	file_kb "$PID" >>"$TMP/file_load"
	urls=()
	for ((j = 0; j < 100; j++)); do
		urls+=(-o /dev/null "http://127.0.0.1:$PORT$BENCH_PATH")
	done
	curl -s -w '%{http_code}\n' "${urls[@]}" >>"$TMP/codes"
	rss_kb "$PID" >>"$TMP/rss_query"
	stop
	echo "$STARTUP_US" >>"$TMP/startup"
	log "start $run: ready in $((STARTUP_US / 1000)) ms, rss $(tail -1 "$TMP/rss_load") kB after load, $(tail -1 "$TMP/rss_query") kB after 100 requests"
done

# 100 distinct queries: every offence in turn for some regions, so
# that the cache answers none and each one walks the store.
start KRIMSTAT_RATELIMIT=off
mapfile -t offences < <(curl -s "http://127.0.0.1:$PORT/v1/offences" | grep -o '"id":"[^"]*"' | cut -d'"' -f4)
if ((${#offences[@]} == 0)); then
	log "the release lists no offences"
	exit 1
fi
regions=(NO SE DK FI IS DE)
urls=()
for ((j = 0; j < 100; j++)); do
	o=${offences[j % ${#offences[@]}]}
	g=${regions[(j / ${#offences[@]}) % ${#regions[@]}]}
	urls+=(-o /dev/null "http://127.0.0.1:$PORT/v1/observations?offence=${o//\//%2F}&region=$g&limit=100")
done
distinct_codes=$(curl -s -w '%{http_code}\n' "${urls[@]}" | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
rss_distinct=$(rss_kb "$PID")
stop

ms() { awk '{ printf "%.0f\n", $1 / 1000 }'; }
mb() { awk '{ printf "%.1f\n", $1 / 1024 }'; }
codes=$(sort "$TMP/codes" | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
size_mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1048576 }'; }

printf 'figure\tvalue\tgoal\tnote\n'
printf 'startup_ms_p50\t%s\t150\tembedded release, %d starts, exec to first 200 from /readyz polled every %s ms\n' "$(ms <"$TMP/startup" | median)" "$N" "$POLL_MS"
printf 'startup_cpu_ms_p50\t%s\t\tCPU time of all threads at that 200 (less sensitive than wall time to a busy machine)\n' "$(ms <"$TMP/cpu" | median)"
printf 'startup_ms_min\t%s\t\tfastest of the %d starts (nearest to an idle machine)\n' "$(ms <"$TMP/startup" | minimum)" "$N"
printf 'startup_ms_max\t%s\t\tslowest of the %d starts\n' "$(ms <"$TMP/startup" | maximum)" "$N"
printf 'rss_mb_after_load\t%s\t50\tVmRSS at the first 200 from /readyz, median of %d starts\n' "$(mb <"$TMP/rss_load" | median)" "$N"
printf 'rss_anon_mb_after_load\t%s\t\tof which RssAnon: heap, stacks (median)\n' "$(mb <"$TMP/anon_load" | median)"
printf 'rss_file_mb_after_load\t%s\t\tof which RssFile: mapped pages of the binary (median)\n' "$(mb <"$TMP/file_load" | median)"
printf 'rss_mb_after_100_requests\t%s\t50\tVmRSS after 100 requests to %s (%s), median of %d starts\n' "$(mb <"$TMP/rss_query" | median)" "$BENCH_PATH" "$codes" "$N"
printf 'rss_mb_after_100_distinct\t%s\t\tVmRSS after 100 distinct uncached /v1/observations queries (%s), KRIMSTAT_RATELIMIT=off, 1 start\n' "$(echo "$rss_distinct" | mb)" "$distinct_codes"
printf 'binary_mb\t%s\t\tgo build ./cmd/krimstat (as go run builds it)\n' "$(size_mb "$BIN")"
printf 'binary_mb_stripped\t%s\t\tCGO_ENABLED=0 go build -trimpath -ldflags="-s -w" of this tree (as the Dockerfile builds it)\n' "$(size_mb "$STRIPPED")"
