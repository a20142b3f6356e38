# Helpers shared by the bench scripts (sourced; SCRIPT names the caller):
# errors, the machine and revision a report states, and appending a report
# to bench/RESULTS.md.
# shellcheck shell=bash

die() {
    echo "$SCRIPT: error: $*" >&2
    exit 1
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
