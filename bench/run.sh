#!/usr/bin/env bash
# make bench: runs every benchmark in build/bench; each prints its figures beside a reference
# measured in the same run, and records them in build/bench.json.
set -euo pipefail
build=${1:-build}
export NSL_BIN_DIR="$PWD/$build/bin"
rm -f "$build/bench.json"
status=0
for b in "$build"/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b" "$build/bench.json" || status=1
done
echo "figures written to $build/bench.json"
exit $status
