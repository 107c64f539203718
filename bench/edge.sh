#!/usr/bin/env bash
# Edge-cache benchmark: krimstat serve behind Debian's nginx with
# deploy/nginx/krimstat.conf (issue 14).
#
# Builds ./cmd/krimstat, loads the bundled release into a PostgreSQL database
# of its own, starts krimstat serve on it (EDGE_S_MAXAGE for shared caches)
# and nginx in front (the deploy file, its three "# test:" lines rewritten to
# this run's ports and paths), all on 127.0.0.1, then:
#   1. wrk straight to krimstat (its in-process cache answers) and through
#      nginx (a HIT: nginx answers from its own cache);
#   2. loads a second release (the bundled one under another id) while a
#      poller asks both (a sample every 50 ms plus the time of a curl), and
#      reports how long after krimstat nginx served the new release id;
#   3. stops krimstat, waits for the entry to pass its s-maxage, and reports
#      what nginx answers (200 STALE), then runs wrk through nginx with the
#      API down.
# Without PostgreSQL it serves the bundled release from memory and leaves out
# step 2.
#
# Prints TSV rows: figure<TAB>value<TAB>ceiling-or-goal<TAB>note.
#
# Environment (defaults in brackets):
#   BENCH_SECONDS [10]      duration of each wrk run
#   BENCH_THREADS [2]       wrk threads
#   BENCH_CONNECTIONS [64]  wrk connections
#   BENCH_PATH [/v1/observations?offence=sex-purchase&region=NO]
#   EDGE_S_MAXAGE [2]       KRIMSTAT_SHARED_MAX_AGE of the run, in seconds
#   BENCH_PG [postgres://postgres@127.0.0.1:5432]  server to create the database on
#   BENCH_KRIMSTAT          a prebuilt binary to use instead of building one
#   NGINX [nginx, else /usr/sbin/nginx]
set -euo pipefail

cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
BENCH_PATH=${BENCH_PATH:-/v1/observations?offence=sex-purchase&region=NO}
S_MAXAGE=${EDGE_S_MAXAGE:-2}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
WRK=${WRK:-wrk}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

for tool in "$WRK" curl go awk sed "$NGINX"; do
	command -v "$tool" >/dev/null || { echo "edge.sh: $tool not found (apt-get install -y nginx wrk curl)" >&2; exit 1; }
done

TMP=$(mktemp -d)
API_PID=""
NGINX_PID=""
POLL_PID=""
DB=""

log() { echo "edge.sh: $*" >&2; }
# shellcheck source=bench/lib.sh
. bench/lib.sh

cleanup() {
	stop_pid "$POLL_PID"
	stop_pid "$NGINX_PID"
	stop_pid "$API_PID"
	if [[ -n $DB ]]; then
		psql "$PG/postgres?sslmode=disable" -qc "drop database if exists $DB with (force)" >/dev/null 2>&1 || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_wrk NAME URL: runs wrk, keeps its output in $TMP/NAME.wrk.
run_wrk() {
	"$WRK" -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$2" >"$TMP/$1.wrk" 2>&1 || {
		cat "$TMP/$1.wrk" >&2
		exit 1
	}
}
reqs() { awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$TMP/$1.wrk"; }
non2xx() { awk '/Non-2xx or 3xx responses:/ { print $NF }' "$TMP/$1.wrk" | grep . || echo 0; }
pct() {
	awk -v p="$2%" '$1 == p {
		v = $2
		if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v) }
		else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
		printf "%.2f", v
	}' "$TMP/$1.wrk"
}

# Build.
if [[ -n ${BENCH_KRIMSTAT:-} ]]; then
	KRIMSTAT=$BENCH_KRIMSTAT
else
	log "building ./cmd/krimstat"
	go build -o "$TMP/krimstat" ./cmd/krimstat
	KRIMSTAT=$TMP/krimstat
fi

# The store: PostgreSQL when it answers, so that a release can be loaded
# while serving.
API_ENV=()
if psql "$PG/postgres?sslmode=disable" -qtc 'select 1' >/dev/null 2>&1; then
	DB=krimstat_edge_bench_$$
	psql "$PG/postgres?sslmode=disable" -qc "create database $DB" >/dev/null
	DATABASE_URL="$PG/$DB?sslmode=disable"
	log "loading the bundled release into $DB"
	DATABASE_URL=$DATABASE_URL "$KRIMSTAT" migrate >"$TMP/migrate.log" 2>&1
	DATABASE_URL=$DATABASE_URL "$KRIMSTAT" ingest -bundled >"$TMP/ingest.log" 2>&1
	API_ENV+=(DATABASE_URL="$DATABASE_URL")
else
	log "no PostgreSQL at $PG: the bundled release from memory, no release switch"
fi

# The API, as deploy/nginx/krimstat.conf asks (no per-client caps: every
# connection comes from nginx), without limits for wrk.
API_PORT=$(free_port)
env "${API_ENV[@]}" KRIMSTAT_ADDR="127.0.0.1:$API_PORT" KRIMSTAT_SHARED_MAX_AGE="${S_MAXAGE}s" \
	KRIMSTAT_RATELIMIT=off KRIMSTAT_MAX_CONNS_PER_CLIENT=0 KRIMSTAT_INFLIGHT_PER_CLIENT=100000 KRIMSTAT_INFLIGHT=100000 \
	KRIMSTAT_COMPUTE_PER_CLIENT=100000 KRIMSTAT_COMPUTE=100000 \
	"$KRIMSTAT" serve >"$TMP/api.log" 2>&1 &
API_PID=$!
API="http://127.0.0.1:$API_PORT"
wait_http "$API$BENCH_PATH" || { tail -20 "$TMP/api.log" >&2; exit 1; }

# nginx, in the foreground of a prefix of its own.
EDGE_PORT=$(free_port)
mkdir -p "$TMP/nginx/cache" "$TMP/nginx/tmp"
sed -e "s|^proxy_cache_path .*# test: cache path\$|proxy_cache_path $TMP/nginx/cache levels=1:2 keys_zone=krimstat:10m max_size=100m inactive=1d use_temp_path=off;|" \
	-e "s|^\\( *\\)server .*# test: upstream\$|\\1server 127.0.0.1:$API_PORT max_fails=0;|" \
	-e "s|^\\( *\\)listen .*# test: listen\$|\\1listen 127.0.0.1:$EDGE_PORT;|" \
	deploy/nginx/krimstat.conf >"$TMP/nginx/krimstat.conf"
if [[ $(grep -c "$TMP/nginx/cache\|127.0.0.1:$API_PORT\|127.0.0.1:$EDGE_PORT" "$TMP/nginx/krimstat.conf") != 3 ]]; then
	log "deploy/nginx/krimstat.conf: the three '# test:' lines were not all found"
	exit 1
fi
USER_LINE=""
[[ $(id -u) == 0 ]] && USER_LINE="user root;" # workers as nobody could not enter $TMP
cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
$USER_LINE
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/tmp/body;
    proxy_temp_path $TMP/nginx/tmp/proxy;
    fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
    uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
    scgi_temp_path $TMP/nginx/tmp/scgi;
    include $TMP/nginx/krimstat.conf;
}
EOF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" >"$TMP/nginx/out.log" 2>&1 &
NGINX_PID=$!
EDGE="http://127.0.0.1:$EDGE_PORT"
wait_http "$EDGE$BENCH_PATH" || { cat "$TMP/nginx/out.log" "$TMP/nginx/error.log" >&2; exit 1; }
NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's|.*/||')

# 1. Throughput: direct, then through nginx (warmed: a HIT).
log "wrk direct to krimstat (${SECONDS_PER_RUN}s)"
run_wrk direct "$API$BENCH_PATH"
curl -s -o /dev/null "$EDGE$BENCH_PATH"
HIT_STATUS=$(curl -s -o /dev/null -w '%header{x-cache-status}' "$EDGE$BENCH_PATH")
log "wrk through nginx (${SECONDS_PER_RUN}s; X-Cache-Status $HIT_STATUS)"
run_wrk edge "$EDGE$BENCH_PATH"

# 2. A second release while a poller asks both every 50 ms.
SWITCH="" SWITCH_NOTE="skipped: no PostgreSQL"
if [[ -n $DB ]]; then
	FIRST=$(curl -s -o /dev/null -w '%header{x-krimstat-release}' "$API$BENCH_PATH")
	SECOND="$FIRST-edge"
	sed "0,/{\"id\":\"$FIRST\"/s//{\"id\":\"$SECOND\"/" data/krimstat.json >"$TMP/second.json"
	grep -q "\"id\":\"$SECOND\"" "$TMP/second.json" || { log "data/krimstat.json does not name release $FIRST"; exit 1; }
	(
		while :; do
			# One curl asks both, over two connections: one fork a sample.
			printf '%s\t%s\n' "$EPOCHREALTIME" "$(curl -s -H 'Accept-Encoding: gzip' -o /dev/null -o /dev/null \
				-w '%header{x-krimstat-release}\t' "$API$BENCH_PATH" "$EDGE$BENCH_PATH")"
			sleep 0.05
		done
	) >"$TMP/poll.tsv" &
	POLL_PID=$!
	log "loading release $SECOND"
	DATABASE_URL=$DATABASE_URL "$KRIMSTAT" ingest -base "$TMP/second.json" >>"$TMP/ingest.log" 2>&1
	for _ in $(seq 1 300); do
		awk -F'\t' -v s="$SECOND" '$3 == s { found = 1 } END { exit !found }' "$TMP/poll.tsv" && break
		sleep 0.1
	done
	stop_pid "$POLL_PID"
	POLL_PID=""
	SWITCH=$(awk -F'\t' -v s="$SECOND" '
		$2 == s && api == "" { api = $1 }
		$3 == s && api != "" && edge == "" { edge = $1 }
		END { if (api != "" && edge != "") printf "%.2f", edge - api; else print "never" }' "$TMP/poll.tsv")
	POLL_MS=$(awk -F'\t' 'NR > 1 { sum += $1 - prev; n++ } { prev = $1 } END { if (n) printf "%.0f", sum / n * 1000 }' "$TMP/poll.tsv")
	SWITCH_NOTE="seconds from krimstat serving the new release to nginx serving it, one sample; release loaded while a client polled both every ${POLL_MS} ms; worst case s-maxage (${S_MAXAGE}s) + 1 s (nginx counts whole seconds) + one request"
fi

# 3. The API stops: nginx answers from stale once the entry is past s-maxage.
stop_pid "$API_PID"
API_PID=""
sleep "$((S_MAXAGE + 1)).2"
read -r DOWN_CODE DOWN_STATUS < <(curl -s -o /dev/null -w '%{http_code} %header{x-cache-status}\n' "$EDGE$BENCH_PATH")
NEVER_CODE=$(curl -s -o /dev/null -w '%{http_code}' "$EDGE/v1/observations?region=SE&limit=7")
log "wrk through nginx with krimstat stopped (${SECONDS_PER_RUN}s)"
run_wrk down "$EDGE$BENCH_PATH"

printf 'figure\tvalue\tceiling-or-goal\tnote\n'
printf 'edge_rps_hit\t%s\t\twrk -t%s -c%s -d%ss through nginx %s (X-Cache-Status %s), GET %s, %s CPUs shared by wrk, nginx and krimstat\n' \
	"$(reqs edge)" "$THREADS" "$CONNECTIONS" "$SECONDS_PER_RUN" "$NGINX_VERSION" "$HIT_STATUS" "$BENCH_PATH" "$(nproc)"
printf 'direct_rps\t%s\t\tthe same straight to krimstat (its in-process cache answers)\n' "$(reqs direct)"
printf 'edge_vs_direct\t%s\t>=1\treq/s through nginx / req/s direct\n' "$(ratio "$(reqs edge)" "$(reqs direct)")"
printf 'edge_p99_ms_hit\t%s\t\tp99 through nginx (p50 %s ms)\n' "$(pct edge 99)" "$(pct edge 50)"
printf 'direct_p99_ms\t%s\t\tp99 straight to krimstat (p50 %s ms)\n' "$(pct direct 99)" "$(pct direct 50)"
printf 'edge_switch_seconds\t%s\t<=%s\t%s\n' "$SWITCH" "$((S_MAXAGE + 1))" "$SWITCH_NOTE"
printf 'edge_stale_when_api_down\t%s\t200\tkrimstat stopped, entry past s-maxage: X-Cache-Status %s\n' "$DOWN_CODE" "$DOWN_STATUS"
printf 'edge_never_cached_when_api_down\t%s\t502\ta request nginx never stored, krimstat stopped\n' "$NEVER_CODE"
printf 'edge_rps_api_down\t%s\t\twrk through nginx with krimstat stopped (stale answers), non-2xx: %s\n' "$(reqs down)" "$(non2xx down)"
