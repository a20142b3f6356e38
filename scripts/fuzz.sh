#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, coverage) and runs each
# for a bounded time on a copy of its seed corpus (tests/fuzz/corpus/<target>)
# with its dictionary; prints executions and coverage per target; exits 1 if
# any target crashed, hung, leaked or tripped a sanitizer, naming the input
# that did it (a file under the work directory, kept for the report).
#
#   scripts/fuzz.sh [SECONDS]        # per target; default $FUZZ_SECONDS, else 60; 0: only build
#
# Variables:
#   FUZZ_SECONDS   seconds per target when no argument is given (default 60)
#   FUZZ_TARGETS   subset of "decode sql config" (default: all three)
#   FUZZ_BUILD     build directory (default build-fuzz; configured here if missing)
#   FUZZ_CORPUS    a corpus root to keep and grow (<root>/<target>, seeded from
#                  tests/fuzz/corpus); default: a temporary copy, removed after
#   FUZZ_WORK      where logs and crash inputs go (default: a new directory under /tmp,
#                  removed after a clean run)
#   FUZZ_JOBS      compile jobs (default 2)
#   FUZZ_SKIP_BUILD=1  run the binaries in FUZZ_BUILD as they are
# Reproduce a crash:   build-fuzz/tests/fuzz/fuzz_<target> CRASH_FILE
# Then add CRASH_FILE to tests/fuzz/corpus/<target>/ and a unit test (tests/unit/...).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-${FUZZ_SECONDS:-60}}"
targets="${FUZZ_TARGETS:-decode sql config}"
build="${FUZZ_BUILD:-build-fuzz}"
jobs="${FUZZ_JOBS:-2}"
work="${FUZZ_WORK:-$(mktemp -d /tmp/sluice-fuzz.XXXXXX)}"
mkdir -p "$work"

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ not found (scripts/setup-deps.sh installs clang and libclang-rt-14-dev)" >&2
  exit 1
fi

start=$SECONDS
if [[ "${FUZZ_SKIP_BUILD:-0}" != 1 ]]; then
  if [[ ! -f "$build/build.ninja" ]]; then
    # Only what the fuzzers link; -O1 and line tables keep the build short and the reports readable.
    CC=clang CXX=clang++ meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
      -Dbuildtype=plain -Dcpp_args='-O1 -gline-tables-only' -Dtests=false -Dbenchmarks=false \
      -Ddpdk=disabled -Dkafka=disabled >"$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; exit 1; }
  fi
  meson compile -C "$build" -j "$jobs" fuzz_decode fuzz_sql fuzz_config >"$work/build.log" 2>&1 ||
    { tail -n 50 "$work/build.log" >&2; exit 1; }
fi
echo "fuzz.sh: built in $((SECONDS - start)) s ($build); ${seconds} s per target; work dir $work"
if [[ "$seconds" == 0 ]]; then
  if [[ -z "${FUZZ_WORK:-}" ]]; then rm -rf "$work"; fi
  exit 0
fi

if [[ -z "${ASAN_SYMBOLIZER_PATH:-}" ]]; then
  for s in "$(command -v llvm-symbolizer || true)" /usr/lib/llvm-14/bin/llvm-symbolizer; do
    if [[ -n "$s" && -x "$s" ]]; then export ASAN_SYMBOLIZER_PATH="$s"; break; fi
  done
fi
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
for t in $targets; do
  case "$t" in
    decode) dict=json; max_len=8192 ;;
    sql) dict=sql; max_len=4096 ;;
    config) dict=toml; max_len=8192 ;;
    *) echo "fuzz.sh: unknown target '$t' (decode, sql, config)" >&2; exit 2 ;;
  esac
  if [[ -n "${FUZZ_CORPUS:-}" ]]; then
    corpus="$FUZZ_CORPUS/$t"
    mkdir -p "$corpus"
    cp -n tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  else
    corpus="$work/corpus/$t"
    rm -rf "$corpus"
    mkdir -p "$corpus"
    cp tests/fuzz/corpus/"$t"/* "$corpus"/
  fi
  artifacts="$work/artifacts/$t"
  mkdir -p "$artifacts"
  log="$work/$t.log"
  rc=0
  "$build/tests/fuzz/fuzz_$t" "$corpus" -dict="tests/fuzz/$dict.dict" -max_total_time="$seconds" \
    -max_len="$max_len" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" </dev/null >"$log" 2>&1 || rc=$?
  units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9a-zA-Z]*' "$log" | tail -n 1 || true)
  printf 'fuzz_%-7s %s executions (%s/s), %s\n' "$t" "${units:-?}" "${rate:-?}" "${cov:-no coverage line}"
  if ((rc != 0)); then
    failed+=("$t")
    echo "fuzz_$t: FAILED (exit $rc); the report:" >&2
    grep -n -m 1 -A 40 -E '^==[0-9]+==|runtime error|^fuzz_[a-z]+:|ERROR: libFuzzer' "$log" >&2 || tail -n 40 "$log" >&2
    for f in "$artifacts"/*; do
      [[ -e "$f" ]] || continue
      echo "fuzz_$t: input: $f ($(stat -c %s "$f") bytes)" >&2
      echo "fuzz_$t: reproduce: $build/tests/fuzz/fuzz_$t $f" >&2
    done
  fi
done
if [[ -z "${FUZZ_CORPUS:-}" ]]; then rm -rf "$work/corpus"; fi
echo "fuzz.sh: $((SECONDS - start)) s in all"
if ((${#failed[@]} != 0)); then
  echo "fuzz.sh: ${failed[*]} failed; logs in $work" >&2
  exit 1
fi
# A clean run leaves nothing behind in a work directory of its own.
if [[ -z "${FUZZ_WORK:-}" ]]; then rm -rf "$work"; fi
