#!/usr/bin/env bash
# Runs every load scenario (tests/load/test_*.py) one after another, then prints the LOADRESULT summary.
# Usage: tests/load/run_all.sh [BUILD_DIR]     (default: build/ at the repository root)
# Exit status: 0 if every scenario passed, 1 otherwise. Each scenario is bounded by `timeout 300`.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
bin_dir="${1:-$here/../../build}"
log_dir="$(mktemp -d "${TMPDIR:-/tmp}/canaryd-load.XXXXXX")"
status=0
for t in "$here"/test_*.py; do
  name="$(basename "$t" .py)"
  echo "=== $name"
  if ! timeout 300 python3 "$t" --bin-dir "$bin_dir" >"$log_dir/$name.log" 2>&1; then
    status=1
    echo "--- $name FAILED (log: $log_dir/$name.log)"
    tail -n 40 "$log_dir/$name.log"
  fi
  grep -h '^LOADRESULT' "$log_dir/$name.log" || echo "LOADRESULT $name (no result line; see $log_dir/$name.log)"
done
echo
echo "=== summary (logs in $log_dir)"
for t in "$here"/test_*.py; do
  grep -h '^LOADRESULT' "$log_dir/$(basename "$t" .py).log" | sed 's/^LOADRESULT //'
done
exit $status
