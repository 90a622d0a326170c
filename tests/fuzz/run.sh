#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 in build-fuzz/ and runs each for SECONDS (default 60)
# over a COPY of its seed corpus (tests/fuzz/corpus/<target>/ is never written to).
#
#   tests/fuzz/run.sh [SECONDS]
#   FUZZ_TARGETS="fuzz_selector_parser" tests/fuzz/run.sh 30     # only some targets
#
# Prints each target's executions and exits non-zero when any target crashed (or leaked, timed out or
# ran out of memory). A crashing input is left in build-fuzz/fuzz-run/<target>/artifacts/; reproduce
# it with build-fuzz/fuzz/<target> <file>.
set -euo pipefail

seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${CANARYD_FUZZ_BUILD_DIR:-$root/build-fuzz}
targets=${FUZZ_TARGETS:-fuzz_request_validator fuzz_config_loader fuzz_selector_parser fuzz_control_api}

# clang-14 and its libFuzzer runtime (Debian packages).
fuzzer_rt() { clang++-14 -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null; }
if ! command -v clang++-14 >/dev/null || [[ $(fuzzer_rt) != /* ]]; then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  echo "== installing clang-14 and libclang-rt-14-dev"
  $sudo apt-get install -y clang-14 libclang-rt-14-dev ||
    { $sudo apt-get update && $sudo apt-get install -y clang-14 libclang-rt-14-dev; }
fi

# -O1 -g without -DNDEBUG: fast enough to fuzz, and Boost's own assertions stay on.
# CANARYD_INTEGRATION_TESTS stays ON: tests/CMakeLists.txt returns before the fuzz lines when it is OFF.
echo "== configuring $build"
cmake -S "$root" -B "$build" -DCANARYD_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" -DCANARYD_TESTS=ON -DCANARYD_INTEGRATION_TESTS=ON >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }

echo "== building $targets"
start=$(date +%s)
# shellcheck disable=SC2086
cmake --build "$build" -j2 --target $targets
echo "== build took $(($(date +%s) - start)) s"

failed=0
summary=()
for target in $targets; do
  work=$build/fuzz-run/$target
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp -R "$here/corpus/$target/." "$work/corpus/"
  dict=()
  [[ -f $here/dict/$target.dict ]] && dict=("-dict=$here/dict/$target.dict")
  echo "== $target: ${seconds}s over $(ls "$work/corpus" | wc -l) seeds"
  set +e
  (cd "$work" && "$build/fuzz/$target" "$work/corpus" "${dict[@]}" -max_total_time="$seconds" -timeout=25 \
     -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$work/artifacts/") >"$work/log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  if [[ -z $execs ]]; then
    execs=$(grep -oE '^#[0-9]+' "$work/log" | tail -1 | tr -d '#')
  fi
  artifacts=$(ls "$work/artifacts")
  if [[ $rc -ne 0 || -n $artifacts ]]; then
    failed=1
    summary+=("$target: FAILED (exit $rc) after ${execs:-?} executions; log $work/log")
    for a in $artifacts; do summary+=("  reproduce: $build/fuzz/$target $work/artifacts/$a"); done
    grep -E 'ERROR: |FUZZ_CHECK|detail:|^    #[0-9]+ ' "$work/log" | head -40 || true
  else
    summary+=("$target: ok, ${execs:-?} executions in ${seconds}s, corpus $(ls "$work/corpus" | wc -l) inputs")
  fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"
exit $failed
