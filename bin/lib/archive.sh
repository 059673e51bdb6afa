# Sourced by bin/patchcord and dist/build.sh: the class-data-sharing archive of patchcord's classes.
#
# The JVM starts patchcord noticeably faster when the classes its start-up needs come from an
# archive (about half the time from exec to a working interface). An archive written at the exit of
# whatever run came first holds only that run's classes (the first run is often `genkey` or
# `--version`), and the JVM never rewrites an archive that a newer jar made stale. So the archive is
# made on purpose, by a training run: `patchcord lab train` starts and stops a real `up` and a real
# `tinyvpn` tunnel inside a network namespace of its own (`unshare`; without root a user namespace
# too), and the JVM archives every class it loaded on the way.
#
# make_archive JAVA JAR ARCHIVE [JVM OPTIONS...]
#   Writes ARCHIVE (atomically) from a training run of JAR on JAVA with the given options, which
#   must be those of the runs that will use it. Returns non-zero, leaving ARCHIVE alone, when the
#   training cannot run here (no unshare, user namespaces forbidden); the reason goes to ARCHIVE.log.
make_archive() {
  local java=$1 jar=$2 archive=$3 scratch ns rc=0
  shift 3
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/patchcord-train.XXXXXX") || return 1
  if [ "$(id -u)" = 0 ]; then ns=(unshare --net); else ns=(unshare --user --map-root-user --net); fi
  if ! command -v unshare >/dev/null; then
    echo "unshare (util-linux) is missing" >"$archive.log"; rc=1
  elif PATCHCORD_RUN_DIR="$scratch" PATCHCORD_SOCKET_DIR="$scratch" timeout -k 5 120 "${ns[@]}" \
      "$java" "$@" -XX:ArchiveClassesAtExit="$scratch/patchcord.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off \
      -jar "$jar" lab train "$scratch" >"$archive.log" 2>&1 && [ -s "$scratch/patchcord.jsa" ]; then
    # Same directory as the archive, then a rename: a JVM starting meanwhile sees the old or the new.
    cp "$scratch/patchcord.jsa" "$archive.tmp" && mv -f "$archive.tmp" "$archive" && rm -f "$archive.log" || rc=1
  else
    rc=1
  fi
  rm -rf "$scratch"
  return $rc
}
