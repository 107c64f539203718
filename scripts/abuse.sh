#!/usr/bin/env bash
# abuse.sh attacks a local Krimstat the way a hostile client would (issue 10)
# and prints, per attack class, the requests and their statuses, the server's
# CPU and RSS, Redis memory, and a well-behaved client's p50/p99 measured at
# the same time; then the cost amplification (slowest request ÷ cached hit).
#
#   scripts/abuse.sh                       every class, 5 s each
#   scripts/abuse.sh -duration 3s          arguments go to bench/abuse
#   scripts/abuse.sh -classes key-flood,wide
#   scripts/abuse.sh -list                 the classes
#
# It builds ./cmd/krimstat, flushes Redis database $ABUSE_REDIS_DB, starts
# "krimstat serve" (memory store, default rate limit) on a free port of
# 127.0.0.1 with that database as its cache and limiter, waits for /readyz,
# runs "go run ./bench/abuse" against it, and stops the server. The database
# is flushed again afterwards, since a flood can leave hundreds of MB in it
# (ABUSE_KEEP_REDIS=1 keeps it).
#
# Environment (defaults in brackets):
#   ABUSE_REDIS [127.0.0.1:6379]  Redis host:port (used_memory is the whole
#                                 instance's: run on an otherwise idle Redis)
#   ABUSE_REDIS_DB [15]           the database the server is given, flushed
#   ABUSE_KEEP_REDIS [0]          1: do not flush it after the run
#   ABUSE_LOG                     keep the server's log at this path
#
# It exits non-zero when the build fails or the server does not start; the
# measurements are reported, not judged.
set -euo pipefail

cd "$(dirname "$0")/.."

REDIS=${ABUSE_REDIS:-127.0.0.1:6379}
REDIS_DB=${ABUSE_REDIS_DB:-15}
REDIS_HOST=${REDIS%:*}
REDIS_PORT=${REDIS##*:}

log() { echo "abuse.sh: $*" >&2; }
die() {
	log "$*"
	exit 1
}

for tool in go curl redis-cli; do
	command -v "$tool" >/dev/null || die "$tool not found"
done
[[ $REDIS_DB =~ ^[0-9]+$ ]] || die "ABUSE_REDIS_DB=$REDIS_DB: want a database number"

# The harness takes -list and -h without a server.
for arg in "$@"; do
	case $arg in
	-list | --list | -h | -help | --help) exec go run ./bench/abuse "$@" ;;
	esac
done

tmp=$(mktemp -d)
SERVER_PID=""
cleanup() {
	set +e
	if [[ -n $SERVER_PID ]]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	if [[ -n ${ABUSE_LOG:-} && -f $tmp/server.log ]]; then
		cp "$tmp/server.log" "$ABUSE_LOG" && log "server log kept in $ABUSE_LOG"
	fi
	if [[ ${ABUSE_KEEP_REDIS:-0} != 1 ]]; then
		redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" flushdb >/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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

revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# Changes under bench/ and scripts/ do not go into the server.
if [[ -n $(git --no-optional-locks status --porcelain -- . ':!bench' ':!scripts' 2>/dev/null | head -n 1) ]]; then
	revision="$revision (with uncommitted changes)"
fi

log "building ./cmd/krimstat at $revision"
go build -o "$tmp/krimstat" ./cmd/krimstat
# Build the harness now, so a compile error stops the run before the server starts.
go build -o /dev/null ./bench/abuse

[[ $(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] || die "no Redis at $REDIS"
redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -n "$REDIS_DB" flushdb >/dev/null

addr="127.0.0.1:$(free_port)"
base="http://$addr"
env -u DATABASE_URL KRIMSTAT_ADDR="$addr" REDIS_URL="redis://$REDIS/$REDIS_DB" KRIMSTAT_LOG_LEVEL=warn \
	"$tmp/krimstat" serve >"$tmp/server.log" 2>&1 &
SERVER_PID=$!

ready=0
for _ in $(seq 1 300); do
	if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$base/readyz" || true) == 200 ]]; then
		ready=1
		break
	fi
	kill -0 "$SERVER_PID" 2>/dev/null || break
	sleep 0.1
done
if [[ $ready != 1 ]]; then
	tail -n 20 "$tmp/server.log" >&2
	die "krimstat serve did not become ready within 30 s"
fi
log "krimstat serve at $base (pid $SERVER_PID), Redis $REDIS db $REDIS_DB"

echo "Krimstat abuse run: commit $revision, memory store, Redis $REDIS db $REDIS_DB, $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
rc=0
go run ./bench/abuse -url "$base" -pid "$SERVER_PID" -redis "$REDIS" -redis-db "$REDIS_DB" "$@" || rc=$?

if kill -0 "$SERVER_PID" 2>/dev/null; then
	echo "- Server RSS at the end: $(awk '/^VmRSS/ { printf "%.1f MB", $2 / 1024 }' "/proc/$SERVER_PID/status")."
else
	echo "- The server is no longer running: $(tail -n 3 "$tmp/server.log")"
fi
# What the server logged at warn and above, most frequent messages first.
summary=$(grep -o '"level":"[A-Z]*","msg":"[^"]*"' "$tmp/server.log" | sed -E 's/"level":"([A-Z]*)","msg":"([^"]*)"/\1 \2/' |
	sort | uniq -c | sort -rn | head -n 5 | awk '{ n = $1; $1 = ""; printf "%s%d×%s", (NR > 1 ? "; " : ""), n, $0 }' || true)
echo "- Server log lines: ${summary:-none}."
exit "$rc"
