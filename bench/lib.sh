# Helpers shared by the bench scripts (sourced; SCRIPT names the caller):
# errors, building the binaries, the BENCH.md data sets, the machine and
# revision a report states, and appending a report to bench/RESULTS.md.
# shellcheck shell=bash

die() {
    echo "$SCRIPT: error: $*" >&2
    exit 1
}

# build_binaries BUILD JOBS TARGET...: sets BUILD up (release) if it has no
# build.ninja and compiles the targets, unless SKIP_BUILD=1.
build_binaries() {
    local build=$1 jobs=$2
    shift 2
    [[ ${SKIP_BUILD:-0} == 1 ]] && return 0
    if [[ ! -f $build/build.ninja ]]; then
        meson setup "$build" --buildtype=release >&2 || die "meson setup $build failed"
    fi
    meson compile -C "$build" -j "$jobs" "$@" >&2 || die "build failed"
}

# build_type BUILD: meson's buildtype of BUILD, or "?".
build_type() {
    meson introspect "$1" --buildoptions 2>/dev/null |
        python3 -c 'import json,sys; print(next((o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"), "?"))' ||
        echo "?"
}

# The file of data set DS (a sluice-gen scenario) under $DATA.
dataset_file() { echo "$DATA/$1.ndjson"; }

# ensure_dataset DS: $N records of data set DS in $(dataset_file DS), made
# with $GEN. A data set is reused when its sidecar .meta file says it holds
# the same N records and the file still has the size it was written with.
# The file is then read once, into the page cache: the runs measure the
# engine, not the disk.
ensure_dataset() {
    local ds=$1 file meta want
    file=$(dataset_file "$ds")
    meta=$file.meta
    want="scenario=$ds count=$N"
    if [[ -s $file && -f $meta && $(<"$meta") == "$want bytes=$(stat -c %s "$file")" ]]; then
        echo "data: reusing $file ($N records)" >&2
    else
        echo "data: generating $file ($N records)" >&2
        rm -f "$meta"
        "$GEN" --scenario "$ds" --count "$N" --output "$file.tmp" || die "sluice-gen failed for $ds"
        mv "$file.tmp" "$file"
        echo "$want bytes=$(stat -c %s "$file")" >"$meta"
    fi
    cat "$file" >/dev/null
}

# The CPU model, for the report header.
cpu_model() {
    local m
    m=$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')
    [[ -n $m ]] || m=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
    echo "${m:-unknown}"
}

# The revision measured (noting uncommitted changes to tracked files).
revision() {
    local r
    r=$(git -C "$1" rev-parse --short HEAD 2>/dev/null || echo unknown)
    if [[ $r != unknown && -n $(git -C "$1" status --porcelain --untracked-files=no 2>/dev/null | head -1) ]]; then
        r="$r (uncommitted changes)"
    fi
    echo "$r"
}

# append_results RESULTS_FILE TITLE LOG_FILE: the log, raw, under a dated heading.
append_results() {
    local results=$1 title=$2 log=$3
    if [[ ! -f $results ]]; then
        {
            echo "# sluice — benchmark results"
            echo
            echo "Raw output of the scripts in bench/ (see bench/README.md), appended by them; never edited by hand."
        } >"$results"
    fi
    {
        echo
        echo "## $title, $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo
        echo '```'
        cat "$log"
        echo '```'
    } >>"$results"
    echo "appended to $results" >&2
}
