#!/usr/bin/env bash
# Installs what sluice needs to build and test, from Debian 12 packages.
# Idempotent: installs only what is missing and runs 'apt-get update' at most
# once, only when something must be installed.
#   scripts/setup-deps.sh          build + test dependencies
#   scripts/setup-deps.sh --all    also the optional ones (plots, valgrind)
set -euo pipefail

required=(
  g++ meson ninja-build pkg-config python3
  liburing-dev libhwloc-dev libabsl-dev libsimdjson-dev libtomlplusplus-dev
  libgtest-dev libbenchmark-dev
  clang libclang-rt-14-dev llvm-14
  librdkafka-dev
  dpdk-dev libdpdk-dev iproute2
)
# clang, libclang-rt-14-dev (libFuzzer, sanitizer runtimes) and llvm-14
# (llvm-symbolizer for readable reports): scripts/fuzz.sh, run by scripts/test.sh.
# dpdk-dev, libdpdk-dev: -Ddpdk (kernel-bypass ingest, auto; its tests need no
# NIC or hugepages, so they run by default); iproute2: the DPDK veth test makes
# a network namespace.
# librdkafka-dev: Kafka sources, sinks and checkpoints (-Dkafka, auto); its
# tests (integration suite 'kafka', librdkafka's mock cluster, no broker) run
# by default, so it is required.
optional=(gnuplot-nox valgrind)

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
