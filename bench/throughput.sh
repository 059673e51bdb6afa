#!/usr/bin/env bash
# Throughput, packet rate, latency and CPU cost of every tunnel, between two private network
# namespaces joined by a veth pair, all in one run, so that the ratios compare like with like on
# this machine. Rows (names for ROWS):
#
#   veth          the bare veth pair, no tunnel
#   tinyvpn       patchcord tinyvpn (plain L3 over UDP)
#   tap2tap       patchcord tap2tap (plain L2 over UDP)
#   wg-udp        patchcord up: WireGuard over UDP (encrypted)
#   wg-tcp        patchcord up, Transport = tcp
#   wg-tap        patchcord up, Mode = tap (encrypted L2)
#   wireguard-go  the current wireguard-go (0.0.20250522, with batching and offloads; WIREGUARD_GO),
#                 configured with wg (encrypted): the reference the ratios are taken against
#   wireguard-go-debian  Debian 12's wireguard-go (0.0.20220316, no batching), configured with wg
#   fastd         fastd, method "aes128-gcm", TUN mode (encrypted)
#   fastd-null    fastd, method "null", TUN mode (plain)
#
# Each row measures, from namespace A to an address in namespace B through that row's path:
# iperf3 TCP with 1 and with 4 streams (Gbit/s received), iperf3 UDP with 64-byte payloads sent as
# fast as iperf3 can (packets per second received, and the share lost), ping round-trip time
# (average and 99th percentile of 300 pings 10 ms apart) and the CPU time of the tunnel's own
# processes, both ends, per Gbit carried during the 1-stream TCP run.
#
#   sudo bench/throughput.sh [SECONDS]        (default 5 seconds per measurement)
#
# Environment:
#   WARM_UP=6              seconds of unmeasured TCP traffic through every tunnel first (0: cold)
#   ROWS=veth,fastd,...    only these rows ("all", the default; "patchcord" for its five rows)
#   PATCHCORD_JAVA_OPTS    JVM options for the patchcord processes (read by bin/patchcord)
#   PATCHCORD_EXTRA        lines added to the [Interface] of the wg-udp, wg-tcp and wg-tap
#                          configurations (several lines: separate them with newlines or "\n")
#   WIREGUARD_GO           the current wireguard-go's binary (default: the build kept beside the
#                          project, ../shared/anchors/wireguard-go-0.0.20250522)
#
# Prints a markdown table on stdout and progress on stderr. Needs root, iproute2, iperf3, ping
# and coreutils; the wireguard-go rows need wireguard-tools (wg) and their binary (WIREGUARD_GO;
# Debian's wireguard-go), the fastd rows fastd. A row whose program is missing is skipped with a note.
set -euo pipefail

# The command line as given, before defaults are filled in, for the report.
quote() { # a word as a shell would need it: bare when safe, else in single quotes
  if [[ $1 =~ ^[A-Za-z0-9_.,:/=+@%-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}
COMMAND_LINE=$(
  for v in WARM_UP ROWS PATCHCORD_JAVA_OPTS PATCHCORD_EXTRA WIREGUARD_GO; do
    if [ -n "${!v:-}" ]; then printf '%s=%s ' "$v" "$(quote "${!v}")"; fi
  done
  quote "$0"; for a in "$@"; do printf ' %s' "$(quote "$a")"; done
)
START_TIME=$(date +%s)

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
SECONDS_PER_RUN=${1:-5}
WARM_UP=${WARM_UP:-6}
ROWS=${ROWS:-all}
PATCHCORD_EXTRA=${PATCHCORD_EXTRA:-}
PATCHCORD="$ROOT/bin/patchcord"
WIREGUARD_GO=${WIREGUARD_GO:-$ROOT/../shared/anchors/wireguard-go-0.0.20250522}
# Its version names its row ("v0.0.20250522" -> "0.0.20250522"), so a table says what it measured.
WG_GO_VERSION=$("$WIREGUARD_GO" --version 2>/dev/null | awk 'NR == 1 { sub(/^v/, "", $2); print $2 }' || true)
WG_GO_VERSION=${WG_GO_VERSION:-current}
PINGS=300 PING_INTERVAL=0.01
UDP_PAYLOAD=64

ALL_ROWS=(veth tinyvpn tap2tap wg-udp wg-tcp wg-tap wireguard-go wireguard-go-debian fastd fastd-null)
PATCHCORD_ROWS=(tinyvpn tap2tap wg-udp wg-tcp wg-tap)
declare -A LABEL=(
  [veth]="veth (no tunnel)"
  [tinyvpn]="patchcord tinyvpn (plain L3)"
  [tap2tap]="patchcord tap2tap (plain L2)"
  [wg-udp]="patchcord WireGuard (encrypted, UDP)"
  [wg-tcp]="patchcord WireGuard over TCP"
  [wg-tap]="patchcord WireGuard TAP (L2)"
  [wireguard-go]="wireguard-go $WG_GO_VERSION (encrypted)"
  [wireguard-go-debian]="wireguard-go 0.0.20220316, Debian (encrypted)"
  [fastd]="fastd aes128-gcm (encrypted)"
  [fastd-null]="fastd null (plain)"
)

say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }

[[ $SECONDS_PER_RUN =~ ^[1-9][0-9]*$ ]] || die "SECONDS must be a whole number of seconds, not '$SECONDS_PER_RUN'"
[[ $WARM_UP =~ ^[0-9]+$ ]] || die "WARM_UP must be a whole number of seconds, not '$WARM_UP'"
[ "$(id -u)" = 0 ] || die "needs root (it creates network namespaces)"
for c in ip iperf3 ping timeout; do command -v $c >/dev/null || die "needs $c"; done

# The rows to run, in the table's order.
declare -A WANTED=()
IFS=',' read -r -a requested <<<"$ROWS"
for r in "${requested[@]}"; do
  r=${r// /}
  case $r in
    all) for x in "${ALL_ROWS[@]}"; do WANTED[$x]=1; done ;;
    patchcord) for x in "${PATCHCORD_ROWS[@]}"; do WANTED[$x]=1; done ;;
    "") ;;
    *) [ -n "${LABEL[$r]:-}" ] || die "unknown row '$r' in ROWS (rows: ${ALL_ROWS[*]}; or all, patchcord)"
       WANTED[$r]=1 ;;
  esac
done
SELECTED=()
NOTES=()
for r in "${ALL_ROWS[@]}"; do
  [ -n "${WANTED[$r]:-}" ] || continue
  case $r in
    wireguard-go)
      if [ ! -x "$WIREGUARD_GO" ] || ! command -v wg >/dev/null; then
        say "the current wireguard-go ($WIREGUARD_GO) or wg is missing (skipping its row; set WIREGUARD_GO)"
        NOTES+=("current wireguard-go row skipped: $WIREGUARD_GO or wg (wireguard-tools) missing; set WIREGUARD_GO to its binary")
        continue
      fi ;;
    wireguard-go-debian)
      if ! command -v wireguard-go >/dev/null || ! command -v wg >/dev/null; then
        say "wireguard-go or wg is not installed: apt-get install wireguard-go wireguard-tools (skipping its row)"
        NOTES+=("Debian wireguard-go row skipped: wireguard-go or wg not installed (apt-get install wireguard-go wireguard-tools)")
        continue
      fi ;;
    fastd|fastd-null)
      if ! command -v fastd >/dev/null; then
        say "fastd is not installed: apt-get install fastd (skipping the $r row)"
        NOTES+=("$r row skipped: fastd not installed (apt-get install fastd)")
        continue
      fi ;;
  esac
  SELECTED+=("$r")
done
[ ${#SELECTED[@]} -gt 0 ] || die "no row to run (ROWS=$ROWS)"

# ---- everything this run creates, and its removal (on any exit, Ctrl-C included) ----------------

WORK=$(mktemp -d /tmp/pcbench.XXXXXX)
PIDS=()        # every background process started and not yet collected
TPIDS=()       # the current row's tunnel processes (both ends), for the CPU figure
NAMESPACES=()  # namespaces this run created
SOCKETS=()     # UAPI sockets the current row's userspace WireGuard processes create

forget() { # PID: drop it from PIDS once it has been collected
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# Waits up to TENTHS tenths of a second for a child to end, then kills it, and collects it.
finish() { # pid tenths
  for _ in $(seq "$2"); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# Ends every process this script started (by PID), so the next row has the machine to itself.
stop_spawned() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do finish "$p" 50; done
  PIDS=(); TPIDS=()
  for p in "${SOCKETS[@]}"; do rm -f "$p"; done
  SOCKETS=()
}

cleanup() {
  set +e
  trap - INT TERM HUP
  stop_spawned
  local ns p
  for ns in "${NAMESPACES[@]}"; do   # anything still inside our own namespaces was started by us
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  done
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

TAG=""
for _ in $(seq 20); do
  t=$(printf '%04x' $((RANDOM)))
  if ip netns add "pcbench$t-a" 2>/dev/null; then TAG=$t; NAMESPACES+=("pcbench$t-a"); break; fi
done
[ -n "$TAG" ] || die "could not create a namespace"
NA="pcbench$TAG-a" NB="pcbench$TAG-b"
ip netns add "$NB"; NAMESPACES+=("$NB")
VA="pcb${TAG}a" VB="pcb${TAG}b"
ip link add "$VA" netns "$NA" type veth peer name "$VB" netns "$NB"
ip -n "$NA" addr add 198.18.0.1/24 dev "$VA"; ip -n "$NB" addr add 198.18.0.2/24 dev "$VB"
for n in "$NA" "$NB"; do ip -n "$n" link set lo up; done
ip -n "$NA" link set "$VA" up; ip -n "$NB" link set "$VB" up

# ---- helpers -------------------------------------------------------------------------------------

# Starts a tunnel process in a namespace (its output in WORK/LOG.log) and remembers its PID.
# `ip netns exec`, `env` and bin/patchcord all exec, so the PID is the tunnel's own.
spawn_tunnel() { # ns log command...
  local ns=$1 log=$2; shift 2
  ip netns exec "$ns" "$@" >"$WORK/$log.log" 2>&1 &
  PIDS+=($!); TPIDS+=($!)
}

# Runs a command in the background with a time limit and waits for it; a signal interrupts the
# wait at once and the clean-up ends the command by its PID.
bounded() { # seconds output-file command...
  local limit=$1 out=$2 p; shift 2
  timeout -k 2 "$limit" "$@" >"$out" 2>&1 &
  p=$!; PIDS+=("$p")
  wait "$p" || true
  forget "$p"
}

wait_for_link() { # ns ifname: at most 10 s, and only while the row's tunnel processes run
  local p
  for _ in $(seq 200); do
    ip -n "$1" link show "$2" >/dev/null 2>&1 && return 0
    for p in "${TPIDS[@]}"; do kill -0 "$p" 2>/dev/null || { say "a tunnel process ended early"; return 1; }; done
    sleep 0.05
  done
  say "$2 did not appear in $1"; return 1
}

# Until one ping through the path is answered (handshakes done), at most 20 s.
wait_for_path() { # addr
  for _ in $(seq 20); do
    ip netns exec "$NA" ping -c 1 -W 1 -q "$1" >/dev/null 2>&1 && return 0
  done
  say "no answer from $1 through the tunnel"; return 1
}

PORT=5200
# iperf3 from A to ADDR in B (a one-off server in B); the client's JSON goes to OUT.
iperf() { # addr out client-options...
  local addr=$1 out=$2 server; shift 2
  PORT=$((PORT + 1))
  ip netns exec "$NB" timeout -k 2 $((SECONDS_PER_RUN + WARM_UP + 40)) \
    iperf3 -s -1 -B "$addr" -p "$PORT" >/dev/null 2>&1 &
  server=$!; PIDS+=("$server")
  for _ in $(seq 100); do
    ip netns exec "$NB" ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q . && break; sleep 0.05
  done
  bounded $((SECONDS_PER_RUN + WARM_UP + 30)) "$out" \
    ip netns exec "$NA" iperf3 -c "$addr" -p "$PORT" -J "$@"
  # The server ends after its one test; if the test never started, it is ended here.
  kill -0 "$server" 2>/dev/null && sleep 0.5
  kill "$server" 2>/dev/null || true
  finish "$server" 30
  forget "$server"
}

# A number from the last "SECTION": { ... } object of an iperf3 JSON file; empty if absent.
json_field() { # file section field
  tr -d '\n' <"$1" | sed -n "s/.*\"$2\":[[:space:]]*{[^}]*\"$3\":[[:space:]]*\([-0-9.eE+]*\).*/\1/p"
}

# CPU clock ticks (user + system, all threads) used so far by the current row's tunnel processes.
cpu_ticks() {
  local total=0 p stat f
  for p in "${TPIDS[@]}"; do
    stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -r -a f <<<"${stat##*) }"   # after the command name: field 3 onwards
    total=$((total + f[11] + f[12]))   # fields 14 (utime) and 15 (stime)
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)

declare -A TCP1=() TCP4=() CPU=() PPS=() LOST=() PAVG=() P99=() FAILED=()

# Everything measured for one row, through ADDR in B.
measure_row() { # row addr tunnel(0/1)
  local row=$1 addr=$2 tunnel=$3 f="$WORK/out.json" bytes bps secs pkts lost t0 t1
  if [ "$tunnel" = 1 ]; then
    wait_for_path "$addr" || return 1
    local names=() p
    for p in "${TPIDS[@]}"; do names+=("$(cat "/proc/$p/comm" 2>/dev/null) $p"); done
    say "  tunnel processes: $(IFS=,; echo "${names[*]}" | sed 's/,/, /g')"
    if [ "$WARM_UP" -gt 0 ]; then
      say "  warm-up ${WARM_UP} s"
      iperf "$addr" "$f" -t "$WARM_UP"
    fi
  fi

  # Latency first, on an idle path: per-packet times, average and nearest-rank 99th percentile.
  bounded $((PINGS / 50 + 20)) "$WORK/ping.txt" \
    ip netns exec "$NA" ping -n -c "$PINGS" -i "$PING_INTERVAL" -W 1 -w $((PINGS / 50 + 10)) "$addr"
  read -r PAVG[$row] P99[$row] < <(sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$WORK/ping.txt" | sort -n |
    awk '{ t[NR] = $1; s += $1 } END {
      if (NR == 0) { print "- -"; exit }
      k = int(0.99 * NR); if (k < 0.99 * NR) k++
      printf "%.3f %.3f\n", s / NR, t[k] }')
  local answered; answered=$(grep -c ' time=' "$WORK/ping.txt" || true)
  say "  ping: avg ${PAVG[$row]} ms, p99 ${P99[$row]} ms ($answered of $PINGS answered)"

  # TCP, one stream, with the tunnel processes' CPU time around it.
  t0=$(cpu_ticks)
  iperf "$addr" "$f" -t "$SECONDS_PER_RUN"
  t1=$(cpu_ticks)
  bps=$(json_field "$f" sum_received bits_per_second); bytes=$(json_field "$f" sum_received bytes)
  TCP1[$row]=$(awk -v b="${bps:-0}" 'BEGIN { printf "%.2f", b / 1e9 }')
  if [ "$tunnel" = 1 ]; then
    CPU[$row]=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v by="${bytes:-0}" \
      'BEGIN { g = by * 8 / 1e9; if (g > 0) printf "%.2f", t / hz / g; else print "-" }')
  else
    CPU[$row]="n/a"
  fi
  say "  TCP 1 stream: ${TCP1[$row]} Gbit/s, tunnel CPU ${CPU[$row]} s/Gbit"

  iperf "$addr" "$f" -t "$SECONDS_PER_RUN" -P 4
  bps=$(json_field "$f" sum_received bits_per_second)
  TCP4[$row]=$(awk -v b="${bps:-0}" 'BEGIN { printf "%.2f", b / 1e9 }')
  say "  TCP 4 streams: ${TCP4[$row]} Gbit/s"

  # UDP, small packets as fast as the iperf3 client sends them; what the server received.
  iperf "$addr" "$f" -t "$SECONDS_PER_RUN" -u -l "$UDP_PAYLOAD" -b 0
  secs=$(json_field "$f" sum_received seconds); pkts=$(json_field "$f" sum_received packets)
  lost=$(json_field "$f" sum_received lost_packets)
  read -r PPS[$row] LOST[$row] < <(awk -v s="${secs:-0}" -v p="${pkts:-0}" -v l="${lost:-0}" 'BEGIN {
    if (s > 0 && p > 0) printf "%.0f %.1f\n", (p - l) / s, 100 * l / p; else print "0 -" }')
  say "  UDP ${UDP_PAYLOAD} B: $(awk -v p="${PPS[$row]}" 'BEGIN { printf "%.1f", p / 1000 }') kpps received, ${LOST[$row]} % lost"
}

# ---- the tunnels ---------------------------------------------------------------------------------

KA="" KB="" PA="" PB=""
wg_keys() { # one WireGuard key pair per side, for every WireGuard row
  [ -z "$KA" ] || return 0
  if command -v wg >/dev/null; then
    KA=$(wg genkey); KB=$(wg genkey); PA=$(wg pubkey <<<"$KA"); PB=$(wg pubkey <<<"$KB")
  else
    KA=$("$PATCHCORD" genkey); KB=$("$PATCHCORD" genkey)
    PA=$("$PATCHCORD" pubkey <<<"$KA"); PB=$("$PATCHCORD" pubkey <<<"$KB")
  fi
}

setup_tinyvpn() {
  spawn_tunnel "$NA" tinyvpn-a "$PATCHCORD" tinyvpn pcbt0 198.18.0.2 5555
  spawn_tunnel "$NB" tinyvpn-b "$PATCHCORD" tinyvpn pcbt0 198.18.0.1 5555
  wait_for_link "$NA" pcbt0 && wait_for_link "$NB" pcbt0 || return 1
  ip -n "$NA" addr add 10.90.0.1/24 dev pcbt0 && ip -n "$NB" addr add 10.90.0.2/24 dev pcbt0 || return 1
  # tinyvpn leaves the TUN at 1500 bytes, so every datagram would be an IP fragment on a 1500-byte
  # underlay; 1472 (1500 less the IPv4 and UDP headers) is what an operator sets.
  ip -n "$NA" link set pcbt0 mtu 1472 && ip -n "$NB" link set pcbt0 mtu 1472 || return 1
  ADDR=10.90.0.2
}

setup_tap2tap() {
  spawn_tunnel "$NB" tap2tap-b "$PATCHCORD" tap2tap -i pcbp0
  spawn_tunnel "$NA" tap2tap-a "$PATCHCORD" tap2tap -i pcbp0 --remote 198.18.0.2
  wait_for_link "$NA" pcbp0 && wait_for_link "$NB" pcbp0 || return 1
  ip -n "$NA" addr add 10.91.0.1/24 dev pcbp0 && ip -n "$NB" addr add 10.91.0.2/24 dev pcbp0 || return 1
  ADDR=10.91.0.2
}

# patchcord's WireGuard mode, configured by wg-quick style files, plus PATCHCORD_EXTRA.
write_conf() { # file key address peer-key peer-address endpoint extra-lines
  cat >"$1" <<CONF
[Interface]
PrivateKey = $2
ListenPort = 51821
Address = $3/24
$7
$(printf '%b' "$PATCHCORD_EXTRA")

[Peer]
PublicKey = $4
AllowedIPs = $5/32
Endpoint = $6:51821
CONF
  chmod 600 "$1"
}

setup_patchcord_wg() { # letter subnet extra-lines
  wg_keys
  local ia="pc$1${TAG}a" ib="pc$1${TAG}b"
  write_conf "$WORK/$ia.conf" "$KA" "$2.1" "$PB" "$2.2" 198.18.0.2 "$3"
  write_conf "$WORK/$ib.conf" "$KB" "$2.2" "$PA" "$2.1" 198.18.0.1 "$3"
  SOCKETS+=("/var/run/wireguard/$ia.sock" "/var/run/wireguard/$ib.sock")
  spawn_tunnel "$NA" "$ia" "$PATCHCORD" up --foreground "$WORK/$ia.conf"
  spawn_tunnel "$NB" "$ib" "$PATCHCORD" up --foreground "$WORK/$ib.conf"
  wait_for_link "$NA" "$ia" && wait_for_link "$NB" "$ib" || return 1
  ADDR=$2.2
}
setup_wg-udp() { setup_patchcord_wg u 10.93.0 ""; }
setup_wg-tcp() { setup_patchcord_wg t 10.94.0 "Transport = tcp"; }
setup_wg-tap() { setup_patchcord_wg l 10.96.0 "Mode = tap"; }

setup_wireguard_go_binary() { # binary letter subnet
  wg_keys
  local wa="pcb$2${TAG}a" wb="pcb$2${TAG}b" net=$3   # the UAPI socket directory is shared by all namespaces
  SOCKETS+=("/var/run/wireguard/$wa.sock" "/var/run/wireguard/$wb.sock")
  spawn_tunnel "$NA" "$wa" env WG_PROCESS_FOREGROUND=1 "$1" -f "$wa"
  spawn_tunnel "$NB" "$wb" env WG_PROCESS_FOREGROUND=1 "$1" -f "$wb"
  wait_for_link "$NA" "$wa" && wait_for_link "$NB" "$wb" || return 1
  for _ in $(seq 100); do [ -S "/var/run/wireguard/$wa.sock" ] && [ -S "/var/run/wireguard/$wb.sock" ] && break; sleep 0.05; done
  ip netns exec "$NA" wg set "$wa" listen-port 51820 private-key <(echo "$KA") \
    peer "$PB" allowed-ips "$net.2/32" endpoint 198.18.0.2:51820 || return 1
  ip netns exec "$NB" wg set "$wb" listen-port 51820 private-key <(echo "$KB") \
    peer "$PA" allowed-ips "$net.1/32" endpoint 198.18.0.1:51820 || return 1
  ip -n "$NA" addr add "$net.1/24" dev "$wa" && ip -n "$NB" addr add "$net.2/24" dev "$wb" || return 1
  ip -n "$NA" link set "$wa" up && ip -n "$NB" link set "$wb" up || return 1
  ADDR=$net.2
}
setup_wireguard-go() { setup_wireguard_go_binary "$WIREGUARD_GO" w 10.92.0; }
setup_wireguard-go-debian() { setup_wireguard_go_binary "$(command -v wireguard-go)" d 10.99.0; }

# fastd: one key pair per side, TUN mode, one peer each with the other's veth address.
fastd_conf() { # file ifname method secret bind-address peer-key peer-address
  cat >"$1" <<CONF
log level warn;
mode tun;
interface "$2";
method "$3";
secret "$4";
mtu 1420;
bind $5:10001;
peer "other" {
  key "$6";
  remote $7:10001;
}
CONF
  chmod 600 "$1"
}

setup_fastd_method() { # letter method subnet
  local fa="pcf$1${TAG}a" fb="pcf$1${TAG}b" sa sb pa pb
  sa=$(fastd --generate-key --machine-readable 2>/dev/null); sb=$(fastd --generate-key --machine-readable 2>/dev/null)
  pa=$(printf 'secret "%s";\n' "$sa" | fastd -c - --show-key --machine-readable 2>/dev/null)
  pb=$(printf 'secret "%s";\n' "$sb" | fastd -c - --show-key --machine-readable 2>/dev/null)
  [ -n "$pa" ] && [ -n "$pb" ] || { say "fastd did not generate keys"; return 1; }
  fastd_conf "$WORK/$fa.conf" "$fa" "$2" "$sa" 198.18.0.1 "$pb" 198.18.0.2
  fastd_conf "$WORK/$fb.conf" "$fb" "$2" "$sb" 198.18.0.2 "$pa" 198.18.0.1
  spawn_tunnel "$NA" "$fa" fastd -c "$WORK/$fa.conf"
  spawn_tunnel "$NB" "$fb" fastd -c "$WORK/$fb.conf"
  wait_for_link "$NA" "$fa" && wait_for_link "$NB" "$fb" || return 1
  ip -n "$NA" addr add "$3.1/24" dev "$fa" && ip -n "$NB" addr add "$3.2/24" dev "$fb" || return 1
  ip -n "$NA" link set "$fa" up && ip -n "$NB" link set "$fb" up || return 1
  ADDR=$3.2
}
setup_fastd() { setup_fastd_method g aes128-gcm 10.97.0; }
setup_fastd-null() { setup_fastd_method n null 10.98.0; }

# ---- the run -------------------------------------------------------------------------------------

LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)
if awk -v l="${LOAD_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  say "the machine is busy (load average $LOAD_START on $(nproc) cores): the figures will be noisy"
fi
say "${#SELECTED[@]} rows (${SELECTED[*]}), ${SECONDS_PER_RUN} s per measurement, ${WARM_UP} s warm-up per tunnel; namespaces $NA / $NB"
i=0
for row in "${SELECTED[@]}"; do
  i=$((i + 1))
  say "[$i/${#SELECTED[@]}] ${LABEL[$row]}"
  ADDR=""
  ok=1
  if [ "$row" = veth ]; then
    measure_row veth 198.18.0.2 0 || ok=0
  elif "setup_$row"; then
    measure_row "$row" "$ADDR" 1 || ok=0
  else
    ok=0
  fi
  if [ "$ok" = 0 ]; then
    FAILED[$row]=1
    say "  $row failed; the last lines of its processes' output:"
    for l in "$WORK"/*.log; do [ -f "$l" ] && tail -n 5 "$l" | sed "s|^|    $(basename "$l" .log): |" >&2; done
  fi
  stop_spawned
  rm -f "$WORK"/*.log
done

# ---- the report ----------------------------------------------------------------------------------

version_of() { # command -> its version, one line
  case $1 in
    iperf3) iperf3 --version 2>/dev/null | head -n 1 | awk '{ print $2 }' ;;
    wireguard-go) "$2" --version 2>/dev/null | head -n 1 | awk '{ print $2 }' ;;
    fastd) fastd --version 2>/dev/null | awk '{ print $2 }' ;;
    java) # shellcheck source=../bin/lib/jdk.sh
      . "$ROOT/bin/lib/jdk.sh"; local j; j=$(find_jdk)
      [ -n "$j" ] && sed -n 's/^JAVA_VERSION="\(.*\)"/\1/p' "$j/release" ;;
  esac
}
best_of() { # metric-array-name -> the largest of the encrypted peers' figures, and whose
  local -n m=$1
  local r
  for r in wireguard-go wireguard-go-debian fastd; do
    [ -n "${m[$r]:-}" ] && echo "${m[$r]} $r"
  done | sort -k1,1gr | head -n 1 | grep . || echo "- -"
}
read -r BEST_TCP BEST_TCP_WHO < <(best_of TCP1)
read -r BEST_PPS BEST_PPS_WHO < <(best_of PPS)

VERSIONS="iperf3 $(version_of iperf3)"
for r in "${SELECTED[@]}"; do
  case $r in tinyvpn|tap2tap|wg-*) VERSIONS="JDK $(version_of java), $VERSIONS"; break ;; esac
done
[ -z "${WANTED[wireguard-go]:-}" ] || [ ! -x "$WIREGUARD_GO" ] || VERSIONS+=", wireguard-go $(version_of wireguard-go "$WIREGUARD_GO")"
[ -z "${WANTED[wireguard-go-debian]:-}" ] || ! command -v wireguard-go >/dev/null ||
  VERSIONS+=", Debian's wireguard-go $(version_of wireguard-go "$(command -v wireguard-go)")"
{ [ -z "${WANTED[fastd]:-}${WANTED[fastd-null]:-}" ] || ! command -v fastd >/dev/null; } || VERSIONS+=", fastd $(version_of fastd)"
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)

echo "- command: \`$COMMAND_LINE\`"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); kernel $(uname -r); CPU ${CPU_MODEL:-unknown}, $(nproc) cores; load average $LOAD_START at start, $(cut -d ' ' -f 1-3 /proc/loadavg) at the end"
echo "- $VERSIONS; ${SECONDS_PER_RUN} s per measurement, ${WARM_UP} s warm-up per tunnel"
echo
echo "| path | TCP 1 stream (Gbit/s) | TCP 4 streams (Gbit/s) | UDP ${UDP_PAYLOAD} B (kpps) | UDP lost | ping avg (ms) | ping p99 (ms) | CPU (s/Gbit) | TCP 1 vs wireguard-go $WG_GO_VERSION | TCP 1 vs best peer | TCP 1 vs veth | pps vs best peer |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for r in "${SELECTED[@]}"; do
  if [ -n "${FAILED[$r]:-}" ] && [ -z "${TCP1[$r]:-}" ]; then
    echo "| ${LABEL[$r]} | failed | | | | | | | | | | |"; continue
  fi
  awk -v name="${LABEL[$r]}" -v t1="${TCP1[$r]:-}" -v t4="${TCP4[$r]:-}" -v pps="${PPS[$r]:-}" \
      -v lost="${LOST[$r]:-}" -v pavg="${PAVG[$r]:-}" -v p99="${P99[$r]:-}" -v cpu="${CPU[$r]:-}" \
      -v wg="${TCP1[wireguard-go]:-}" -v best="$BEST_TCP" -v veth="${TCP1[veth]:-}" -v bestpps="$BEST_PPS" '
    function ratio(a, b, d) { return (a != "" && b != "" && b != "-" && b + 0 > 0) ? sprintf("%." d "f×", a / b) : "-" }
    function or_dash(x) { return x == "" ? "-" : x }
    BEGIN {
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, or_dash(t1), or_dash(t4),
        (pps == "" ? "-" : sprintf("%.1f", pps / 1000)), (lost == "" || lost == "-" ? "-" : lost " %"),
        or_dash(pavg), or_dash(p99), or_dash(cpu),
        ratio(t1, wg, 2), ratio(t1, best, 2), ratio(t1, veth, 3), ratio(pps, bestpps, 2) }'
done
echo
echo "Gbit/s received (iperf3 TCP, 1 and 4 streams); UDP: thousands of ${UDP_PAYLOAD}-byte datagrams a second" \
  "received while iperf3 sends as fast as it can (\`-b 0\`), and the share lost; ping: round-trip ms," \
  "average and 99th percentile of $PINGS pings ${PING_INTERVAL} s apart; CPU: user + system seconds of the" \
  "tunnel's processes on both ends per Gbit received in the 1-stream TCP run. Best peer: the best of" \
  "the encrypted peers (wireguard-go $WG_GO_VERSION, Debian's wireguard-go, fastd aes128-gcm) in this run" \
  "(TCP: ${BEST_TCP_WHO}, pps: ${BEST_PPS_WHO})."
for n in "${NOTES[@]}"; do echo; echo "$n"; done
say "finished in $(( $(date +%s) - START_TIME )) s"
