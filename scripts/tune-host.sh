#!/usr/bin/env bash
# Prepares a host for `sluice run` with pinned, busy-polling shards, and prints the CPU list to
# put in the config. Dry run by default: every change is printed as the command or file write
# that makes it, with the current and the new value; nothing is written. `--apply` makes the
# changes (as root). What only a reboot or the firmware can change (kernel command line, BIOS) is
# printed as advice, with the exact GRUB line.
#
#   scripts/tune-host.sh                          # what would change, and the CPU list
#   sudo scripts/tune-host.sh --apply --shard-cpus 2-5 --hugepages 1024 --user sluice
#
# Sections: 1 CPU frequency and clock, 2 isolated CPUs (kernel command line), 3 IRQs and
# irqbalance, 4 network and kernel sysctls, 5 transparent huge pages, 6 hugepages for DPDK,
# 7 locked-memory and open-file limits, 8 the `[shards]` lines for the config.
#
# Runtime settings (governor, IRQ affinity, THP, hugepages) do not survive a reboot; sysctls are
# also written to /etc/sysctl.d/60-sluice.conf and the limits to /etc/security/limits.d/sluice.conf.
# config/sluice.service shows how to re-apply the rest before sluice starts (ExecStartPre=+).
#
# SLUICE_TUNE_ROOT=DIR prefixes every /proc, /sys, /etc and /boot path (tests run the script
# against a fake tree, tests/scripts/tune_host_test.sh); commands such as systemctl and mount
# are then printed but never run, and --apply does not need root.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/tune-host.sh [--apply] [options]

Checks and tunes this host for sluice's pinned, busy-polling shards. Without --apply it only
prints what it would change (no root needed, nothing written).

  --apply             make the changes (root required)
  --shard-cpus LIST   CPUs for the shards, e.g. 2-5 or 2,4,6. Default: the CPUs isolated on the
                      kernel command line (isolcpus, else nohz_full), else every core but CPU 0's;
                      one logical CPU per physical core (the SMT sibling is left idle)
  --hugepages N       2 MiB hugepages to reserve for DPDK (default 0: leave hugepages alone)
  --rmem BYTES        net.core.rmem_max and rmem_default (default 32M); K/M/G suffixes = KiB/MiB/GiB
  --wmem BYTES        net.core.wmem_max and wmem_default (default 8M)
  --busy-poll US      net.core.busy_poll and busy_read in microseconds (default 50; 0 turns it off)
  --user NAME         write memlock/nofile limits for NAME to /etc/security/limits.d/sluice.conf
                      (for running sluice from a login shell; the systemd unit sets its own)
  --stop-irqbalance   stop and disable irqbalance instead of banning the shard CPUs in its config
  -h, --help          this text

Exit status: 0 done (dry run: nothing to report), 1 a change failed or the host cannot be tuned
(--apply without root), 2 usage error.
EOF
}

die_usage() { echo "tune-host: $*" >&2; echo "try 'scripts/tune-host.sh --help'" >&2; exit 2; }
die() { echo "tune-host: $*" >&2; exit 1; }

# ---------------------------------------------------------------- options
apply=0
shard_arg=""
hugepages=0
rmem_arg="32M"
wmem_arg="8M"
busy_poll=50
limits_user=""
stop_irqbalance=0

need_arg() { [[ $# -ge 2 && -n $2 ]] || die_usage "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --apply) apply=1 ;;
    --shard-cpus) need_arg "$@"; shard_arg=$2; shift ;;
    --shard-cpus=*) shard_arg=${1#*=} ;;
    --hugepages) need_arg "$@"; hugepages=$2; shift ;;
    --hugepages=*) hugepages=${1#*=} ;;
    --rmem) need_arg "$@"; rmem_arg=$2; shift ;;
    --rmem=*) rmem_arg=${1#*=} ;;
    --wmem) need_arg "$@"; wmem_arg=$2; shift ;;
    --wmem=*) wmem_arg=${1#*=} ;;
    --busy-poll) need_arg "$@"; busy_poll=$2; shift ;;
    --busy-poll=*) busy_poll=${1#*=} ;;
    --user) need_arg "$@"; limits_user=$2; shift ;;
    --user=*) limits_user=${1#*=} ;;
    --stop-irqbalance) stop_irqbalance=1 ;;
    -h | --help) usage; exit 0 ;;
    *) die_usage "unknown option '$1'" ;;
  esac
  shift
done

# BYTES with an optional K/M/G suffix (powers of 1024) -> bytes.
parse_size() {
  local name=$1 text=$2 n mult=1
  case $text in
    *[kK]) mult=1024; n=${text%?} ;;
    *[mM]) mult=$((1024 * 1024)); n=${text%?} ;;
    *[gG]) mult=$((1024 * 1024 * 1024)); n=${text%?} ;;
    *) n=$text ;;
  esac
  [[ $n =~ ^[0-9]{1,10}$ ]] || die_usage "$name: expected a size in bytes (e.g. 33554432 or 32M), got '$text'"
  n=$((10#$n * mult))
  # The kernel keeps these as int; below 64 KiB is smaller than its own defaults.
  ((n >= 65536 && n <= 2147483647)) || die_usage "$name: $text is outside 64K .. 2147483647"
  echo "$n"
}
rmem=$(parse_size --rmem "$rmem_arg")
wmem=$(parse_size --wmem "$wmem_arg")
[[ $busy_poll =~ ^[0-9]{1,7}$ ]] || die_usage "--busy-poll: expected microseconds, got '$busy_poll'"
busy_poll=$((10#$busy_poll))
[[ $hugepages =~ ^[0-9]{1,9}$ ]] || die_usage "--hugepages: expected a count of 2 MiB pages, got '$hugepages'"
hugepages=$((10#$hugepages))
if [[ -n $limits_user && ! $limits_user =~ ^[a-z_][a-z0-9_.-]*[$]?$ ]]; then
  die_usage "--user: '$limits_user' is not a user name"
fi

ROOT=${SLUICE_TUNE_ROOT:-}
ROOT=${ROOT%/}
if [[ -n $ROOT && ! -d $ROOT ]]; then die "SLUICE_TUNE_ROOT=$ROOT is not a directory"; fi
if ((apply)) && [[ -z $ROOT && $EUID -ne 0 ]]; then
  die "--apply changes kernel settings and files under /etc: run it as root (sudo $0 --apply ...), or without --apply to see the changes"
fi

# ---------------------------------------------------------------- CPU lists and masks
# Lists are the kernel's syntax ("0-3,8"); sets are space-separated sorted numbers ("0 1 2 3 8").

# list -> set; fails on anything but numbers and ranges.
expand_list() {
  local text=$1 part a b i
  local -a parts out=()
  text=${text//[[:space:]]/}
  [[ -z $text ]] && return 0
  [[ $text =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]] || return 1
  IFS=, read -ra parts <<<"$text"
  for part in "${parts[@]}"; do
    if [[ $part == *-* ]]; then a=$((10#${part%-*})) b=$((10#${part#*-})); else a=$((10#$part)) b=$a; fi
    ((a <= b)) || return 1
    for ((i = a; i <= b; i++)); do out+=("$i"); done
  done
  printf '%s\n' "${out[@]}" | sort -n -u | paste -sd ' ' -
}

# set -> list ("1 2 3 5" -> "1-3,5").
compress_list() {
  local text="" start="" prev="" c
  for c in $1 end; do
    if [[ $c != end && -n $prev && $c -eq $((prev + 1)) ]]; then prev=$c; continue; fi
    if [[ -n $start ]]; then
      text+="${text:+,}$start"
      if [[ $prev != "$start" ]]; then text+="-$prev"; fi
    fi
    start=$c prev=$c
  done
  printf '%s' "$text"
}

in_set() { [[ " $2 " == *" $1 "* ]]; }
set_minus() { local c out=(); for c in $1; do in_set "$c" "$2" || out+=("$c"); done; printf '%s' "${out[*]}"; }
set_and() { local c out=(); for c in $1; do in_set "$c" "$2" && out+=("$c"); done; printf '%s' "${out[*]}"; }
# shellcheck disable=SC2086 # the sets are meant to split into words
set_union() { printf '%s\n' $1 $2 | sed '/^$/d' | sort -n -u | paste -sd ' ' -; }
is_subset() { [[ -z $(set_minus "$1" "$2") ]]; }

# Hex CPU mask as in /proc/irq/default_smp_affinity ("ff", "00000001,ffffffff") -> set.
mask_to_set() {
  local text=${1//[[:space:]]/} out=() g base=0 v b i
  local -a groups
  [[ $text =~ ^[0-9a-fA-F,]*$ ]] || return 1
  IFS=, read -ra groups <<<"$text"
  for ((i = ${#groups[@]} - 1; i >= 0; i--)); do
    g=${groups[i]}
    v=$((16#${g:-0}))
    for ((b = 0; b < 32; b++)); do (((v >> b) & 1)) && out+=($((base + b))); done
    base=$((base + 32))
  done
  printf '%s\n' "${out[@]}" | sort -n | paste -sd ' ' -
}

# set -> hex mask in the kernel's format (32-bit groups, comma-separated).
set_to_mask() {
  local max=0 c ngroups g v hex=""
  for c in $1; do ((c > max)) && max=$c; done
  ngroups=$((max / 32 + 1))
  for ((g = ngroups - 1; g >= 0; g--)); do
    v=0
    for c in $1; do ((c / 32 == g)) && v=$((v | (1 << (c % 32)))); done
    if [[ -z $hex ]]; then hex=$(printf '%x' "$v"); else hex+=$(printf ',%08x' "$v"); fi
  done
  printf '%s' "$hex"
}

# ---------------------------------------------------------------- reading the host
SYS=$ROOT/sys
PROC=$ROOT/proc

# First line of a file, empty when it is missing or unreadable.
read_first() {
  local v=""
  [[ -r $1 ]] && { IFS= read -r v <"$1" || true; }
  printf '%s' "$v"
}

# The value of a kernel command-line parameter (the last one wins), or nothing.
cmdline=$(read_first "$PROC/cmdline")
cmdline=${cmdline%% -- *}
cmdline_param() {
  local w v="" found=1
  for w in $cmdline; do
    if [[ $w == "$1="* ]]; then v=${w#*=}; found=0; fi
  done
  printf '%s' "$v"
  return $found
}

# isolcpus=[flags,]LIST: drop the flags (nohz, domain, managed_irq).
cpu_list_of_param() {
  local v part list=""
  local -a parts
  v=$(cmdline_param "$1") || return 0
  if [[ $v == all ]]; then printf '%s' "$online"; return 0; fi
  IFS=, read -ra parts <<<"$v"
  for part in "${parts[@]}"; do [[ $part =~ ^[0-9] ]] && list+="${list:+,}$part"; done
  expand_list "$list" || echo "?"
}

online=$(expand_list "$(read_first "$SYS/devices/system/cpu/online")") || online=""
if [[ -z $online ]]; then
  n=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
  online=$(seq 0 $((n - 1)) | paste -sd ' ' -)
fi

siblings_of() {
  local s
  s=$(expand_list "$(read_first "$SYS/devices/system/cpu/cpu$1/topology/thread_siblings_list")") || s=""
  printf '%s' "${s:-$1}"
}

# One logical CPU per physical core: the first of each core's threads in the set.
one_per_core() {
  local c seen="" out=()
  for c in $1; do
    in_set "$c" "$seen" && continue
    out+=("$c")
    seen="$seen $(siblings_of "$c")"
  done
  printf '%s' "${out[*]}"
}

sys_isolated=$(expand_list "$(read_first "$SYS/devices/system/cpu/isolated")") || sys_isolated=""
sys_nohz=$(expand_list "$(read_first "$SYS/devices/system/cpu/nohz_full")") || sys_nohz=""
cmd_isolcpus=$(cpu_list_of_param isolcpus)
cmd_nohz=$(cpu_list_of_param nohz_full)
cmd_rcu=$(cpu_list_of_param rcu_nocbs)
cmd_irqaff=$(cpu_list_of_param irqaffinity)

# ---------------------------------------------------------------- choosing the CPUs
# S: shard CPUs. R: the cores they own (S and its SMT siblings), kept free of everything else.
# H: housekeeping CPUs (the OS, IRQs, sluice's control thread) = online - R.
shard_source=""
if [[ -n $shard_arg ]]; then
  S=$(expand_list "$shard_arg") || die_usage "--shard-cpus: '$shard_arg' is not a CPU list (e.g. 2-5 or 2,4,6)"
  [[ -n $S ]] || die_usage "--shard-cpus: empty list"
  bad=$(set_minus "$S" "$online")
  [[ -z $bad ]] || die_usage "--shard-cpus: CPU $(compress_list "$bad") not online (online: $(compress_list "$online"))"
  shard_source="--shard-cpus"
else
  isolated_hint=${sys_isolated:-$cmd_isolcpus}
  [[ $isolated_hint == "?" ]] && isolated_hint=""
  isolated_hint=${isolated_hint:-${sys_nohz:-$cmd_nohz}}
  [[ $isolated_hint == "?" ]] && isolated_hint=""
  isolated_hint=$(set_and "$isolated_hint" "$online")
  if [[ -n $isolated_hint ]]; then
    S=$(one_per_core "$isolated_hint")
    shard_source="the isolated CPUs on the kernel command line"
  else
    S=$(one_per_core "$(set_minus "$online" "$(siblings_of 0)")")
    shard_source="every core but CPU 0's"
  fi
fi

if [[ -z $S ]]; then
  echo "tune-host: this host has one core ($(compress_list "$online")): nothing to pin shards to."
  echo "Leave [shards] cpus unset and keep idle = \"adaptive\" (config/README.md)."
  exit 0
fi

R=$S
for c in $S; do R=$(set_union "$R" "$(siblings_of "$c")"); done
R=$(set_and "$R" "$online")
H=$(set_minus "$online" "$R")
if [[ -z $H ]]; then
  # The shards' SMT siblings are all that is left: they have to do the housekeeping.
  H=$(set_minus "$online" "$S")
  R=$S
fi
[[ -n $H ]] || die_usage "--shard-cpus $(compress_list "$S") leaves no CPU for the OS and sluice's control thread (online: $(compress_list "$online"))"

Sl=$(compress_list "$S") Rl=$(compress_list "$R") Hl=$(compress_list "$H")
all_sluice=$(compress_list "$(set_union "$H" "$S")")

# ---------------------------------------------------------------- printing and changing
changes=0 applied=0 failed=0 refused=0 advice=0
grub_extra=()

section() { printf '\n== %s\n' "$*"; }
ok() { printf '  ok      %s\n' "$*"; }
note() {
  printf '  note    %s\n' "$1"; shift
  local l; for l in "$@"; do printf '          %s\n' "$l"; done
}
advise() {
  advice=$((advice + 1))
  printf '  advice  %s\n' "$1"; shift
  local l; for l in "$@"; do printf '          %s\n' "$l"; done
}
change() { changes=$((changes + 1)); printf '  change  %s\n' "$*"; }
show() { printf '          %s\n' "$*"; }

# set_value LABEL PATH NEW [refusable]: PATH (absolute, without the root prefix) gets NEW.
# The current value is read from the file; "refusable" marks writes the kernel may reject
# for a good reason (managed and per-CPU interrupts).
set_value() {
  local label=$1 path=$2 new=$3 kind=${4:-} cur err
  cur=$(read_first "$ROOT$path")
  if [[ $cur == "$new" ]]; then ok "$label = $cur"; return 0; fi
  change "$label: ${cur:-(empty)} -> $new"
  show "\$ echo $new > $path"
  ((apply)) || return 0
  if err=$( { printf '%s\n' "$new" >"$ROOT$path"; } 2>&1); then
    applied=$((applied + 1))
  elif [[ $kind == refusable ]]; then
    refused=$((refused + 1))
    show "refused by the kernel (${err##*: }): a managed or per-CPU interrupt; isolcpus=managed_irq keeps managed ones off the shard CPUs"
  else
    failed=$((failed + 1))
    show "FAILED: ${err##*: }"
  fi
}

# write_file PATH CONTENT: a whole (small) config file.
write_file() {
  local path=$1 content=$2 file=$ROOT$1 cur="" what="new file" tmp l
  if [[ -f $file ]]; then cur=$(cat "$file"); what="rewrite"; fi
  content=${content%$'\n'}
  if [[ $cur == "$content" ]]; then ok "$path is up to date"; return 0; fi
  change "$path ($what)"
  show "\$ cat > $path <<'EOF'"
  while IFS= read -r l; do printf '          %s\n' "$l"; done <<<"$content"
  show "EOF"
  ((apply)) || return 0
  tmp="$file.tune-host.$$"
  if mkdir -p "$(dirname "$file")" && printf '%s\n' "$content" >"$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$file"; then
    applied=$((applied + 1))
  else
    rm -f "$tmp"
    failed=$((failed + 1))
    show "FAILED: cannot write $path"
  fi
}

# run_cmd CMD...: a command that makes a change (printed by the caller with change()).
run_cmd() {
  show "\$ $*"
  ((apply)) || return 0
  if [[ -n $ROOT ]]; then show "(not run: SLUICE_TUNE_ROOT is set)"; return 0; fi
  if "$@"; then applied=$((applied + 1)); else failed=$((failed + 1)); show "FAILED: $*"; fi
}

# ---------------------------------------------------------------- header
if ((apply)); then
  echo "sluice tune-host: applying changes"
else
  echo "sluice tune-host: dry run (nothing is changed; run with --apply as root to make the changes below)"
fi
[[ -z $ROOT ]] || echo "SLUICE_TUNE_ROOT=$ROOT: every path below is read and written under it"
nodes=()
for d in "$SYS"/devices/system/node/node[0-9]*; do [[ -d $d ]] && nodes+=("${d##*/node}"); done
smt=$(read_first "$SYS/devices/system/cpu/smt/active")
echo "host: $(wc -w <<<"$online") CPUs online ($(compress_list "$online")), ${#nodes[@]} NUMA node(s), SMT $([[ $smt == 1 ]] && echo on || echo off), kernel $(uname -r)"
echo "shard CPUs:        $Sl   (from $shard_source)"
[[ $R == "$S" ]] || echo "their cores:       $Rl   (SMT siblings left idle, kept off limits like the shard CPUs)"
echo "housekeeping CPUs: $Hl   (the OS, interrupts, sluice's control thread)"
shared_core=$(set_minus "$S" "$(one_per_core "$S")")
if [[ -n $shared_core ]]; then
  echo "  CPU $(compress_list "$shared_core") share a core with another shard CPU: two busy shards split one core's execution units"
fi
if ((${#nodes[@]} > 1)); then
  for n in "${nodes[@]}"; do
    ncpus=$(expand_list "$(read_first "$SYS/devices/system/node/node$n/cpulist")") || ncpus=""
    in_node=$(set_and "$S" "$ncpus")
    [[ -n $in_node ]] && echo "  NUMA node $n: shards on $(compress_list "$in_node")"
  done
  echo "  keep the shards on the NIC's node: cat /sys/class/net/IFACE/device/numa_node"
fi

# ---------------------------------------------------------------- 1. CPU frequency, idle states, clock
section "1. CPU frequency governor, idle states, clocksource"
# "performance" keeps every core at its highest frequency instead of ramping up after a burst
# starts; a busy-polling shard looks busy anyway, but the housekeeping CPUs (interrupts, softirq
# receive processing) and adaptive-idle shards do not.
gov_files=()
for c in $online; do
  f=$SYS/devices/system/cpu/cpu$c/cpufreq/scaling_governor
  [[ -e $f ]] && gov_files+=("$c")
done
if ((${#gov_files[@]} == 0)); then
  ok "no cpufreq here (/sys/devices/system/cpu/cpu*/cpufreq absent: usual on VMs, where the hypervisor owns the frequency): nothing to set"
else
  avail=$(read_first "$SYS/devices/system/cpu/cpu${gov_files[0]}/cpufreq/scaling_available_governors")
  if [[ -n $avail && " $avail " != *" performance "* ]]; then
    advise "the cpufreq driver offers no 'performance' governor (available: $avail)"
  else
    for c in "${gov_files[@]}"; do
      set_value "cpu$c governor" "/sys/devices/system/cpu/cpu$c/cpufreq/scaling_governor" performance
    done
  fi
fi
advise "firmware (BIOS/UEFI), which no script can set: choose the maximum-performance power profile," \
  "disable C-states deeper than C1 (and C1E), and keep the NIC and the shard CPUs on one NUMA node." \
  "Busy shards never idle; the housekeeping CPUs that take interrupts wake faster from C1."
cs=$(read_first "$SYS/devices/system/clocksource/clocksource0/current_clocksource")
if [[ -z $cs ]]; then
  note "clocksource unknown (no /sys/devices/system/clocksource)"
elif [[ $cs == tsc ]]; then
  ok "clocksource = tsc (clock_gettime stays in the vDSO)"
else
  advise "clocksource is '$cs', not tsc: every clock read sluice makes is slower." \
    "On bare metal see why the kernel rejected the TSC: dmesg | grep -i tsc"
fi

# ---------------------------------------------------------------- 2. isolated CPUs
section "2. Isolated CPUs (kernel command line)"
showp() {
  local v
  if v=$(cmdline_param "$1"); then printf '%s=%s' "$1" "$v"; else printf '%s (not set)' "$1"; fi
}
or_none() { if [[ -n $1 ]]; then compress_list "$1"; else printf '(none)'; fi; }
note "/proc/cmdline: $(showp isolcpus), $(showp nohz_full), $(showp rcu_nocbs), $(showp irqaffinity)"
if [[ -e $SYS/devices/system/cpu/nohz_full ]]; then
  note "the kernel reports: isolated $(or_none "$sys_isolated"), nohz_full $(or_none "$sys_nohz")"
else
  note "the kernel reports: isolated $(or_none "$sys_isolated") (/sys/devices/system/cpu/isolated)"
fi
# isolcpus=managed_irq,domain: no scheduler load balancing onto these CPUs and managed (driver
#   multi-queue) interrupts kept off them; nohz_full: no scheduler tick while one task runs;
#   rcu_nocbs: RCU callbacks run on housekeeping CPUs; irqaffinity: default IRQ affinity at boot.
isolation_ok=1 advise_isolation=0
check_param() {
  local name=$1 have=$2 missing
  if [[ $have == "?" ]]; then advise "cannot parse $name= on the kernel command line"; isolation_ok=0; return; fi
  missing=$(set_minus "$R" "$have")
  if [[ -z $missing ]]; then ok "$name covers $Rl"; else
    note "$name does not cover CPU $(compress_list "$missing")"; isolation_ok=0
  fi
}
check_param isolcpus "${sys_isolated:-$cmd_isolcpus}"
check_param nohz_full "${sys_nohz:-$cmd_nohz}"
check_param rcu_nocbs "$cmd_rcu"
if [[ -n $cmd_irqaff ]] && ! is_subset "$cmd_irqaff" "$H"; then
  note "irqaffinity=$(compress_list "$cmd_irqaff") includes shard CPUs"; isolation_ok=0
elif [[ -z $cmd_irqaff ]]; then
  note "irqaffinity not set: interrupts may start on any CPU until section 3 moves them"; isolation_ok=0
else
  ok "irqaffinity=$(compress_list "$cmd_irqaff") starts interrupts on housekeeping CPUs"
fi
shards_isolated=0
is_subset "$S" "${sys_isolated:-$cmd_isolcpus}" && [[ $cmd_isolcpus != "?" ]] && shards_isolated=1
if [[ ! -e $SYS/devices/system/cpu/nohz_full ]]; then
  note "this kernel shows no /sys/devices/system/cpu/nohz_full: if it lacks CONFIG_NO_HZ_FULL," \
    "nohz_full= is ignored (isolcpus and rcu_nocbs still work)"
fi
if ((isolation_ok == 0)); then
  advise_isolation=1
  grub_extra+=("isolcpus=managed_irq,domain,$Rl" "nohz_full=$Rl" "rcu_nocbs=$Rl" "irqaffinity=$Hl")
fi
if [[ $shard_source == "every core but CPU 0's" ]]; then
  note "no CPUs are isolated yet: the shard CPUs above are a proposal; pass --shard-cpus to choose others"
fi
if in_set 0 "$S"; then
  note "CPU 0 takes the timer and interrupts that cannot move: prefer other CPUs for shards"
fi

# ---------------------------------------------------------------- 3. IRQs
section "3. Interrupts off the shard CPUs (IRQs to $Hl)"
# Every device interrupt, and the softirq network processing it triggers, runs on the CPU the
# IRQ is routed to: on a shard CPU it steals the busy loop's time and evicts its cache.
irqbalance_installed=0 irqbalance_running=0
[[ -x $ROOT/usr/sbin/irqbalance || -f $ROOT/etc/default/irqbalance ]] && irqbalance_installed=1
if [[ -z $ROOT ]] && command -v pgrep >/dev/null && pgrep -x irqbalance >/dev/null 2>&1; then
  irqbalance_running=1 irqbalance_installed=1
fi
if ((irqbalance_installed == 0)); then
  ok "irqbalance not installed (nothing moves IRQs back)"
elif ((stop_irqbalance)); then
  change "irqbalance: $( ((irqbalance_running)) && echo running || echo installed) -> stopped and disabled"
  run_cmd systemctl disable --now irqbalance
else
  # irqbalance (1.8+) never places an IRQ on a banned CPU, and keeps balancing the rest.
  note "irqbalance $( ((irqbalance_running)) && echo is running || echo is installed): it would move IRQs back," \
    "so the shard cores are banned in its config (--stop-irqbalance stops it instead)"
  ib_file=/etc/default/irqbalance
  ib_cur=""
  [[ -f $ROOT$ib_file ]] && ib_cur=$(cat "$ROOT$ib_file")
  ib_new=$(awk -v line="IRQBALANCE_BANNED_CPULIST=$Rl" '
    /^[[:space:]]*IRQBALANCE_BANNED_CPULIST=/ { if (!done) print line; done = 1; next }
    { print }
    END { if (!done) print line }' <<<"$ib_cur")
  before=$(grep -E '^[[:space:]]*IRQBALANCE_BANNED_CPULIST=' <<<"$ib_cur" | tail -n1 || true)
  if [[ $ib_new != "$ib_cur" ]]; then
    write_file "$ib_file" "$ib_new"
    [[ -n $before ]] && show "(was: $before)"
    if ((irqbalance_running)); then
      change "irqbalance: restart to read the banned CPUs"
      run_cmd systemctl restart irqbalance
    fi
  else
    ok "$ib_file bans $Rl"
  fi
  if grep -qE '^[[:space:]]*IRQBALANCE_BANNED_CPUS=' <<<"$ib_new"; then
    advise "$ib_file also sets IRQBALANCE_BANNED_CPUS (a hex mask): remove it, IRQBALANCE_BANNED_CPULIST replaces it"
  fi
fi

declare -A irq_name=()
if [[ -r $PROC/interrupts ]]; then
  while read -r num name; do irq_name[$num]=$name; done < <(awk '$1 ~ /^[0-9]+:$/ { sub(":", "", $1); print $1, $NF }' "$PROC/interrupts")
fi
irq_ok=0 irq_seen=0
for d in "$PROC"/irq/[0-9]*; do
  [[ -r $d/smp_affinity_list ]] || continue
  irq=${d##*/}
  irq_seen=$((irq_seen + 1))
  cur=$(expand_list "$(read_first "$d/smp_affinity_list")") || continue
  if [[ -z $(set_and "$cur" "$R") ]]; then irq_ok=$((irq_ok + 1)); continue; fi
  # Keep the IRQ's own spread where it overlaps the housekeeping CPUs (multi-queue NICs).
  new=$(set_and "$cur" "$H")
  new=${new:-$H}
  set_value "IRQ $irq${irq_name[$irq]:+ (${irq_name[$irq]})} smp_affinity_list" "/proc/irq/$irq/smp_affinity_list" "$(compress_list "$new")" refusable
done
if ((irq_seen == 0)); then
  note "no /proc/irq/*/smp_affinity_list readable"
elif ((irq_ok > 0)); then
  ok "$irq_ok of $irq_seen IRQs already avoid $Rl"
fi
# New IRQs (a NIC brought up later) start from default_smp_affinity; unbound kernel workqueues
# run where this mask allows.
for mf in /proc/irq/default_smp_affinity /sys/devices/virtual/workqueue/cpumask; do
  [[ -r $ROOT$mf ]] || continue
  cur_set=$(mask_to_set "$(read_first "$ROOT$mf")") || cur_set="?"
  if [[ $cur_set == "$H" ]]; then
    ok "$mf = $(read_first "$ROOT$mf") ($Hl)"
  else
    set_value "$mf ($(compress_list "$cur_set") -> $Hl)" "$mf" "$(set_to_mask "$H")"
  fi
done
# Receive packet steering: if configured, it hands softirq receive work to the CPUs in rps_cpus.
for f in "$SYS"/class/net/*/queues/rx-*/rps_cpus; do
  [[ -r $f ]] || continue
  cur_set=$(mask_to_set "$(read_first "$f")") || continue
  [[ -n $(set_and "$cur_set" "$R") ]] || continue
  new=$(set_and "$cur_set" "$H")
  new=${new:-$H}
  p=${f#"$ROOT"}
  set_value "$p ($(compress_list "$cur_set") -> $(compress_list "$new"))" "$p" "$(set_to_mask "$new")"
done

# ---------------------------------------------------------------- 4. sysctls
section "4. Network and kernel sysctls (now, and in /etc/sysctl.d/60-sluice.conf for the next boot)"
# key value why, one per line. Only settings that help sluice; each is explained in the file.
sysctls=(
  "net.core.busy_poll|$busy_poll|poll()/select()/epoll busy-poll the NIC's receive queue for up to this many us before sleeping (sockets fed by a NIC with NAPI; loopback has none)."
  "net.core.busy_read|$busy_poll|Sockets created after this is set busy-poll the NIC queue on a blocking recv() for up to this many us; a non-blocking receive on an empty socket (io_uring's first attempt) polls it once. io_uring's own NAPI busy polling needs kernel 6.9 and liburing 2.6; sluice's shards spin themselves (idle = \"busy\"). Set before sluice starts."
  "net.core.rmem_max|$rmem|Ceiling for SO_RCVBUF."
  "net.core.rmem_default|$rmem|Receive buffer of every UDP socket that does not set SO_RCVBUF (a sluice source without receive_buffer_bytes): each shard's SO_REUSEPORT socket queues up to this much (counted with kernel overhead, about twice the payload) while the shard is busy; what overflows is the per-source kernel_dropped count. 32 MiB holds ~13 ms of a 10 Gb/s stream. Memory is used only while datagrams wait."
  "net.core.wmem_max|$wmem|Ceiling for SO_SNDBUF."
  "net.core.wmem_default|$wmem|Send buffer of sluice's UDP sink sockets: room for bursts of result datagrams waiting for the NIC."
  "net.core.netdev_max_backlog|16384|Per-CPU queue of received packets waiting for protocol processing (RPS, loopback, veth); the default 1000 drops bursts (second column of /proc/net/softnet_stat)."
  "kernel.numa_balancing|0|Automatic NUMA balancing unmaps pages to sample accesses and migrates them; shards are pinned and allocate on their own node, so it only adds page faults."
  "kernel.io_uring_disabled|0|Kernels 6.6+ can turn io_uring off (1: only for io_uring_group, 2: for everyone); sluice needs it."
)
# Not set, on purpose: net.ipv4.tcp_rmem/tcp_wmem (TCP autotunes up to their maxima, 6 MiB and
# more by default: ample on a LAN), kernel.sched_rt_runtime_us (sluice uses no real-time
# scheduling), vm.swappiness (an appliance should have no swap at all).
conf="# Written by sluice scripts/tune-host.sh. Applied at boot by systemd-sysctl."
for entry in "${sysctls[@]}"; do
  IFS='|' read -r key val why <<<"$entry"
  path=/proc/sys/${key//./\/}
  if [[ ! -e $ROOT$path ]]; then
    [[ $key == kernel.io_uring_disabled || $key == kernel.numa_balancing ]] || note "$key: not in this kernel, skipped"
    continue
  fi
  conf+=$'\n'"$(fold -s -w 94 <<<"$why" | sed 's/ *$//; s/^/# /')"$'\n'"$key = $val"
  set_value "$key" "$path" "$val"
done
write_file /etc/sysctl.d/60-sluice.conf "$conf"

# ---------------------------------------------------------------- 5. THP
section "5. Transparent huge pages"
# "always" lets khugepaged rewrite sluice's memory in the background and the page-fault path
# compact memory, at times nobody chose: latency spikes. sluice allocates its rings and tables
# once, at start; "madvise" gives huge pages only to memory that asks for them (madvise), and
# DPDK uses hugetlbfs (section 6), which THP does not touch.
thp=/sys/kernel/mm/transparent_hugepage/enabled
if [[ -r $ROOT$thp ]]; then
  raw=$(read_first "$ROOT$thp")
  cur=$raw
  [[ $raw =~ \[([a-z]+)\] ]] && cur=${BASH_REMATCH[1]}
  case $cur in
    madvise | never) ok "transparent_hugepage = $cur ($raw)" ;;
    *)
      change "transparent_hugepage: $cur -> madvise ($raw)"
      show "\$ echo madvise > $thp"
      if ((apply)); then
        if printf 'madvise\n' >"$ROOT$thp" 2>/dev/null; then applied=$((applied + 1)); else failed=$((failed + 1)); show "FAILED"; fi
      fi
      grub_extra+=("transparent_hugepage=madvise")
      ;;
  esac
else
  note "no $thp (kernel without THP)"
fi

# ---------------------------------------------------------------- 6. hugepages
section "6. Hugepages for DPDK (2 MiB)"
hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
hp_cur=$(read_first "$ROOT$hp")
hp_mount=$(awk '$3 == "hugetlbfs" { print $2; exit }' "$PROC/mounts" 2>/dev/null || true)
if ((hugepages == 0)); then
  ok "skipped (--hugepages 0; only a DPDK build needs them): ${hp_cur:-0} reserved, hugetlbfs ${hp_mount:-not mounted}"
elif [[ ! -e $ROOT$hp ]]; then
  advise "this kernel has no 2 MiB hugepages ($hp missing)"
else
  # Reserving at run time needs 2 MiB of contiguous free memory per page: it can fall short on a
  # host that has run a while; a boot-time reservation (GRUB line below) always works.
  if ((hp_cur >= hugepages)); then
    ok "nr_hugepages = $hp_cur (>= $hugepages)"
  else
    set_value "nr_hugepages (2 MiB)" "$hp" "$hugepages"
    if ((apply)); then
      got=$(read_first "$ROOT$hp")
      if ((got < hugepages)); then
        advise "the kernel reserved only $got of $hugepages pages (memory is fragmented): reserve them at boot (GRUB line)"
      fi
    fi
  fi
  boot_pages=$(cmdline_param hugepages || true)
  if [[ ! $boot_pages =~ ^[0-9]+$ ]] || ((boot_pages < hugepages)); then
    grub_extra+=("hugepagesz=2M" "hugepages=$hugepages")
  fi
  if ((${#nodes[@]} > 1)); then
    note "pages are spread over the NUMA nodes; DPDK wants them on the NIC's node:" \
      "/sys/devices/system/node/nodeN/hugepages/hugepages-2048kB/nr_hugepages"
  fi
  if [[ -n $hp_mount ]]; then
    ok "hugetlbfs mounted on $hp_mount"
  else
    change "hugetlbfs: not mounted -> mounted on /dev/hugepages (systemd's dev-hugepages.mount does this at boot)"
    run_cmd mkdir -p /dev/hugepages
    run_cmd mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
  fi
  note "sluice as a non-root user needs write access to the mount (config/sluice.service, DPDK block)"
fi

# ---------------------------------------------------------------- 7. limits
section "7. Locked memory and open files"
# io_uring charges locked memory for its rings on kernels before 5.12 and for registered
# buffers on all; DPDK's VFIO pins its hugepages for DMA against the same limit. sluice says
# "raise RLIMIT_MEMLOCK" when a ring cannot be created. Each TCP connection is a file:
# max_connections per source per shard needs more than the usual 1024.
ml=$(ulimit -l) nf=$(ulimit -n)
note "this shell: memlock $ml$([[ $ml != unlimited ]] && echo " KiB") (ulimit -l), open files $nf (ulimit -n)"
note "systemd services do not read limits.d: config/sluice.service sets LimitMEMLOCK=infinity and LimitNOFILE"
if [[ -n $limits_user ]]; then
  if [[ -z $ROOT ]] && ! getent passwd "$limits_user" >/dev/null; then
    note "user '$limits_user' does not exist yet (the limits apply once it does)"
  fi
  write_file /etc/security/limits.d/sluice.conf "# Written by sluice scripts/tune-host.sh: sluice run by $limits_user from a login session.
# io_uring rings and registered buffers, and DPDK's DMA-mapped hugepages, are locked memory.
$limits_user soft memlock unlimited
$limits_user hard memlock unlimited
# One file per TCP connection ([[sources]] max_connections) and per socket.
$limits_user soft nofile 262144
$limits_user hard nofile 262144"
  [[ $ml == unlimited ]] || note "log in again as $limits_user for the limits to apply (check with: ulimit -l)"
else
  note "pass --user NAME to write /etc/security/limits.d/sluice.conf for a user who runs sluice by hand"
fi

# ---------------------------------------------------------------- kernel command line advice
if ((${#grub_extra[@]} > 0)); then
  section "Kernel command line (needs a reboot)"
  grub_file=$ROOT/etc/default/grub
  base=""
  if [[ -f $grub_file ]]; then
    base=$(grep -E '^GRUB_CMDLINE_LINUX_DEFAULT=' "$grub_file" | tail -n1 | cut -d= -f2- || true)
    base=${base#[\"\']} base=${base%[\"\']}
  fi
  # Keep what is there, except the parameters given a new value here.
  replaced=" "
  for w in "${grub_extra[@]}"; do replaced+="${w%%=*} "; done
  words=()
  for w in $base; do
    [[ $replaced == *" ${w%%=*} "* ]] || words+=("$w")
  done
  words+=("${grub_extra[@]}")
  if [[ -f $grub_file ]]; then
    advise "in /etc/default/grub, set:" \
      "GRUB_CMDLINE_LINUX_DEFAULT=\"${words[*]}\"" \
      "then: update-grub && reboot     (Fedora/RHEL: grub2-mkconfig -o /boot/grub2/grub.cfg)"
  else
    advise "no /etc/default/grub here: add to the kernel command line of this host's boot loader:" \
      "${grub_extra[*]}"
  fi
  if ((advise_isolation)); then
    note "isolcpus: no load balancing onto $Rl and managed interrupts kept off them; nohz_full: no" \
      "scheduler tick there while one task runs; rcu_nocbs: RCU callbacks elsewhere; irqaffinity:" \
      "interrupts start on $Hl"
  fi
fi

# ---------------------------------------------------------------- 8. the config
section "8. CPUs for sluice"
echo "Put this in the config's [shards] table (config/README.md):"
echo
echo "[shards]"
echo "cpus = \"$Sl\""
if ((shards_isolated)); then
  echo "idle = \"busy\""
else
  echo "idle = \"adaptive\"   # \"busy\" once the shard CPUs are isolated (section 2): a busy shard spins at 100%"
fi
echo
echo "sluice query:  --shards $(wc -w <<<"$S") --cpus $Sl"
echo "systemd unit:  CPUAffinity=$Hl   (config/sluice.service)"
echo "by hand:       taskset -c $Hl sluice run --config FILE"
echo "  The affinity is for the control thread: it belongs on the housekeeping CPUs. Shards pin"
echo "  themselves to the config's CPUs, which only the cgroup's cpuset limits (isolated CPUs included)."

# ---------------------------------------------------------------- summary
echo
if ((apply)); then
  echo "summary: $changes change(s): $applied applied, $refused refused by the kernel, $failed failed; $advice advice item(s) above"
  ((failed == 0)) || exit 1
else
  echo "summary: $changes change(s) to make with --apply; $advice advice item(s) above"
fi
