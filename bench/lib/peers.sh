# Sourced by the benchmarks that need many peers: configuration files with N peers and the memory
# figures of a running patchcord.

# N random public keys, one per line, in wg's base64 form. Any 32 bytes are a usable X25519 public
# key, and one read of /dev/urandom makes all of them at once (a process per key would take
# minutes for 10,000). 33 random bytes encode to 44 characters; the first 42 carry the first
# 31.5 bytes of a 32-byte key, and the 43rd keeps only the 4 bits left of the last byte (its two
# low bits cleared), followed by the '=' padding of a 32-byte key.
random_public_keys() {
  head -c $(($1 * 33)) /dev/urandom | base64 -w 44 | awk '
    BEGIN { a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" }
    { i = index(a, substr($0, 43, 1)) - 1; print substr($0, 1, 42) substr(a, i - i % 4 + 1, 1) "=" }'
}

# A wg-quick file with a fresh private key, ListenPort 51820 and N peers, each with one /32 from
# 10.64.0.0/10 as its allowed IP. Arguments: N FILE.
write_peers_config() {
  local n=$1 file=$2
  { printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\nAddress = 10.64.0.1/10\n' "$("$PATCHCORD" genkey)"
    random_public_keys "$n" | awk '{ printf "[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32\n", $0,
      65 + int((NR - 1) / 62500), int((NR - 1) % 62500 / 250), (NR - 1) % 250 + 2 }'
  } >"$file"
  chmod 600 "$file"
}

# Live heap of process PID in KiB: the class histogram runs a full collection first and counts only
# what is still reachable. Needs $JDK.
live_heap_kib() {
  "$JDK/bin/jcmd" "$1" GC.class_histogram | awk '/^Total/ { print int($3 / 1024) }'
}

# Resident memory of process PID now and at its peak, in KiB: "RSS HWM".
rss_kib() {
  awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { print r, h }' "/proc/$1/status"
}
