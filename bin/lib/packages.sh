# shellcheck shell=bash
# Sourced by bin/test and bin/patchcord (for the demo): the commands patchcord's tests and demo use, the Debian packages that provide
# them, and ensure_packages, which installs the missing ones. One list, so bin/test, the README and
# the demo's help agree.

# command -> Debian package
declare -A DEBIAN_PACKAGE=([ip]=iproute2 [ping]=iputils-ping [iperf3]=iperf3 [setpriv]=util-linux
                           [mvn]=maven [wg]=wireguard-tools [wireguard-go]=wireguard-go [nft]=nftables
                           [openssl]=openssl [etcd]=etcd-server [etcdctl]=etcd-client)

# The demo needs only ip besides the JDK; it uses ping and iperf3 when present and otherwise
# patchcord's own UDP echo and TCP transfer (src/main/java/dev/patchcord/cli/DemoCommand.java).
DEMO_COMMANDS=(ip)
DEMO_EXTRAS=(ping iperf3)
# The tests use all of these; etcd and etcdctl for the store of the hubs' cluster mode
# (src/main/java/dev/patchcord/lab/EtcdCluster.java).
# shellcheck disable=SC2034 # read by bin/test
TEST_COMMANDS=("${DEMO_COMMANDS[@]}" "${DEMO_EXTRAS[@]}" setpriv mvn wg wireguard-go nft openssl etcd etcdctl)

PACKAGE_LISTS_UPDATED=

# ensure_packages CMD...: installs the Debian packages of the commands that are not on PATH. As
# root with apt-get it installs them quietly (updating the package lists once per run); otherwise
# it prints one line naming what is missing and how to get it. Returns 0 when nothing is missing
# any more, 1 when something is missing and could not be installed here (not root, or no apt-get),
# 2 when installing failed.
ensure_packages() {
  local who cmd pkg missing=() commands=()
  who="$(basename "$(dirname "$0")")/$(basename "$0")"
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 && continue
    commands+=("$cmd")
    pkg=${DEBIAN_PACKAGE[$cmd]:-$cmd}
    [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$who: not found: ${commands[*]} (to install: apt-get install ${missing[*]}, as root)" >&2
    return 1
  fi
  echo "$who: installing ${missing[*]}" >&2
  if [ -z "$PACKAGE_LISTS_UPDATED" ]; then
    apt-get update -qq >/dev/null || { echo "$who: apt-get update failed" >&2; return 2; }
    PACKAGE_LISTS_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { echo "$who: apt-get install ${missing[*]} failed" >&2; return 2; }
  for cmd in "${commands[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || { echo "$who: installed ${missing[*]}, yet $cmd is still not on PATH" >&2; return 2; }
  done
  # Where systemd runs, Debian's etcd-server starts a machine-wide etcd on 127.0.0.1:2379. The
  # tests start etcds of their own, so one installed here is stopped and left disabled.
  if [[ " ${missing[*]} " == *" etcd-server "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
}
