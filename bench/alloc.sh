#!/usr/bin/env bash
# Where the encrypted tunnel allocates: two patchcord WireGuard interfaces in private namespaces
# joined by a veth, an iperf3 TCP transfer through them, and Java Flight Recorder's allocation
# samples from both processes, weighed per packet and grouped by who allocated: the JDK's
# ChaCha20-Poly1305, when it is the cipher (its Cipher.init makes a new engine for every packet,
# which the JCA API leaves no way around), or anything else. With a native cipher (libgcrypt's or
# OpenSSL's, the default) and on patchcord's own packet path nothing must show per packet in
# steady state.
#
#   sudo bench/alloc.sh [SECONDS]            (default 10)
#   OFFLOADS=none sudo bench/alloc.sh        (the one-packet-per-system-call path, JDK cipher)
#   OFFLOADS=-native sudo bench/alloc.sh     (batches, with the JDK's cipher)
#
# Needs root, iproute2, iperf3 and the JDK's jfr tool (found next to the java bin/patchcord uses).
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
SECONDS_TO_RUN=${1:-10}
OFFLOADS=${OFFLOADS:-all}
PATCHCORD="$ROOT/bin/patchcord"
[ "$(id -u)" = 0 ] || { echo "alloc: needs root (it creates network namespaces)" >&2; exit 1; }
for c in ip iperf3; do command -v $c >/dev/null || { echo "alloc: needs $c" >&2; exit 1; }; done
# shellcheck source=../bin/lib/jdk.sh
. "$ROOT/bin/lib/jdk.sh"
JDK=$(find_jdk) || { echo "alloc: no JDK 25 found" >&2; exit 1; }
JFR="$JDK/bin/jfr"

TAG=$(printf '%04x' $((RANDOM)))
NA="pcalloc$TAG-a" NB="pcalloc$TAG-b"
WORK=$(mktemp -d /tmp/pcalloc.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; done
  ip netns del "$NA" 2>/dev/null || true
  ip netns del "$NB" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NA"; ip netns add "$NB"
ip link add "pca${TAG}a" netns "$NA" type veth peer name "pca${TAG}b" netns "$NB"
ip -n "$NA" addr add 198.18.0.1/24 dev "pca${TAG}a"; ip -n "$NB" addr add 198.18.0.2/24 dev "pca${TAG}b"
for n in "$NA" "$NB"; do ip -n "$n" link set lo up; done
ip -n "$NA" link set "pca${TAG}a" up; ip -n "$NB" link set "pca${TAG}b" up

KA=$("$PATCHCORD" genkey); KB=$("$PATCHCORD" genkey)
PA=$(echo "$KA" | "$PATCHCORD" pubkey); PB=$(echo "$KB" | "$PATCHCORD" pubkey)
conf() { # NAME KEY ADDRESS PEER-KEY PEER-ADDRESS ENDPOINT
  cat >"$WORK/$1.conf" <<CONF
[Interface]
PrivateKey = $2
ListenPort = 51820
Address = $3/24
Offloads = $OFFLOADS
[Peer]
PublicKey = $4
AllowedIPs = $5/32
Endpoint = $6:51820
CONF
  chmod 600 "$WORK/$1.conf"
}
conf "pcal${TAG}a" "$KA" 10.94.0.1 "$PB" 10.94.0.2 198.18.0.2
conf "pcal${TAG}b" "$KB" 10.94.0.2 "$PA" 10.94.0.1 198.18.0.1
for side in a b; do
  ns=$([ $side = a ] && echo "$NA" || echo "$NB")
  PATCHCORD_JAVA_OPTS="-XX:StartFlightRecording=filename=$WORK/$side.jfr,settings=profile" \
    ip netns exec "$ns" "$PATCHCORD" up --foreground "$WORK/pcal${TAG}$side.conf" >"$WORK/$side.log" 2>&1 &
  PIDS+=($!)
done
for _ in $(seq 300); do grep -q ready "$WORK/a.log" 2>/dev/null && grep -q ready "$WORK/b.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$WORK/a.log" && grep -q ready "$WORK/b.log" || { cat "$WORK"/*.log >&2; echo "alloc: tunnels did not come up" >&2; exit 1; }

# A warm-up first: the recording should show the steady state, not the JIT compiling the path.
ip netns exec "$NB" iperf3 -s -1 -B 10.94.0.2 -p 5301 >/dev/null 2>&1 & PIDS+=($!)
sleep 0.5; ip netns exec "$NA" iperf3 -c 10.94.0.2 -p 5301 -t 5 >/dev/null 2>&1 || true
ip netns exec "$NB" iperf3 -s -1 -B 10.94.0.2 -p 5302 >/dev/null 2>&1 & PIDS+=($!)
sleep 0.5
echo "alloc: iperf3 for $SECONDS_TO_RUN s through the tunnel (Offloads = $OFFLOADS)" >&2
ip netns exec "$NA" iperf3 -c 10.94.0.2 -p 5302 -t "$SECONDS_TO_RUN" 2>/dev/null | grep -E "receiver" >&2 || true
for p in "${PIDS[@]:0:2}"; do kill "$p"; done
for p in "${PIDS[@]:0:2}"; do for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; done

# Packets each side handled (both directions), from the counters line patchcord prints on exit.
packets() { sed -n 's/.*stopped; rx \([0-9]*\) packets.*tx \([0-9]*\) packets.*/\1 \2/p' "$1" | awk '{ print $1 + $2 }'; }

for side in a b; do
  n=$(packets "$WORK/$side.log")
  # Samples are weighed by the bytes they stand for; the whole run is recorded, warm-up included,
  # so the figures are an upper bound for the steady state.
  "$JFR" print --events jdk.ObjectAllocationSample --stack-depth 64 "$WORK/$side.jfr" | awk -v packets="$n" -v side="$side" '
    function bytes(v, u) { return u == "bytes" ? v : u == "kB" ? v * 1024 : u == "MB" ? v * 1048576 : u == "GB" ? v * 1073741824 : v }
    /^jdk.ObjectAllocationSample/ { w = 0; cipher = 0; ours = ""; top = ""; inStack = 0 }
    /^[[:space:]]*weight = / { w = bytes($3, $4) }
    /^[[:space:]]*stackTrace = \[/ { inStack = 1; next }
    inStack && /^[[:space:]]*\]/ {
      inStack = 0
      who = cipher ? "the JDK cipher (a new engine per Cipher.init)" : ours != "" ? "patchcord: " ours : "JDK/other: " top
      total[who] += w; all += w; next }
    inStack {
      frame = $1; sub(/\(.*/, "", frame)
      if (top == "") top = frame
      if (frame ~ /^(com\.sun\.crypto|javax\.crypto)\./) cipher = 1
      if (ours == "" && frame ~ /^dev\.patchcord\./) ours = frame }
    END {
      printf "side %s: %d packets, %.0f bytes allocated in all, %.0f bytes per packet\n", side, packets, all, packets ? all / packets : 0
      for (k in total) printf "  %10.1f bytes/packet  %s\n", packets ? total[k] / packets : 0, k | "sort -rn"
    }'
done
