#!/usr/bin/env bash
# Throughput benchmark: iperf3 TCP between two private network namespaces joined by a veth pair,
# over the bare veth, through patchcord's plain modes, and through wireguard-go, all in one run,
# so the ratios compare like with like on this machine.
#
#   sudo bench/throughput.sh [SECONDS]      (default 5 seconds per measurement)
#   WARM_UP=0 sudo bench/throughput.sh      (measure patchcord cold, without the warm-up)
#
# Needs root, iproute2 and iperf3; the wireguard-go row also needs wireguard-go and wireguard-tools.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
SECONDS_PER_RUN=${1:-5}
WARM_UP=${WARM_UP:-6}   # seconds of unmeasured traffic through each patchcord tunnel first
PATCHCORD="$ROOT/bin/patchcord"
[ "$(id -u)" = 0 ] || { echo "bench: needs root (it creates network namespaces)" >&2; exit 1; }
for c in ip iperf3; do command -v $c >/dev/null || { echo "bench: needs $c" >&2; exit 1; }; done

TAG=$(printf '%04x' $((RANDOM)))
NA="pcbench$TAG-a" NB="pcbench$TAG-b"
VA="pcb${TAG}a" VB="pcb${TAG}b"
PIDS=()

# Ends every process this script started (by PID), so the next row has the machine to itself.
stop_spawned() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  PIDS=()
}

cleanup() {
  stop_spawned
  ip netns del "$NA" 2>/dev/null || true
  ip netns del "$NB" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$NA"; ip netns add "$NB"
ip link add "$VA" netns "$NA" type veth peer name "$VB" netns "$NB"
ip -n "$NA" addr add 198.18.0.1/24 dev "$VA"; ip -n "$NB" addr add 198.18.0.2/24 dev "$VB"
for n in "$NA" "$NB"; do ip -n "$n" link set lo up; done
ip -n "$NA" link set "$VA" up; ip -n "$NB" link set "$VB" up

# Starts a background process in a namespace and remembers its PID.
spawn() { local ns=$1; shift; ip netns exec "$ns" "$@" >/dev/null 2>&1 & PIDS+=($!); }

wait_for_link() {
  for _ in $(seq 200); do ip -n "$1" link show "$2" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "bench: $2 did not appear in $1" >&2; return 1
}

declare -A RESULT
ORDER=()

# Unmeasured traffic first, so that a JVM's just-in-time compiler has compiled the packet path
# before the measurement (a tunnel runs for days; its first seconds are not what it does).
warm_up() {
  local addr=$1 port=$((6201 + RANDOM % 1000))
  spawn "$NB" iperf3 -s -1 -B "$addr" -p "$port"
  sleep 0.5
  ip netns exec "$NA" iperf3 -c "$addr" -p "$port" -t "$WARM_UP" >/dev/null 2>&1 || true
}

# iperf3 TCP from A to ADDR in B; records the Gbit/s under NAME.
measure() {
  local name=$1 addr=$2 port=$((5201 + RANDOM % 1000)) json bps gbps
  spawn "$NB" iperf3 -s -1 -B "$addr" -p "$port"
  sleep 0.5
  json=$(ip netns exec "$NA" iperf3 -c "$addr" -p "$port" -t "$SECONDS_PER_RUN" -J 2>/dev/null | tr -d '\n') || true
  bps=$(sed -n 's/.*"sum_received":[[:space:]]*{[^}]*"bits_per_second":[[:space:]]*\([0-9.e+]*\).*/\1/p' <<<"$json")
  gbps=$(awk -v b="${bps:-0}" 'BEGIN { printf "%.2f", b / 1e9 }')
  RESULT[$name]=$gbps; ORDER+=("$name")
  printf '  %-34s %6s Gbit/s\n' "$name" "$gbps" >&2
}

echo "bench: iperf3 TCP, 1 stream, ${SECONDS_PER_RUN} s each (patchcord after ${WARM_UP} s warm-up), namespaces $NA / $NB" >&2
measure "veth (no tunnel)" 198.18.0.2

spawn "$NA" "$PATCHCORD" tinyvpn pcbt0 198.18.0.2 5555
spawn "$NB" "$PATCHCORD" tinyvpn pcbt0 198.18.0.1 5555
wait_for_link "$NA" pcbt0; wait_for_link "$NB" pcbt0
ip -n "$NA" addr add 10.90.0.1/24 dev pcbt0; ip -n "$NB" addr add 10.90.0.2/24 dev pcbt0
warm_up 10.90.0.2
measure "patchcord tinyvpn (plain L3)" 10.90.0.2
stop_spawned

spawn "$NB" "$PATCHCORD" tap2tap -i pcbp0
spawn "$NA" "$PATCHCORD" tap2tap -i pcbp0 --remote 198.18.0.2
wait_for_link "$NA" pcbp0; wait_for_link "$NB" pcbp0
ip -n "$NA" addr add 10.91.0.1/24 dev pcbp0; ip -n "$NB" addr add 10.91.0.2/24 dev pcbp0
warm_up 10.91.0.2
measure "patchcord tap2tap (plain L2)" 10.91.0.2
stop_spawned

# patchcord's WireGuard mode, configured by wg-quick style files.
CONF=$(mktemp -d)
KA=$("$PATCHCORD" genkey); KB=$("$PATCHCORD" genkey)
PA=$("$PATCHCORD" pubkey <<<"$KA"); PB=$("$PATCHCORD" pubkey <<<"$KB")
IA="pcbe${TAG}a" IB="pcbe${TAG}b"
write_conf() { # file key address peer-key peer-address endpoint [extra [Interface] lines]
  cat >"$1" <<CONF
[Interface]
PrivateKey = $2
ListenPort = 51821
Address = $3/24
${7:-}
[Peer]
PublicKey = $4
AllowedIPs = $5/32
Endpoint = $6:51821
CONF
  chmod 600 "$1"
}
write_conf "$CONF/$IA.conf" "$KA" 10.93.0.1 "$PB" 10.93.0.2 198.18.0.2
write_conf "$CONF/$IB.conf" "$KB" 10.93.0.2 "$PA" 10.93.0.1 198.18.0.1
spawn "$NA" "$PATCHCORD" up --foreground "$CONF/$IA.conf"
spawn "$NB" "$PATCHCORD" up --foreground "$CONF/$IB.conf"
wait_for_link "$NA" "$IA"; wait_for_link "$NB" "$IB"
sleep 0.5
warm_up 10.93.0.2
measure "patchcord WireGuard (encrypted)" 10.93.0.2
stop_spawned

# The same over TCP (both ends Transport = tcp), and as layer 2 (Mode = tap, addresses on the TAPs).
run_variant() { # name subnet extra
  local ia="pc${4}${TAG}a" ib="pc${4}${TAG}b"
  write_conf "$CONF/$ia.conf" "$KA" "$2.1" "$PB" "$2.2" 198.18.0.2 "$3"
  write_conf "$CONF/$ib.conf" "$KB" "$2.2" "$PA" "$2.1" 198.18.0.1 "$3"
  spawn "$NA" "$PATCHCORD" up --foreground "$CONF/$ia.conf"
  spawn "$NB" "$PATCHCORD" up --foreground "$CONF/$ib.conf"
  wait_for_link "$NA" "$ia"; wait_for_link "$NB" "$ib"
  sleep 1
  warm_up "$2.2"
  measure "$1" "$2.2"
  stop_spawned
}
run_variant "patchcord WireGuard over TCP" 10.94.0 "Transport = tcp" t
run_variant "patchcord WireGuard TAP (L2)" 10.96.0 "Mode = tap" l
rm -rf "$CONF"

if command -v wireguard-go >/dev/null && command -v wg >/dev/null; then
  WA="pcbw${TAG}a" WB="pcbw${TAG}b"   # the UAPI socket directory is shared by all namespaces
  spawn "$NA" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$WA"
  spawn "$NB" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$WB"
  wait_for_link "$NA" "$WA"; wait_for_link "$NB" "$WB"
  for _ in $(seq 100); do [ -S "/var/run/wireguard/$WA.sock" ] && [ -S "/var/run/wireguard/$WB.sock" ] && break; sleep 0.05; done
  ip netns exec "$NA" wg set "$WA" listen-port 51820 private-key <(echo "$KA") \
    peer "$PB" allowed-ips 10.92.0.2/32 endpoint 198.18.0.2:51820
  ip netns exec "$NB" wg set "$WB" listen-port 51820 private-key <(echo "$KB") \
    peer "$PA" allowed-ips 10.92.0.1/32 endpoint 198.18.0.1:51820
  ip -n "$NA" addr add 10.92.0.1/24 dev "$WA"; ip -n "$NB" addr add 10.92.0.2/24 dev "$WB"
  ip -n "$NA" link set "$WA" up; ip -n "$NB" link set "$WB" up
  measure "wireguard-go (encrypted)" 10.92.0.2
else
  echo "  (wireguard-go row skipped: install wireguard-go and wireguard-tools)" >&2
fi

VETH=${RESULT["veth (no tunnel)"]}
WG=${RESULT["wireguard-go (encrypted)"]:-}
echo
printf '%-34s %10s %10s %14s\n' "path" "Gbit/s" "vs veth" "vs wireguard-go"
for k in "${ORDER[@]}"; do
  awk -v name="$k" -v g="${RESULT[$k]}" -v v="$VETH" -v w="$WG" 'BEGIN {
    rv = v > 0 ? sprintf("%.3f", g / v) : "-"; rw = w > 0 ? sprintf("%.2fx", g / w) : "-";
    printf "%-34s %10.2f %10s %14s\n", name, g, rv, rw }'
done
