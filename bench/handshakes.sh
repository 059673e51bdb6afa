#!/usr/bin/env bash
# How many handshakes a second a patchcord responder completes, end to end, with each X25519
# engine in one run: the JDK's XDH (`Offloads = -native`) and the native one (`Offloads = all`,
# OpenSSL's where usable). Two private namespaces: the responder (`patchcord up`, pinned to one
# core with taskset) knows KEYS peers; an attacker namespace runs the test tools' `handshakes`
# (bench/lib/test-tools.sh; pinned to another core), which sends valid initiations from all those
# keys, so that every one the responder answers costs it a whole responder handshake.
#
# The responder is under load throughout (over 100 handshake messages a second): it wants MAC2,
# answering an initiation without one with a cookie reply, which the tool keeps and uses as a
# peer does; and it lets each source ADDRESS through at 20 handshakes a second. So the keys are
# spread over as many source addresses (the attacker binds them from a /16 routed to its
# loopback), each sending at most 10 initiations a second: the per-source limit never binds, and
# what is measured is the handshake. As peers do, each key has one initiation outstanding at a
# time and sends the next when it is answered (or after 5 s); WINDOW initiations are outstanding
# at once, so the responder always has work queued and its socket's queue does not overflow.
# With RATE=0 the responses a second are then the responder's capacity.
#
# Per engine: a fresh responder, WARM_UP seconds of flood (JIT, cookies), then SECONDS measured:
# responses a second, the responder's CPU seconds a second (utime + stime of all its threads from
# /proc/PID/stat, over the same window), and handshakes per CPU-second; then the ratio of the
# engines. With one core for the responder, "per core" is what it says; handshakes per
# CPU-second is the figure that does not depend on what else the machine ran.
#
#   sudo bench/handshakes.sh [SECONDS] [RATE]   (default 5 s measured, RATE 0: as fast as answered)
#   KEYS=1000           peers the responder knows (and source addresses)
#   WINDOW=128          initiations outstanding at once
#   WARM_UP=5           seconds of unmeasured flood first, per engine
#   ROUNDS=1            rounds of both engines, alternating (medians printed when more than one)
#   ENGINES="jdk native"
#   RESPONDER_CPU=0 TOOL_CPU=1   the cores (PIN=0: no pinning, both share every core)
#
# The tool runs on the same machine: on two cores, it has the other one to itself only when the
# machine is otherwise idle. It must keep WINDOW initiations waiting at the responder (it makes
# each with two X25519 operations, the native engine's where there is one, against the
# responder's four); the script says when it did not, or when the responder did not get its
# whole core. Needs root, iproute2, taskset.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
SECS=${1:-5}
RATE=${2:-0}
KEYS=${KEYS:-1000}
WINDOW=${WINDOW:-128}
WARM_UP=${WARM_UP:-5}
ROUNDS=${ROUNDS:-1}
ENGINES=${ENGINES:-jdk native}
PIN=${PIN:-1}
RESPONDER_CPU=${RESPONDER_CPU:-0}
TOOL_CPU=${TOOL_CPU:-1}
PATCHCORD="$ROOT/bin/patchcord"
# The tool is test code (it ships with nothing): built here, before any namespace exists.
TOOLS="$ROOT/bench/lib/test-tools.sh"
"$TOOLS" --help >/dev/null
PORT=51820

[ "$(id -u)" = 0 ] || { echo "bench: needs root (it creates network namespaces)" >&2; exit 1; }
for c in ip taskset; do command -v $c >/dev/null || { echo "bench: needs $c" >&2; exit 1; }; done
say() { echo "bench: $*" >&2; }
if [ "$PIN" = 1 ] && [ "$(nproc)" -lt 2 ]; then
  say "one core only: not pinning"; PIN=0
fi
pin() { if [ "$PIN" = 1 ]; then echo taskset -c "$1"; fi; }

TAG=$(printf '%04x' $((RANDOM)))
NR="pchs$TAG-r" NA="pchs$TAG-a"
DIR=$(mktemp -d)
PIDS=()
stop() { # pid: TERM, then KILL after 5 s
  kill "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  for p in "${PIDS[@]}"; do stop "$p"; done
  for ns in "$NR" "$NA"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The sources: every address of 198.19.0.0/16 is the attacker's (a local route to its loopback,
# so that the tool can bind any of them), and the responder routes the /16 back to it.
for ns in "$NR" "$NA"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add "pchs${TAG}r" netns "$NR" type veth peer name "pchs${TAG}a" netns "$NA"
ip -n "$NR" addr add 198.18.3.1/24 dev "pchs${TAG}r"; ip -n "$NA" addr add 198.18.3.2/24 dev "pchs${TAG}a"
ip -n "$NR" link set "pchs${TAG}r" up; ip -n "$NA" link set "pchs${TAG}a" up
ip -n "$NA" route add local 198.19.0.0/16 dev lo
ip -n "$NR" route add 198.19.0.0/16 via 198.18.3.2
[ "$KEYS" -ge 1 ] && [ "$KEYS" -le 65000 ] || { say "KEYS must be 1 to 65000"; exit 1; }

umask 077
KR=$("$PATCHCORD" genkey); PR=$("$PATCHCORD" pubkey <<<"$KR")
"$TOOLS" peer-keys --count "$KEYS" --private "$DIR/keys" --peers "$DIR/peers.conf"

udp_drops() { # the responder namespace's UDP receive-buffer drops so far
  ip netns exec "$NR" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 } else print $col["RcvbufErrors"] }' /proc/net/snmp
}

field() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p" <<<"$1"; }

# One engine: a fresh responder, the flood, the figures. Prints "engine rate cpu per-cpu".
measure() {
  local engine=$1 round=$2 offloads ifname
  case "$engine" in
    jdk) offloads="-native" ;;
    native) offloads="all" ;;
    *) say "unknown engine $engine (jdk or native)"; exit 1 ;;
  esac
  ifname="pchs${TAG}${round}${engine:0:1}"
  { printf '[Interface]\nPrivateKey = %s\nListenPort = %s\nAddress = 10.72.0.1/24\nOffloads = %s\n' \
      "$KR" "$PORT" "$offloads"; cat "$DIR/peers.conf"; } >"$DIR/$ifname.conf"
  ip netns exec "$NR" $(pin "$RESPONDER_CPU") "$PATCHCORD" up --foreground "$DIR/$ifname.conf" >"$DIR/resp.log" 2>&1 &
  local resp=$! # ip netns exec, taskset and bin/patchcord exec: this is the responder's JVM
  PIDS+=("$resp")
  # Up to 2 minutes: a JVM on one busy core starts slowly.
  for _ in $(seq 1200); do grep -q ready "$DIR/resp.log" && break; kill -0 "$resp" 2>/dev/null || break; sleep 0.1; done
  grep -q ready "$DIR/resp.log" || { say "the responder did not start:"; cat "$DIR/resp.log" >&2; exit 1; }
  local curve
  curve=$(sed -n 's/.*X25519 by \([^,(]*[^ ,(]\).*/\1/p' "$DIR/resp.log" | head -1)
  say "round $round: $engine: the responder's X25519 is ${curve:-?} ($WARM_UP s warm-up, $SECS s measured)"
  local drops0 out
  drops0=$(udp_drops)
  if ! out=$(ip netns exec "$NA" $(pin "$TOOL_CPU") "$TOOLS" handshakes --host 198.18.3.1 --port $PORT \
      --public-key "$PR" --keys "$DIR/keys" --source 198.19.0.1 --sources "$KEYS" --rate "$RATE" --window "$WINDOW" \
      --warm-up "$WARM_UP" --seconds "$SECS" --responder-pid "$resp" --clock-ticks "$(getconf CLK_TCK)" 2>"$DIR/tool.err"); then
    say "the tool failed:"; cat "$DIR/tool.err" >&2; exit 1
  fi
  cat "$DIR/tool.err" >&2
  local drops=$(( $(udp_drops) - drops0 ))
  echo "$out" | sed "s/^/  $engine: /" >&2
  local line
  line=$(grep '^handshakes: seconds=' <<<"$out")
  say "  $engine: the responder's kernel dropped $drops initiations (socket queue full), warm-up included; its own drop counters:"
  ip netns exec "$NR" "$PATCHCORD" show "$ifname" | grep -i 'drop' | sed 's/^/    /' >&2 || true
  local mean cpu
  mean=$(field "$line" mean-outstanding); cpu=$(field "$line" responder-cpu-per-second)
  if [ "$RATE" = 0 ] && awk -v m="$mean" -v w="$WINDOW" 'BEGIN { exit !(m < 0.8 * w) }'; then
    say "  $engine: WARNING: on average only $mean of $WINDOW initiations were waiting: the tool, not the responder, set the pace (a lower bound)"
  fi
  if [ "$PIN" = 1 ] && awk -v c="$cpu" 'BEGIN { exit !(c < 0.9) }'; then
    say "  $engine: note: the responder used $cpu of its core: other load on the machine took the rest (handshakes per CPU-second still hold)"
  fi
  stop "$resp"
  local warm cookies
  warm=$(grep '^handshakes warm-up: seconds=' <<<"$out")
  cookies=$(( $(field "$warm" cookie-replies) + $(field "$line" cookie-replies) ))
  echo "$engine ${curve// /_} $(field "$line" responses-per-second) $cpu $(field "$line" handshakes-per-cpu-second) $cookies $(field "$line" sent)"
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

RESULTS="$DIR/results"
: >"$RESULTS"
for round in $(seq "$ROUNDS"); do
  for engine in $ENGINES; do
    measure "$engine" "$round" >>"$RESULTS"
  done
done

echo "responder handshakes, end to end: $KEYS known keys from $KEYS source addresses, ${SECS} s measured after ${WARM_UP} s," \
  "$( [ "$PIN" = 1 ] && echo "responder on core $RESPONDER_CPU, flood on core $TOOL_CPU" || echo "not pinned")," \
  "$( [ "$RATE" = 0 ] && echo "$WINDOW outstanding, as fast as answered" || echo "$RATE initiations a second")"
printf '%-8s %-22s %14s %18s %18s %10s %10s\n' engine X25519 handshakes/s "responder CPU-s/s" "handshakes/CPU-s" "cookies*" sent
while read -r engine curve rate cpu per cookies sent; do
  printf '%-8s %-22s %14s %18s %18s %10s %10s\n' "$engine" "${curve//_/ }" "$rate" "$cpu" "$per" "$cookies" "$sent"
done <"$RESULTS"
echo "(cookies*: cookie replies taken in, warm-up included: about one a key, then none while the cookies last)"
if [ "$ROUNDS" -gt 1 ]; then
  for engine in $ENGINES; do
    echo "$engine median: $(awk -v e="$engine" '$1 == e {print $3}' "$RESULTS" | median) handshakes/s," \
      "$(awk -v e="$engine" '$1 == e {print $5}' "$RESULTS" | median) per CPU-second"
  done
fi
if grep -q '^jdk ' "$RESULTS" && grep -q '^native ' "$RESULTS"; then
  awk '{ r[$1] = r[$1] " " $3; p[$1] = p[$1] " " $5 }
    function med(s,   v, n, i, j, t) { n = split(s, v, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
    END { printf "native / jdk: %.2fx the handshakes a second, %.2fx the handshakes per CPU-second\n",
      med(r["native"]) / med(r["jdk"]), med(p["native"]) / med(p["jdk"]) }' "$RESULTS"
fi
