#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 in build-fuzz/ and runs each for SECONDS (default 60)
# over a COPY of its seed corpus (tests/fuzz/corpus/<target>/ is never written to).
#
#   tests/fuzz/run.sh [SECONDS]
#   FUZZ_TARGETS="fuzz_selector_parser" tests/fuzz/run.sh 30     # only some targets
#
# Prints each target's executions and exits non-zero when any target crashed (or leaked, timed out or
# ran out of memory). Crashing inputs are left in build-fuzz/fuzz-run/<target>/artifacts/; reproduce
# one with build-fuzz/fuzz/<target> <file>. Known crashers are kept in tests/fuzz/crashes/<target>/.
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
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCANARYD_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" -DCANARYD_TESTS=ON -DCANARYD_INTEGRATION_TESTS=ON >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }

echo "== building $targets"
start=$(date +%s)
# shellcheck disable=SC2086
cmake --build "$build" -j2 --target $targets
echo "== build took $(($(date +%s) - start)) s"

# Fork mode (-fork=1, one job at a time) with -ignore_*: a crash is saved and fuzzing goes on, so one
# known crash does not end a target's run after a few hundred inputs. Memory: libFuzzer's own RSS
# limit is off (-rss_limit_mb=0) because its out-of-memory report prints a heap profile that can take
# many minutes on a process of gigabytes; ASan's hard_rss_limit_mb kills the job at once instead,
# which libFuzzer records as a crash with its input.
export ASAN_OPTIONS=${ASAN_OPTIONS:-hard_rss_limit_mb=2048}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

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
  (cd "$work" && "$build/fuzz/$target" "$work/corpus" "${dict[@]}" -max_total_time="$seconds" -fork=1 \
     -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 -timeout=25 -rss_limit_mb=0 -malloc_limit_mb=2048 \
     -artifact_prefix="$work/artifacts/") >"$work/log" 2>&1
  rc=$?
  set -e
  # Fork mode's status lines: "#EXECS: cov: ... oom/timeout/crash: O/T/C time: ...".
  status=$(grep -E '^#[0-9]+: ' "$work/log" | tail -1)
  execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$status")
  otc=$(sed -nE 's#.*oom/timeout/crash: ([0-9]+/[0-9]+/[0-9]+).*#\1#p' <<<"$status")
  artifacts=$(ls "$work/artifacts")
  if [[ $rc -ne 0 || -n $artifacts ]]; then
    failed=1
    summary+=("$target: FAILED (exit $rc) after ${execs:-?} executions, oom/timeout/crash ${otc:-?}; log $work/log")
    n=0
    for a in $artifacts; do
      summary+=("  reproduce: $build/fuzz/$target $work/artifacts/$a")
      # The first few: run them once more to show why they fail.
      if [[ $n -lt 3 ]]; then
        n=$((n + 1))
        echo "-- $target $a"
        (cd "$work" && timeout 120 "$build/fuzz/$target" -rss_limit_mb=0 "$work/artifacts/$a" 2>&1) |
          grep -E 'ERROR|FUZZ_CHECK|detail:|runtime error|hard rss|^    #[0-9]+ ' | head -25 || true
      fi
    done
  else
    summary+=("$target: ok, ${execs:-?} executions in ${seconds}s, corpus $(ls "$work/corpus" | wc -l) inputs")
  fi
done

echo "== summary"
printf '%s\n' "${summary[@]}"
exit $failed
