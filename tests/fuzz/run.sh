#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 in build-fuzz/ and runs each for SECONDS (default 60)
# over a COPY of its seed corpus (tests/fuzz/corpus/<target>/ is never written to).
#
#   tests/fuzz/run.sh [SECONDS]
#   FUZZ_TARGETS="fuzz_selector_parser" tests/fuzz/run.sh 30     # only some targets
#   FUZZ_JOBS=2 tests/fuzz/run.sh                                # two targets at a time (one core each)
#   CANARYD_FUZZ_BUILD_DIR=build-san FUZZ_NO_BUILD=1 tests/fuzz/run.sh
#                     # run the targets of a tree that is already built (scripts/dev test does this)
#
# Prints each target's executions and exits non-zero when any target crashed (or leaked, timed out or
# ran out of memory), with a `reproduce:` line per crashing input. Crashing inputs are left in
# BUILD/fuzz-run/<target>/artifacts/; reproduce one with BUILD/fuzz/<target> <file>. Known crashers are
# kept in tests/fuzz/crashes/<target>/.
set -euo pipefail

seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${CANARYD_FUZZ_BUILD_DIR:-$root/build-fuzz}
[[ $build == /* ]] || build=$root/$build
targets=${FUZZ_TARGETS:-fuzz_request_validator fuzz_config_loader fuzz_selector_parser fuzz_control_api}
jobs=${FUZZ_JOBS:-1}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "FUZZ_JOBS must be a positive number" >&2; exit 2; }

# clang-14's llvm-symbolizer (package llvm-14) for symbolized stacks; the unversioned name may be missing.
if [[ -z ${ASAN_SYMBOLIZER_PATH:-} && -x /usr/lib/llvm-14/bin/llvm-symbolizer ]]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi

if [[ -z ${FUZZ_NO_BUILD:-} ]]; then
  # clang-14 and its libFuzzer runtime (Debian packages).
  fuzzer_rt() { clang++-14 -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null; }
  if ! command -v clang++-14 >/dev/null || [[ $(fuzzer_rt) != /* ]]; then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    echo "== installing clang-14, libclang-rt-14-dev and llvm-14"
    $sudo apt-get install -y clang-14 libclang-rt-14-dev llvm-14 ||
      { $sudo apt-get update && $sudo apt-get install -y clang-14 libclang-rt-14-dev llvm-14; }
  fi

  # -O1 -g1 without -DNDEBUG: fast enough to fuzz, and Boost's own assertions stay on; line tables give the
  # stacks their file:line. scripts/dev
  # configures its build-san/ tree with the same arguments (and builds everything in it, not only these
  # targets, to run the whole ctest suite under ASan+UBSan).
  echo "== configuring $build"
  mkdir -p "$build"
  cmake -S "$root" -B "$build" -DCANARYD_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log"; exit 1; }

  echo "== building $targets"
  start=$(date +%s)
  # shellcheck disable=SC2086
  cmake --build "$build" -j2 --target $targets
  echo "== build took $(($(date +%s) - start)) s"
fi
for target in $targets; do
  [[ -x $build/fuzz/$target ]] || { echo "missing $build/fuzz/$target (build it first)" >&2; exit 1; }
done

# Fork mode (-fork=1, one job at a time) with -ignore_*: a crash is saved and fuzzing goes on, so one
# known crash does not end a target's run after a few hundred inputs. Memory: libFuzzer's own RSS
# limit is off (-rss_limit_mb=0) because its out-of-memory report prints a heap profile that can take
# many minutes on a process of gigabytes; ASan's hard_rss_limit_mb kills the job at once instead,
# which libFuzzer records as a crash with its input.
export ASAN_OPTIONS=${ASAN_OPTIONS:-hard_rss_limit_mb=2048}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# Runs one target; writes its summary lines to $work/summary and its verdict to $work/verdict.
run_target() {
  local target=$1
  local work=$build/fuzz-run/$target
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp -R "$here/corpus/$target/." "$work/corpus/"
  local dict=()
  [[ -f $here/dict/$target.dict ]] && dict=("-dict=$here/dict/$target.dict")
  echo "== $target: ${seconds}s over $(ls "$work/corpus" | wc -l) seeds"
  local rc=0
  (cd "$work" && "$build/fuzz/$target" "$work/corpus" "${dict[@]}" -max_total_time="$seconds" -fork=1 \
     -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 -timeout=25 -rss_limit_mb=0 -malloc_limit_mb=2048 \
     -artifact_prefix="$work/artifacts/") >"$work/log" 2>&1 || rc=$?
  # Fork mode's status lines: "#EXECS: cov: ... oom/timeout/crash: O/T/C time: ...".
  local status execs otc artifacts
  status=$(grep -E '^#[0-9]+: ' "$work/log" | tail -1 || true)
  execs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$status")
  otc=$(sed -nE 's#.*oom/timeout/crash: ([0-9]+/[0-9]+/[0-9]+).*#\1#p' <<<"$status")
  artifacts=$(ls "$work/artifacts")
  {
    if [[ $rc -ne 0 || -n $artifacts ]]; then
      echo "FUZZRESULT $target executions=${execs:-?} oom/timeout/crash=${otc:-?} result=FAIL (exit $rc; log $work/log)"
      local listed=0 count
      count=$(wc -w <<<"$artifacts")
      for a in $artifacts; do
        [[ $listed -lt 10 ]] || { echo "  ... and $((count - listed)) more in $work/artifacts/"; break; }
        echo "  reproduce: $build/fuzz/$target $work/artifacts/$a"
        listed=$((listed + 1))
      done
    else
      echo "FUZZRESULT $target executions=${execs:-?} seconds=$seconds corpus=$(ls "$work/corpus" | wc -l) result=PASS"
    fi
  } >"$work/summary"
  if [[ $rc -ne 0 || -n $artifacts ]]; then
    echo fail >"$work/verdict"
    # The first few: run them once more to show why they fail.
    local n=0
    for a in $artifacts; do
      [[ $n -lt 3 ]] || break
      n=$((n + 1))
      echo "-- $target $a"
      (cd "$work" && timeout 120 "$build/fuzz/$target" -rss_limit_mb=0 "$work/artifacts/$a" 2>&1) |
        grep -E 'ERROR|FUZZ_CHECK|detail:|runtime error|hard rss|^    #[0-9]+ ' | head -25 || true
    done
  else
    echo ok >"$work/verdict"
  fi
  echo "== $target done: $(cat "$work/summary" | head -1)"
}

# FUZZ_JOBS targets at a time; each is one libFuzzer process (plus its fork-mode child) on one core.
running=0
for target in $targets; do
  if [[ $running -ge $jobs ]]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$target" &
  running=$((running + 1))
done
wait || true

failed=0
echo "== summary"
for target in $targets; do
  work=$build/fuzz-run/$target
  if [[ -f $work/summary ]]; then cat "$work/summary"; else echo "FUZZRESULT $target result=FAIL (no result)"; fi
  [[ $(cat "$work/verdict" 2>/dev/null) == ok ]] || failed=1
done
exit $failed
