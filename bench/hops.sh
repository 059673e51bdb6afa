#!/usr/bin/env bash
# Where an idle encrypted tunnel's round trip goes: two private network namespaces joined by a
# veth pair, `patchcord up` at each end (WireGuard over UDP, TUN, default offloads), pings 10 ms
# apart from A, and `perf record` of the scheduler's and the system calls' tracepoints for the four
# packet threads (device-to-net and net-to-device at each end) while they run.
#
# A thread's hop is the time from its return from poll to its entry into the call that passes the
# packet on (sendmmsg, or the TUN write), counted only when the thread was not switched out in
# between: the time patchcord's own code takes for one packet, apart from waiting for a core.
# Prints, for the cold pings (right after the first answer) and again after WARM_UP seconds of
# iperf3 TCP, the median, 90th percentile and maximum hop of each thread, and the pings' median,
# average, 99th percentile and maximum. docs/performance.md ("Latency") explains the figures.
#
#   sudo bench/hops.sh [PINGS]      (default 200)
#
# Environment:
#   WARM_UP=3              seconds of iperf3 TCP between the cold and the warm pings (0: none)
#   PRIME=0                pings 2 ms apart sent right after the first answer, before the cold
#                          pings: how much traffic the packet path needs before it runs at speed
#   JIT=0                  1: also count each end's compilations (C1 and C2, patchcord's methods
#                          and the JDK's) made while each set of pings ran; 2: and name patchcord's
#                          methods that C2 compiled then
#   PATCHCORD_JAVA_OPTS    JVM options for both ends (read by bin/patchcord)
#
# Needs root, iproute2, ping, perf (with the sched and syscalls tracepoints), iperf3 for WARM_UP,
# and wg or patchcord itself for the keys.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
PINGS=${1:-200}
WARM_UP=${WARM_UP:-3}
PRIME=${PRIME:-0}
JIT=${JIT:-0}
[[ $JIT =~ ^[012]$ ]] || { echo "hops: JIT must be 0, 1 or 2" >&2; exit 1; }
PATCHCORD="$ROOT/bin/patchcord"

say() { echo "hops: $*" >&2; }
die() { say "$*"; exit 1; }
[[ $PINGS =~ ^[1-9][0-9]*$ ]] || die "PINGS must be a whole number, not '$PINGS'"
[[ $WARM_UP =~ ^[0-9]+$ ]] || die "WARM_UP must be a whole number of seconds, not '$WARM_UP'"
[[ $PRIME =~ ^[0-9]+$ ]] || die "PRIME must be a whole number of pings, not '$PRIME'"
[ "$(id -u)" = 0 ] || die "needs root (it creates network namespaces)"
for c in ip ping perf timeout; do command -v $c >/dev/null || die "needs $c"; done
[ "$WARM_UP" = 0 ] || command -v iperf3 >/dev/null || die "needs iperf3 (or WARM_UP=0)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/patchcord-hops.XXXXXX")
NAMESPACES=() PIDS=()
cleanup() {
  set +e
  local ns p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null
  done
  for ns in "${NAMESPACES[@]}"; do   # anything still inside our own namespaces was started by us
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  done
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -f "/var/run/wireguard/ph${TAG:-}a.sock" "/var/run/wireguard/ph${TAG:-}b.sock"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

TAG=""
for _ in $(seq 20); do
  t=$(printf '%04x' $((RANDOM)))
  if ip netns add "pchops$t-a" 2>/dev/null; then TAG=$t; NAMESPACES+=("pchops$t-a"); break; fi
done
[ -n "$TAG" ] || die "could not create a namespace"
NA="pchops$TAG-a" NB="pchops$TAG-b"
ip netns add "$NB"; NAMESPACES+=("$NB")
ip link add "phv${TAG}a" netns "$NA" type veth peer name "phv${TAG}b" netns "$NB"
ip -n "$NA" addr add 198.18.0.1/24 dev "phv${TAG}a"; ip -n "$NB" addr add 198.18.0.2/24 dev "phv${TAG}b"
for n in "$NA" "$NB"; do ip -n "$n" link set lo up; done
ip -n "$NA" link set "phv${TAG}a" up; ip -n "$NB" link set "phv${TAG}b" up

if command -v wg >/dev/null; then
  KA=$(wg genkey); KB=$(wg genkey); PA=$(wg pubkey <<<"$KA"); PB=$(wg pubkey <<<"$KB")
else
  KA=$("$PATCHCORD" genkey); KB=$("$PATCHCORD" genkey)
  PA=$("$PATCHCORD" pubkey <<<"$KA"); PB=$("$PATCHCORD" pubkey <<<"$KB")
fi
conf() { # file key address peer-key peer-address endpoint
  cat >"$1" <<CONF
[Interface]
PrivateKey = $2
ListenPort = 51821
Address = $3/24

[Peer]
PublicKey = $4
AllowedIPs = $5/32
Endpoint = $6:51821
CONF
  chmod 600 "$1"
}
IA="ph${TAG}a" IB="ph${TAG}b"   # the interface is named after the file
conf "$WORK/$IA.conf" "$KA" 10.97.0.1 "$PB" 10.97.0.2 198.18.0.2
conf "$WORK/$IB.conf" "$KB" 10.97.0.2 "$PA" 10.97.0.1 198.18.0.1
# `ip netns exec` and bin/patchcord exec, so each PID is the JVM's own.
if [ "$JIT" -ge 1 ]; then
  export PATCHCORD_JAVA_OPTS="${PATCHCORD_JAVA_OPTS:-} -Xlog:jit+compilation=debug:file=$WORK/jit-%p.log::filecount=0"
fi
ip netns exec "$NA" "$PATCHCORD" up --foreground "$WORK/$IA.conf" >"$WORK/a.log" 2>&1 & PIDS+=($!); JA=$!
ip netns exec "$NB" "$PATCHCORD" up --foreground "$WORK/$IB.conf" >"$WORK/b.log" 2>&1 & PIDS+=($!); JB=$!

for _ in $(seq 600); do
  ip -n "$NA" link show "$IA" >/dev/null 2>&1 && ip -n "$NB" link show "$IB" >/dev/null 2>&1 && break
  if ! kill -0 "$JA" 2>/dev/null || ! kill -0 "$JB" 2>/dev/null; then
    die "a tunnel process ended early: $(cat "$WORK/a.log" "$WORK/b.log")"
  fi
  sleep 0.1
done
answered=0
for _ in $(seq 30); do
  if ip netns exec "$NA" ping -c 1 -W 1 -q 10.97.0.2 >/dev/null 2>&1; then answered=1; break; fi
  sleep 0.2
done
[ "$answered" = 1 ] || die "no answer through the tunnel"
for end in a b; do say "$end: $(grep -m1 'ready ' "$WORK/$end.log" | sed 's/^patchcord: [^:]*: //')"; done

# The packet threads, by name, and what to call them in the report.
THREADS="" NAMES="$WORK/names"
: >"$NAMES"
for end in a b; do
  pid=$([ $end = a ] && echo "$JA" || echo "$JB")
  for task in /proc/"$pid"/task/*; do
    name=$(cat "$task/comm" 2>/dev/null || true)
    case $name in
      device-to-net|net-to-device) THREADS="$THREADS,${task##*/}"; echo "${task##*/} $end:$name" >>"$NAMES" ;;
    esac
  done
done
THREADS=${THREADS#,}
[ "$(wc -l <"$NAMES")" = 4 ] || die "did not find the four packet threads (batching off?)"

jit_lines() { # end: lines in its compilation log so far
  local pid; pid=$([ "$1" = a ] && echo "$JA" || echo "$JB")
  cat "$WORK/jit-$pid.log" 2>/dev/null | wc -l
}
jit_report() { # end first-line: the compilations logged since that line, by tier and by whose
  local pid; pid=$([ "$1" = a ] && echo "$JA" || echo "$JB")
  tail -n +"$(($2 + 1))" "$WORK/jit-$pid.log" 2>/dev/null | awk -v end="$1" '
    # -Xlog:jit+compilation=debug lines: "[...] <id> <flags> <tier> <class::method> (<n> bytes)"
    { for (i = 1; i <= NF; i++) if ($i ~ /::/) { tier = $(i - 1); own = ($i ~ /^dev\.patchcord\./); break }
      if (tier !~ /^[1-4]$/) next
      n++; c2 += (tier == 4); ownc2 += (tier == 4 && own); ownc1 += (tier != 4 && own)
      if (names && tier == 4 && own) { m = $i; sub(/^dev\.patchcord\./, "", m); list = list " " m } }
    END { printf "  %s: %d compilations (%d by C2, of which %d patchcord methods; %d patchcord methods by C1)\n", end, n, c2, ownc2, ownc1
          if (names && list != "") print "    by C2:" list }' names=$((JIT > 1))
}

measure() { # label
  local data="$WORK/perf.data" pings="$WORK/ping.txt" rec ja jb
  if [ "$JIT" -ge 1 ]; then ja=$(jit_lines a); jb=$(jit_lines b); fi
  perf record -q -t "$THREADS" -o "$data" -e sched:sched_switch -e syscalls:sys_exit_poll \
    -e syscalls:sys_enter_write -e syscalls:sys_enter_sendmmsg \
    -- sleep $((PINGS / 100 + 3)) >/dev/null 2>&1 &
  rec=$!; PIDS+=("$rec")
  sleep 0.5
  ip netns exec "$NA" ping -n -c "$PINGS" -i 0.01 -W 1 10.97.0.2 >"$pings" 2>&1 || true
  wait "$rec" || true
  echo "$1:"
  perf script -i "$data" -F tid,time,event 2>/dev/null | awk -v names="$NAMES" '
    BEGIN { while ((getline l < names) > 0) { split(l, f, " "); name[f[1]] = f[2] } }
    { tid = $1; t = $2 + 0; ev = $3 }
    ev ~ /sys_exit_poll/ { start[tid] = t; out[tid] = 0; next }
    ev ~ /sched_switch/ { if (start[tid]) out[tid] = 1; next }
    ev ~ /sys_enter_(sendmmsg|write)/ {
      if (start[tid] && !out[tid]) printf "%s %.0f\n", name[tid], (t - start[tid]) * 1e6
      start[tid] = 0
    }' | sort -k1,1 -k2,2n | awk '
    function report() { if (n) printf "  %-18s hops %4d  median %4d us  p90 %4d us  max %5d us\n", who, n, v[int(n / 2) + 1], v[int(n * 0.9) + 1], v[n] }
    $1 != who { report(); who = $1; n = 0 }
    { v[++n] = $2 }
    END { report() }'
  sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$pings" | sort -n | awk '
    { t[NR] = $1; s += $1 }
    END {
      if (NR == 0) { print "  ping: no answers"; exit }
      k = int(0.99 * NR); if (k < 0.99 * NR) k++
      printf "  ping: %d answered, median %.3f ms, average %.3f, p99 %.3f, max %.3f\n", NR, t[int(NR / 2) + 1], s / NR, t[k], t[NR] }'
  # Which pings were slowest, by sequence number: the first ones, or spread through the run.
  sed -n 's/.*icmp_seq=\([0-9]*\) .* time=\([0-9.]*\) ms.*/\2 \1/p' "$pings" | sort -rn | head -5 |
    awk '{ s = s sprintf(" #%d %.2f ms,", $2, $1) } END { sub(/,$/, "", s); if (s != "") print "  slowest pings:" s }'
  rm -f "$data"
  if [ "$JIT" -ge 1 ]; then jit_report a "$ja"; jit_report b "$jb"; fi
}

if [ "$PRIME" -gt 0 ]; then
  ip netns exec "$NA" ping -n -q -c "$PRIME" -i 0.002 -W 1 10.97.0.2 >/dev/null 2>&1 || true
  measure "cold, after $PRIME pings 2 ms apart"
else
  measure "cold ($PINGS pings right after the first answer)"
fi
if [ "$WARM_UP" -gt 0 ]; then
  ip netns exec "$NB" timeout -k 2 $((WARM_UP + 30)) iperf3 -s -1 -B 10.97.0.2 -p 5299 >/dev/null 2>&1 &
  server=$!; PIDS+=("$server")
  for _ in $(seq 100); do
    ip netns exec "$NB" ss -Hltn "sport = :5299" 2>/dev/null | grep -q . && break; sleep 0.05
  done
  timeout -k 2 $((WARM_UP + 20)) ip netns exec "$NA" iperf3 -c 10.97.0.2 -p 5299 -t "$WARM_UP" >/dev/null 2>&1 || true
  wait "$server" 2>/dev/null || true
  measure "warm (after $WARM_UP s of iperf3 TCP)"
  measure "warm, $PINGS pings later"
fi
