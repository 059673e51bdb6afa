# shellcheck shell=bash
# Sourced by the benchmarks that measure a tunnel between two private network namespaces joined by
# a veth pair (bench/throughput.sh, bench/scaling.sh): the command line and machine for the report,
# the namespaces, the processes started in them and their removal on any exit, iperf3 and ping
# through a path, and patchcord's WireGuard configuration.
#
# The sourcing script defines say (a line of progress on stderr) and die, and sets ROOT, PATCHCORD
# and SECONDS_PER_RUN (iperf3's time limits follow it, and WARM_UP if set) before calling
# start_namespaces. Command prefixes, set after sourcing, may pin what runs on each side: PIN_A for
# namespace A's tunnel process and iperf3 client, PIN_B for namespace B's tunnel process and iperf3
# server (e.g. PIN_A=(taskset -c 0)); both are empty unless set.

# ---- the report's context ------------------------------------------------------------------------

quote() { # a word as a shell would need it: bare when safe, else in single quotes
  if [[ $1 =~ ^[A-Za-z0-9_.,:/=+@%-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}

# The command line as given (call it before defaults are filled in): the named environment
# variables that are set, then the command and its arguments.
command_line() { # "VAR VAR ..." command args...
  local v a vars=$1; shift
  for v in $vars; do
    if [ -n "${!v:-}" ]; then printf '%s=%s ' "$v" "$(quote "${!v}")"; fi
  done
  quote "$1"; shift
  for a in "$@"; do printf ' %s' "$(quote "$a")"; done
}

# Sets LOAD_START and warns when the machine is already busy.
note_load() {
  LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)
  if awk -v l="${LOAD_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    say "the machine is busy (load average $LOAD_START on $(nproc) cores): the figures will be noisy"
  fi
}

# One line for the report: when, which kernel and CPU, and the load average at start and now.
machine_line() {
  local model
  model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); kernel $(uname -r); CPU ${model:-unknown}, $(nproc) cores;" \
    "load average ${LOAD_START:-?} at start, $(cut -d ' ' -f 1-3 /proc/loadavg) at the end"
}

# ---- everything a run creates, and its removal (on any exit, Ctrl-C included) --------------------

WORK=""
PIDS=()        # every background process started and not yet collected
TPIDS=()       # the current tunnel's processes (both ends), for CPU figures
NAMESPACES=()  # namespaces this run created
SOCKETS=()     # UAPI sockets the current tunnel's userspace WireGuard processes create
PIN_A=() PIN_B=()

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

# Ends every process this script started (by PID), so the next tunnel has the machine to itself.
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
  [ -z "$WORK" ] || rm -rf "$WORK"
}

# Makes WORK (a private directory), installs the clean-up, and creates namespaces PREFIX<tag>-a
# (NA) and -b (NB) joined by a veth pair (VA in A, 198.18.0.1/24; VB in B, 198.18.0.2/24).
start_namespaces() { # prefix
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
  TAG=""
  local t
  for _ in $(seq 20); do
    t=$(printf '%04x' $((RANDOM)))
    if ip netns add "$1$t-a" 2>/dev/null; then TAG=$t; NAMESPACES+=("$1$t-a"); break; fi
  done
  [ -n "$TAG" ] || die "could not create a namespace"
  NA="$1$TAG-a" NB="$1$TAG-b"
  ip netns add "$NB"; NAMESPACES+=("$NB")
  VA="pcb${TAG}a" VB="pcb${TAG}b"
  ip link add "$VA" netns "$NA" type veth peer name "$VB" netns "$NB"
  ip -n "$NA" addr add 198.18.0.1/24 dev "$VA"; ip -n "$NB" addr add 198.18.0.2/24 dev "$VB"
  local n
  for n in "$NA" "$NB"; do ip -n "$n" link set lo up; done
  ip -n "$NA" link set "$VA" up; ip -n "$NB" link set "$VB" up
}

# ---- processes -----------------------------------------------------------------------------------

# Starts a tunnel process in a namespace (its output in WORK/LOG.log, pinned as that side says)
# and remembers its PID. `ip netns exec`, `taskset`, `env` and bin/patchcord all exec, so the PID
# is the tunnel's own.
spawn_tunnel() { # ns log command...
  local ns=$1 log=$2; shift 2
  local pin=()
  if [ "$ns" = "$NA" ]; then pin=("${PIN_A[@]}"); else pin=("${PIN_B[@]}"); fi
  ip netns exec "$ns" "${pin[@]}" "$@" >"$WORK/$log.log" 2>&1 &
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

wait_for_link() { # ns ifname: at most 10 s, and only while the tunnel's processes run
  local p
  for _ in $(seq 200); do
    ip -n "$1" link show "$2" >/dev/null 2>&1 && return 0
    for p in "${TPIDS[@]}"; do kill -0 "$p" 2>/dev/null || { say "a tunnel process ended early"; return 1; }; done
    sleep 0.05
  done
  say "$2 did not appear in $1"; return 1
}

# Until one ping through the path is answered (handshakes done), at most 20 s. That ping is the
# only traffic: nothing else goes through the tunnel before the caller measures.
wait_for_path() { # addr
  for _ in $(seq 20); do
    ip netns exec "$NA" ping -c 1 -W 1 -q "$1" >/dev/null 2>&1 && return 0
  done
  say "no answer from $1 through the tunnel"; return 1
}

# ---- measurements --------------------------------------------------------------------------------

PORT=5200
# iperf3 from A to ADDR in B (a one-off server in B); the client's JSON goes to OUT.
iperf() { # addr out client-options...
  local addr=$1 out=$2 server limit=$((SECONDS_PER_RUN + ${WARM_UP:-0} + 30)); shift 2
  PORT=$((PORT + 1))
  ip netns exec "$NB" timeout -k 2 $((limit + 10)) "${PIN_B[@]}" \
    iperf3 -s -1 -B "$addr" -p "$PORT" >/dev/null 2>&1 &
  server=$!; PIDS+=("$server")
  for _ in $(seq 100); do
    ip netns exec "$NB" ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q . && break; sleep 0.05
  done
  bounded "$limit" "$out" \
    ip netns exec "$NA" "${PIN_A[@]}" iperf3 -c "$addr" -p "$PORT" -J "$@"
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

# Gbit/s received in an iperf3 JSON file, two decimals (0.00 when the test did not run).
gbits() { # file
  awk -v b="$(json_field "$1" sum_received bits_per_second)" 'BEGIN { printf "%.2f", (b == "" ? 0 : b) / 1e9 }'
}

# COUNT pings from A to ADDR, INTERVAL seconds apart, each waiting at most 1 s for its answer.
# Prints "avg p99 max slow answered": round-trip milliseconds (p99 by nearest rank, over the
# answered pings), how many of the COUNT took over SLOW_MS or went unanswered, and how many were
# answered; "- - - COUNT 0" if none was.
ping_stats() { # addr count interval slow-ms
  local f="$WORK/ping.txt" deadline
  deadline=$(awk -v c="$2" -v i="$3" 'BEGIN { printf "%d", c * i + 10 }')
  bounded $((deadline + 10)) "$f" \
    ip netns exec "$NA" ping -n -c "$2" -i "$3" -W 1 -w "$deadline" "$1"
  sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$f" | sort -n |
    awk -v count="$2" -v slow="$4" '{ t[NR] = $1; s += $1; if ($1 > slow) n++ } END {
      if (NR == 0) { printf "- - - %d 0\n", count; exit }
      k = int(0.99 * NR); if (k < 0.99 * NR) k++
      lost = count > NR ? count - NR : 0
      printf "%.3f %.3f %.3f %d %d\n", s / NR, t[k], t[NR], n + lost, NR }'
}

# ---- patchcord's WireGuard -----------------------------------------------------------------------

KA="" KB="" PA="" PB=""
wg_keys() { # one WireGuard key pair per side, for every WireGuard tunnel of the run
  [ -z "$KA" ] || return 0
  if command -v wg >/dev/null; then
    KA=$(wg genkey); KB=$(wg genkey); PA=$(wg pubkey <<<"$KA"); PB=$(wg pubkey <<<"$KB")
  else
    KA=$("$PATCHCORD" genkey); KB=$("$PATCHCORD" genkey)
    PA=$("$PATCHCORD" pubkey <<<"$KA"); PB=$("$PATCHCORD" pubkey <<<"$KB")
  fi
}

# patchcord's WireGuard mode, configured by wg-quick style files, plus PATCHCORD_EXTRA.
write_conf() { # file key address peer-key peer-address endpoint extra-lines
  cat >"$1" <<CONF
[Interface]
PrivateKey = $2
ListenPort = 51821
Address = $3/24
$7
$(printf '%b' "${PATCHCORD_EXTRA:-}")

[Peer]
PublicKey = $4
AllowedIPs = $5/32
Endpoint = $6:51821
CONF
  chmod 600 "$1"
}

# Both ends of `patchcord up` (interfaces pc<letter><tag>a and b, SUBNET.1 in A and .2 in B);
# sets ADDR to B's tunnel address.
setup_patchcord_wg() { # letter subnet extra-lines
  wg_keys
  local ia="pc$1${TAG}a" ib="pc$1${TAG}b"
  write_conf "$WORK/$ia.conf" "$KA" "$2.1" "$PB" "$2.2" 198.18.0.2 "$3"
  write_conf "$WORK/$ib.conf" "$KB" "$2.2" "$PA" "$2.1" 198.18.0.1 "$3"
  SOCKETS+=("/var/run/wireguard/$ia.sock" "/var/run/wireguard/$ib.sock")
  spawn_tunnel "$NA" "$ia" "$PATCHCORD" up --foreground "$WORK/$ia.conf"
  spawn_tunnel "$NB" "$ib" "$PATCHCORD" up --foreground "$WORK/$ib.conf"
  wait_for_link "$NA" "$ia" && wait_for_link "$NB" "$ib" || return 1
  # shellcheck disable=SC2034 # read by the caller
  ADDR=$2.2
}
