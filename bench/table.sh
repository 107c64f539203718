#!/usr/bin/env bash
# Krimstat's benchmark figures in one table, each beside its ceiling or goal
# from the same run (make bench).
#
# Builds ./cmd/krimstat once (unless BENCH_KRIMSTAT names a binary) and runs,
# one after another so that none disturbs another, each of these that exists:
#   load     bash bench/load.sh --tsv   cache, ceilings, uncached on memory and PostgreSQL
#   scale    go run ./bench/scale       1×, 10×, 100× synthetic releases (a few minutes)
#   startup  bash bench/startup.sh      start-up time and memory
#   switch   bash bench/switch.sh       switching releases
#   edge     bash bench/edge.sh         behind nginx
#   scaleout bash bench/scaleout.sh     three replicas behind HAProxy (about 1.5 min)
# Each prints TSV rows: figure<TAB>value<TAB>ceiling-or-goal<TAB>note (a
# header row "figure ..." is skipped). A phase that fails is a row saying
# so, and the others still run. Then it prints one table: phase, figure,
# value, ceiling or goal, whether a goal written as >=X or <=X is met, and
# the note. Progress goes to stderr, the table to stdout.
#
# Environment (defaults in brackets):
#   BENCH_TABLE_PHASES [load scale startup switch edge scaleout]  the phases to run
#   BENCH_TABLE_TSV         also write the collected rows (phase first) to this file
#   BENCH_KRIMSTAT          a prebuilt server binary for every phase
#   and each phase's own (bench/load.sh: BENCH_SECONDS, BENCH_PG, ...;
#   bench/scale: BENCH_PG; bench/scaleout.sh: BENCH_SECONDS, and neither BENCH_PG
#   (its PostgreSQL is its own) nor BENCH_KRIMSTAT (its replicas are its test binary)).
set -uo pipefail

cd "$(dirname "$0")/.."

PHASES=${BENCH_TABLE_PHASES:-load scale startup switch edge scaleout}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

log() { echo "table.sh: $*" >&2; }

if [[ -z ${BENCH_KRIMSTAT:-} ]]; then
	log "building ./cmd/krimstat"
	go build -o "$TMP/krimstat" ./cmd/krimstat || exit 1
	export BENCH_KRIMSTAT=$TMP/krimstat
fi

# collect NAME CMD...: runs CMD, keeps its TSV rows led by NAME in $TMP/rows.
collect() {
	local name=$1
	shift
	local start=$SECONDS
	log "phase $name: $*"
	if "$@" >"$TMP/$name.out"; then
		log "phase $name done in $((SECONDS - start))s"
	else
		log "phase $name FAILED (exit $?) after $((SECONDS - start))s"
		printf '%s\t%s_failed\tFAILED\t\tsee its output above\n' "$name" "$name" >>"$TMP/rows"
	fi
	awk -F'\t' -v p="$name" 'NF >= 3 && $1 != "figure" { print p "\t" $0 }' "$TMP/$name.out" >>"$TMP/rows"
}

: >"$TMP/rows"
for phase in $PHASES; do
	case $phase in
	load) collect load bash bench/load.sh --tsv ;;
	scale) collect scale go run ./bench/scale -bin "$BENCH_KRIMSTAT" ;;
	startup | switch | edge | scaleout)
		if [[ -f bench/$phase.sh ]]; then
			collect "$phase" bash "bench/$phase.sh"
		else
			log "phase $phase skipped: bench/$phase.sh does not exist"
		fi
		;;
	*) log "unknown phase $phase" ;;
	esac
done

if [[ -n ${BENCH_TABLE_TSV:-} ]]; then
	cp "$TMP/rows" "$BENCH_TABLE_TSV"
fi

echo
echo "Krimstat benchmarks, $(nproc) CPUs, $(date -u +%FT%TZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+changes')"
echo
awk -F'\t' '
	function num(s) { return s ~ /^-?[0-9]+(\.[0-9]+)?$/ }
	function met(v, g,   x) {
		if (g ~ /^>=/) { x = substr(g, 3); if (num(v) && num(x)) return (v + 0 >= x + 0) ? "yes" : "NO" }
		if (g ~ /^<=/) { x = substr(g, 3); if (num(v) && num(x)) return (v + 0 <= x + 0) ? "yes" : "NO" }
		return ""
	}
	{
		n++
		for (i = 1; i <= 4; i++) cell[n, i] = $i
		cell[n, 5] = met($3, $4)
		cell[n, 6] = $5
		for (i = 1; i <= 5; i++) if (length(cell[n, i]) > w[i]) w[i] = length(cell[n, i])
	}
	END {
		split("phase figure value ceiling/goal met", head, " ")
		for (i = 1; i <= 5; i++) if (length(head[i]) > w[i]) w[i] = length(head[i])
		fmt = "%-" w[1] "s  %-" w[2] "s  %" w[3] "s  %-" w[4] "s  %-" w[5] "s  %s\n"
		printf fmt, head[1], head[2], head[3], head[4], head[5], "note"
		for (r = 1; r <= n; r++) printf fmt, cell[r, 1], cell[r, 2], cell[r, 3], cell[r, 4], cell[r, 5], cell[r, 6]
	}
' "$TMP/rows"
