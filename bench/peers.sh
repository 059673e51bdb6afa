#!/usr/bin/env bash
# Memory and control-plane cost of many peers: brings up one patchcord interface with 1 peer and
# then with N peers (default 1000) in a private namespace, and reports start-up time, how long
# `wg show` takes, resident memory (RSS) and Java heap in use after a full GC, per peer.
#
#   sudo bench/peers.sh [N]
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
N=${1:-1000}
PATCHCORD="$ROOT/bin/patchcord"
# shellcheck source=../bin/lib/jdk.sh
. "$ROOT/bin/lib/jdk.sh"
# shellcheck source=lib/peers.sh
. "$ROOT/bench/lib/peers.sh"
JDK=$(find_jdk)
[ "$(id -u)" = 0 ] || { echo "bench: needs root (it creates a network namespace)" >&2; exit 1; }
for c in ip wg; do command -v $c >/dev/null || { echo "bench: needs $c" >&2; exit 1; }; done

TAG=$(printf '%04x' $((RANDOM)))
NS="pcpeers$TAG"
DIR=$(mktemp -d)
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up

# One run: COUNT peers; prints "ready_ms show_ms rss_kib heap_kib".
measure() {
  local count=$1 ifname="pcpr${TAG}$2" conf
  conf="$DIR/$ifname.conf"
  write_peers_config "$count" "$conf"
  ip netns exec "$NS" "$PATCHCORD" up --foreground "$conf" >"$DIR/$ifname.log" 2>&1 &
  PID=$!
  for _ in $(seq 600); do grep -q "ready" "$DIR/$ifname.log" && break; sleep 0.1; done
  local ready show_start show_end rss heap
  ready=$(sed -n 's/.*(ready \([0-9]*\) ms after start).*/\1/p' "$DIR/$ifname.log")
  show_start=$(date +%s%N)
  local listed; listed=$(ip netns exec "$NS" wg show "$ifname" peers | wc -l)
  show_end=$(date +%s%N)
  [ "$listed" = "$count" ] || { echo "bench: wg show listed $listed peers, expected $count" >&2; exit 1; }
  heap=$(live_heap_kib "$PID")
  read -r rss _ < <(rss_kib "$PID")
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  echo "$ready $(( (show_end - show_start) / 1000000 )) $rss $heap"
}

read -r r1 s1 rss1 heap1 < <(measure 1 a)
read -r rn sn rssn heapn < <(measure "$N" b)
printf '%-26s %12s %12s\n' "" "1 peer" "$N peers"
printf '%-26s %12s %12s\n' "start to ready (ms)" "$r1" "$rn"
printf '%-26s %12s %12s\n' "wg show (ms)" "$s1" "$sn"
printf '%-26s %12s %12s\n' "resident memory (KiB)" "$rss1" "$rssn"
printf '%-26s %12s %12s\n' "live heap (KiB)" "$heap1" "$heapn"
awk -v n="$N" -v r1="$rss1" -v rn="$rssn" -v h1="$heap1" -v hn="$heapn" 'BEGIN {
  printf "per peer: %.1f KiB resident, %.2f KiB heap\n", (rn - r1) / (n - 1), (hn - h1) / (n - 1) }'
