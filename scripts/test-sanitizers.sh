#!/usr/bin/env bash
# Builds sluice and its tests under sanitizers and runs every test suite (unit,
# conformance, integration) in each build; the sluice binary the integration
# tests spawn is built the same way and inherits the same options.
#
#   scripts/test-sanitizers.sh [asan|tsan|all]     (default: all)
#
#   asan  AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer (UB is
#         fatal: -fno-sanitize-recover), gcc, -Og, in build-asan (ASAN_BUILD)
#   tsan  ThreadSanitizer, gcc, -O1, in build-tsan (TSAN_BUILD), without Kafka
#         (librdkafka's threads are invisible to it, see below)
#
# Both builds keep assertions on, use line tables (-g1) and frame pointers for
# readable reports, and leave the benchmarks out. Every sanitizer report is
# written to BUILD/sanitizer-logs/<tool>.<pid> (a report from a spawned sluice
# counts even when the test expected that process to fail) and printed at the
# end; any report, failed test or failed build makes the exit status 1.
#
# Variables:
#   SLUICE_TEST_SCALE  divisor for the few stress tests that honour it
#                      (default here: 10; the plain suite runs them at 1)
#   SAN_JOBS           compile jobs (default: nproc)
#   ASAN_BUILD, TSAN_BUILD   build directories (configured here if missing)
#   ASAN_OPTIONS, UBSAN_OPTIONS, TSAN_OPTIONS   appended to the defaults below
set -euo pipefail
cd "$(dirname "$0")/.."

which="${1:-all}"
case "$which" in
  asan) sanitizers=(asan) ;;
  tsan) sanitizers=(tsan) ;;
  all) sanitizers=(asan tsan) ;;
  *) echo "usage: $0 [asan|tsan|all]" >&2; exit 2 ;;
esac
jobs="${SAN_JOBS:-$(nproc)}"
export SLUICE_TEST_SCALE="${SLUICE_TEST_SCALE:-10}"

common=(--buildtype=plain -Db_lundef=false -Db_ndebug=false -Dtests=true -Dbenchmarks=false)

user_asan="${ASAN_OPTIONS:-}" user_ubsan="${UBSAN_OPTIONS:-}" user_tsan="${TSAN_OPTIONS:-}"
status=0
summaries=()
for san in "${sanitizers[@]}"; do
  start=$SECONDS
  case "$san" in
    asan)
      build="${ASAN_BUILD:-build-asan}"
      opts=("${common[@]}" -Db_sanitize=address,undefined
        "-Dcpp_args=-Og -g1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined")
      ;;
    tsan)
      # Without Kafka: librdkafka starts its threads with C11 thrd_create,
      # which gcc 12's TSan runtime does not intercept, so the first malloc on
      # such a thread crashes inside TSan. The asan build covers the Kafka code.
      build="${TSAN_BUILD:-build-tsan}"
      opts=("${common[@]}" -Db_sanitize=thread -Dkafka=disabled "-Dcpp_args=-O1 -g1 -fno-omit-frame-pointer")
      ;;
  esac

  # Configure (or bring an existing directory to these options), then build.
  if [[ -f "$build/build.ninja" ]]; then
    out=$(meson configure "$build" "${opts[@]}" 2>&1) || { echo "$out" >&2; exit 1; }
  else
    out=$(meson setup "$build" "${opts[@]}" 2>&1) || { echo "$out" >&2; exit 1; }
  fi
  log="$build/meson-logs/sanitizer-build.log"
  if ! meson compile -C "$build" -j "$jobs" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "$san: build failed (log: $log)" >&2
    summaries+=("$san: build failed")
    status=1
    continue
  fi
  if grep -q 'warning:' "$log"; then
    echo "$san: the build has warnings:" >&2
    grep -A 4 'warning:' "$log" >&2
  fi
  built=$((SECONDS - start))

  # Each report goes to its own file; the options the user set come last and win.
  logs="$(cd "$build" && pwd)/sanitizer-logs"
  rm -rf "$logs"
  mkdir -p "$logs"
  case "$san" in
    asan)
      export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:abort_on_error=0:log_path=$logs/asan${user_asan:+:$user_asan}"
      export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan${user_ubsan:+:$user_ubsan}"
      ;;
    tsan)
      supp=""  # third-party races only, each with its reason
      if [[ -f tests/tsan.supp ]]; then supp=":suppressions=$PWD/tests/tsan.supp"; fi
      export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1$supp:log_path=$logs/tsan${user_tsan:+:$user_tsan}"
      ;;
  esac
  rc=0
  meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
    --suite unit --suite conformance --suite integration || rc=$?
  reports=("$logs"/*)
  if [[ -e "${reports[0]}" ]]; then
    rc=1
    for r in "${reports[@]}"; do
      echo "==== $san report $r" >&2
      head -n 80 "$r" >&2
    done
  fi
  line=$(python3 scripts/test-summary.py "$build/meson-logs/testlog.json" "$san")
  if [[ -e "${reports[0]}" ]]; then line+=", ${#reports[@]} sanitizer report(s) in $logs"; fi
  line+=" (build ${built} s, tests $((SECONDS - start - built)) s)"
  summaries+=("$line")
  echo "$line"
  if ((rc != 0)); then status=1; fi
  unset ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS
done

if ((${#sanitizers[@]} > 1)); then printf 'sanitizers: %s\n' "${summaries[@]}"; fi
exit $status
