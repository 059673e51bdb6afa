# Sourced by bin/patchcord and dist/build.sh: the AOT cache of patchcord's start-up and packet path.
#
# The JVM starts patchcord noticeably faster when the classes its start-up needs come ready-loaded
# and linked from a cache, and a fresh tunnel is fast sooner when the JIT compiler starts from
# method profiles recorded earlier instead of gathering them from the first packets (JDK 25's AOT
# cache: JEP 483, 514 and 515). A cache written by whatever run came first would hold only that
# run (often `genkey` or `--version`), so the cache is made on purpose, by a training run:
# `patchcord lab train` starts a real `up` tunnel and a peer inside a network namespace of its own
# (`unshare`; without root a user namespace too), sends TCP and UDP traffic through both in both
# directions, and stops them; the JVM records what it loaded and profiled on the way and, as it
# exits, assembles the cache (-XX:AOTCacheOutput, in a second JVM it starts itself).
#
# The JVM checks a cache against the jar (path, size, date), the runtime and the options; one that
# does not match, or is missing or damaged, is ignored and the JVM starts as it would without one
# (-XX:AOTMode is left at its default, auto; AOT_QUIET keeps the notice off the output).
AOT_QUIET=('-Xlog:aot*=off,cds*=off')

# make_cache JAVA JAR CACHE [JVM OPTIONS...]
#   Writes CACHE (atomically) from a training run of JAR on JAVA with the given options, which
#   must be those of the runs that will use it. Returns non-zero, leaving CACHE alone, when the
#   training cannot run here (no unshare, user namespaces forbidden); the reason goes to CACHE.log.
make_cache() {
  local java=$1 jar=$2 cache=$3 scratch ns rc=0
  shift 3
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/patchcord-train.XXXXXX") || return 1
  if [ "$(id -u)" = 0 ]; then ns=(unshare --net); else ns=(unshare --user --map-root-user --net); fi
  if ! command -v unshare >/dev/null; then
    echo "unshare (util-linux) is missing" >"$cache.log"; rc=1
  elif PATCHCORD_RUN_DIR="$scratch" PATCHCORD_SOCKET_DIR="$scratch" timeout -k 5 180 "${ns[@]}" \
      "$java" "$@" -XX:AOTCacheOutput="$scratch/patchcord.aot" "${AOT_QUIET[@]}" \
      -jar "$jar" lab train "$scratch" >"$cache.log" 2>&1 && [ -s "$scratch/patchcord.aot" ]; then
    # Same directory as the cache, then a rename: a JVM starting meanwhile sees the old or the new.
    cp "$scratch/patchcord.aot" "$cache.tmp" && mv -f "$cache.tmp" "$cache" && rm -f "$cache.log" || rc=1
  else
    rc=1
  fi
  rm -rf "$scratch"
  return $rc
}
