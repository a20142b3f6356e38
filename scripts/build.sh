#!/usr/bin/env bash
# Configures (once) and builds sluice in BUILD (default: build), release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD:-build}"
if [[ ! -f "$build/build.ninja" ]]; then
  meson setup "$build" --buildtype=release -Dtests=true -Dbenchmarks=true >/dev/null
fi
meson compile -C "$build" -j "$(nproc)"
