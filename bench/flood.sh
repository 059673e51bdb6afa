#!/usr/bin/env bash
# Throughput a legitimate WireGuard peer keeps while its responder is flooded. Three private
# namespaces: a patchcord responder, a patchcord peer that sends iperf3 TCP through the tunnel
# to it, and an attacker running the test tools' `flood` (bench/lib/test-tools.sh) against the
# responder's UDP port (handshake initiations from unknown keys with a valid MAC1, and transport messages with random
# receiver indices, in the ratio 3:1). In one run, alternating: iperf3 without the flood and with
# it, ROUNDS times, and once more without; prints every figure, the ratio of the medians, what the
# flood sent and got back, and the responder's drop counters.
#
#   sudo bench/flood.sh [SECONDS] [RATE]     (default 10 s per run, 2000 hostile messages a second)
#   ROUNDS=3                                 flooded runs (and ROUNDS + 1 clean ones)
#   WARM_UP=10                               seconds of unmeasured traffic first (the JIT compiles)
#
# The attacker runs on the same machine, so its own CPU use is part of what the peer loses.
# Needs root, iproute2 and iperf3.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
SECS=${1:-10}
RATE=${2:-2000}
ROUNDS=${ROUNDS:-3}
WARM_UP=${WARM_UP:-10}
PATCHCORD="$ROOT/bin/patchcord"
# The flood tool is test code (it ships with nothing): built here, before any namespace exists.
TOOLS="$ROOT/bench/lib/test-tools.sh"
"$TOOLS" --help >/dev/null
PORT=51820

[ "$(id -u)" = 0 ] || { echo "bench: needs root (it creates network namespaces)" >&2; exit 1; }
for c in ip iperf3; do command -v $c >/dev/null || { echo "bench: needs $c" >&2; exit 1; }; done
say() { echo "bench: $*" >&2; }

TAG=$(printf '%04x' $((RANDOM)))
NR="pcfl$TAG-r" NP="pcfl$TAG-p" NA="pcfl$TAG-a"
DIR=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  for ns in "$NR" "$NP" "$NA"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for ns in "$NR" "$NP" "$NA"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add "pcfl${TAG}p" netns "$NR" type veth peer name "pcfl${TAG}q" netns "$NP"
ip link add "pcfl${TAG}a" netns "$NR" type veth peer name "pcfl${TAG}b" netns "$NA"
ip -n "$NR" addr add 198.18.1.1/24 dev "pcfl${TAG}p"; ip -n "$NP" addr add 198.18.1.2/24 dev "pcfl${TAG}q"
ip -n "$NR" addr add 198.18.2.1/24 dev "pcfl${TAG}a"; ip -n "$NA" addr add 198.18.2.2/24 dev "pcfl${TAG}b"
for l in "$NR pcfl${TAG}p" "$NP pcfl${TAG}q" "$NR pcfl${TAG}a" "$NA pcfl${TAG}b"; do
  set -- $l; ip -n "$1" link set "$2" up
done

KR=$("$PATCHCORD" genkey); KP=$("$PATCHCORD" genkey)
PR=$("$PATCHCORD" pubkey <<<"$KR"); PP=$("$PATCHCORD" pubkey <<<"$KP")
IR="pcfl${TAG}r0" IP="pcfl${TAG}p0"
umask 077
cat >"$DIR/$IR.conf" <<EOF
[Interface]
PrivateKey = $KR
ListenPort = $PORT
Address = 10.71.0.1/24
[Peer]
PublicKey = $PP
AllowedIPs = 10.71.0.2/32
EOF
cat >"$DIR/$IP.conf" <<EOF
[Interface]
PrivateKey = $KP
Address = 10.71.0.2/24
[Peer]
PublicKey = $PR
AllowedIPs = 10.71.0.1/32
Endpoint = 198.18.1.1:$PORT
EOF

start() { # ns name command...: in the background, output to $DIR/name.log
  local ns=$1 name=$2; shift 2
  ip netns exec "$ns" "$@" >"$DIR/$name.log" 2>&1 &
  PIDS+=($!)
}
start "$NR" resp "$PATCHCORD" up --foreground "$DIR/$IR.conf"
RESP_PID=${PIDS[-1]} # ip netns exec and bin/patchcord exec: this is the responder's JVM
start "$NP" peer "$PATCHCORD" up --foreground "$DIR/$IP.conf"
for name in resp peer; do
  for _ in $(seq 300); do grep -q ready "$DIR/$name.log" && break; sleep 0.1; done
  grep -q ready "$DIR/$name.log" || { say "$name did not start:"; cat "$DIR/$name.log" >&2; exit 1; }
done
start "$NR" iperf3 iperf3 -s -B 10.71.0.1
for _ in $(seq 30); do ip netns exec "$NP" ping -c 1 -W 1 10.71.0.1 >/dev/null 2>&1 && break; done
ip netns exec "$NP" ping -c 1 -W 1 10.71.0.1 >/dev/null || { say "no path through the tunnel"; exit 1; }

# One iperf3 run from the peer; prints Mbit/s received. iperf3's server takes a moment to be
# ready for the next client, so a refused start is tried again (3 times).
measure() {
  local mbps=""
  for _ in 1 2 3; do
    sleep 1
    if ip netns exec "$NP" iperf3 -c 10.71.0.1 -t "$SECS" -J >"$DIR/iperf.json" 2>/dev/null; then
      mbps=$(sed -n '/"sum_received"/,/}/p' "$DIR/iperf.json" \
        | sed -n 's/.*"bits_per_second":[[:space:]]*\([0-9.e+]*\).*/\1/p' | head -1 | awk '{printf "%.0f", $1 / 1e6}')
      [ -n "$mbps" ] && break
    fi
  done
  [ -n "$mbps" ] || { say "iperf3 failed:"; cat "$DIR/iperf.json" >&2; exit 1; }
  echo "$mbps"
}

# One run with the flood going on: it starts first, runs past the end of the measurement.
measure_flooded() {
  local total=$((RATE * (SECS + 5)))
  ip netns exec "$NA" "$TOOLS" flood --host 198.18.2.1 --port $PORT --public-key "$PR" \
    --initiations $((total * 3 / 4)) --transports $((total / 4)) --rate "$RATE" --seconds $((SECS + 5)) \
    >>"$DIR/flood.log" 2>&1 &
  local flood=$!
  PIDS+=("$flood")
  sleep 2 # the flood's JVM starts and prepares its initiations
  measure
  wait "$flood" || { say "the flood failed:"; cat "$DIR/flood.log" >&2; exit 1; }
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

say "warming up ($WARM_UP s)"
ip netns exec "$NP" iperf3 -c 10.71.0.1 -t "$WARM_UP" >/dev/null
# Alternate, so that drift in what else the machine does affects both sides alike.
CLEAN="" FLOODED=""
for round in $(seq "$ROUNDS"); do
  say "round $round/$ROUNDS: without the flood ($SECS s)"
  CLEAN="$CLEAN $(measure)"
  say "round $round/$ROUNDS: with the flood, $RATE messages a second ($SECS s)"
  FLOODED="$FLOODED $(measure_flooded)"
done
say "without the flood, last"
CLEAN="$CLEAN $(measure)"

# The responder's cost of the flood alone, without the peer's traffic: CPU time from /proc.
say "the flood alone ($SECS s): the responder's CPU time"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
T0=$(cpu_ticks "$RESP_PID")
ip netns exec "$NA" "$TOOLS" flood --host 198.18.2.1 --port $PORT --public-key "$PR" \
  --initiations $((RATE * SECS * 3 / 4)) --transports $((RATE * SECS / 4)) --rate "$RATE" --seconds $((SECS + 5)) \
  >"$DIR/alone.log" 2>&1 || { say "the flood failed:"; cat "$DIR/alone.log" >&2; exit 1; }
T1=$(cpu_ticks "$RESP_PID")
ALONE=$(grep '^flood:' "$DIR/alone.log")
SENT=$(sed -n 's/.*initiations=\([0-9]*\) transports=\([0-9]*\).*/\1 \2/p' <<<"$ALONE" | awk '{print $1 + $2}')
FLOOD_SECS=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$ALONE")

echo "flood: $RATE hostile messages a second (3 initiations : 1 transport), $SECS s per run"
echo "peer throughput without flood (Mbit/s):$CLEAN"
echo "peer throughput with flood (Mbit/s):   $FLOODED"
# Each flooded run against the mean of the clean runs just before and after it, so that a trend
# (the JIT still warming up, other load on the machine) cancels out; the median of those ratios.
RATIOS=$(awk -v c="$CLEAN" -v f="$FLOODED" 'BEGIN { n = split(c, cv, " "); split(f, fv, " ");
  for (i = 1; i < n; i++) printf "%.2f ", fv[i] / ((cv[i] + cv[i + 1]) / 2) }')
echo "ratio of each flooded run to its clean neighbours: $RATIOS"
echo "ratio with/without (median): $(echo "$RATIOS" | median)"
grep '^flood:' "$DIR/flood.log"
awk -v t=$((T1 - T0)) -v hz="$(getconf CLK_TCK)" -v n="$SENT" -v secs="$FLOOD_SECS" 'BEGIN {
  printf "the flood alone: %d messages in %.1f s; the responder used %.2f s of CPU (%.0f %% of one core), %.1f us a message\n",
    n, secs, t / hz, 100 * t / hz / secs, 1e6 * t / hz / n }'
ip netns exec "$NR" "$PATCHCORD" show "$IR" | grep 'dropped' || true
