#!/usr/bin/env bash
# What a cluster of hubs (docs/cluster.md) costs and how fast it reacts, end to end in private
# namespaces: three etcd members, three hubs sharing one key (`Store`, `Cluster`, `HubId`,
# `Backplane`), wireguard-go as the stock client. Four figures:
#
#  1. Failover gap. A wireguard-go client A is attached to hub X (hub1 and hub2 in turn); a client
#     B of hub3 pings A (`ping -D -i 0.05`, through hub3's backplane to X); X is killed with SIGKILL
#     by its PID. Gap = time from the kill to the first reply after it (replies in flight, within
#     200 ms of the kill, do not count): X's etcd lease (5 s) must
#     expire, the surviving hub that the hash picks calls A back at its last endpoint, and hub3
#     routes A's address to that hub. X is started again (and waited for in the store) before the
#     next round, and A is started afresh towards it. Median and max over ROUNDS kills.
#  2. `peer add` to live on every hub: `patchcord peer add` on hub1's file (which has `Store`)
#     leases an address and puts the client into etcd; a poller per hub runs `wg show IFNAME peers`
#     (patchcord's UAPI socket) in the hub's namespace every 10 ms until the hub has one peer more.
#     The time to the last hub, from the command's start and from its exit (negative: the hubs had
#     the client before the command's JVM had ended), median over ADDS adds. The command runs with
#     PATCHCORD_STORE_TIMEOUT_MS=20000, so that a busy machine slows it rather than failing it.
#  3. Handshakes a second the cluster accepts: KEYS clients a hub put into etcd (3 x KEYS in all,
#     by `etcdctl txn` batches), the test tools' `handshakes` (as bench/handshakes.sh, from a
#     namespace binding many source addresses) with each hub's KEYS private keys, against the three
#     hubs at once, responses a second summed; and the same tool against hub1 alone, for the ratio.
#     On a 2-core machine the three hubs and three tools share two cores: the sum is then what the
#     machine can do, not what three hubs on three hosts would.
#  4. Heap per client: one hub of a second cluster name, started with no clients (live heap after
#     a full collection, RSS), then CLIENTS clients put into etcd (batches, random public keys,
#     each a /32), applied live from the watch (figures again), then the hub started afresh with
#     all of them in the store; (heap - heap with none) / CLIENTS in bytes.
#
#   sudo bench/cluster.sh                 about 6 minutes on 2 cores
#   QUICK=1                               2 kills, 2 adds, 2,000 clients, 3 s of handshakes
#   ROUNDS=5 ADDS=5                       kills and adds
#   KEYS=300                              handshake clients per hub
#   HS_SECONDS=5 HS_WARM_UP=3 WINDOW=64   the handshake tool's measurement, warm-up, outstanding
#   CLIENTS=10000                         clients for the heap figure
#   PARTS="failover add handshakes memory"
#
# Everything is inside namespaces pccl<tag>-*: a store namespace with a bridge, 10.252.0.0/24
# (etcd at .11-.13, hubs at .101-.103, clients and the tools' namespace above), which is also the
# underlay the tunnels run over; the tunnel network is 10.64.0.0/10, every hub 10.64.0.1. Needs
# root, iproute2, etcd and etcdctl, wireguard-go and wg.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
PATCHCORD="$ROOT/bin/patchcord"
say() { echo "cluster: $*" >&2; }
die() { say "$*"; exit 1; }
# shellcheck source=lib/tunnels.sh
. "$ROOT/bench/lib/tunnels.sh"
CMDLINE=$(command_line "QUICK ROUNDS ADDS KEYS HS_SECONDS HS_WARM_UP WINDOW CLIENTS PARTS" "$0" "$@")
# shellcheck source=../bin/lib/jdk.sh
. "$ROOT/bin/lib/jdk.sh"
# shellcheck source=lib/peers.sh
. "$ROOT/bench/lib/peers.sh"
JDK=$(find_jdk)

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then q=1; else q=0; fi
ROUNDS=${ROUNDS:-$((q ? 2 : 5))}
ADDS=${ADDS:-$((q ? 2 : 5))}
KEYS=${KEYS:-300}
HS_SECONDS=${HS_SECONDS:-$((q ? 3 : 5))}
HS_WARM_UP=${HS_WARM_UP:-3}
WINDOW=${WINDOW:-64}
KEYS_WINDOW=$((WINDOW < KEYS ? WINDOW : KEYS))
CLIENTS=${CLIENTS:-$((q ? 2000 : 10000))}
PARTS=${PARTS:-failover add handshakes memory}

[ "$(id -u)" = 0 ] || die "needs root (it creates network namespaces)"
for c in ip etcd etcdctl wireguard-go wg timeout; do command -v $c >/dev/null || die "needs $c"; done
[ -n "$JDK" ] || die "no JDK 25 found"
[ "$KEYS" -ge 1 ] && [ "$KEYS" -le 5000 ] || die "KEYS must be 1 to 5000"
part() { [[ " $PARTS " == *" $1 "* ]]; }
# The test tools and the jar are built now, before any namespace exists.
TOOLS="$ROOT/bench/lib/test-tools.sh"
if part handshakes; then "$TOOLS" --help >/dev/null; fi
"$PATCHCORD" --version >/dev/null

# ---- what else runs on the machine ------------------------------------------------------------

note_load
# The busiest other processes over one second, for the report (`ps` gives lifetime averages).
OTHERS=$(top -b -n 2 -d 1 -o %CPU -w 200 2>/dev/null | awk '/^ *PID /{ n++; next } n == 2 && $9 + 0 >= 10 { printf "%s %s%%, ", $12, $9 }' |
  sed 's/, $//')

# ---- namespaces, the store network, clean-up ----------------------------------------------------

WORK=$(mktemp -d /tmp/pccl.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
TAG=""
for _ in $(seq 20); do
  t=$(printf '%04x' $((RANDOM)))
  if ip netns add "pccl$t-store" 2>/dev/null; then TAG=$t; NAMESPACES+=("pccl$t-store"); break; fi
done
[ -n "$TAG" ] || die "could not create a namespace"
P="pccl$TAG"
STORE_NS="$P-store"
ip -n "$STORE_NS" link add sw type bridge
ip -n "$STORE_NS" link set sw up
NET=10.252.0
LINKS=0
# A namespace joined to the store network at NET.HOST (made here if new).
join() { # ns host
  ip netns list | grep -q "^$1\( \|$\)" || { ip netns add "$1"; NAMESPACES+=("$1"); ip -n "$1" link set lo up; }
  LINKS=$((LINKS + 1))
  ip link add "pcl${TAG}v$LINKS" netns "$1" type veth peer name "pcl${TAG}s$LINKS" netns "$STORE_NS"
  ip -n "$1" addr add "$NET.$2/24" dev "pcl${TAG}v$LINKS"
  ip -n "$1" link set "pcl${TAG}v$LINKS" up
  ip -n "$STORE_NS" link set "pcl${TAG}s$LINKS" master sw up
}

# Background processes: started in a namespace, output in WORK/NAME.log, PID in PIDS (the clean-up
# ends them); `ip netns exec`, `env` and bin/patchcord exec, so the PID is the program's own.
spawn() { # name ns command...
  local name=$1 ns=$2; shift 2
  ip netns exec "$ns" "$@" >"$WORK/$name.log" 2>&1 &
  LAST=$!; PIDS+=("$LAST")
}
stop() { # pid: TERM, then KILL after 10 s
  kill "$1" 2>/dev/null || true
  finish "$1" 100
  forget "$1"
}
# Polls a condition every 0.1 s for at most LIMIT seconds; false if it never held.
await() { # limit command...
  local end=$((SECONDS + $1)); shift
  while [ "$SECONDS" -lt "$end" ]; do "$@" && return 0; sleep 0.1; done
  "$@"
}
now() { date +%s.%N; }
ms_since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maximum() { sort -n | tail -n 1; }

# ---- etcd ---------------------------------------------------------------------------------------

CTL_NS="$P-ctl"
join "$CTL_NS" 90
EPS="$NET.11:2379,$NET.12:2379,$NET.13:2379"
ctl() { timeout -k 2 30 ip netns exec "$CTL_NS" etcdctl --endpoints="$EPS" --dial-timeout=3s --command-timeout=20s "$@"; }
INITIAL=""
for i in 0 1 2; do INITIAL+="${INITIAL:+,}$P-etcd$i=http://$NET.$((11 + i)):2380"; done
say "starting three etcd members"
ETCD_PIDS=()
for i in 0 1 2; do
  ip=$NET.$((11 + i))
  join "$P-e$i" $((11 + i))
  # Batches of 1,000 puts in one transaction (the default allows 128).
  spawn "etcd$i" "$P-e$i" etcd --name "$P-etcd$i" --data-dir "$WORK/etcd$i.data" \
    --listen-client-urls "http://$ip:2379" --advertise-client-urls "http://$ip:2379" \
    --listen-peer-urls "http://$ip:2380" --initial-advertise-peer-urls "http://$ip:2380" \
    --initial-cluster "$INITIAL" --initial-cluster-state new --initial-cluster-token "$P" --max-txn-ops 1000
  ETCD_PIDS+=("$LAST")
done
await 60 ctl endpoint health >/dev/null 2>&1 || { tail -n 5 "$WORK"/etcd*.log >&2; die "etcd not healthy within 60 s"; }

CL="b$TAG"        # the three hubs' cluster
CLM="m$TAG"       # the heap measurement's cluster
urlkey() { tr '+/' '-_' <<<"$1"; }
# Puts "PUBLIC-KEY ADDRESS" lines (stdin) into cluster $1 as clients named $2N, 1,000 a transaction.
put_clients() { # cluster name-prefix
  local batch="$WORK/batch" prefix="/patchcord/$1/clients/" name=$2 n=0 f
  rm -rf "$batch"; mkdir "$batch"
  # etcdctl txn reads compares, a blank line, the puts, a blank line, the failure branch.
  tr '+/' '-_' | awk -v p="$prefix" -v name="$name" -v dir="$batch" '
    (NR - 1) % 1000 == 0 { if (f) { print "\n" > f; close(f) } f = sprintf("%s/%06d", dir, NR); print "" > f }
    { printf "put %s%s \"name=%s%d\\nallowed-ips=%s\\n\"\n", p, $1, name, NR, ($2 == "" ? "" : $2 "/32") > f }
    END { if (f) print "\n" > f }'
  for f in "$batch"/*; do
    ctl txn <"$f" >"$WORK/txn.out" 2>&1 && grep -q SUCCESS "$WORK/txn.out" || { cat "$WORK/txn.out" >&2; die "etcdctl txn failed"; }
    n=$((n + 1))
  done
}
# N addresses 10.65.0.2 onwards (250 a /24), one a line, as bench/lib/peers.sh gives them.
addresses() { awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "10.%d.%d.%d\n", 65 + int(i / 62500), int(i % 62500 / 250), i % 250 + 2 }'; }

# ---- hubs ---------------------------------------------------------------------------------------

HUB_KEY=$("$PATCHCORD" genkey); HUB_PUB=$("$PATCHCORD" pubkey <<<"$HUB_KEY")
declare -A HUB_PID HUB_NS HUB_IF HUB_IP HUB_CONF
hub_config() { # id ns host cluster
  local ifname="pcl${TAG}${1: -1}"
  [ "$1" = mem ] && ifname="pcl${TAG}m"
  HUB_NS[$1]=$2 HUB_IP[$1]=$NET.$3 HUB_IF[$1]=$ifname HUB_CONF[$1]="$WORK/$ifname.conf"
  join "$2" "$3"
  cat >"${HUB_CONF[$1]}" <<CONF
[Interface]
PrivateKey = $HUB_KEY
ListenPort = 51820
Address = 10.64.0.1/10
Store = etcd://$EPS
Cluster = $4
HubId = $1
Backplane = $NET.$3:51821
CONF
  chmod 600 "${HUB_CONF[$1]}"
  SOCKETS+=("/var/run/wireguard/$ifname.sock" "/var/run/wireguard/$ifname-bp.sock")
}
hub_in_store() { [ -n "$(ctl get "/patchcord/$2/hubs/$1" --print-value-only 2>/dev/null)" ]; }
start_hub() { # id cluster
  local log="hub-$1"
  [ -f "$WORK/$log.log" ] && cat "$WORK/$log.log" >>"$WORK/$log.old"
  spawn "$log" "${HUB_NS[$1]}" "$PATCHCORD" up --foreground "${HUB_CONF[$1]}"
  HUB_PID[$1]=$LAST
  local t0; t0=$(now)
  # Up to 2 minutes: a JVM on a busy 2-core machine starts slowly.
  await 120 grep -q ready "$WORK/$log.log" || { cat "$WORK/$log.log" >&2; die "hub $1 did not start"; }
  await 30 hub_in_store "$1" "$2" || { cat "$WORK/$log.log" >&2; die "hub $1 is not in the store"; }
  say "$1 up in $(ms_since "$t0" "$(now)") ms: $(grep -m1 -o 'cluster hub .*' "$WORK/$log.log" || true)"
}
peers_of() { ip netns exec "${HUB_NS[$1]}" wg show "${HUB_IF[$1]}" peers 2>/dev/null | wc -l; }
has_peers() { [ "$(peers_of "$1")" -ge "$2" ]; } # hub count

RESULTS="$WORK/results"
: >"$RESULTS"
result() { echo "$*" >>"$RESULTS"; }

if part failover || part add || part handshakes; then
  hub_config hub1 "$P-h1" 101 "$CL"
  hub_config hub2 "$P-h2" 102 "$CL"
  hub_config hub3 "$P-h3" 103 "$CL"
  for h in hub1 hub2 hub3; do start_hub "$h" "$CL"; done
fi

# ---- 1. failover gap ------------------------------------------------------------------------------

# wireguard-go, as the stock client: foreground (its PID is ours), configured by wg and ip.
start_wggo() { # name ns ifname private-key-file address hub-ip
  spawn "$1" "$2" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$3"
  WG_PID=$LAST
  SOCKETS+=("/var/run/wireguard/$3.sock")
  await 20 test -S "/var/run/wireguard/$3.sock" || die "wireguard-go $1 did not start"
  ip netns exec "$2" wg set "$3" private-key "$4" peer "$HUB_PUB" endpoint "$6:51820" \
    allowed-ips 10.64.0.0/10 persistent-keepalive 25
  ip -n "$2" addr add "$5/10" dev "$3"
  ip -n "$2" link set "$3" up
}
attached_to() { ctl get "/patchcord/$CL/attach/$(urlkey "$1")" --print-value-only 2>/dev/null | sed -n 's/^hub=//p'; }
is_attached() { [ "$(attached_to "$1")" = "$2" ]; }
reaches() { ip netns exec "$1" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1; }
replies() { grep -c 'bytes from' "$1" 2>/dev/null || true; }
has_replies() { [ "$(replies "$1")" -ge "$2" ]; } # log count
reply_after() { # ping-log time: the first reply's time after it, empty if none yet
  awk -v k="$2" 'match($0, /^\[[0-9.]+\]/) && /bytes from/ { t = substr($0, 2, RLENGTH - 2); if (t + 0 > k + 0) { print t; exit } }' "$1"
}
has_reply_after() { [ -n "$(reply_after "$1" "$2")" ]; }

if part failover; then
  A_KEY="$WORK/a.key" B_KEY="$WORK/b.key"
  ( umask 077; wg genkey >"$A_KEY"; wg genkey >"$B_KEY" )
  A_PUB=$(wg pubkey <"$A_KEY") B_PUB=$(wg pubkey <"$B_KEY")
  printf '%s 10.100.0.11\n' "$A_PUB" | put_clients "$CL" a
  printf '%s 10.100.0.12\n' "$B_PUB" | put_clients "$CL" b
  join "$P-ca" 111
  join "$P-cb" 112
  IFA="pcl${TAG}ga" IFB="pcl${TAG}gb"
  await 20 has_peers hub3 2 || die "hub3 does not have the clients"
  start_wggo wg-b "$P-cb" "$IFB" "$B_KEY" 10.100.0.12 "${HUB_IP[hub3]}"
  await 30 reaches "$P-cb" 10.64.0.1 || die "client B does not reach hub3"
  await 30 is_attached "$B_PUB" hub3 || die "client B is not attached to hub3"
  for r in $(seq "$ROUNDS"); do
    X=hub$(( (r - 1) % 2 + 1 ))
    start_wggo "wg-a$r" "$P-ca" "$IFA" "$A_KEY" 10.100.0.11 "${HUB_IP[$X]}"
    A_PID=$WG_PID
    await 30 reaches "$P-ca" 10.64.0.1 || die "client A does not reach $X"
    await 30 is_attached "$A_PUB" "$X" || die "client A is not attached to $X (store: $(attached_to "$A_PUB"))"
    await 30 reaches "$P-cb" 10.100.0.11 || die "client B does not reach client A"
    PING_LOG="$WORK/ping$r.log"
    # Bounded: 60 s of pings at most; ended by its PID once a reply after the kill came.
    spawn "ping$r" "$P-cb" ping -D -n -i 0.05 -W 1 -c 1200 10.100.0.11
    PING_PID=$LAST
    await 10 has_replies "$PING_LOG" 20 || { tail -n 5 "$PING_LOG" >&2; die "fewer than 20 replies in 10 s before the kill"; }
    KILLED=$(now)
    # (Grouped, so that bash's "Killed" notice for the hub goes nowhere.)
    { kill -9 "${HUB_PID[$X]}"; finish "${HUB_PID[$X]}" 100; } 2>/dev/null
    forget "${HUB_PID[$X]}"
    # A reply that arrives within 200 ms of the kill was already on its way (the round trip is
    # milliseconds; no failover is that fast): the first one that counts comes later.
    AFTER=$(awk -v k="$KILLED" 'BEGIN { printf "%.6f", k + 0.2 }')
    await 60 has_reply_after "$PING_LOG" "$AFTER" || die "no reply within 60 s of killing $X"
    FIRST=$(reply_after "$PING_LOG" "$AFTER")
    stop "$PING_PID"
    gap=$(ms_since "$KILLED" "$FIRST")
    moved=$(attached_to "$A_PUB")
    say "round $r: killed $X, first reply after $gap ms, client A now on ${moved:-?}"
    result "failover $r $X $gap ${moved:-?}"
    stop "$A_PID"
    start_hub "$X" "$CL"
  done
fi

# ---- 2. peer add to live on every hub ---------------------------------------------------------------

if part add; then
  for a in $(seq "$ADDS"); do
    pollers=()
    for h in hub1 hub2 hub3; do
      base=$(peers_of "$h")
      # One poller a hub, in its namespace: the time the hub first lists one peer more.
      timeout -k 2 60 ip netns exec "${HUB_NS[$h]}" bash -c \
        'while [ "$(wg show "$1" peers | wc -l)" -le "$2" ]; do sleep 0.01; done; date +%s.%N' _ "${HUB_IF[$h]}" "$base" \
        >"$WORK/seen-$h" 2>/dev/null &
      pollers+=($!); PIDS+=($!)
    done
    sleep 0.2 # the pollers are running
    t0=$(now)
    # The store's call timeout raised from 3 s: on a busy machine the command's first request,
    # which also starts its etcd client, can take longer (docs/cluster.md).
    ip netns exec "${HUB_NS[hub1]}" timeout -k 2 60 env PATCHCORD_STORE_TIMEOUT_MS=20000 "$PATCHCORD" peer add "${HUB_CONF[hub1]}" "add$a" \
      --endpoint "${HUB_IP[hub1]}:51820" --output "$WORK/add$a.conf" --no-qr >"$WORK/add$a.log" 2>&1 ||
      { cat "$WORK/add$a.log" >&2; die "peer add failed"; }
    t1=$(now)
    for p in "${pollers[@]}"; do wait "$p" 2>/dev/null || true; forget "$p"; done
    pub=$(sed -n 's/^PrivateKey = //p' "$WORK/add$a.conf" | wg pubkey)
    last=""
    for h in hub1 hub2 hub3; do
      ip netns exec "${HUB_NS[$h]}" wg show "${HUB_IF[$h]}" peers | grep -qxF "$pub" || die "$h does not have add$a's key"
      seen=$(cat "$WORK/seen-$h")
      [ -n "$seen" ] || die "$h: no new peer within 60 s"
      if [ -z "$last" ] || awk -v a="$seen" -v b="$last" 'BEGIN { exit !(a > b) }'; then last=$seen; fi
    done
    say "add $a: $(sed -n 's/^patchcord: //p' "$WORK/add$a.log" | head -n 1)"
    say "add $a: on every hub $(ms_since "$t0" "$last") ms after the start, $(ms_since "$t1" "$last") ms after the exit (command $(ms_since "$t0" "$t1") ms)"
    result "add $a $(ms_since "$t0" "$last") $(ms_since "$t1" "$last") $(ms_since "$t0" "$t1")"
  done
fi

# ---- 3. handshakes a second ---------------------------------------------------------------------

field() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p" <<<"$1"; }
# The tool against one hub: sources from 198.19.(64 x INDEX).1 on; its output in WORK/hs-NAME.out.
handshake_tool() { # name hub keys-file index
  ip netns exec "$P-at" timeout -k 2 $((HS_SECONDS + HS_WARM_UP + 120)) "$TOOLS" handshakes \
    --host "${HUB_IP[$2]}" --port 51820 --public-key "$HUB_PUB" --keys "$3" \
    --source "198.19.$((64 * $4)).1" --sources "$(wc -l <"$3")" --window "$KEYS_WINDOW" \
    --warm-up "$HS_WARM_UP" --seconds "$HS_SECONDS" --responder-pid "${HUB_PID[$2]}" --clock-ticks "$(getconf CLK_TCK)" \
    >"$WORK/hs-$1.out" 2>"$WORK/hs-$1.err" || true
}
hs_line() { grep '^handshakes: seconds=' "$WORK/hs-$1.out" || { cat "$WORK/hs-$1.err" >&2; die "the handshake tool ($1) failed"; }; }

if part handshakes; then
  join "$P-at" 120
  ip -n "$P-at" route add local 198.19.0.0/16 dev lo
  for h in hub1 hub2 hub3; do ip -n "${HUB_NS[$h]}" route add 198.19.0.0/16 via "$NET.120"; done
  ( umask 077; "$TOOLS" peer-keys --count $((3 * KEYS)) --private "$WORK/hs.keys" --peers "$WORK/hs.peers" >/dev/null )
  for i in 1 2 3; do sed -n "$(( (i - 1) * KEYS + 1 )),$(( i * KEYS ))p" "$WORK/hs.keys" >"$WORK/hs$i.keys"; done
  before=$(peers_of hub1)
  t0=$(now)
  paste -d ' ' <(sed -n 's/^PublicKey = //p' "$WORK/hs.peers") <(addresses $((3 * KEYS))) | put_clients "$CL" hs
  say "$((3 * KEYS)) handshake clients put into etcd in $(ms_since "$t0" "$(now)") ms"
  for h in hub1 hub2 hub3; do
    await 120 has_peers "$h" $((before + 3 * KEYS)) || die "$h did not get the handshake clients"
  done
  say "every hub has them $(ms_since "$t0" "$(now)") ms after the first put"
  say "the tool against hub1 alone ($KEYS keys, $HS_WARM_UP s warm-up, $HS_SECONDS s measured)"
  handshake_tool one hub1 "$WORK/hs1.keys" 0
  one=$(hs_line one)
  say "  hub1: $one"
  say "the tool against the three hubs at once ($KEYS keys each)"
  tools=()
  for i in 1 2 3; do handshake_tool "all$i" "hub$i" "$WORK/hs$i.keys" "$i" & tools+=($!); PIDS+=($!); done
  for p in "${tools[@]}"; do wait "$p" || true; forget "$p"; done
  for i in 1 2 3; do
    line=$(hs_line "all$i")
    say "  hub$i: $line"
    result "hs hub$i $(field "$line" responses-per-second) $(field "$line" responder-cpu-per-second) $(field "$line" mean-outstanding) $(field "$line" handshakes-per-cpu-second)"
  done
  result "hs one $(field "$one" responses-per-second) $(field "$one" responder-cpu-per-second) $(field "$one" mean-outstanding) $(field "$one" handshakes-per-cpu-second)"
fi

# ---- 4. heap per client -----------------------------------------------------------------------------

# "live-heap-KiB rss-KiB" of a hub.
hub_memory() { echo "$(live_heap_kib "${HUB_PID[$1]}") $(rss_kib "${HUB_PID[$1]}" | cut -d ' ' -f 1)"; }
if part memory; then
  # The other hubs and clients are done: the heap is measured on a machine without them.
  for p in "${PIDS[@]}"; do [[ " ${ETCD_PIDS[*]} " == *" $p "* ]] || kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do [[ " ${ETCD_PIDS[*]} " == *" $p "* ]] || { finish "$p" 100; forget "$p"; }; done
  hub_config mem "$P-m" 104 "$CLM"
  start_hub mem "$CLM"
  sleep 2
  read -r heap0 rss0 < <(hub_memory mem)
  say "mem with 0 clients: live heap $heap0 KiB, RSS $rss0 KiB"
  t0=$(now)
  paste -d ' ' <(random_public_keys "$CLIENTS") <(addresses "$CLIENTS") | put_clients "$CLM" m
  t1=$(now)
  await 300 has_peers mem "$CLIENTS" || die "mem did not get the $CLIENTS clients (has $(peers_of mem))"
  t2=$(now)
  say "$CLIENTS clients put into etcd in $(ms_since "$t0" "$t1") ms; all on the hub $(ms_since "$t0" "$t2") ms after the first put"
  read -r heapl rssl < <(hub_memory mem)
  say "mem with $CLIENTS clients added live: live heap $heapl KiB, RSS $rssl KiB"
  stop "${HUB_PID[mem]}"
  t0=$(now)
  start_hub mem "$CLM"
  await 300 has_peers mem "$CLIENTS" || die "mem did not load the $CLIENTS clients"
  loaded=$(ms_since "$t0" "$(now)")
  sleep 2
  read -r heapn rssn < <(hub_memory mem)
  say "mem started with $CLIENTS clients in the store (all loaded $loaded ms after start): live heap $heapn KiB, RSS $rssn KiB"
  result "mem $heap0 $rss0 $heapl $rssl $heapn $rssn $loaded"
fi

# ---- the report -----------------------------------------------------------------------------------

echo
echo "patchcord cluster benchmark: 3 etcd members, 3 hubs, wireguard-go clients, all on one machine in namespaces"
echo "command: $CMDLINE"
machine_line
echo "other processes over 10% of a core when it started: ${OTHERS:-none}"
if grep -q '^failover ' "$RESULTS"; then
  gaps=$(awk '$1 == "failover" { print $4 }' "$RESULTS")
  echo "failover gap, SIGKILL of the client's hub to the first ping reply (ping -i 0.05 from another hub's client):"
  echo "  median $(median <<<"$gaps") ms, max $(maximum <<<"$gaps") ms over $(wc -l <<<"$gaps") kills" \
    "($(awk '$1 == "failover" { printf "%s%s %s ms -> %s", s, $3, $4, $5; s = ", " }' "$RESULTS"))"
fi
if grep -q '^add ' "$RESULTS"; then
  echo "peer add to the client live on all 3 hubs (wg show):"
  echo "  median $(awk '$1 == "add" { print $3 }' "$RESULTS" | median) ms from the command's start," \
    "$(awk '$1 == "add" { print $4 }' "$RESULTS" | median) ms from its exit" \
    "(the command itself $(awk '$1 == "add" { print $5 }' "$RESULTS" | median) ms); $(grep -c '^add ' "$RESULTS") adds"
fi
if grep -q '^hs ' "$RESULTS"; then
  echo "handshakes a second ($KEYS store clients a hub, $KEYS_WINDOW outstanding a tool at most, ${HS_SECONDS} s after ${HS_WARM_UP} s, not pinned):"
  awk '$1 == "hs" && $2 != "one" { printf "  %s %8.0f/s  (hub CPU %s cores, %s per CPU-second, %s outstanding on average)\n", $2, $3, $4, $6, $5; s += $3 }
       $1 == "hs" && $2 == "one" { o = $3; oc = $4; op = $6; oo = $5 }
       END { printf "  three hubs at once: %.0f/s in all; hub1 alone: %.0f/s (hub CPU %s cores, %s per CPU-second, %s outstanding); ratio %.2fx\n",
               s, o, oc, op, oo, (o > 0 ? s / o : 0) }' "$RESULTS"
  if awk -v w="$KEYS_WINDOW" '$1 == "hs" && $5 < 0.8 * w { low = 1 } END { exit !low }' "$RESULTS"; then
    echo "  (where far fewer than $KEYS_WINDOW were outstanding, the tool, not the hub, set the pace: a lower bound)"
  fi
  echo "  (three hubs and three tools shared $(nproc) cores: the sum is this machine's, not three hosts')"
fi
if grep -q '^mem ' "$RESULTS"; then
  read -r _ heap0 rss0 heapl rssl heapn rssn loaded _ < <(grep '^mem ' "$RESULTS")
  echo "memory of one hub, $CLIENTS clients in the store (live heap after a full GC / RSS, KiB):"
  printf '  %-40s %10s %10s\n' "" "heap" "RSS"
  printf '  %-40s %10s %10s\n' "0 clients" "$heap0" "$rss0"
  printf '  %-40s %10s %10s\n' "$CLIENTS added live from the watch" "$heapl" "$rssl"
  printf '  %-40s %10s %10s\n' "started with $CLIENTS (loaded in $loaded ms)" "$heapn" "$rssn"
  awk -v n="$CLIENTS" -v h0="$heap0" -v r0="$rss0" -v hl="$heapl" -v hn="$heapn" -v rn="$rssn" 'BEGIN {
    printf "  per client: %.0f bytes of heap (started with them; %.0f added live), %.0f bytes of RSS\n",
      (hn - h0) * 1024 / n, (hl - h0) * 1024 / n, (rn - r0) * 1024 / n }'
fi
