#!/usr/bin/env bash
# How fast a fresh WireGuard tunnel is in its first seconds, with each way of starting the JVM:
#
#   none   no archive or cache (only the JDK's own class-data-sharing archive)
#   cds    a class-data-sharing archive of patchcord's classes (-XX:ArchiveClassesAtExit of a
#          training run): what bin/patchcord used before the AOT cache
#   aot-cold  the AOT cache with method profiles (-XX:AOTCacheOutput of the same training run,
#          bin/lib/archive.sh), started with --no-warm-up
#   aot    the AOT cache, and the packet path warmed up by synthetic round trips before the ready
#          line (device/Warmup): what bin/patchcord and the packages do now
#
# The none and cds modes start with --no-warm-up too, as they were measured before the warm-up.
#
# Two private network namespaces joined by a veth pair; `patchcord up --foreground` in each (the
# jar run by java directly, with the launcher's options plus the mode's). Per start it records the
# time from exec to each side's ready line (as bench/startup.sh does) and the CPU time used by
# then; 200 pings 10 ms apart are sent right after both sides are ready (the first includes the
# handshake); then, in another fresh start, iperf3 -t 5 -i 1 right after ready (one TCP stream,
# Gbit/s per second). The modes take turns, ROUNDS times, so that a change in the machine's load
# falls on all.
#
#   sudo bench/warmup.sh [ROUNDS]        (default 3)
#
# Environment: MODES (default "aot-cold aot"), PINGS (200), SECONDS_IPERF (5).
# Prints a markdown table on stdout and progress on stderr. Needs root, iproute2, iperf3, ping,
# unshare and a built target/patchcord.jar.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
ROUNDS=${1:-3}
MODES=${MODES:-aot-cold aot}
PINGS=${PINGS:-200}
SECONDS_IPERF=${SECONDS_IPERF:-5}
# shellcheck source=../bin/lib/jdk.sh
. "$ROOT/bin/lib/jdk.sh"
# shellcheck source=../bin/lib/archive.sh
. "$ROOT/bin/lib/archive.sh"

say() { echo "warmup: $*" >&2; }
die() { say "$*"; exit 1; }
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a whole number, not '$ROUNDS'"
[ "$(id -u)" = 0 ] || die "needs root (it creates network namespaces and interfaces)"
for c in ip iperf3 ping unshare; do command -v "$c" >/dev/null || die "needs $c"; done
JDK=$(find_jdk)
[ -n "$JDK" ] || die "$NO_JDK_MESSAGE"
JAVA="$JDK/bin/java"
JAR="$ROOT/target/patchcord.jar"
[ -f "$JAR" ] || die "$JAR is missing: build it first (mvn -o -DskipTests package)"

WORK=$(mktemp -d /tmp/pcwarm.XXXXXX)
NA="" NB="" PIDS=()
stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  set +e
  stop_all
  [ -n "$NA" ] && ip netns del "$NA" 2>/dev/null
  [ -n "$NB" ] && ip netns del "$NB" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq 20); do
  t=$(printf '%04x' $((RANDOM)))
  if ip netns add "pcwarm$t-a" 2>/dev/null; then NA="pcwarm$t-a"; TAG=$t; break; fi
done
[ -n "$NA" ] || die "could not create a namespace"
NB="pcwarm$TAG-b"
ip netns add "$NB"
ip link add "pcwa$TAG" netns "$NA" type veth peer name "pcwb$TAG" netns "$NB"
ip -n "$NA" addr add 198.18.0.1/24 dev "pcwa$TAG"
ip -n "$NB" addr add 198.18.0.2/24 dev "pcwb$TAG"
for ns in "$NA" "$NB"; do ip -n "$ns" link set lo up; done
ip -n "$NA" link set "pcwa$TAG" up
ip -n "$NB" link set "pcwb$TAG" up

# The start-up files of the cds and aot modes, both from a training run of this jar (the cache
# as the launcher makes it; the archive as the launcher made it before).
OPTS=(-XX:+UseSerialGC)
say "making the AOT cache and the class-data-sharing archive (two training runs)"
make_cache "$JAVA" "$JAR" "$WORK/patchcord.aot" "${OPTS[@]}" || die "training failed: $(cat "$WORK/patchcord.aot.log")"
scratch=$(mktemp -d "$WORK/train.XXXXXX")
PATCHCORD_RUN_DIR="$scratch" PATCHCORD_SOCKET_DIR="$scratch" timeout -k 5 180 unshare --net "$JAVA" "${OPTS[@]}" \
  -XX:ArchiveClassesAtExit="$WORK/patchcord.jsa" "${AOT_QUIET[@]}" -jar "$JAR" lab train "$scratch" >"$WORK/jsa.log" 2>&1 \
  || die "training for the archive failed: $(cat "$WORK/jsa.log")"
mode_opts() { # mode: sets MODE_OPTS (the JVM's) and MODE_ARGS (up's)
  MODE_ARGS=(--no-warm-up)
  case $1 in
    none) MODE_OPTS=() ;;
    cds) MODE_OPTS=(-XX:SharedArchiveFile="$WORK/patchcord.jsa" "${AOT_QUIET[@]}") ;;
    aot-cold) MODE_OPTS=(-XX:AOTCache="$WORK/patchcord.aot" "${AOT_QUIET[@]}") ;;
    aot) MODE_OPTS=(-XX:AOTCache="$WORK/patchcord.aot" "${AOT_QUIET[@]}"); MODE_ARGS=() ;;
    *) die "unknown mode $1" ;;
  esac
}

KA=$("$JAVA" -jar "$JAR" genkey); KB=$("$JAVA" -jar "$JAR" genkey)
PA=$("$JAVA" -jar "$JAR" pubkey <<<"$KA"); PB=$("$JAVA" -jar "$JAR" pubkey <<<"$KB")
mkdir -p "$WORK/a" "$WORK/b"
conf() { # file key address peer-key peer-address peer-endpoint
  printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\nAddress = %s/24\n[Peer]\nPublicKey = %s\nAllowedIPs = %s/32\nEndpoint = %s:51820\n' \
    "$2" "$3" "$4" "$5" "$6" >"$1"
  chmod 600 "$1"
}
conf "$WORK/a/pcwt$TAG.conf" "$KA" 10.99.0.1 "$PB" 10.99.0.2 198.18.0.2
conf "$WORK/b/pcwt$TAG.conf" "$KB" 10.99.0.2 "$PA" 10.99.0.1 198.18.0.1

# start NS SIDE MODE: starts one side; appends the milliseconds from exec to its ready line to
# MODE.ready, and the CPU time the JVM had used by then (user and system, all its threads, the JIT
# compiler's included: less at the mercy of other load than the wall-clock time) to MODE.cpu.
start() {
  local ns=$1 side=$2 mode=$3 fifo="$WORK/$2.fifo" begin end="" line
  rm -f "$fifo"; mkfifo "$fifo"
  mode_opts "$mode"
  begin=$(date +%s%N)
  PATCHCORD_RUN_DIR="$WORK/$side" PATCHCORD_SOCKET_DIR="$WORK/$side" ip netns exec "$ns" "$JAVA" "${OPTS[@]}" \
    "${MODE_OPTS[@]}" -jar "$JAR" up --foreground "${MODE_ARGS[@]}" "$WORK/$side/pcwt$TAG.conf" 2>"$fifo" >/dev/null &
  PIDS+=($!)
  exec {fd}<"$fifo"
  while IFS= read -r -t 60 line <&"$fd"; do
    case $line in *"(ready "*) end=$(date +%s%N); break ;; esac
  done
  # The rest of its output is read (and dropped) in the background, so that it never blocks.
  cat <&"$fd" >/dev/null &
  exec {fd}<&-
  [ -n "$end" ] || die "no ready line from side $side ($mode)"
  local stat
  read -r -a stat <"/proc/${PIDS[-1]}/stat"   # ip netns exec execs the JVM: same process
  echo $(( (stat[13] + stat[14]) * 1000 / $(getconf CLK_TCK) )) >>"$WORK/$mode.cpu"
  echo $(( (end - begin) / 1000000 )) >>"$WORK/$mode.ready"
}

# pair MODE: starts both sides, one after the other.
pair() {
  start "$NA" a "$1"
  start "$NB" b "$1"
}

# avg p99 max of the numbers on standard input (p99 by nearest rank)
pstats() {
  sort -g | awk '{ t[NR] = $1; s += $1 } END {
    k = int(0.99 * NR); if (k < 0.99 * NR) k++
    printf "%.2f %.2f %.2f\n", s / NR, t[k], t[NR] }'
}
# median p90 of the numbers on standard input
mstats() {
  sort -n | awk '{ t[NR] = $1 } END {
    m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
    k = int(0.9 * NR); if (k < 0.9 * NR) k++
    printf "%d %d\n", m, t[k] }'
}

say "$ROUNDS rounds of modes '$MODES'; $(nproc) cores, load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
iperf_pid=""
for round in $(seq "$ROUNDS"); do
  for mode in $MODES; do
    # Cold ping: every reply's time; a lost ping counts as nothing here and shows in the count.
    pair "$mode"
    ip netns exec "$NA" ping -n -c "$PINGS" -i 0.01 -W 1 10.99.0.2 2>/dev/null \
      | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' >>"$WORK/$mode.ping" || true
    stop_all
    # Cold throughput: the first seconds of one TCP stream.
    pair "$mode"
    ip netns exec "$NB" iperf3 -s -1 -B 10.99.0.2 >/dev/null 2>&1 &
    iperf_pid=$!
    for _ in $(seq 100); do ip netns exec "$NB" ss -ltn 2>/dev/null | grep -q ':5201 ' && break; sleep 0.05; done
    ip netns exec "$NA" iperf3 -c 10.99.0.2 -t "$SECONDS_IPERF" -i 1 -f g 2>/dev/null \
      | awk '/sec/ && !/sender|receiver/ { for (i = 1; i <= NF; i++) if ($i == "Gbits/sec") printf "%s ", $(i - 1) } END { print "" }' \
      >>"$WORK/$mode.iperf" || true
    wait "$iperf_pid" 2>/dev/null || true
    stop_all
    say "round $round $mode: ready $(tail -n 2 "$WORK/$mode.ready" | tr '\n' ' ')ms, CPU $(tail -n 2 "$WORK/$mode.cpu" | tr '\n' ' ')ms; iperf3 per second: $(tail -n 1 "$WORK/$mode.iperf")"
  done
done

echo "- command: \`bench/warmup.sh $ROUNDS\`; date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; load average $(cut -d ' ' -f 1-3 /proc/loadavg) at the end"
echo
echo "| start-up | ready median (ms) | ready p90 (ms) | CPU to ready median (ms) | cold ping avg (ms) | p99 (ms) | max (ms) | replies | iperf3 Gbit/s, seconds 1-$SECONDS_IPERF (mean of rounds) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
for mode in $MODES; do
  read -r med p90 <<<"$(mstats <"$WORK/$mode.ready")"
  read -r cpu _ <<<"$(mstats <"$WORK/$mode.cpu")"
  read -r avg p99 max <<<"$(pstats <"$WORK/$mode.ping")"
  replies="$(wc -l <"$WORK/$mode.ping")/$((PINGS * ROUNDS))"
  per_second=$(awk '{ for (i = 1; i <= NF; i++) { s[i] += $i; n[i]++ } if (NF > w) w = NF }
    END { for (i = 1; i <= w; i++) printf "%s%.2f", (i > 1 ? ", " : ""), s[i] / n[i] }' "$WORK/$mode.iperf")
  echo "| $mode | $med | $p90 | $cpu | $avg | $p99 | $max | $replies | $per_second |"
done
