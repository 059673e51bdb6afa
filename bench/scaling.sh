#!/usr/bin/env bash
# How the throughput of patchcord's encrypted tunnel (WireGuard over UDP, TUN, every offload on)
# grows with its cipher threads, each tunnel end pinned to a CPU set of its own, so that a machine
# with cores to spare can show how the parallel packet path scales.
#
#   sudo bench/scaling.sh [SECONDS]        (default 10 seconds per measurement)
#
# Two private network namespaces joined by a veth pair, as in bench/throughput.sh (whose helpers,
# bench/lib/tunnels.sh, this shares). For each thread count N, both ends of `patchcord up` start
# afresh with PATCHCORD_CIPHER_THREADS=N (N cipher threads per direction, the packet loop's own
# included; see device/Offloads.java), the tunnel gets WARM_UP seconds of unmeasured TCP traffic,
# then iperf3 measures TCP with 1 and with 4 streams from A to B (Gbit/s received). The thread
# count is checked against what the tunnel's start-up line says it uses.
#
# CPU sets. The CPUs this script may run on are split in two halves: end A (its patchcord and the
# iperf3 client) on the first, end B (its patchcord and the iperf3 server) on the second, each by
# `taskset`, like two hosts that each run an application and a tunnel end. On a 2-core machine that
# is end A on CPU 0 and end B on CPU 1. The kernel's share of each packet (TCP, UDP, the veth)
# mostly runs on the CPU of the thread that sends it, so it stays on that end's set too, but
# interrupts and softirq work can land anywhere; nothing else on the machine is kept off the sets.
# With one CPU per end, more than one cipher thread can only time-share that CPU: such a machine
# shows what the hand-off between threads costs, not how the cipher scales.
#
# Environment:
#   THREADS="1 2 4"        thread counts to measure, 1 to 256 (default: 1 and the powers of two up to
#                          the CPUs of one end, and that number; at least 1 and 2)
#   CPUS_A=0 CPUS_B=1      the CPU sets (taskset -c lists) instead of the halves
#   WARM_UP=6              seconds of unmeasured TCP traffic through each tunnel first
#   PATCHCORD_JAVA_OPTS    JVM options for the patchcord processes (read by bin/patchcord)
#   PATCHCORD_EXTRA        lines added to both ends' [Interface] (separate lines with "\n"); an
#                          Offloads without parallel makes every count one thread
#
# Prints a markdown table on stdout (threads, TCP 1 and 4 streams in Gbit/s, each against 1 thread)
# and progress on stderr. Needs root, iproute2, iperf3, ping, taskset (util-linux) and coreutils.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
# shellcheck source=lib/tunnels.sh
. "$ROOT/bench/lib/tunnels.sh"
COMMAND_LINE=$(command_line "THREADS CPUS_A CPUS_B WARM_UP PATCHCORD_JAVA_OPTS PATCHCORD_EXTRA" "$0" "$@")
START_TIME=$(date +%s)

SECONDS_PER_RUN=${1:-10}
WARM_UP=${WARM_UP:-6}
PATCHCORD="$ROOT/bin/patchcord"
PATCHCORD_EXTRA=${PATCHCORD_EXTRA:-}

say() { echo "scaling: $*" >&2; }
die() { say "$*"; exit 1; }

[[ $SECONDS_PER_RUN =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a whole number of seconds, not '$SECONDS_PER_RUN'"
[[ $WARM_UP =~ ^[0-9]+$ ]] || die "WARM_UP must be a whole number of seconds, not '$WARM_UP'"
[ "$(id -u)" = 0 ] || die "needs root (it creates network namespaces)"
for c in ip iperf3 ping timeout taskset; do command -v $c >/dev/null || die "needs $c"; done

# The CPUs this process may run on, one number a line, from a taskset list such as "0-3,6".
expand_cpus() { # list
  tr ',' '\n' <<<"$1" | awk -F- '/^[0-9]+(-[0-9]+)?$/ { hi = NF > 1 ? $2 : $1; for (c = $1; c <= hi; c++) print c; next }
    NF { bad = 1 } END { exit bad }'
}
ALLOWED=$(taskset -pc $$ | sed 's/.*: *//')
mapfile -t CPUS < <(expand_cpus "$ALLOWED")
if [ -z "${CPUS_A:-}" ] && [ -z "${CPUS_B:-}" ]; then
  [ ${#CPUS[@]} -ge 2 ] || die "needs at least 2 CPUs to give each end its own (this process may use: $ALLOWED)"
  HALF=$((${#CPUS[@]} / 2))
  CPUS_A=$(IFS=,; echo "${CPUS[*]:0:HALF}")
  CPUS_B=$(IFS=,; echo "${CPUS[*]:HALF}")
fi
if [ -z "${CPUS_A:-}" ] || [ -z "${CPUS_B:-}" ]; then die "set both CPUS_A and CPUS_B, or neither"; fi
for set in "$CPUS_A" "$CPUS_B"; do
  expand_cpus "$set" >/dev/null || die "'$set' is not a CPU list (such as 0-3,6)"
  taskset -c "$set" true 2>/dev/null || die "cannot run on CPUs $set"
done
PER_END=$(expand_cpus "$CPUS_A" | wc -l)
PIN_A=(taskset -c "$CPUS_A")
PIN_B=(taskset -c "$CPUS_B")

if [ -z "${THREADS:-}" ]; then
  THREADS=1
  for ((n = 2; n <= (PER_END > 2 ? PER_END : 2); n *= 2)); do THREADS+=" $n"; done
  [[ " $THREADS " == *" $PER_END "* ]] || THREADS+=" $PER_END"
fi
read -r -a COUNTS <<<"${THREADS//,/ }"
[ ${#COUNTS[@]} -gt 0 ] || die "THREADS is empty"
for n in "${COUNTS[@]}"; do
  if ! [[ $n =~ ^[1-9][0-9]{0,2}$ ]] || [ "$n" -gt 256 ]; then die "'$n' in THREADS is not a thread count from 1 to 256"; fi
done

start_namespaces pcscale

# ---- the run -------------------------------------------------------------------------------------

declare -A TCP1=() TCP4=() SAID=()

# The cipher threads per direction the tunnel's start-up line (in end A's log) reports.
threads_in_use() { # log
  sed -n 's/.*, \([0-9][0-9]*\) cipher threads\{0,1\} per direction.*/\1/p' "$1" | head -n 1
}

# One thread count: a fresh tunnel, its warm-up and the two TCP runs.
measure() { # threads
  local n=$1 f="$WORK/out.json" said
  export PATCHCORD_CIPHER_THREADS=$n
  setup_patchcord_wg u 10.93.0 "" || return 1
  wait_for_path "$ADDR" || return 1
  said=$(threads_in_use "$WORK/pcu${TAG}a.log")
  SAID[$n]=${said:-?}
  if [ "${SAID[$n]}" != "$n" ]; then
    say "  the tunnel says it uses ${SAID[$n]} cipher thread(s) per direction, not $n (Offloads without parallel?)"
  fi
  if [ "$WARM_UP" -gt 0 ]; then
    say "  warm-up ${WARM_UP} s"
    iperf "$ADDR" "$f" -t "$WARM_UP"
  fi
  iperf "$ADDR" "$f" -t "$SECONDS_PER_RUN"
  TCP1[$n]=$(gbits "$f")
  iperf "$ADDR" "$f" -t "$SECONDS_PER_RUN" -P 4
  TCP4[$n]=$(gbits "$f")
  say "  TCP 1 stream: ${TCP1[$n]} Gbit/s, 4 streams: ${TCP4[$n]} Gbit/s"
}

note_load
say "threads ${COUNTS[*]}; end A on CPUs $CPUS_A, end B on CPUs $CPUS_B; ${SECONDS_PER_RUN} s per measurement, ${WARM_UP} s warm-up; namespaces $NA / $NB"
for n in "${COUNTS[@]}"; do
  say "$n cipher thread(s) per direction"
  ADDR=""
  if ! measure "$n"; then
    say "  failed; the last lines of the tunnel's output:"
    for l in "$WORK"/*.log; do [ -f "$l" ] && tail -n 5 "$l" | sed "s|^|    $(basename "$l" .log): |" >&2; done
  fi
  stop_spawned
  rm -f "$WORK"/*.log
done

# ---- the report ----------------------------------------------------------------------------------

# shellcheck source=../bin/lib/jdk.sh
. "$ROOT/bin/lib/jdk.sh"
JDK=$(find_jdk) || true
JAVA_VERSION=""
[ -z "$JDK" ] || JAVA_VERSION=$(sed -n 's/^JAVA_VERSION="\(.*\)"/\1/p' "$JDK/release")
echo "- command: \`$COMMAND_LINE\`"
echo "- $(machine_line)"
echo "- JDK ${JAVA_VERSION:-?}, iperf3 $(iperf3 --version 2>/dev/null | head -n 1 | awk '{ print $2 }');" \
  "end A (patchcord, iperf3 client) on CPUs $CPUS_A, end B (patchcord, iperf3 server) on CPUs $CPUS_B;" \
  "${SECONDS_PER_RUN} s per measurement, ${WARM_UP} s warm-up per tunnel"
echo
echo "| cipher threads per direction | TCP 1 stream (Gbit/s) | TCP 4 streams (Gbit/s) | TCP 1 vs 1 thread | TCP 4 vs 1 thread |"
echo "|---:|---:|---:|---:|---:|"
for n in "${COUNTS[@]}"; do
  label=$n
  [ "${SAID[$n]:-$n}" = "$n" ] || label="$n (tunnel said ${SAID[$n]})"
  awk -v n="$label" -v t1="${TCP1[$n]:-}" -v t4="${TCP4[$n]:-}" -v b1="${TCP1[1]:-}" -v b4="${TCP4[1]:-}" '
    function ratio(a, b) { return (a != "" && b != "" && b + 0 > 0) ? sprintf("%.2f×", a / b) : "-" }
    BEGIN { printf "| %s | %s | %s | %s | %s |\n", n, (t1 == "" ? "failed" : t1), (t4 == "" ? "-" : t4),
      ratio(t1, b1), ratio(t4, b4) }'
done
echo
echo "Gbit/s received by iperf3 over patchcord's WireGuard (UDP, TUN), TCP with 1 and 4 streams; each" \
  "row a fresh tunnel with PATCHCORD_CIPHER_THREADS set to its thread count, both ends. Each end has" \
  "$PER_END CPU(s) of its own; more cipher threads than that share them."
say "finished in $(( $(date +%s) - START_TIME )) s"
