#!/usr/bin/env bash
# stream.sh measures a whole-file download (issue 11): it generates a
# synthetic release (1,000,000 observations unless -n says otherwise), serves
# it with "krimstat serve -data FILE" on a free port of 127.0.0.1 (rate limit
# and cache off), downloads /v1/observations?format=csv once and prints rows,
# bytes, time to first byte, rows/s and the server's RSS before, at the peak
# during the download, and the growth. Arguments go to bench/stream:
#
#   scripts/stream.sh
#   scripts/stream.sh -n 200000 -path '/v1/observations?format=csv&offence=offence-003'
#   scripts/stream.sh -url http://127.0.0.1:8080 -pid "$(pgrep -n krimstat)"
#   scripts/stream.sh -h                   every flag
#
# The measurements are reported, not judged (issue 11 asks for RSS growth
# under 32 MB).
set -euo pipefail

cd "$(dirname "$0")/.."
exec go run ./bench/stream "$@"
