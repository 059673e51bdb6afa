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
# Each row measures, from namespace A to an address in namespace B through that row's path, in
# this order:
#   1. cold ping: as soon as one ping through a tunnel is answered (which proves its handshake done;
#      that ping is not counted), with no other traffic before, PINGS pings PING_INTERVAL apart;
#   2. WARM_UP seconds of unmeasured TCP traffic (tunnels only);
#   3. iperf3 TCP with 1 and with 4 streams (Gbit/s received), with the CPU time of the tunnel's own
#      processes, both ends, per Gbit carried during the 1-stream run;
#   4. iperf3 UDP with 64-byte payloads sent as fast as iperf3 can (packets per second received,
#      and the share lost);
#   5. warm ping: PINGS more, the path idle again.
# Each ping series gives the round trip's average, 99th percentile (nearest rank) and maximum, and
# how many of the PINGS took over SLOW_MS or went unanswered.
#
#   sudo bench/throughput.sh [SECONDS]        (default 5 seconds per measurement)
#
# Environment:
#   WARM_UP=6              seconds of unmeasured TCP traffic through every tunnel after the cold
#                          ping, before the throughput runs (0: none)
#   PINGS=200              echo requests in each of the cold and the warm ping series
#   PING_INTERVAL=0.01     seconds between them
#   SLOW_MS=5              a ping slower than this (or unanswered) is counted in the table
#   ROWS=veth,fastd,...    only these rows ("all", the default; "patchcord" for its five rows)
#   PATCHCORD_JAVA_OPTS    JVM options for the patchcord processes (read by bin/patchcord)
#   PATCHCORD_EXTRA        lines added to the [Interface] of the wg-udp, wg-tcp and wg-tap
#                          configurations (several lines: separate them with newlines or "\n")
#   WIREGUARD_GO           the current wireguard-go's binary (default: the build kept beside the
#                          project, ../shared/anchors/wireguard-go-0.0.20250522)
#
# Prints a markdown table on stdout and progress on stderr. "Best peer" is the best figure of the
# encrypted peers that ran (both wireguard-go rows and fastd aes128-gcm). Needs root, iproute2,
# iperf3, ping and coreutils; the wireguard-go rows need wireguard-tools (wg) and their binary
# (WIREGUARD_GO; Debian's wireguard-go), the fastd rows fastd. A row whose program is missing is
# skipped with a note under the table. The namespaces, processes and their clean-up are in
# bench/lib/tunnels.sh, shared with bench/scaling.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
# shellcheck source=lib/tunnels.sh
. "$ROOT/bench/lib/tunnels.sh"
COMMAND_LINE=$(command_line "WARM_UP ROWS PINGS PING_INTERVAL SLOW_MS PATCHCORD_JAVA_OPTS PATCHCORD_EXTRA WIREGUARD_GO" "$0" "$@")
START_TIME=$(date +%s)

SECONDS_PER_RUN=${1:-5}
WARM_UP=${WARM_UP:-6}
ROWS=${ROWS:-all}
PATCHCORD_EXTRA=${PATCHCORD_EXTRA:-}
PATCHCORD="$ROOT/bin/patchcord"
WIREGUARD_GO=${WIREGUARD_GO:-$ROOT/../shared/anchors/wireguard-go-0.0.20250522}
# Its version names its row ("v0.0.20250522" -> "0.0.20250522"), so a table says what it measured.
WG_GO_VERSION=$("$WIREGUARD_GO" --version 2>/dev/null | awk 'NR == 1 { sub(/^v/, "", $2); print $2 }' || true)
WG_GO_VERSION=${WG_GO_VERSION:-current}
PINGS=${PINGS:-200} PING_INTERVAL=${PING_INTERVAL:-0.01} SLOW_MS=${SLOW_MS:-5}
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
[[ $PINGS =~ ^[1-9][0-9]*$ ]] || die "PINGS must be a whole number, not '$PINGS'"
[[ $PING_INTERVAL =~ ^[0-9]*\.?[0-9]+$ ]] || die "PING_INTERVAL must be a number of seconds, not '$PING_INTERVAL'"
[[ $SLOW_MS =~ ^[0-9]*\.?[0-9]+$ ]] || die "SLOW_MS must be a number of milliseconds, not '$SLOW_MS'"
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

# ---- the namespaces, and their removal (on any exit, Ctrl-C included) ---------------------------

start_namespaces pcbench

# ---- helpers -------------------------------------------------------------------------------------

# CPU clock ticks (user + system, all threads) used so far by the current row's tunnel processes.
cpu_ticks() {
  local total=0 p stat fields
  for p in "${TPIDS[@]}"; do
    stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -r -a fields <<<"${stat##*) }"   # after the command name: field 3 onwards
    total=$((total + fields[11] + fields[12]))   # fields 14 (utime) and 15 (stime)
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)

declare -A TCP1=() TCP4=() CPU=() PPS=() LOST=() FAILED=()
declare -A COLD_AVG=() COLD_P99=() COLD_MAX=() COLD_SLOW=() WARM_AVG=() WARM_P99=() WARM_MAX=() WARM_SLOW=()

# PINGS pings PING_INTERVAL apart through ADDR; the figures go to the arrays named PHASE_AVG,
# PHASE_P99, PHASE_MAX and PHASE_SLOW under ROW.
measure_ping() { # row addr phase(COLD/WARM)
  local -n avg="$3_AVG" p99="$3_P99" max="$3_MAX" slow="$3_SLOW"
  local a b c d answered
  read -r a b c d answered < <(ping_stats "$2" "$PINGS" "$PING_INTERVAL" "$SLOW_MS")
  # shellcheck disable=SC2034 # namerefs to the global arrays
  avg[$1]=$a p99[$1]=$b max[$1]=$c slow[$1]=$d
  say "  ping, ${3,,}: avg $a ms, p99 $b ms, max $c ms ($answered of $PINGS answered, $d over $SLOW_MS ms or lost)"
}

# Everything measured for one row, through ADDR in B.
measure_row() { # row addr tunnel(0/1)
  local row=$1 addr=$2 tunnel=$3 f="$WORK/out.json" bytes secs pkts lost t0 t1
  if [ "$tunnel" = 1 ]; then
    wait_for_path "$addr" || return 1
    local names=() p
    for p in "${TPIDS[@]}"; do names+=("$(cat "/proc/$p/comm" 2>/dev/null) $p"); done
    local list; list=$(IFS=,; echo "${names[*]}")
    say "  tunnel processes: ${list//,/, }"
  fi

  # Cold: the tunnel has carried one answered ping (the handshake's proof) and nothing else.
  measure_ping "$row" "$addr" COLD
  if [ "$tunnel" = 1 ] && [ "$WARM_UP" -gt 0 ]; then
    say "  warm-up ${WARM_UP} s"
    iperf "$addr" "$f" -t "$WARM_UP"
  fi

  # TCP, one stream, with the tunnel processes' CPU time around it.
  t0=$(cpu_ticks)
  iperf "$addr" "$f" -t "$SECONDS_PER_RUN"
  t1=$(cpu_ticks)
  bytes=$(json_field "$f" sum_received bytes)
  TCP1[$row]=$(gbits "$f")
  if [ "$tunnel" = 1 ]; then
    CPU[$row]=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v by="${bytes:-0}" \
      'BEGIN { g = by * 8 / 1e9; if (g > 0) printf "%.2f", t / hz / g; else print "-" }')
  else
    CPU[$row]="n/a"
  fi
  say "  TCP 1 stream: ${TCP1[$row]} Gbit/s, tunnel CPU ${CPU[$row]} s/Gbit"

  iperf "$addr" "$f" -t "$SECONDS_PER_RUN" -P 4
  TCP4[$row]=$(gbits "$f")
  say "  TCP 4 streams: ${TCP4[$row]} Gbit/s"

  # UDP, small packets as fast as the iperf3 client sends them; what the server received.
  iperf "$addr" "$f" -t "$SECONDS_PER_RUN" -u -l "$UDP_PAYLOAD" -b 0
  secs=$(json_field "$f" sum_received seconds); pkts=$(json_field "$f" sum_received packets)
  lost=$(json_field "$f" sum_received lost_packets)
  read -r "PPS[$row]" "LOST[$row]" < <(awk -v s="${secs:-0}" -v p="${pkts:-0}" -v l="${lost:-0}" 'BEGIN {
    if (s > 0 && p > 0) printf "%.0f %.1f\n", (p - l) / s, 100 * l / p; else print "0 -" }')
  say "  UDP ${UDP_PAYLOAD} B: $(awk -v p="${PPS[$row]}" 'BEGIN { printf "%.1f", p / 1000 }') kpps received, ${LOST[$row]} % lost"

  # Warm: after the throughput runs, the path idle again.
  measure_ping "$row" "$addr" WARM
}

# ---- the tunnels ---------------------------------------------------------------------------------

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
  if [ -z "$pa" ] || [ -z "$pb" ]; then say "fastd did not generate keys"; return 1; fi
  fastd_conf "$WORK/$fa.conf" "$fa" "$2" "$sa" 198.18.0.1 "$pb" 198.18.0.2
  fastd_conf "$WORK/$fb.conf" "$fb" "$2" "$sb" 198.18.0.2 "$pa" 198.18.0.1
  # B first, so that A's first handshake finds B listening (started together, the row failed to
  # answer within wait_for_path's 20 s in full runs).
  spawn_tunnel "$NB" "$fb" fastd -c "$WORK/$fb.conf"
  wait_for_link "$NB" "$fb" || return 1
  spawn_tunnel "$NA" "$fa" fastd -c "$WORK/$fa.conf"
  wait_for_link "$NA" "$fa" || return 1
  ip -n "$NA" addr add "$3.1/24" dev "$fa" && ip -n "$NB" addr add "$3.2/24" dev "$fb" || return 1
  ip -n "$NA" link set "$fa" up && ip -n "$NB" link set "$fb" up || return 1
  ADDR=$3.2
}
setup_fastd() { setup_fastd_method g aes128-gcm 10.97.0; }
setup_fastd-null() { setup_fastd_method n null 10.98.0; }

# ---- the run -------------------------------------------------------------------------------------

note_load
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

echo "- command: \`$COMMAND_LINE\`"
echo "- $(machine_line)"
echo "- $VERSIONS; ${SECONDS_PER_RUN} s per measurement, ${WARM_UP} s warm-up per tunnel"
echo
echo "| path | TCP 1 stream (Gbit/s) | TCP 4 streams (Gbit/s) | UDP ${UDP_PAYLOAD} B (kpps) | UDP lost | cold ping avg (ms) | cold p99 | cold max | warm ping avg (ms) | warm p99 | warm max | pings > $SLOW_MS ms or lost, cold / warm | CPU (s/Gbit) | TCP 1 vs wireguard-go $WG_GO_VERSION | TCP 1 vs best peer | pps vs best peer |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for r in "${SELECTED[@]}"; do
  if [ -n "${FAILED[$r]:-}" ] && [ -z "${TCP1[$r]:-}" ]; then
    echo "| ${LABEL[$r]} | failed | | | | | | | | | | | | | | |"; continue
  fi
  awk -v name="${LABEL[$r]}" -v t1="${TCP1[$r]:-}" -v t4="${TCP4[$r]:-}" -v pps="${PPS[$r]:-}" \
      -v lost="${LOST[$r]:-}" -v cpu="${CPU[$r]:-}" \
      -v cavg="${COLD_AVG[$r]:-}" -v cp99="${COLD_P99[$r]:-}" -v cmax="${COLD_MAX[$r]:-}" -v cslow="${COLD_SLOW[$r]:-}" \
      -v wavg="${WARM_AVG[$r]:-}" -v wp99="${WARM_P99[$r]:-}" -v wmax="${WARM_MAX[$r]:-}" -v wslow="${WARM_SLOW[$r]:-}" \
      -v wg="${TCP1[wireguard-go]:-}" -v best="$BEST_TCP" -v bestpps="$BEST_PPS" '
    function ratio(a, b, d) { return (a != "" && b != "" && b != "-" && b + 0 > 0) ? sprintf("%." d "f×", a / b) : "-" }
    function or_dash(x) { return x == "" ? "-" : x }
    BEGIN {
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s | %s | %s |\n", name,
        or_dash(t1), or_dash(t4),
        (pps == "" ? "-" : sprintf("%.1f", pps / 1000)), (lost == "" || lost == "-" ? "-" : lost " %"),
        or_dash(cavg), or_dash(cp99), or_dash(cmax), or_dash(wavg), or_dash(wp99), or_dash(wmax),
        or_dash(cslow), or_dash(wslow), or_dash(cpu),
        ratio(t1, wg, 2), ratio(t1, best, 2), ratio(pps, bestpps, 2) }'
done
echo
echo "Gbit/s received (iperf3 TCP, 1 and 4 streams); UDP: thousands of ${UDP_PAYLOAD}-byte datagrams a second" \
  "received while iperf3 sends as fast as it can (\`-b 0\`), and the share lost; ping: round-trip ms" \
  "of $PINGS pings ${PING_INTERVAL} s apart (average, 99th percentile by nearest rank, maximum), cold" \
  "right after the tunnel's first answered ping (its handshake; not counted) and before any other" \
  "traffic, warm after the row's throughput runs; then how many of each $PINGS took over $SLOW_MS ms or" \
  "went unanswered; CPU: user + system seconds of the" \
  "tunnel's processes on both ends per Gbit received in the 1-stream TCP run. Best peer: the best of" \
  "the encrypted peers (wireguard-go $WG_GO_VERSION, Debian's wireguard-go, fastd aes128-gcm) in this run" \
  "(TCP: ${BEST_TCP_WHO}, pps: ${BEST_PPS_WHO})."
for n in "${NOTES[@]}"; do echo; echo "$n"; done
say "finished in $(( $(date +%s) - START_TIME )) s"
