#!/usr/bin/env bash
# Runs scripts/tune-host.sh against fake /proc, /sys and /etc trees (SLUICE_TUNE_ROOT): the dry
# run writes nothing, --apply writes exactly what the dry run printed, a second run finds nothing
# left to do, and the CPU choices, masks and GRUB line come out as expected.
#   tests/scripts/tune_host_test.sh [path/to/tune-host.sh]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
script=${1:-$here/../../scripts/tune-host.sh}
[[ -f $script ]] || { echo "no $script" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0 checks=0
pass() { checks=$((checks + 1)); echo "ok   $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $*"; }
expect_eq() { if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1: expected '$3', got '$2'"; fi; }
expect_in() { if grep -qF -- "$2" <<<"$3"; then pass "$1"; else fail "$1: no line with '$2' in the output"; fi; }
expect_not_in() { if grep -qF -- "$2" <<<"$3"; then fail "$1: unexpected '$2' in the output"; else pass "$1"; fi; }

put() { mkdir -p "$(dirname "$1")"; printf '%s\n' "$2" >"$1"; }
tree_sum() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum); }

# run ROOT ARGS...: sets $out and $rc.
run() {
  local root=$1; shift
  rc=0
  out=$(SLUICE_TUNE_ROOT=$root bash "$script" "$@" 2>&1) || rc=$?
}

# An 8-CPU host, 4 cores x 2 threads (CPU c and c+4 share a core), cores 2 and 3 isolated.
make_host() {
  local r=$1 cmdline=$2 isolated=$3 c
  put "$r/proc/cmdline" "$cmdline"
  put "$r/proc/interrupts" "           CPU0       CPU1       CPU2       CPU3       CPU4       CPU5       CPU6       CPU7
  0:         40          0          0          0          0          0          0          0   IO-APIC   2-edge      timer
 24:       1000          0          0          0          0          0          0          0   PCI-MSI 524288-edge      eth0-rx-0
 25:          0          0       1000          0          0          0          0          0   PCI-MSI 524289-edge      eth0-rx-1
 26:          7          0          0          0          0          0          0          0   PCI-MSI 1048576-edge      nvme0q0
NMI:          0          0          0          0          0          0          0          0   Non-maskable interrupts"
  put "$r/proc/irq/24/smp_affinity_list" "0-7"
  put "$r/proc/irq/25/smp_affinity_list" "2,6"
  put "$r/proc/irq/26/smp_affinity_list" "0"
  put "$r/proc/irq/default_smp_affinity" "ff"
  put "$r/proc/mounts" "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0"
  put "$r/proc/sys/net/core/busy_poll" 0
  put "$r/proc/sys/net/core/busy_read" 0
  put "$r/proc/sys/net/core/rmem_max" 212992
  put "$r/proc/sys/net/core/rmem_default" 212992
  put "$r/proc/sys/net/core/wmem_max" 212992
  put "$r/proc/sys/net/core/wmem_default" 212992
  put "$r/proc/sys/net/core/netdev_max_backlog" 1000
  put "$r/proc/sys/kernel/numa_balancing" 1
  put "$r/proc/sys/kernel/io_uring_disabled" 2
  put "$r/sys/devices/system/cpu/online" "0-7"
  put "$r/sys/devices/system/cpu/isolated" "$isolated"
  put "$r/sys/devices/system/cpu/nohz_full" "$isolated"
  put "$r/sys/devices/system/cpu/smt/active" 1
  for c in 0 1 2 3 4 5 6 7; do
    put "$r/sys/devices/system/cpu/cpu$c/topology/thread_siblings_list" "$((c % 4)),$((c % 4 + 4))"
    put "$r/sys/devices/system/cpu/cpu$c/cpufreq/scaling_governor" powersave
    put "$r/sys/devices/system/cpu/cpu$c/cpufreq/scaling_available_governors" "performance powersave"
  done
  put "$r/sys/devices/system/node/node0/cpulist" "0-7"
  put "$r/sys/devices/system/clocksource/clocksource0/current_clocksource" tsc
  put "$r/sys/devices/virtual/workqueue/cpumask" "ff"
  put "$r/sys/kernel/mm/transparent_hugepage/enabled" "[always] madvise never"
  put "$r/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages" 0
  put "$r/sys/class/net/eth0/queues/rx-0/rps_cpus" "cc"
  put "$r/etc/default/irqbalance" "# irqbalance settings
#IRQBALANCE_ONESHOT=
IRQBALANCE_BANNED_CPULIST=7"
}

iso_cmdline="BOOT_IMAGE=/vmlinuz-6.1.0 root=/dev/sda1 ro quiet isolcpus=managed_irq,domain,2-3,6-7 nohz_full=2-3,6-7 rcu_nocbs=2-3,6-7 irqaffinity=0-1,4-5"

# ---- --help and usage errors
rc=0; out=$(bash "$script" --help 2>&1) || rc=$?
expect_eq "--help exits 0" "$rc" 0
expect_in "--help prints the usage" "Usage: scripts/tune-host.sh" "$out"
rc=0; out=$(bash "$script" --no-such-option 2>&1) || rc=$?
expect_eq "an unknown option exits 2" "$rc" 2
rc=0; out=$(bash "$script" --rmem 12x 2>&1) || rc=$?
expect_eq "a bad size exits 2" "$rc" 2

# ---- an isolated host: dry run
A=$work/isolated
make_host "$A" "$iso_cmdline" "2-3,6-7"
put "$A/etc/default/grub" "GRUB_DEFAULT=0
GRUB_CMDLINE_LINUX_DEFAULT=\"quiet isolcpus=managed_irq,domain,2-3,6-7 nohz_full=2-3,6-7 rcu_nocbs=2-3,6-7 irqaffinity=0-1,4-5\""
before=$(tree_sum "$A")
run "$A" --hugepages 512 --user sluicetest
expect_eq "dry run exits 0" "$rc" 0
expect_eq "dry run writes nothing" "$(tree_sum "$A")" "$before"
dry=$out
expect_in "shards default to one CPU per isolated core" 'shard CPUs:        2-3   (from the isolated CPUs on the kernel command line)' "$dry"
expect_in "their SMT siblings are kept free" 'their cores:       2-3,6-7' "$dry"
expect_in "housekeeping CPUs" 'housekeeping CPUs: 0-1,4-5' "$dry"
expect_in "governor change printed" '  change  cpu0 governor: powersave -> performance' "$dry"
expect_in "IRQ spanning every CPU keeps its housekeeping part" 'IRQ 24 (eth0-rx-0) smp_affinity_list: 0-7 -> 0-1,4-5' "$dry"
expect_in "IRQ only on shard CPUs goes to every housekeeping CPU" 'IRQ 25 (eth0-rx-1) smp_affinity_list: 2,6 -> 0-1,4-5' "$dry"
expect_in "IRQ already off the shards is left alone" '1 of 3 IRQs already avoid 2-3,6-7' "$dry"
expect_in "default IRQ mask" '$ echo 33 > /proc/irq/default_smp_affinity' "$dry"
expect_in "RPS mask" '$ echo 33 > /sys/class/net/eth0/queues/rx-0/rps_cpus' "$dry"
expect_in "irqbalance ban list" 'IRQBALANCE_BANNED_CPULIST=2-3,6-7' "$dry"
expect_in "io_uring re-enabled" 'kernel.io_uring_disabled: 2 -> 0' "$dry"
expect_in "rmem_default raised" 'net.core.rmem_default: 212992 -> 33554432' "$dry"
expect_in "THP to madvise" 'transparent_hugepage: always -> madvise' "$dry"
expect_in "hugepages" 'nr_hugepages (2 MiB): 0 -> 512' "$dry"
expect_in "hugetlbfs mount" '$ mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages' "$dry"
expect_in "limits file" 'sluicetest hard memlock unlimited' "$dry"
expect_in "isolation already right" '  ok      isolcpus covers 2-3,6-7' "$dry"
expect_in "GRUB line keeps the isolation and adds the rest" \
  'GRUB_CMDLINE_LINUX_DEFAULT="quiet isolcpus=managed_irq,domain,2-3,6-7 nohz_full=2-3,6-7 rcu_nocbs=2-3,6-7 irqaffinity=0-1,4-5 transparent_hugepage=madvise hugepagesz=2M hugepages=512"' "$dry"
expect_in "config key" 'cpus = "2-3"' "$dry"
expect_in "busy idle on isolated CPUs" 'idle = "busy"' "$dry"
expect_in "affinity for the unit: the housekeeping CPUs" 'CPUAffinity=0-1,4-5' "$dry"
expect_in "dry-run summary" 'change(s) to make with --apply' "$dry"

# ---- the same host: --apply writes what the dry run printed
run "$A" --apply --hugepages 512 --user sluicetest
expect_eq "--apply exits 0" "$rc" 0
expect_in "apply summary" ', 0 failed;' "$out"
n_echo=0
while read -r value path; do
  n_echo=$((n_echo + 1))
  expect_eq "applied: $path" "$(cat "$A$path")" "$value"
done < <(sed -n 's/^ *\$ echo \([^ ]*\) > \(.*\)$/\1 \2/p' <<<"$dry")
if [[ $n_echo -ge 20 ]]; then pass "the dry run printed $n_echo value writes"; else fail "only $n_echo value writes printed"; fi
expect_eq "IRQ 26 untouched" "$(cat "$A/proc/irq/26/smp_affinity_list")" 0
for c in 0 5 7; do expect_eq "cpu$c governor" "$(cat "$A/sys/devices/system/cpu/cpu$c/cpufreq/scaling_governor")" performance; done
expect_in "sysctl.d file" 'net.core.rmem_default = 33554432' "$(cat "$A/etc/sysctl.d/60-sluice.conf")"
expect_in "sysctl.d re-enables io_uring" 'kernel.io_uring_disabled = 0' "$(cat "$A/etc/sysctl.d/60-sluice.conf")"
expect_in "limits.d file" 'sluicetest soft memlock unlimited' "$(cat "$A/etc/security/limits.d/sluice.conf")"
ib=$(cat "$A/etc/default/irqbalance")
expect_eq "irqbalance: one ban line" "$(grep -c '^IRQBALANCE_BANNED_CPULIST=' <<<"$ib")" 1
expect_in "irqbalance: banned list" 'IRQBALANCE_BANNED_CPULIST=2-3,6-7' "$ib"
expect_in "irqbalance: other lines kept" '#IRQBALANCE_ONESHOT=' "$ib"
expect_in "commands are not run under SLUICE_TUNE_ROOT" '(not run: SLUICE_TUNE_ROOT is set)' "$out"
expect_eq "no temp files left" "$(find "$A" -name '*.tune-host.*' | wc -l)" 0

# ---- nothing left to do
run "$A" --user sluicetest
expect_eq "second run exits 0" "$rc" 0
expect_in "second run: nothing to change" 'summary: 0 change(s) to make with --apply' "$out"

# ---- a host with nothing isolated: the proposal
B=$work/plain
make_host "$B" "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet" ""
run "$B"
expect_eq "plain host: exit 0" "$rc" 0
expect_in "shards on every core but CPU 0's, one thread each" 'shard CPUs:        1-3   (from every core but CPU 0' "$out"
expect_in "housekeeping: CPU 0's core" 'housekeeping CPUs: 0,4' "$out"
expect_in "isolation missing" 'isolcpus does not cover CPU 1-3,5-7' "$out"
expect_in "advice without grub file" 'isolcpus=managed_irq,domain,1-3,5-7 nohz_full=1-3,5-7 rcu_nocbs=1-3,5-7 irqaffinity=0,4 transparent_hugepage=madvise' "$out"
expect_in "adaptive until isolated" 'idle = "adaptive"' "$out"
expect_in "plain host: config key" 'cpus = "1-3"' "$out"
run "$B" --shard-cpus 2,6
expect_in "shards sharing a core are flagged" 'CPU 6 share a core with another shard CPU' "$out"
run "$B" --shard-cpus 9
expect_eq "offline shard CPU: exit 2" "$rc" 2
expect_in "offline shard CPU: message" 'CPU 9 not online' "$out"
run "$B" --shard-cpus 0-7
expect_eq "no housekeeping CPU left: exit 2" "$rc" 2
run "$B" --stop-irqbalance
expect_in "--stop-irqbalance" '$ systemctl disable --now irqbalance' "$out"

# ---- more than 32 CPUs: masks in 32-bit groups
C=$work/big
put "$C/proc/cmdline" "ro quiet"
put "$C/sys/devices/system/cpu/online" "0-39"
put "$C/proc/irq/default_smp_affinity" "ff,ffffffff"
put "$C/proc/irq/30/smp_affinity_list" "0-39"
run "$C" --shard-cpus 1-3 --apply
expect_eq "40 CPUs: exit 0" "$rc" 0
expect_eq "40 CPUs: default mask" "$(cat "$C/proc/irq/default_smp_affinity")" "ff,fffffff1"
expect_eq "40 CPUs: IRQ list" "$(cat "$C/proc/irq/30/smp_affinity_list")" "0,4-39"
run "$C" --shard-cpus 1-3
expect_in "40 CPUs: mask read back" 'ok      /proc/irq/default_smp_affinity = ff,fffffff1 (0,4-39)' "$out"

# ---- --apply without root, for real: refused before anything happens
if [[ $EUID -ne 0 ]]; then
  rc=0; out=$(env -u SLUICE_TUNE_ROOT bash "$script" --apply 2>&1) || rc=$?
elif command -v setpriv >/dev/null; then
  rc=0; out=$(env -u SLUICE_TUNE_ROOT setpriv --reuid=65534 --regid=65534 --clear-groups bash "$script" --apply 2>&1) || rc=$?
else
  rc=1 out="run it as root (skipped: no setpriv)"
fi
expect_eq "--apply without root: exit 1" "$rc" 1
expect_in "--apply without root: message" 'run it as root' "$out"

echo "$((checks - failures)) of $checks checks passed"
((failures == 0))
