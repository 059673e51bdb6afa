#!/usr/bin/env bash
# Tests the Debian package as a user gets it: installs target/dist/patchcord_*.deb with dpkg,
# brings an encrypted tunnel up between two private network namespaces with the INSTALLED
# /usr/bin/patchcord (keys from its genkey/pubkey, background 'up', 'show', a ping), installs the
# package again over the running tunnels (the upgrade path: postinst hands them to the new program
# while pings flow), brings one down, checks the manual page, the bash completion and the service
# files, then purges the package and checks that none of its files is left. Needs root, iproute2
# and ping; about a minute.
#
#   dist/test-deb.sh [PACKAGE.deb]
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
DEBFILE=${1:-$(ls -t "$ROOT"/target/dist/patchcord_*.deb 2>/dev/null | head -1)}
[ "$(id -u)" = 0 ] || { echo "dist/test-deb.sh: needs root" >&2; exit 1; }
[ -f "$DEBFILE" ] || { echo "dist/test-deb.sh: no package: build it with mvn -Pdist package" >&2; exit 1; }
if dpkg -s patchcord >/dev/null 2>&1; then
  echo "dist/test-deb.sh: patchcord is installed already and this test would remove it (dpkg --purge patchcord first)" >&2
  exit 1
fi

TAG=pd$$
NS_A=${TAG}a NS_B=${TAG}b
WORK=$(mktemp -d)
fail() { echo "dist/test-deb.sh: FAIL: $*" >&2; exit 1; }
step() { echo "dist/test-deb.sh: $*" >&2; }

ping_pid=
cleanup() {
  set +e
  [ -n "$ping_pid" ] && kill "$ping_pid" 2>/dev/null
  for i in "${TAG}a" "${TAG}b"; do
    [ -x /usr/bin/patchcord ] && /usr/bin/patchcord down "$i" >/dev/null 2>&1
  done
  ip netns del "$NS_A" 2>/dev/null
  ip netns del "$NS_B" 2>/dev/null
  if dpkg -s patchcord >/dev/null 2>&1; then dpkg --purge patchcord >/dev/null 2>&1; fi
  # The background tunnels' logs (patchcord down leaves them, as it does for any tunnel).
  rm -f "/run/patchcord/${TAG}a.log" "/run/patchcord/${TAG}b.log"
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- install ------------------------------------------------------------------------------------
step "installing $(basename "$DEBFILE")"
if ! dpkg -i "$DEBFILE" >"$WORK/dpkg.log" 2>&1; then
  # Missing dependencies: let apt fetch them and finish the configuration.
  DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq >>"$WORK/dpkg.log" 2>&1 \
    || { cat "$WORK/dpkg.log" >&2; fail "dpkg -i"; }
fi
dpkg -s patchcord | grep -q '^Status: install ok installed' || fail "package not installed"
[ "$(readlink -f /usr/bin/patchcord)" = /usr/lib/patchcord/bin/patchcord ] || fail "/usr/bin/patchcord is not the package's launcher"
[ "$(stat -c %a /etc/patchcord)" = 700 ] || fail "/etc/patchcord is not mode 0700"
getent passwd patchcord >/dev/null || fail "postinst made no 'patchcord' user"
grep -q '^ExecStart=/usr/bin/patchcord up --foreground ' /lib/systemd/system/patchcord@.service \
  || fail "the unit does not run /usr/bin/patchcord"
[ -f /usr/lib/sysusers.d/patchcord.conf ] || fail "sysusers file missing"
/usr/bin/patchcord --version | grep -q '^patchcord ' || fail "patchcord --version"
# The AOT cache made at package time: the JVM accepts it for the installed jar and runtime, it holds
# the classes of the tunnels' start-up and the training's method profiles, and a launch uses it.
cache=$(/usr/lib/patchcord/runtime/bin/java -XX:+UseSerialGC -XX:AOTCache=/usr/lib/patchcord/lib/patchcord.aot \
  -XX:+PrintSharedArchiveAndExit -jar /usr/lib/patchcord/lib/patchcord.jar 2>&1) || true
grep -q '^archive is valid' <<<"$cache" || { tail -n 5 <<<"$cache" >&2; fail "lib/patchcord.aot is not valid for the installed jar"; }
for c in dev.patchcord.cli.UpCommand dev.patchcord.cli.TinyvpnCommand dev.patchcord.tun.TunDevice; do
  grep -q " $c " <<<"$cache" || fail "lib/patchcord.aot lacks $c"
done
grep -q 'TrainingData' <<<"$cache" || fail "lib/patchcord.aot holds no method profiles"
PATCHCORD_JAVA_OPTS=-Xlog:class+load=info /usr/bin/patchcord --version | grep -q "dev.patchcord.cli.Main source: shared objects file" \
  || fail "the launcher does not use lib/patchcord.aot"

# The test tools (the flood and the impaired relay) are test code and ship with nothing.
# (The package's runtime has no jar tool; the JDK that built the package has.)
# shellcheck source=../bin/lib/jdk.sh
. "$ROOT/bin/lib/jdk.sh"
shipped=$("$(find_jdk)/bin/jar" tf /usr/lib/patchcord/lib/patchcord.jar)
[ -n "$shipped" ] || fail "cannot list the installed jar"
if grep -E 'dev/patchcord/(tools/|lab/(Flood|Impair))' <<<"$shipped"; then fail "the jar ships test tools"; fi

# --- help ---------------------------------------------------------------------------------------
if command -v man >/dev/null; then
  [ "$(man -w patchcord)" = /usr/share/man/man8/patchcord.8.gz ] || fail "man -w patchcord"
fi
zcat /usr/share/man/man8/patchcord.8.gz | grep -q '^\.SH EXAMPLES' || fail "manual page"
COMPLETION=/usr/share/bash-completion/completions/patchcord
bash -n "$COMPLETION" || fail "bash completion: syntax"
# What bash would offer for "patchcord pe<TAB>" and "patchcord up --fo<TAB>".
offered=$(bash -c '. "$1"; COMP_WORDS=(patchcord pe); COMP_CWORD=1; COMP_LINE="patchcord pe"; COMP_POINT=12
  _complete_patchcord; echo "${COMPREPLY[*]}"' _ "$COMPLETION")
[ "$offered" = peer ] || fail "completion of 'patchcord pe' gave '$offered'"
offered=$(bash -c '. "$1"; COMP_WORDS=(patchcord up --fo); COMP_CWORD=2; COMP_LINE="patchcord up --fo"; COMP_POINT=17
  _complete_patchcord; echo "${COMPREPLY[*]}"' _ "$COMPLETION")
[ "$offered" = --foreground ] || fail "completion of 'patchcord up --fo' gave '$offered'"

# --- an encrypted tunnel between two namespaces, by the installed program ------------------------
step "tunnel between namespaces $NS_A and $NS_B"
ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add "${TAG}x" netns "$NS_A" type veth peer name "${TAG}y" netns "$NS_B"
ip -n "$NS_A" addr add 198.18.91.1/24 dev "${TAG}x"
ip -n "$NS_B" addr add 198.18.91.2/24 dev "${TAG}y"
for ns in "$NS_A" "$NS_B"; do
  ip -n "$ns" link set lo up
done
ip -n "$NS_A" link set "${TAG}x" up
ip -n "$NS_B" link set "${TAG}y" up

umask 077
/usr/bin/patchcord genkey > "$WORK/a.key"
/usr/bin/patchcord genkey > "$WORK/b.key"
PUB_A=$(/usr/bin/patchcord pubkey < "$WORK/a.key")
PUB_B=$(/usr/bin/patchcord pubkey < "$WORK/b.key")
PSK=$(/usr/bin/patchcord genpsk)
# $1 interface, $2 own key file, $3 own tunnel address, $4 peer key, $5 peer tunnel address, $6 peer underlay
config() {
  cat > "$WORK/$1.conf" <<EOF
[Interface]
PrivateKey = $(cat "$2")
ListenPort = 51820
Address = $3/24
[Peer]
PublicKey = $4
PresharedKey = $PSK
AllowedIPs = $5/32
Endpoint = $6:51820
EOF
}
config "${TAG}a" "$WORK/a.key" 10.91.0.1 "$PUB_B" 10.91.0.2 198.18.91.2
config "${TAG}b" "$WORK/b.key" 10.91.0.2 "$PUB_A" 10.91.0.1 198.18.91.1

# Without --foreground, 'up' returns once the interface is ready and leaves the tunnel running.
start=$(date +%s%N)
timeout 60 ip netns exec "$NS_A" /usr/bin/patchcord up "$WORK/${TAG}a.conf" 2>"$WORK/up-a.log" \
  || { cat "$WORK/up-a.log" >&2; fail "patchcord up (a)"; }
up_ms=$(( ($(date +%s%N) - start) / 1000000 ))
timeout 60 ip netns exec "$NS_B" /usr/bin/patchcord up "$WORK/${TAG}b.conf" 2>"$WORK/up-b.log" \
  || { cat "$WORK/up-b.log" >&2; fail "patchcord up (b)"; }
step "patchcord up returned after $up_ms ms: $(tail -1 "$WORK/up-a.log")"

ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 5 10.91.0.2 >"$WORK/ping.log" 2>&1 \
  || { cat "$WORK/ping.log" >&2; fail "ping through the tunnel"; }
step "$(grep 'packets transmitted' "$WORK/ping.log")"
# The handshake is the WireGuard one: 'show' reports it, and the only UDP on the wire is port 51820.
show=$(ip netns exec "$NS_A" /usr/bin/patchcord show "${TAG}a")
grep -q "latest handshake" <<<"$show" || { echo "$show" >&2; fail "patchcord show: no handshake"; }

# --- the upgrade path: installing the package again hands the running tunnels over ---------------
step "installing the package again over the running tunnels (the upgrade path)"
a_pid=$(cat "/run/patchcord/${TAG}a.pid")
b_before=$(cat "/run/patchcord/${TAG}b.pid")
# 100 pings a second for as long as the upgrade takes (bounded), counted at the end.
ip netns exec "$NS_A" ping -i 0.01 -w 120 -W 1 10.91.0.2 >"$WORK/upgrade-ping.log" 2>&1 &
ping_pid=$!
# Some answers before the upgrade starts (at most 10 s), so that the count below spans it.
for _ in $(seq 100); do
  [ "$(grep -c 'bytes from' "$WORK/upgrade-ping.log")" -ge 50 ] && break
  sleep 0.1
done
dpkg -i "$DEBFILE" >"$WORK/dpkg-again.log" 2>&1 || { cat "$WORK/dpkg-again.log" >&2; fail "dpkg -i over the running tunnels"; }
grep "restart failed\|still runs the previous program" "$WORK/dpkg-again.log" | grep -q "$TAG" \
  && { cat "$WORK/dpkg-again.log" >&2; fail "postinst could not hand a tunnel over"; }
a_after=$(cat "/run/patchcord/${TAG}a.pid")
b_after=$(cat "/run/patchcord/${TAG}b.pid")
[ "$a_after" != "$a_pid" ] && [ "$b_after" != "$b_before" ] || fail "the tunnels' processes did not change ($a_pid -> $a_after, $b_before -> $b_after)"
kill -0 "$a_pid" 2>/dev/null && fail "the old process $a_pid is still running"
ip netns exec "$NS_A" ping -c 1 -W 5 10.91.0.2 >/dev/null || fail "no ping through the tunnel after the upgrade"
kill -INT "$ping_pid"; wait "$ping_pid" || true
stats=$(grep 'packets transmitted' "$WORK/upgrade-ping.log")
sent=$(awk '{print $1}' <<<"$stats"); got=$(awk '{print $4}' <<<"$stats")
[ -n "$sent" ] && [ "$sent" -ge 100 ] || fail "too few pings during the upgrade: $stats"
[ $((sent - got)) -le 5 ] || fail "pings lost during the upgrade: $stats"
grep -q "handovers" <(ip netns exec "$NS_A" /usr/bin/patchcord show --json "${TAG}a") || fail "show --json has no hand-over count"
step "upgrade: pids $a_pid -> $a_after and $b_before -> $b_after; $stats"

/usr/bin/patchcord down "${TAG}a" 2>/dev/null || fail "patchcord down (a)"
if ip -n "$NS_A" link show "${TAG}a" >/dev/null 2>&1; then fail "interface ${TAG}a still there after down"; fi
# The other side is left running: removing the package must bring it down (prerm).

# --- purge --------------------------------------------------------------------------------------
step "purging"
b_pid=$(cat "/run/patchcord/${TAG}b.pid")
dpkg --purge patchcord >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log" >&2; fail "dpkg --purge"; }
if kill -0 "$b_pid" 2>/dev/null; then fail "the running tunnel (pid $b_pid) survived the removal"; fi
if dpkg -s patchcord >/dev/null 2>&1; then fail "still installed"; fi
for path in /usr/bin/patchcord /usr/lib/patchcord /etc/patchcord /var/cache/patchcord /var/lib/patchcord \
  /lib/systemd/system/patchcord@.service /usr/lib/sysusers.d/patchcord.conf /usr/share/man/man8/patchcord.8.gz \
  "$COMPLETION" /usr/share/doc/patchcord; do
  if [ -e "$path" ] || [ -L "$path" ]; then fail "$path is left after purge"; fi
done
step "ok: installed, tunnel up and pinged with the installed program, handed over by an upgrade, help files checked, purged clean" \
  "(the 'patchcord' system user stays, as Debian leaves system users)"
