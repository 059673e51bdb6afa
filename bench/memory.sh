#!/usr/bin/env bash
# Memory of a large patchcord interface, idle and under attack: one `patchcord up` with N peers
# (default 10,000) in a private namespace, and a flood of handshake initiations and garbage from a
# second namespace. Reports the live Java heap after a full collection, the heap the JVM has
# committed, resident memory (RSS) and its peak (HWM), idle and then at the end of the flood, and
# patchcord's drop counters. Every table the flood can reach is bounded (docs/security.md), so the
# figures under flood should stay close to the idle ones.
#
#   sudo bench/memory.sh [N] [FLOOD_SECONDS]          (defaults 10000 and 20)
#
# The flood: the test tools' `flood` (bench/lib/test-tools.sh; initiations with a valid MAC1 from
# unknown keys, transport messages with random indices; FLOOD_RATE messages a second, default 20000) and, alongside,
# random garbage and initiation-shaped datagrams from `patchcord lab udp`.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
N=${1:-10000}
FLOOD_SECONDS=${2:-20}
PATCHCORD="$ROOT/bin/patchcord"
# The flood tool is test code (it ships with nothing): built here, before any namespace exists.
TOOLS="$ROOT/bench/lib/test-tools.sh"
"$TOOLS" --help >/dev/null
# shellcheck source=../bin/lib/jdk.sh
. "$ROOT/bin/lib/jdk.sh"
# shellcheck source=lib/peers.sh
. "$ROOT/bench/lib/peers.sh"
JDK=$(find_jdk)
[ "$(id -u)" = 0 ] || { echo "memory: needs root (it creates network namespaces)" >&2; exit 1; }
command -v ip >/dev/null || { echo "memory: needs ip (iproute2)" >&2; exit 1; }
[ -n "$JDK" ] || { echo "memory: no JDK 25 found" >&2; exit 1; }

TAG=$(printf '%04x' $((RANDOM)))
NA="pcmem$TAG-a" NB="pcmem$TAG-b"
IFNAME="pcm$TAG"
DIR=$(mktemp -d /tmp/pcmem.XXXXXX)
PID="" FLOODERS=()
cleanup() {
  for p in "${FLOODERS[@]}" $PID; do kill "$p" 2>/dev/null || true; done
  for p in "${FLOODERS[@]}" $PID; do wait "$p" 2>/dev/null || true; done
  ip netns del "$NA" 2>/dev/null || true
  ip netns del "$NB" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

ip netns add "$NA"; ip netns add "$NB"
ip -n "$NA" link set lo up; ip -n "$NB" link set lo up
ip link add "pcm${TAG}a" netns "$NA" type veth peer name "pcm${TAG}b" netns "$NB"
ip -n "$NA" addr add 198.19.77.1/24 dev "pcm${TAG}a"; ip -n "$NA" link set "pcm${TAG}a" up
ip -n "$NB" addr add 198.19.77.2/24 dev "pcm${TAG}b"; ip -n "$NB" link set "pcm${TAG}b" up

conf="$DIR/$IFNAME.conf"
start=$(date +%s%N)
write_peers_config "$N" "$conf"
echo "memory: $N peers written in $(( ($(date +%s%N) - start) / 1000000 )) ms"
ip netns exec "$NA" "$PATCHCORD" up --foreground "$conf" >"$DIR/up.log" 2>&1 &
PID=$!
for _ in $(seq 1200); do grep -q "ready" "$DIR/up.log" && break; kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
grep -q "ready" "$DIR/up.log" || { echo "memory: patchcord did not come up:" >&2; cat "$DIR/up.log" >&2; exit 1; }
echo "memory: $(grep -m1 ready "$DIR/up.log")"
PUB=$(sed -n 's/^PrivateKey = //p' "$conf" | "$PATCHCORD" pubkey)

# "live_heap committed_heap rss hwm", all KiB.
figures() {
  local live committed rss hwm
  live=$(live_heap_kib "$PID")
  # G1 and others print "committed NK" for the heap; the serial collector (which bin/patchcord
  # picks) prints each generation's "total NK".
  committed=$("$JDK/bin/jcmd" "$PID" GC.heap_info | awk '
    match($0, /committed [0-9]+K/) { c = substr($0, RSTART + 10, RLENGTH - 11); exit }
    /^(DefNew|Tenured|def new generation|tenured generation) / && match($0, /total [0-9]+K/) { t += substr($0, RSTART + 6, RLENGTH - 7) }
    END { print c != "" ? c : t }')
  read -r rss hwm < <(rss_kib "$PID")
  echo "$live ${committed:-?} $rss $hwm"
}
drops() {
  ip netns exec "$NA" "$PATCHCORD" show "$IFNAME" >"$DIR/show.txt" 2>&1 || true
  sed -n 's/^ *dropped: //p' "$DIR/show.txt"
}

sleep 2
read -r live0 comm0 rss0 hwm0 < <(figures)

RATE=${FLOOD_RATE:-20000}
if "$TOOLS" flood --help >/dev/null 2>&1; then
  # Half initiations from unknown keys with a valid MAC1 (each costs the responder a DH until it
  # is under load, then a cookie reply), half transport messages naming random session indices.
  FLOOD="the test tools' flood, $RATE messages/s"
  half=$(( RATE * FLOOD_SECONDS / 2 ))
  ip netns exec "$NB" "$TOOLS" flood --host 198.19.77.1 --port 51820 --public-key "$PUB" \
    --initiations "$half" --transports "$half" --rate "$RATE" --seconds "$FLOOD_SECONDS" >"$DIR/flood.log" 2>&1 &
  FLOODERS+=($!)
else
  FLOOD="patchcord lab udp (the test tools' flood did not start)"
fi
# Garbage as well: random datagrams of every size, and initiation-shaped ones (type 1, 148 bytes)
# with a bad MAC1, sent by `lab udp` in rounds of 3,000.
init="01000000$(head -c 144 /dev/urandom | od -An -v -tx1 | tr -d ' \n')"
hex=$(printf "$init,%.0s" $(seq 1000)); hex=${hex%,}
sizes=$(for s in $(seq 1000); do printf '%d,' $((s % 1500 + 1)); done; echo 148)
(
  end=$(( $(date +%s) + FLOOD_SECONDS ))
  while [ "$(date +%s)" -lt "$end" ]; do
    ip netns exec "$NB" "$PATCHCORD" lab udp --host 198.19.77.1 --port 51820 --hex "$hex" --size "$sizes,$sizes" \
      >/dev/null 2>&1 || true
  done
) &
FLOODERS+=($!)
echo "memory: flooding for $FLOOD_SECONDS s with $FLOOD"
sleep "$FLOOD_SECONDS"
read -r live1 comm1 rss1 hwm1 < <(figures)
for p in "${FLOODERS[@]}"; do
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done  # the flood stops by itself
  kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
done
FLOODERS=()
if [ -s "$DIR/flood.log" ]; then sed 's/^/memory: /' "$DIR/flood.log"; fi

printf '\n%-30s %14s %14s\n' "$N peers" "idle" "under flood"
printf '%-30s %14s %14s\n' "live heap after full GC (KiB)" "$live0" "$live1"
printf '%-30s %14s %14s\n' "committed heap (KiB)" "$comm0" "$comm1"
printf '%-30s %14s %14s\n' "resident memory, RSS (KiB)" "$rss0" "$rss1"
printf '%-30s %14s %14s\n' "peak resident, HWM (KiB)" "$hwm0" "$hwm1"
echo "counters: $(drops)"
