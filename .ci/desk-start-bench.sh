#!/usr/bin/env bash
# Issue 13: the desk's start to its first frame, and its peak RSS, with a
# sandbox ledger of 1,000,000 orders against an empty one. Not run in CI:
# the million-order store takes minutes to build and is 5 GB (kept in
# TILL_BENCH_DIR, default ~/.cache/till-bench, and used again while its
# recipe matches; BENCHMARKS.md). Each data directory is HOME with the
# XDG directories inside it; the million's ledger is
# $XDG_DATA_HOME/till/sandbox/till.db, a copy of the store stamped sandbox.
#
#   .ci/desk-start-bench.sh [WORKDIR]     (default /tmp/till-desk-start)
#
# TILL_DESK_RUNS sets the timed runs in each directory (7).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/till-desk-start}
export TILL_BENCH_DIR=${TILL_BENCH_DIR:-$HOME/.cache/till-bench}
mkdir -p "$work/empty" "$work/million" "$TILL_BENCH_DIR"

ledger="$work/million/data/till/sandbox/till.db"
if [ ! -f "$ledger" ]; then
  TILL_BENCH_MILLION=1 TILL_BENCH_LEDGER="$ledger" \
    go test ./store -run '^TestWriteBenchLedger$' -count 1 -v -timeout 1h
fi
go build -o "$work/till" .
TILL_DESK_START=1 TILL_DESK_BIN="$work/till" TILL_DESK_HOMES="$work/empty,$work/million" \
  go test . -run '^TestDeskStart$' -count 1 -v -timeout 30m
