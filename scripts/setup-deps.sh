#!/usr/bin/env bash
# Installs what sluice needs to build and test, from Debian 12 packages.
# Idempotent: installs only what is missing and runs 'apt-get update' at most
# once, only when something must be installed.
#   scripts/setup-deps.sh          build + test dependencies
#   scripts/setup-deps.sh --all    also the optional ones (DPDK, Kafka, plots, clang tools)
set -euo pipefail

required=(
  g++ meson ninja-build pkg-config python3
  liburing-dev libhwloc-dev libabsl-dev libsimdjson-dev libtomlplusplus-dev
  libgtest-dev libbenchmark-dev
)
optional=(dpdk-dev libdpdk-dev librdkafka-dev gnuplot-nox clang libclang-rt-14-dev valgrind)

want=("${required[@]}")
if [[ "${1:-}" == "--all" ]]; then want+=("${optional[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup-deps: all ${#want[@]} packages present"
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-deps: done"
