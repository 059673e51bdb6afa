#!/usr/bin/env bash
# Start-up time of patchcord's tunnels, from exec to a working interface: `patchcord up` (WireGuard,
# one peer, in the foreground) and `patchcord tinyvpn`, each started RUNS times in a private network
# namespace. A run's time is from just before the exec to the moment its "ready" line arrives on the
# pipe from its standard error (the line is printed once the interface is up and the tunnel runs).
#
#   sudo bench/startup.sh [RUNS]        (default 20)
#
# Prints, per tunnel, the median, the 90th percentile (nearest rank), the minimum and the maximum in
# milliseconds, and whether the launcher's AOT cache (target/patchcord.aot) was in place (or, where
# no training run could make one, its fallback class-data-sharing archive, target/patchcord.jsa).
# Environment: PATCHCORD (default bin/patchcord: the launcher of this tree, or the installed
# /usr/bin/patchcord), PATCHCORD_JAVA_OPTS (passed on). Needs root and iproute2.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
RUNS=${1:-20}
PATCHCORD=${PATCHCORD:-$ROOT/bin/patchcord}

say() { echo "startup: $*" >&2; }
die() { say "$*"; exit 1; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a whole number, not '$RUNS'"
[ "$(id -u)" = 0 ] || die "needs root (it creates a network namespace and interfaces)"
command -v ip >/dev/null || die "needs ip (apt-get install iproute2)"

WORK=$(mktemp -d /tmp/pcstart.XXXXXX)
NS="" PID=""
cleanup() {
  set +e
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
  [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq 20); do
  t=$(printf '%04x' $((RANDOM)))
  if ip netns add "pcstart$t" 2>/dev/null; then NS="pcstart$t"; TAG=$t; break; fi
done
[ -n "$NS" ] || die "could not create a namespace"
ip -n "$NS" link set lo up

# The launcher builds the jar if needed and, on its first run, makes the AOT cache; neither
# belongs in the figures, so one unmeasured run comes first.
"$PATCHCORD" --version >/dev/null

KEY=$("$PATCHCORD" genkey)
PEER=$("$PATCHCORD" genkey | "$PATCHCORD" pubkey)
IFUP="pcsu$TAG"
cat >"$WORK/$IFUP.conf" <<CONF
[Interface]
PrivateKey = $KEY
ListenPort = 51830
Address = 10.77.0.1/24

[Peer]
PublicKey = $PEER
AllowedIPs = 10.77.0.2/32
Endpoint = 127.0.0.1:51831
CONF
chmod 600 "$WORK/$IFUP.conf"

# One start: the milliseconds from exec to the "ready" line, then a clean stop (SIGTERM) that is
# waited for, so the next run starts on a quiet machine and the interface name is free again.
once() { # command...
  local fifo="$WORK/stderr" start end line
  rm -f "$fifo"; mkfifo "$fifo"
  start=$(date +%s%N)
  ip netns exec "$NS" "$@" 2>"$fifo" >/dev/null &
  PID=$!
  exec 3<"$fifo"
  end=""
  while IFS= read -r -t 30 line <&3; do
    case $line in *"ready "*) end=$(date +%s%N); break ;; esac
  done
  kill "$PID" 2>/dev/null || true
  cat <&3 >/dev/null   # the rest of its output, up to its exit
  exec 3<&-
  wait "$PID" 2>/dev/null || true
  PID=""
  [ -n "$end" ] || die "no ready line from: $*"
  echo $(( (end - start) / 1000000 ))
}

# median p90 min max of the numbers on standard input
stats() {
  sort -n | awk '{ t[NR] = $1 } END {
    m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
    k = int(0.9 * NR); if (k < 0.9 * NR) k++
    printf "%d %d %d %d\n", m, t[k], t[1], t[NR] }'
}

CACHE="$ROOT/target/patchcord.aot"
ARCHIVE="$ROOT/target/patchcord.jsa"
say "$RUNS runs each in namespace $NS, $(nproc) cores, load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
declare -A RESULT=()
for what in up tinyvpn; do
  : >"$WORK/$what.times"
  for i in $(seq "$RUNS"); do
    case $what in
      up) once "$PATCHCORD" up --foreground "$WORK/$IFUP.conf" >>"$WORK/$what.times" ;;
      tinyvpn) once "$PATCHCORD" tinyvpn "pcst$TAG" 127.0.0.1 5555 >>"$WORK/$what.times" ;;
    esac
    say "$what run $i: $(tail -n 1 "$WORK/$what.times") ms"
  done
  RESULT[$what]=$(stats <"$WORK/$what.times")
done

echo "- command: \`bench/startup.sh $RUNS\` ($PATCHCORD)"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; load average $(cut -d ' ' -f 1-3 /proc/loadavg) at the end"
if [ "$PATCHCORD" = "$ROOT/bin/patchcord" ]; then
  if [ -f "$CACHE" ]; then echo "- AOT cache: $CACHE"
  elif [ -f "$ARCHIVE" ]; then echo "- class-data-sharing archive: $ARCHIVE"
  else echo "- no AOT cache or class-data-sharing archive"; fi
fi
echo
echo "| tunnel | median (ms) | p90 (ms) | min (ms) | max (ms) |"
echo "|---|---:|---:|---:|---:|"
for what in up tinyvpn; do
  read -r med p90 min max <<<"${RESULT[$what]}"
  case $what in up) label="patchcord up (WireGuard, one peer)" ;; tinyvpn) label="patchcord tinyvpn" ;; esac
  echo "| $label | $med | $p90 | $min | $max |"
done
