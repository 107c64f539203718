#!/usr/bin/env bash
# Scale-out benchmark: three replicas of krimstat serve behind Debian's
# HAProxy with deploy/haproxy/krimstat.cfg (issue 15).
#
# Runs TestScaleOut (cmd/krimstat/scaleout_test.go) with longer phases. It
# starts three replicas as processes on a PostgreSQL primary of its own,
# reading from a streaming standby of it (initdb and pg_basebackup on free
# ports), and one Redis behind Sentinel (a primary, a replica, three Sentinels), HAProxy in
# front, all on 127.0.0.1, checks that one client's rate limit holds across
# the replicas, and then runs wrk with bench/scaleout.lua through HAProxy in
# four phases:
#   steady                     three replicas;
#   replica killed             one SIGKILLed 1 s in, then started again;
#   release switched           a second release loaded (krimstat ingest)
#                              while each replica is also asked directly
#                              every 20 ms;
#   Redis primary failed over  Sentinel's primary SIGKILLed 1 s in.
# The test's table (requests, non-2xx answers and socket errors, p99, the
# time until every replica served the new release, HAProxy's retries) goes
# to stderr with the test's log; TSV rows
# (figure<TAB>value<TAB>ceiling-or-goal<TAB>note) go to stdout, for
# bench/table.sh.
#
# Needs haproxy, wrk, redis-server, redis-sentinel and PostgreSQL's server
# binaries (apt-get install -y haproxy wrk redis-server redis-sentinel
# postgresql).
#
# Environment (defaults in brackets):
#   BENCH_SECONDS [10]  least length of each phase (the replica-killed and
#                       failover phases last until what they wait for is
#                       over, the release phase until the load is done)
# BENCH_KRIMSTAT is not used: the replicas are the test binary, which
# serves as krimstat serve does.
set -euo pipefail

cd "$(dirname "$0")/.."

SECONDS_PER_PHASE=${BENCH_SECONDS:-10}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

log() { echo "scaleout.sh: $*" >&2; }

log "go test -run '^TestScaleOut\$' ./cmd/krimstat/ with phases of ${SECONDS_PER_PHASE}s or more"
status=0
KRIMSTAT_SCALEOUT_SECONDS=$SECONDS_PER_PHASE KRIMSTAT_SCALEOUT_TSV=$TMP/rows.tsv \
	go test -count=1 -timeout 15m -run '^TestScaleOut$' -v ./cmd/krimstat/ >"$TMP/test.log" 2>&1 || status=$?
# The test's lines and its table (and, when it failed, the logs of HAProxy
# and the replicas).
cat "$TMP/test.log" >&2
if [[ $status != 0 ]]; then
	log "TestScaleOut failed (exit $status)"
	exit 1
fi
if [[ ! -s $TMP/rows.tsv ]]; then
	log "TestScaleOut wrote no rows (skipped? see its log above)"
	exit 1
fi
cat "$TMP/rows.tsv"
