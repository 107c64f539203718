#!/usr/bin/env bash
# Release-switch benchmark: does loading a new release cause a stampede of
# cache misses?
#
# For each warm-up mode (KRIMSTAT_WARMUP=on, the default, and off), on a
# database of its own and an emptied Redis database:
#   1. migrate, load the bundled release, start krimstat serve with
#      PostgreSQL and Redis (the default deployment);
#   2. prime: wrk with bench/switch.lua (50 typical targets) for 3 s;
# then BENCH_SWITCH_RUNS times:
#   3. steady: wrk for BENCH_SWITCH_STEADY s: the steady p99;
#   4. during: wrk while "krimstat ingest -base" loads a modified copy of
#      the bundled release, which becomes current (replicas learn of it by
#      NOTIFY); wrk is stopped as soon as ingest returns;
#   5. after: wrk for BENCH_SWITCH_AFTER s right away: the p99 after the
#      switch, which with the warm-up happens once the most requested
#      targets are cached for the new release.
# The ratio reported is the median over the switches of p99(after) /
# p99(steady). Errors are non-2xx/3xx responses and socket errors of
# phases 3 to 5.
# Prints TSV rows "figure<TAB>value<TAB>goal<TAB>note" on stdout (logs go to
# stderr): switch_p99_ratio and switch_errors with the warm-up,
# switch_p99_ratio_nowarmup and switch_errors_nowarmup without.
# Goal: p99 after the switch within 3 x steady, no errors.
#
# Environment (defaults in brackets):
#   BENCH_SWITCH_STEADY [10]   seconds of the steady phase
#   BENCH_SWITCH_AFTER [10]    seconds measured after the switch
#   BENCH_SWITCH_RUNS [3]      switches per mode (steps 3 to 5 repeated, each
#                              with a release of its own); figures are medians
#   BENCH_SWITCH_MODES [on off]  warm-up modes to run
#   BENCH_THREADS [1] BENCH_CONNECTIONS [16]  wrk's
#   BENCH_PG [postgres://postgres@127.0.0.1:5432]  PostgreSQL server; a
#                              database is created per mode and dropped
#   BENCH_SWITCH_REDIS_URL [redis://127.0.0.1:6379/13]  Redis database
#                              emptied (FLUSHDB) before each mode
#   BENCH_KRIMSTAT             a prebuilt binary instead of building one
set -euo pipefail

cd "$(dirname "$0")/.."

STEADY=${BENCH_SWITCH_STEADY:-10}
AFTER=${BENCH_SWITCH_AFTER:-10}
RUNS=${BENCH_SWITCH_RUNS:-3}
MODES=${BENCH_SWITCH_MODES:-on off}
THREADS=${BENCH_THREADS:-1}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
REDIS_URL=${BENCH_SWITCH_REDIS_URL:-redis://127.0.0.1:6379/13}
WRK=${WRK:-wrk}
SCRIPT=bench/switch.lua

for tool in "$WRK" curl psql awk sed; do
	command -v "$tool" >/dev/null || { echo "switch.sh: $tool not found" >&2; exit 1; }
done

TMP=$(mktemp -d)
PIDS=()
DBS=()

cleanup() {
	local pid db
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	for db in "${DBS[@]}"; do
		psql "$PG/postgres?sslmode=disable" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "switch.sh: $*" >&2; }
# shellcheck source=bench/lib.sh
. bench/lib.sh

# redis_flush URL: empties the Redis database of URL (redis://host:port/db),
# over bash's /dev/tcp so that redis-cli is not required.
redis_flush() {
	local hostport db
	hostport=${1#redis://}
	hostport=${hostport%%/*}
	db=${1##*/}
	[[ $db =~ ^[0-9]+$ ]] || db=0
	local reply
	reply=$( (exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}" &&
		printf 'SELECT %s\r\nFLUSHDB\r\n' "$db" >&3 && timeout 2 head -c 10 <&3) 2>/dev/null || true)
	[[ $reply == *OK*OK* ]] || { log "cannot empty Redis database $1 (got ${reply:-nothing})"; exit 1; }
}

# stat FILE NAME: a figure of switch.lua's summary line in wrk's output.
stat() { sed -n "s/.*switch\.lua:.* $2=\([0-9]*\).*/\1/p" "$1" | head -1; }
ms() { awk -v us="$1" 'BEGIN { printf "%.1f", us / 1000 }'; }
median() {
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
		if (NR == 0) print "?"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
metric() { curl -fsS "$1/metrics" | awk -v name="$2" '$1 == name { printf "%d", $2 }'; }

# run_wrk NAME URL SECONDS: wrk with switch.lua; output in $TMP/NAME.wrk.
run_wrk() {
	"$WRK" -t"$THREADS" -c"$CONNECTIONS" -d"$3s" -s "$SCRIPT" "$2" >"$TMP/$1.wrk" 2>&1 || {
		cat "$TMP/$1.wrk" >&2
		exit 1
	}
}

if [[ -n ${BENCH_KRIMSTAT:-} ]]; then
	KRIMSTAT=$BENCH_KRIMSTAT
else
	log "building krimstat"
	go build -o "$TMP/krimstat" ./cmd/krimstat
	KRIMSTAT=$TMP/krimstat
fi

# The new releases: copies of the bundled one, each with a population figure
# changed and a release block of its own (ingest -base loads a file without
# other inputs under the id it names), dated today.
today=$(date -u +%Y%m%d)
for k in $(seq 1 "$RUNS"); do
	awk -v v=$((1000000 + k)) -v id="$today-switch$$-$k" -v created="$(date -u +%Y-%m-%dT%H:%M:%SZ)" '
		!rel && /^"release": \{"id":"[^"]*","created":"[^"]*"/ {
			sub(/"id":"[^"]*","created":"[^"]*"/, "\"id\":\"" id "\",\"created\":\"" created "\""); rel = 1 }
		!fig && /^ *\{"region".*"value":[0-9]+/ { sub(/"value":[0-9]+/, "\"value\":" v); fig = 1 }
		{ print }' data/krimstat.json >"$TMP/next-$k.json"
	[[ $(diff data/krimstat.json "$TMP/next-$k.json" | grep -c '^>') == 2 ]] || { log "could not make a new release"; exit 1; }
done

ROWS=()

for mode in $MODES; do
	db="krimstat_switch_$$_$mode"
	DBS+=("$db")
	psql "$PG/postgres?sslmode=disable" -qc "create database $db" >/dev/null
	dburl="$PG/$db?sslmode=disable"
	log "[$mode] migrate and load the bundled release"
	DATABASE_URL=$dburl "$KRIMSTAT" migrate >"$TMP/$mode.migrate" 2>&1 || { cat "$TMP/$mode.migrate" >&2; exit 1; }
	DATABASE_URL=$dburl "$KRIMSTAT" ingest -bundled >"$TMP/$mode.ingest0" 2>&1 || { cat "$TMP/$mode.ingest0" >&2; exit 1; }
	redis_flush "$REDIS_URL"

	port=$(free_port)
	mport=$(free_port)
	env DATABASE_URL="$dburl" REDIS_URL="$REDIS_URL" KRIMSTAT_WARMUP="$mode" \
		KRIMSTAT_ADDR="127.0.0.1:$port" KRIMSTAT_METRICS_ADDR="127.0.0.1:$mport" \
		KRIMSTAT_RATELIMIT=off KRIMSTAT_MAX_CONNS_PER_CLIENT=0 KRIMSTAT_INFLIGHT_PER_CLIENT=100000 \
		KRIMSTAT_INFLIGHT=100000 KRIMSTAT_COMPUTE_PER_CLIENT=100000 KRIMSTAT_COMPUTE=100000 \
		"$KRIMSTAT" serve >"$TMP/$mode.log" 2>&1 &
	server=$!
	PIDS+=("$server")
	url="http://127.0.0.1:$port"
	metrics="http://127.0.0.1:$mport"
	wait_http "$url/readyz" || { tail -20 "$TMP/$mode.log" >&2; exit 1; }
	log "[$mode] prime 3 s"
	run_wrk "$mode.prime" "$url" 3

	ratios=() steadies=() afters=() cycles=() errors=0 requests=0 computed=0 named="yes"
	for k in $(seq 1 "$RUNS"); do
		log "[$mode] switch $k of $RUNS: steady ${STEADY} s, load a release under load, ${AFTER} s after"
		run_wrk "$mode.$k.steady" "$url" "$STEADY"
		computes0=$(metric "$metrics" krimstat_cache_computes_total)
		"$WRK" -t"$THREADS" -c"$CONNECTIONS" -d600s -s "$SCRIPT" "$url" >"$TMP/$mode.$k.during.wrk" 2>&1 &
		during=$!
		PIDS+=("$during")
		DATABASE_URL=$dburl "$KRIMSTAT" ingest -base "$TMP/next-$k.json" >"$TMP/$mode.$k.ingest" 2>&1 ||
			{ cat "$TMP/$mode.$k.ingest" >&2; exit 1; }
		# wrk prints its summary when interrupted.
		kill -INT "$during"
		wait "$during" || true
		run_wrk "$mode.$k.after" "$url" "$AFTER"
		computes1=$(metric "$metrics" krimstat_cache_computes_total)
		computed=$((computed + computes1 - computes0))

		newid=$(sed -n 's/^release \([^:]*\): .*/\1/p' "$TMP/$mode.$k.ingest" | head -1)
		served=$(curl -fsS -o /dev/null -D - "$url/v1/offences" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-krimstat-release" { print $2 }')
		[[ $served == "$newid" ]] || named="NO (switch $k: serves ${served:-?}, loaded ${newid:-?})"
		for p in steady during after; do
			f="$TMP/$mode.$k.$p.wrk"
			[[ -n $(stat "$f" requests) ]] || { cat "$f" >&2; log "[$mode] no summary from wrk ($p)"; exit 1; }
			errors=$((errors + $(stat "$f" non2xx) + $(stat "$f" socket_errors)))
			requests=$((requests + $(stat "$f" requests)))
		done
		s99=$(stat "$TMP/$mode.$k.steady.wrk" p99)
		a99=$(stat "$TMP/$mode.$k.after.wrk" p99)
		ratios+=("$(ratio "$a99" "$s99")")
		steadies+=("$(ms "$s99")")
		afters+=("$(ms "$a99")")
		switched=$(grep '"msg":"release switched"' "$TMP/$mode.log" | sed -n "${k}p")
		if [[ $mode == off ]]; then
			cycles+=("$(ms "$a99")/$(ms "$s99") ms")
		else
			cycles+=("$(ms "$a99")/$(ms "$s99") ms, $(sed -n 's/.*"warmed":\([0-9]*\).*/\1/p' <<<"$switched") warmed in $(sed -n 's/.*"took":"\([^"]*\)".*/\1/p' <<<"$switched")")
		fi
	done
	kill "$server" 2>/dev/null || true
	wait "$server" 2>/dev/null || true

	suffix="" label="warm-up on"
	if [[ $mode == off ]]; then
		suffix="_nowarmup" label="KRIMSTAT_WARMUP=off"
	fi
	list=$(printf '%s; ' "${cycles[@]}")
	ROWS+=("switch_p99_ratio$suffix	$(median "${ratios[@]}")	3	$label: median over $RUNS switches of p99 in the ${AFTER} s after the switch / steady p99 (median $(median "${afters[@]}") vs $(median "${steadies[@]}") ms); per switch: ${list%; }; $computed responses computed from the switches on; $CONNECTIONS connections")
	ROWS+=("switch_errors$suffix	$errors	0	$label: non-2xx and socket errors of $requests requests (steady, during the loads, after); new release served after each switch: $named")
	log "[$mode] done"
done

for row in "${ROWS[@]}"; do
	printf '%s\n' "$row"
done
